package router

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/platform/deliverypolicy"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func sampleEvent() *junctionv1.Event {
	return &junctionv1.Event{
		Id:              "evt_1",
		Source:          "acme",
		Type:            "user.created",
		Time:            timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		DataContentType: "application/json",
		Data:            []byte(`{"name":"ada","plan":"pro","seats":12,"price":9.5,"tags":["a","b"],"big":9007199254740993}`),
		Model:           &junctionv1.Event_User{User: &modelv1.User{Id: "u1", Email: "ada@acme.com"}},
	}
}

func mustCompile(t testing.TB, r *junctionv1.Route) *Compiled {
	t.Helper()
	if r.Name == "" {
		r.Name = "routes/r1"
	}
	if len(r.Targets) == 0 {
		r.Targets = []*junctionv1.Target{webhookTarget()}
	}
	c, err := Compile(r)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func TestEvaluateMatching(t *testing.T) {
	tests := []struct {
		name          string
		filter, cond  string
		mod           func(e *junctionv1.Event)
		wantFilter    bool
		wantCondition bool
		wantReason    string
	}{
		{"exact filter, no condition", "acme.user.created", "", nil, true, true, ""},
		{"wildcard filter", "acme.*.created", "", nil, true, true, ""},
		{"tail filter", "acme.>", "", nil, true, true, ""},
		{"other source", "shop.>", "", nil, false, false, "does not match filter junction.events.shop.>"},
		{"type condition true", "acme.>", `event.type == "user.created"`, nil, true, true, ""},
		{"type condition false", "acme.>", `event.type == "user.deleted"`, nil, true, false, "condition is false"},
		{"data string", "acme.>", `data.plan == "pro"`, nil, true, true, ""},
		{"data int vs int", "acme.>", `data.seats == 12 && data.seats > 10`, nil, true, true, ""},
		{"data double vs int", "acme.>", `data.price > 9 && data.price < 10`, nil, true, true, ""},
		{"data list", "acme.>", `"b" in data.tags && size(data.tags) == 2`, nil, true, true, ""},
		{"data big int exact", "acme.>", `data.big == 9007199254740993`, nil, true, true, ""},
		{"optional field", "acme.>", `data.?missing.orValue("x") == "x"`, nil, true, true, ""},
		{"canonical model", "acme.>", `event.user.email.endsWith("@acme.com")`, nil, true, true, ""},
		{"canonical model absent", "acme.>", `has(event.contact) && event.contact.email != ""`, nil, true, false, "condition is false"},
		{"missing data field is an error", "acme.>", `data.nope == "x"`, nil, true, false, "condition failed: no such key: nope"},
		{"dyn condition not bool", "acme.>", `data.plan`, nil, true, false, "condition failed: evaluated to string, not bool"},
		{"not json data is null", "acme.>", `data == null`, func(e *junctionv1.Event) { e.DataContentType = "text/plain" }, true, true, ""},
		{"empty content type parses json", "acme.>", `data.plan == "pro"`, func(e *junctionv1.Event) { e.DataContentType = "" }, true, true, ""},
		{"broken json is null", "acme.>", `data == null`, func(e *junctionv1.Event) { e.Data = []byte(`{"a":`) }, true, true, ""},
		{"+json content type", "acme.>", `data.seats == 12`, func(e *junctionv1.Event) { e.DataContentType = "application/vnd.acme+json; charset=utf-8" }, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCompile(t, &junctionv1.Route{Filter: tt.filter, Condition: tt.cond})
			e := sampleEvent()
			if tt.mod != nil {
				tt.mod(e)
			}
			res, err := c.Evaluate(e)
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if res.FilterMatched != tt.wantFilter || res.ConditionMatched != tt.wantCondition {
				t.Fatalf("filter, condition = %v, %v; want %v, %v (reason %q)", res.FilterMatched, res.ConditionMatched, tt.wantFilter, tt.wantCondition, res.Reason)
			}
			if !strings.Contains(res.Reason, tt.wantReason) || (tt.wantReason == "" && res.Reason != "") {
				t.Errorf("Reason = %q, want it to contain %q", res.Reason, tt.wantReason)
			}
			if got, want := len(res.Deliveries), 0; tt.wantCondition {
				want = 1
				if got != want {
					t.Errorf("got %d deliveries, want %d", got, want)
				}
			} else if got != want {
				t.Errorf("got %d deliveries, want none", got)
			}
			if (res.ConditionError != nil) != strings.HasPrefix(tt.wantReason, "condition failed") {
				t.Errorf("ConditionError = %v, want one only when the condition failed", res.ConditionError)
			}
		})
	}
}

