// Package email is Junction's email destination: each delivery to the
// "email" destination becomes one message, its recipients, subject and
// bodies rendered from templates in the route target's config over the
// delivery's JSON payload, sent through an SMTP server with STARTTLS (or
// implicit TLS) and PLAIN or LOGIN auth.
//
// The message's Message-ID is derived from the delivery id, and its Date
// and MIME boundary from the delivery too, so a retried delivery sends the
// same message byte for byte and the receiving side can recognise it.
//
// Failures are classified at the edge: an SMTP 4xx reply is retried, not
// sooner than Config.TempFailDelay; a 5xx reply dead-letters the delivery
// with the server's reply named (a rejected recipient named as such);
// network and TLS errors are retried; a template or address that cannot
// be rendered dead-letters with the reason. See docs/adapters/email.md.
package email

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/junctionhq/junction/adapters/sdk"
)

// Spec describes the adapter. Targets declares the target config keys a
// route's email target takes; the hub refuses a route without "to" or
// "subject", or with a key it does not know.
var Spec = sdk.Spec{
	App: "email", Version: "0.1.0", Description: "Email: deliveries sent as messages through an SMTP server.",
	Targets: &sdk.TargetSchema{Keys: []sdk.TargetKey{
		{Name: "to", Required: true, Description: `the recipients, a template rendering to a comma-separated address list, e.g. "{{.payload.email}}"`},
		{Name: "cc", Description: "copy recipients, a template like to"},
		{Name: "bcc", Description: "blind copy recipients, a template like to; not shown in the message"},
		{Name: "from", Description: "the sender address; the adapter's from when unset"},
		{Name: "reply_to", Description: "the Reply-To address, a template"},
		{Name: "subject", Required: true, Description: "the subject, a text/template over the payload"},
		{Name: "text", Description: "the plain-text body, a text/template over the payload"},
		{Name: "html", Description: "the HTML body, an html/template over the payload (values are escaped)"},
	}},
}

// TLS modes of [Config].TLS.
const (
	// TLSStartTLS connects in clear and upgrades with STARTTLS, refusing
	// a server that does not offer it (port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit = "implicit"
	// TLSNone sends in clear; only without auth, for a relay on the
	// same host.
	TLSNone = "none"
)

// Auth mechanisms of [Config].Auth.
const (
	AuthPlain = "plain"
	AuthLogin = "login"
	AuthNone  = "none"
)

// Config is the `adapter:` section of the adapter's configuration file
// (and of a `sources:` entry of `junction serve`). The password comes from
// the environment or a file, never from the file itself or a route.
type Config struct {
	// Host is the SMTP server's host name. Required.
	Host string `yaml:"host"`
	// Port is the SMTP server's port; default 587 (465 with tls: implicit).
	Port int `yaml:"port"`
	// TLS is starttls (default), implicit or none.
	TLS string `yaml:"tls"`
	// ServerName is the name the server's certificate is checked
	// against; default Host.
	ServerName string `yaml:"server_name"`
	// CAFile is a PEM file of CA certificates trusted for the server, in
	// addition to the system's (a private relay's own CA).
	CAFile string `yaml:"ca_file"`
	// Auth is plain, login or none; default plain when a username is
	// set, none otherwise.
	Auth string `yaml:"auth"`
	// Username is the SMTP user name; UsernameEnv names an environment
	// variable holding it instead.
	Username    string `yaml:"username"`
	UsernameEnv string `yaml:"username_env"`
	// PasswordEnv names the environment variable holding the SMTP
	// password; PasswordFile is a file holding it. One is required with
	// auth.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// From is the sender of targets that name none, e.g.
	// "Acme <noreply@acme.example>".
	From string `yaml:"from"`
	// MessageIDDomain is the right-hand side of Message-IDs; default the
	// domain of From, else "junction.invalid".
	MessageIDDomain string `yaml:"message_id_domain"`
	// AllowedDomains, when set, are the only recipient domains a
	// delivery may send to (recipients rendered from an event's payload
	// cannot then reach anyone else); others dead-letter.
	AllowedDomains []string `yaml:"allowed_domains"`
	// TempFailDelay is the least wait before retrying after an SMTP 4xx
	// reply (greylisting, rate limits); default 1m.
	TempFailDelay time.Duration `yaml:"tempfail_delay"`
	// Timeout bounds connecting and each SMTP command; default 30s.
	Timeout time.Duration `yaml:"timeout"`
}

