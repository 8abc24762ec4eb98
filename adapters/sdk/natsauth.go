package sdk

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// Environment variables that set [NATSAuth] fields, for adapters
// (LoadConfig) and for `junction serve|router|gateway` alike. The password
// and the token themselves may be given in JUNCTION_NATS_PASSWORD and
// JUNCTION_NATS_TOKEN; every other variable names a file or a setting, never
// a secret.
const (
	EnvNATSCreds         = "JUNCTION_NATS_CREDS"
	EnvNATSNkey          = "JUNCTION_NATS_NKEY"
	EnvNATSUser          = "JUNCTION_NATS_USER"
	EnvNATSPassword      = "JUNCTION_NATS_PASSWORD"
	EnvNATSPasswordFile  = "JUNCTION_NATS_PASSWORD_FILE"
	EnvNATSToken         = "JUNCTION_NATS_TOKEN"
	EnvNATSTokenFile     = "JUNCTION_NATS_TOKEN_FILE"
	EnvNATSCA            = "JUNCTION_NATS_CA"
	EnvNATSCert          = "JUNCTION_NATS_CERT"
	EnvNATSKey           = "JUNCTION_NATS_KEY"
	EnvNATSTLSServerName = "JUNCTION_NATS_TLS_SERVER_NAME"
	EnvNATSInboxPrefix   = "JUNCTION_NATS_INBOX_PREFIX"
)

// NATSAuth says how a process authenticates to the hub's NATS and secures
// the connection. Secrets are never held in it: the password and the token
// are read from the environment variable or the file it names, when the
// connection options are built. At most one way of authenticating may be
// set: a credentials file (user JWT and seed), an nkey seed file, a user
// with a password, or a token. All fields are optional: with none, the
// connection is anonymous (an external NATS may allow that; the embedded
// NATS of `junction serve` does not).
type NATSAuth struct {
	// CredsFile is a NATS credentials file (a user JWT and its nkey seed),
	// as an operator-mode NATS issues them.
	CredsFile string `yaml:"nats_creds_file"`
	// NkeyFile holds a user nkey seed ("SU..."), such as the files
	// `junction serve` writes to <data_dir>/nats/.
	NkeyFile string `yaml:"nats_nkey_file"`
	// User is the NATS user name; its password comes from PasswordEnv or
	// PasswordFile.
	User string `yaml:"nats_user"`
	// PasswordEnv names the environment variable holding User's password.
	PasswordEnv string `yaml:"nats_password_env"`
	// PasswordFile is a file holding User's password (trailing newline
	// ignored).
	PasswordFile string `yaml:"nats_password_file"`
	// TokenEnv names the environment variable holding an auth token.
	TokenEnv string `yaml:"nats_token_env"`
	// TokenFile is a file holding an auth token (trailing newline ignored).
	TokenFile string `yaml:"nats_token_file"`
	// CAFile is a PEM bundle of the CAs to trust for the server's
	// certificate; setting it turns TLS on.
	CAFile string `yaml:"nats_ca_file"`
	// CertFile and KeyFile are a client certificate and its key (PEM), for
	// servers that verify clients (mutual TLS); setting them turns TLS on.
	CertFile string `yaml:"nats_cert_file"`
	KeyFile  string `yaml:"nats_key_file"`
	// TLSServerName is the name expected in the server's certificate when
	// it differs from the URL's host; setting it turns TLS on.
	TLSServerName string `yaml:"nats_tls_server_name"`
	// InboxPrefix is the prefix of this connection's reply subjects. A
	// hub user may subscribe only under its own prefix
	// (topology.InboxPrefix of its name); the default is the one of the
	// process's role (the adapter's app, "router", "gateway").
	InboxPrefix string `yaml:"nats_inbox_prefix"`
}

// ApplyEnv sets the fields named by the JUNCTION_NATS_* variables that are
// set and not empty, overriding the file. JUNCTION_NATS_PASSWORD and
// JUNCTION_NATS_TOKEN are not copied: the fields name the variable, which
// is read when the options are built.
func (a *NATSAuth) ApplyEnv(getenv func(string) string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	for env, field := range map[string]*string{
		EnvNATSCreds:         &a.CredsFile,
		EnvNATSNkey:          &a.NkeyFile,
		EnvNATSUser:          &a.User,
		EnvNATSPasswordFile:  &a.PasswordFile,
		EnvNATSTokenFile:     &a.TokenFile,
		EnvNATSCA:            &a.CAFile,
		EnvNATSCert:          &a.CertFile,
		EnvNATSKey:           &a.KeyFile,
		EnvNATSTLSServerName: &a.TLSServerName,
		EnvNATSInboxPrefix:   &a.InboxPrefix,
	} {
		if v := getenv(env); v != "" {
			*field = v
		}
	}
	if getenv(EnvNATSPassword) != "" && a.PasswordFile == "" {
		a.PasswordEnv = EnvNATSPassword
	}
	if getenv(EnvNATSToken) != "" && a.TokenFile == "" {
		a.TokenEnv = EnvNATSToken
	}
}

