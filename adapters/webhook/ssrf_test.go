package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/junctionhq/junction/adapters/sdk"
)

// fakeDNS is a DNS server on loopback UDP that answers every A and AAAA
// question from a fixed table, so a test can make a name resolve to any
// address (as a rebinding attacker's DNS would).
type fakeDNS struct {
	conn  net.PacketConn
	names map[string][]netip.Addr // lower-case name with the final dot
}

func newFakeDNS(t *testing.T, names map[string][]string) *net.Resolver {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	d := &fakeDNS{conn: conn, names: map[string][]netip.Addr{}}
	for n, addrs := range names {
		for _, a := range addrs {
			d.names[strings.ToLower(n)+"."] = append(d.names[strings.ToLower(n)+"."], netip.MustParseAddr(a))
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); d.serve() }()
	t.Cleanup(func() { conn.Close(); wg.Wait() })
	addr := conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, "udp", addr)
	}}
}

func (d *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
		for _, a := range d.names[strings.ToLower(q.Name.String())] {
			switch {
			case q.Type == dnsmessage.TypeA && a.Is4():
				_ = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
			case q.Type == dnsmessage.TypeAAAA && a.Is6():
				_ = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
		msg, err := b.Finish()
		if err != nil {
			continue
		}
		_, _ = d.conn.WriteTo(msg, from)
	}
}

// canary is a receiver no case may reach; it counts what it gets.
type canary struct {
	hits atomic.Int64
	addr string // host:port
	port string
}

func newCanary(t *testing.T, network, addr string) *canary {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil
	}
	c := &canary{addr: l.Addr().String()}
	_, c.port, _ = net.SplitHostPort(c.addr)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c.hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return c
}

// ssrfCase is one delivery target the outbound guard must handle.
type ssrfCase struct {
	name    string
	adapter *Adapter
	url     string
	// want: "blocked" (ErrBlockedAddress, permanent, message naming
	// wantMsg), "redirect" (a 3xx answered, not followed, permanent) or
	// "allowed" (delivered).
	want    string
	wantMsg string
}

