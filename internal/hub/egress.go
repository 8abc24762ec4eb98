package hub

import (
	"net"
	"net/url"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk/platform/egress"
)

// ownAddrs are the hub's own listeners (HTTP, gRPC, NATS), which the
// built-in webhook adapter never delivers to, whatever
// webhook.outbound.allow says. Listeners not bound yet are left out; the
// adapter asks at each connection.
func (h *Hub) ownAddrs() []string {
	var out []string
	for _, l := range []net.Listener{h.httpLis, h.grpcLis} {
		if l != nil {
			out = append(out, l.Addr().String())
		}
	}
	if h.ns != nil {
		if a := h.ns.Addr(); a != nil {
			out = append(out, a.String())
		}
	}
	// An external NATS: every server the URL names.
	for _, u := range strings.Split(h.cfg.NATSURL, ",") {
		if p, err := url.Parse(strings.TrimSpace(u)); err == nil && p.Host != "" {
			host := p.Host
			if p.Port() == "" {
				host = net.JoinHostPort(p.Hostname(), "4222")
			}
			out = append(out, host)
		}
	}
	return out
}

// LoopbackDeliveries reports whether webhook.outbound.allow lets
// deliveries reach loopback addresses (the example configuration does, for
// the README's receiver on 127.0.0.1), which `junction serve` warns about.
func (c *Config) LoopbackDeliveries() bool {
	g, err := egress.New(egress.Policy{Allow: c.Webhook.Outbound.Allow})
	return err == nil && g.AllowsLoopback()
}
