package bench

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/pprof/profile"
)

// The parts of a webhook's path a CPU sample of the webhook scenario's
// server (junction serve or the baseline server, plain or plus) is charged to, by the
// functions on its stack. The servers do the same steps with the same
// libraries, so a part's figures can be read side by side.
const (
	PartHTTPStore   = "webhook in: storing the event (Junction: id lookup, publish, id record)"
	PartHTTPVerify  = "webhook in: signature check and JSON parse"
	PartHTTPRest    = "webhook in: net/http, limits, metrics, the answer"
	PartRouting     = "routing (Junction: the router; baselines: the republisher)"
	PartDeliverPOST = "delivery: the outbound POST (request side)"
	PartDeliverLog  = "delivery: the attempt record"
	PartDeliverRest = "delivery: fetch, decode, ack, lanes, metrics"
	PartConnLoops   = "delivery: outbound HTTP connection loops"
	PartNATSServer  = "nats-server (streams, consumers, client connections)"
	PartNATSClient  = "nats.go connections (read loops, flushers, acks)"
	PartGC          = "garbage collector in the background"
	PartOther       = "scheduler and everything else"
)

// Parts lists the parts in the order a table shows them.
var Parts = []string{PartHTTPStore, PartHTTPVerify, PartHTTPRest, PartRouting, PartDeliverPOST, PartDeliverLog,
	PartDeliverRest, PartConnLoops, PartNATSServer, PartNATSClient, PartGC, PartOther}

// cpuPart is the part a sample whose stack holds the functions funcs
// (leaf first, fully qualified names) is charged to.
func cpuPart(funcs []string) string {
	has := func(subs ...string) bool {
		for _, f := range funcs {
			for _, s := range subs {
				if strings.Contains(f, s) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("net/http.(*conn).serve", "net/http.(*connReader).backgroundRead"):
		switch {
		case has("sdk.(*Publisher).Publish") || (has("bench.storeWebhook") && has("nats-io/nats")):
			return PartHTTPStore
		case has("sdk/verify.", "webhook.parseObject", "webhook.(*source).event", "standard-webhooks"),
			has("bench.storeWebhookPlus") && has("encoding/json."):
			return PartHTTPVerify
		}
		return PartHTTPRest
	case has("sdk.(*consumeLoop)", "sdk.(*lanes)", "bench.deliverWorker"):
		switch {
		case has("webhook.(*outbound).deliver", "bench.postSigned"):
			return PartDeliverPOST
		case has("sdk.(*sink).confirmAttempt", "publishAttempt", "bench.recordAttempt"):
			return PartDeliverLog
		}
		return PartDeliverRest
	case has("net/http.(*persistConn)"):
		return PartConnLoops
	case has("services/router.(*Router)", "bench.republish"):
		return PartRouting
	case has("nats-io/nats-server"):
		return PartNATSServer
	case has("nats-io/nats.go", "nats-io/nats%2ego"):
		return PartNATSClient
	case has("runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge"):
		return PartGC
	}
	return PartOther
}

// CPUShares reads the CPU profile at path and returns each part's share
// of its CPU time (the shares sum to 1).
func CPUShares(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("%s: not a CPU profile", path)
	}
	sums := map[string]float64{}
	var total float64
	var funcs []string
	for _, s := range p.Sample {
		funcs = funcs[:0]
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function != nil {
					funcs = append(funcs, line.Function.Name)
				}
			}
		}
		v := float64(s.Value[idx])
		sums[cpuPart(funcs)] += v
		total += v
	}
	if total == 0 {
		return nil, fmt.Errorf("%s: no samples", path)
	}
	for k := range sums {
		sums[k] /= total
	}
	return sums, nil
}
