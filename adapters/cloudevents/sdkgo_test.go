package cloudevents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	ce "github.com/junctionhq/junction/adapters/cloudevents"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// fullEvent has every CloudEvents attribute and three extensions of the
// three JSON kinds (string, integer, boolean).
func fullEvent(t *testing.T, id string) cloudevents.Event {
	t.Helper()
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("https://shop.example.com/orders")
	e.SetType("com.example.order.created")
	e.SetSubject("ord_1001")
	e.SetTime(time.Date(2026, 12, 7, 1, 2, 3, 456789000, time.UTC))
	e.SetDataSchema("https://schemas.example.com/order/v2")
	e.SetExtension("partitionkey", "customer-42")
	e.SetExtension("sequence", 7)
	e.SetExtension("sampled", true)
	if err := e.SetData(cloudevents.ApplicationJSON, map[string]any{"total": 12.5, "currency": "EUR", "lines": []any{map[string]any{"sku": "A-1", "qty": 2}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// minimalEvent has the required attributes only: no data, no time.
func minimalEvent(id string) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("/sensors/tn-1")
	e.SetType("sensor.reading")
	return e
}

func textEvent(t *testing.T, id string) cloudevents.Event {
	t.Helper()
	e := minimalEvent(id)
	e.SetType("note.written")
	if err := e.SetData("text/plain; charset=utf-8", "hello, \"world\"\n"); err != nil {
		t.Fatal(err)
	}
	return e
}

func binaryDataEvent(t *testing.T, id string) cloudevents.Event {
	t.Helper()
	e := minimalEvent(id)
	e.SetType("blob.uploaded")
	if err := e.SetData("application/octet-stream", []byte{0x00, 0xff, 0x10, 'j', 0x80}); err != nil {
		t.Fatal(err)
	}
	return e
}

// wantStored is the hub event a CloudEvent must be stored as: every
// attribute in its field, extensions in their canonical string form,
// the data byte for byte.
func wantStored(t *testing.T, e cloudevents.Event) *junctionv1.Event {
	t.Helper()
	var exts map[string]string
	for k, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			t.Fatal(err)
		}
		if exts == nil {
			exts = map[string]string{}
		}
		exts[k] = s
	}
	w := &junctionv1.Event{
		Id: e.ID(), Source: ce.Spec.App, SourceUri: e.Source(), Type: e.Type(), Subject: e.Subject(),
		DataContentType: e.DataContentType(), DataSchema: e.DataSchema(), Extensions: exts,
		SpecVersion: e.SpecVersion(), Data: e.Data(),
	}
	if !e.Time().IsZero() {
		w.Time = timestamppb.New(e.Time())
	}
	return w
}

// checkStored compares a stored event with what e must become; the
// hub's own fields (receive time, trace id, a time it filled in) aside.
func checkStored(t *testing.T, got *junctionv1.Event, e cloudevents.Event) {
	t.Helper()
	want := wantStored(t, e)
	opts := []cmp.Option{protocmp.Transform(), protocmp.IgnoreFields(&junctionv1.Event{}, "receive_time", "trace_id")}
	if want.Time == nil {
		opts = append(opts, protocmp.IgnoreFields(&junctionv1.Event{}, "time"))
	}
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("stored event of %s differs (-want +got):\n%s", e.ID(), d)
	}
}

// TestSDKSender: the CloudEvents Go SDK, a real HTTP client, sends to
// the adapter's server in binary, structured and batched mode, signed by
// the Standard Webhooks library (under webhook-* or Svix's names, with
// the current or the old secret); each event is stored once with every
// attribute, extension and data byte kept, and a resend is a duplicate.
func TestSDKSender(t *testing.T) {
	env := newEnv(t, stdConfig(t))
	current, svix, old := newSigner(t, secret), newSigner(t, secret), newSigner(t, oldSecret)
	svix.svix = true
	tests := []struct {
		name   string
		mode   func(context.Context) context.Context
		signer *signer
		event  func(id string) cloudevents.Event
	}{
		{"binary, every attribute", binding.WithForceBinary, current, func(id string) cloudevents.Event { return fullEvent(t, id) }},
		{"structured, every attribute", binding.WithForceStructured, current, func(id string) cloudevents.Event { return fullEvent(t, id) }},
		{"binary, required attributes only", binding.WithForceBinary, current, minimalEvent},
		{"structured, required attributes only", binding.WithForceStructured, current, minimalEvent},
		{"binary, text data", binding.WithForceBinary, current, func(id string) cloudevents.Event { return textEvent(t, id) }},
		{"structured, text data", binding.WithForceStructured, current, func(id string) cloudevents.Event { return textEvent(t, id) }},
		{"binary, bytes", binding.WithForceBinary, current, func(id string) cloudevents.Event { return binaryDataEvent(t, id) }},
		{"structured, bytes as data_base64", binding.WithForceStructured, current, func(id string) cloudevents.Event { return binaryDataEvent(t, id) }},
		{"binary, Svix header names", binding.WithForceBinary, svix, func(id string) cloudevents.Event { return fullEvent(t, id) }},
		{"structured, previous secret", binding.WithForceStructured, old, func(id string) cloudevents.Event { return fullEvent(t, id) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sdkClient(t, env.url, tt.signer)
			e := tt.event(fmt.Sprintf("ce-%d", i))
			before := len(env.events(t))
			for attempt := range 2 { // the second send is a retry
				if res := c.Send(tt.mode(context.Background()), e); !cloudevents.IsACK(res) {
					t.Fatalf("send %d: %v, want accepted", attempt+1, res)
				}
			}
			got := env.events(t)
			if len(got) != before+1 {
				t.Fatalf("two sends stored %d events, want 1", len(got)-before)
			}
			checkStored(t, got[before], e)
		})
	}
	t.Run("batched", func(t *testing.T) {
		batch := []cloudevents.Event{fullEvent(t, "b-1"), minimalEvent("b-2"), textEvent(t, "b-3"), binaryDataEvent(t, "b-4")}
		before := len(env.events(t))
		code, body := sendBatch(t, env.url, current, batch...)
		if code != http.StatusAccepted {
			t.Fatalf("batch answered %d %s, want 202", code, body)
		}
		var ans ce.BatchStored
		if err := json.Unmarshal(body, &ans); err != nil || len(ans.Events) != len(batch) {
			t.Fatalf("batch answer %s: want %d events (%v)", body, len(batch), err)
		}
		got := env.events(t)
		if len(got) != before+len(batch) {
			t.Fatalf("batch stored %d events, want %d", len(got)-before, len(batch))
		}
		for i, e := range batch {
			checkStored(t, got[before+i], e)
			if ans.Events[i].ID != e.ID() || ans.Events[i].Duplicate {
				t.Errorf("answer %d = %+v, want id %s, not a duplicate", i, ans.Events[i], e.ID())
			}
		}
		// The sender's retry of the whole batch stores nothing more.
		code, body = sendBatch(t, env.url, current, batch...)
		if err := json.Unmarshal(body, &ans); code != http.StatusAccepted || err != nil {
			t.Fatalf("retried batch answered %d %s", code, body)
		}
		for i, a := range ans.Events {
			if !a.Duplicate {
				t.Errorf("retried batch event %d answered %+v, want a duplicate", i, a)
			}
		}
		if n := len(env.events(t)); n != before+len(batch) {
			t.Errorf("retried batch: %d events stored in all, want %d", n-before, len(batch))
		}
	})
}
