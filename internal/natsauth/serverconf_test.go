package natsauth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// TestWriteServerConfig: a nats-server started from the written block
// refuses anonymous clients, lets the acme adapter publish its own events
// and refuses it another source's.
func TestWriteServerConfig(t *testing.T) {
	dir := t.TempDir()
	users := Merge(Defaults([]string{"acme"}), []User{{Name: "acme", Role: RoleAdapter, Sources: []string{"acme"}}, {Name: "ops", Role: RolePlatform}})
	k, err := Setup(dir, users, nil)
	if err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	if err := k.WriteServerConfig(&block); err != nil {
		t.Fatal(err)
	}
	for _, f := range k.Files() {
		seed, _ := os.ReadFile(f)
		if strings.Contains(block.String(), strings.TrimSpace(string(seed))) {
			t.Fatalf("the server config holds the seed of %s", f)
		}
	}
	conf := filepath.Join(dir, "nats.conf")
	text := fmt.Sprintf("listen: \"127.0.0.1:-1\"\njetstream { store_dir: %q }\n%s", filepath.Join(dir, "js"), block.String())
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("nats-server rejects the written config: %v\n%s", err, text)
	}
	opts.NoSigs = true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10e9) {
		t.Fatal("server not ready")
	}
	t.Cleanup(ns.Shutdown)

	if nc, err := nats.Connect(ns.ClientURL(), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("anonymous client accepted")
	}
	opt, err := nats.NkeyOptionFromSeed(SeedFile(dir, "acme"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		subject string
		allowed bool
	}{
		{topology.EventSubject("acme", "user.created"), true},
		{topology.EventSubject("other", "user.created"), false},
		{"$JS.API.STREAM.DELETE.EVENTS", false},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			nc, err := nats.Connect(ns.ClientURL(), opt, nats.NoReconnect(), nats.CustomInboxPrefix(topology.InboxPrefix("acme")))
			if err != nil {
				t.Fatalf("connect as acme: %v", err)
			}
			defer nc.Close()
			if err := nc.Publish(tt.subject, []byte("x")); err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			if refused := nc.LastError() != nil; refused == tt.allowed {
				t.Errorf("publish %s as acme: last error %v, want allowed %v", tt.subject, nc.LastError(), tt.allowed)
			}
		})
	}
}
