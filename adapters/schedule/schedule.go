// Package schedule is Junction's schedule source: cron expressions that
// emit an event per tick, of source "schedule", with data
// {"schedule": <name>, "tick": <RFC 3339 time>}.
//
// A tick's event id is "<name>@<tick time, RFC 3339 UTC>", derived from the
// schedule and the tick's scheduled time alone, so two instances that both
// emit a tick store it once (the hub stores each source and id once). The
// adapter is an sdk.CursorSource: the time of the last tick taken is kept
// in the hub's cursor store, so a restart emits no tick again.
//
// Ticks are emitted when the adapter polls (every hub.poll_interval: set
// it at or below the schedules' resolution, e.g. 1s). A tick due within
// grace (default 2m) of the poll is on time and always emitted; older ones
// were missed (no instance ran, or the polls stalled): at most catch_up of
// them (default 0), the most recent, are emitted after a gap, the rest are
// skipped and logged.
//
// See docs/adapters/schedule.md for the configuration.
package schedule

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	_ "time/tzdata" // timezones where the system has no database

	"github.com/robfig/cron/v3"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk"
	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Version of the adapter.
const Version = "0.1.0"

// Spec describes the schedule adapter: events of source "schedule".
var Spec = sdk.Spec{
	App:         "schedule",
	Version:     Version,
	Description: "Cron schedules: one event per tick, stored once whatever the number of instances.",
}

// Defaults of fields left zero.
const (
	DefaultType  = "tick"
	DefaultGrace = 2 * time.Minute
	// MaxCatchUp bounds catch_up.
	MaxCatchUp = 1000
	// maxOnTime bounds the on-time ticks of one poll.
	maxOnTime = 10000
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid schedule adapter config")

// Config is the adapter's own configuration, the `adapter:` section of its
// YAML file (or a `sources:` entry's config in `junction serve`).
type Config struct {
	// Schedules are the cron schedules, each ticking on its own.
	Schedules []ScheduleConfig `yaml:"schedules"`
}

// ScheduleConfig is one schedule.
type ScheduleConfig struct {
	// Name identifies the schedule: a lowercase token, in its events' ids
	// and data.
	Name string `yaml:"name"`
	// Cron is the expression: five fields (minute hour day-of-month month
	// day-of-week), six with a leading seconds field, or a descriptor
	// (@hourly, @daily, @every 30s, ...).
	Cron string `yaml:"cron"`
	// Timezone is the IANA zone the expression is read in. Default UTC.
	Timezone string `yaml:"timezone"`
	// Type is the event type of the ticks. Default "tick".
	Type string `yaml:"type"`
	// CatchUp is how many missed ticks (due longer than Grace ago) are
	// emitted after a gap, the most recent ones. Default 0: none.
	CatchUp int `yaml:"catch_up"`
	// Grace is how late a tick may be emitted and still be on time.
	// Default 2m; keep it above hub.poll_interval.
	Grace time.Duration `yaml:"grace"`
}

var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed cron expression in a timezone.
type Schedule struct {
	spec  cron.Schedule
	every time.Duration // for @every: ticks at multiples of it since the Unix epoch
	loc   *time.Location
}

// ParseCron parses a cron expression read in timezone tz ("" is UTC).
func ParseCron(expr, tz string) (s *Schedule, err error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, errors.New("cron is required: e.g. \"0 9 * * 1-5\" (09:00 on weekdays) or \"@every 30s\"")
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, errors.New("give the timezone in timezone:, not as a TZ= prefix")
	}
	loc := time.UTC
	if tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return nil, fmt.Errorf("timezone %q: %w", tz, err)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("cron %q cannot be read", expr)
		}
	}()
	if d, ok := strings.CutPrefix(expr, "@every "); ok {
		every, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || every < time.Second || every%time.Second != 0 {
			return nil, fmt.Errorf("cron %q: @every takes a whole number of seconds, at least 1s (e.g. @every 90s)", expr)
		}
	}
	spec, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	s = &Schedule{spec: spec, loc: loc}
	if d, ok := spec.(cron.ConstantDelaySchedule); ok {
		s.every = d.Delay
	}
	return s, nil
}

// Next returns the first tick after t, or the zero time when there is
// none (an expression such as "0 0 30 2 *" never fires).
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		n := t.UnixNano() / int64(s.every)
		if t.UnixNano() < 0 {
			n--
		}
		return time.Unix(0, (n+1)*int64(s.every)).UTC()
	}
	next := s.spec.Next(t.In(s.loc))
	if next.IsZero() {
		return next
	}
	return next.UTC()
}

// Validate reports every mistake in c and how to fix it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if len(c.Schedules) == 0 {
		bad("schedules: give at least one schedule (name, cron)")
	}
	seen := map[string]bool{}
	for i, s := range c.Schedules {
		where := fmt.Sprintf("schedules[%d]", i)
		if s.Name != "" {
			where = fmt.Sprintf("schedules[%d] (%s)", i, s.Name)
		}
		if err := topology.ValidToken(s.Name); err != nil {
			bad("%s.name: %v", where, err)
		} else if seen[s.Name] {
			bad("%s.name: %q is used twice: give each schedule its own name", where, s.Name)
		}
		seen[s.Name] = true
		if sched, err := ParseCron(s.Cron, s.Timezone); err != nil {
			bad("%s: %v", where, err)
		} else if sched.Next(time.Now()).IsZero() {
			bad("%s: cron %q never fires", where, s.Cron)
		}
		if s.Type != "" {
			if err := topology.ValidType(s.Type); err != nil {
				bad("%s.type: %v", where, err)
			}
		}
		if s.CatchUp < 0 || s.CatchUp > MaxCatchUp {
			bad("%s.catch_up %d: use 0 to %d missed ticks", where, s.CatchUp, MaxCatchUp)
		}
		if s.Grace < 0 {
			bad("%s.grace %v: use a positive duration", where, s.Grace)
		}
	}
	return errors.Join(errs...)
}

