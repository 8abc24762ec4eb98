package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/junctionhq/junction/adapters/sdk"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// Deliver renders d into a message and sends it. A message that cannot be
// rendered, and a 5xx reply, are [sdk.Permanent]; a 4xx reply is retried
// not before Config.TempFailDelay; network and TLS errors are retried.
func (a *Adapter) Deliver(ctx context.Context, d *junctionv1.Delivery) error {
	if err := Spec.Targets.Check(d.GetConfig()); err != nil {
		return sdk.Permanent(fmt.Errorf("target config %w", err))
	}
	m, err := a.build(d)
	if err != nil {
		return sdk.Permanent(err)
	}
	return a.send(ctx, m)
}

// dial connects, upgrades to TLS and authenticates. The connection is
// closed when ctx ends.
func (a *Adapter) dial(ctx context.Context) (*smtp.Client, error) {
	dialer := net.Dialer{Timeout: a.cfg.Timeout}
	conn, err := dialer.DialContext(ctx, "tcp", a.addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", a.addr, err)
	}
	// Closing the connection when ctx ends ends any command waiting on
	// it; callers cancel ctx once done with the client.
	context.AfterFunc(ctx, func() { conn.Close() })
	var c *smtp.Client
	switch a.cfg.TLS {
	case TLSImplicit:
		c = smtp.NewClient(tls.Client(conn, a.tls))
	case TLSStartTLS:
		c, err = smtp.NewClientStartTLS(conn, a.tls)
		if err != nil {
			conn.Close()
			return nil, a.classify("starttls", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = a.cfg.Timeout
	c.SubmissionTimeout = a.cfg.Timeout
	var mech sasl.Client
	switch a.cfg.Auth {
	case AuthPlain:
		mech = sasl.NewPlainClient("", a.username, a.password)
	case AuthLogin:
		mech = sasl.NewLoginClient(a.username, a.password)
	}
	if mech != nil {
		if err := c.Auth(mech); err != nil {
			c.Close()
			return nil, a.classify("auth", err)
		}
	}
	return c, nil
}

// send sends m in one session.
func (a *Adapter) send(ctx context.Context, m *message) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, err := a.dial(sctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(m.from, nil); err != nil {
		return a.classify("MAIL FROM "+m.from, err)
	}
	for _, rcpt := range m.recipients {
		if err := c.Rcpt(rcpt, nil); err != nil {
			var se *smtp.SMTPError
			if errors.As(err, &se) && se.Code >= 500 {
				return sdk.Permanent(fmt.Errorf("recipient %s rejected: %w", rcpt, replyError{se}))
			}
			return a.classify("RCPT TO "+rcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return a.classify("DATA", err)
	}
	if _, err := w.Write(m.data); err != nil {
		_ = w.Close()
		return a.classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return a.classify("message", err)
	}
	_ = c.Quit() // sent: a failed QUIT changes nothing
	return nil
}

// classify turns an error of step into the SDK's classes: a 5xx reply is
// permanent, a 4xx reply retried after TempFailDelay, anything else (the
// network, TLS) retried with the route's backoff.
func (a *Adapter) classify(step string, err error) error {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return fmt.Errorf("smtp %s: %w", step, err)
	}
	err = fmt.Errorf("smtp %s: %w", step, replyError{se})
	if se.Code >= 500 {
		return sdk.Permanent(err)
	}
	return sdk.RetryAfter(err, a.cfg.TempFailDelay)
}

// replyError names an SMTP server's reply: "server replied 550 5.1.1 no
// such user".
type replyError struct{ e *smtp.SMTPError }

func (r replyError) Error() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "server replied %d", r.e.Code)
	if c := r.e.EnhancedCode; c != (smtp.EnhancedCode{}) && c != smtp.NoEnhancedCode {
		fmt.Fprintf(&b, " %d.%d.%d", c[0], c[1], c[2])
	}
	if r.e.Message != "" {
		b.WriteString(" " + r.e.Message)
	}
	return b.String()
}

func (r replyError) Unwrap() error { return r.e }
