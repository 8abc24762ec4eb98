// Package pgtest starts a real PostgreSQL server for tests: initdb in a
// temporary directory, postgres on a random free loopback port, stopped
// and removed when the test ends. It needs PostgreSQL's server binaries
// (Debian's postgresql package; .ci/run installs it) and skips the test,
// saying so, only when none are found. Postgres refuses to run as root:
// a test running as root runs it as the postgres user (runuser).
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinEnv names an environment variable that may point at the directory
// holding initdb, postgres and pg_ctl.
const BinEnv = "JUNCTION_PG_BIN"

// Server is a running PostgreSQL server.
type Server struct {
	// Port is its TCP port on 127.0.0.1.
	Port int
	// User is its superuser, trusted without a password on loopback.
	User string

	base  string
	bin   string
	runAs *user.User
	cmd   *exec.Cmd
	log   *bytes.Buffer
	mu    sync.Mutex
	n     int
}

// Start starts a server for tb, stopped and removed by tb.Cleanup. It
// skips tb when no PostgreSQL binaries are installed.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := findBin()
	if bin == "" {
		tb.Skipf("PostgreSQL server binaries (initdb, postgres, pg_ctl) not found in $%s, /usr/lib/postgresql/*/bin or $PATH: install them (Debian: apt-get install postgresql; .ci/run does) to run this test", BinEnv)
	}
	s := &Server{User: "junction", bin: bin, log: &bytes.Buffer{}}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("pgtest: running as root, and postgres refuses to: no postgres user to run it as (%v); create one or run the tests as another user", err)
		}
		s.runAs = u
	}
	base, err := os.MkdirTemp("", "junction-pgtest-")
	if err != nil {
		tb.Fatal(err)
	}
	s.base = base
	tb.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Mkdir(s.path("sock"), 0o700); err != nil {
		tb.Fatal(err)
	}
	if s.runAs != nil {
		uid, _ := strconv.Atoi(s.runAs.Uid)
		gid, _ := strconv.Atoi(s.runAs.Gid)
		for _, p := range []string{base, s.path("sock")} {
			if err := os.Chown(p, uid, gid); err != nil {
				tb.Fatalf("pgtest: chown %s to postgres: %v", p, err)
			}
		}
	}
	if out, err := s.command("initdb", "-D", s.path("data"), "-U", s.User, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		tb.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	var lastErr error
	for range 3 { // a free port may be taken before postgres binds it
		if lastErr = s.start(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		tb.Fatalf("pgtest: start postgres: %v\n%s", lastErr, s.log)
	}
	tb.Cleanup(s.stop)
	return s
}

func (s *Server) path(name string) string { return filepath.Join(s.base, name) }

// command runs a PostgreSQL binary, as the postgres user when root.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	prog := filepath.Join(s.bin, name)
	if s.runAs != nil {
		return exec.Command("runuser", append([]string{"-u", s.runAs.Username, "--", prog}, args...)...)
	}
	return exec.Command(prog, args...)
}

// start runs postgres on a free port and waits until it takes connections.
func (s *Server) start() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.log.Reset()
	cmd := s.command("postgres", "-D", s.path("data"), "-p", strconv.Itoa(port), "-k", s.path("sock"),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=100", "-c", "shared_buffers=16MB")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", s.User, port))
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			s.Port, s.cmd = port, cmd
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("postgres exited: %v", werr)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("postgres not accepting connections after 90s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down (fast mode: open sessions are ended).
func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	if out, err := s.command("pg_ctl", "stop", "-D", s.path("data"), "-m", "fast", "-w", "-t", "60").CombinedOutput(); err != nil {
		_ = s.cmd.Process.Kill()
		fmt.Fprintf(os.Stderr, "pgtest: pg_ctl stop: %v\n%s", err, out)
	}
}

// DSN is the connection string of database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", s.User, s.Port, db)
}

// CreateDB creates a new, empty database and returns its DSN.
func (s *Server) CreateDB(tb testing.TB) string {
	tb.Helper()
	s.mu.Lock()
	s.n++
	name := fmt.Sprintf("test_%d", s.n)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	return s.DSN(name)
}

// freePort is a TCP port free on 127.0.0.1 a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// findBin is the directory holding initdb, postgres and pg_ctl: $BinEnv,
// else the newest /usr/lib/postgresql/<version>/bin, else where $PATH has
// them; "" when none.
func findBin() string {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres", "pg_ctl"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv(BinEnv); d != "" && has(d) {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if has(d) {
			return d
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(p)) {
			return filepath.Dir(p)
		}
	}
	return ""
}

// version is the major version in a /usr/lib/postgresql/<v>/bin path.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}
