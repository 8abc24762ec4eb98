package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/junctionhq/junction/adapters/internal/apphook"
	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/clip"
	"github.com/junctionhq/junction/adapters/sdk/verify"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// PathPrefix is where the adapter's webhook handler is mounted.
const PathPrefix = "/webhooks/"

// emitTimeout bounds storing one event. The store runs detached from the
// request so that a sender hanging up cannot cut it short half way.
const emitTimeout = 15 * time.Second

// retryAfterUnavailable is the Retry-After, in seconds, of a 503 answered
// when the hub cannot store an event (a JetStream leader election takes a
// few seconds).
const retryAfterUnavailable = "5"

// source is one configured sender, ready to verify requests.
type source struct {
	cfg      SourceConfig
	verifier verify.Verifier
	models   []modelRule
	limiter  *rate.Limiter
	types    map[string]bool // accepted media types
}

func newSource(cfg SourceConfig) (*source, error) {
	secret, err := cfg.SecretRef.Resolve()
	if err != nil {
		return nil, err
	}
	s := &source{
		cfg:     cfg,
		models:  compileModels(cfg.Models),
		limiter: rate.NewLimiter(rate.Limit(cfg.RateLimit.PerSecond), cfg.RateLimit.Burst),
		types:   map[string]bool{},
	}
	for _, ct := range cfg.ContentTypes {
		mt, _, _ := mime.ParseMediaType(ct)
		s.types[mt] = true
	}
	secrets := []string{secret}
	if cfg.Previous.count() > 0 {
		old, err := cfg.Previous.Resolve()
		if err != nil {
			return nil, fmt.Errorf("previous: %w", err)
		}
		secrets = append(secrets, old)
	}
	if s.verifier, err = newVerifier(cfg, secrets); err != nil {
		return nil, err
	}
	return s, nil
}

// rejection is a request the handler turns away: an HTTP status and a
// message for the sender saying what is wrong and what to fix.
type rejection struct {
	code       int
	message    string
	retryAfter string // seconds, for 429
}

func (r *rejection) Error() string { return r.message }

func reject(code int, format string, args ...any) *rejection {
	return &rejection{code: code, message: fmt.Sprintf(format, args...)}
}

// Accepted is the JSON answered, with 202, once the event is stored;
// Duplicate says the sender's event id was stored before (a retry). Its
// shape, and that of every error answer, is apphook's, which the app
// source adapters answer with too.
type Accepted = apphook.Accepted

type inbound struct {
	a    *Adapter
	emit sdk.EmitFunc
}

func (h *inbound) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, src, rej := h.route(r)
	if rej == nil {
		var e *junctionv1.Event
		e, rej = src.event(w, r, name)
		if rej == nil {
			h.store(w, r, e)
			return
		}
	}
	// The name comes from the URL and the reason may quote the request:
	// both are cut (package clip), so a huge URL cannot make a huge line.
	h.a.log.LogAttrs(r.Context(), levelOf(rej.code), "webhook rejected",
		slog.String("source", clip.String(name)), slog.Int("status", rej.code), slog.String("reason", clip.N(rej.message, clip.MaxAttr)),
		slog.String("remote_addr", r.RemoteAddr))
	recordRejection(r.Context(), name, h.a.sources[name] != nil, rej)
	if rej.code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	if rej.retryAfter != "" {
		w.Header().Set("Retry-After", rej.retryAfter)
	}
	apphook.WriteError(w, rej.code, rej.message)
}

// route finds the source a request is for and checks the method.
func (h *inbound) route(r *http.Request) (string, *source, *rejection) {
	name, ok := strings.CutPrefix(r.URL.Path, PathPrefix)
	name = strings.TrimSuffix(name, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return name, nil, reject(http.StatusNotFound, "no webhook endpoint at %s: POST to %s<source> with a source name from the adapter config", clip.String(r.URL.Path), PathPrefix)
	}
	src, ok := h.a.sources[name]
	if !ok {
		return name, nil, reject(http.StatusNotFound, "no webhook source named %q: check the URL %s<source> against the adapter's sources config", clip.String(name), PathPrefix)
	}
	if r.Method != http.MethodPost {
		return name, nil, reject(http.StatusMethodNotAllowed, "method %s is not allowed: send webhooks with POST", clip.String(r.Method))
	}
	return name, src, nil
}

