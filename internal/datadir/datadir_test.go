package datadir

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLockIsExclusive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}
	_, err = Lock(dir)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Lock = %v, want ErrInUse", err)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the holder (%s)", err, want)
	}
	unlock()
	again, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	again()
}

// TestLockReleasedWhenHolderDies holds the lock in a child process, kills
// it with SIGKILL and takes the lock at once: the kernel released it.
func TestLockReleasedWhenHolderDies(t *testing.T) {
	if os.Getenv("DATADIR_HOLD") != "" {
		if _, err := Lock(os.Getenv("DATADIR_HOLD")); err != nil {
			fmt.Println("lock failed:", err)
			os.Exit(2)
		}
		fmt.Println("locked")
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockReleasedWhenHolderDies$")
	cmd.Env = append(os.Environ(), "DATADIR_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the child's word, line by line: one Read may return less.
	sc := bufio.NewScanner(out)
	var seen []string
	for sc.Scan() && !strings.Contains(sc.Text(), "locked") {
		seen = append(seen, sc.Text())
	}
	if !strings.Contains(sc.Text(), "locked") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not take the lock; it printed %q", seen)
	}
	_, err = Lock(dir)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Fatalf("Lock while the child holds it = %v, want ErrInUse naming pid %d", err, cmd.Process.Pid)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	unlock()
}
