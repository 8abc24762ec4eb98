// Package testports hands tests loopback ports for servers that must be
// restarted on the same port or named in another server's configuration
// before it starts (NATS cluster routes), where ":0" cannot be used.
//
// A port taken from the kernel with Listen(":0") and closed again lies in
// the ephemeral range, so any outgoing connection made by a parallel test
// may take it as its local port before the server binds it; the server then
// fails to listen. Ports handed out here come from below the ephemeral
// range, which the kernel never assigns on its own, and are checked free
// by binding them once.
package testports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
)

var (
	mu     sync.Mutex
	issued = map[int]bool{}
)

// Free returns n distinct loopback ports that were free a moment ago and
// lie outside the kernel's ephemeral port range.
func Free(t testing.TB, n int) []int {
	t.Helper()
	lo, hi := window()
	mu.Lock()
	defer mu.Unlock()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries > 10000 {
			t.Fatalf("testports: no free port found in %d-%d", lo, hi)
		}
		p := lo + rand.IntN(hi-lo)
		if issued[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		issued[p] = true
		ports = append(ports, p)
	}
	return ports
}

// window is the range ports are drawn from: from 10000 up to the start of
// the ephemeral range (32768 on Linux unless configured otherwise).
func window() (lo, hi int) {
	lo, hi = 10000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		var start, end int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &start, &end); err == nil && start > lo+1000 {
			hi = start
		}
	}
	return lo, hi
}
