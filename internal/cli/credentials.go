package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Where the CLI finds its API key, first found wins:
//
//  1. --api-key-file PATH (a file holding the key);
//  2. JUNCTION_API_KEY (the key itself);
//  3. JUNCTION_API_KEY_FILE (a file holding the key);
//  4. $JUNCTION_DATA_DIR/admin.key, when JUNCTION_DATA_DIR is set;
//  5. ./data/admin.key, the file a default `junction serve` writes.
//
// With none of them the call goes out without credentials and the
// gateway's Unauthenticated answer comes with a hint.
const (
	// APIKeyEnv holds the API key itself.
	APIKeyEnv = "JUNCTION_API_KEY"
	// APIKeyFileEnv names a file holding the API key.
	APIKeyFileEnv = "JUNCTION_API_KEY_FILE"
	// dataDirEnv is serve's data directory variable.
	dataDirEnv = "JUNCTION_DATA_DIR"
	// adminKeyFile is the admin key's name in the data directory.
	adminKeyFile = "admin.key"
	// defaultDataDir is serve's default data directory.
	defaultDataDir = "data"
)

// apiKey returns the key to send and where it came from; "" when none of
// the places holds one. A file named explicitly that cannot be read is an
// error; the default files are only used when they exist.
func (o *options) apiKey() (key, from string, err error) {
	if o.apiKeyFile != "" {
		return readKeyFile(o.apiKeyFile, "--api-key-file")
	}
	if k := strings.TrimSpace(os.Getenv(APIKeyEnv)); k != "" {
		return k, APIKeyEnv, nil
	}
	if p := strings.TrimSpace(os.Getenv(APIKeyFileEnv)); p != "" {
		return readKeyFile(p, APIKeyFileEnv)
	}
	var defaults []string
	if d := strings.TrimSpace(os.Getenv(dataDirEnv)); d != "" {
		defaults = append(defaults, filepath.Join(d, adminKeyFile))
	}
	defaults = append(defaults, filepath.Join(defaultDataDir, adminKeyFile))
	for _, p := range defaults {
		k, from, err := readKeyFile(p, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return k, from, err
	}
	return "", "", nil
}

// readKeyFile reads a key file; from names the source in errors.
func readKeyFile(path, from string) (string, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("API key from %s: %w", from, err)
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", "", fmt.Errorf("API key file %s is empty: %w", path, ErrUsage)
	}
	return k, path, nil
}

// bearer sends the API key as "authorization: Bearer <key>" on every call.
// It allows insecure transport: the CLI talks to a loopback gateway by
// default, and gRPC would refuse credentials that require TLS there.
type bearer string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (bearer) RequireTransportSecurity() bool { return false }

// unauthenticatedHint is added to an Unauthenticated answer.
func unauthenticatedHint(from string) string {
	if from != "" {
		return "the gateway refused the API key from " + from + "; give another with --api-key-file or " + APIKeyEnv
	}
	return "set " + APIKeyEnv + " or --api-key-file; `junction serve` wrote an admin key to ./data/admin.key (run from the directory it was started in, or set " + dataDirEnv + ")"
}
