package main

import (
	"fmt"
	"strings"

	"github.com/junctionhq/junction/bench"
)

func syncName(always bool) string {
	if always {
		return "sync always"
	}
	return "sync default"
}

// fixedAt is fixed rate i of m, zero when m has none (results written
// before the floor was measured).
func fixedAt(m WebhookMedian, i int) FixedMedian {
	if i < len(m.Fixed) {
		return m.Fixed[i]
	}
	return FixedMedian{}
}

// Table renders the results as Markdown tables.
func (r *Results) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Junction benchmark results\n\n")
	fmt.Fprintf(&b, "Started %s, took %.0f s. Machine: %d CPUs, %s, %s memory, %s, %s.\n",
		r.Started.Format("2006-01-02 15:04 MST"), r.Seconds, r.Machine.NProc, r.Machine.CPUModel, r.Machine.MemTotal, r.Machine.GoVersion, r.Machine.OS)
	fmt.Fprintf(&b, "Medians of %d runs; %d-byte payloads.\n\n", r.Settings.Runs, r.Settings.PayloadBytes)
	if len(r.Hop) > 0 {
		fmt.Fprintf(&b, "## 1. Router hop vs two-stream JetStream baseline\n\n")
		fmt.Fprintf(&b, "| durability | N | baseline events/s | junction events/s | ratio | baseline CPU µs/event | junction CPU µs/event | CPU ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, h := range r.Hop {
			fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.2f | %.1f | %.1f | %.2f |\n", syncName(h.SyncAlways), h.N, h.BaselinePerSec, h.JunctionPerSec, h.ThroughputRatio, h.BaselineCPUus, h.JunctionCPUus, h.CPUPerEventRatio)
		}
		b.WriteString("\n")
		if r.Hop[0].PlusPerSec > 0 {
			fmt.Fprintf(&b, "Beside the baseline plus (the baseline routing the shortest way: each protobuf event decoded, its payload parsed, the route's CEL condition evaluated with cel-go):\n\n")
			fmt.Fprintf(&b, "| durability | baseline+ events/s | baseline+ / baseline | junction / baseline+ | CPU µs/event: baseline / baseline+ / junction |\n|---|---:|---:|---:|---|\n")
			for _, h := range r.Hop {
				fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %.1f / %.1f / %.1f |\n", syncName(h.SyncAlways), h.PlusPerSec, h.PlusRatio, h.JunctionOverPlus, h.BaselineCPUus, h.PlusCPUus, h.JunctionCPUus)
			}
			b.WriteString("\n")
		}
	}
	if len(r.Webhook) > 0 {
		fmt.Fprintf(&b, "## 2. Webhook in to webhook out (latency from due time to verified at the receiver)\n\n")
		fmt.Fprintf(&b, "| durability | rate | floor (no hub) p50 / p99 / p99.9 ms | baseline p50 / p99 / p99.9 ms | junction p50 / p99 / p99.9 ms | driver CPU %% of a core: floor / baseline / junction | CPU µs/event: baseline / junction (ratio) |\n|---|---|---|---|---|---|---|\n")
		for _, w := range r.Webhook {
			for i := range w.JunctionMedian.Fixed {
				fm, bm, jm := fixedAt(w.FloorMedian, i), w.BaselineMedian.Fixed[i], w.JunctionMedian.Fixed[i]
				fmt.Fprintf(&b, "| %s | %g/s | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f | %.0f / %.0f / %.0f | %s |\n", syncName(w.SyncAlways), jm.Target,
					fm.P50, fm.P99, fm.P999, bm.P50, bm.P99, bm.P999, jm.P50, jm.P99, jm.P999, fm.DriverCPUPercent, bm.DriverCPUPercent, jm.DriverCPUPercent, cpuPair(bm.CPUus, jm.CPUus))
			}
		}
		fmt.Fprintf(&b, "\n| durability | floor max events/s | baseline max events/s | junction max events/s | ratio | baseline CPU µs/event | junction CPU µs/event | driver CPU µs/event: floor / baseline / junction | baseline RSS MiB | junction RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
		for _, w := range r.Webhook {
			fm, bm, jm := w.FloorMedian, w.BaselineMedian, w.JunctionMedian
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.2f | %.1f | %.1f | %.1f / %.1f / %.1f | %.0f | %.0f |\n", syncName(w.SyncAlways), fm.MaxPerSec, bm.MaxPerSec, jm.MaxPerSec, w.MaxRateRatio,
				bm.CPUus, jm.CPUus, fm.DriverCPUus, bm.DriverCPUus, jm.DriverCPUus, bm.MaxRSSMB, jm.MaxRSSMB)
		}
		writePlus(&b, r.Webhook)
		fmt.Fprintf(&b, "\nMax rate: %d events from %d concurrent senders; events delivered per second from the first send to the last delivery. The floor is the load generator posting straight to the verifying receiver, no hub between; the driver's CPU is the sender's and the receiver's together (one process).\n\n", r.Settings.MaxRateN, r.Settings.MaxRateWorkers)
		for _, w := range r.Webhook {
			writeCPUParts(&b, w)
		}
	}
	if len(r.Routing) > 0 {
		fmt.Fprintf(&b, "## 3. Routing cost (Go benchmarks, services/router)\n\n| benchmark | ns/op | allocs/op |\n|---|---:|---:|\n")
		for _, g := range r.Routing {
			fmt.Fprintf(&b, "| %s | %.1f | %.0f |\n", g.Name, g.NsPerOp, g.AllocsPerOp)
		}
		b.WriteString("\n")
	}
	if len(r.Webhook) == 2 && len(r.Hop) == 2 {
		fmt.Fprintf(&b, "## 4. Durability cost (sync always / sync default)\n\n| measure | baseline | junction |\n|---|---:|---:|\n")
		fmt.Fprintf(&b, "| router hop events/s | %.2f | %.2f |\n", r.Hop[1].BaselinePerSec/r.Hop[0].BaselinePerSec, r.Hop[1].JunctionPerSec/r.Hop[0].JunctionPerSec)
		fmt.Fprintf(&b, "| webhook max events/s | %.2f | %.2f |\n", r.Webhook[1].BaselineMedian.MaxPerSec/r.Webhook[0].BaselineMedian.MaxPerSec, r.Webhook[1].JunctionMedian.MaxPerSec/r.Webhook[0].JunctionMedian.MaxPerSec)
		for i := range r.Webhook[0].JunctionMedian.Fixed {
			fmt.Fprintf(&b, "| webhook p99 at %g/s | %.2f | %.2f |\n", r.Webhook[0].JunctionMedian.Fixed[i].Target,
				r.Webhook[1].BaselineMedian.Fixed[i].P99/r.Webhook[0].BaselineMedian.Fixed[i].P99, r.Webhook[1].JunctionMedian.Fixed[i].P99/r.Webhook[0].JunctionMedian.Fixed[i].P99)
		}
		b.WriteString("\n")
	}
	if f := r.Footprint; f != nil {
		fmt.Fprintf(&b, "## 5. Footprint\n\n| process | idle RSS MiB | start to ready s |\n|---|---:|---:|\n")
		fmt.Fprintf(&b, "| junction serve | %.1f | %.3f |\n| webhook-adapter | %.1f | %.3f |\n", f.ServeIdleRSSMB, f.ServeReadySecs, f.AdapterIdleRSSMB, f.AdapterReadySecs)
		if len(r.Webhook) > 0 {
			fmt.Fprintf(&b, "\nUnder the max-rate webhook run (sync default), junction serve peaked at %.0f MiB resident.\n", r.Webhook[0].JunctionMedian.MaxRSSMB)
		}
	}
	return b.String()
}

