package hub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/examples/ticketdesk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// The documentation's example adapter stands in for the app adapters in
// these tests: a real adapter with its own signature scheme.
func init() { registerApp(ticketdesk.Spec, ticketdesk.New) }

const ticketdeskSecret = "td-secret-for-the-apps-test"

// withSourceApp adds a `sources:` entry for app with config (YAML).
func withSourceApp(t *testing.T, cfg Config, app, config string) Config {
	t.Helper()
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(config), &node); err != nil {
		t.Fatal(err)
	}
	cfg.Sources = append(cfg.Sources, SourceApp{App: app, Config: *node.Content[0]})
	return cfg
}

// withTicketdesk adds a `sources:` entry for the example adapter.
func withTicketdesk(t *testing.T, cfg Config, config string) Config {
	t.Helper()
	var node yaml.Node
	if config != "" {
		if err := yaml.Unmarshal([]byte(config), &node); err != nil {
			t.Fatal(err)
		}
		node = *node.Content[0]
	}
	cfg.Sources = append(cfg.Sources, SourceApp{App: "ticketdesk", Config: node})
	return cfg
}

// deskSign signs body as Ticket Desk does.
func deskSign(body []byte, at time.Time) string {
	ts := fmt.Sprint(at.Unix())
	mac := hmac.New(sha256.New, []byte(ticketdeskSecret))
	fmt.Fprintf(mac, "%s.%s", ts, body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

func TestSourceAppTakesItsWebhooksInsideServe(t *testing.T) {
	t.Setenv("TICKETDESK_WEBHOOK_SECRET", ticketdeskSecret)
	h := startHub(t, withTicketdesk(t, testConfig(t.TempDir()), "tolerance: 2m"))
	post := func(body []byte, sig string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addrs().HTTP+"/webhooks/ticketdesk", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Desk-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	body := []byte(`{"id":"tkt_1","event":"ticket.opened","priority":"high"}`)

	if code, b := post(body, deskSign(body, time.Now().Add(-time.Hour))); code != http.StatusUnauthorized && code != http.StatusBadRequest {
		t.Fatalf("a stale signature answered %d %s, want a 4xx from the app adapter", code, b)
	}
	if code, b := post(body, deskSign(body, time.Now())); code != http.StatusAccepted {
		t.Fatalf("a signed Ticket Desk webhook answered %d %s, want 202", code, b)
	}
	ev, err := h.events(t).GetEvent(context.Background(), &junctionv1.GetEventRequest{Name: "events/tkt_1", Source: "ticketdesk"})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	if got := ev.GetEvent().GetType(); got != "ticket.opened" {
		t.Errorf("stored type %q, want ticket.opened", got)
	}
	if got := ev.GetEvent().GetSource(); got != "ticketdesk" {
		t.Errorf("stored source %q, want ticketdesk", got)
	}
	// The generic webhook adapter keeps its sources.
	if resp := h.sendWebhook(t, "msg_generic_1", userCreated("free", "a@example.com")); resp.StatusCode/100 != 2 {
		t.Errorf("the generic webhook source answered %d beside the app", resp.StatusCode)
	}
	// The app registers like a standalone adapter does.
	waitFor(t, 30*time.Second, "ready with the app adapter", func() error { return h.Ready() })
}

func TestSourcesConfigErrorsSayWhatToFix(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(Config) Config
		config string
		want   string
	}{
		{name: "unknown app", edit: func(c Config) Config {
			c.Sources = []SourceApp{{App: "salesforce"}}
			return c
		}, want: `sources[0]: unknown app "salesforce": serve runs`},
		{name: "no app", edit: func(c Config) Config {
			c.Sources = []SourceApp{{}}
			return c
		}, want: "sources[0]: app is required"},
		{name: "twice", edit: func(c Config) Config {
			c.Sources = []SourceApp{{App: "ticketdesk"}, {App: "ticketdesk"}}
			return c
		}, want: `sources[1]: app "ticketdesk" is listed twice`},
		{name: "clash with a webhook source", edit: func(c Config) Config {
			c.Webhook.Sources[0].Name = "ticketdesk"
			c.Sources = []SourceApp{{App: "ticketdesk"}}
			return c
		}, want: "also a source of the generic webhook adapter"},
		{name: "misspelt key", config: "tolerence: 5m", want: "sources[0] (ticketdesk): config:"},
		{name: "invalid value", config: "tolerance: -5m", want: "adapter.tolerance -5m0s must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			if tc.edit != nil {
				cfg = tc.edit(cfg)
			} else {
				cfg = withTicketdesk(t, cfg, tc.config)
			}
			cfg.SetDefaults()
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestSourcesLoadFromYAML(t *testing.T) {
	var cfg Config
	src := "sources:\n  - app: ticketdesk\n    config:\n      secret_env: DESK_SECRET\n      tolerance: 90s\n"
	if err := yaml.Unmarshal([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sources) != 1 || cfg.Sources[0].App != "ticketdesk" {
		t.Fatalf("sources = %+v, want one ticketdesk entry", cfg.Sources)
	}
	var c ticketdesk.Config
	if err := decodeNode(&cfg.Sources[0].Config, &c); err != nil {
		t.Fatal(err)
	}
	if c.SecretEnv != "DESK_SECRET" || c.Tolerance != 90*time.Second {
		t.Errorf("decoded %+v, want secret_env DESK_SECRET and tolerance 90s", c)
	}
}