func TestEvaluateTransform(t *testing.T) {
	tests := []struct {
		name      string
		transform string
		want      string // JSON, compared parsed
	}{
		{"map", `{"text": "new user " + event.user.email, "plan": data.plan, "seats": data.seats + 1, "tags": data.tags}`,
			`{"text":"new user ada@acme.com","plan":"pro","seats":13,"tags":["a","b"]}`},
		{"nested and types", `{"a": {"b": [1, 2.5, true, null, "x"]}, "u": 3u, "at": event.time, "d": duration("1.5s"), "raw": b"hi"}`,
			`{"a":{"b":[1,2.5,true,null,"x"]},"u":3,"at":"2026-01-02T03:04:05Z","d":"1.500s","raw":"aGk="}`},
		{"string", `"hello " + data.name.upperAscii()`, `"hello ADA"`},
		{"whole data", `data`, `{"name":"ada","plan":"pro","seats":12,"price":9.5,"tags":["a","b"],"big":9007199254740993}`},
		{"list ext", `data.tags.map(t, t + "!").join(",")`, `"a!,b!"`},
		{"message", `event.user`, `{"id":"u1","email":"ada@acme.com"}`},
		{"html not escaped", `"<b>&</b>"`, `"<b>&</b>"`},
		{"int keys", `{1: "one"}`, `{"1":"one"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &junctionv1.Route{Filter: "acme.>", Targets: []*junctionv1.Target{{Destination: "slack", Action: "chat.postMessage", Transform: tt.transform, Config: map[string]string{"channel": "#new"}}}}
			c := mustCompile(t, r)
			res, err := c.Evaluate(sampleEvent())
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if len(res.Deliveries) != 1 {
				t.Fatalf("got %d deliveries (reason %q), want 1", len(res.Deliveries), res.Reason)
			}
			d := res.Deliveries[0]
			if d.ContentType != ContentTypeJSON {
				t.Errorf("content type = %q, want %q", d.ContentType, ContentTypeJSON)
			}
			var got, want any
			if err := json.Unmarshal(d.Payload, &got); err != nil {
				t.Fatalf("payload %s is not JSON: %v", d.Payload, err)
			}
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("payload = %s, want %s", d.Payload, tt.want)
			}
			if tt.name == "html not escaped" && strings.Contains(string(d.Payload), `\u003c`) {
				t.Errorf("payload = %s, want HTML characters unescaped", d.Payload)
			}
		})
	}
}

func TestEvaluateDelivery(t *testing.T) {
	policy := &junctionv1.DeliveryPolicy{MaxAttempts: 3}
	c := mustCompile(t, &junctionv1.Route{
		Name:     "routes/welcome",
		Revision: 7,
		Filter:   "acme.user.*",
		Policy:   policy,
		Targets: []*junctionv1.Target{
			{Destination: "webhook", Action: "post", Config: map[string]string{"url": "https://x"}},
			{Name: "chat", Destination: "slack", Transform: `{"text": data.name}`},
			{Name: "broken", Destination: "slack", Transform: `{"text": data.nope}`},
		},
	})
	e := sampleEvent()
	res, err := c.Evaluate(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 2 || len(res.Failures) != 1 {
		t.Fatalf("got %d deliveries and %d failures, want 2 and 1", len(res.Deliveries), len(res.Failures))
	}
	pass := res.Deliveries[0]
	want := &junctionv1.Delivery{
		Id:            DeliveryID("acme", "evt_1", "welcome", "0"),
		EventId:       "evt_1",
		EventSource:   "acme",
		EventType:     "user.created",
		EventTime:     e.Time,
		RouteId:       "welcome",
		RouteRevision: 7,
		Target:        "0",
		Destination:   "webhook",
		Action:        "post",
		Config:        map[string]string{"url": "https://x"},
		Payload:       e.Data,
		ContentType:   "application/json",
		Policy:        deliverypolicy.WithDefaults(policy),
	}
	if pass.CreateTime == nil {
		t.Errorf("create_time not set")
	}
	got := proto.Clone(pass).(*junctionv1.Delivery)
	got.CreateTime = nil
	if !proto.Equal(got, want) {
		t.Errorf("pass-through delivery =\n%v\nwant\n%v", got, want)
	}
	if got, want := res.Deliveries[1].Target, "chat"; got != want {
		t.Errorf("second delivery target = %q, want %q", got, want)
	}
	f := res.Failures[0]
	if f.Delivery.Target != "broken" || f.Err == nil || !strings.Contains(res.Reason, "target broken: transform failed") {
		t.Errorf("failure = %v, %v (reason %q); want target broken with an error", f.Delivery.Target, f.Err, res.Reason)
	}
	if string(f.Delivery.Payload) != string(e.Data) {
		t.Errorf("failure payload = %s, want the original data", f.Delivery.Payload)
	}

	if _, err := c.Evaluate(&junctionv1.Event{Id: "x"}); err == nil {
		t.Errorf("Evaluate(event without source) = nil error, want ErrInvalidEvent")
	}
}

func TestDeliveryID(t *testing.T) {
	a := DeliveryID("acme", "evt_1", "r1", "0")
	if a != DeliveryID("acme", "evt_1", "r1", "0") {
		t.Fatalf("DeliveryID not stable")
	}
	if !strings.HasPrefix(a, "dlv_") || len(a) != 36 {
		t.Errorf("DeliveryID = %q, want dlv_ and 32 characters", a)
	}
	others := [][4]string{
		{"acme", "evt_1", "r1", "1"},
		{"acme", "evt_1", "r2", "0"},
		{"acme", "evt_2", "r1", "0"},
		{"acmf", "evt_1", "r1", "0"},
		{"acme", "evt_1r", "1", "0"}, // shifted boundary
	}
	for _, o := range others {
		if b := DeliveryID(o[0], o[1], o[2], o[3]); b == a {
			t.Errorf("DeliveryID(%v) = %q, same as for acme/evt_1/r1/0", o, b)
		}
	}
}

func TestMatchSubject(t *testing.T) {
	tests := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b", false},
		{"a.b", "a.b.c", false},
		{"a.*.c", "a.x.c", true},
		{"a.*.c", "a.x.y.c", false},
		{"a.*", "a", false},
		{"*", "a", true},
		{"*", "a.b", false},
		{"a.>", "a.b", true},
		{"a.>", "a.b.c.d", true},
		{"a.>", "a", false},
		{">", "a", true},
		{">", "a.b", true},
		{"*.>", "a", false},
		{"*.>", "a.b", true},
		{"a.*.>", "a.b.c", true},
		{"a.b", "a.bc", false},
		{"ab", "a", false},
		{"a.b.c", "a.b.x", false},
		{"junction.events.acme.user.*", "junction.events.acme.user.created", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"|"+tt.subject, func(t *testing.T) {
			if got := MatchSubject(tt.pattern, tt.subject); got != tt.want {
				t.Errorf("MatchSubject(%q, %q) = %v, want %v", tt.pattern, tt.subject, got, tt.want)
			}
		})
	}
}
