package apphook

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// SecretRef names where one signing secret comes from: exactly one of
// SecretEnv (an environment variable's name) or SecretFile (a path whose
// contents, trimmed of surrounding white space, are the secret). A secret
// is never written in the configuration file itself. It is the shape of
// the generic webhook adapter's secret_env and secret_file, and of each
// entry of previous.
type SecretRef struct {
	// SecretEnv names the environment variable holding the secret.
	SecretEnv string `yaml:"secret_env"`
	// SecretFile is the path of a file holding the secret.
	SecretFile string `yaml:"secret_file"`
}

// Validate checks that exactly one of SecretEnv and SecretFile is set;
// where names the entry in error messages, e.g. "adapter.previous[1]".
func (r SecretRef) Validate(where string) error {
	switch {
	case r.SecretEnv == "" && r.SecretFile == "":
		return fmt.Errorf("%s: set secret_env (an environment variable name) or secret_file (a path)", where)
	case r.SecretEnv != "" && r.SecretFile != "":
		return fmt.Errorf("%s: set only one of secret_env and secret_file", where)
	}
	return nil
}

// Resolve reads the secret.
func (r SecretRef) Resolve() (string, error) {
	switch {
	case r.SecretEnv != "":
		v := strings.TrimSpace(os.Getenv(r.SecretEnv))
		if v == "" {
			return "", fmt.Errorf("environment variable %s (secret_env) is not set or empty: set it to the signing secret", r.SecretEnv)
		}
		return v, nil
	case r.SecretFile != "":
		b, err := os.ReadFile(r.SecretFile)
		if err != nil {
			return "", fmt.Errorf("read secret_file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret_file %s is empty: write the signing secret in it", r.SecretFile)
		}
		return v, nil
	}
	return "", errors.New("no secret_env or secret_file set")
}

// ValidateSecrets checks an adapter's secret configuration: the current
// secret (secret_env or secret_file at the top of the adapter's config;
// both may be left out, for the adapter's default variable) and the
// previous ones still accepted while a secret is rotated, each exactly
// one of secret_env and secret_file.
func ValidateSecrets(current SecretRef, previous []SecretRef) error {
	var errs []error
	if current.SecretEnv != "" && current.SecretFile != "" {
		errs = append(errs, errors.New("adapter: set only one of secret_env and secret_file"))
	}
	for i, r := range previous {
		if err := r.Validate(fmt.Sprintf("adapter.previous[%d]", i)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ResolveSecrets reads the current secret (from environment variable
// defaultEnv when neither secret_env nor secret_file is set) and every
// previous one, the current first. Any one matching a signature passes.
func ResolveSecrets(current SecretRef, previous []SecretRef, defaultEnv string) ([]string, error) {
	if current.SecretEnv == "" && current.SecretFile == "" {
		current.SecretEnv = defaultEnv
	}
	s, err := current.Resolve()
	if err != nil {
		return nil, fmt.Errorf("adapter: %w", err)
	}
	out := []string{s}
	for i, r := range previous {
		if err := r.Validate(fmt.Sprintf("adapter.previous[%d]", i)); err != nil {
			return nil, err
		}
		s, err := r.Resolve()
		if err != nil {
			return nil, fmt.Errorf("adapter.previous[%d]: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}
