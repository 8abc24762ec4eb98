package hub

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"google.golang.org/grpc"

	"github.com/junctionhq/junction/adapters/sdk/rpcstatus"
	"github.com/junctionhq/junction/gateway"
	"github.com/junctionhq/junction/gateway/auth"
)

// AdminKeyFileName is the admin key's file in the data directory.
const AdminKeyFileName = "admin.key"

// AuthConfig is the `auth:` section: who may call the API.
//
// Auth is on by default. On a first start (no key stored yet) the hub
// creates a key with scope admin and writes it to AdminKeyFile, mode 0600;
// the CLI finds it there. It can be turned off only by writing
// `auth: {disabled: true}` in the config file (no flag or variable does
// it), and serve then warns at every start.
type AuthConfig struct {
	// Disabled lets every caller do everything. For a throwaway local hub
	// only.
	Disabled bool `yaml:"disabled"`
	// AdminKeyFile is where the first admin key is written. Default
	// <data_dir>/admin.key with the embedded NATS; with an external NATS
	// none, so set it (or --admin-key-file) on the process that should
	// create the first key.
	AdminKeyFile string `yaml:"admin_key_file"`
	// OIDC, when its issuer is set, also accepts JWT bearer tokens of that
	// issuer and audience, with scopes from a claim.
	OIDC auth.OIDCConfig `yaml:"oidc"`
	// RateLimit is per API key and per token subject: rps (default 50) and
	// burst (default 100); a negative rps turns it off.
	RateLimit auth.RateLimit `yaml:"rate_limit"`
}

// setDefaults fills zero fields; dataDir is the embedded NATS's data
// directory, "" with an external NATS.
func (a *AuthConfig) setDefaults(dataDir string) {
	if a.AdminKeyFile == "" && dataDir != "" {
		a.AdminKeyFile = filepath.Join(dataDir, AdminKeyFileName)
	}
	a.RateLimit = a.RateLimit.WithDefaults()
}

// validate says what is wrong with the section.
func (a *AuthConfig) validate() error {
	if a.Disabled {
		return nil
	}
	return errors.Join(a.OIDC.Validate(), a.RateLimit.Validate())
}

// AuthServerOptions builds the gateway's auth interceptor from cfg over
// keys, after creating the first admin key when none is stored (written to
// cfg.AdminKeyFile; nothing is created when that is empty). It returns no
// options when auth is disabled, and the authenticator (nil then) for
// guarding other endpoints.
func AuthServerOptions(ctx context.Context, cfg AuthConfig, keys *auth.Store, logger *slog.Logger) ([]grpc.ServerOption, *auth.Authenticator, error) {
	if cfg.Disabled {
		logger.Warn("AUTH IS DISABLED: anyone who reaches the API can read and change routes, events and keys (auth.disabled is true in the config)")
		return nil, nil, nil
	}
	if cfg.AdminKeyFile != "" {
		if _, err := keys.EnsureAdminKey(ctx, cfg.AdminKeyFile, logger); err != nil {
			return nil, nil, err
		}
	} else if empty, err := keys.Empty(ctx); err == nil && empty {
		logger.Warn("no API key exists, so no one can call the API: start once with --admin-key-file (auth.admin_key_file) to create an admin key")
	}
	var o *auth.OIDC
	if cfg.OIDC.Issuer != "" {
		var err error
		// Bounded, so a hanging issuer cannot hold calls for long.
		if o, err = auth.NewOIDC(cfg.OIDC, &http.Client{Timeout: 10 * time.Second}); err != nil {
			return nil, nil, err
		}
	}
	a := auth.NewAuthenticator(keys, o)
	opts := gateway.Auth{
		Authenticator: a,
		Limiter:       auth.NewLimiter(cfg.RateLimit, 0),
		Logger:        logger,
	}.ServerOptions()
	return opts, a, nil
}

// AdminKeyFile returns the file the admin key was written to, or "" when
// auth is disabled.
func (h *Hub) AdminKeyFile() string {
	if h.cfg.Auth.Disabled {
		return ""
	}
	return h.cfg.Auth.AdminKeyFile
}

// AuthDisabled reports whether the API is open to everyone.
func (h *Hub) AuthDisabled() bool { return h.cfg.Auth.Disabled }

// GuardMetrics lets loopback peers read next (the metrics endpoint) and
// asks anyone else for a key or token with scope metrics:read. With a nil
// authenticator (auth disabled) everyone may read.
func GuardMetrics(a *auth.Authenticator, next http.Handler) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
				next.ServeHTTP(w, r)
				return
			}
		}
		token, err := auth.ParseBearer(r.Header.Get("Authorization"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="junction"`)
			rpcstatus.Write(w, http.StatusUnauthorized, "/metrics from a non-loopback address needs a key with scope metrics:read")
			return
		}
		p, err := a.Authenticate(r.Context(), token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="junction"`)
			rpcstatus.Write(w, http.StatusUnauthorized, err.Error())
			return
		}
		if !auth.Has(p.Scopes, auth.ScopeMetricsRead) {
			rpcstatus.Write(w, http.StatusForbidden, "this endpoint needs scope metrics:read; "+p.String()+" lacks it")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// GuardMetricsPath applies GuardMetrics to the /metrics path of next and
// passes every other path through, for a mux that serves /metrics among
// others (`junction gateway`).
func GuardMetricsPath(a *auth.Authenticator, next http.Handler) http.Handler {
	guarded := GuardMetrics(a, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			guarded.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
