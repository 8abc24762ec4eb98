package egress

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestClassifyPublicAddressesPass(t *testing.T) {
	for _, a := range []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.32.0.1", "198.20.0.1", "223.255.255.255",
		"2606:4700:4700::1111", "2a00:1450:4001::200e",
		"::ffff:8.8.8.8",                       // IPv4-mapped public
		"64:ff9b::808:808",                     // NAT64 of a public address
		"2002:808:808::1",                      // 6to4 of a public address
		"2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo: server 65.54.227.120, client 8.8.8.8
	} {
		if c, refused := Classify(netip.MustParseAddr(a)); refused {
			t.Errorf("Classify(%s) = %q, refused; want a public address to pass", a, c)
		}
	}
}

func TestClassifyZoneIgnored(t *testing.T) {
	if c, refused := Classify(netip.MustParseAddr("fe80::1%eth0")); !refused || c != ClassLinkLocal {
		t.Errorf("Classify(fe80::1%%eth0) = %q, %v; want %q, true", c, refused, ClassLinkLocal)
	}
}

func TestTransportHasNoProxyAndClientNoRedirects(t *testing.T) {
	g, err := New(Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if tr := g.Transport(); tr.Proxy != nil {
		t.Error("Transport().Proxy is set; want nil so HTTP(S)_PROXY cannot bypass the guard")
	}
	c := g.Client(nil, 0)
	if c.CheckRedirect == nil || !errors.Is(c.CheckRedirect(&http.Request{}, nil), http.ErrUseLastResponse) {
		t.Error("Client follows redirects; want http.ErrUseLastResponse")
	}
}

func TestAllowsLoopback(t *testing.T) {
	for _, tt := range []struct {
		allow []string
		want  bool
	}{
		{nil, false},
		{[]string{"10.0.0.0/8"}, false},
		{[]string{"127.0.0.1/32"}, true},
		{[]string{"::1"}, true},
		{[]string{"127.0.0.1:9999"}, true},
		{[]string{"localhost:9999"}, true},
		{[]string{"receiver.internal:8443"}, false},
	} {
		g, err := New(Policy{Allow: tt.allow})
		if err != nil {
			t.Fatalf("New(%q): %v", tt.allow, err)
		}
		if got := g.AllowsLoopback(); got != tt.want {
			t.Errorf("AllowsLoopback(%q) = %v, want %v", tt.allow, got, tt.want)
		}
	}
}

func TestCheckMessages(t *testing.T) {
	g, err := New(Policy{Key: "webhook.outbound.allow", Own: func() []string { return []string{"127.0.0.1:8080"} }, Allow: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host, addr string
		want       []string
	}{
		{"10.0.0.1", "10.0.0.1:80", []string{"private 10.0.0.0/8", `list "10.0.0.1/32" (or "10.0.0.1:80") in webhook.outbound.allow`}},
		{"meta.example", "169.254.169.254:80", []string{"meta.example (169.254.169.254:80)", "cloud metadata", `exactly "169.254.169.254/32"`}},
		{"localhost", "127.0.0.1:8080", []string{"hub's own listeners"}},
	} {
		err := g.Check(tt.host, netip.MustParseAddrPort(tt.addr))
		if !errors.Is(err, ErrBlocked) {
			t.Fatalf("Check(%s) = %v, want ErrBlocked", tt.addr, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Check(%s) = %q, want it to contain %q", tt.addr, err, w)
			}
		}
	}
	if err := g.Check("localhost", netip.MustParseAddrPort("127.0.0.1:9999")); err != nil {
		t.Errorf("Check(127.0.0.1:9999) with 127.0.0.0/8 allowed = %v, want nil", err)
	}
}
