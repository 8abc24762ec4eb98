package natsauth

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestUserValidate(t *testing.T) {
	tests := []struct {
		name    string
		user    User
		wantErr string
	}{
		{"adapter", User{Name: "acme", Role: RoleAdapter, Sources: []string{"acme"}}, ""},
		{"subscriber of every source", User{Name: "svc", Role: RoleSubscriber}, ""},
		{"adapter of every source", User{Name: "hooks", Role: RoleAdapter, Sources: []string{"*"}}, ""},
		{"no role", User{Name: "x"}, "role"},
		{"platform", User{Name: "ops", Role: RolePlatform}, ""},
		{"platform with sources", User{Name: "ops", Role: RolePlatform, Sources: []string{"acme"}}, "no sources"},
		{"bad name", User{Name: "Acme.X", Role: RoleAdapter}, "name"},
		{"wildcard source token", User{Name: "a", Role: RoleAdapter, Sources: []string{"acme.>"}}, "sources"},
		{"router with sources", User{Name: "r", Role: RoleRouter, Sources: []string{"acme"}}, "no sources"},
		{"subscriber with destinations", User{Name: "s", Role: RoleSubscriber, Destinations: []string{"d"}}, "no destinations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.user.Validate()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Validate(%+v) = %v, want nil", tt.user, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate(%+v) = %v, want an error about %q", tt.user, err, tt.wantErr)
			}
		})
	}
}

// TestRolesNeverAdminister: no role but the platform may delete or purge
// a stream other than the gateway's DLQ, delete a consumer of another
// role, or subscribe beyond its inbox and its events.
func TestRolesNeverAdminister(t *testing.T) {
	for _, u := range Defaults([]string{"acme"}) {
		p := u.Permissions()
		if p == nil {
			t.Fatalf("%s: nil permissions (everything)", u.Name)
		}
		for _, s := range p.Publish {
			if strings.Contains(s, "STREAM.DELETE") || (strings.Contains(s, "STREAM.PURGE") && !strings.HasSuffix(s, ".DLQ")) ||
				s == ">" || s == "$JS.API.>" || strings.HasPrefix(s, "$JS.API.CONSUMER.DELETE.EVENTS") {
				t.Errorf("%s may publish %q", u.Name, s)
			}
		}
		for _, s := range p.Subscribe {
			if !strings.HasPrefix(s, "_INBOX_junction."+u.Name+".") && !strings.HasPrefix(s, "junction.events.") {
				t.Errorf("%s may subscribe %q", u.Name, s)
			}
		}
	}
	if (User{Name: "serve", Role: RolePlatform}).Permissions() != nil {
		t.Error("platform permissions are not nil (everything)")
	}
}

// TestSeedFiles: a seed file is created 0600, kept across restarts (same
// key), and one readable by others or not a user seed is refused.
func TestSeedFiles(t *testing.T) {
	dir := t.TempDir()
	users := []User{{Name: "acme", Role: RoleAdapter, Sources: []string{"acme"}}}
	k1, err := Setup(dir, users, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := SeedFile(dir, "acme")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("seed file %s: %v, mode %v; want 0600", path, err, fi.Mode().Perm())
	}
	k2, err := Setup(dir, users, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k1.ServerUsers()[0].Nkey != k2.ServerUsers()[0].Nkey {
		t.Error("a restart changed the user's key; running clients would be locked out")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(dir, users, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Setup with a world-readable seed = %v, want an error saying chmod 600", err)
	}
	bad := filepath.Join(dir, SeedDir, "bad.nk")
	if err := os.WriteFile(bad, []byte("not a seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(dir, []User{{Name: "bad", Role: RoleSubscriber}}, nil); err == nil {
		t.Error("Setup with a garbage seed file succeeded")
	}
	if _, err := Setup(t.TempDir(), append(users, users[0]), nil); err == nil {
		t.Error("Setup with a user named twice succeeded")
	}
}

func TestMerge(t *testing.T) {
	got := Merge(Defaults([]string{"acme"}), []User{
		{Name: "webhook", Role: RoleAdapter, Sources: []string{"acme", "forms"}},
		{Name: "crm", Role: RoleAdapter},
	})
	var names []string
	for _, u := range got {
		names = append(names, u.Name)
	}
	if want := []string{"webhook", "router", "gateway", "subscriber", "crm"}; !slices.Equal(names, want) {
		t.Errorf("Merge names = %v, want %v", names, want)
	}
	if !slices.Equal(got[0].Sources, []string{"acme", "forms"}) {
		t.Errorf("configured webhook user did not replace the default: %+v", got[0])
	}
}

// TestAdapterCursorKeys: an adapter may write and direct-get the cursor
// keys of its own app only, and never read the cursors bucket by
// sequence (which names no key).
func TestAdapterCursorKeys(t *testing.T) {
	p := User{Name: "crm", Role: RoleAdapter, Sources: []string{"crm"}}.Permissions()
	want := []string{
		"$KV.junction_cursors.crm.>",
		"$JS.API.DIRECT.GET.KV_junction_cursors.$KV.junction_cursors.crm.>",
		"$JS.API.STREAM.INFO.KV_junction_cursors",
	}
	for _, w := range want {
		if !slices.Contains(p.Publish, w) {
			t.Errorf("adapter crm may not publish %q; want it allowed", w)
		}
	}
	for _, s := range p.Publish {
		if strings.Contains(s, "junction_cursors") && !slices.Contains(want, s) {
			t.Errorf("adapter crm may publish %q; want only its own cursor keys", s)
		}
	}
}