// Adapter emits the ticks of its schedules. It is an sdk.CursorSource.
type Adapter struct {
	schedules []*schedule
	log       *slog.Logger
	now       func() time.Time
}

type schedule struct {
	ScheduleConfig
	sched *Schedule
}

// New returns the adapter for cfg.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Adapter{log: slog.Default().With("app", Spec.App), now: time.Now}
	for _, s := range cfg.Schedules {
		sched, _ := ParseCron(s.Cron, s.Timezone)
		s.Type = cmp.Or(s.Type, DefaultType)
		s.Grace = cmp.Or(s.Grace, DefaultGrace)
		a.schedules = append(a.schedules, &schedule{ScheduleConfig: s, sched: sched})
	}
	return a, nil
}

// Sources names the event source the adapter publishes as.
func (a *Adapter) Sources() []string { return []string{Spec.App} }

// cursor is the adapter's position: per schedule, the time up to which
// its ticks were taken.
type cursor struct {
	Last map[string]time.Time `json:"last"`
}

// TickID is the event id of schedule name's tick at t.
func TickID(name string, t time.Time) string {
	return name + "@" + t.UTC().Format(time.RFC3339)
}

// PollFrom emits every schedule's ticks due since the cursor and returns
// the cursor after them. A schedule new to the cursor starts now.
func (a *Adapter) PollFrom(ctx context.Context, stored string, emit sdk.EmitFunc) (string, error) {
	cur := cursor{}
	if stored != "" {
		if err := json.Unmarshal([]byte(stored), &cur); err != nil {
			a.log.Warn("unreadable cursor, schedules start now", "err", err)
			cur = cursor{}
		}
	}
	if cur.Last == nil {
		cur.Last = map[string]time.Time{}
	}
	now := a.now().UTC()
	for _, s := range a.schedules {
		last, ok := cur.Last[s.Name]
		if !ok {
			cur.Last[s.Name] = now
			continue
		}
		if last.After(now) {
			continue // this instance's clock is behind: never move the cursor back
		}
		ticks, skipped, upTo := s.due(last, now)
		if skipped {
			a.log.Warn("missed ticks skipped", "schedule", s.Name, "after", last, "up_to", upTo, "catch_up", s.CatchUp)
		}
		for _, t := range ticks {
			data, _ := json.Marshal(map[string]string{"schedule": s.Name, "tick": t.Format(time.RFC3339)})
			_, err := emit(ctx, &junctionv1.Event{
				Id:              TickID(s.Name, t),
				Source:          Spec.App,
				Type:            s.Type,
				Time:            timestamppb.New(t),
				DataContentType: "application/json",
				Data:            data,
			})
			if err != nil {
				return "", fmt.Errorf("schedule %s: tick %s: %w", s.Name, t.Format(time.RFC3339), err)
			}
		}
		next := upTo
		if n := len(ticks); n > 0 && ticks[n-1].After(next) {
			next = ticks[n-1]
		}
		if next.After(last) {
			cur.Last[s.Name] = next
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return string(b), nil
}

// due returns the ticks to emit after last at now, oldest first: the
// most recent CatchUp of those due before now-Grace, then all due since.
// skipped says missed ticks were left out; upTo is the time up to which
// ticks were considered.
func (s *schedule) due(last, now time.Time) (ticks []time.Time, skipped bool, upTo time.Time) {
	boundary := now.Add(-s.Grace)
	from := last
	if last.Before(boundary) {
		missed := s.latestMissed(last, boundary)
		if len(missed) > s.CatchUp {
			skipped = true
			missed = missed[len(missed)-s.CatchUp:]
		}
		ticks = append(ticks, missed...)
		from = boundary
	}
	ticks = append(ticks, s.between(from, now, maxOnTime)...)
	return ticks, skipped, now
}

// between returns the ticks in (from, to], at most limit of them.
func (s *schedule) between(from, to time.Time, limit int) []time.Time {
	var out []time.Time
	for t := s.sched.Next(from); !t.IsZero() && !t.After(to) && len(out) < limit; t = s.sched.Next(t) {
		out = append(out, t)
	}
	return out
}

// lastN returns the last n ticks in (from, to], looking at no more than
// maxWalk ticks from the start (a schedule dense in a part of a long gap).
func (s *schedule) lastN(from, to time.Time, n int) []time.Time {
	const maxWalk = 1 << 22
	var out []time.Time
	walked := 0
	for t := s.sched.Next(from); !t.IsZero() && !t.After(to) && walked < maxWalk; t = s.sched.Next(t) {
		walked++
		out = append(out, t)
		if len(out) > n {
			out = out[1:]
		}
	}
	return out
}

// latestMissed returns up to CatchUp+1 of the latest ticks in (last,
// boundary] (one more than kept, to tell whether any were skipped),
// looking back from boundary in doubling windows so a long gap costs no
// walk through all of its ticks.
func (s *schedule) latestMissed(last, boundary time.Time) []time.Time {
	want := s.CatchUp + 1
	for window := time.Second; ; window *= 2 {
		from := boundary.Add(-window)
		if !from.After(last) || window > 100*365*24*time.Hour {
			from = last
		}
		ticks := s.lastN(from, boundary, want)
		if len(ticks) >= want || from.Equal(last) {
			return ticks
		}
	}
}
