package clip

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestN(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short", "acme", 8, "acme"},
		{"exact", "acme", 4, "acme"},
		{"cut", "abcdefgh", 4, "abcd…(+4 bytes)"},
		{"rune boundary", "aé€", 4, "aé…(+3 bytes)"},
		{"zero", "abc", 0, "…(+3 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := N(tc.in, tc.n); got != tc.want {
				t.Errorf("N(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func TestStringBounded(t *testing.T) {
	big := strings.Repeat("é", 1<<20)
	got := String(big)
	if len(got) > Max+len("…(+2097152 bytes)") || !utf8.ValidString(got) {
		t.Errorf("String of 2 MiB: %d bytes, valid UTF-8 %v; want at most Max plus the marker, valid", len(got), utf8.ValidString(got))
	}
	if !strings.HasSuffix(got, "…(+2096896 bytes)") {
		t.Errorf("String of 2 MiB ends %q, want the dropped count", got[len(got)-20:])
	}
}

func TestReplaceAttr(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: ReplaceAttr}))
	big := strings.Repeat("x", 1<<20)
	log.Info("m", "source", big, "error", errors.New(big), "stack", big, "n", 3)
	if buf.Len() > MaxAttr*2+MaxStack+512 {
		t.Errorf("log line of three 1 MiB values is %d bytes, want at most %d", buf.Len(), MaxAttr*2+MaxStack+512)
	}
	if !strings.Contains(buf.String(), `"n":3`) {
		t.Errorf("other attributes changed: %s", buf.String()[:200])
	}
}
