package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
)

// credCanary is a secret no error, log line or answer may hold.
const credCanary = "credCanary-s3cret-5f2e9a71"

// credConfig is testConfig with a credential of each kind, their
// secrets in the environment and a file, all the credCanary.
func credConfig(t *testing.T) Config {
	t.Helper()
	t.Setenv("TEST_CRM_TOKEN", credCanary)
	t.Setenv("TEST_BILLING_KEY", credCanary)
	file := filepath.Join(t.TempDir(), "erp")
	if err := os.WriteFile(file, []byte(credCanary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Outbound.Credentials = map[string]Credential{
		"crm":     {BearerEnv: "TEST_CRM_TOKEN"},
		"erp":     {Username: "junction", PasswordFile: file},
		"billing": {Header: "X-API-Key", KeyEnv: "TEST_BILLING_KEY"},
	}
	return cfg
}

// TestDeliverTargetOptions sends through a real receiver with each auth
// kind, extra headers and each body mode, and checks what arrived: the
// headers, the credential, the Standard Webhooks signature over the body
// sent, and the CloudEvent as sdk-go reads it.
func TestDeliverTargetOptions(t *testing.T) {
	var logs bytes.Buffer
	a, err := NewWithOptions(credConfig(t), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("junction:"+credCanary))
	eventTime := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		cfg         map[string]string
		contentType string
		wantHeaders map[string]string
		absent      []string
		wantBody    string // "" when the body is a structured CloudEvent
		ceMode      string // "", "structured" or "binary"
	}{
		{"json default, bearer", map[string]string{"auth": "crm", "headers": "X-Tenant: acme\nx-source:  junction "},
			"", map[string]string{"Authorization": "Bearer " + credCanary, "X-Tenant": "acme", "X-Source": "junction", "Content-Type": "application/json"},
			nil, `{"hello":"world"}`, ""},
		{"json explicit, basic", map[string]string{"auth": "erp", "body": "json"},
			"", map[string]string{"Authorization": basic}, []string{"Ce-Id"}, `{"hello":"world"}`, ""},
		{"api key header, no auth header", map[string]string{"auth": "billing"},
			"", map[string]string{"X-Api-Key": credCanary}, []string{"Authorization"}, `{"hello":"world"}`, ""},
		{"no auth", nil, "", nil, []string{"Authorization", "X-Api-Key"}, `{"hello":"world"}`, ""},
		{"cloudevent structured", map[string]string{"body": "cloudevent-structured", "auth": "crm"},
			"", map[string]string{"Content-Type": "application/cloudevents+json", "Authorization": "Bearer " + credCanary}, []string{"Ce-Id"}, "", "structured"},
		{"cloudevent binary", map[string]string{"body": "cloudevent-binary", "headers": "X-Tenant: acme"},
			"application/vnd.acme+json", map[string]string{"Content-Type": "application/vnd.acme+json", "Ce-Id": "evt_1", "Ce-Specversion": "1.0", "X-Tenant": "acme"}, nil, `{"hello":"world"}`, "binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			d := testDelivery(rc.srv.URL + "/hook")
			d.EventTime = timestamppb.New(eventTime)
			d.ContentType = tc.contentType
			for k, v := range tc.cfg {
				d.Config[k] = v
			}
			if err := Spec.Targets.Check(d.Config); err != nil {
				t.Fatalf("the target config is refused by the schema: %v", err)
			}
			if err := a.Deliver(context.Background(), d); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			reqs := rc.requests()
			if len(reqs) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.verified != nil {
				t.Errorf("Standard Webhooks verification of the body sent failed: %v", got.verified)
			}
			for k, want := range tc.wantHeaders {
				if v := got.header.Get(k); v != want {
					t.Errorf("header %s = %q, want %q", k, v, want)
				}
			}
			for _, k := range tc.absent {
				if v := got.header.Get(k); v != "" {
					t.Errorf("header %s = %q, want none", k, v)
				}
			}
			if got.header.Get("webhook-id") != "dlv_123" || got.header.Get(HeaderEventID) != "evt_1" {
				t.Errorf("signature headers lost: webhook-id %q, %s %q", got.header.Get("webhook-id"), HeaderEventID, got.header.Get(HeaderEventID))
			}
			if tc.wantBody != "" && got.body != tc.wantBody {
				t.Errorf("body %q, want %q", got.body, tc.wantBody)
			}
			if tc.ceMode == "" {
				return
			}
			r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(got.body))
			r.Header = got.header
			ev, err := cehttp.NewEventFromHTTPRequest(r)
			if err != nil {
				t.Fatalf("sdk-go cannot read the %s CloudEvent: %v", tc.ceMode, err)
			}
			if err := ev.Validate(); err != nil {
				t.Errorf("CloudEvent invalid: %v", err)
			}
			if ev.ID() != "evt_1" || ev.Source() != "acme" || ev.Type() != "user.created" || !ev.Time().Equal(eventTime) {
				t.Errorf("CloudEvent id %q source %q type %q time %v, want evt_1 acme user.created %v", ev.ID(), ev.Source(), ev.Type(), ev.Time(), eventTime)
			}
			if string(ev.Data()) != `{"hello":"world"}` {
				t.Errorf("CloudEvent data %q, want the delivery payload", ev.Data())
			}
			if v, _ := ev.Extensions()[CloudEventDeliveryID].(string); v != "dlv_123" {
				t.Errorf("extension %s = %v, want dlv_123", CloudEventDeliveryID, ev.Extensions()[CloudEventDeliveryID])
			}
			if v, _ := ev.Extensions()[CloudEventRoute].(string); v != "r1" {
				t.Errorf("extension %s = %v, want r1", CloudEventRoute, ev.Extensions()[CloudEventRoute])
			}
		})
	}
	if strings.Contains(logs.String(), credCanary) {
		t.Errorf("logs hold the credential:\n%s", logs.String())
	}
}

