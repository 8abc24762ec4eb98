package natstrace

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
)

// maxAttrSets bounds each attrSets; past it a set is built per request.
const maxAttrSets = 1024

// attrSets keeps the metric attribute set of each request shape seen (an
// HTTP server's or client's), so a set is built once per shape rather than
// per request. At most maxAttrSets are kept.
type attrSets[K comparable] struct {
	mu sync.RWMutex
	m  map[K]attribute.Set
}

// get returns the set kept for k, if any.
func (c *attrSets[K]) get(k K) (attribute.Set, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	set, ok := c.m[k]
	return set, ok
}

// put keeps set for k unless maxAttrSets are kept already.
func (c *attrSets[K]) put(k K, set attribute.Set) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[K]attribute.Set{}
	}
	if len(c.m) < maxAttrSets {
		c.m[k] = set
	}
}

// len is how many sets are kept.
func (c *attrSets[K]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
