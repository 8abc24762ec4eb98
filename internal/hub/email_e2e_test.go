package hub

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/junctionhq/junction/adapters/email/emailtest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestEmailDestinationEndToEnd: a generic webhook posted to serve and
// routed to the email destination run inside serve reaches a real SMTP
// server over STARTTLS with auth, rendered from the route's templates;
// a route leaving out a required key of the email target is refused.
func TestEmailDestinationEndToEnd(t *testing.T) {
	smtpd := emailtest.New(t)
	t.Setenv("E2E_SMTP_PASSWORD", smtpd.Pass)
	cfg := withSourceApp(t, testConfig(t.TempDir()), "email", fmt.Sprintf(`
host: %s
port: %s
ca_file: %s
username: %s
password_env: E2E_SMTP_PASSWORD
from: Acme <noreply@acme.example>
`, smtpd.Host, smtpd.Port, smtpd.CAFile, smtpd.User))
	h := startHub(t, cfg)
	routes := h.routes(t)
	ctx := context.Background()

	// The email adapter's target schema is known once it registered: a
	// route without a subject is refused, naming the key.
	waitFor(t, 30*time.Second, "a route without subject refused", func() error {
		_, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "broken-mail", Route: &junctionv1.Route{
			Filter:  "acme.user.created",
			Targets: []*junctionv1.Target{{Name: "mail", Destination: "email", Config: map[string]string{"to": "a@example.com", "text": "x"}}},
		}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "subject") {
			_, _ = routes.DeleteRoute(ctx, &junctionv1.DeleteRouteRequest{Name: "routes/broken-mail"})
			return fmt.Errorf("CreateRoute = %v, want InvalidArgument naming subject", err)
		}
		return nil
	})

	created, err := routes.CreateRoute(ctx, &junctionv1.CreateRouteRequest{RouteId: "welcome-mail", Route: &junctionv1.Route{
		Filter: "acme.user.created",
		Targets: []*junctionv1.Target{{Name: "welcome", Destination: "email", Config: map[string]string{
			"to":      "{{.payload.data.first_name}} {{.payload.data.last_name}} <{{.payload.data.email}}>",
			"bcc":     "crm@acme.example",
			"subject": "Welcome to {{.payload.data.company}}, {{.payload.data.first_name}}",
			"text":    "Your plan: {{.payload.data.plan}}",
			"html":    "<p>Your plan: <b>{{.payload.data.plan}}</b></p>",
		}}},
	}})
	if err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	h.routeApplied(t, created.GetRoute().GetRevision())
	if resp := h.sendWebhook(t, "msg_mail_1", userCreated("<i>pro</i>", "alex@example.com")); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d, want 2xx", resp.StatusCode)
	}
	waitFor(t, 30*time.Second, "the message at the SMTP server", func() error {
		if n := len(smtpd.Messages()); n < 1 {
			return fmt.Errorf("%d messages", n)
		}
		return nil
	})
	msgs := smtpd.Messages()
	if len(msgs) != 1 {
		t.Fatalf("SMTP server got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if !got.TLS || got.Mech != "PLAIN" {
		t.Errorf("session TLS=%v mech=%q, want STARTTLS and PLAIN", got.TLS, got.Mech)
	}
	if want := []string{"alex@example.com", "crm@acme.example"}; !slices.Equal(got.Recipients, want) {
		t.Errorf("recipients %v, want %v", got.Recipients, want)
	}
	m, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatalf("message does not parse: %v", err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subject != "Welcome to Acme Corp, Alex" {
		t.Errorf("Subject %q, want %q", subject, "Welcome to Acme Corp, Alex")
	}
	id := m.Header.Get("X-Junction-Delivery-Id")
	if !strings.HasPrefix(id, "dlv_") || m.Header.Get("Message-Id") != "<"+id+"@acme.example>" {
		t.Errorf("Message-ID %q, delivery id %q: want <delivery id@acme.example>", m.Header.Get("Message-Id"), id)
	}
	if !strings.Contains(string(got.Data), "&lt;i&gt;pro&lt;/i&gt;") {
		t.Errorf("message has no escaped plan in its HTML part:\n%s", got.Data)
	}
}

// TestDestinationAppsConfigErrors: serve refuses a destination app's
// config at start, saying what to fix.
func TestDestinationAppsConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, app, config, want string
	}{
		{"email without host", "email", "from: a@example.com", "sources[0] (email): config: adapter.host is required"},
		{"email misspelt key", "email", "hostname: smtp.example.com", "field hostname not found"},
		{"email auth in clear", "email", "host: h\ntls: none\nusername: u\npassword_env: P", "adapter.tls none cannot be used with auth"},
		{"postgres two dsn sources", "postgres", "dsn_env: A\ndsn_file: /b", "sources[0] (postgres): config: adapter: set only one of dsn_env and dsn_file"},
		{"postgres misspelt key", "postgres", "create_table: true", "field create_table not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withSourceApp(t, testConfig(t.TempDir()), tc.app, tc.config)
			cfg.SetDefaults()
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
