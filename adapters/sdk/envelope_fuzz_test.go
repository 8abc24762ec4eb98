package sdk

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// FuzzEventEnvelope decodes arbitrary bytes as the event envelope the hub
// stores and checks what ValidateEvent promises about an event it accepts:
// the event's subject is a plain NATS subject (no wildcard, no empty
// token, no white space) under junction.events.<source>, and the envelope
// survives an encode and decode unchanged.
func FuzzEventEnvelope(f *testing.F) {
	for _, e := range []*junctionv1.Event{
		{Id: "evt_1", Source: "acme", Type: "user.created", DataContentType: "application/json", Data: []byte(`{"a":1}`)},
		{Id: "msg 2", Source: "stripe", Type: "payment_intent.succeeded", Time: timestamppb.Now(), Extensions: map[string]string{"traceparent": "00-x"}},
		{Id: "x", Source: "a.b", Type: "user.>"},
		{Id: "y", Source: "acme", Type: "user..created"},
		{Id: "\x00", Source: "acme", Type: "t"},
		{Id: "z", Source: "acme", Type: "t", Extensions: map[string]string{"Bad-Name": "v"}},
	} {
		b, err := proto.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := &junctionv1.Event{}
		if err := proto.Unmarshal(b, e); err != nil {
			return
		}
		if err := ValidateEvent(e); err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("ValidateEvent error %v does not wrap ErrInvalidEvent", err)
			}
			return
		}
		subject := topology.EventSubject(e.GetSource(), e.GetType())
		if !strings.HasPrefix(subject, topology.EventsPrefix+e.GetSource()+".") {
			t.Fatalf("subject %q is not under %s%s.", subject, topology.EventsPrefix, e.GetSource())
		}
		for tok := range strings.SplitSeq(subject, ".") {
			if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n*>") {
				t.Fatalf("accepted event %v has subject %q with a bad token %q", e, subject, tok)
			}
		}
		again, err := proto.Marshal(e)
		if err != nil {
			t.Fatalf("re-encode an accepted event: %v", err)
		}
		back := &junctionv1.Event{}
		if err := proto.Unmarshal(again, back); err != nil || !proto.Equal(e, back) {
			t.Fatalf("envelope round trip: err %v, got %v, want %v", err, back, e)
		}
	})
}