// Validate says what is wrong with c, every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("adapter.host is required: the SMTP server's host name, e.g. smtp.example.com"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("adapter.port %d must be a TCP port, e.g. 587", c.Port))
	}
	if !slices.Contains([]string{"", TLSStartTLS, TLSImplicit, TLSNone}, c.TLS) {
		errs = append(errs, fmt.Errorf("adapter.tls %q must be starttls, implicit or none", c.TLS))
	}
	if !slices.Contains([]string{"", AuthPlain, AuthLogin, AuthNone}, c.Auth) {
		errs = append(errs, fmt.Errorf("adapter.auth %q must be plain, login or none", c.Auth))
	}
	if c.Username != "" && c.UsernameEnv != "" {
		errs = append(errs, errors.New("adapter: set only one of username and username_env"))
	}
	if c.PasswordEnv != "" && c.PasswordFile != "" {
		errs = append(errs, errors.New("adapter: set only one of password_env and password_file"))
	}
	if c.auth() != AuthNone {
		if c.Username == "" && c.UsernameEnv == "" {
			errs = append(errs, fmt.Errorf("adapter.auth %s needs username or username_env", c.auth()))
		}
		if c.PasswordEnv == "" && c.PasswordFile == "" {
			errs = append(errs, fmt.Errorf("adapter.auth %s needs password_env (an environment variable name) or password_file", c.auth()))
		}
		if c.TLS == TLSNone {
			errs = append(errs, errors.New("adapter.tls none cannot be used with auth: the password would cross the network in clear; use starttls or implicit"))
		}
	}
	if c.From != "" {
		if _, err := mail.ParseAddress(c.From); err != nil {
			errs = append(errs, fmt.Errorf("adapter.from %q is not an address, e.g. \"Acme <noreply@acme.example>\": %w", c.From, err))
		}
	}
	if c.TempFailDelay < 0 || c.Timeout < 0 {
		errs = append(errs, errors.New("adapter.tempfail_delay and adapter.timeout must be positive durations, e.g. 1m"))
	}
	return errors.Join(errs...)
}

// auth is the auth mechanism with its default.
func (c *Config) auth() string {
	switch {
	case c.Auth != "":
		return c.Auth
	case c.Username != "" || c.UsernameEnv != "":
		return AuthPlain
	}
	return AuthNone
}

// Adapter is the email adapter, an [sdk.Sink].
type Adapter struct {
	cfg      Config
	addr     string
	tls      *tls.Config
	username string
	password string
	domain   string

	mu        sync.Mutex
	templates map[string]*parsed // by kind and source
}

// New builds the adapter from its config, reading the credentials and the
// CA file.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.TempFailDelay == 0 {
		cfg.TempFailDelay = time.Minute
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	cfg.Auth = cfg.auth()
	a := &Adapter{cfg: cfg, addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)), templates: map[string]*parsed{}}
	if cfg.TLS != TLSNone {
		a.tls = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
		if cfg.ServerName != "" {
			a.tls.ServerName = cfg.ServerName
		}
		if cfg.CAFile != "" {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("adapter.ca_file: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("adapter.ca_file %s holds no PEM certificate", cfg.CAFile)
			}
			a.tls.RootCAs = pool
		}
	}
	if cfg.Auth != AuthNone {
		a.username = cfg.Username
		if cfg.UsernameEnv != "" {
			if a.username = strings.TrimSpace(os.Getenv(cfg.UsernameEnv)); a.username == "" {
				return nil, fmt.Errorf("environment variable %s is empty: set it to the SMTP user name", cfg.UsernameEnv)
			}
		}
		var err error
		if a.password, err = secret(cfg.PasswordEnv, cfg.PasswordFile); err != nil {
			return nil, err
		}
	}
	a.domain = cfg.MessageIDDomain
	if a.domain == "" {
		a.domain = "junction.invalid"
		if from, err := mail.ParseAddress(cfg.From); err == nil {
			if i := strings.LastIndexByte(from.Address, '@'); i >= 0 {
				a.domain = from.Address[i+1:]
			}
		}
	}
	return a, nil
}

// secret reads the password from the environment variable env or the file
// path, whichever is set, trimmed of surrounding space.
func secret(env, path string) (string, error) {
	if env != "" {
		s := strings.TrimSpace(os.Getenv(env))
		if s == "" {
			return "", fmt.Errorf("environment variable %s is empty: set it to the SMTP password", env)
		}
		return s, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("adapter.password_file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("adapter.password_file %s is empty", path)
	}
	return s, nil
}

var _ sdk.Sink = (*Adapter)(nil)
