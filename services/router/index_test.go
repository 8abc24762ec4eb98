package router

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// compiledFilter is a Compiled with only the fields the index uses.
func compiledFilter(id, filter string) *Compiled {
	return &Compiled{ID: id, Filter: filter, Route: &junctionv1.Route{Name: RouteName(id)}}
}

func ids(cs []*Compiled) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	slices.Sort(out)
	return out
}

func TestIndexMatch(t *testing.T) {
	routes := map[string]*Compiled{}
	for id, f := range map[string]string{
		"exact":   "junction.events.acme.user.created",
		"star":    "junction.events.acme.user.*",
		"tail":    "junction.events.acme.>",
		"all":     "junction.events.>",
		"anysrc":  "junction.events.*.user.created",
		"other":   "junction.events.shop.order.created",
		"short":   "junction.events.acme.user",
		"deepest": "junction.events.acme.user.created.v2",
	} {
		routes[id] = compiledFilter(id, f)
	}
	ix := buildIndex(routes)
	tests := []struct {
		subject string
		want    []string
	}{
		{"junction.events.acme.user.created", []string{"all", "anysrc", "exact", "star", "tail"}},
		{"junction.events.acme.user.deleted", []string{"all", "star", "tail"}},
		{"junction.events.acme.user", []string{"all", "short", "tail"}},
		{"junction.events.acme.user.created.v2", []string{"all", "deepest", "tail"}},
		{"junction.events.shop.order.created", []string{"all", "other"}},
		{"junction.events.zzz", []string{"all"}},
		{"junction.other.x", []string{}},
		{"", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.subject, func(t *testing.T) {
			got := ids(ix.match(tt.subject, nil))
			if !slices.Equal(got, tt.want) {
				t.Errorf("match(%q) = %v, want %v", tt.subject, got, tt.want)
			}
		})
	}
}

// TestIndexAgreesWithScan checks, over random patterns and subjects, that
// the index returns exactly the routes a scan with MatchSubject returns,
// each once.
func TestIndexAgreesWithScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lits := []string{"a", "b", "c"}
	randPattern := func() string {
		n := 1 + rng.IntN(4)
		toks := make([]string, n)
		for i := range toks {
			switch r := rng.IntN(10); {
			case r < 2:
				toks[i] = "*"
			case r < 3 && i == n-1:
				toks[i] = ">"
			default:
				toks[i] = lits[rng.IntN(len(lits))]
			}
		}
		return "junction.events." + strings.Join(toks, ".")
	}
	randSubject := func() string {
		n := 1 + rng.IntN(5)
		toks := make([]string, n)
		for i := range toks {
			toks[i] = lits[rng.IntN(len(lits))]
		}
		return "junction.events." + strings.Join(toks, ".")
	}
	for round := range 20 {
		routes := map[string]*Compiled{}
		for i := range 1 + rng.IntN(300) {
			id := fmt.Sprintf("r%d", i)
			routes[id] = compiledFilter(id, randPattern())
		}
		ix := buildIndex(routes)
		for range 500 {
			subject := randSubject()
			var want []string
			for id, c := range routes {
				if MatchSubject(c.Filter, subject) {
					want = append(want, id)
				}
			}
			slices.Sort(want)
			got := ids(ix.match(subject, nil))
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: match(%q) = %v, want %v (a scan)", round, subject, got, want)
			}
		}
	}
}
