package lockout

import "sync"

// MemoryEntries bounds the in-memory counters (accounts and sources
// together). When full, an entry with no attempt in flight is dropped to
// make room: an attacker would need more distinct names than this within
// one window, through one pod, to flush a counter.
const MemoryEntries = 10000

// memory is the per-pod stand-in for the Redis counters, running the same
// rule (model.go). It is only used while Redis does not answer.
type memory struct {
	mu       sync.Mutex
	max      int
	accounts map[string]*accountState
	sources  map[string]*sourceState
}

func newMemory(max int) *memory {
	return &memory{max: max, accounts: map[string]*accountState{}, sources: map[string]*sourceState{}}
}

func (m *memory) size() int { return len(m.accounts) + len(m.sources) }

// makeRoom drops empty entries, or else one idle one, when full.
func (m *memory) makeRoom(p Policy, now int64) {
	if m.size() < m.max {
		return
	}
	victim := ""
	for k, a := range m.accounts {
		a.prune(p, now)
		if a.empty() {
			delete(m.accounts, k)
		} else if a.i == 0 {
			victim = k
		}
	}
	for k, s := range m.sources {
		s.prune(now)
		if s.empty() {
			delete(m.sources, k)
		}
	}
	if m.size() >= m.max && victim != "" {
		delete(m.accounts, victim)
	}
}

func (m *memory) beginSource(p Policy, src string, now int64) decision {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sources[src]
	if s == nil {
		s = &sourceState{}
	}
	d := s.begin(p, now)
	if d.ok && m.sources[src] == nil {
		m.makeRoom(p, now)
		m.sources[src] = s
	}
	return d
}

func (m *memory) settleSource(p Policy, src, op string, now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sources[src]
	if s == nil {
		if op != "fail" {
			return
		}
		m.makeRoom(p, now)
		s = &sourceState{}
		m.sources[src] = s
	}
	s.settle(p, op, now)
	if s.empty() {
		delete(m.sources, src)
	}
}

func (m *memory) beginAccount(p Policy, account, src string, now int64) decision {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[account]
	if a == nil {
		a = newAccountState()
	}
	d := a.begin(p, src, now)
	if d.ok && m.accounts[account] == nil {
		m.makeRoom(p, now)
		m.accounts[account] = a
	}
	return d
}

func (m *memory) settleAccount(p Policy, account, src, op string, now int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[account]
	if a == nil {
		if op != "fail" && op != "ok" {
			return
		}
		m.makeRoom(p, now)
		a = newAccountState()
		m.accounts[account] = a
	}
	a.settle(p, src, op, now)
	if a.empty() {
		delete(m.accounts, account)
	}
}
