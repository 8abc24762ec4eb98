package egress

import (
	"net/netip"
)

// Address classes a Guard refuses unless allowed. Each is the word a
// BlockedError names.
const (
	ClassUnspecified = "unspecified"
	ClassLoopback    = "loopback"
	ClassPrivate     = "private"
	ClassLinkLocal   = "link-local"
	ClassMetadata    = "cloud metadata"
	ClassCGNAT       = "carrier-grade NAT (shared address space)"
	ClassMulticast   = "multicast"
	ClassBroadcast   = "broadcast"
	ClassReserved    = "reserved"
	ClassBenchmark   = "benchmarking"
	ClassDocs        = "documentation"
	ClassNAT64Local  = "local-use NAT64"
	ClassV4Compat    = "IPv4-compatible IPv6 (deprecated)"
	ClassSiteLocal   = "site-local (deprecated)"
	ClassDiscard     = "discard-only"
)

type classRange struct {
	prefix netip.Prefix
	class  string
}

// metadataAddrs are the instance metadata services of the large clouds:
// AWS, GCP, Azure, OpenStack and DigitalOcean (169.254.169.254), AWS over
// IPv6 (fd00:ec2::254) and Alibaba Cloud (100.100.100.200). They are
// refused even where their range is allowed, unless allowed by exact
// address.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"),
	netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("100.100.100.200"),
}

// blockedRanges are checked in order; the first that contains an address
// names its class. Ranges that embed an IPv4 address (IPv4-mapped, NAT64,
// 6to4, Teredo) are handled by Classify before these.
var blockedRanges = func() []classRange {
	r := []struct{ cidr, class string }{
		// IPv4 (RFC 6890 and its updates).
		{"0.0.0.0/8", ClassUnspecified}, // "this network"; 0.0.0.0 reaches the local host
		{"127.0.0.0/8", ClassLoopback},
		{"10.0.0.0/8", ClassPrivate},
		{"172.16.0.0/12", ClassPrivate},
		{"192.168.0.0/16", ClassPrivate},
		{"169.254.0.0/16", ClassLinkLocal},
		{"100.64.0.0/10", ClassCGNAT},
		{"192.0.0.0/24", ClassReserved}, // IETF protocol assignments
		{"192.0.2.0/24", ClassDocs},
		{"198.51.100.0/24", ClassDocs},
		{"203.0.113.0/24", ClassDocs},
		{"198.18.0.0/15", ClassBenchmark},
		{"224.0.0.0/4", ClassMulticast},
		{"255.255.255.255/32", ClassBroadcast},
		{"240.0.0.0/4", ClassReserved},
		// IPv6.
		{"::/128", ClassUnspecified},
		{"::1/128", ClassLoopback},
		{"::/96", ClassV4Compat},
		{"100::/64", ClassDiscard},
		{"fc00::/7", ClassPrivate}, // unique local
		{"fe80::/10", ClassLinkLocal},
		{"fec0::/10", ClassSiteLocal},
		{"ff00::/8", ClassMulticast},
		{"2001:db8::/32", ClassDocs},
		{"2001:2::/48", ClassBenchmark},
		{"64:ff9b:1::/48", ClassNAT64Local}, // RFC 8215: site-specific translation
	}
	out := make([]classRange, len(r))
	for i, x := range r {
		out[i] = classRange{netip.MustParsePrefix(x.cidr), x.class}
	}
	return out
}()

// Prefixes whose addresses carry an IPv4 address inside them: a connection
// to one may end at that IPv4 address through a translator or tunnel.
var (
	nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052
	sixToFour      = netip.MustParsePrefix("2002::/16")    // RFC 3056
	teredo         = netip.MustParsePrefix("2001::/32")    // RFC 4380
)

// Classify returns the class of a refused address and true, or "" and
// false for an address on the public internet. An IPv6 address that
// embeds an IPv4 one (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4
// 2002::/16, Teredo 2001::/32) takes the class of the embedded address,
// e.g. "loopback (127.0.0.1 via NAT64 64:ff9b::/96)".
func Classify(ip netip.Addr) (string, bool) {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		if c, ok := Classify(ip.Unmap()); ok {
			return c + " (IPv4-mapped)", true
		}
		return "", false
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return ClassMetadata, true
		}
	}
	if ip.Is6() {
		for _, e := range []struct {
			p    netip.Prefix
			name string
			v4   func([16]byte) []netip.Addr
		}{
			{nat64WellKnown, "NAT64 64:ff9b::/96", func(b [16]byte) []netip.Addr {
				return []netip.Addr{netip.AddrFrom4([4]byte(b[12:16]))}
			}},
			{sixToFour, "6to4 2002::/16", func(b [16]byte) []netip.Addr {
				return []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}
			}},
			{teredo, "Teredo 2001::/32", func(b [16]byte) []netip.Addr {
				// The server's address in bits 32-63, the client's
				// (inverted) in the last 32.
				client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
				return []netip.Addr{netip.AddrFrom4([4]byte(b[4:8])), netip.AddrFrom4(client)}
			}},
		} {
			if !e.p.Contains(ip) {
				continue
			}
			for _, v4 := range e.v4(ip.As16()) {
				if c, ok := Classify(v4); ok {
					return c + " (" + v4.String() + " via " + e.name + ")", true
				}
			}
			return "", false
		}
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.class, true
		}
	}
	return "", false
}

// rangeOf returns the blocked range containing ip, for messages.
func rangeOf(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.prefix.String()
		}
	}
	return ""
}
