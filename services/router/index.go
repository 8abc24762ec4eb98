package router

import (
	"sort"
	"strings"
)

// index is an immutable set of compiled routes with a token trie over
// their filters, so that finding the routes whose filter matches a subject
// costs time in the subject's length and the number of wildcard branches,
// not in the number of routes. The router swaps whole indexes atomically.
type index struct {
	routes map[string]*Compiled // by route id
	root   *node
}

// node is one token position of the trie.
type node struct {
	lit  map[string]*node // a literal token
	star *node            // "*"
	tail []*Compiled      // filters ending in ">" here: match one or more remaining tokens
	end  []*Compiled      // filters ending here
}

// buildIndex indexes routes. It keeps the map it is given; callers must
// not modify it afterwards.
func buildIndex(routes map[string]*Compiled) *index {
	ix := &index{routes: routes, root: &node{}}
	ids := make([]string, 0, len(routes))
	for id := range routes {
		ids = append(ids, id)
	}
	sort.Strings(ids) // candidates come out in id order within a node
	for _, id := range ids {
		ix.root.insert(routes[id])
	}
	return ix
}

func (n *node) insert(c *Compiled) {
	rest := c.Filter
	for {
		tok, next, more := strings.Cut(rest, ".")
		if tok == ">" {
			n.tail = append(n.tail, c)
			return
		}
		var child *node
		if tok == "*" {
			if n.star == nil {
				n.star = &node{}
			}
			child = n.star
		} else {
			if n.lit == nil {
				n.lit = make(map[string]*node)
			}
			child = n.lit[tok]
			if child == nil {
				child = &node{}
				n.lit[tok] = child
			}
		}
		if !more {
			child.end = append(child.end, c)
			return
		}
		n, rest = child, next
	}
}

// match appends to dst every route whose filter matches subject, each
// once, and returns dst.
func (ix *index) match(subject string, dst []*Compiled) []*Compiled {
	if subject == "" {
		return dst
	}
	return ix.root.match(subject, dst)
}

// match walks the non-empty rest of a subject from n.
func (n *node) match(rest string, dst []*Compiled) []*Compiled {
	dst = append(dst, n.tail...)
	tok, next, more := strings.Cut(rest, ".")
	if child := n.lit[tok]; child != nil {
		dst = child.visit(next, more, dst)
	}
	if n.star != nil {
		dst = n.star.visit(next, more, dst)
	}
	return dst
}

func (n *node) visit(next string, more bool, dst []*Compiled) []*Compiled {
	if !more {
		return append(dst, n.end...)
	}
	return n.match(next, dst)
}

// len is the number of routes indexed.
func (ix *index) len() int { return len(ix.routes) }
