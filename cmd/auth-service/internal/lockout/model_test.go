package lockout

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rule's properties, on the Go statement of it (the Lua one is held
// to it by the e2e test TestLockoutScriptsAndModelAgree).

var t0 = time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC).UnixMilli()

func failFrom(p Policy, a *accountState, src string, now int64) decision {
	d := a.begin(p, src, now)
	if d.ok {
		a.settle(p, src, "fail", now)
	}
	return d
}

func TestOneSourceGetsGrowingDelaysOnAnAccount(t *testing.T) {
	p, a := DefaultPolicy, newAccountState()
	now := t0
	for i := 0; i < p.FreePerPair; i++ {
		require.True(t, failFrom(p, a, "198.51.100.66", now).ok, "free failure %d", i+1)
	}
	// Then 1 s, 2 s, 4 s … after each failure.
	for k := 0; k < 8; k++ {
		wait := int64(1000) << k
		d := a.begin(p, "198.51.100.66", now+wait-1)
		require.False(t, d.ok, "before its delay (failure %d)", p.FreePerPair+k)
		assert.Equal(t, ReasonPair, d.reason)
		assert.Equal(t, int64(1), d.retry)
		now += wait
		require.True(t, failFrom(p, a, "198.51.100.66", now).ok, "after %d ms", wait)
	}
	// The owner from another address is not delayed at all.
	d := a.begin(p, "203.0.113.5", now)
	require.True(t, d.ok)
	a.settle(p, "203.0.113.5", "ok", now)
	assert.Zero(t, a.f, "a success ends the consecutive failures")
}

func TestStrangersCannotLockOutAFamiliarSource(t *testing.T) {
	p, a := DefaultPolicy, newAccountState()
	require.True(t, a.begin(p, "203.0.113.5", t0).ok)
	a.settle(p, "203.0.113.5", "ok", t0) // the owner's usual address
	// A botnet: every address spends its free failures.
	n := 0
	for addr := 0; n < p.MaxPerAccount; addr++ {
		for k := 0; k < p.FreePerPair; k++ {
			if failFrom(p, a, "192.0.2."+itoa(addr), t0+1).ok {
				n++
			}
		}
		if addr > 100 {
			break
		}
	}
	assert.Equal(t, p.MaxPerAccount/2, n, "unfamiliar sources stop at half the account's ceiling")
	d := a.begin(p, "198.51.100.200", t0+2)
	assert.False(t, d.ok, "a new address is refused once strangers spent their half")
	assert.Equal(t, ReasonAccount, d.reason)
	assert.Equal(t, ms(p.AccountWindow)-1, d.retry, "until the window after the last failure")
	d = a.begin(p, "203.0.113.5", t0+2)
	require.True(t, d.ok, "the familiar address still gets in")
	assert.True(t, d.known)
	a.settle(p, "203.0.113.5", "ok", t0+2)
	assert.True(t, a.begin(p, "198.51.100.200", t0+3).ok, "the owner's success reopens the account")
}

func TestNeverMoreThanMaxPerAccountConsecutiveFailures(t *testing.T) {
	p, a := DefaultPolicy, newAccountState()
	for i := 0; i < 20; i++ { // twenty familiar addresses (a shared NAT, say)
		src := "10.0.0." + itoa(i)
		require.True(t, a.begin(p, src, t0).ok)
		a.settle(p, src, "ok", t0)
	}
	assert.Len(t, a.known, p.MaxKnown, "only the newest are kept")
	fails := 0
	for round := 0; round < 1000; round++ { // a minute apart, within one window
		now := t0 + int64(round+1)*ms(time.Minute)
		for _, src := range []string{"10.0.0." + itoa(round%20), "192.0.2." + itoa(round)} {
			if failFrom(p, a, src, now).ok {
				fails++
			}
		}
	}
	assert.Equal(t, p.MaxPerAccount, fails, "familiar and unfamiliar sources together")
}

func TestReservationsBoundParallelAttempts(t *testing.T) {
	p, a := DefaultPolicy, newAccountState()
	ok := 0
	for i := 0; i < 20; i++ {
		if a.begin(p, "198.51.100.7", t0).ok {
			ok++
		}
	}
	assert.Equal(t, p.FreePerPair, ok, "one source: its free attempts in flight, no more")
	for i := 0; i < ok; i++ {
		a.settle(p, "198.51.100.7", "none", t0)
	}
	assert.True(t, a.empty(), "unjudged attempts leave nothing behind")
	// Reservations of a pod that died lapse.
	require.True(t, a.begin(p, "198.51.100.8", t0).ok)
	assert.True(t, a.begin(p, "198.51.100.9", t0+ms(p.ReservationTTL)).ok)
	assert.Equal(t, 1, a.i)
}

func TestFailuresAreForgottenAfterTheWindowAndUnlock(t *testing.T) {
	p, a := DefaultPolicy, newAccountState()
	for i := 0; i < p.FreePerPair+3; i++ {
		failFrom(p, a, "198.51.100.1", t0+int64(i)*100_000)
	}
	last := t0 + int64(p.FreePerPair+2)*100_000
	assert.False(t, a.begin(p, "198.51.100.1", last+1).ok)
	a.prune(p, last+ms(p.AccountWindow))
	assert.True(t, a.empty(), "a day without a failure forgets them")

	for i := 0; i < p.FreePerPair+3; i++ {
		failFrom(p, a, "198.51.100.1", t0+int64(i)*100_000)
	}
	a.settle(p, "", "unlock", last+1)
	assert.Zero(t, a.f)
	assert.True(t, a.begin(p, "198.51.100.1", last+2).ok, "unlocked")
}

func TestSourceLimitAcrossAccounts(t *testing.T) {
	p := DefaultPolicy
	p.MaxPerSource = 3
	s := &sourceState{}
	for i := 0; i < 3; i++ {
		require.True(t, s.begin(p, t0).ok)
		s.settle(p, "fail", t0)
	}
	d := s.begin(p, t0+1)
	assert.False(t, d.ok)
	assert.Equal(t, ms(p.SourceWindow)-1, d.retry)
	assert.True(t, s.begin(p, t0+ms(p.SourceWindow)).ok, "a new window")
}

func TestSourceIsAnIPv4AddressOrAnIPv6Slash64(t *testing.T) {
	assert.Equal(t, "203.0.113.9", Source("203.0.113.9"))
	assert.Equal(t, "203.0.113.9", Source("::ffff:203.0.113.9"))
	assert.Equal(t, "2001:db8:1:2::/64", Source("2001:db8:1:2:aaaa::1"))
	assert.Equal(t, Source("2001:db8:1:2::5"), Source("2001:db8:1:2:ffff::9"))
}

func TestMemoryStaysBounded(t *testing.T) {
	p := DefaultPolicy
	m := newMemory(100)
	for i := 0; i < 1000; i++ {
		name := "user-" + itoa(i)
		if m.beginAccount(p, name, "192.0.2.1", t0).ok {
			m.settleAccount(p, name, "192.0.2.1", "fail", t0)
		}
	}
	assert.LessOrEqual(t, m.size(), 100)
}

func itoa(i int) string { return strconv.Itoa(i) }
