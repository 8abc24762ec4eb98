package email_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/email"
	"github.com/junctionhq/junction/adapters/email/emailtest"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// config is an adapter config for s, the password in an environment
// variable.
func config(t *testing.T, s *emailtest.Server, auth string) email.Config {
	t.Setenv("TEST_SMTP_PASSWORD", s.Pass)
	port, _ := strconv.Atoi(s.Port)
	return email.Config{
		Host: s.Host, Port: port, CAFile: s.CAFile, Auth: auth,
		Username: s.User, PasswordEnv: "TEST_SMTP_PASSWORD",
		From: "Acme <noreply@acme.example>", TempFailDelay: time.Second, Timeout: 10 * time.Second,
	}
}

func newAdapter(t *testing.T, cfg email.Config) *email.Adapter {
	t.Helper()
	a, err := email.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func TestSinkConformance(t *testing.T) {
	conformance.RunSink(t, conformance.SinkCase{
		App: email.Spec.App,
		New: func(t *testing.T) (any, conformance.App) {
			s := emailtest.New(t)
			return newAdapter(t, config(t, s, email.AuthPlain)), s
		},
		Config: func(conformance.App) map[string]string {
			return map[string]string{
				"to":      "ops@example.com",
				"subject": "{{.event.type}} {{.payload.id}}",
				"text":    "Item {{.payload.id}} arrived.",
			}
		},
		PermanentStatus: 400, // the stand-in answers 554 5.6.0
	})
}

// delivery is a delivery to the email destination with target config cfg
// and payload.
func delivery(id string, cfg map[string]string, payload string) *junctionv1.Delivery {
	return &junctionv1.Delivery{
		Id: id, EventId: "evt_1", EventSource: "forms", EventType: "lead.created",
		RouteId: "welcome", Target: "mail", Destination: "email",
		Config: cfg, Payload: []byte(payload), ContentType: "application/json",
		CreateTime: timestamppb.New(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)),
	}
}

var welcome = map[string]string{
	"to":       `{{.payload.name}} <{{.payload.email}}>`,
	"cc":       "sales@acme.example",
	"bcc":      "audit@acme.example",
	"reply_to": "help@acme.example",
	"subject":  "Welcome, {{.payload.name}} — your trial",
	"text":     "Hello {{.payload.name}},\nyour plan: {{.payload.plan}}.",
	"html":     "<p>Hello {{.payload.name}}, your plan: <b>{{.payload.plan}}</b></p>",
}

const lead = `{"name":"Ada","email":"ada@example.com","plan":"<script>alert(1)</script>"}`

// TestSend sends a message with each auth mechanism (and over implicit
// TLS) and reads it back as
// the server got it: over TLS, authenticated, the envelope with bcc, the
// headers, both bodies, the HTML escaped and the text not.
func TestSend(t *testing.T) {
	for _, tt := range []struct {
		mech, tls string
	}{
		{email.AuthPlain, email.TLSStartTLS},
		{email.AuthLogin, email.TLSStartTLS},
		{email.AuthPlain, email.TLSImplicit},
	} {
		mech := tt.mech
		t.Run(tt.mech+" "+tt.tls, func(t *testing.T) {
			s := emailtest.New(t)
			if tt.tls == email.TLSImplicit {
				s = emailtest.NewImplicitTLS(t)
			}
			cfg := config(t, s, mech)
			cfg.TLS = tt.tls
			a := newAdapter(t, cfg)
			if err := a.Deliver(context.Background(), delivery("dlv_send", welcome, lead)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			msgs := s.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if !got.TLS || !strings.EqualFold(got.Mech, mech) {
				t.Errorf("session TLS=%v mech=%q, want TLS and %s", got.TLS, got.Mech, mech)
			}
			if got.From != "noreply@acme.example" {
				t.Errorf("MAIL FROM %q, want noreply@acme.example", got.From)
			}
			if want := []string{"ada@example.com", "sales@acme.example", "audit@acme.example"}; !slices.Equal(got.Recipients, want) {
				t.Errorf("RCPT TO %v, want %v", got.Recipients, want)
			}
			m, err := mail.ReadMessage(bytes.NewReader(got.Data))
			if err != nil {
				t.Fatalf("message does not parse: %v\n%s", err, got.Data)
			}
			subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
			for _, h := range []struct{ name, got, want string }{
				{"Message-ID", m.Header.Get("Message-Id"), "<dlv_send@acme.example>"},
				{"X-Junction-Delivery-Id", m.Header.Get("X-Junction-Delivery-Id"), "dlv_send"},
				{"To", m.Header.Get("To"), `"Ada" <ada@example.com>`},
				{"Cc", m.Header.Get("Cc"), "<sales@acme.example>"},
				{"Bcc", m.Header.Get("Bcc"), ""},
				{"Reply-To", m.Header.Get("Reply-To"), "<help@acme.example>"},
				{"Subject", subject, "Welcome, Ada — your trial"},
				{"Date", m.Header.Get("Date"), "Mon, 07 Dec 2026 01:00:00 +0000"},
			} {
				if h.got != h.want {
					t.Errorf("%s = %q, want %q", h.name, h.got, h.want)
				}
			}
			parts := bodies(t, m)
			if want := "Hello Ada,\r\nyour plan: <script>alert(1)</script>."; parts["text/plain"] != want {
				t.Errorf("text body %q, want %q", parts["text/plain"], want)
			}
			if want := "<p>Hello Ada, your plan: <b>&lt;script&gt;alert(1)&lt;/script&gt;</b></p>"; parts["text/html"] != want {
				t.Errorf("html body %q, want %q (values escaped)", parts["text/html"], want)
			}
		})
	}
}

// bodies returns a message's decoded parts by media type.
func bodies(t *testing.T, m *mail.Message) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", m.Header.Get("Content-Type"))
	}
	out := map[string]string{}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[pt] = string(b)
	}
}

