package wirelint

import (
	"os"
	"slices"
	"testing"
)

// TestRepositoryWritesNoWireByHand runs the rules over every module of the
// repository: no package but the owner may write a hub subject or header.
func TestRepositoryWritesNoWireByHand(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	found, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("%s", f)
	}
	if len(found) > 0 {
		t.Logf("%d places write the hub's wire by hand; the owner is %s (%s)", len(found), Owner, OwnerDir)
	}
}

// TestPlantedViolations: each rule fires on the planted package that
// breaks it, and nothing fires on code that only looks like wire.
func TestPlantedViolations(t *testing.T) {
	found, err := Check("testdata/planted")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, f.Pos+" "+f.Rule)
	}
	want := []string{
		"bad/bad.go:16 subject-literal",
		"bad/bad.go:17 msg-id-header",
		"bad/bad.go:18 msg-id-header",
		"bad/bad.go:19 owner-name",
		"bad/bad.go:20 header-literal",
		"bad/bad.go:21 header-literal",
		"bad/bad.go:22 owner-name",
		"bad/bad.go:23 owner-name",
		"bad/bad.go:24 subject-literal",
		"bad/bad.go:25 subject-literal",
		"bad/bad.go:26 with-msg-id",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n  %q\nwant\n  %q", got, want)
	}
}
