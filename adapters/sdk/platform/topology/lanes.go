package topology

import (
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Lanes: route isolation inside one destination. A destination's sink runs
// attempts for all its routes on one pool of workers, and caps how many of
// them one route may hold. When a route is at its cap (its endpoint hangs
// or is slow), its further deliveries are parked on the LANES stream under
//
//	junction.lanes.<destination>.<route>
//
// and attempted by that route's own lane consumer (LaneConsumer), with its
// own workers and at most the cap in flight, until the lane is empty. A
// slow route therefore never takes all the destination's workers, and its
// backlog waits on the stream, not against the live consumer's
// MaxAckPending. Parking is not an attempt: the parked message carries the
// number of attempts made so far (HeaderAttempts).
const (
	LanesStream = "LANES"
	LanesPrefix = "junction.lanes."
)

// SplitWorkSubject returns the destination and route of a subject that
// holds one of a destination's deliveries: fresh (DELIVERIES), waiting for
// a retry (RETRIES) or parked in a lane (LANES). A filter such as
// "junction.retries.<destination>.>" gives the destination and route ">".
func SplitWorkSubject(subject string) (destination, routeID string, ok bool) {
	for _, p := range []string{DeliveriesPrefix, RetriesPrefix, LanesPrefix} {
		if rest, found := strings.CutPrefix(subject, p); found {
			destination, routeID, ok = strings.Cut(rest, ".")
			return destination, routeID, ok && destination != "" && routeID != ""
		}
	}
	return "", "", false
}

// LaneSubject is the subject deliveries of route to destination are parked
// under while the route is at its cap.
func LaneSubject(destination, routeID string) string {
	return LanesPrefix + destination + "." + routeID
}

// LaneConsumer is the durable consumer name of a route's lane. Tokens never
// hold upper-case letters, so "-ROUTE-" separates the two unambiguously.
func LaneConsumer(destination, routeID string) string {
	return "lane-" + destination + "-ROUTE-" + routeID
}

func lanesStream(o Options) jetstream.StreamConfig {
	return waitingStream(o, LanesStream, LanesPrefix, "Deliveries of routes at their concurrency cap, waiting for the route's own lane.")
}
