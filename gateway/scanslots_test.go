package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/junctionhq/junction/adapters/sdk/sdktest"
	"github.com/junctionhq/junction/gateway/auth"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// TestScanSlotsPerCaller: a caller running MaxScansPerCaller searches and
// replays has its next ListEvents and ReplayEvents refused with
// ResourceExhausted naming it, while another caller's go through; a slot
// given back lets the next call in, and a finished call holds none.
func TestScanSlotsPerCaller(t *testing.T) {
	hub := sdktest.NewHub(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, Config{JS: hub.JS, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	as := func(id string) context.Context {
		return context.WithValue(ctx, principalKey{}, auth.Principal{Kind: "key", ID: id})
	}
	alice, bob := as("kalice"), as("kbob")
	var held []func()
	for i := range MaxScansPerCaller {
		release, err := s.scanSlot(alice)
		if err != nil {
			t.Fatalf("slot %d of %d: %v", i+1, MaxScansPerCaller, err)
		}
		held = append(held, release)
	}
	search := func(ctx context.Context) error {
		_, err := s.ListEvents(ctx, &junctionv1.ListEventsRequest{})
		return err
	}
	replay := func(ctx context.Context) error {
		_, err := s.ReplayEvents(ctx, &junctionv1.ReplayEventsRequest{
			Filter:  &junctionv1.EventFilter{StartTime: timestamppb.New(time.Now().Add(-time.Hour))},
			Through: &junctionv1.ReplayEventsRequest_AllRoutes{AllRoutes: true}, DryRun: true,
		})
		return err
	}
	refused := func(name string, err error) {
		t.Helper()
		st := status.Convert(err)
		if st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "key kalice") || !strings.Contains(st.Message(), "wait for one to end") {
			t.Errorf("%s: got %v, want ResourceExhausted naming key kalice and what to do", name, err)
		}
	}
	refused("alice's search past her slots", search(alice))
	refused("alice's replay past her slots", replay(alice))
	if err := search(bob); err != nil {
		t.Errorf("bob's search while alice is at her cap: %v", err)
	}
	if err := replay(bob); err != nil {
		t.Errorf("bob's replay while alice is at her cap: %v", err)
	}
	// Over REST (auth off here: every caller is the same one), the refusal
	// is a 429 with Retry-After.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := NewGRPCServer(s)
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()
	h, err := RESTHandler(ctx, lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	rest := httptest.NewServer(h)
	defer rest.Close()
	for range MaxScansPerCaller {
		release, err := s.scanSlot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	resp, err := http.Get(rest.URL + "/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(body), "searches and replays") {
		t.Errorf("REST search past the cap: %d, Retry-After %q, %s; want 429, Retry-After 1 and the reason", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	held[0]()
	if err := search(alice); err != nil {
		t.Errorf("alice's search after one slot was given back: %v", err)
	}
	for _, release := range held[1:] {
		release()
	}
	s.scans.mu.Lock()
	_, aliceHolds := s.scans.n["key:kalice"]
	_, bobHolds := s.scans.n["key:kbob"]
	s.scans.mu.Unlock()
	if aliceHolds || bobHolds {
		t.Errorf("slots still held after every call ended: %v", s.scans.n)
	}
}
