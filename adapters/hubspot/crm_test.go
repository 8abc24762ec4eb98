package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/hubspot"
	"github.com/junctionhq/junction/adapters/hubspot/hubspottest"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// newSink is the adapter with the stand-in's token and base URL, loopback
// allowed.
func newSink(t *testing.T, api *hubspottest.Server, token string) *hubspot.Adapter {
	t.Helper()
	t.Setenv("TEST_HUBSPOT_TOKEN", token)
	return newAdapter(t, hubspot.Config{CRM: hubspot.CRMConfig{TokenEnv: "TEST_HUBSPOT_TOKEN", BaseURL: api.URL, Allow: []string{"127.0.0.0/8"}}})
}

func crmDelivery(id string, cfg map[string]string, payload string) *junctionv1.Delivery {
	return &junctionv1.Delivery{Id: id, EventId: "evt_1", EventSource: "forms", EventType: "lead.created", RouteId: "leads",
		Target: "crm", Destination: "hubspot", Config: cfg, Payload: []byte(payload), ContentType: "application/json"}
}

// TestSinkConformance runs the kit's sink suite against the stand-in.
func TestSinkConformance(t *testing.T) {
	conformance.RunSink(t, conformance.SinkCase{
		App: hubspot.Spec.App,
		New: func(t *testing.T) (any, conformance.App) {
			api := hubspottest.New(t)
			// The suite's payload is {"id": <delivery id>, ...}: upsert
			// by a unique property "id" (a custom one in HubSpot terms).
			api.AddUniqueProperty("id")
			return newSink(t, api, hubspottest.Token), api
		},
		Config: func(conformance.App) map[string]string { return map[string]string{"id_property": "id"} },
	})
}

// TestDeliverUpsert upserts contacts and associates them, checking what
// the stand-in holds and that every request kept to the documented API.
func TestDeliverUpsert(t *testing.T) {
	api := hubspottest.New(t)
	api.AddCompany("31")
	api.AddCompany("32")
	api.AddDeal("41")
	a := newSink(t, api, hubspottest.Token)
	ctx := context.Background()
	api.AddUniqueProperty("external_id")
	for _, tc := range []struct {
		name      string
		cfg       map[string]string
		payload   string
		email     string
		props     map[string]string
		companies []string
		deals     []string
		calls     int
	}{
		{"new contact, no association", nil, `{"email":"ada@example.com","firstname":"Ada","employees":12,"vip":true,"phone":null}`, "ada@example.com",
			map[string]string{"email": "ada@example.com", "firstname": "Ada", "employees": "12", "vip": "true"}, nil, nil, 1},
		{"same email updates, payload associations", nil, `{"email":"ada@example.com","lastname":"Lovelace","company_id":"31","deal_id":41}`, "ada@example.com",
			map[string]string{"email": "ada@example.com", "firstname": "Ada", "employees": "12", "vip": "true", "lastname": "Lovelace"}, []string{"31"}, []string{"41"}, 3},
		{"target config company", map[string]string{"company_id": "32"}, `{"email":"bob@example.com"}`, "bob@example.com",
			map[string]string{"email": "bob@example.com"}, []string{"32"}, nil, 2},
		{"custom id property", map[string]string{"id_property": "external_id"}, `{"external_id":"x-9","email":"dee@example.com"}`, "",
			map[string]string{"external_id": "x-9", "email": "dee@example.com"}, nil, nil, 1},
		{"payload wins over target config", map[string]string{"company_id": "32"}, `{"email":"cy@example.com","company_id":"31"}`, "cy@example.com",
			map[string]string{"email": "cy@example.com"}, []string{"31"}, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(api.Requests())
			if err := a.Deliver(ctx, crmDelivery("dlv_"+strings.ReplaceAll(tc.name, " ", "_"), tc.cfg, tc.payload)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if n := len(api.Requests()) - before; n != tc.calls {
				t.Errorf("%d API calls, want %d", n, tc.calls)
			}
			c := api.Contact(tc.email)
			if tc.email == "" {
				c = api.ContactBy("external_id", "x-9")
			}
			if c == nil {
				t.Fatalf("no contact %s", tc.email)
			}
			for k, v := range tc.props {
				if c.Properties[k] != v {
					t.Errorf("property %s = %q, want %q", k, c.Properties[k], v)
				}
			}
			if len(c.Properties) != len(tc.props) {
				t.Errorf("properties %v, want %v", c.Properties, tc.props)
			}
			if !slices.Equal(c.Companies, tc.companies) || !slices.Equal(c.Deals, tc.deals) {
				t.Errorf("companies %v deals %v, want %v %v", c.Companies, c.Deals, tc.companies, tc.deals)
			}
		})
	}
	// A retried delivery is the same contact and the same associations.
	first := api.Contact("ada@example.com")
	if err := a.Deliver(ctx, crmDelivery("dlv_again", nil, `{"email":"ada@example.com","company_id":"31"}`)); err != nil {
		t.Fatal(err)
	}
	if again := api.Contact("ada@example.com"); again.ID != first.ID || !slices.Equal(again.Companies, []string{"31"}) {
		t.Errorf("after a retry contact %s companies %v, want %s [31]", again.ID, again.Companies, first.ID)
	}
	for _, r := range api.Requests() {
		if !strings.HasPrefix(r.DeliveryID, "dlv_") {
			t.Errorf("%s %s carried delivery id %q", r.Method, r.Path, r.DeliveryID)
		}
	}
	if p := api.Problems(); len(p) > 0 {
		t.Errorf("requests broke the documented API: %q", p)
	}
}

