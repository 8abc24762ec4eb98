package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/junctionhq/junction/adapters/sdk/platform/tlsconfig"
)

// Environment variables of the TLS flags, read when the flag is not given.
const (
	// TLSEnv turns TLS on ("true") when --tls is not given.
	TLSEnv = "JUNCTION_TLS"
	// TLSCAEnv names the CA file when --tls-ca is not given.
	TLSCAEnv = "JUNCTION_TLS_CA"
	// TLSCertEnv and TLSKeyEnv name the client certificate and key when
	// --tls-cert and --tls-key are not given.
	TLSCertEnv = "JUNCTION_TLS_CLIENT_CERT"
	TLSKeyEnv  = "JUNCTION_TLS_CLIENT_KEY"
	// TLSServerNameEnv sets --tls-server-name.
	TLSServerNameEnv = "JUNCTION_TLS_SERVER_NAME"
	// DataDirEnv is the hub's data directory, where `junction serve
	// --tls-self-signed` writes its CA (tls/ca.pem); default ./data.
	DataDirEnv = "JUNCTION_DATA_DIR"
)

// selfSignedCA is where, under the data directory, `junction serve
// --tls-self-signed` writes its CA certificate.
var selfSignedCA = filepath.Join("tls", "ca.pem")

// tlsOptions are the TLS flags of a command tree. TLS is off unless --tls,
// --tls-ca, --tls-cert or --tls-server-name (or their variables) is given:
// the default gateway is plaintext on loopback. With TLS on and no CA file,
// the CLI trusts <data dir>/tls/ca.pem when it exists (the CA `junction
// serve --tls-self-signed` wrote) and the system's roots otherwise.
type tlsOptions struct {
	on         bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
}

func (o *tlsOptions) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.BoolVar(&o.on, "tls", false, "connect to the gateway over TLS (env "+TLSEnv+"); the CA defaults to <data dir>/tls/ca.pem when it exists, else the system roots")
	f.StringVar(&o.caFile, "tls-ca", "", "PEM CA file to trust for the gateway's certificate; implies --tls (env "+TLSCAEnv+")")
	f.StringVar(&o.certFile, "tls-cert", "", "PEM client certificate for a gateway that requires mutual TLS; implies --tls (env "+TLSCertEnv+")")
	f.StringVar(&o.keyFile, "tls-key", "", "PEM key of --tls-cert (env "+TLSKeyEnv+")")
	f.StringVar(&o.serverName, "tls-server-name", "", "name expected in the gateway's certificate when it differs from --server's host; implies --tls (env "+TLSServerNameEnv+")")
}

// resolve applies the environment to flags not given and checks them.
func (o *tlsOptions) resolve(cmd *cobra.Command) error {
	env := func(flag, name string, field *string) {
		if f := cmd.Flags().Lookup(flag); f != nil && !f.Changed {
			if v := strings.TrimSpace(os.Getenv(name)); v != "" {
				*field = v
			}
		}
	}
	env("tls-ca", TLSCAEnv, &o.caFile)
	env("tls-cert", TLSCertEnv, &o.certFile)
	env("tls-key", TLSKeyEnv, &o.keyFile)
	env("tls-server-name", TLSServerNameEnv, &o.serverName)
	if f := cmd.Flags().Lookup("tls"); f != nil && !f.Changed {
		if v := strings.TrimSpace(os.Getenv(TLSEnv)); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s=%q: want true or false: %w", TLSEnv, v, ErrUsage)
			}
			o.on = b
		}
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together: give both the client certificate and its key: %w", ErrUsage)
	}
	if o.caFile != "" || o.certFile != "" || o.serverName != "" {
		o.on = true
	}
	return nil
}

// credentials returns the transport credentials of the connection to the
// gateway: insecure unless TLS is on.
func (o *tlsOptions) credentials() (grpc.DialOption, error) {
	if !o.on {
		return grpc.WithTransportCredentials(insecure.NewCredentials()), nil
	}
	files := tlsconfig.ClientFiles{CAFile: o.caFile, CertFile: o.certFile, KeyFile: o.keyFile, ServerName: o.serverName}
	if files.CAFile == "" {
		files.CAFile = defaultCAFile()
	}
	cfg, err := tlsconfig.ClientConfig(files)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrUsage)
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg)), nil
}

// defaultCAFile is the self-signed CA of the hub's data directory when it
// exists, else "" (the system roots).
func defaultCAFile() string {
	dir := os.Getenv(DataDirEnv)
	if dir == "" {
		dir = "data"
	}
	p := filepath.Join(dir, selfSignedCA)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) || err != nil {
		return ""
	}
	return p
}
