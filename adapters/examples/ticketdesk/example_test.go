package ticketdesk_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/examples/ticketdesk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"google.golang.org/protobuf/proto"
)

// The adapter runs in the SDK's Runner (sdk.Main does this in the
// adapter's process, connected to a real hub); here an embedded hub stands
// in, and a webhook signed as Ticket Desk signs is stored once.
func Example() {
	hub, stop, err := sdktest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop()
	os.Setenv("TICKETDESK_WEBHOOK_SECRET", secret)
	adapter, err := ticketdesk.New(ticketdesk.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := conformance.Start(hub, ticketdesk.Spec, adapter)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	body := `{"id":"tkt_42","event":"ticket.opened","subject":"Printer on fire"}`
	for _, sig := range []string{sign(body, time.Now(), secret), sign(body, time.Now(), "wrong")} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/ticketdesk", strings.NewReader(body))
		req.Header.Set("X-Desk-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(msg))
	}
	// The 202 came once the hub had stored it: read it back.
	events, _ := hub.JS.Stream(context.Background(), topology.EventsStream)
	info, _ := events.Info(context.Background())
	stored, _ := events.GetMsg(context.Background(), info.State.LastSeq)
	ev := &junctionv1.Event{}
	if err := proto.Unmarshal(stored.Data, ev); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.State.Msgs, "stored:", ev.GetSource(), ev.GetType(), ev.GetId())
	// Output:
	// 202 {"id":"tkt_42","duplicate":false,"sequence":1}
	// 401 {"code":16,"message":"header X-Desk-Signature does not match: send the hex HMAC-SHA256 of \"\u003ct\u003e.\u003cbody\u003e\" with this source's secret","details":[]}
	// 1 stored: ticketdesk ticket.opened tkt_42
}
