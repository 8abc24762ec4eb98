package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/junctionhq/junction/bench"
)

// TestRunSmall runs the driver's router-hop scenario, both durability
// modes, at a very small N and checks the results file and table: every
// run must have carried every event (the driver fails otherwise), and the
// baseline plus runs unless skipped.
func TestRunSmall(t *testing.T) {
	for _, tc := range []struct {
		name, skip string
		plus       bool
	}{
		{"with the baseline plus", "webhook,routing,footprint", true},
		{"plus skipped", "webhook,routing,footprint,plus", false},
	} {
		t.Run(tc.name, func(t *testing.T) { runSmall(t, tc.skip, tc.plus) })
	}
}

func runSmall(t *testing.T, skip string, plus bool) {
	out := t.TempDir()
	var stdout bytes.Buffer
	args := []string{"-out", out, "-work", t.TempDir(), "-runs", "1", "-n", "300", "-sync-n", "50", "-skip", skip}
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
		wantRuns := 2
		if plus {
			wantRuns = 3
		}
		if len(h.Runs) != wantRuns {
			t.Errorf("hop %d: %d runs, want %d (baseline, junction and, unless skipped, baseline+)", i, len(h.Runs), wantRuns)
		}
		if gotPlus := h.PlusPerSec > 0 && h.PlusRatio > 0 && h.JunctionOverPlus > 0; gotPlus != plus {
			t.Errorf("hop %d: baseline+ rate %v, ratios %v and %v; want them measured: %v", i, h.PlusPerSec, h.PlusRatio, h.JunctionOverPlus, plus)
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
	if got := strings.Contains(stdout.String(), "Beside the baseline plus"); got != plus {
		t.Errorf("table shows the baseline plus: %v, want %v:\n%s", got, plus, stdout.String())
	}
}

// TestTableShowsTheBaselinePlus renders webhook results with and without
// the baseline plus: its row and its column of the CPU parts appear only
// when it ran, with its own figures.
func TestTableShowsTheBaselinePlus(t *testing.T) {
	parts := func(us float64) map[string]float64 {
		m := map[string]float64{}
		for _, p := range bench.Parts {
			m[p] = us
		}
		return m
	}
	fixed := []FixedMedian{{Target: 500, P99: 1.5}, {Target: 2000, P99: 4.25}}
	w := WebhookSummary{
		BaselineMedian: WebhookMedian{Fixed: fixed, MaxPerSec: 4000, CPUus: 250, CPUParts: parts(1)},
		JunctionMedian: WebhookMedian{Fixed: fixed, MaxPerSec: 2000, CPUus: 500, CPUParts: parts(3)},
		MaxRateRatio:   0.5,
	}
	plain := (&Results{Webhook: []WebhookSummary{w}}).Table()
	w.PlusMedian = &WebhookMedian{Fixed: fixed, MaxPerSec: 3000, CPUus: 333.5, MaxRSSMB: 150, CPUParts: parts(2)}
	w.PlusRatio, w.JunctionOverPlus = 0.75, 0.67
	withPlus := (&Results{Webhook: []WebhookSummary{w}}).Table()
	for _, tc := range []struct {
		name  string
		table string
		row   string
		want  bool
	}{
		{"plain: no plus row", plain, "Beside the baseline plus", false},
		{"plain: three-column parts", plain, "| all | 12.0 | 36.0 | +24.0 |", true},
		{"plus row", withPlus, "| sync default | 3000 | 0.75 | 0.67 | 250.0 / 333.5 / 500.0 | 1.50 at 500/s, 4.25 at 2000/s | 150 |", true},
		{"plus parts column", withPlus, "| all | 12.0 | 24.0 | 36.0 | +24.0 | +12.0 |", true},
	} {
		if got := strings.Contains(tc.table, tc.row); got != tc.want {
			t.Errorf("%s: table has %q: %v, want %v\n%s", tc.name, tc.row, got, tc.want, tc.table)
		}
	}
}
