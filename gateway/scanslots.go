package gateway

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// MaxScansPerCaller is how many ListEvents and ReplayEvents calls one
// caller (an API key or a token subject; with auth off, every caller
// alike) may run at once on one gateway. Each reads EVENTS through a
// consumer of its own and a replay may run for minutes, so one script or
// dashboard looping on them must not take the gateway's reading from
// everyone else; the per-caller rate limit bounds how often calls start,
// this how many run. The caller past it gets ResourceExhausted (HTTP 429)
// with Retry-After.
const MaxScansPerCaller = 8

// scanSlots counts the running ListEvents and ReplayEvents calls by caller.
type scanSlots struct {
	mu sync.Mutex
	n  map[string]int
}

// scanSlot takes one of the caller's MaxScansPerCaller slots, or refuses
// the call; release gives it back.
func (s *Server) scanSlot(ctx context.Context) (release func(), err error) {
	key, who := "", "this caller"
	if p, ok := PrincipalFrom(ctx); ok {
		key, who = p.RateKey(), p.String()
	}
	s.scans.mu.Lock()
	defer s.scans.mu.Unlock()
	if s.scans.n[key] >= MaxScansPerCaller {
		_ = grpc.SetHeader(ctx, metadata.Pairs(MDRetryAfter, "1"))
		return nil, status.Errorf(codes.ResourceExhausted, "%s already runs %d event searches and replays on this gateway, the most one caller may: wait for one to end, or retry in a second", who, MaxScansPerCaller)
	}
	if s.scans.n == nil {
		s.scans.n = map[string]int{}
	}
	s.scans.n[key]++
	return func() {
		s.scans.mu.Lock()
		defer s.scans.mu.Unlock()
		if s.scans.n[key]--; s.scans.n[key] <= 0 {
			delete(s.scans.n, key)
		}
	}, nil
}
