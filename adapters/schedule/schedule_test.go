package schedule

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

func TestNext(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 2, 3, 500, time.UTC) // a Monday
	for _, tc := range []struct {
		name, cron, tz string
		want           time.Time
	}{
		{name: "five fields", cron: "*/15 * * * *", want: time.Date(2026, 12, 7, 1, 15, 0, 0, time.UTC)},
		{name: "six fields with seconds", cron: "*/10 * * * * *", want: time.Date(2026, 12, 7, 1, 2, 10, 0, time.UTC)},
		{name: "weekdays at nine", cron: "0 9 * * 1-5", want: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)},
		{name: "daily descriptor", cron: "@daily", want: time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)},
		{name: "timezone", cron: "0 2 * * *", tz: "Europe/Berlin", want: time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)},
		{name: "every is epoch aligned", cron: "@every 1m", want: time.Date(2026, 12, 7, 1, 3, 0, 0, time.UTC)},
		{name: "every 7s", cron: "@every 7s", want: time.Unix((at.Unix()/7+1)*7, 0).UTC()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseCron(tc.cron, tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Next(at); !got.Equal(tc.want) {
				t.Errorf("Next(%v) = %v, want %v", at, got, tc.want)
			}
		})
	}
	s, err := ParseCron("0 0 30 2 *", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(at); !got.IsZero() {
		t.Errorf("30 February fired at %v", got)
	}
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func newAdapter(t *testing.T, c *clock, scheds ...ScheduleConfig) *Adapter {
	t.Helper()
	a, err := New(Config{Schedules: scheds})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if c != nil {
		a.now = c.now
	}
	return a
}

// recorder is an EmitFunc that keeps the ids.
type recorder struct{ ids []string }

func (r *recorder) emit(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
	r.ids = append(r.ids, e.GetId())
	return sdk.PublishResult{Event: e}, nil
}

// TestTicksAndCatchUp drives a fake clock: a new schedule starts now;
// ticks within grace are emitted; after a gap, at most catch_up missed
// ticks are, the most recent.
func TestTicksAndCatchUp(t *testing.T) {
	start := time.Date(2026, 12, 7, 10, 0, 30, 0, time.UTC)
	tick := func(h, m int) string { return TickID("hourly", time.Date(2026, 12, 7, h, m, 0, 0, time.UTC)) }
	for _, tc := range []struct {
		name    string
		catchUp int
		steps   []time.Duration // clock offsets from start, one poll each
		want    [][]string      // ids emitted by each poll
	}{
		{
			name:  "on time",
			steps: []time.Duration{0, 30 * time.Minute, 31 * time.Minute, 61 * time.Minute},
			want:  [][]string{nil, nil, nil, {tick(11, 0)}},
		},
		{
			name:  "a gap without catch up",
			steps: []time.Duration{0, 4*time.Hour + time.Minute},
			want:  [][]string{nil, {tick(14, 0)}},
		},
		{
			name:    "a gap with catch up 2",
			catchUp: 2,
			steps:   []time.Duration{0, 4*time.Hour + time.Minute},
			want:    [][]string{nil, {tick(12, 0), tick(13, 0), tick(14, 0)}},
		},
		{
			name:    "catch up more than missed",
			catchUp: 10,
			steps:   []time.Duration{0, 3*time.Hour + 10*time.Minute},
			want:    [][]string{nil, {tick(11, 0), tick(12, 0), tick(13, 0)}},
		},
		{
			name:    "a year-long gap",
			catchUp: 2,
			steps:   []time.Duration{0, 365*24*time.Hour + time.Minute},
			want:    [][]string{nil, {"hourly@2027-12-07T08:00:00Z", "hourly@2027-12-07T09:00:00Z", "hourly@2027-12-07T10:00:00Z"}},
		},
		{
			name:    "a clock behind the cursor moves it not back",
			catchUp: 1,
			steps:   []time.Duration{0, 61 * time.Minute, time.Minute, 62 * time.Minute},
			want:    [][]string{nil, {tick(11, 0)}, nil, nil},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{}
			a := newAdapter(t, c, ScheduleConfig{Name: "hourly", Cron: "@hourly", CatchUp: tc.catchUp, Grace: 2 * time.Minute})
			cur := ""
			for i, step := range tc.steps {
				c.set(start.Add(step))
				rec := &recorder{}
				next, err := a.PollFrom(context.Background(), cur, rec.emit)
				if err != nil {
					t.Fatalf("poll %d: %v", i, err)
				}
				if !slices.Equal(rec.ids, tc.want[i]) {
					t.Errorf("poll %d at %v emitted %v, want %v", i, c.now(), rec.ids, tc.want[i])
				}
				cur = next
			}
		})
	}
}

