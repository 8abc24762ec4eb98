package gateway

import (
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
)

// BrowserConfig says which browser-borne requests the REST API accepts.
// A browser on an operator's machine can reach a loopback-bound hub; these
// checks keep a web page it opens from driving the API (cross-site request
// forgery) or reading it through a re-pointed DNS name (DNS rebinding).
type BrowserConfig struct {
	// AllowedHosts are the names the API answers to in the Host header:
	// "name" matches on any port, "name:port" on that port only, "*" any
	// host (behind a proxy that checks it). Default: localhost, 127.0.0.1
	// and [::1] on any port, plus the listen address's host.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// CORSAllowedOrigins are the web origins ("https://console.example.com")
	// allowed to call the API from a browser; each gets CORS answers,
	// preflights included. Default: none (same-origin only).
	CORSAllowedOrigins []string `yaml:"cors_allowed_origins"`
}

// DefaultAllowedHosts are the Host names the API answers to by default, on
// any port, besides the listen address's own host.
var DefaultAllowedHosts = []string{"localhost", "127.0.0.1", "::1"}

// Validate says what is wrong with c, every problem at once; key prefixes
// the messages (e.g. "api").
func (c BrowserConfig) Validate(key string) error {
	var errs []error
	for i, h := range c.AllowedHosts {
		if h == "*" {
			continue
		}
		if h == "" || strings.ContainsAny(h, "/ ") {
			errs = append(errs, fmt.Errorf("%s.allowed_hosts[%d] %q: give a host name, address or host:port, e.g. \"junction.internal\" or \"10.0.0.5:8080\"", key, i, h))
		}
	}
	for i, o := range c.CORSAllowedOrigins {
		if _, err := parseOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("%s.cors_allowed_origins[%d] %q: %w", key, i, o, err))
		}
	}
	return errors.Join(errs...)
}

// parseOrigin checks a configured origin: scheme://host[:port], nothing
// else, and returns it in the form browsers send.
func parseOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", errors.New(`give an origin as scheme://host[:port] with nothing after it, e.g. "https://console.example.com"`)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// browserGuard is the middleware BrowserGuard returns.
type browserGuard struct {
	next     http.Handler
	anyHost  bool
	names    map[string]bool // host on any port
	hostPort map[string]bool // host:port exactly
	origins  map[string]bool
}

// BrowserGuard wraps the REST handler (the outermost layer, before
// authentication) so that a browser cannot be turned against the API:
//
//   - a Host not in cfg.AllowedHosts is refused with 421 Misdirected
//     Request (DNS rebinding: a page whose name now points at 127.0.0.1
//     still sends its own name);
//   - a cross-origin request (an Origin that is not the request's own
//     host and not in cfg.CORSAllowedOrigins, or Sec-Fetch-Site
//     cross-site or same-site without such an Origin) is refused with 403;
//     an allowed origin gets CORS headers and its preflights answered;
//   - a POST, PUT or PATCH, and any request with a body, must say
//     Content-Type: application/json (a charset=utf-8 parameter is
//     allowed), else 415: the bodies a page can send without a CORS
//     preflight (text/plain, forms, multipart, none) never reach the API.
//
// listenAddr is the address the API listens on; its host is allowed too.
// Errors have the shape of the API's own: {"code", "message", "details"}.
func BrowserGuard(cfg BrowserConfig, listenAddr string, next http.Handler) (http.Handler, error) {
	if err := cfg.Validate("api"); err != nil {
		return nil, err
	}
	g := &browserGuard{next: next, names: map[string]bool{}, hostPort: map[string]bool{}, origins: map[string]bool{}}
	hosts := cfg.AllowedHosts
	if len(hosts) == 0 {
		hosts = slices.Clone(DefaultAllowedHosts)
		if h, _, err := net.SplitHostPort(listenAddr); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	}
	for _, h := range hosts {
		if h == "*" {
			g.anyHost = true
			continue
		}
		if host, port, err := net.SplitHostPort(h); err == nil {
			g.hostPort[normHost(host)+":"+port] = true
			continue
		}
		g.names[normHost(strings.Trim(h, "[]"))] = true
	}
	for _, o := range cfg.CORSAllowedOrigins {
		norm, _ := parseOrigin(o)
		g.origins[norm] = true
	}
	return g, nil
}

func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

func (g *browserGuard) hostAllowed(hostHeader string) bool {
	if g.anyHost {
		return true
	}
	if hostHeader == "" {
		return false
	}
	host, port, err := net.SplitHostPort(hostHeader)
	if err != nil {
		host, port = strings.Trim(hostHeader, "[]"), ""
	}
	host = normHost(host)
	return g.names[host] || (port != "" && g.hostPort[host+":"+port])
}

func (g *browserGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.hostAllowed(r.Host) {
		writeGuardError(w, http.StatusMisdirectedRequest, codes.InvalidArgument,
			fmt.Sprintf("host %q is not one this API answers to: call it by a configured name, or add the name to api.allowed_hosts (JUNCTION_API_ALLOWED_HOSTS)", r.Host))
		return
	}
	origin := r.Header.Get("Origin")
	allowedOrigin := origin != "" && g.origins[strings.ToLower(origin)]
	if origin != "" && !allowedOrigin && !sameOrigin(origin, r.Host) {
		writeGuardError(w, http.StatusForbidden, codes.PermissionDenied,
			fmt.Sprintf("cross-origin request from %q refused: add the origin to api.cors_allowed_origins (JUNCTION_API_CORS_ALLOWED_ORIGINS) to allow it", origin))
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); (site == "cross-site" || site == "same-site") && !allowedOrigin {
		writeGuardError(w, http.StatusForbidden, codes.PermissionDenied,
			fmt.Sprintf("%s request refused: the API takes browser requests only from its own origin or from api.cors_allowed_origins", site))
		return
	}
	if allowedOrigin {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
			}
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if r.Method == http.MethodOptions {
		writeGuardError(w, http.StatusForbidden, codes.PermissionDenied,
			"preflight refused: the origin is not in api.cors_allowed_origins")
		return
	}
	hasBody := r.ContentLength != 0 // -1: unknown (chunked), so a body
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		hasBody = true
	}
	if hasBody && !isJSON(r.Header.Get("Content-Type")) {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "none"
		}
		writeGuardError(w, http.StatusUnsupportedMediaType, codes.InvalidArgument,
			fmt.Sprintf("content type %q is not accepted: send the request body as JSON with Content-Type: application/json", ct))
		return
	}
	g.next.ServeHTTP(w, r)
}

// sameOrigin reports whether origin names the host the request was sent
// to (scheme aside: TLS may end at a proxy in front).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null" and the like: opaque, never same-origin
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	// A default port may be left out on one side only.
	def := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	oh, op := u.Hostname(), u.Port()
	if op == "" {
		op = def
	}
	hh, hp, err := net.SplitHostPort(host)
	if err != nil {
		hh, hp = strings.Trim(host, "[]"), def
	}
	return strings.EqualFold(oh, hh) && op == hp
}

// isJSON accepts application/json with at most a charset=utf-8 parameter.
func isJSON(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// writeGuardError answers in the API's error shape.
func writeGuardError(w http.ResponseWriter, status int, code codes.Code, msg string) {
	rpcstatus.WriteBody(w, status, rpcstatus.New(rpcstatus.Code(code), msg))
}
