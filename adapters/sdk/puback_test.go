package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
)

// natsGoReadAck is how nats.go's jetstream.PublishMsg (v1.55.0,
// publishMsg) reads an ack: readAck must agree with it on every input.
func natsGoReadAck(data []byte) (*jetstream.PubAck, error) {
	var resp struct {
		Type  string              `json:"type"`
		Error *jetstream.APIError `json:"error,omitempty"`
		*jetstream.PubAck
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, jetstream.ErrInvalidJSAck
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("nats: %w", resp.Error)
	}
	if resp.PubAck == nil || resp.Stream == "" {
		return nil, jetstream.ErrInvalidJSAck
	}
	return resp.PubAck, nil
}

// sameAck reports whether two results of reading an ack agree.
func sameAck(a *jetstream.PubAck, aerr error, b *jetstream.PubAck, berr error) bool {
	if (aerr == nil) != (berr == nil) {
		return false
	}
	if aerr != nil {
		return aerr.Error() == berr.Error()
	}
	return reflect.DeepEqual(a, b)
}

func TestReadAck(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		template bool // read by the template path
		want     *jetstream.PubAck
		wantErr  error
		wantCode jetstream.ErrorCode // an API error with this code
	}{
		{"stored", `{"stream":"EVENTS","seq":42}`, true, &jetstream.PubAck{Stream: "EVENTS", Sequence: 42}, nil, 0},
		{"duplicate", `{"stream":"EVENTS","seq":7,"duplicate": true}`, true, &jetstream.PubAck{Stream: "EVENTS", Sequence: 7, Duplicate: true}, nil, 0},
		{"largest sequence", `{"stream":"S","seq":18446744073709551615}`, true, &jetstream.PubAck{Stream: "S", Sequence: 18446744073709551615}, nil, 0},
		{"with a domain", `{"stream":"EVENTS","domain":"hub","seq":3}`, false, &jetstream.PubAck{Stream: "EVENTS", Domain: "hub", Sequence: 3}, nil, 0},
		{"duplicate without the space", `{"stream":"EVENTS","seq":7,"duplicate":true}`, false, &jetstream.PubAck{Stream: "EVENTS", Sequence: 7, Duplicate: true}, nil, 0},
		{"counter value", `{"stream":"C","seq":2,"val":"5"}`, false, &jetstream.PubAck{Stream: "C", Sequence: 2, Value: "5"}, nil, 0},
		{"error", `{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"EVENTS","seq":0}`, false, nil, nil, 10077},
		{"wrong expected stream", `{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"}}`, false, nil, nil, 10060},
		{"sequence overflows", `{"stream":"S","seq":18446744073709551616}`, false, nil, jetstream.ErrInvalidJSAck, 0},
		{"no stream", `{"seq":3}`, false, nil, jetstream.ErrInvalidJSAck, 0},
		{"not JSON", `+OK`, false, nil, jetstream.ErrInvalidJSAck, 0},
		{"empty", ``, false, nil, jetstream.ErrInvalidJSAck, 0},
		{"escaped stream", `{"stream":"A\"B","seq":1}`, false, &jetstream.PubAck{Stream: `A"B`, Sequence: 1}, nil, 0},
		{"leading zero", `{"stream":"S","seq":01}`, false, nil, jetstream.ErrInvalidJSAck, 0},
		{"trailing data", `{"stream":"S","seq":1}x`, false, nil, jetstream.ErrInvalidJSAck, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fast := readAckTemplate([]byte(tt.data))
			if fast != tt.template {
				t.Errorf("read by the template: %v, want %v", fast, tt.template)
			}
			got, err := readAck([]byte(tt.data))
			ngot, nerr := natsGoReadAck([]byte(tt.data))
			if !sameAck(got, err, ngot, nerr) {
				t.Errorf("readAck = %+v, %v; nats.go reads %+v, %v", got, err, ngot, nerr)
			}
			var apiErr *jetstream.APIError
			switch {
			case tt.wantCode != 0:
				if !errors.As(err, &apiErr) || apiErr.ErrorCode != tt.wantCode {
					t.Errorf("readAck = %+v, %v; want an API error with code %d", got, err, tt.wantCode)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("readAck error = %v, want %v", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("readAck = %v, want %+v", err, tt.want)
			case !reflect.DeepEqual(got, tt.want):
				t.Errorf("readAck = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzReadAck: whatever the server answers, readAck reads it as nats.go
// would.
func FuzzReadAck(f *testing.F) {
	for _, s := range []string{
		`{"stream":"EVENTS","seq":42}`,
		`{"stream":"EVENTS","seq":7,"duplicate": true}`,
		`{"stream":"EVENTS","domain":"hub","seq":3}`,
		`{"error":{"code":503,"err_code":10077,"description":"x"}}`,
		`{"stream":"S","seq":01}`,
		`{"stream":"","seq":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readAck(data)
		want, werr := natsGoReadAck(data)
		if !sameAck(got, err, want, werr) {
			t.Fatalf("readAck(%q) = %+v, %v; nats.go reads %+v, %v", data, got, err, want, werr)
		}
	})
}

// TestPublishSync: against a real hub, a stored message, a duplicate, a
// message for the wrong stream and one no stream takes read as
// jetstream.PublishMsg reads them.
func TestPublishSync(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg := func(subject string) *nats.Msg {
		m := nats.NewMsg(subject)
		m.Data = []byte(`{}`)
		m.Header.Set(jetstream.MsgIDHeader, "dup-1")
		return m
	}
	subject := topology.EventsPrefix + "acme.user.created"
	first, err := publishSync(ctx, hub.JS, msg(subject), topology.EventsStream)
	if err != nil || first.Stream != topology.EventsStream || first.Sequence == 0 || first.Duplicate {
		t.Fatalf("publishSync = %+v, %v; want stored on %s", first, err, topology.EventsStream)
	}
	again, err := publishSync(ctx, hub.JS, msg(subject), topology.EventsStream)
	if err != nil || !again.Duplicate || again.Sequence != first.Sequence {
		t.Errorf("publishSync again = %+v, %v; want a duplicate of %d", again, err, first.Sequence)
	}
	_, err = publishSync(ctx, hub.JS, msg(subject), topology.DeliveriesStream)
	_, werr := hub.JS.PublishMsg(ctx, msg(subject), jetstream.WithExpectStream(topology.DeliveriesStream))
	if err == nil || werr == nil || err.Error() != werr.Error() {
		t.Errorf("wrong stream: publishSync = %v, PublishMsg = %v; want the same error", err, werr)
	}
	start := time.Now()
	_, err = publishSync(ctx, hub.JS, msg("nowhere.at.all"), "")
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Errorf("no stream: publishSync = %v, want %v", err, jetstream.ErrNoStreamResponse)
	}
	if took := time.Since(start); took < 2*jetstream.DefaultPubRetryWait {
		t.Errorf("no stream: gave up after %s, want two retries %s apart first", took, jetstream.DefaultPubRetryWait)
	}
}
