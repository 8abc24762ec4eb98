package hub

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc"
)

// adminKey returns the admin key the hub wrote on its first start.
func (r *running) adminKey(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(r.AdminKeyFile())
	if err != nil {
		t.Fatalf("admin key: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// keyCreds sends a key as a bearer token on every gRPC call.
type keyCreds string

func (k keyCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

func (keyCreds) RequireTransportSecurity() bool { return false }

// adminCreds is the dial option that sends the admin key.
func (r *running) adminCreds(t *testing.T) grpc.DialOption {
	t.Helper()
	return grpc.WithPerRPCCredentials(keyCreds(r.adminKey(t)))
}

// adminGet is GET url with the admin key.
func (r *running) adminGet(t *testing.T, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.adminKey(t))
	return http.DefaultClient.Do(req)
}
