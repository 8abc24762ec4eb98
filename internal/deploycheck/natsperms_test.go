package deploycheck

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/webhook"
	"github.com/junctionhq/junction/internal/natsauth"
)

// updateEnv, set to 1, makes TestNATSAuthConfFromRoles rewrite the
// authorization block of deploy/nats/auth.conf instead of comparing it.
const updateEnv = "JUNCTION_UPDATE_DEPLOY"

// TestNATSAuthConfFromRoles keeps deploy/nats/auth.conf to the one owner
// of the hub's NATS permissions, internal/natsauth: its authorization
// block must be what natsauth writes for the deployment's users (router,
// gateway, and the webhook adapter with the sources of
// deploy/config/webhook-adapter.yaml), each nkey taken from the server's
// environment. After a role changes, run
//
//	JUNCTION_UPDATE_DEPLOY=1 go test ./internal/deploycheck -run TestNATSAuthConfFromRoles
//
// and commit the file.
func TestNATSAuthConfFromRoles(t *testing.T) {
	_, adapterCfg, err := sdk.LoadConfig[webhook.Config](deployPath(t, "config", "webhook-adapter.yaml"))
	if err != nil {
		t.Fatalf("deploy/config/webhook-adapter.yaml: %v", err)
	}
	var sources []string
	for _, s := range adapterCfg.Sources {
		sources = append(sources, s.Name)
	}
	roles := map[string]natsauth.User{
		"router":  {Name: "router", Role: natsauth.RoleRouter},
		"gateway": {Name: "gateway", Role: natsauth.RoleGateway},
		"webhook": {Name: "webhook", Role: natsauth.RoleAdapter, Sources: sources},
	}
	var users []natsauth.User
	env := map[string]string{}
	for _, r := range natsRoles {
		u, ok := roles[r.name]
		if !ok {
			t.Fatalf("natsRoles names %q, which has no role here", r.name)
		}
		users = append(users, u)
		env[r.name] = "$" + r.env
	}
	var want bytes.Buffer
	if err := natsauth.WriteAuthorization(&want, users, func(_ int, u natsauth.User) string { return env[u.Name] }); err != nil {
		t.Fatal(err)
	}

	path := deployPath(t, "nats", "auth.conf")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(b), "authorization {")
	if !ok {
		t.Fatalf("%s has no authorization block", path)
	}
	got := "authorization {" + body
	if got == want.String() {
		return
	}
	if os.Getenv(updateEnv) == "1" {
		if err := os.WriteFile(path, []byte(head+want.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the authorization block of %s", path)
		return
	}
	t.Errorf("the authorization block of deploy/nats/auth.conf is not what internal/natsauth gives the deployment's users; run %s=1 go test ./internal/deploycheck -run TestNATSAuthConfFromRoles and commit it", updateEnv)
}
