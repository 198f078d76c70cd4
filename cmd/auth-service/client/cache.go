package client

import (
	"container/list"
	"sync"
	"time"
)

// cache keeps positive validations by the token's SHA-256 (never the
// token), least recently used first out.
type cache struct {
	mu  sync.Mutex
	max int
	ll  list.List // of *cacheItem, most recent first
	m   map[[32]byte]*list.Element
}

type cacheEntry struct {
	id         Identity
	freshUntil time.Time // reused without asking until then
	staleUntil time.Time // accepted while the service cannot answer until then
}

type cacheItem struct {
	key [32]byte
	cacheEntry
}

func newCache(max int) *cache { return &cache{max: max, m: map[[32]byte]*list.Element{}} }

// get returns key's entry unless it is past staleUntil (then dropped).
func (c *cache) get(key [32]byte, now time.Time) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return cacheEntry{}, false
	}
	it := el.Value.(*cacheItem)
	if !now.Before(it.staleUntil) {
		c.ll.Remove(el)
		delete(c.m, key)
		return cacheEntry{}, false
	}
	c.ll.MoveToFront(el)
	return it.cacheEntry, true
}

func (c *cache) put(key [32]byte, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		el.Value.(*cacheItem).cacheEntry = e
		c.ll.MoveToFront(el)
		return
	}
	c.m[key] = c.ll.PushFront(&cacheItem{key: key, cacheEntry: e})
	for c.ll.Len() > c.max {
		oldest := c.ll.Back()
		c.ll.Remove(oldest)
		delete(c.m, oldest.Value.(*cacheItem).key)
	}
}

func (c *cache) del(key [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		c.ll.Remove(el)
		delete(c.m, key)
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
