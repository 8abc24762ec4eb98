package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

// docPath is one path of the OpenAPI document: a pattern over request
// paths and the methods the document gives it.
type docPath struct {
	template string
	re       *regexp.Regexp
	methods  []string
}

// docPaths are the paths of OpenAPI, parsed once: the routing error
// handler answers a wrong method with the methods they name in Allow, so
// Allow says what the document says.
var docPaths = mustDocPaths(OpenAPI)

// templateVar is a path template variable, {name}.
var templateVar = regexp.MustCompile(`\{[^}]*\}`)

func mustDocPaths(doc []byte) []docPath {
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		panic(fmt.Sprintf("gateway: embedded OpenAPI document: %v", err)) // a build that embeds a broken document
	}
	var out []docPath
	for tmpl, item := range d.Paths {
		var methods []string
		for m := range item {
			switch m = strings.ToUpper(m); m {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				methods = append(methods, m)
			}
		}
		slices.Sort(methods)
		// Literal parts quoted, each {variable} one non-empty segment.
		lits := templateVar.Split(tmpl, -1)
		for i, l := range lits {
			lits[i] = regexp.QuoteMeta(l)
		}
		out = append(out, docPath{template: tmpl, re: regexp.MustCompile("^" + strings.Join(lits, "[^/]+") + "$"), methods: methods})
	}
	slices.SortFunc(out, func(a, b docPath) int { return strings.Compare(a.template, b.template) })
	return out
}

// allowedMethods returns the methods the document gives the request
// path, sorted; nil when no path matches. Where several match (a
// "/v1/events/{event}:resend" request also fits "/v1/events/{event}"),
// the most specific, with the most literal characters, decides.
func allowedMethods(path string) []string {
	var methods []string
	best := -1
	for _, p := range docPaths {
		if !p.re.MatchString(path) {
			continue
		}
		switch lit := len(templateVar.ReplaceAllString(p.template, "")); {
		case lit > best:
			best, methods = lit, slices.Clone(p.methods)
		case lit == best:
			methods = append(methods, p.methods...)
		}
	}
	slices.Sort(methods)
	return slices.Compact(methods)
}

// routingError answers a request grpc-gateway has no handler for in the
// API's error shape: a path the API has with another method is 405 with
// Allow (grpc-gateway's default is 501 without it), anything else as
// grpc-gateway's default handler (404 NOT_FOUND, 400).
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if httpStatus != http.StatusMethodNotAllowed {
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
		return
	}
	allow := allowedMethods(r.URL.Path)
	if len(allow) == 0 { // a path the gateway serves but the document lacks
		rpcstatus.Write(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	rpcstatus.Write(w, http.StatusMethodNotAllowed,
		fmt.Sprintf("%s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
}