// TestDeliverErrors classifies HubSpot's answers and bad deliveries, and
// checks the token never shows in an error.
func TestDeliverErrors(t *testing.T) {
	const canary = "pat-canary-0123456789"
	for _, tc := range []struct {
		name      string
		answer    conformance.Answer
		token     string
		cfg       map[string]string
		payload   string
		permanent bool
		delay     time.Duration // 0: none given
		want      string
	}{
		{"400 validation", conformance.Answer{Status: 400}, "", nil, "", true, 0, "400 Bad Request: VALIDATION_ERROR: scripted 400"},
		{"401", conformance.Answer{Status: 401}, "", nil, "", true, 0, "401 Unauthorized: INVALID_AUTHENTICATION"},
		{"403 missing scopes", conformance.Answer{Status: 403}, "", nil, "", true, 0, "MISSING_SCOPES"},
		{"404", conformance.Answer{Status: 404}, "", nil, "", true, 0, "OBJECT_NOT_FOUND"},
		{"409 conflict", conformance.Answer{Status: 409}, "", nil, "", true, 0, "409 Conflict: CONFLICT"},
		{"429 retry-after", conformance.Answer{Status: 429, RetryAfter: 7 * time.Second}, "", nil, "", false, 7 * time.Second, "429 Too Many Requests: RATE_LIMITS"},
		{"429 rate-limit headers", conformance.Answer{Status: 429}, "", nil, "", false, time.Second, "RATE_LIMITS"},
		{"500", conformance.Answer{Status: 500}, "", nil, "", false, 0, "500 Internal Server Error"},
		{"503", conformance.Answer{Status: 503}, "", nil, "", false, 0, "503"},
		{"wrong token", conformance.Answer{}, canary, nil, "", true, 0, "Authentication credentials not found"},
		{"unknown company", conformance.Answer{}, "", map[string]string{"company_id": "99"}, "", true, 0, "associate contact with company 99: answered 404"},
		{"no email", conformance.Answer{}, "", nil, `{"firstname":"Ada"}`, true, 0, `payload has no "email"`},
		{"not an object", conformance.Answer{}, "", nil, `[1]`, true, 0, "payload is not a JSON object"},
		{"nested property", conformance.Answer{}, "", nil, `{"email":"a@example.com","address":{"city":"x"}}`, true, 0, `payload field "address": is an object`},
		{"bad deal id", conformance.Answer{}, "", nil, `{"email":"a@example.com","deal_id":"abc"}`, true, 0, `deal_id "abc" is not a HubSpot record id`},
		{"bad target config", conformance.Answer{}, "", map[string]string{"company": "31"}, "", true, 0, `company: not a key this destination takes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := hubspottest.New(t)
			token := tc.token
			if token == "" {
				token = hubspottest.Token
			}
			a := newSink(t, api, token)
			api.Script(tc.answer)
			payload := tc.payload
			if payload == "" {
				payload = `{"email":"ada@example.com"}`
			}
			err := a.Deliver(context.Background(), crmDelivery("dlv_1", tc.cfg, payload))
			if err == nil {
				t.Fatal("Deliver = nil, want an error")
			}
			if got := sdk.IsPermanent(err); got != tc.permanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tc.permanent, err)
			}
			d, ok := sdk.RetryDelay(err)
			if tc.delay != 0 && (!ok || d != tc.delay) {
				t.Errorf("retry delay %v %v, want %v", d, ok, tc.delay)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), hubspottest.Token) {
				t.Errorf("error %q holds the access token", err)
			}
			if p := api.Problems(); len(p) > 0 {
				t.Errorf("requests broke the documented API: %q", p)
			}
		})
	}
}

// TestDeliverMultiStatus: a 207 whose errors refuse the input is
// permanent, naming HubSpot's error.
func TestDeliverMultiStatus(t *testing.T) {
	api := hubspottest.New(t)
	api.RejectInput("VALIDATION_ERROR", "Property values were not valid: lifecyclestage")
	a := newSink(t, api, hubspottest.Token)
	err := a.Deliver(context.Background(), crmDelivery("dlv_1", nil, `{"email":"a@example.com","lifecyclestage":"x"}`))
	if !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "hubspot upsert contact: VALIDATION_ERROR: Property values were not valid") {
		t.Errorf("Deliver = %v, want permanent naming HubSpot's error", err)
	}
}

// TestDeliverGuards: no token, and an address the egress guard refuses,
// are permanent without a call.
func TestDeliverGuards(t *testing.T) {
	api := hubspottest.New(t)
	t.Setenv(hubspot.DefaultTokenEnv, "")
	noToken := newAdapter(t, hubspot.Config{CRM: hubspot.CRMConfig{BaseURL: api.URL, Allow: []string{"127.0.0.0/8"}}})
	err := noToken.Deliver(context.Background(), crmDelivery("dlv_1", nil, `{"email":"a@example.com"}`))
	if !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "no HubSpot access token") {
		t.Errorf("without a token: %v, want permanent naming the token", err)
	}
	t.Setenv("TEST_HUBSPOT_TOKEN", hubspottest.Token)
	blocked := newAdapter(t, hubspot.Config{CRM: hubspot.CRMConfig{TokenEnv: "TEST_HUBSPOT_TOKEN", BaseURL: api.URL}})
	err = blocked.Deliver(context.Background(), crmDelivery("dlv_1", nil, `{"email":"a@example.com"}`))
	if !sdk.IsPermanent(err) || !errors.Is(err, egress.ErrBlocked) {
		t.Errorf("to loopback without allow: %v, want permanent ErrBlocked", err)
	}
	if n := len(api.Requests()); n != 0 {
		t.Errorf("stand-in got %d requests, want 0", n)
	}
}

// TestCRMConfigErrors: bad crm settings are refused at start.
func TestCRMConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		crm  hubspot.CRMConfig
		want string
	}{
		{"two token sources", hubspot.CRMConfig{TokenEnv: "A", TokenFile: "/b"}, "set only one of token_env and token_file"},
		{"base url scheme", hubspot.CRMConfig{BaseURL: "ftp://api.hubapi.com"}, "adapter.crm.base_url"},
		{"base url with user", hubspot.CRMConfig{BaseURL: "https://u:p@api.hubapi.com"}, "adapter.crm.base_url"},
		{"bad allow", hubspot.CRMConfig{Allow: []string{"not an address"}}, "adapter.crm.allow[0]"},
		{"negative timeout", hubspot.CRMConfig{Timeout: -time.Second}, "adapter.crm.timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hubspot.Config{CRM: tc.crm}
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Setenv(hubspot.DefaultSecretEnv, secret)
	_, err := hubspot.New(hubspot.Config{CRM: hubspot.CRMConfig{TokenEnv: "UNSET_TOKEN_VAR_FOR_TEST"}})
	if err == nil || !strings.Contains(err.Error(), "UNSET_TOKEN_VAR_FOR_TEST") {
		t.Errorf("New with an unset token_env = %v, want an error naming it", err)
	}
}

// TestDestinationOnly: with a CRM token and no client secret named (nor in
// HUBSPOT_CLIENT_SECRET) the adapter starts as a destination only, and a
// webhook, signed or not, is refused with 404 naming the setting, with
// nothing emitted; without a token the secret is still required.
func TestDestinationOnly(t *testing.T) {
	t.Setenv(hubspot.DefaultSecretEnv, "")
	t.Setenv("TEST_HUBSPOT_TOKEN", "pat-1")
	a, err := hubspot.New(hubspot.Config{CRM: hubspot.CRMConfig{TokenEnv: "TEST_HUBSPOT_TOKEN"}})
	if err != nil {
		t.Fatalf("New with a token and no client secret = %v, want a destination-only adapter", err)
	}
	emitted := 0
	emit := func(context.Context, *junctionv1.Event) (sdk.PublishResult, error) {
		emitted++
		return sdk.PublishResult{}, nil
	}
	for _, key := range []string{secret, ""} {
		rec := httptest.NewRecorder()
		a.Webhook(emit).ServeHTTP(rec, post(`[{"eventId":1,"subscriptionType":"contact.creation","objectId":7,"occurredAt":1700000000000}]`, "/webhooks/hubspot", time.Now(), key))
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), hubspot.DefaultSecretEnv) {
			t.Errorf("webhook signed with %q answered %d %s, want 404 naming %s", key, rec.Code, rec.Body.String(), hubspot.DefaultSecretEnv)
		}
	}
	if emitted != 0 {
		t.Errorf("a destination-only adapter emitted %d events, want 0", emitted)
	}

	t.Setenv("TEST_HUBSPOT_TOKEN", "")
	if _, err := hubspot.New(hubspot.Config{}); err == nil || !strings.Contains(err.Error(), hubspot.DefaultSecretEnv) {
		t.Errorf("New with neither token nor secret = %v, want an error naming %s", err, hubspot.DefaultSecretEnv)
	}
}