// TestDeliverTargetRefused: a credential the adapter lacks, and target
// configs saved before the schema checked them, are dead-lettered with
// the reason and nothing is sent; no error holds a secret.
func TestDeliverTargetRefused(t *testing.T) {
	a := newTestAdapter(t, credConfig(t))
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"unknown credential", map[string]string{"auth": "payroll"}, `target auth "payroll" names no credential in the webhook adapter's outbound.credentials (it has billing, crm, erp)`},
		{"header clashes with the credential", map[string]string{"auth": "billing", "headers": "X-API-Key: " + credCanary}, "target headers set X-Api-Key, which credential \"billing\" sets"},
		{"authorization in headers", map[string]string{"headers": "Authorization: Bearer " + credCanary}, "headers: Authorization is set by the adapter"},
		{"signature header", map[string]string{"headers": "webhook-signature: v1,xyz"}, "headers: Webhook-Signature is set by the adapter"},
		{"ce header", map[string]string{"headers": "ce-id: x"}, "headers: Ce-Id is set by the adapter"},
		{"bad header name", map[string]string{"headers": "X Tenant: acme"}, `headers: line 1: "X Tenant" is not a valid header name`},
		{"no colon", map[string]string{"headers": "X-Tenant acme"}, `headers: line 1 has no ":"`},
		{"twice", map[string]string{"headers": "X-A: 1\nx-a: 2"}, "headers: X-A is given twice"},
		{"unknown body", map[string]string{"body": "xml"}, `body: must be one of "json", "cloudevent-structured", "cloudevent-binary"`},
		{"secret as auth", map[string]string{"auth": "Bearer " + credCanary}, "auth: must name a credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t)
			d := testDelivery(rc.srv.URL + "/hook")
			for k, v := range tc.cfg {
				d.Config[k] = v
			}
			err := a.Deliver(context.Background(), d)
			if err == nil || !sdk.IsPermanent(err) {
				t.Fatalf("Deliver = %v, want a permanent error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), credCanary) {
				t.Errorf("error %q holds the secret", err)
			}
			if n := len(rc.requests()); n != 0 {
				t.Errorf("receiver got %d requests, want 0", n)
			}
		})
	}
}

// TestCredentialsConfig: bad outbound.credentials are refused at start,
// naming the entry and never a secret.
func TestCredentialsConfig(t *testing.T) {
	t.Setenv("TEST_CRED", credCanary)
	for _, tc := range []struct {
		name  string
		creds map[string]Credential
		want  string
	}{
		{"two kinds", map[string]Credential{"crm": {BearerEnv: "TEST_CRED", Header: "X-Key", KeyEnv: "TEST_CRED"}}, "outbound.credentials.crm: set exactly one of"},
		{"none", map[string]Credential{"crm": {}}, "outbound.credentials.crm: set exactly one of"},
		{"bearer env and file", map[string]Credential{"crm": {BearerEnv: "A", BearerFile: "/b"}}, "set only one of bearer_env and bearer_file"},
		{"basic without password", map[string]Credential{"erp": {Username: "u"}}, "basic auth needs one of password_env and password_file"},
		{"bad header", map[string]Credential{"k": {Header: "X Key", KeyEnv: "TEST_CRED"}}, "header must be a valid header name"},
		{"reserved header", map[string]Credential{"k": {Header: "webhook-signature", KeyEnv: "TEST_CRED"}}, "header Webhook-Signature is set by the adapter"},
		{"bad name", map[string]Credential{"CRM Token": {BearerEnv: "TEST_CRED"}}, `outbound.credentials: name "CRM Token"`},
		{"unset variable", map[string]Credential{"crm": {BearerEnv: "TEST_CRED_UNSET"}}, "outbound.credentials.crm: environment variable TEST_CRED_UNSET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Outbound.Credentials = tc.creds
			_, err := NewWithOptions(cfg, WithLogger(discardLogger()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), credCanary) {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

// TestTargetSchemaRefuses: the keys the schema and CheckTarget refuse when
// a route is saved.
func TestTargetSchemaRefuses(t *testing.T) {
	url := "https://example.com/hook"
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want string // "" accepted
	}{
		{"all options", map[string]string{"url": url, "auth": "crm", "headers": "X-Tenant: acme", "body": "cloudevent-binary"}, ""},
		{"bad body", map[string]string{"url": url, "body": "cloudevent"}, "body: must be one of"},
		{"misspelt key", map[string]string{"url": url, "header": "X-A: 1"}, `did you mean "headers"?`},
		{"authorization header", map[string]string{"url": url, "headers": "Authorization: Basic x"}, "headers: Authorization is set by the adapter"},
		{"bad auth name", map[string]string{"url": url, "auth": "a b"}, "auth: must name a credential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Spec.Targets.Check(tc.cfg)
			if err == nil {
				err = CheckTarget(tc.cfg)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