// TestRetryIsTheSameMessage: a delivery refused with a 4xx and sent again
// is the same message, byte for byte, so the receiver can tell.
func TestRetryIsTheSameMessage(t *testing.T) {
	s := emailtest.New(t)
	s.Script(conformance.Answer{Status: 503}, conformance.Answer{})
	a := newAdapter(t, config(t, s, email.AuthPlain))
	d := delivery("dlv_retry", welcome, lead)
	err := a.Deliver(context.Background(), d)
	if err == nil || sdk.IsPermanent(err) {
		t.Fatalf("first attempt: %v, want a retryable error", err)
	}
	if err := a.Deliver(context.Background(), d); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	msgs := s.Messages()
	if len(msgs) != 2 || !bytes.Equal(msgs[0].Data, msgs[1].Data) {
		t.Fatalf("got %d messages, want 2 identical ones", len(msgs))
	}
}

// TestErrors classifies each failure: what error, permanent or retried,
// and the retry's least delay.
func TestErrors(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()
	for _, tt := range []struct {
		name      string
		setup     func(s *emailtest.Server, cfg *email.Config, target map[string]string)
		payload   string
		permanent bool
		delay     time.Duration // the RetryAfter delay, for retryable replies
		want      string        // in the error
	}{
		{name: "recipient unknown", setup: func(s *emailtest.Server, _ *email.Config, _ map[string]string) {
			s.RejectRcpt("ada@example.com", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
		}, permanent: true, want: "recipient ada@example.com rejected: server replied 550 5.1.1 no such user"},
		{name: "recipient mailbox busy", setup: func(s *emailtest.Server, _ *email.Config, _ map[string]string) {
			s.RejectRcpt("ada@example.com", &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy"})
		}, delay: time.Second, want: "server replied 450 4.2.1 mailbox busy"},
		{name: "message rejected 5xx", setup: func(s *emailtest.Server, _ *email.Config, _ map[string]string) {
			s.Script(conformance.Answer{Status: 400})
		}, permanent: true, want: "server replied 554 5.6.0 message content rejected"},
		{name: "greylisted 4xx", setup: func(s *emailtest.Server, _ *email.Config, _ map[string]string) {
			s.Script(conformance.Answer{Status: 429})
		}, delay: time.Second, want: "server replied 450 4.7.1"},
		{name: "wrong password", setup: func(s *emailtest.Server, _ *email.Config, _ map[string]string) {
			s.Pass = "other"
		}, permanent: true, want: "smtp auth: server replied 535 5.7.8"},
		{name: "server down", setup: func(_ *emailtest.Server, cfg *email.Config, _ map[string]string) {
			cfg.Port = closedPort
		}, want: "connect to"},
		{name: "certificate not trusted", setup: func(_ *emailtest.Server, cfg *email.Config, _ map[string]string) {
			cfg.CAFile = ""
		}, want: "certificate signed by unknown authority"},
		{name: "missing payload key", setup: func(_ *emailtest.Server, _ *email.Config, target map[string]string) {
			target["subject"] = "{{.payload.nope}}"
		}, permanent: true, want: `target config subject: template: subject:1:10: executing "subject" at <.payload.nope>: map has no entry for key "nope"`},
		{name: "bad template", setup: func(_ *emailtest.Server, _ *email.Config, target map[string]string) {
			target["text"] = "{{.payload.name"
		}, permanent: true, want: "target config text: template: text:1: unclosed action"},
		{name: "to not an address", setup: func(_ *emailtest.Server, _ *email.Config, target map[string]string) {
			target["to"] = "{{.payload.name}}"
		}, permanent: true, want: `target config to: rendered to "Ada", not an address list`},
		{name: "no body", setup: func(_ *emailtest.Server, _ *email.Config, target map[string]string) {
			delete(target, "text")
			delete(target, "html")
		}, permanent: true, want: "set text, html or both"},
		{name: "subject header injection", setup: func(_ *emailtest.Server, _ *email.Config, target map[string]string) {
			target["subject"] = "hi\nBcc: victim@example.com"
		}, permanent: true, want: "subject: rendered to more than one line"},
		{name: "outside allowed domains", setup: func(_ *emailtest.Server, cfg *email.Config, _ map[string]string) {
			cfg.AllowedDomains = []string{"acme.example"}
		}, permanent: true, want: "recipient ada@example.com is outside the adapter's allowed_domains"},
		{name: "unknown target key", setup: func(_ *emailtest.Server, _ *email.Config, target map[string]string) {
			target["Subject"] = "x"
		}, permanent: true, want: `did you mean "subject"?`},
		{name: "payload not JSON", payload: "{", permanent: true, want: "payload is not JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := emailtest.New(t)
			cfg := config(t, s, email.AuthPlain)
			target := map[string]string{"to": welcome["to"], "subject": welcome["subject"], "text": welcome["text"], "html": welcome["html"]}
			if tt.setup != nil {
				tt.setup(s, &cfg, target)
			}
			payload := lead
			if tt.payload != "" {
				payload = tt.payload
			}
			err := newAdapter(t, cfg).Deliver(context.Background(), delivery("dlv_err", target, payload))
			if err == nil {
				t.Fatal("Deliver = nil, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if got := sdk.IsPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v (error %v)", got, tt.permanent, err)
			}
			if d, _ := sdk.RetryDelay(err); d != tt.delay {
				t.Errorf("retry delay %v, want %v", d, tt.delay)
			}
			if strings.Contains(err.Error(), s.Pass) {
				t.Errorf("error %q names the password", err)
			}
		})
	}
}

// TestConfig: each config mistake is refused with what to fix, and the
// password is read from a file as well as from the environment.
func TestConfig(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		cfg  email.Config
		want string // "" for valid
	}{
		{"valid with file", email.Config{Host: "smtp.example.com", Username: "u", PasswordFile: pwFile}, ""},
		{"valid without auth", email.Config{Host: "relay.local", TLS: email.TLSNone}, ""},
		{"no host", email.Config{}, "adapter.host is required"},
		{"bad tls", email.Config{Host: "h", TLS: "ssl"}, `adapter.tls "ssl" must be starttls, implicit or none`},
		{"bad auth", email.Config{Host: "h", Auth: "cram-md5"}, `adapter.auth "cram-md5" must be plain, login or none`},
		{"auth without password", email.Config{Host: "h", Username: "u"}, "needs password_env"},
		{"auth in clear", email.Config{Host: "h", Username: "u", PasswordFile: pwFile, TLS: email.TLSNone}, "adapter.tls none cannot be used with auth"},
		{"both password sources", email.Config{Host: "h", Username: "u", PasswordFile: pwFile, PasswordEnv: "X"}, "set only one of password_env and password_file"},
		{"bad from", email.Config{Host: "h", From: "not an address"}, "adapter.from"},
		{"empty password env", email.Config{Host: "h", Username: "u", PasswordEnv: "TEST_SMTP_EMPTY"}, "environment variable TEST_SMTP_EMPTY is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TEST_SMTP_EMPTY", "")
			_, err := email.New(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestNoDowngrade: with tls starttls (the default), a server that does
// not offer STARTTLS gets no credentials and no message.
func TestNoDowngrade(t *testing.T) {
	s := emailtest.NewWithoutTLS(t)
	cfg := config(t, s, email.AuthPlain)
	cfg.CAFile = ""
	err := newAdapter(t, cfg).Deliver(context.Background(), delivery("dlv_plain", welcome, lead))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "starttls") {
		t.Fatalf("Deliver = %v, want an error about STARTTLS", err)
	}
	if n, m := s.Auths(), len(s.Messages()); n != 0 || m != 0 {
		t.Errorf("server got %d AUTH commands and %d messages, want none", n, m)
	}
}
