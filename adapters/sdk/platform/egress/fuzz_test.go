package egress

import (
	"net/netip"
	"testing"
)

// FuzzClassify classifies arbitrary IPv6 and IPv4 addresses, as DNS may
// answer them. Properties: no panic; an IPv4 address and its IPv4-mapped
// form are refused alike; every address inside a refused range is
// refused; and the NAT64 and 6to4 forms of a refused IPv4 address are
// refused too.
func FuzzClassify(f *testing.F) {
	f.Add([]byte{127, 0, 0, 1})
	f.Add([]byte{169, 254, 169, 254})
	f.Add([]byte{8, 8, 8, 8})
	f.Add(netip.MustParseAddr("64:ff9b::a9fe:a9fe").AsSlice())
	f.Add(netip.MustParseAddr("2001:0:4136:e378:8000:63bf:80ff:fffe").AsSlice())
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		class, refused := Classify(ip)
		if refused == (class == "") {
			t.Fatalf("Classify(%s) = %q, %v: a refusal must name its class, a pass none", ip, class, refused)
		}
		for _, r := range blockedRanges {
			if r.prefix.Contains(ip) && !refused {
				t.Fatalf("Classify(%s) passes an address inside refused range %s", ip, r.prefix)
			}
		}
		if !ip.Is4() {
			return
		}
		if _, m := Classify(netip.AddrFrom16(ip.As16())); m != refused {
			t.Fatalf("Classify(%s) refused=%v but its IPv4-mapped form refused=%v", ip, refused, m)
		}
		v4 := ip.As4()
		nat64 := netip.MustParseAddr("64:ff9b::").As16()
		copy(nat64[12:], v4[:])
		sixToFour := netip.MustParseAddr("2002::").As16()
		copy(sixToFour[2:6], v4[:])
		for _, embedded := range []netip.Addr{netip.AddrFrom16(nat64), netip.AddrFrom16(sixToFour)} {
			if _, e := Classify(embedded); refused && !e {
				t.Fatalf("Classify(%s) passes the embedded form of refused %s", embedded, ip)
			}
		}
	})
}
