package schedule

import (
	"testing"
	"time"
)

// FuzzParseCron: any expression and timezone parse or fail without
// panicking, and a parsed schedule's next tick is after the time given.
func FuzzParseCron(f *testing.F) {
	for _, s := range [][2]string{
		{"*/15 * * * *", ""}, {"0 9 * * 1-5", "Europe/Berlin"}, {"@every 90s", ""}, {"@daily", "America/New_York"},
		{"*/10 * * * * *", ""}, {"0 0 30 2 *", ""}, {"TZ=", ""}, {"CRON_TZ=X", ""}, {"1-0/0 * * * *", ""}, {"@every -1s", ""},
	} {
		f.Add(s[0], s[1])
	}
	at := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr, tz string) {
		s, err := ParseCron(expr, tz)
		if err != nil {
			return
		}
		if next := s.Next(at); !next.IsZero() && !next.After(at) {
			t.Errorf("ParseCron(%q, %q).Next(%v) = %v, not after", expr, tz, at, next)
		}
	})
}

// FuzzConfig: any YAML fails to decode, fails Validate, or builds.
func FuzzConfig(f *testing.F) {
	f.Add("schedules: [{name: nightly, cron: '0 2 * * *', timezone: Europe/Berlin, type: report.due, catch_up: 1, grace: 5m}]")
	f.Add("schedules: [{name: a, cron: '@every 1s'}, {name: b, cron: '* * * * * *'}]")
	f.Add("schedules: {}")
	f.Fuzz(func(t *testing.T, src string) {
		if err := loadConfig(src); err != nil {
			return
		}
		var c Config
		_ = decodeInto(src, &c)
		if _, err := New(c); err != nil {
			t.Errorf("New refused a config Validate accepted: %v", err)
		}
	})
}