// HasCredentials reports whether a way of authenticating is set.
func (a NATSAuth) HasCredentials() bool {
	return a.CredsFile != "" || a.NkeyFile != "" || a.User != "" || a.TokenEnv != "" || a.TokenFile != ""
}

// TLS reports whether the connection is to use TLS.
func (a NATSAuth) TLS() bool {
	return a.CAFile != "" || a.CertFile != "" || a.KeyFile != "" || a.TLSServerName != ""
}

// Validate says what is wrong with the settings, without reading any file.
func (a NATSAuth) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	ways := 0
	for _, set := range []bool{a.CredsFile != "", a.NkeyFile != "", a.User != "", a.TokenEnv != "" || a.TokenFile != ""} {
		if set {
			ways++
		}
	}
	if ways > 1 {
		bad("nats credentials: give only one of nats_creds_file, nats_nkey_file, nats_user (with a password) or a token")
	}
	if a.User != "" && a.PasswordEnv == "" && a.PasswordFile == "" {
		bad("nats_user %q: give its password in nats_password_env or nats_password_file", a.User)
	}
	if a.User == "" && (a.PasswordEnv != "" || a.PasswordFile != "") {
		bad("nats password: set nats_user too")
	}
	if a.PasswordEnv != "" && a.PasswordFile != "" {
		bad("nats password: give nats_password_env or nats_password_file, not both")
	}
	if a.TokenEnv != "" && a.TokenFile != "" {
		bad("nats token: give nats_token_env or nats_token_file, not both")
	}
	if (a.CertFile == "") != (a.KeyFile == "") {
		bad("nats client certificate: give both nats_cert_file and nats_key_file")
	}
	if a.InboxPrefix != "" && (strings.ContainsAny(a.InboxPrefix, "*> \t") || strings.HasSuffix(a.InboxPrefix, ".")) {
		bad("nats_inbox_prefix %q: use a subject without wildcards, spaces or a trailing dot", a.InboxPrefix)
	}
	return errors.Join(errs...)
}

// Options returns the nats.Options that authenticate and secure a
// connection as a says, reading the password or token from its environment
// variable (looked up with getenv; os.Getenv when nil) or file. Errors name
// the variable or the file, never the secret.
func (a NATSAuth) Options(getenv func(string) string) ([]nats.Option, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	var opts []nats.Option
	switch {
	case a.CredsFile != "":
		if err := readable(a.CredsFile); err != nil {
			return nil, fmt.Errorf("nats_creds_file: %w", err)
		}
		opts = append(opts, nats.UserCredentials(a.CredsFile))
	case a.NkeyFile != "":
		o, err := nats.NkeyOptionFromSeed(a.NkeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats_nkey_file %s: not a readable nkey seed file: %w", a.NkeyFile, err)
		}
		opts = append(opts, o)
	case a.User != "":
		pw, err := secret("nats password", a.PasswordEnv, a.PasswordFile, getenv)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserInfo(a.User, pw))
	case a.TokenEnv != "" || a.TokenFile != "":
		tok, err := secret("nats token", a.TokenEnv, a.TokenFile, getenv)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Token(tok))
	}
	if a.TLS() {
		opts = append(opts, nats.Secure(&tls.Config{ServerName: a.TLSServerName, MinVersion: tls.VersionTLS12}))
		if a.CAFile != "" {
			if err := readable(a.CAFile); err != nil {
				return nil, fmt.Errorf("nats_ca_file: %w", err)
			}
			opts = append(opts, nats.RootCAs(a.CAFile))
		}
		if a.CertFile != "" {
			if _, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile); err != nil {
				return nil, fmt.Errorf("nats_cert_file %s and nats_key_file %s: not a certificate and its key: %w", a.CertFile, a.KeyFile, err)
			}
			opts = append(opts, nats.ClientCert(a.CertFile, a.KeyFile))
		}
	}
	if a.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(a.InboxPrefix))
	}
	return opts, nil
}

// secret reads what as the value of the variable env or the content of
// file, trimmed of surrounding white space.
func secret(what, env, file string, getenv func(string) string) (string, error) {
	if env != "" {
		v := strings.TrimSpace(getenv(env))
		if v == "" {
			return "", fmt.Errorf("%s: environment variable %s is empty or not set", what, env)
		}
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s: file %s is empty", what, file)
	}
	return v, nil
}

// readable checks that path can be opened, so a typo is reported at start.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// RedactURLs returns a comma-separated list of NATS URLs with any user
// information (user, password or token) removed, for logs and errors.
func RedactURLs(list string) string { return redactURLs(list) }
