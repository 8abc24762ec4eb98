package sdk

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
)

// httpsServe returns how [Main] serves srv: HTTPS with the configured
// certificate (reloaded when its files change) when hub.tls_cert_file is
// set, plain HTTP otherwise. The files are read now, so an unreadable one
// fails at start with its path.
func httpsServe(cfg Config, srv *http.Server, log *slog.Logger) (func(net.Listener) error, error) {
	if cfg.TLSCertFile == "" {
		return srv.Serve, nil
	}
	certs, err := tlsconfig.NewServer(tlsconfig.Files{CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile}, log)
	if err != nil {
		return nil, fmt.Errorf("hub.tls_cert_file: %w", err)
	}
	srv.TLSConfig = certs.Config(tls.NoClientCert)
	return func(ln net.Listener) error { return srv.ServeTLS(ln, "", "") }, nil
}
