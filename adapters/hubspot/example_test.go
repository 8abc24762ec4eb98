package hubspot_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/hubspot"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// HubSpot posts a batch of notifications signed with its v3 signature;
// behind a proxy, public_url says the URL it called. Each notification
// is stored as its own event, and the resend of the batch stores nothing
// twice.
func Example() {
	hub, stop, err := sdktest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	os.Setenv("HUBSPOT_CLIENT_SECRET", "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy")
	adapter, err := hubspot.New(hubspot.Config{PublicURL: "https://hooks.example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := conformance.Start(hub, hubspot.Spec, adapter)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	body := `[{"eventId":1,"subscriptionType":"contact.creation","objectId":123,"occurredAt":1564113600000},` +
		`{"eventId":2,"subscriptionType":"deal.propertyChange","objectId":7,"propertyName":"dealstage","propertyValue":"closedwon","occurredAt":1564113600000}]`
	for range 2 {
		ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
		mac := hmac.New(sha256.New, []byte(os.Getenv("HUBSPOT_CLIENT_SECRET")))
		mac.Write([]byte("POST" + "https://hooks.example.com/webhooks/hubspot" + body + ts))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/hubspot", strings.NewReader(body))
		req.Header.Set("X-HubSpot-Signature-v3", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		req.Header.Set("X-HubSpot-Request-Timestamp", ts)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(answer))
	}
	// Output:
	// 200 {"events":[{"id":"1","duplicate":false,"sequence":1},{"id":"2","duplicate":false,"sequence":2}]}
	// 200 {"events":[{"id":"1","duplicate":true,"sequence":1},{"id":"2","duplicate":true,"sequence":2}]}
}