// TestTickEvent: a tick's id, type, time and data.
func TestTickEvent(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 7, 8, 59, 0, 0, time.UTC)}
	a := newAdapter(t, c, ScheduleConfig{Name: "standup", Cron: "0 9 * * 1-5", Type: "reminder.standup"})
	var got []*junctionv1.Event
	emit := func(_ context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
		got = append(got, e)
		return sdk.PublishResult{}, nil
	}
	cur, _ := a.PollFrom(context.Background(), "", emit)
	c.set(time.Date(2026, 12, 7, 9, 0, 1, 0, time.UTC))
	if _, err := a.PollFrom(context.Background(), cur, emit); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("emitted %d events, want 1", len(got))
	}
	e := got[0]
	var data map[string]string
	_ = json.Unmarshal(e.GetData(), &data)
	if e.GetId() != "standup@2026-12-07T09:00:00Z" || e.GetSource() != "schedule" || e.GetType() != "reminder.standup" ||
		!e.GetTime().AsTime().Equal(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)) ||
		data["schedule"] != "standup" || data["tick"] != "2026-12-07T09:00:00Z" {
		t.Errorf("tick event = id %q source %q type %q time %v data %s", e.GetId(), e.GetSource(), e.GetType(), e.GetTime().AsTime(), e.GetData())
	}
}

