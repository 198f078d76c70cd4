package lockout

import (
	"sync"
	"time"
)

// MemoryEntries bounds the in-memory counters (accounts and sources
// together). When full, an entry with no attempt in flight is dropped to
// make room: an attacker would need more distinct names than this within
// one window, through one pod, to flush a counter.
const MemoryEntries = 10000

// memory is the per-pod stand-in for the Redis counters, with the same
// rule. It is only used while Redis does not answer.
type memory struct {
	mu      sync.Mutex
	max     int
	entries map[string]*entry
}

type entry struct {
	failures int
	inflight int
	expires  time.Time // end of the failures' window
}

func newMemory(max int) *memory { return &memory{max: max, entries: map[string]*entry{}} }

func accountEntry(username string) string { f, _ := accountKeys(username); return f }

// get returns the live entry for key, creating it when create is set.
func (m *memory) get(key string, now time.Time, create bool) *entry {
	e := m.entries[key]
	if e != nil && e.failures > 0 && !now.Before(e.expires) {
		e.failures = 0
	}
	if e == nil && create {
		if len(m.entries) >= m.max {
			m.evict(now)
		}
		e = &entry{}
		m.entries[key] = e
	}
	return e
}

// evict drops expired idle entries, or else one idle entry.
func (m *memory) evict(now time.Time) {
	var idle string
	for k, e := range m.entries {
		if e.inflight > 0 {
			continue
		}
		if e.failures == 0 || !now.Before(e.expires) {
			delete(m.entries, k)
			continue
		}
		idle = k
	}
	if len(m.entries) >= m.max && idle != "" {
		delete(m.entries, idle)
	}
}

func (m *memory) begin(p Policy, username, source string, now time.Time) (bool, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.get(sourceKey(source), now, false); s != nil && s.failures >= p.MaxPerSource {
		return false, s.expires.Sub(now)
	}
	a := m.get(accountEntry(username), now, true)
	if a.failures+a.inflight >= p.MaxPerAccount {
		return false, retryAfter(int64(a.failures), int64(p.MaxPerAccount), a.expires.Sub(now))
	}
	a.inflight++
	return true, 0
}

func (m *memory) end(p Policy, username, source, result string, now time.Time) {
	m.mu.Lock()
	if a := m.get(accountEntry(username), now, false); a != nil && a.inflight > 0 {
		a.inflight--
	}
	m.mu.Unlock()
	m.recordAccount(p, username, result, now)
	if result == "fail" {
		m.recordSourceFailure(p, source, now)
	}
}

func (m *memory) recordAccount(p Policy, username, result string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch result {
	case "fail":
		m.fail(m.get(accountEntry(username), now, true), p, now)
	case "ok":
		if a := m.get(accountEntry(username), now, false); a != nil {
			a.failures = 0
		}
	}
}

func (m *memory) recordSourceFailure(p Policy, source string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail(m.get(sourceKey(source), now, true), p, now)
}

func (m *memory) fail(e *entry, p Policy, now time.Time) {
	if e.failures == 0 {
		e.expires = now.Add(p.Window)
	}
	e.failures++
}
