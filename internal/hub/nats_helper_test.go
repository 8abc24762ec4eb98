package hub

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// platformConn is a connection to h's embedded NATS as the platform user
// (every subject), in process, for tests to inspect streams.
func platformConn(h *Hub) (*nats.Conn, error) {
	opts, err := h.keys.InProcess(h.ns, platformUser)
	if err != nil {
		return nil, err
	}
	return nats.Connect("", opts...)
}

// natsSeeds are the nkey seeds serve wrote for h's NATS users, canaries
// that must never be printed.
func natsSeeds(t *testing.T, h *Hub) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(h.CredentialsDir(), "*.nk"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed files in %q: %v", h.CredentialsDir(), err)
	}
	var seeds []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, strings.TrimSpace(string(b)))
	}
	return seeds
}
