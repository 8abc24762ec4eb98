package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// adminDo sends a REST request with a JSON body and the admin key and
// returns the status and the decoded JSON object.
func (r *running) adminDo(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, "http://"+r.Addrs().HTTP+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.adminKey(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, b)
	}
	return resp.StatusCode, out
}

// TestRoutesThatCannotDeliver runs `junction serve` (with its built-in
// webhook adapter registered) and saves, over REST and gRPC with the admin
// key: a webhook route with an ftp:// url (400 / InvalidArgument naming
// targets[0].config.url, nothing stored); a route to "salesforce", which
// no adapter serves (stored, the answer and later reads name it); then an
// event that route matches, whose delivery waits on the hub and is counted
// by junction_destination_unserved_deliveries{destination="salesforce"},
// while the served webhook destination shows 0.
func TestRoutesThatCannotDeliver(t *testing.T) {
	h := startHub(t, testConfig(t.TempDir()))
	routes := h.routes(t)
	ctx := context.Background()

	ftp := map[string]any{"filter": "acme.>", "targets": []any{map[string]any{"destination": "webhook", "config": map[string]any{"url": "ftp://files.example.com/in"}}}}
	code, body := h.adminDo(t, http.MethodPost, "/v1/routes?route_id=ftp", ftp)
	if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "targets[0].config.url") || !strings.Contains(msg, `scheme "ftp" is not allowed`) {
		t.Errorf("POST /v1/routes with an ftp:// webhook url: got %d %v, want 400 naming targets[0].config.url and the scheme", code, body)
	}
	_, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "nourl", Route: &junctionv1.Route{
		Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "webhook", Config: map[string]string{"uri": "https://example.com"}}},
	}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "targets[0].config.url: required") {
		t.Errorf("CreateRoute of a webhook route without url: %v, want InvalidArgument naming targets[0].config.url", err)
	}
	for _, id := range []string{"ftp", "nourl"} {
		if _, err := routes.GetRoute(ctx, &junctionv1.GetRouteRequest{Name: "routes/" + id}); status.Code(err) != codes.NotFound {
			t.Errorf("GetRoute %s after a refused create: %v, want NotFound", id, err)
		}
	}

	rc := newReceiver(t)
	createRoute(t, h, "hooks", rc.URL, nil)
	code, body = h.adminDo(t, http.MethodPost, "/v1/routes?route_id=leads", map[string]any{
		"filter":  "acme.user.created",
		"targets": []any{map[string]any{"destination": "salesforce", "config": map[string]any{"object": "Lead"}}},
	})
	if got := strs(body["unserved_destinations"]); code != http.StatusOK || !slices.Equal(got, []string{"salesforce"}) {
		t.Fatalf("POST /v1/routes to salesforce: got %d %v, want 200 with unserved_destinations [salesforce]", code, body)
	}
	// The built-in webhook adapter registers itself; salesforce stays
	// unserved.
	waitFor(t, 10*time.Second, "the webhook sink registered", func() error {
		list, err := routes.ListRoutes(ctx, &junctionv1.ListRoutesRequest{})
		if err != nil {
			return err
		}
		got := map[string][]string{}
		for _, r := range list.GetRoutes() {
			got[r.GetName()] = r.GetUnservedDestinations()
		}
		if len(got["routes/hooks"]) != 0 || !slices.Equal(got["routes/leads"], []string{"salesforce"}) {
			return fmt.Errorf("unserved destinations by route: %v", got)
		}
		return nil
	})

	// The webhook sink published its schema with its registration.
	resp, err := h.adminGet(t, "http://"+h.Addrs().HTTP+"/v1/adapters?app=webhook")
	if err != nil {
		t.Fatal(err)
	}
	var adapters struct {
		Adapters []struct {
			TargetSchema struct {
				Keys []struct {
					Name     string `json:"name"`
					Type     string `json:"type"`
					Required bool   `json:"required"`
				} `json:"keys"`
			} `json:"target_schema"`
		} `json:"adapters"`
	}
	err = json.NewDecoder(resp.Body).Decode(&adapters)
	resp.Body.Close()
	if err != nil || len(adapters.Adapters) != 1 || len(adapters.Adapters[0].TargetSchema.Keys) != 4 {
		t.Fatalf("GET /v1/adapters?app=webhook: %+v (err %v), want one adapter with the webhook's four target keys (url, headers, auth, body)", adapters, err)
	}
	if k := adapters.Adapters[0].TargetSchema.Keys[0]; k.Name != "url" || k.Type != "TYPE_URL" || !k.Required {
		t.Errorf("webhook target_schema key = %+v, want url, TYPE_URL, required", k)
	}

	postSigned(t, h, "msg_unserved_1", userCreated("pro", "u@example.com"), nil)
	waitFor(t, 30*time.Second, "the webhook delivery", func() error {
		if n := len(rc.deliveries()); n != 1 {
			return fmt.Errorf("receiver got %d deliveries", n)
		}
		return nil
	})
	unserved := map[string]string{"destination": "salesforce"}
	waitFor(t, 30*time.Second, "the salesforce delivery counted", func() error {
		fams := scrape(t, h)
		if got := value(fams, "junction_destination_unserved_deliveries", unserved); got != 1 {
			return fmt.Errorf("junction_destination_unserved_deliveries{destination=salesforce} = %v, want 1", got)
		}
		return nil
	})
	fams := scrape(t, h)
	if !hasSeries(fams, "junction_destination_unserved_deliveries", map[string]string{"destination": "webhook"}) {
		t.Errorf("junction_destination_unserved_deliveries has no series for the served webhook destination")
	} else if got := value(fams, "junction_destination_unserved_deliveries", map[string]string{"destination": "webhook"}); got != 0 {
		t.Errorf("junction_destination_unserved_deliveries{destination=webhook} = %v, want 0 (served)", got)
	}
	if f, ok := fams["junction_destination_unserved_deliveries"]; ok && len(f.GetMetric()) != 2 {
		t.Errorf("junction_destination_unserved_deliveries has %d series, want 2 (one per destination routes name)", len(f.GetMetric()))
	}
}

// strs is a JSON array of strings; nil for anything else or an empty one.
func strs(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, x := range arr {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