// TestRestartEmitsNoTickAgain: the cursor committed in the hub's store
// carries a new adapter past the ticks taken before.
func TestRestartEmitsNoTickAgain(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx := context.Background()
	store, err := sdk.NewCursorStore(ctx, hub.JS, Spec.App, "", sdk.PollCursorName)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := sdk.NewPublisher(hub.JS)
	sched := ScheduleConfig{Name: "often", Cron: "*/10 * * * * *"}
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	poll := func(a *Adapter, at time.Time) []string {
		t.Helper()
		a.now = func() time.Time { return at }
		cur, rev, err := store.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		next, err := a.PollFrom(ctx, cur, func(ctx context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
			ids = append(ids, e.GetId())
			return pub.Publish(ctx, e)
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Commit(ctx, next, rev); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	first := newAdapter(t, nil, sched)
	poll(first, start)
	if got := poll(first, start.Add(35*time.Second)); len(got) != 3 {
		t.Fatalf("first adapter emitted %v, want 3 ticks", got)
	}
	second := newAdapter(t, nil, sched) // the restart
	if got := poll(second, start.Add(35*time.Second)); len(got) != 0 {
		t.Errorf("the restarted adapter emitted %v at the same time, want none", got)
	}
	if got := poll(second, start.Add(45*time.Second)); !slices.Equal(got, []string{"often@2026-12-07T10:00:40Z"}) {
		t.Errorf("the restarted adapter emitted %v, want only the 10:00:40 tick", got)
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 4 {
		t.Errorf("EVENTS holds %d, want 4 ticks", got)
	}
}

// TestTwoInstancesSameCursorStoreOnce: two adapters poll from the same
// cursor at the same time and both emit the same ticks; the hub stores
// each once.
func TestTwoInstancesSameCursorStoreOnce(t *testing.T) {
	hub := sdktest.NewHub(t)
	pub, _ := sdk.NewPublisher(hub.JS)
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	sched := ScheduleConfig{Name: "often", Cron: "*/10 * * * * *"}
	a, b := newAdapter(t, c, sched), newAdapter(t, c, sched)
	cur, _ := a.PollFrom(context.Background(), "", pub.Publish)
	c.set(c.now().Add(31 * time.Second))
	dup := 0
	for _, ad := range []*Adapter{a, b} {
		if _, err := ad.PollFrom(context.Background(), cur, func(ctx context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
			res, err := pub.Publish(ctx, e)
			if res.Duplicate {
				dup++
			}
			return res, err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := hub.StreamMsgs(t, topology.EventsStream); got != 3 {
		t.Errorf("EVENTS holds %d after two instances emitted three ticks each, want 3", got)
	}
	if dup != 3 {
		t.Errorf("%d emits were answered as duplicates, want 3 (the second instance's)", dup)
	}
}

// counting counts what an adapter emits.
type counting struct {
	a *Adapter
	n atomic.Int64
}

func (c *counting) PollFrom(ctx context.Context, cur string, emit sdk.EmitFunc) (string, error) {
	return c.a.PollFrom(ctx, cur, func(ctx context.Context, e *junctionv1.Event) (sdk.PublishResult, error) {
		c.n.Add(1)
		return emit(ctx, e)
	})
}

// TestTwoRunnersEachTickStoredOnce: two Runners on one hub, a schedule
// every second, polling every 100ms on the real clock: the ticks stored
// are distinct and consecutive.
func TestTwoRunnersEachTickStoredOnce(t *testing.T) {
	hub := sdktest.NewHub(t)
	sched := ScheduleConfig{Name: "every-second", Cron: "* * * * * *", Type: "heartbeat"}
	var adapters []*counting
	var stops []func()
	for _, inst := range []string{"a", "b"} {
		c := &counting{a: newAdapter(t, nil, sched)}
		adapters = append(adapters, c)
		r, err := platform.NewRunner(Spec, c, hub.Connect(t), platform.RunnerOptions{
			Config: sdk.Config{Instance: inst, PollInterval: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(ctx) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); <-done }) }
		stops = append(stops, stop)
		t.Cleanup(stop)
	}
	hub.WaitEvents(t, 4, 60*time.Second)
	for _, stop := range stops {
		stop()
	}
	events := hub.WaitEvents(t, 4, 60*time.Second)
	seen := map[string]bool{}
	var ticks []time.Time
	for _, e := range events {
		if seen[e.GetId()] {
			t.Errorf("tick %s stored twice", e.GetId())
		}
		seen[e.GetId()] = true
		ticks = append(ticks, e.GetTime().AsTime())
	}
	slices.SortFunc(ticks, time.Time.Compare)
	for i := 1; i < len(ticks); i++ {
		if d := ticks[i].Sub(ticks[i-1]); d != time.Second {
			t.Errorf("ticks %v and %v are %v apart, want 1s (none missed, none twice)", ticks[i-1], ticks[i], d)
		}
	}
	t.Logf("%d ticks stored; instance a emitted %d, b %d", len(events), adapters[0].n.Load(), adapters[1].n.Load())
}

func TestConfigErrorsSayWhatToFix(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{name: "valid", src: "schedules: [{name: nightly, cron: '0 2 * * *', timezone: Europe/Berlin, type: report.due, catch_up: 1}]"},
		{name: "none", src: "schedules: []", want: "give at least one schedule"},
		{name: "no cron", src: "schedules: [{name: a}]", want: "cron is required"},
		{name: "bad cron", src: "schedules: [{name: a, cron: '61 * * * *'}]", want: `schedules[0] (a): cron "61 * * * *"`},
		{name: "too many fields", src: "schedules: [{name: a, cron: '* * * * * * *'}]", want: "cron"},
		{name: "tz prefix", src: "schedules: [{name: a, cron: 'TZ=UTC * * * * *'}]", want: "give the timezone in timezone:"},
		{name: "bad timezone", src: "schedules: [{name: a, cron: '@daily', timezone: Mars/Olympus}]", want: `timezone "Mars/Olympus"`},
		{name: "never fires", src: "schedules: [{name: a, cron: '0 0 30 2 *'}]", want: "never fires"},
		{name: "sub-second every", src: "schedules: [{name: a, cron: '@every 10ms'}]", want: "@every takes a whole number of seconds"},
		{name: "bad name", src: "schedules: [{name: 'Nightly Report', cron: '@daily'}]", want: ".name:"},
		{name: "twice", src: "schedules: [{name: a, cron: '@daily'}, {name: a, cron: '@hourly'}]", want: "used twice"},
		{name: "bad type", src: "schedules: [{name: a, cron: '@daily', type: 'a b'}]", want: ".type:"},
		{name: "negative catch up", src: "schedules: [{name: a, cron: '@daily', catch_up: -1}]", want: "catch_up -1"},
		{name: "misspelt key", src: "schedules: [{name: a, cron: '@daily', catchup: 1}]", want: "field catchup not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := loadConfig(tc.src)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("config = %v, want valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("config = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func loadConfig(src string) error {
	var c Config
	if err := decodeInto(src, &c); err != nil {
		return err
	}
	return c.Validate()
}

func decodeInto(src string, c *Config) error {
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	return dec.Decode(c)
}
