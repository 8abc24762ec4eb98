package verify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/verify"
)

// The examples sign requests the way each provider documents it, with
// nothing but crypto/hmac, and verify them with a few lines of config.

// at is the fixed clock of the examples.
var at = time.Unix(1700000000, 0)

func clock() time.Time { return at }

func mac(secret, content string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(content))
	return m.Sum(nil)
}

func post(url, body string, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// Stripe signs "<t>.<body>" and sends "t=<t>,v1=<hex>" in Stripe-Signature;
// during a secret roll it sends one v1 per secret.
func ExampleHMAC_stripe() {
	const secret = "whsec_stripe_test_secret"
	body := `{"id":"evt_1","type":"customer.created"}`
	ts := strconv.FormatInt(at.Unix(), 10)
	sig := hex.EncodeToString(mac(secret, ts+"."+body))
	r := post("https://hooks.example.com/webhooks/stripe", body,
		"Stripe-Signature", "t="+ts+",v1="+sig+",v0=ignored")

	stripe := &verify.HMAC{
		Header:   "Stripe-Signature",
		Secrets:  []string{secret},
		Parse:    verify.Fields("t", "v1"),
		Signed:   []verify.Part{verify.Timestamp, verify.Literal("."), verify.Body},
		SignedAs: `"<t>.<body>"`,
		Now:      clock,
	}
	fmt.Println(stripe.Verify(r, []byte(body)))

	stripe.Now = func() time.Time { return at.Add(time.Hour) }
	err := stripe.Verify(r, []byte(body))
	fmt.Println(verify.Status(err), err)
	// Output:
	// <nil>
	// 401 timestamp too old: header Stripe-Signature is 1h0m0s behind the receiver's clock, more than the 5m0s tolerance: sign each request (and each retry) with the current time
}

// Slack signs "v0:<timestamp>:<body>" and sends "v0=<hex>" in
// X-Slack-Signature, the timestamp in X-Slack-Request-Timestamp.
func ExampleHMAC_slack() {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather"
	ts := strconv.FormatInt(at.Unix(), 10)
	sig := "v0=" + hex.EncodeToString(mac(secret, "v0:"+ts+":"+body))
	r := post("https://hooks.example.com/webhooks/slack", body,
		"X-Slack-Signature", sig, "X-Slack-Request-Timestamp", ts)

	slack := &verify.HMAC{
		Header:          "X-Slack-Signature",
		Prefix:          "v0=",
		TimestampHeader: "X-Slack-Request-Timestamp",
		Secrets:         []string{secret},
		Signed:          []verify.Part{verify.Literal("v0:"), verify.Timestamp, verify.Literal(":"), verify.Body},
		Now:             clock,
	}
	fmt.Println(slack.Verify(r, []byte(body)))

	r.Header.Del("X-Slack-Request-Timestamp")
	err := slack.Verify(r, []byte(body))
	fmt.Println(verify.Status(err), err)
	// Output:
	// <nil>
	// 400 header X-Slack-Request-Timestamp is missing: send the Unix time the request was signed at
}

// Shopify sends the base64 HMAC-SHA256 of the body in
// X-Shopify-Hmac-Sha256, with no timestamp.
func ExampleHMAC_shopify() {
	const secret = "shpss_example_app_secret"
	body := `{"id":820982911946154508,"email":"jon@example.com"}`
	sig := base64.StdEncoding.EncodeToString(mac(secret, body))
	r := post("https://hooks.example.com/webhooks/shopify", body, "X-Shopify-Hmac-Sha256", sig)

	shopify := &verify.HMAC{
		Header:   "X-Shopify-Hmac-Sha256",
		Encoding: verify.Base64,
		Secrets:  []string{"shpss_new_secret_after_rotation", secret},
	}
	fmt.Println(shopify.Verify(r, []byte(body)))

	changed := []byte(strings.Replace(body, "jon", "jan", 1))
	err := shopify.Verify(r, changed)
	fmt.Println(verify.Status(err), err)
	// Output:
	// <nil>
	// 401 header X-Shopify-Hmac-Sha256 does not match: send the base64 HMAC-SHA256 of the body with this source's secret
}

// GitHub sends "sha256=<hex>" of the body in X-Hub-Signature-256.
func ExampleHMAC_github() {
	const secret = "It's a Secret to Everybody"
	body := "Hello, World!"
	sig := "sha256=" + hex.EncodeToString(mac(secret, body))
	r := post("https://hooks.example.com/webhooks/github", body, "X-Hub-Signature-256", sig)

	github := &verify.HMAC{Header: "X-Hub-Signature-256", Prefix: "sha256=", Secrets: []string{secret}}
	fmt.Println(sig)
	fmt.Println(github.Verify(r, []byte(body)))

	r.Header.Set("X-Hub-Signature-256", strings.TrimPrefix(sig, "sha256="))
	err := github.Verify(r, []byte(body))
	fmt.Println(verify.Status(err), err)
	// Output:
	// sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
	// <nil>
	// 400 header X-Hub-Signature-256 must be the "sha256=" and the hex HMAC-SHA256 of the body
}

// HubSpot (v3) signs method + URL + body + timestamp (Unix milliseconds)
// and sends the base64 HMAC-SHA256 in X-HubSpot-Signature-v3.
func ExampleHMAC_hubspot() {
	const secret = "hubspot-client-secret"
	body := `[{"eventId":1,"subscriptionType":"contact.creation"}]`
	url := "https://hooks.example.com/webhooks/hubspot?portal=62515"
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	sig := base64.StdEncoding.EncodeToString(mac(secret, "POST"+url+body+ts))
	r := post("/webhooks/hubspot?portal=62515", body,
		"X-HubSpot-Signature-v3", sig, "X-HubSpot-Request-Timestamp", ts)

	hubspot := &verify.HMAC{
		Header:          "X-HubSpot-Signature-v3",
		Encoding:        verify.Base64,
		TimestampHeader: "X-HubSpot-Request-Timestamp",
		TimestampMillis: true,
		Secrets:         []string{secret},
		// Behind a proxy ending TLS: the URL HubSpot posted to.
		Signed: []verify.Part{verify.Method, verify.PublicURL("https://hooks.example.com"), verify.Body, verify.Timestamp},
		Now:    clock,
	}
	fmt.Println(hubspot.Verify(r, []byte(body)))
	// Output:
	// <nil>
}

// Standard Webhooks senders (Svix, the hub's own deliveries) need only
// the secret.
func ExampleStandardWebhooks() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	body := `{"type":"user.created"}`
	content := "msg_1." + strconv.FormatInt(at.Unix(), 10) + "." + body
	m := hmac.New(sha256.New, key)
	m.Write([]byte(content))
	sig := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	r := post("/webhooks/acme", body,
		"webhook-id", "msg_1", "webhook-timestamp", strconv.FormatInt(at.Unix(), 10),
		"webhook-signature", "v1,bm90IHRoaXMgb25lIGF0IGFsbCwgbm90IGF0IGFsbCEhIQ== "+sig)

	v, err := verify.NewStandardWebhooks(secret)
	if err != nil {
		fmt.Println(err)
		return
	}
	v.Now = clock
	fmt.Println(v.Verify(r, []byte(body)))
	// Output:
	// <nil>
}
