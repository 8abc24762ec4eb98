package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishSync publishes msg to JetStream and waits for its ack, as
// jetstream.JetStream.PublishMsg does with jetstream.WithExpectStream
// (when expectStream is set) and its default retries: a publish no stream
// answers (a leader election's moment) is sent again twice, 250 ms apart,
// then fails with jetstream.ErrNoStreamResponse. What differs is reading
// the ack: the server writes a stored message's ack from a fixed template,
// which readAck takes apart without encoding/json's reflection (that parse
// was 2.5% of serve's CPU per webhook, three sync publishes each); any
// other answer is decoded as nats.go decodes it.
func publishSync(ctx context.Context, js jetstream.JetStream, msg *nats.Msg, expectStream string) (*jetstream.PubAck, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, js.Options().DefaultTimeout)
		defer cancel()
	}
	if expectStream != "" {
		if msg.Header == nil {
			msg.Header = nats.Header{}
		}
		msg.Header.Set(jetstream.ExpectedStreamHeader, expectStream)
	}
	nc := js.Conn()
	resp, err := nc.RequestMsgWithContext(ctx, msg)
	for r := 0; errors.Is(err, nats.ErrNoResponders) && r < jetstream.DefaultPubRetryAttempts; r++ {
		t := time.NewTimer(jetstream.DefaultPubRetryWait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		resp, err = nc.RequestMsgWithContext(ctx, msg)
	}
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, jetstream.ErrNoStreamResponse
	}
	if err != nil {
		return nil, err
	}
	return readAck(resp.Data)
}

// Parts of the ack template nats-server (stream.go) writes for a stored
// message: {"stream":"<name>","seq":<n>}, and for one its Nats-Msg-Id
// found already stored {"stream":"<name>","seq":<n>,"duplicate": true}.
var (
	ackStream    = []byte(`{"stream":"`)
	ackSeq       = []byte(`","seq":`)
	ackDuplicate = []byte(`,"duplicate": true}`)
)

// readAck reads a JetStream publish ack: the server's template at once,
// anything else (an error, a domain, a counter's value, another spelling)
// as jetstream.JetStream.PublishMsg reads it, with the same errors.
func readAck(data []byte) (*jetstream.PubAck, error) {
	if ack, ok := readAckTemplate(data); ok {
		return ack, nil
	}
	var resp struct {
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

// readAckTemplate reads an ack written from the server's template; ok is
// false for anything else.
func readAckTemplate(data []byte) (*jetstream.PubAck, bool) {
	rest, ok := bytes.CutPrefix(data, ackStream)
	if !ok {
		return nil, false
	}
	i := 0
	for i < len(rest) && rest[i] > ' ' && rest[i] < 0x7f && rest[i] != '"' && rest[i] != '\\' {
		i++ // stream names are printable ASCII without quotes or escapes
	}
	if i == 0 || i == len(rest) || rest[i] != '"' {
		return nil, false
	}
	stream := rest[:i]
	if rest, ok = bytes.CutPrefix(rest[i:], ackSeq); !ok {
		return nil, false
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || (n > 1 && rest[0] == '0') {
		return nil, false
	}
	seq, err := strconv.ParseUint(string(rest[:n]), 10, 64)
	if err != nil {
		return nil, false
	}
	ack := &jetstream.PubAck{Stream: string(stream), Sequence: seq}
	switch tail := rest[n:]; {
	case len(tail) == 1 && tail[0] == '}':
	case bytes.Equal(tail, ackDuplicate):
		ack.Duplicate = true
	default:
		return nil, false
	}
	return ack, true
}
