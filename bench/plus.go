package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// The baseline plus ("baseline+") is the baseline doing the work that
// Junction's guarantees and routing need, each written the shortest way
// directly on nats.go, cel-go and encoding/json, with none of Junction's
// own code or plumbing (no envelopes, spans, metrics, limits or lanes):
//
//   - routing: each event's JSON payload is parsed and RouteCondition is
//     evaluated over it with cel-go before the event is republished (the
//     hop decodes Junction's protobuf event first, as the router must);
//   - idempotency (webhook in): the provider's webhook id is looked up in
//     the idempotency bucket before the publish and recorded there after
//     it (exactly once per id for the bucket's 7 days, past JetStream's
//     2-minute duplicate window), and the body is parsed for its type;
//   - the delivery log (webhook out): after each successful delivery is
//     acked, an attempt record is published to ATTEMPTS and its ack
//     awaited.
//
// Run beside the baseline and Junction, it splits the gap between them in
// two measured parts: baseline to baseline+ is what the guarantees and
// routing cost at the least, baseline+ to Junction is what Junction's
// own code and plumbing add on top (docs/benchmarks.md).

// BaselinePlus is the hop pipeline of the baseline plus: Republish with
// the route's condition evaluated on every event.
const BaselinePlus Pipeline = "baseline+"

// route is RouteCondition compiled with cel-go over a plain map of the
// event's attributes and its parsed payload.
type route struct{ prg cel.Program }

func newRoute() (*route, error) {
	env, err := cel.NewEnv(
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("data", cel.DynType),
		cel.CrossTypeNumericComparisons(true),
	)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(RouteCondition)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	prg, err := env.Program(ast)
	if err != nil {
		return nil, err
	}
	return &route{prg: prg}, nil
}

// matches parses payload as JSON and evaluates the condition over it for
// an event of source and typ.
func (r *route) matches(source, typ string, payload []byte) (bool, error) {
	var data any
	if err := json.Unmarshal(payload, &data); err != nil {
		return false, fmt.Errorf("payload: %w", err)
	}
	out, _, err := r.prg.Eval(map[string]any{
		"event": map[string]any{"source": source, "type": typ},
		"data":  data,
	})
	if err != nil {
		return false, err
	}
	ok, _ := out.Value().(bool)
	return ok, nil
}

// hopFilter is the baseline plus's hop routing: Junction's protobuf event
// decoded, then the route evaluated over its payload.
func hopFilter(r *route) func(jetstream.Msg) (bool, error) {
	return func(m jetstream.Msg) (bool, error) {
		e, err := topology.ParseEvent(m.Subject(), m.Headers(), m.Data())
		if err != nil {
			return false, err
		}
		return r.matches(e.GetSource(), e.GetType(), e.GetData())
	}
}

// rawFilter is the baseline plus's webhook routing: the stored body is
// the payload and the subject carries the type.
func rawFilter(r *route) func(jetstream.Msg) (bool, error) {
	prefix := topology.EventSubject(Source, "")
	return func(m jetstream.Msg) (bool, error) {
		typ, ok := strings.CutPrefix(m.Subject(), prefix)
		if !ok {
			return false, fmt.Errorf("subject %s is not a %s event", m.Subject(), Source)
		}
		return r.matches(Source, typ, m.Data())
	}
}

// storeWebhookPlus is the baseline plus's webhook handler: the signature
// checked, the body parsed for its type, the webhook id looked up in the
// idempotency bucket (a known id answers 200 and stores nothing), the
// event published and the id recorded with the event's sequence, then
// 202.
func storeWebhookPlus(w http.ResponseWriter, r *http.Request, js jetstream.JetStream, ids jetstream.KeyValue, verifier *standardwebhooks.Webhook) {
	body, ok := verifiedBody(w, r, verifier)
	if !ok {
		return
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.Type == "" {
		http.Error(w, "body must be a JSON object with a type", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	key := topology.IdempotencyKey(Source, id)
	switch _, err := ids.Get(r.Context(), key); {
	case err == nil:
		w.WriteHeader(http.StatusOK) // seen before: stored already
		return
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		http.Error(w, "idempotency lookup", http.StatusServiceUnavailable)
		return
	}
	ack, err := js.PublishMsg(r.Context(), topology.RawEventMsg(Source, head.Type, id, body))
	if err != nil {
		http.Error(w, "store", http.StatusServiceUnavailable)
		return
	}
	// A concurrent copy of the same webhook may have recorded the id
	// first; its publish was the same event (Nats-Msg-Id).
	if _, err := ids.Create(r.Context(), key, strconv.AppendUint(nil, ack.Sequence, 10)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		http.Error(w, "idempotency record", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// recordAttempt is the baseline plus's delivery log: after m was delivered
// and acked, a record of the attempt on ATTEMPTS, its ack awaited.
func recordAttempt(ctx context.Context, js jetstream.JetStream, m jetstream.Msg, status int, took time.Duration) error {
	meta, err := m.Metadata()
	if err != nil {
		return err
	}
	id := topology.MetaOf(m.Headers()).MsgID
	rec, err := json.Marshal(struct {
		Event    string    `json:"event"`
		Delivery uint64    `json:"delivery"`
		Status   int       `json:"status"`
		Micros   int64     `json:"us"`
		At       time.Time `json:"at"`
	}{id, meta.Sequence.Stream, status, took.Microseconds(), time.Now()})
	if err != nil {
		return err
	}
	_, err = js.Publish(ctx, topology.AttemptSubject(Source, id, strconv.FormatUint(meta.Sequence.Stream, 10)), rec)
	return err
}
