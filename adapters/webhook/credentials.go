package webhook

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/junctionhq/junction/adapters/internal/apphook"
)

// Credential is one entry of outbound.credentials: how deliveries to a
// target whose config says `auth: <name>` authenticate. Exactly one kind:
// a bearer token (bearer_env or bearer_file), basic auth (username with
// password_env or password_file), or an API key in a header (header with
// key_env or key_file). Secrets come from the environment or files; a
// route only names the credential.
//
//	outbound:
//	  credentials:
//	    crm: {bearer_env: CRM_TOKEN}
//	    erp: {username: junction, password_file: /run/secrets/erp}
//	    billing: {header: X-API-Key, key_env: BILLING_KEY}
type Credential struct {
	// BearerEnv or BearerFile holds a token sent as Authorization: Bearer.
	BearerEnv  string `yaml:"bearer_env"`
	BearerFile string `yaml:"bearer_file"`
	// Username with PasswordEnv or PasswordFile is sent as
	// Authorization: Basic.
	Username     string `yaml:"username"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// Header with KeyEnv or KeyFile sends an API key in that header, e.g.
	// X-API-Key.
	Header  string `yaml:"header"`
	KeyEnv  string `yaml:"key_env"`
	KeyFile string `yaml:"key_file"`
}

// kind names the credential's kind, or reports what is wrong.
func (c Credential) kind() (string, error) {
	var kinds []string
	if c.BearerEnv != "" || c.BearerFile != "" {
		kinds = append(kinds, "bearer")
	}
	if c.Username != "" || c.PasswordEnv != "" || c.PasswordFile != "" {
		kinds = append(kinds, "basic")
	}
	if c.Header != "" || c.KeyEnv != "" || c.KeyFile != "" {
		kinds = append(kinds, "header")
	}
	if len(kinds) != 1 {
		return "", errors.New("set exactly one of bearer_env/bearer_file (bearer token), username with password_env/password_file (basic), or header with key_env/key_file (API key header)")
	}
	switch kinds[0] {
	case "bearer":
		if c.BearerEnv != "" && c.BearerFile != "" {
			return "", errors.New("set only one of bearer_env and bearer_file")
		}
	case "basic":
		if c.Username == "" || strings.Contains(c.Username, ":") {
			return "", errors.New("basic auth needs a username without ':'")
		}
		if (c.PasswordEnv == "") == (c.PasswordFile == "") {
			return "", errors.New("basic auth needs one of password_env and password_file")
		}
	case "header":
		if !httpguts.ValidHeaderFieldName(c.Header) {
			return "", errors.New("header must be a valid header name, e.g. X-API-Key")
		}
		if slices.ContainsFunc(reservedHeaders, func(r string) bool { return strings.EqualFold(r, c.Header) && !strings.EqualFold(r, "Authorization") }) || strings.HasPrefix(strings.ToLower(c.Header), "ce-") {
			return "", fmt.Errorf("header %s is set by the adapter: name another", http.CanonicalHeaderKey(c.Header))
		}
		if (c.KeyEnv == "") == (c.KeyFile == "") {
			return "", errors.New("an API key header needs one of key_env and key_file")
		}
	}
	return kinds[0], nil
}

// validateCredentials checks outbound.credentials without reading a
// secret.
func validateCredentials(creds map[string]Credential) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(creds)) {
		if !credentialName.MatchString(name) {
			errs = append(errs, fmt.Errorf("outbound.credentials: name %q must be lower-case letters, digits, _ and -, e.g. crm", name))
			continue
		}
		if _, err := creds[name].kind(); err != nil {
			errs = append(errs, fmt.Errorf("outbound.credentials.%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// authHeader is a resolved credential: the header and its value.
type authHeader struct {
	name, value string
}

// resolveCredentials reads every credential's secret. Errors name the
// credential and the variable or file, never a value.
func resolveCredentials(creds map[string]Credential) (map[string]authHeader, error) {
	out := make(map[string]authHeader, len(creds))
	for _, name := range slices.Sorted(maps.Keys(creds)) {
		c := creds[name]
		kind, err := c.kind()
		if err != nil {
			return nil, fmt.Errorf("outbound.credentials.%s: %w", name, err)
		}
		read := func(env, file string) (string, error) {
			v, err := apphook.SecretRef{SecretEnv: env, SecretFile: file}.Resolve()
			if err != nil {
				return "", fmt.Errorf("outbound.credentials.%s: %w", name, err)
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				return "", fmt.Errorf("outbound.credentials.%s: the secret holds characters a header cannot carry", name)
			}
			return v, nil
		}
		switch kind {
		case "bearer":
			v, err := read(c.BearerEnv, c.BearerFile)
			if err != nil {
				return nil, err
			}
			out[name] = authHeader{"Authorization", "Bearer " + v}
		case "basic":
			v, err := read(c.PasswordEnv, c.PasswordFile)
			if err != nil {
				return nil, err
			}
			req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
			req.SetBasicAuth(c.Username, v)
			out[name] = authHeader{"Authorization", req.Header.Get("Authorization")}
		case "header":
			v, err := read(c.KeyEnv, c.KeyFile)
			if err != nil {
				return nil, err
			}
			out[name] = authHeader{http.CanonicalHeaderKey(c.Header), v}
		}
	}
	return out, nil
}

// credentialNames lists the configured names for a message.
func credentialNames(creds map[string]authHeader) string {
	if len(creds) == 0 {
		return "none are configured"
	}
	return "it has " + strings.Join(slices.Sorted(maps.Keys(creds)), ", ")
}
