package slack_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	"github.com/junctionhq/junction/adapters/slack"
)

// Slack first checks the Request URL with a url_verification challenge,
// then posts the events the app subscribes to, retrying (with
// X-Slack-Retry-Num) what is not answered in 3 seconds: the retry is the
// same event_id, stored once.
func Example() {
	hub, stop, err := sdktest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	os.Setenv("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
	adapter, err := slack.New(slack.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := conformance.Start(hub, slack.Spec, adapter)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	send := func(body, retry string) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(os.Getenv("SLACK_SIGNING_SECRET")))
		mac.Write([]byte("v0:" + ts + ":" + body))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/slack", strings.NewReader(body))
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		if retry != "" {
			req.Header.Set("X-Slack-Retry-Num", retry)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(answer))
	}
	send(`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`, "")
	message := `{"team_id":"T1","event":{"type":"message","channel":"C1","user":"U1","text":"hi","ts":"1355517523.000005"},"type":"event_callback","event_id":"Ev1","event_time":1355517523}`
	send(message, "")
	send(message, "1")
	// Output:
	// 200 {"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
	// 200 {"id":"Ev1","duplicate":false,"sequence":1}
	// 200 {"id":"Ev1","duplicate":true,"sequence":1}
}
