package limits

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{"zero takes defaults", Config{}, ""},
		{"all set", Config{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second, IdleTimeout: time.Second, MaxConnections: 10, MaxConcurrentStreams: 5}, ""},
		{"negative timeout", Config{IdleTimeout: -time.Second}, "http.idle_timeout -1s"},
		{"header longer than read", Config{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: time.Second}, "http.read_header_timeout 2s is longer than read_timeout 1s"},
		{"negative cap", Config{MaxConnections: -1}, "http.max_connections -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate("http")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate(%+v) = %v, want nil", tc.cfg, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
			}
		})
	}
}

// serve runs an HTTP server with c on a capped loopback listener.
func serve(t *testing.T, c Config, refusal []byte) *Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis := Listen(l, c.MaxConnections, refusal, nil, "test")
	srv := NewHTTPServer(c, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}), nil)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return lis
}

// firstLine reads the first line a connection is answered, "" when the
// server closes it without one.
func firstLine(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // hang guard
	line, err := bufio.NewReader(c).ReadString('\n')
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after 30s, want it answered or closed")
	}
	return strings.TrimSpace(line)
}

// TestListenerRefusesOverCap holds the cap's worth of idle connections:
// the next one is answered 503 at once (or closed without an answer when
// the refusal is nil), and once a held one closes a new one is served.
func TestListenerRefusesOverCap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		refusal []byte
		want    string
	}{
		{"plain HTTP gets 503", Refusal503, "HTTP/1.1 503 Service Unavailable"},
		{"TLS or gRPC is closed", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const max = 3
			lis := serve(t, Config{MaxConnections: max, ReadHeaderTimeout: time.Minute, ReadTimeout: time.Minute}, tc.refusal)
			var held []net.Conn
			for range max {
				c, err := net.Dial("tcp", lis.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				held = append(held, c)
			}
			for lis.Open() < max { // accepted in the background
				time.Sleep(5 * time.Millisecond)
			}
			over, err := net.Dial("tcp", lis.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer over.Close()
			_, _ = io.WriteString(over, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if got := firstLine(t, over); got != tc.want {
				t.Errorf("connection over the cap of %d answered %q, want %q", max, got, tc.want)
			}
			if lis.Refused() != 1 {
				t.Errorf("Refused() = %d, want 1", lis.Refused())
			}
			held[0].Close()
			for lis.Open() >= max {
				time.Sleep(5 * time.Millisecond)
			}
			resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + lis.Addr().String())
			if err != nil {
				t.Fatalf("GET after a slot freed: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET after a slot freed = %d, want 200", resp.StatusCode)
			}
		})
	}
}

// TestHTTPServerCutsSlowClients opens one connection per kind of slow
// client against short timeouts: each is closed by the server.
func TestHTTPServerCutsSlowClients(t *testing.T) {
	c := Config{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 400 * time.Millisecond, IdleTimeout: 200 * time.Millisecond, MaxConnections: 10}
	lis := serve(t, c, Refusal503)
	for _, tc := range []struct {
		name string
		send string
		want string
	}{
		{"half a header", "POST / HTTP/1.1\r\nHost: x\r\n", ""},
		{"body never finished", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{", "HTTP/1.1 200 OK"},
		{"idle after a request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", lis.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = io.WriteString(conn, tc.send)
			_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // hang guard
			b, err := io.ReadAll(conn)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("%s: connection still open after 30s, want it closed by the server", tc.name)
			}
			got, _, _ := strings.Cut(string(b), "\r\n")
			if got != tc.want {
				t.Errorf("%s: answered %q, want %q", tc.name, got, tc.want)
			}
		})
	}
	for lis.Open() != 0 {
		time.Sleep(5 * time.Millisecond)
	}
}
