package lockout

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var policy = Policy{MaxPerAccount: 3, MaxPerSource: 5, Window: time.Minute}

func TestMemoryCountsOnlyJudgedFailures(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := []struct {
		name     string
		results  []string // how each attempt ends, one after the other
		wantOpen bool     // may the next attempt proceed?
	}{
		{"under the limit", []string{"fail", "fail"}, true},
		{"at the limit", []string{"fail", "fail", "fail"}, false},
		{"abandoned attempts count nothing", []string{"none", "none", "none", "none", "fail"}, true},
		{"a success clears the failures", []string{"fail", "fail", "ok", "fail", "fail"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newMemory(100)
			for i, r := range c.results {
				ok, _ := m.begin(policy, "alice", "198.51.100.1", now)
				require.True(t, ok, "attempt %d", i+1)
				m.end(policy, "alice", "198.51.100.1", r, now)
			}
			ok, retry := m.begin(policy, "ALICE", "203.0.113.1", now)
			assert.Equal(t, c.wantOpen, ok, "case does not dodge the count")
			if !ok {
				assert.Equal(t, policy.Window, retry, "the rest of the window")
			}
		})
	}
}

func TestMemoryWindowEnds(t *testing.T) {
	m := newMemory(100)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		ok, _ := m.begin(policy, "bob", "s", now)
		require.True(t, ok)
		m.end(policy, "bob", "s", "fail", now)
	}
	ok, retry := m.begin(policy, "bob", "s", now.Add(40*time.Second))
	assert.False(t, ok)
	assert.Equal(t, 20*time.Second, retry)
	ok, _ = m.begin(policy, "bob", "s", now.Add(policy.Window))
	assert.True(t, ok, "a new window")
}

// Parallel guesses stay bounded: attempts in flight hold their slots.
func TestMemoryBoundsParallelAttempts(t *testing.T) {
	m := newMemory(100)
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, retry := m.begin(policy, "carol", "s", now); ok {
				mu.Lock()
				admitted++
				mu.Unlock()
			} else {
				assert.Equal(t, time.Second, retry, "only attempts in flight fill the limit: retry soon")
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, policy.MaxPerAccount, admitted)
}

func TestMemorySourceLimit(t *testing.T) {
	m := newMemory(100)
	now := time.Unix(1000, 0)
	for i := 0; i < policy.MaxPerSource; i++ {
		user := string(rune('a' + i))
		ok, _ := m.begin(policy, user, "192.0.2.9", now)
		require.True(t, ok)
		m.end(policy, user, "192.0.2.9", "fail", now)
	}
	ok, _ := m.begin(policy, "zed", "192.0.2.9", now)
	assert.False(t, ok, "the source is refused")
	_, inflight := m.entries[accountEntry("zed")]
	assert.False(t, inflight, "a refused source touches no account")
	ok, _ = m.begin(policy, "zed", "192.0.2.10", now)
	assert.True(t, ok)
}

func TestMemoryStaysBounded(t *testing.T) {
	m := newMemory(10)
	now := time.Unix(1000, 0)
	ok, _ := m.begin(policy, "busy", "s", now) // in flight: never dropped
	require.True(t, ok)
	for i := 0; i < 100; i++ {
		user := "u" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if ok, _ := m.begin(policy, user, "s"+user, now); ok {
			m.end(policy, user, "s"+user, "fail", now)
		}
	}
	assert.LessOrEqual(t, len(m.entries), 10)
	assert.Contains(t, m.entries, accountEntry("busy"))
}
