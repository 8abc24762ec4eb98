// Package cloudevents is Junction's CloudEvents source: events sent over
// HTTP as the CloudEvents HTTP protocol binding (v1.0) defines, in binary
// mode (attributes in ce-* headers, the data as the body), structured
// mode (Content-Type application/cloudevents+json) and batched mode
// (application/cloudevents-batch+json), become hub events with every
// attribute and extension kept:
//
//	CloudEvents        hub Event
//	id                 id (the hub stores an id once: a retry is a duplicate)
//	source             source_uri, as sent (source is "cloudevents")
//	type               type
//	specversion        spec_version
//	subject            subject
//	time               time
//	datacontenttype    data_content_type
//	dataschema         data_schema
//	extensions         extensions (canonical strings: true, 42, text)
//	data, data_base64  data, byte for byte
//
// Requests are verified with the scheme the configuration chooses
// (Standard Webhooks, Svix's header names included; an HMAC of the body;
// or none, only when chosen explicitly). A batch is taken whole or not at
// all: one bad event refuses the batch and nothing is stored. See
// docs/adapters/cloudevents.md.
package cloudevents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Spec describes the adapter. App is the hub source of every event it
// stores and the path of its webhooks, /webhooks/cloudevents.
var Spec = sdk.Spec{App: "cloudevents", Version: "0.1.0", Description: "CloudEvents over HTTP in: binary, structured and batched mode."}

// emitTimeout bounds storing one request's events. The store runs
// detached from the request so that a sender hanging up cannot cut a
// batch short half way.
const emitTimeout = 15 * time.Second

// retryAfterUnavailable is the Retry-After, in seconds, of a 503.
const retryAfterUnavailable = "5"

// Adapter is the CloudEvents source.
type Adapter struct {
	cfg      Config
	verifier verify.Verifier // nil: scheme none
}

// New builds the adapter from its config, reading the secrets.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	v, err := cfg.Signature.verifier()
	if err != nil {
		return nil, fmt.Errorf("adapter.signature: %w", err)
	}
	if v == nil {
		slog.Warn("cloudevents: signature scheme none: requests are not verified, anyone who reaches the endpoint can store events", "path", "/webhooks/"+Spec.App)
	}
	return &Adapter{cfg: cfg, verifier: v}, nil
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// Webhook handles POST /webhooks/cloudevents: read the mode, verify,
// read the events, store them, and answer once the hub has them all.
func (a *Adapter) Webhook(emit sdk.EmitFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get(headerRequestOrigin) != "" {
			a.handshake(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			apphook.WriteError(w, http.StatusMethodNotAllowed, "send CloudEvents with POST")
			return
		}
		events, batch, err := a.read(w, r)
		if err != nil {
			apphook.WriteError(w, statusOf(err), err.Error())
			return
		}
		a.store(w, r, emit, events, batch)
	})
}

// Headers of the CloudEvents webhook validation handshake.
const (
	headerRequestOrigin = "WebHook-Request-Origin"
	headerAllowedOrigin = "WebHook-Allowed-Origin"
	headerAllowedRate   = "WebHook-Allowed-Rate"
)

// handshake answers the validation request of the CloudEvents HTTP
// webhook spec: consent for a configured origin, 403 for another. It
// stores nothing; POSTs are verified as always.
func (a *Adapter) handshake(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get(headerRequestOrigin)
	for _, o := range a.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			w.Header().Set(headerAllowedOrigin, origin)
			w.Header().Set(headerAllowedRate, "*")
			w.Header().Set("Allow", "POST, OPTIONS")
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	apphook.WriteError(w, http.StatusForbidden, fmt.Sprintf("origin %q may not send here: add it to adapter.allowed_origins", clip.String(origin)))
}

// read takes a request apart into its events, verified and checked; an
// error's class gives the answer (statusOf).
func (a *Adapter) read(w http.ResponseWriter, r *http.Request) ([]*junctionv1.Event, bool, error) {
	mode, err := ModeOf(r.Header)
	if err != nil {
		return nil, false, err
	}
	body, err := a.readBody(w, r)
	if err != nil {
		return nil, false, err
	}
	if a.verifier != nil {
		if err := a.verifier.Verify(r, body); err != nil {
			return nil, false, err
		}
	}
	var events []*junctionv1.Event
	switch mode {
	case Binary:
		e, err := FromBinary(r.Header, body)
		if err != nil {
			return nil, false, err
		}
		events = []*junctionv1.Event{e}
	case Structured:
		e, err := FromStructured(body)
		if err != nil {
			return nil, false, err
		}
		events = []*junctionv1.Event{e}
	case Batched:
		if events, err = FromBatch(body, a.cfg.MaxBatch); err != nil {
			return nil, false, err
		}
	}
	for i, e := range events {
		if !a.allowed(e.GetSourceUri()) {
			where := ""
			if mode == Batched {
				where = fmt.Sprintf("batch event %d: ", i)
			}
			return nil, false, &forbidden{msg: fmt.Sprintf("%ssource %q is not one this adapter takes: add it to adapter.sources", where, clip.String(e.GetSourceUri()))}
		}
		e.Source = Spec.App
	}
	return events, mode == Batched, nil
}

// allowed says whether the configured sources take CloudEvents source src.
func (a *Adapter) allowed(src string) bool {
	if len(a.cfg.Sources) == 0 {
		return true
	}
	for _, s := range a.cfg.Sources {
		if p, ok := strings.CutSuffix(s, "*"); ok && strings.HasPrefix(src, p) || s == src {
			return true
		}
	}
	return false
}

// readBody reads the whole body, at most MaxBodyBytes.
func (a *Adapter) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	max := a.cfg.MaxBodyBytes
	tooLarge := &tooLarge{msg: fmt.Sprintf("body is larger than %d bytes, this adapter's max_body_bytes: send smaller events or batches", max)}
	if r.ContentLength > max {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		return nil, invalidf("body could not be read: %v", err)
	}
	return body, nil
}

// store emits the events in order and answers once the hub has them all.
// A batch stops at the first event the hub cannot store: the sender's
// retry of the whole batch stores the rest, and what was stored before
// is answered as a duplicate.
func (a *Adapter) store(w http.ResponseWriter, r *http.Request, emit sdk.EmitFunc, events []*junctionv1.Event, batch bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), emitTimeout)
	defer cancel()
	answers := make([]Stored, 0, len(events))
	for i, e := range events {
		res, err := emit(ctx, e)
		where := ""
		if batch {
			where = fmt.Sprintf("batch event %d: ", i)
		}
		switch {
		case errors.Is(err, sdk.ErrInvalidEvent):
			apphook.WriteError(w, http.StatusBadRequest, where+err.Error())
			return
		case err != nil: // sdk.ErrUnavailable or the deadline
			w.Header().Set("Retry-After", retryAfterUnavailable)
			apphook.WriteError(w, http.StatusServiceUnavailable, where+"the hub cannot store events right now: retry later (events stored already are answered as duplicates)")
			return
		}
		answers = append(answers, Stored{ID: e.GetId(), Duplicate: res.Duplicate, Sequence: res.Sequence})
	}
	if batch {
		apphook.WriteJSON(w, http.StatusAccepted, BatchStored{Events: answers})
		return
	}
	apphook.WriteJSON(w, http.StatusAccepted, answers[0])
}

var (
	_ sdk.WebhookSource = (*Adapter)(nil)
	_ sdk.Sourcer       = (*Adapter)(nil)
)
