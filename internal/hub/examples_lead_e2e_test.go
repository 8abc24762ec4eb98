package hub

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junctionhq/junction/adapters/email/emailtest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestExampleLeadToCRMAndEmail runs examples/lead-to-crm-and-email: the
// landing-page submission of lead.json, signed as the form's backend signs
// it (hex HMAC-SHA256 in X-Signature), posted to the generic webhook
// source forms, becomes a HubSpot contact at the stand-in and a welcome
// email at a real SMTP server (go-smtp, STARTTLS and auth) at once, and a
// follow-up email after the target's delay: the route file's 48h, made
// the shortest allowed (1s) for the test. The follow-up's records show it
// scheduled, due the delay after the event came in, and first attempted
// no sooner.
func TestExampleLeadToCRMAndEmail(t *testing.T) {
	const flow = "lead-to-crm-and-email"
	const secret = "forms-e2e-secret-9f8e7d"
	t.Setenv("FORMS_WEBHOOK_SECRET", secret)
	api := exampleHubSpot(t)
	smtpd := emailtest.New(t)
	t.Setenv("SMTP_USERNAME", smtpd.User)
	t.Setenv("SMTP_PASSWORD", smtpd.Pass)
	port, err := strconv.Atoi(smtpd.Port)
	if err != nil {
		t.Fatal(err)
	}
	h := startHub(t, loadExample(t, flow, func(c *Config) {
		useHubSpot(t, c, api)
		setAppConfig(t, c, "email", "host", smtpd.Host)
		setAppConfig(t, c, "email", "port", port)
		setAppConfig(t, c, "email", "ca_file", smtpd.CAFile)
	}))
	applyExampleRoutes(t, h, flow, "delay: 48h", "delay: 1s")

	body := exampleFile(t, flow, "lead.json")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if code, b := h.postApp(t, "forms", body, map[string]string{"X-Signature": "sha256=" + hex.EncodeToString(mac.Sum(nil))}); code != http.StatusAccepted {
		t.Fatalf("the signed submission answered %d %s, want 202", code, b)
	}
	if code, _ := h.postApp(t, "forms", body, map[string]string{"X-Signature": "sha256=" + strings.Repeat("0", 64)}); code != http.StatusUnauthorized {
		t.Errorf("a wrongly signed submission answered %d, want 401", code)
	}
	const id = "sub_8f2k1q"
	delivered := junctionv1.DeliveryState_DELIVERY_STATE_DELIVERED
	got := h.eventDeliveries(t, id, map[string]junctionv1.DeliveryState{"crm": delivered, "welcome": delivered, "follow-up": delivered})
	checkScheduledThenAttempted(t, got["follow-up"], h.receiveTime(t, id), time.Second)
	for _, target := range []string{"crm", "welcome"} {
		if as := got[target].GetAttempts(); len(as) == 0 || as[0].GetOutcome() == junctionv1.DeliveryState_DELIVERY_STATE_SCHEDULED {
			t.Errorf("%s records %v, want an immediate attempt, not a scheduled one", target, as)
		}
	}

	checkContact(t, api, "dana@example.com", map[string]string{
		"email": "dana@example.com", "firstname": "Dana", "lastname": "Okafor", "company": "Northwind Traders", "lifecyclestage": "lead",
	})

	msgs := smtpd.Messages()
	if len(msgs) != 2 {
		t.Fatalf("SMTP server got %d messages, want 2 (welcome and follow-up)", len(msgs))
	}
	bySubject := map[string]*mail.Message{}
	for _, m := range msgs {
		if !m.TLS || m.Mech != "PLAIN" || !slices.Equal(m.Recipients, []string{"dana@example.com"}) {
			t.Errorf("message over TLS=%v auth %q to %v, want STARTTLS, PLAIN, dana@example.com", m.TLS, m.Mech, m.Recipients)
		}
		pm, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatalf("message does not parse: %v", err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
		bySubject[subject] = pm
		if id := pm.Header.Get("X-Junction-Delivery-Id"); !strings.HasPrefix(id, "dlv_") || pm.Header.Get("Message-Id") != "<"+id+"@acme.example>" {
			t.Errorf("%q: Message-ID %q, delivery id %q, want <delivery id@acme.example>", subject, pm.Header.Get("Message-Id"), id)
		}
	}
	for subject, want := range map[string][]string{
		"Welcome to Acme, Dana":                    {"Hello Dana,", "Do you offer <b>volume</b> pricing?", "<blockquote>Do you offer &lt;b&gt;volume&lt;/b&gt; pricing?</blockquote>"},
		"Dana, shall we set up Northwind Traders?": {"https://acme.example/setup?ref=sub_8f2k1q"},
	} {
		m := bySubject[subject]
		if m == nil {
			t.Errorf("no message with subject %q; got %v", subject, slices.Collect(maps.Keys(bySubject)))
			continue
		}
		if to := m.Header.Get("To"); to != `"Dana Okafor" <dana@example.com>` && to != "Dana Okafor <dana@example.com>" {
			t.Errorf("%q: To %q, want Dana Okafor <dana@example.com>", subject, to)
		}
		raw := messageText(t, m)
		for _, w := range want {
			if !strings.Contains(raw, w) {
				t.Errorf("%q: body lacks %q:\n%s", subject, w, raw)
			}
		}
	}
}

// messageText is the decoded text of every part of m, one after another.
func messageText(t *testing.T, m *mail.Message) string {
	t.Helper()
	var out strings.Builder
	var walk func(ctype, encoding string, r io.Reader)
	walk = func(ctype, encoding string, r io.Reader) {
		media, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatalf("Content-Type %q: %v", ctype, err)
		}
		if strings.HasPrefix(media, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("multipart: %v", err)
				}
				walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
			}
		}
		switch strings.ToLower(encoding) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		out.Write(b)
		out.WriteString("\n")
	}
	walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return out.String()
}