// TestSSRFMatrix tries every address class the outbound guard refuses, in
// IPv4 and IPv6 forms, names that resolve to them, redirects towards them
// and the hub's own port with loopback allowed, and checks that each is
// refused permanently and that no canary receiver on loopback was reached;
// then that the deliberate allow-list entries deliver.
func TestSSRFMatrix(t *testing.T) {
	c4 := newCanary(t, "tcp4", "127.0.0.1:0")
	c6 := newCanary(t, "tcp6", "[::1]:0") // nil where the host has no IPv6 loopback
	p := c4.port

	resolver := newFakeDNS(t, map[string][]string{
		"rebind.test":       {"127.0.0.1"},
		"metadata.test":     {"169.254.169.254"},
		"internal.test":     {"10.0.0.1"},
		"mapped.test":       {"::ffff:127.0.0.1"},
		"nat64.test":        {"64:ff9b::a9fe:a9fe"},
		"both.test":         {"127.0.0.1", "::1"},
		"allowed.test":      {"127.0.0.1"},
		"allowed-meta.test": {"169.254.169.254"},
	})
	newAdapter := func(allow []string, own ...string) *Adapter {
		cfg := testConfig()
		cfg.Outbound.Allow = allow
		cfg.Outbound.Timeout = 5 * time.Second
		opts := []Option{WithLogger(discardLogger()), withResolver(resolver)}
		if len(own) > 0 {
			opts = append(opts, WithOwnAddrs(func() []string { return own }))
		}
		a, err := NewWithOptions(cfg, opts...)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return a
	}
	closed := newAdapter(nil)

	var cases []ssrfCase
	block := func(name, host, port, msg string) {
		cases = append(cases, ssrfCase{name: name, adapter: closed, url: "http://" + net.JoinHostPort(host, port) + "/hook", want: "blocked", wantMsg: msg})
	}
	// IPv4 classes.
	block("v4 loopback 127.0.0.1 (canary)", "127.0.0.1", p, "loopback 127.0.0.0/8")
	block("v4 loopback 127.1.2.3", "127.1.2.3", p, "loopback")
	block("v4 unspecified 0.0.0.0", "0.0.0.0", p, "unspecified")
	block("v4 private 10/8", "10.0.0.1", "80", "private 10.0.0.0/8")
	block("v4 private 172.16/12", "172.16.5.4", "80", "private 172.16.0.0/12")
	block("v4 private 192.168/16", "192.168.1.1", "80", "private 192.168.0.0/16")
	block("v4 link-local 169.254/16", "169.254.1.1", "80", "link-local")
	block("v4 metadata 169.254.169.254", "169.254.169.254", "80", "cloud metadata")
	block("v4 metadata 100.100.100.200 (Alibaba)", "100.100.100.200", "80", "cloud metadata")
	block("v4 CGNAT 100.64/10", "100.64.0.1", "80", "carrier-grade NAT")
	block("v4 multicast 224.0.0.1", "224.0.0.1", "80", "multicast")
	block("v4 broadcast 255.255.255.255", "255.255.255.255", "80", "broadcast")
	block("v4 reserved 240/4", "240.0.0.1", "80", "reserved")
	block("v4 benchmarking 198.18/15", "198.18.0.1", "80", "benchmarking")
	block("v4 documentation 192.0.2/24", "192.0.2.1", "80", "documentation")
	block("v4 IETF 192.0.0/24", "192.0.0.1", "80", "reserved")
	// IPv6 classes and IPv6 forms of IPv4 ones.
	v6port := p
	if c6 != nil {
		v6port = c6.port
	}
	block("v6 loopback ::1 (canary)", "::1", v6port, "loopback")
	block("v6 unspecified ::", "::", v6port, "unspecified")
	block("v6 unique local fc00::/7", "fd12:3456::1", "80", "private")
	block("v6 link-local fe80::/10", "fe80::1", "80", "link-local")
	block("v6 metadata fd00:ec2::254 (AWS)", "fd00:ec2::254", "80", "cloud metadata")
	block("v6 multicast ff02::1", "ff02::1", "80", "multicast")
	block("v6 site-local fec0::/10", "fec0::1", "80", "site-local")
	block("v6 documentation 2001:db8::/32", "2001:db8::1", "80", "documentation")
	block("v6 discard 100::/64", "100::1", "80", "discard-only")
	block("v4-mapped ::ffff:127.0.0.1 (canary)", "::ffff:127.0.0.1", p, "loopback")
	block("v4-mapped ::ffff:10.0.0.1", "::ffff:10.0.0.1", "80", "private")
	block("v4-mapped ::ffff:169.254.169.254", "::ffff:169.254.169.254", "80", "cloud metadata")
	block("v4-compatible ::127.0.0.1", "::7f00:1", "80", "IPv4-compatible")
	block("NAT64 64:ff9b::127.0.0.1", "64:ff9b::7f00:1", "80", "loopback (127.0.0.1 via NAT64")
	block("NAT64 64:ff9b::10.0.0.1", "64:ff9b::a00:1", "80", "private (10.0.0.1 via NAT64")
	block("NAT64 64:ff9b::169.254.169.254", "64:ff9b::a9fe:a9fe", "80", "cloud metadata (169.254.169.254 via NAT64")
	block("NAT64 local-use 64:ff9b:1::/48", "64:ff9b:1::a00:1", "80", "local-use NAT64")
	block("6to4 2002::/16 of 127.0.0.1", "2002:7f00:1::1", "80", "loopback (127.0.0.1 via 6to4")
	block("6to4 2002::/16 of 169.254.169.254", "2002:a9fe:a9fe::1", "80", "cloud metadata (169.254.169.254 via 6to4")
	block("Teredo 2001::/32 client 127.0.0.1", "2001:0:4136:e378:8000:63bf:80ff:fffe", "80", "loopback (127.0.0.1 via Teredo")
	// Names that resolve to refused addresses (DNS rebinding: the check
	// runs on the address dialled).
	block("name localhost (canary)", "localhost", p, "loopback")
	block("name resolving to 127.0.0.1 (canary)", "rebind.test", p, "rebind.test (127.0.0.1:"+p+")")
	block("name resolving to metadata", "metadata.test", "80", "cloud metadata")
	block("name resolving to 10.0.0.1", "internal.test", "80", "private")
	block("name resolving to ::ffff:127.0.0.1 (canary)", "mapped.test", p, "loopback")
	block("name resolving to NAT64 metadata", "nat64.test", "80", "cloud metadata (169.254.169.254 via NAT64")
	block("name resolving to 127.0.0.1 and ::1 (canary)", "both.test", p, "loopback")

	// Broad allow-lists still refuse metadata and other classes.
	wide := newAdapter([]string{"169.254.0.0/16", "100.64.0.0/10", "fc00::/7", "10.0.0.0/8", "allowed-meta.test:80"})
	for _, c := range []struct{ name, host, msg string }{
		{"metadata inside an allowed 169.254/16", "169.254.169.254", "only an entry naming exactly"},
		{"Alibaba metadata inside an allowed 100.64/10", "100.100.100.200", "only an entry naming exactly"},
		{"AWS v6 metadata inside an allowed fc00::/7", "fd00:ec2::254", "only an entry naming exactly"},
		{"name allowed by host:port resolving to metadata", "allowed-meta.test", "only an entry naming exactly"},
		{"loopback not in a 10/8 allow-list (canary)", "127.0.0.1", "loopback"},
	} {
		port := "80"
		if strings.Contains(c.name, "canary") {
			port = p
		}
		cases = append(cases, ssrfCase{name: c.name, adapter: wide, url: "http://" + net.JoinHostPort(c.host, port) + "/", want: "blocked", wantMsg: c.msg})
	}

	// The hub's own listener, with loopback allowed.
	ownAddrs := []string{c4.addr}
	if c6 != nil {
		ownAddrs = append(ownAddrs, c6.addr)
	}
	own := newAdapter([]string{"127.0.0.0/8", "::1/128", "rebind.test:" + p}, ownAddrs...)
	ownAny := newAdapter([]string{"127.0.0.0/8", "::1/128"}, "0.0.0.0:"+p, "[::]:"+v6port)
	for _, c := range []struct {
		name string
		a    *Adapter
		host string
		port string
	}{
		{"hub's own port 127.0.0.1, loopback allowed", own, "127.0.0.1", p},
		{"hub's own port via localhost, loopback allowed", own, "localhost", p},
		{"hub's own port via 127.0.0.2, loopback allowed", own, "127.0.0.2", p},
		{"hub's own port via ::ffff:127.0.0.1, loopback allowed", own, "::ffff:127.0.0.1", p},
		{"hub's own port via a name allowed by host:port", own, "rebind.test", p},
		{"hub's own port ::1, loopback allowed", own, "::1", v6port},
		{"hub bound to 0.0.0.0, its port on 127.0.0.1", ownAny, "127.0.0.1", p},
		{"hub bound to [::], its port on ::1", ownAny, "::1", v6port},
	} {
		cases = append(cases, ssrfCase{name: c.name, adapter: c.a, url: "http://" + net.JoinHostPort(c.host, c.port) + "/", want: "blocked", wantMsg: "hub's own listeners"})
	}

	// Redirects from an allowed receiver towards refused targets are not
	// followed.
	for _, loc := range []string{"http://127.0.0.1:" + p + "/", "http://169.254.169.254/latest/meta-data/", "http://rebind.test:" + p + "/"} {
		redirector := httptest.NewServer(http.RedirectHandler(loc, http.StatusTemporaryRedirect))
		t.Cleanup(redirector.Close)
		a := newAdapter([]string{redirector.Listener.Addr().String()})
		cases = append(cases, ssrfCase{name: "redirect to " + loc, adapter: a, url: redirector.URL + "/hook", want: "redirect", wantMsg: "redirects are not followed"})
	}

	// Allowed as intended: the allow-list opens exactly what it names.
	rc := newReceiver(t)
	rcPort := rc.srv.Listener.Addr().(*net.TCPAddr).Port
	rcp := strconv.Itoa(rcPort)
	cases = append(cases,
		ssrfCase{name: "allowed: 127.0.0.1/32 listed", adapter: newAdapter([]string{"127.0.0.1/32"}), url: rc.srv.URL + "/ok", want: "allowed"},
		ssrfCase{name: "allowed: 127.0.0.1:port listed", adapter: newAdapter([]string{"127.0.0.1:" + rcp}), url: rc.srv.URL + "/ok", want: "allowed"},
		ssrfCase{name: "allowed: name:port listed", adapter: newAdapter([]string{"allowed.test:" + rcp}), url: "http://allowed.test:" + rcp + "/ok", want: "allowed"},
		ssrfCase{name: "refused: 127.0.0.1:port listed, another port (canary)", adapter: newAdapter([]string{"127.0.0.1:" + rcp}), url: "http://127.0.0.1:" + p + "/", want: "blocked", wantMsg: "loopback"},
		ssrfCase{name: "refused: name:port listed, another name (canary)", adapter: newAdapter([]string{"allowed.test:" + p}), url: "http://rebind.test:" + p + "/", want: "blocked", wantMsg: "loopback"},
	)

	var tried, blocked, allowed, failed int
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tried++
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			before := len(rc.requests())
			err := tc.adapter.Deliver(ctx, testDelivery(tc.url))
			ok := false
			switch tc.want {
			case "allowed":
				ok = err == nil && len(rc.requests()) == before+1
				if !ok {
					t.Errorf("Deliver(%s) = %v, want delivered", tc.url, err)
				}
				if ok {
					allowed++
				}
			case "blocked":
				ok = errors.Is(err, ErrBlockedAddress) && sdk.IsPermanent(err) && strings.Contains(errString(err), tc.wantMsg)
				if !ok {
					t.Errorf("Deliver(%s) = %v, want a permanent ErrBlockedAddress containing %q", tc.url, err, tc.wantMsg)
				}
				if ok && !strings.Contains(err.Error(), "hub's own") && !strings.Contains(err.Error(), "outbound.allow") {
					ok = false
					t.Errorf("Deliver(%s) = %v, want the message to name outbound.allow", tc.url, err)
				}
			case "redirect":
				ok = err != nil && !errors.Is(err, ErrBlockedAddress) && sdk.IsPermanent(err) && strings.Contains(err.Error(), tc.wantMsg)
				if !ok {
					t.Errorf("Deliver(%s) = %v, want a permanent error containing %q", tc.url, err, tc.wantMsg)
				}
			}
			if tc.want != "allowed" {
				if ok {
					blocked++
				}
				t.Logf("refused: %v", err)
			}
			if !ok {
				failed++
			}
		})
	}
	hits := c4.hits.Load()
	if c6 != nil {
		hits += c6.hits.Load()
	}
	refusals := tried - len(rcCases(cases))
	t.Logf("SSRF matrix: %d cases tried; %d of %d to refuse were refused (%.0f%%); %d of %d allow-list cases delivered as intended; canary requests %d; IPv6 loopback canary %v",
		tried, blocked, refusals, 100*float64(blocked)/float64(max(refusals, 1)), allowed, len(rcCases(cases)), hits, c6 != nil)
	if hits != 0 {
		t.Errorf("canary receivers got %d requests, want 0", hits)
	}
	if failed != 0 || blocked != refusals {
		t.Errorf("%d cases failed; %d of %d refusals held, want all", failed, blocked, refusals)
	}
}

// rcCases are the cases meant to be delivered.
func rcCases(cases []ssrfCase) []ssrfCase {
	var out []ssrfCase
	for _, c := range cases {
		if c.want == "allowed" {
			out = append(out, c)
		}
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
