// Package emailtest is a real SMTP server for tests of the email
// destination: go-smtp on a loopback port, STARTTLS on a self-signed
// certificate made for the test, PLAIN and LOGIN auth required before
// MAIL. It records every message and can answer as scripted, so it is
// also the sink conformance suite's App.
package emailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/junctionhq/junction/adapters/sdk/sdktest/conformance"
)

// Server is a running SMTP server. It is a conformance.App: scripted
// answers are given as SMTP replies to the message's DATA.
type Server struct {
	// Host and Port are where it listens (127.0.0.1).
	Host, Port string
	// CAFile is a PEM file of its certificate, to trust it.
	CAFile string
	// User and Pass are the credentials it takes; set Pass before a
	// delivery to have auth refused.
	User, Pass string

	mu      sync.Mutex
	answers []conformance.Answer
	got     []conformance.Received
	msgs    []Message
	auths   int
	// rejectRcpt answers RCPT TO for these addresses with the error.
	rejectRcpt map[string]*smtp.SMTPError
}

// Message is one message the server got at DATA, accepted or refused.
type Message struct {
	Mech       string // the auth mechanism used
	TLS        bool   // whether the session was upgraded to TLS
	From       string
	Recipients []string
	Data       []byte
}

// New starts a server for t that offers STARTTLS, closed by t.Cleanup.
func New(t *testing.T) *Server {
	t.Helper()
	return start(t, "starttls")
}

// NewWithoutTLS starts a server for t that offers no TLS at all (and so
// takes auth in clear), closed by t.Cleanup: a client that requires TLS
// must refuse it before sending credentials.
func NewWithoutTLS(t *testing.T) *Server {
	t.Helper()
	return start(t, "none")
}

// NewImplicitTLS starts a server for t that speaks TLS from the first
// byte (as on port 465), closed by t.Cleanup.
func NewImplicitTLS(t *testing.T) *Server {
	t.Helper()
	return start(t, "implicit")
}

func start(t *testing.T, mode string) *Server {
	t.Helper()
	dir := t.TempDir()
	cert, caPEM := selfSigned(t)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{CAFile: caFile, User: "mailer", Pass: "s3cret-pass", rejectRcpt: map[string]*smtp.SMTPError{}}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.AllowInsecureAuth = false // auth only over TLS
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = nopLogger{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "implicit":
		ln = tls.NewListener(ln, srv.TLSConfig)
	case "none":
		srv.TLSConfig = nil
		srv.AllowInsecureAuth = true
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.Host, s.Port, _ = net.SplitHostPort(ln.Addr().String())
	return s
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

// selfSigned makes a certificate for 127.0.0.1 and localhost, its own CA.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "junction test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// Script sets the answers to the next messages; the last repeats.
func (s *Server) Script(answers ...conformance.Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append([]conformance.Answer(nil), answers...)
}

// Received returns each message's idempotency key: the delivery id its
// Message-ID carries.
func (s *Server) Received() []conformance.Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]conformance.Received(nil), s.got...)
}

// RejectRcpt has RCPT TO for addr answered with err.
func (s *Server) RejectRcpt(addr string, err *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectRcpt[addr] = err
}

// Auths returns how many AUTH commands the server got.
func (s *Server) Auths() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auths
}

// Messages returns the messages that reached DATA, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// reply maps a conformance answer onto SMTP: what an HTTP app would retry
// becomes a 4xx reply, what it would refuse a 5xx one.
func reply(a conformance.Answer) error {
	switch st := a.Status; {
	case st == 0 || st < 300:
		return nil
	case st == http.StatusRequestTimeout:
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "timeout, try again"}
	case st == http.StatusTooManyRequests:
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "rate limited, try again later"}
	case st >= 500:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "local error in processing"}
	default:
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "message content rejected"}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	mech string
	msg  Message
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (x *session) Auth(mech string) (sasl.Server, error) {
	x.s.mu.Lock()
	x.s.auths++
	x.s.mu.Unlock()
	check := func(user, pass string) error {
		if user != x.s.User || pass != x.s.Pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication credentials invalid"}
		}
		x.mech = mech
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.mech == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := x.conn.TLSConnectionState()
	x.msg = Message{Mech: x.mech, TLS: isTLS, From: from}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	rej := x.s.rejectRcpt[to]
	x.s.mu.Unlock()
	if rej != nil {
		return rej
	}
	x.msg.Recipients = append(x.msg.Recipients, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.msg.Data = data
	key := ""
	if m, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		id := strings.Trim(m.Header.Get("Message-Id"), "<>")
		key, _, _ = strings.Cut(id, "@")
	}
	s := x.s
	s.mu.Lock()
	n := len(s.got)
	s.got = append(s.got, conformance.Received{IdempotencyKey: key, At: time.Now()})
	s.msgs = append(s.msgs, x.msg)
	ans := conformance.Answer{}
	if len(s.answers) > 0 {
		ans = s.answers[min(n, len(s.answers)-1)]
	}
	s.mu.Unlock()
	if ans.Hold != nil {
		<-ans.Hold
	}
	return reply(ans)
}

func (x *session) Reset()        {}
func (x *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism, which go-sasl
// has no server for: "Username:", "Password:", each answered in base64
// (the SMTP layer decodes it).
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) == 0 {
			return []byte("Username:"), false, nil
		}
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 1:
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(response))
	}
	return nil, true, errors.New("unexpected LOGIN step")
}
