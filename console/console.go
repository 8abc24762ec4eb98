// Package console serves Junction's web console: a page at "/" and its
// script and style sheet under /console/, built from src/ by `make console`
// (esbuild, Preact) into dist/ and embedded here, so the binary needs no
// Node and no request leaves the machine.
//
// The console is a client of the REST API like any other: it holds no
// state and has no endpoint of its own. The operator signs in by pasting
// an API key, which the page keeps in the tab's sessionStorage and sends as
// "Authorization: Bearer <key>" on each call; without a key the page shows
// nothing but the sign-in form. Serving the page opens no part of the API:
// every /v1 call still goes through the gateway's browser guard (Host,
// Origin and Content-Type checks) and its authentication.
//
// Every answer carries a Content-Security-Policy that allows scripts,
// styles and fetches from the page's own origin only (no inline script,
// no eval, no other host), and refuses framing.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

//go:embed dist/index.html dist/app.js dist/app.css dist/favicon.svg
var dist embed.FS

// CSP is the Content-Security-Policy of every console answer.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file, read once.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the console: GET (and HEAD) "/" is the page, /console/app.js,
// app.css and favicon.svg its assets; any other path under /console/ is 404.
// Mount it on "GET /{$}" and "GET /console/".
func Handler() http.Handler {
	assets := map[string]asset{}
	for path, file := range map[string]string{
		"/":                    "dist/index.html",
		"/console/app.js":      "dist/app.js",
		"/console/app.css":     "dist/app.css",
		"/console/favicon.svg": "dist/favicon.svg",
	} {
		b, err := fs.ReadFile(dist, file)
		if err != nil {
			panic(fmt.Sprintf("console: embedded %s missing: %v", file, err)) // a build without dist/ cannot happen: go:embed fails first
		}
		sum := sha256.Sum256(b)
		assets[path] = asset{body: b, contentType: contentType(file), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			rpcstatus.Write(w, http.StatusMethodNotAllowed, "the console is read with GET")
			return
		}
		a, ok := assets[r.URL.Path]
		if !ok {
			rpcstatus.Write(w, http.StatusNotFound, "no such console asset: the console serves / and /console/{app.js,app.css,favicon.svg}")
			return
		}
		// Revalidated on each load (an upgraded binary serves new assets
		// under the same names); the ETag makes that a 304.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("Content-Type", a.contentType)
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(a.body)
	})
}

func contentType(file string) string {
	switch {
	case strings.HasSuffix(file, ".js"):
		return "text/javascript; charset=utf-8"
	case strings.HasSuffix(file, ".css"):
		return "text/css; charset=utf-8"
	case strings.HasSuffix(file, ".svg"):
		return "image/svg+xml"
	default:
		return "text/html; charset=utf-8"
	}
}
