package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestListAdapters(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	kv, err := e.js.KeyValue(ctx, topology.AdaptersBucket)
	if err != nil {
		t.Fatalf("adapters bucket: %v", err)
	}
	now := time.Now()
	beats := []*junctionv1.Adapter{
		{Name: "adapters/webhook.b", App: "webhook", Instance: "b", Health: junctionv1.Adapter_HEALTH_SERVING, LastSeenTime: timestamppb.New(now)},
		{Name: "adapters/slack.a", App: "slack", Instance: "a", Health: junctionv1.Adapter_HEALTH_NOT_SERVING, HealthDetail: "token rejected", LastSeenTime: timestamppb.New(now)},
		{Name: "adapters/webhook.a", App: "webhook", Instance: "a", Health: junctionv1.Adapter_HEALTH_SERVING, LastSeenTime: timestamppb.New(now.Add(-45 * time.Second))},
	}
	for _, a := range beats {
		raw, err := protojson.Marshal(a)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if _, err := kv.Put(ctx, topology.AdapterKey(a.App, a.Instance), raw); err != nil {
			t.Fatalf("put heartbeat: %v", err)
		}
	}
	// A heartbeat that went away is not listed.
	if _, err := kv.Put(ctx, topology.AdapterKey("gone", "x"), []byte(`{"app":"gone"}`)); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := kv.Delete(ctx, topology.AdapterKey("gone", "x")); err != nil {
		t.Fatalf("delete: %v", err)
	}

	type row struct {
		name   string
		health junctionv1.Adapter_Health
	}
	for _, tc := range []struct {
		app  string
		want []row
	}{
		{"", []row{
			{"adapters/slack.a", junctionv1.Adapter_HEALTH_NOT_SERVING},
			{"adapters/webhook.a", junctionv1.Adapter_HEALTH_STALE},
			{"adapters/webhook.b", junctionv1.Adapter_HEALTH_SERVING},
		}},
		{"webhook", []row{
			{"adapters/webhook.a", junctionv1.Adapter_HEALTH_STALE},
			{"adapters/webhook.b", junctionv1.Adapter_HEALTH_SERVING},
		}},
		{"nothing", nil},
	} {
		t.Run("app="+tc.app, func(t *testing.T) {
			resp, err := e.adapters.ListAdapters(ctx, &junctionv1.ListAdaptersRequest{App: tc.app})
			if err != nil {
				t.Fatalf("ListAdapters: %v", err)
			}
			var got []row
			for _, a := range resp.GetAdapters() {
				got = append(got, row{a.GetName(), a.GetHealth()})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("adapter %d: got %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}

	status, body := e.do(t, http.MethodGet, "/v1/adapters?app=slack", nil)
	list, _ := body["adapters"].([]any)
	if status != http.StatusOK || len(list) != 1 {
		t.Fatalf("GET /v1/adapters?app=slack: got %d %v, want one adapter", status, body)
	}
	if a, _ := list[0].(map[string]any); a["health"] != "HEALTH_NOT_SERVING" || a["health_detail"] != "token rejected" {
		t.Errorf("GET /v1/adapters: got %v, want health HEALTH_NOT_SERVING and its detail in snake_case", a)
	}
}
