// Package egress guards the outbound connections an adapter makes on
// behalf of a route author (server-side request forgery): a webhook URL,
// later a destination API's base URL. Every adapter that connects where a
// route's config says builds its HTTP client (or dialer) from a Guard.
//
// A Guard checks each connection when it is made, after DNS resolution,
// on the address actually dialled (net.Dialer.ControlContext), so a name
// that resolves to a public address at validation time and to an internal
// one later (DNS rebinding) is still refused. It refuses by default every
// address that is not on the public internet: loopback, private, link-local,
// carrier-grade NAT, multicast, broadcast, unspecified, reserved,
// benchmarking and documentation ranges, the cloud metadata services, and
// IPv6 forms that embed such an IPv4 address (IPv4-mapped, NAT64, 6to4,
// Teredo). See Classify.
//
// Deliberate internal targets are listed in an allow-list (Policy.Allow):
// CIDRs, single addresses, or host:port pairs. The hub's own listeners
// (Policy.Own) are refused whatever the allow-list says. A refused
// connection fails with a *BlockedError (errors.Is(err, ErrBlocked)) that
// names the address class and the config key that would allow it; adapters
// treat it as a permanent failure, since retrying cannot help.
//
// The HTTP client a Guard builds uses no proxy (a proxy from the
// environment would connect on the adapter's behalf, unchecked) and follows
// no redirects (a receiver that redirects is misconfigured, and following
// would let an allowed URL lead to a refused one).
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrBlocked is matched (errors.Is) by every *BlockedError.
var ErrBlocked = errors.New("outbound address refused")

// DefaultKey is the config key Policy.Key defaults to.
const DefaultKey = "outbound.allow"

// Dial settings of the Guard's dialer.
const (
	dialTimeout = 10 * time.Second
	keepAlive   = 30 * time.Second
)

// Policy says which refused addresses a Guard lets through anyway.
type Policy struct {
	// Allow lists deliberate internal targets. Each entry is a CIDR
	// ("10.1.2.0/24", "fd12::/64"), a single address ("10.1.2.3", a /32 or
	// /128), or host:port ("receiver.internal:8443", "10.1.2.3:8443"): a
	// name on that port may resolve to any refused address except a cloud
	// metadata one. Cloud metadata addresses are let through only by an
	// entry naming exactly that address.
	Allow []string
	// Key is the config key holding Allow, named in errors so the reader
	// knows what to change. Default DefaultKey.
	Key string
	// Own returns the addresses (host:port) the hub itself listens on:
	// connections to them are refused whatever Allow says. A host that is
	// empty or unspecified (":8080", "0.0.0.0:8080") means that port on
	// every local address. Called at each dial; nil for none.
	Own func() []string
	// Resolver resolves names; nil for net.DefaultResolver. Tests use it
	// to point a name at an address of their choosing.
	Resolver *net.Resolver
}

// Guard checks outbound connections against a Policy. It is safe for
// concurrent use.
type Guard struct {
	prefixes  []netip.Prefix
	addrPorts map[netip.AddrPort]bool
	hostPorts map[string]bool // lower-case "host:port"
	key       string
	own       func() []string
	resolver  *net.Resolver
}