// cpuPair is a fixed rate's CPU per event of the baseline and Junction
// with their ratio; "-" where a figure is missing (results written before
// it was measured).
func cpuPair(base, junction float64) string {
	if base <= 0 || junction <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f (%.2fx)", base, junction, junction/base)
}

// writePlus renders the webhook scenario's baseline plus beside the
// baseline and Junction, when it ran.
func writePlus(b *strings.Builder, ws []WebhookSummary) {
	if len(ws) == 0 || ws[0].PlusMedian == nil {
		return
	}
	fmt.Fprintf(b, "\nBeside the baseline plus (the baseline with the idempotency lookup and record, the body parsed for its type, the route's CEL condition over the parsed payload and an awaited attempt record per delivery, each written the shortest way):\n\n")
	fmt.Fprintf(b, "| durability | baseline+ max events/s | baseline+ / baseline | junction / baseline+ | CPU µs/event at max: baseline / baseline+ / junction | baseline+ p99 ms at each rate | baseline+ RSS MiB |\n|---|---:|---:|---:|---|---|---:|\n")
	for _, w := range ws {
		pm := w.PlusMedian
		if pm == nil {
			continue
		}
		var p99s []string
		for _, f := range pm.Fixed {
			p99s = append(p99s, fmt.Sprintf("%.2f at %g/s", f.P99, f.Target))
		}
		fmt.Fprintf(b, "| %s | %.0f | %.2f | %.2f | %.1f / %.1f / %.1f | %s | %.0f |\n", syncName(w.SyncAlways), pm.MaxPerSec, w.PlusRatio, w.JunctionOverPlus,
			w.BaselineMedian.CPUus, pm.CPUus, w.JunctionMedian.CPUus, strings.Join(p99s, ", "), pm.MaxRSSMB)
	}
}

// writeCPUParts renders where each server's CPU went at the max rate (run
// with -profile): its CPU per event divided among the parts of the path
// by the CPU profile's samples, medians over the runs.
func writeCPUParts(b *strings.Builder, w WebhookSummary) {
	bp, jp := w.BaselineMedian.CPUParts, w.JunctionMedian.CPUParts
	if len(bp) == 0 || len(jp) == 0 {
		return
	}
	fmt.Fprintf(b, "Where the CPU went at the max rate, %s (µs per webhook, from CPU profiles of each server, -profile):\n\n", syncName(w.SyncAlways))
	var pp map[string]float64
	if w.PlusMedian != nil {
		pp = w.PlusMedian.CPUParts
	}
	if len(pp) == 0 {
		fmt.Fprintf(b, "| part | baseline | junction | junction - baseline |\n|---|---:|---:|---:|\n")
	} else {
		fmt.Fprintf(b, "| part | baseline | baseline+ | junction | junction - baseline | junction - baseline+ |\n|---|---:|---:|---:|---:|---:|\n")
	}
	var bt, pt, jt float64
	row := func(name string, bv, pv, jv float64) {
		if len(pp) == 0 {
			fmt.Fprintf(b, "| %s | %.1f | %.1f | %+.1f |\n", name, bv, jv, jv-bv)
		} else {
			fmt.Fprintf(b, "| %s | %.1f | %.1f | %.1f | %+.1f | %+.1f |\n", name, bv, pv, jv, jv-bv, jv-pv)
		}
	}
	for _, part := range bench.Parts {
		row(part, bp[part], pp[part], jp[part])
		bt, pt, jt = bt+bp[part], pt+pp[part], jt+jp[part]
	}
	row("all", bt, pt, jt)
	b.WriteString("\n")
}
