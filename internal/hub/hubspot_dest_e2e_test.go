package hub

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/hubspot/hubspottest"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestHubSpotDestinationEndToEnd: a generic webhook posted to serve and
// routed to the hubspot destination, run inside serve from a `sources:`
// entry, upserts a contact by email at the HubSpot stand-in and associates
// it with a company (target config) and a deal (payload); HubSpot's first
// answer is a 503, so the delivery is retried with the same delivery id;
// a route with a company id that is no number is refused at save.
func TestHubSpotDestinationEndToEnd(t *testing.T) {
	api := hubspottest.New(t)
	api.AddCompany("31")
	api.AddDeal("41")
	api.Script(conformance.Answer{Status: http.StatusServiceUnavailable}, conformance.Answer{})
	t.Setenv("E2E_HUBSPOT_CLIENT_SECRET", "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy")
	t.Setenv("E2E_HUBSPOT_TOKEN", hubspottest.Token)
	cfg := withSourceApp(t, testConfig(t.TempDir()), "hubspot", fmt.Sprintf(`
secret_env: E2E_HUBSPOT_CLIENT_SECRET
crm:
  token_env: E2E_HUBSPOT_TOKEN
  base_url: %s
  allow: ["127.0.0.1/32"]
`, api.URL))
	h := startHub(t, cfg)
	routes := h.routes(t)
	ctx := context.Background()

	waitFor(t, 30*time.Second, "a route with a non-numeric company_id refused", func() error {
		_, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "broken-crm", Route: &junctionv1.Route{
			Filter:  "acme.user.created",
			Targets: []*junctionv1.Target{{Name: "crm", Destination: "hubspot", Config: map[string]string{"company_id": "acme"}}},
		}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "company_id") {
			_, _ = routes.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/broken-crm"})
			return fmt.Errorf("CreateRoute = %v, want InvalidArgument naming company_id", err)
		}
		return nil
	})

	created, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "lead-to-crm", Route: &junctionv1.Route{
		Filter: "acme.user.created",
		Targets: []*junctionv1.Target{{Name: "crm", Destination: "hubspot", Config: map[string]string{"company_id": "31"},
			Transform: `{"email": data.data.email, "firstname": data.data.first_name, "lastname": data.data.last_name, "plan": data.data.plan, "deal_id": "41"}`}},
	}})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	if resp := h.sendWebhook(t, "msg_crm_1", userCreated("pro", "alex@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d, want 2xx", resp.StatusCode)
	}
	waitFor(t, 60*time.Second, "the contact and its associations at the stand-in", func() error {
		c := api.Contact("alex@example.com")
		if c == nil || len(c.Companies) == 0 || len(c.Deals) == 0 {
			return fmt.Errorf("contact %+v", c)
		}
		return nil
	})
	c := api.Contact("alex@example.com")
	for k, want := range map[string]string{"email": "alex@example.com", "firstname": "Alex", "lastname": "Rivera", "plan": "pro"} {
		if c.Properties[k] != want {
			t.Errorf("property %s = %q, want %q", k, c.Properties[k], want)
		}
	}
	if !slices.Equal(c.Companies, []string{"31"}) || !slices.Equal(c.Deals, []string{"41"}) {
		t.Errorf("companies %v deals %v, want [31] [41]", c.Companies, c.Deals)
	}
	reqs := api.Requests()
	// 503, then the upsert and the two associations.
	if len(reqs) != 4 {
		t.Errorf("stand-in got %d requests, want 4 (a 503, the upsert, two associations)", len(reqs))
	}
	for _, r := range reqs {
		if r.DeliveryID == "" || r.DeliveryID != reqs[0].DeliveryID {
			t.Errorf("%s %s delivery id %q, want the first attempt's %q on every call", r.Method, r.Path, r.DeliveryID, reqs[0].DeliveryID)
		}
	}
	if p := api.Problems(); len(p) > 0 {
		t.Errorf("requests broke the documented API: %q", p)
	}
}

// TestHubSpotDestinationConfigErrors: serve refuses the hubspot entry's
// crm settings at start, saying what to fix.
func TestHubSpotDestinationConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{"two token sources", "crm: {token_env: A, token_file: /b}", "sources[0] (hubspot): config: adapter.crm: set only one of token_env and token_file"},
		{"base url scheme", "crm: {base_url: ftp://api.hubapi.com}", "adapter.crm.base_url"},
		{"misspelt key", "crm: {token: x}", "field token not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withSourceApp(t, testConfig(t.TempDir()), "hubspot", tc.config)
			cfg.SetDefaults()
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