// New checks p and returns its Guard. Errors name the entry to fix.
func New(p Policy) (*Guard, error) {
	g := &Guard{
		addrPorts: map[netip.AddrPort]bool{},
		hostPorts: map[string]bool{},
		key:       p.Key,
		own:       p.Own,
		resolver:  p.Resolver,
	}
	if g.key == "" {
		g.key = DefaultKey
	}
	var errs []error
	for i, entry := range p.Allow {
		if err := g.add(entry); err != nil {
			errs = append(errs, fmt.Errorf("%s[%d] %q: %w", g.key, i, entry, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return g, nil
}

// ValidateAllow checks allow-list entries without building a Guard; key
// prefixes the messages.
func ValidateAllow(key string, allow []string) error {
	_, err := New(Policy{Allow: allow, Key: key})
	return err
}

func (g *Guard) add(entry string) error {
	entry = strings.TrimSpace(entry)
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return errors.New(`not a CIDR: write it like "10.1.2.0/24" or "fd12::/64"`)
		}
		if p.Bits() == 0 {
			return errors.New("allows every address, which turns the guard off: list the networks you mean")
		}
		g.prefixes = append(g.prefixes, p.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(entry); err == nil {
		g.prefixes = append(g.prefixes, netip.PrefixFrom(ip.WithZone("").Unmap(), ip.Unmap().BitLen()))
		return nil
	}
	host, port, err := net.SplitHostPort(entry)
	if err != nil || host == "" {
		return errors.New(`give a CIDR ("10.1.2.0/24"), an address ("10.1.2.3") or host:port ("receiver.internal:8443")`)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("port %q must be a number from 1 to 65535", port)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		g.addrPorts[netip.AddrPortFrom(ip.WithZone("").Unmap(), uint16(n))] = true
		return nil
	}
	g.hostPorts[strings.ToLower(strings.TrimSuffix(host, "."))+":"+port] = true
	return nil
}

// AllowsLoopback reports whether the allow-list lets any loopback address
// through, for a start-up warning.
func (g *Guard) AllowsLoopback() bool {
	for _, p := range g.prefixes {
		if p.Overlaps(netip.MustParsePrefix("127.0.0.0/8")) || p.Contains(netip.IPv6Loopback()) {
			return true
		}
	}
	for ap := range g.addrPorts {
		if ap.Addr().IsLoopback() {
			return true
		}
	}
	for hp := range g.hostPorts {
		if strings.HasPrefix(hp, "localhost:") {
			return true
		}
	}
	return false
}

// BlockedError is a connection a Guard refused.
type BlockedError struct {
	// Host is the name (or address) the caller asked for.
	Host string
	// Addr is the address it resolved to.
	Addr netip.AddrPort
	// Class is the refused address class (see Classify), or "the hub's
	// own listener".
	Class string
	// Own is true for one of the hub's own listeners, which no allow-list
	// entry opens.
	Own bool
	// Key is the config key that would allow the address.
	Key string
}

// Error says what was refused and how to allow it on purpose.
func (e *BlockedError) Error() string {
	where := e.Addr.String()
	if e.Host != "" && e.Host != e.Addr.Addr().String() {
		where = e.Host + " (" + where + ")"
	}
	if e.Own {
		return fmt.Sprintf("connection to %s refused: it is one of the hub's own listeners, which outbound calls never reach", where)
	}
	rng := ""
	if r := rangeOf(e.Addr.Addr()); r != "" && !strings.Contains(e.Class, "(") {
		rng = " " + r
	}
	ip := e.Addr.Addr().WithZone("").Unmap()
	exact := netip.PrefixFrom(ip, ip.BitLen()).String()
	if e.Class == ClassMetadata {
		return fmt.Sprintf("connection to %s refused: it is a %s address; only an entry naming exactly %q in %s allows it", where, e.Class, exact, e.Key)
	}
	return fmt.Sprintf("connection to %s refused: it is a %s%s address; to reach it on purpose list %q (or %q) in %s",
		where, e.Class, rng, exact, net.JoinHostPort(hostOnly(e.Host, ip), strconv.Itoa(int(e.Addr.Port()))), e.Key)
}

// Is makes errors.Is(err, ErrBlocked) true.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

func hostOnly(host string, ip netip.Addr) string {
	if host != "" {
		return host
	}
	return ip.String()
}

// Check returns nil when a connection to addr, which host resolved to, is
// allowed, else a *BlockedError.
func (g *Guard) Check(host string, addr netip.AddrPort) error {
	ip := addr.Addr().WithZone("")
	u := ip.Unmap()
	port := addr.Port()
	blocked := func(class string, own bool) error {
		return &BlockedError{Host: host, Addr: netip.AddrPortFrom(ip, port), Class: class, Own: own, Key: g.key}
	}
	if g.isOwn(u, port) {
		return blocked("the hub's own listener", true)
	}
	class, refused := Classify(ip)
	if !refused {
		return nil
	}
	if class == ClassMetadata {
		if g.addrPorts[netip.AddrPortFrom(u, port)] {
			return nil
		}
		for _, p := range g.prefixes {
			if p.IsSingleIP() && p.Addr() == u {
				return nil
			}
		}
		return blocked(class, false)
	}
	if g.addrPorts[netip.AddrPortFrom(u, port)] {
		return nil
	}
	for _, p := range g.prefixes {
		if p.Contains(u) {
			return nil
		}
	}
	if _, err := netip.ParseAddr(host); err != nil && host != "" {
		if g.hostPorts[strings.ToLower(strings.TrimSuffix(host, "."))+":"+strconv.Itoa(int(port))] {
			return nil
		}
	}
	return blocked(class, false)
}

// isOwn reports whether ip:port is one of the hub's own listeners.
func (g *Guard) isOwn(ip netip.Addr, port uint16) bool {
	if g.own == nil {
		return false
	}
	local := ip.IsLoopback() || ip.IsUnspecified()
	var ifaces []netip.Addr
	for _, a := range g.own() {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || uint16(n) != port {
			continue
		}
		own, err := netip.ParseAddr(h)
		switch {
		case h == "" || (err == nil && own.IsUnspecified()):
			// Every local address: loopback and the interfaces'.
			if local {
				return true
			}
			if ifaces == nil {
				ifaces = interfaceAddrs()
			}
			for _, x := range ifaces {
				if x == ip {
					return true
				}
			}
		case err != nil:
			// A name: localhost is loopback; others are not resolved here.
			if strings.EqualFold(h, "localhost") && local {
				return true
			}
		default:
			own = own.WithZone("").Unmap()
			if own == ip || (own.IsLoopback() && local) {
				return true
			}
		}
	}
	return false
}

func interfaceAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	out := []netip.Addr{}
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// DialContext dials address (host:port) like net.Dialer.DialContext,
// refusing, after resolution, every address the Guard does not allow.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	d := &net.Dialer{
		Timeout:   dialTimeout,
		KeepAlive: keepAlive,
		Resolver:  g.resolver,
		ControlContext: func(_ context.Context, _, resolved string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(resolved)
			if err != nil {
				return fmt.Errorf("%w: %s cannot be checked: %w", ErrBlocked, resolved, err)
			}
			return g.Check(host, ap)
		},
	}
	return d.DialContext(ctx, network, address)
}

// Transport returns an HTTP transport (a clone of http.DefaultTransport's
// settings) that dials through the Guard and uses no proxy.
func (g *Guard) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would connect on our behalf, unchecked
	tr.DialContext = g.DialContext
	return tr
}

// Client returns an HTTP client over rt (Transport() when nil) that
// follows no redirects: a 3xx answer is returned as it is, for the caller
// to report.
func (g *Guard) Client(rt http.RoundTripper, timeout time.Duration) *http.Client {
	if rt == nil {
		rt = g.Transport()
	}
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
