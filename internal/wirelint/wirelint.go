// Package wirelint keeps the hub's wire format in one place: it finds Go
// code outside the owner, the SDK's topology package, that writes a hub
// subject or header by hand. Its test runs it over the whole repository
// (every module), so `make test` fails on such code.
//
// The rules, applied to every non-test, non-generated Go file outside the
// owner (and outside testdata directories):
//
//   - owner-name: a use of the owner's header, content-type or subject
//     prefix constants (topology.Header*, topology.ContentType*,
//     topology.EventsPrefix and the other stream prefixes): the owner's
//     builders, MetaOf, Parse functions and filters are the way;
//   - msg-id-header: a use of NATS's own name of the Nats-Msg-Id header
//     (jetstream.MsgIDHeader, nats.MsgIdHdr);
//   - with-msg-id: jetstream.WithMsgID with an id the owner did not make;
//   - subject-literal: a string literal that begins a hub subject
//     ("junction.events…", "junction.deliveries…", "junction.retries…",
//     "junction.lanes…", "junction.dlq…", "junction.attempts…"), or
//     "junction." itself or followed by a format verb; OpenTelemetry
//     instrument and attribute names (the literal passed to a meter's
//     Int64…/Float64… constructor or to an attribute function) are not
//     subjects;
//   - header-literal: a string literal naming a hub header
//     ("Nats-Msg-Id", "Junction-Event-Id", …, any case) in a package that
//     imports nats.go: HTTP headers of an adapter that happen to share a
//     name are not the hub's.
package wirelint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/junctionhq/junction/adapters/sdk/platform/topology"
)

// Owner is the import path of the wire-format owner, and OwnerDir its
// directory in the repository.
const (
	Owner    = "github.com/junctionhq/junction/adapters/sdk/platform/topology"
	OwnerDir = "adapters/sdk/platform/topology"
	selfDir  = "internal/wirelint"
)

const (
	natsPath      = "github.com/nats-io/nats.go"
	jetstreamPath = "github.com/nats-io/nats.go/jetstream"
	attributePath = "go.opentelemetry.io/otel/attribute"
)

// Finding is one place that writes wire by hand.
type Finding struct {
	// Pos is file:line, the file relative to the root checked.
	Pos string
	// Rule is the rule broken (see the package documentation).
	Rule string
	// What is the offending code.
	What string
}

func (f Finding) String() string { return f.Pos + ": " + f.Rule + ": " + f.What }

var (
	ownerName   = regexp.MustCompile(`^(Header|ContentType)|^(Events|Deliveries|Retries|Lanes|DLQ|Attempts)Prefix$`)
	subjectLit  = regexp.MustCompile(`^junction\.($|%|(events|deliveries|retries|lanes|dlq|attempts)($|\.))`)
	meterCtor   = regexp.MustCompile(`^(Int64|Float64)[A-Za-z]*(Counter|Histogram|Gauge)$`)
	hubHeaders  = headerNames()
	skippedDirs = []string{"testdata", "vendor", "node_modules", "bin", "third_party"}
)

// headerNames are the hub's header names, lower case.
func headerNames() map[string]bool {
	names := map[string]bool{"nats-msg-id": true}
	for _, h := range []string{
		topology.HeaderEventID, topology.HeaderEventSource, topology.HeaderEventType, topology.HeaderDeliveryID,
		topology.HeaderAttempts, topology.HeaderNotBefore, topology.HeaderRedrive,
		topology.HeaderDLQReason, topology.HeaderDLQAttempts, topology.HeaderDLQLastError, topology.HeaderDLQStatus,
	} {
		names[strings.ToLower(h)] = true
	}
	return names
}