// admit checks a request against the source's rate limit and content
// types, before its body is read.
func (s *source) admit(r *http.Request, now time.Time) *rejection {
	res := s.limiter.ReserveN(now, 1)
	if d := res.DelayFrom(now); !res.OK() || d > 0 {
		res.CancelAt(now)
		secs := max(1, int64(math.Ceil(d.Seconds())))
		rej := reject(http.StatusTooManyRequests, "source %s is over its rate limit of %v requests/s (burst %d): retry after %d s, or raise rate_limit in the source config",
			s.cfg.Name, s.cfg.RateLimit.PerSecond, s.cfg.RateLimit.Burst, secs)
		rej.retryAfter = strconv.FormatInt(secs, 10)
		return rej
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !s.types[mt] {
		if ct == "" {
			ct = "none"
		}
		return reject(http.StatusUnsupportedMediaType, "content type %q is not accepted from source %s: send %s (the source's content_types)", clip.String(ct), s.cfg.Name, strings.Join(s.cfg.ContentTypes, " or "))
	}
	return nil
}

// event reads, verifies and normalizes one request into an event.
func (s *source) event(w http.ResponseWriter, r *http.Request, name string) (*junctionv1.Event, *rejection) {
	if rej := s.admit(r, time.Now()); rej != nil {
		return nil, rej
	}
	body, rej := s.readBody(w, r)
	if rej != nil {
		return nil, rej
	}
	rej = s.verify(r, body)
	var headerID string
	switch s.cfg.Scheme {
	case SchemeStandardWebhooks:
		headerID = verify.StandardID(r.Header) // webhook-id, or svix-id
	case SchemeHMACSHA256:
		if s.cfg.IDHeader != "" {
			if headerID = r.Header.Get(s.cfg.IDHeader); headerID == "" {
				rej = firstRejection(rej, reject(http.StatusBadRequest, "header %s is missing: it must carry the sender's event id", s.cfg.IDHeader))
			}
		}
	}
	if rej != nil {
		return nil, rej
	}

	obj, err := parseObject(body)
	if err != nil {
		return nil, reject(http.StatusBadRequest, "%s", err)
	}
	typ, err := eventType(obj, s.cfg.TypeField)
	if err != nil {
		return nil, reject(http.StatusBadRequest, "%s", err)
	}
	when, err := eventTime(obj, s.cfg.TimeField)
	if err != nil {
		return nil, reject(http.StatusBadRequest, "%s", err)
	}
	id := headerID
	if id == "" && s.cfg.IDField != "" {
		if id, err = fieldID(obj, s.cfg.IDField); err != nil {
			return nil, reject(http.StatusBadRequest, "%s", err)
		}
	}

	e := &junctionv1.Event{
		Id:              id,
		Source:          name,
		Type:            typ,
		DataContentType: "application/json",
		Data:            body,
	}
	if !when.IsZero() {
		e.Time = timestamppb.New(when)
	}
	if m := modelFor(s.models, typ); m != "" {
		setModel(e, m, obj)
	}
	return e, nil
}

// firstRejection keeps the rejection found first.
func firstRejection(first, second *rejection) *rejection {
	if first != nil {
		return first
	}
	return second
}

// readBody reads the whole body, at most MaxBodyBytes, as every app
// source adapter does.
func (s *source) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *rejection) {
	body, rej := apphook.ReadBody(w, r, s.cfg.MaxBodyBytes)
	if rej != nil {
		return nil, reject(rej.Code, "%s", rej.Message)
	}
	return body, nil
}

// verify checks the request's signature with the source's verifier and
// turns a failure into the answer: 400 for a missing or malformed header,
// 401 for a signature that does not match or a stale timestamp.
func (s *source) verify(r *http.Request, body []byte) *rejection {
	if err := s.verifier.Verify(r, body); err != nil {
		return reject(verify.Status(err), "%s", clip.N(err.Error(), 1024))
	}
	return nil
}

// store emits the event and answers once the hub has it.
func (h *inbound) store(w http.ResponseWriter, r *http.Request, e *junctionv1.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), emitTimeout)
	defer cancel()
	res, err := h.emit(ctx, e)
	switch {
	case err == nil:
	case errors.Is(err, sdk.ErrInvalidEvent):
		h.a.log.LogAttrs(r.Context(), slog.LevelInfo, "webhook rejected",
			slog.String("source", e.Source), slog.Int("status", http.StatusBadRequest), slog.String("reason", clip.N(err.Error(), clip.MaxAttr)))
		sdk.RecordWebhookRejection(r.Context(), e.Source, "invalid_event")
		apphook.WriteError(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, sdk.ErrUnavailable):
		h.a.log.LogAttrs(r.Context(), slog.LevelWarn, "hub unavailable",
			slog.String("source", e.Source), slog.String("event_id", clip.String(e.Id)), slog.Any("error", err))
		w.Header().Set("Retry-After", retryAfterUnavailable)
		apphook.WriteError(w, http.StatusServiceUnavailable, "the hub cannot store events right now: retry later")
		return
	default:
		h.a.log.LogAttrs(r.Context(), slog.LevelError, "emit failed",
			slog.String("source", e.Source), slog.String("event_id", clip.String(e.Id)), slog.Any("error", err))
		apphook.WriteError(w, http.StatusInternalServerError, "the event could not be stored: retry later")
		return
	}
	id := e.Id
	if res.Event != nil && res.Event.Id != "" {
		id = res.Event.Id
	}
	apphook.WriteJSON(w, http.StatusAccepted, Accepted{ID: id, Duplicate: res.Duplicate, Sequence: res.Sequence})
}

func levelOf(code int) slog.Level {
	if code == http.StatusUnauthorized {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
