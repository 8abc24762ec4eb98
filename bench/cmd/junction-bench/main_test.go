package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunSmall runs the driver's router-hop scenario, both durability
// modes, at a very small N and checks the results file and table: every
// run must have carried every event (the driver fails otherwise).
func TestRunSmall(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	args := []string{"-out", out, "-work", t.TempDir(), "-runs", "1", "-n", "300", "-sync-n", "50", "-skip", "webhook,routing,footprint"}
	if err := run(context.Background(), args, &stdout); err != nil {
		t.Fatalf("run(%q) = %v", args, err)
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if len(res.Hop) != 2 {
		t.Fatalf("router_hop has %d summaries, want 2 (sync default and always)", len(res.Hop))
	}
	for i, want := range []int{300, 50} {
		h := res.Hop[i]
		if len(h.Runs) != 2 {
			t.Errorf("hop %d: %d runs, want baseline and junction", i, len(h.Runs))
		}
		for _, r := range h.Runs {
			if r.N != want || r.EventsPerSec <= 0 {
				t.Errorf("hop %d %s: N %d rate %v, want N %d and a positive rate", i, r.Pipeline, r.N, r.EventsPerSec, want)
			}
		}
	}
	if res.Machine.NProc == 0 || res.Machine.GoVersion == "" {
		t.Errorf("machine = %+v, want nproc and Go version", res.Machine)
	}
	if !strings.Contains(stdout.String(), "Router hop") {
		t.Errorf("table misses the router hop section:\n%s", stdout.String())
	}
}
