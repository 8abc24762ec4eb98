package hub

import (
	"strings"

	"github.com/junctionhq/junction/gateway"
)

// APIConfig is the `api:` section: who may call the REST API from a
// browser (see gateway.BrowserGuard).
type APIConfig struct {
	// AllowedHosts are the Host names the REST API answers to: "name" on
	// any port, "name:port" on that one, "*" any. Default: localhost,
	// 127.0.0.1 and [::1] on any port, plus http_addr's host. Env
	// JUNCTION_API_ALLOWED_HOSTS (comma-separated).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// CORSAllowedOrigins are the web origins allowed to call the REST API
	// from a browser, e.g. "https://console.example.com". Default none:
	// same-origin only. Env JUNCTION_API_CORS_ALLOWED_ORIGINS.
	CORSAllowedOrigins []string `yaml:"cors_allowed_origins"`
}

// Browser returns the gateway's form of the section.
func (a APIConfig) Browser() gateway.BrowserConfig {
	return gateway.BrowserConfig{AllowedHosts: a.AllowedHosts, CORSAllowedOrigins: a.CORSAllowedOrigins}
}

// apiEnv applies the JUNCTION_API_* variables.
func (a *APIConfig) apiEnv(getenv func(string) string) {
	if v := getenv("JUNCTION_API_ALLOWED_HOSTS"); v != "" {
		a.AllowedHosts = SplitList(v)
	}
	if v := getenv("JUNCTION_API_CORS_ALLOWED_ORIGINS"); v != "" {
		a.CORSAllowedOrigins = SplitList(v)
	}
}

// SplitList splits a comma-separated list, dropping empty items.
func SplitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
