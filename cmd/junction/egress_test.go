package main

import (
	"regexp"
	"syscall"
	"testing"
)

// TestServeWarnsLoopbackDeliveries starts serve with examples/junction.yaml,
// which allows loopback deliveries for the README's receiver: the banner
// says so. Without that config no warning is printed.
func TestServeWarnsLoopbackDeliveries(t *testing.T) {
	for _, tt := range []struct {
		name   string
		args   []string
		isWarn bool
	}{
		{"example config", []string{"--config", "../../examples/junction.yaml"}, true},
		{"no config", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
				"--nats-addr", "127.0.0.1:0", "--log-level", "warn"}, tt.args...)
			p := start(t, args...)
			p.waitLine(t, regexp.MustCompile(`^\s+data\s`))
			// Stop it; once it has exited, every line it printed is in
			// p.lines, the warning (which follows the data line) included.
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.wait(t); err != nil {
				t.Fatalf("serve exited with %v", err)
			}
			warn := regexp.MustCompile(`^\s+warning\s+webhook deliveries may reach loopback addresses`)
			var m []string
			for len(p.lines) > 0 {
				if mm := warn.FindStringSubmatch(<-p.lines); mm != nil {
					m = mm
				}
			}
			if tt.isWarn && m == nil {
				t.Fatalf("no warning line after the banner:\n%s", p.output())
			}
			if !tt.isWarn && m != nil {
				t.Fatalf("warning %q printed without a loopback allow-list", m[0])
			}
		})
	}
}
