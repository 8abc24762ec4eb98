package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/junctionhq/junction/internal/apitls"
	"github.com/junctionhq/junction/internal/hub"
)

// tlsFlags are the TLS flags of the commands that serve the API.
type tlsFlags struct {
	cert, key, clientCA string
	selfSigned          bool
}

func (f *tlsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.cert, "tls-cert", "", "PEM certificate chain of the gRPC and HTTP listeners, reloaded when it changes (env "+apitls.EnvCertFile+")")
	fs.StringVar(&f.key, "tls-key", "", "PEM private key of --tls-cert (env "+apitls.EnvKeyFile+")")
	fs.StringVar(&f.clientCA, "tls-client-ca", "", "PEM CAs that API clients' certificates must chain to: mutual TLS for gRPC and REST; webhooks and health stay open (env "+apitls.EnvClientCAFile+")")
	fs.BoolVar(&f.selfSigned, "tls-self-signed", false, "development: make a CA and certificate at start, write the CA to <data-dir>/tls/ca.pem (env "+apitls.EnvSelfSigned+")")
}

// apply sets the flags the user gave onto cfg.
func (f *tlsFlags) apply(fs *pflag.FlagSet, cfg *hub.Config) {
	for name, kv := range map[string]struct {
		field *string
		val   string
	}{
		"tls-cert": {&cfg.TLS.CertFile, f.cert}, "tls-key": {&cfg.TLS.KeyFile, f.key}, "tls-client-ca": {&cfg.TLS.ClientCAFile, f.clientCA},
	} {
		if fs.Changed(name) {
			*kv.field = kv.val
		}
	}
	if fs.Changed("tls-self-signed") {
		cfg.TLS.SelfSigned = f.selfSigned
	}
}

// printTLS adds the TLS lines to a ready banner.
func printTLS(out io.Writer, a *apitls.API) {
	if a == nil {
		return
	}
	mtls := "off"
	if a.MutualTLS() {
		mtls = "on (gRPC and /v1 need a client certificate; webhooks and health do not)"
	}
	if a.CAFile != "" {
		fmt.Fprintf(out, "  TLS       self-signed (development); trust the CA %s\n", a.CAFile)
		fmt.Fprintf(out, "            CA SHA-256 %s\n", a.CAFingerprint)
		fmt.Fprintf(out, "            CLI: junction routes list --tls (finds the CA there; or set JUNCTION_TLS_CA)\n")
	} else {
		fmt.Fprintf(out, "  TLS       certificate SHA-256 %s (reloaded when its files change)\n", a.Fingerprint())
	}
	fmt.Fprintf(out, "  mTLS      %s\n", mtls)
}