// Check runs the rules over every package under root and returns what
// they find, in file order.
func Check(root string) ([]Finding, error) {
	byDir := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || slices.Contains(skippedDirs, d.Name())) {
				return filepath.SkipDir
			}
			if rel == OwnerDir || rel == selfDir {
				return filepath.SkipDir
			}
			return nil
		}
		n := d.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || strings.HasSuffix(n, ".pb.go") || strings.HasSuffix(n, ".pb.gw.go") {
			return nil
		}
		byDir[filepath.Dir(rel)] = append(byDir[filepath.Dir(rel)], rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	var out []Finding
	for _, dir := range dirs {
		found, err := checkPackage(root, byDir[dir])
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}

// checkPackage checks the files of one directory.
func checkPackage(root string, files []string) ([]Finding, error) {
	fset := token.NewFileSet()
	parsed := make([]*ast.File, 0, len(files))
	talksNATS := false
	for _, rel := range files {
		f, err := parser.ParseFile(fset, filepath.Join(root, rel), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("wirelint: %w", err)
		}
		parsed = append(parsed, f)
		for _, im := range f.Imports {
			if p, _ := strconv.Unquote(im.Path.Value); p == natsPath || p == jetstreamPath {
				talksNATS = true
			}
		}
	}
	var out []Finding
	for i, f := range parsed {
		c := &checker{fset: fset, rel: files[i], imports: importNames(f), talksNATS: talksNATS, exempt: map[*ast.BasicLit]bool{}}
		ast.Inspect(f, c.visit)
		out = append(out, c.found...)
	}
	return out, nil
}

// importNames maps a file's local import names to import paths.
func importNames(f *ast.File) map[string]string {
	m := map[string]string{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		switch p {
		case natsPath:
			name = "nats"
		}
		if im.Name != nil {
			name = im.Name.Name
		}
		m[name] = p
	}
	return m
}

type checker struct {
	fset      *token.FileSet
	rel       string
	imports   map[string]string
	talksNATS bool
	// exempt are literals that name OpenTelemetry instruments and
	// attributes.
	exempt map[*ast.BasicLit]bool
	found  []Finding
}

func (c *checker) report(n ast.Node, rule, what string) {
	c.found = append(c.found, Finding{Pos: fmt.Sprintf("%s:%d", c.rel, c.fset.Position(n.Pos()).Line), Rule: rule, What: what})
}

// pkgSel returns the import path and name of a selector on an imported
// package.
func (c *checker) pkgSel(e ast.Expr) (path, name string, ok bool) {
	sel, isSel := e.(*ast.SelectorExpr)
	if !isSel {
		return "", "", false
	}
	id, isID := sel.X.(*ast.Ident)
	if !isID {
		return "", "", false
	}
	path, ok = c.imports[id.Name]
	return path, sel.Sel.Name, ok
}

func (c *checker) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.CallExpr:
		c.call(n)
	case *ast.SelectorExpr:
		path, name, ok := c.pkgSel(n)
		switch {
		case !ok:
		case path == Owner && ownerName.MatchString(name):
			c.report(n, "owner-name", "topology."+name+" outside the owner: build with the owner's *Msg functions, read with MetaOf or Parse*, filter with *Filter")
		case (path == jetstreamPath && name == "MsgIDHeader") || (path == natsPath && name == "MsgIdHdr"):
			c.report(n, "msg-id-header", name+": the owner sets and reads Nats-Msg-Id (MetaOf(h).MsgID)")
		}
	case *ast.BasicLit:
		if n.Kind != token.STRING || c.exempt[n] {
			return true
		}
		s, err := strconv.Unquote(n.Value)
		if err != nil {
			return true
		}
		switch {
		case subjectLit.MatchString(s):
			c.report(n, "subject-literal", strconv.Quote(s)+" spells a hub subject: use the owner's *Subject or *Filter functions")
		case c.talksNATS && hubHeaders[strings.ToLower(s)]:
			c.report(n, "header-literal", strconv.Quote(s)+" names a hub header: use the owner's builders and MetaOf")
		}
	}
	return true
}

// call exempts OpenTelemetry names and checks jetstream.WithMsgID.
func (c *checker) call(n *ast.CallExpr) {
	path, name, ok := c.pkgSel(n.Fun)
	if ok && path == jetstreamPath && name == "WithMsgID" {
		if len(n.Args) == 1 {
			if p, _, ok := c.pkgSel(callee(n.Args[0])); ok && p == Owner {
				return
			}
		}
		c.report(n, "with-msg-id", "jetstream.WithMsgID with an id the owner did not make: use the owner's builders")
		return
	}
	otel := ok && path == attributePath
	if sel, isSel := n.Fun.(*ast.SelectorExpr); isSel && meterCtor.MatchString(sel.Sel.Name) {
		otel = true
	}
	if otel && len(n.Args) > 0 {
		if lit, isLit := n.Args[0].(*ast.BasicLit); isLit {
			c.exempt[lit] = true
		}
	}
}

// callee is the function a call expression calls, or nil.
func callee(e ast.Expr) ast.Expr {
	if call, ok := e.(*ast.CallExpr); ok {
		return call.Fun
	}
	return nil
}

// RepoRoot is the directory holding go.work at or above dir.
func RepoRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.work at or above %s", dir)
		}
	}
}
