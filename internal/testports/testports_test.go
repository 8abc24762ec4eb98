package testports

import (
	"fmt"
	"net"
	"testing"
)

func TestFreeIsBindableDistinctAndBelowEphemeral(t *testing.T) {
	lo, hi := window()
	ports := Free(t, 20)
	seen := map[int]bool{}
	for _, p := range ports {
		if p < lo || p >= hi {
			t.Fatalf("port %d outside %d-%d", p, lo, hi)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d not bindable: %v", p, err)
		}
		l.Close()
	}
	// A second call never repeats a port of the first.
	for _, p := range Free(t, 20) {
		if seen[p] {
			t.Fatalf("port %d handed out again", p)
		}
	}
}
