package limits

import (
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

// CanonicalPaths answers 400 to a request whose path has ".", ".." or
// empty segments, before h sees it. Go's ServeMux would otherwise answer
// such a path with a redirect to its cleaned form, so that
// /webhooks/../v1/routes, sent to the open webhook endpoint, pointed the
// client at the API. Every server of NewHTTPServer has it.
func CanonicalPaths(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "" || p == "*" {
			h.ServeHTTP(w, r)
			return
		}
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		if clean == p {
			h.ServeHTTP(w, r)
			return
		}
		rpcstatus.Write(w, http.StatusBadRequest, fmt.Sprintf("path %q has '.', '..' or empty segments: request the path itself, without them", clip.String(p)))
	})
}
