package console

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestHandler checks what each path answers and that every answer carries
// the console's Content-Security-Policy and security headers.
func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{name: "page", method: "GET", path: "/", wantStatus: 200, wantType: "text/html; charset=utf-8", wantBody: `<script type="module" src="/console/app.js">`},
		{name: "page HEAD", method: "HEAD", path: "/", wantStatus: 200, wantType: "text/html; charset=utf-8"},
		{name: "script", method: "GET", path: "/console/app.js", wantStatus: 200, wantType: "text/javascript; charset=utf-8", wantBody: "junction.apiKey"},
		{name: "style sheet", method: "GET", path: "/console/app.css", wantStatus: 200, wantType: "text/css; charset=utf-8", wantBody: "--accent"},
		{name: "build manifest not served", method: "GET", path: "/console/sources.sha256", wantStatus: 404},
		{name: "unknown asset", method: "GET", path: "/console/nope.js", wantStatus: 404},
		{name: "index by name not served", method: "GET", path: "/console/index.html", wantStatus: 404},
		{name: "POST refused", method: "POST", path: "/", wantStatus: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(tc.method, tc.path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.wantStatus)
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != CSP {
				t.Errorf("Content-Security-Policy = %q, want %q", got, CSP)
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if tc.wantType != "" && rec.Header().Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", rec.Header().Get("Content-Type"), tc.wantType)
			}
			if tc.wantBody != "" && !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("body lacks %q", tc.wantBody)
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD answered a body of %d bytes", rec.Body.Len())
			}
		})
	}
}

// TestETag: a reload with the asset's ETag is answered 304 without a body.
func TestETag(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/console/app.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on /console/app.js")
	}
	req := httptest.NewRequest("GET", "/console/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("with If-None-Match %s: status %d and %d bytes, want 304 and none", etag, rec.Code, rec.Body.Len())
	}
}

// TestPageLoadsNothingFromElsewhere: the page's only script and style sheet
// come from its own origin, it has no inline script or event handler
// attribute (the CSP would block them), and the style sheet imports
// nothing.
func TestPageLoadsNothingFromElsewhere(t *testing.T) {
	page, err := fs.ReadFile(dist, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, m := range regexp.MustCompile(`(?i)(src|href)="([^"]*)"`).FindAllStringSubmatch(html, -1) {
		if !strings.HasPrefix(m[2], "/console/") {
			t.Errorf("index.html %s=%q: want a path under /console/", m[1], m[2])
		}
	}
	if n := strings.Count(html, "<script"); n != 1 || !strings.Contains(html, `<script type="module" src="/console/app.js"></script>`) {
		t.Errorf("index.html has %d script elements, want only the module /console/app.js", n)
	}
	if regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(html) {
		t.Error("index.html has an inline event handler attribute")
	}
	css, err := fs.ReadFile(dist, "dist/app.css")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?i)@import|url\(`).Match(css) {
		t.Error("app.css imports or loads a resource")
	}
}

// TestBuildMatchesSources: dist/ is committed, so a change to src/, the
// build script or the lockfile must come with a rebuild (`make console`).
// build.mjs records the SHA-256 of every input in dist/sources.sha256;
// this recomputes them (without Node) and names each file that differs.
// `make check-console` rebuilds with Node and compares the output itself.
func TestBuildMatchesSources(t *testing.T) {
	f, err := os.Open("dist/sources.sha256")
	if err != nil {
		t.Fatalf("%v: run make console", err)
	}
	defer f.Close()
	recorded := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("dist/sources.sha256: bad line %q", sc.Text())
		}
		recorded[name] = sum
	}
	inputs := []string{"build.mjs", "package-lock.json"}
	err = filepath.WalkDir("src", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			inputs = append(inputs, filepath.ToSlash(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(inputs)
	for _, name := range inputs {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		switch want, ok := recorded[name]; {
		case !ok:
			t.Errorf("%s is not in the last build: run make console and commit dist/", name)
		case want != hex.EncodeToString(sum[:]):
			t.Errorf("%s changed since the last build: run make console and commit dist/", name)
		}
		delete(recorded, name)
	}
	for name := range recorded {
		t.Errorf("the last build read %s, which is gone: run make console and commit dist/", name)
	}
}
