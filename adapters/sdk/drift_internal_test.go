package sdk

import (
	"fmt"
	"testing"
)

// TestDriftLabelsSources: past driftMaxSources sources, a new source's
// events count under "other" in every label; known sources keep theirs.
func TestDriftLabelsSources(t *testing.T) {
	d := driftLabels{sources: map[string]*driftSource{}}
	for i := range driftMaxSources {
		if s, _, _ := d.labels(fmt.Sprintf("s%d", i), "a.b", "1"); s != fmt.Sprintf("s%d", i) {
			t.Fatalf("source %d labelled %q", i, s)
		}
	}
	tests := []struct {
		name                 string
		source, typ, version string
		wantS, wantT, wantV  string
	}{
		{"new source past the bound", "late", "a.b", "1", driftOther, driftOther, driftOther},
		{"known source", "s0", "a.b", "1", "s0", "a.b", "1"},
		{"version not UTF-8", "s1", "a.b", "\xff", "s1", "a.b", "invalid"},
		{"version with a newline", "s1", "a.b", "1\n2", "s1", "a.b", "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ty, v := d.labels(tt.source, tt.typ, tt.version)
			if s != tt.wantS || ty != tt.wantT || v != tt.wantV {
				t.Errorf("labels(%q, %q, %q) = %q %q %q, want %q %q %q", tt.source, tt.typ, tt.version, s, ty, v, tt.wantS, tt.wantT, tt.wantV)
			}
		})
	}
}
