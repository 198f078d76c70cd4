package lockout

import (
	"math"
	"time"
)

// The rule, stated once in Go (this file) and once in Lua (scripts.go),
// which the e2e test TestLockoutScriptsAndModelAgree holds to each other
// over random sequences. The memory fallback runs this file.
//
// An account's state: its consecutive failures f (from every source,
// forgotten AccountWindow after the last one, or on a success), the
// attempts in flight i (reservations, lapsing ReservationTTL after the
// last one), one entry per (account, source) pair with failures (n, the
// time of the last one, and the pair's attempts in flight), and the
// sources that logged in successfully within KnownFor (familiar sources,
// at most MaxKnown, the newest kept).
//
// An attempt from source s may start when
//   - f + i is below the account's ceiling: MaxPerAccount for a familiar
//     source, half of it for any other, so strangers can never spend the
//     familiar sources' share; and
//   - the pair (account, s) has had fewer than FreePerPair failures (with
//     its attempts in flight, for an unfamiliar source), or, past that,
//     nothing is in flight on the pair and 2^(n-FreePerPair) seconds have
//     passed since its last failure.

// accountState is one account's counters.
type accountState struct {
	f     int   // consecutive failures
	fe    int64 // ms: f is forgotten then
	i     int   // attempts in flight
	ie    int64 // ms: reservations lapse then
	pairs map[string]*pairState
	known map[string]int64 // source -> ms of its last success
}

type pairState struct {
	n    int   // failures of this (account, source)
	last int64 // ms of the last one
	i    int   // attempts in flight
}

// sourceState is one source's counters across accounts (password
// spraying): failures within a fixed SourceWindow from the first one.
type sourceState struct {
	f  int
	fe int64
	i  int
	ie int64
}

// decision is Begin's answer: ok, or the wait and why.
type decision struct {
	ok     bool
	retry  int64 // ms
	reason string
	known  bool
}

// Refusal reasons.
const (
	ReasonSource  = "source"  // the source's failures across accounts
	ReasonAccount = "account" // the account's consecutive failures (for this kind of source)
	ReasonPair    = "pair"    // this source's failures on this account: growing delay
)

func ms(d time.Duration) int64 { return d.Milliseconds() }

// pairDelay is the wait after n failures of a pair: none for the first
// FreePerPair, then 1 s doubling with each failure.
func pairDelay(p Policy, n int) int64 {
	if n < p.FreePerPair {
		return 0
	}
	return int64(math.Pow(2, math.Min(float64(n-p.FreePerPair), 40))) * 1000
}

// pairExpiry is when a pair with no attempt in flight is forgotten: the
// account's window or its delay after the last failure, the later.
func pairExpiry(p Policy, s *pairState) int64 {
	return s.last + max(ms(p.AccountWindow), pairDelay(p, s.n))
}

func (a *accountState) prune(p Policy, now int64) {
	if a.f > 0 && now >= a.fe {
		a.f = 0
	}
	if a.i > 0 && now >= a.ie {
		a.i = 0
		for _, s := range a.pairs {
			s.i = 0
		}
	}
	for src, s := range a.pairs {
		if s.i == 0 && now >= pairExpiry(p, s) {
			delete(a.pairs, src)
		}
	}
	for src, t := range a.known {
		if now >= t+ms(p.KnownFor) {
			delete(a.known, src)
		}
	}
}

func (a *accountState) ceiling(p Policy, known bool) int {
	if known {
		return p.MaxPerAccount
	}
	return p.MaxPerAccount / 2
}

// begin decides and, when the attempt may start, reserves its slots.
func (a *accountState) begin(p Policy, src string, now int64) decision {
	a.prune(p, now)
	_, known := a.known[src]
	if c := a.ceiling(p, known); a.f+a.i >= c {
		retry := int64(1000)
		if a.f >= c {
			retry = a.fe - now
		}
		return decision{retry: retry, reason: ReasonAccount, known: known}
	}
	s := a.pairs[src]
	if s == nil {
		s = &pairState{}
	}
	inflight := s.i
	if known {
		inflight = 0 // a familiar source's parallel logins wait on nothing but the account's ceiling (review H2)
	}
	if s.n+inflight >= p.FreePerPair {
		if s.i > 0 {
			return decision{retry: 1000, reason: ReasonPair, known: known}
		}
		if wait := s.last + pairDelay(p, s.n) - now; wait > 0 {
			return decision{retry: wait, reason: ReasonPair, known: known}
		}
	}
	a.i++
	a.ie = now + ms(p.ReservationTTL)
	s.i++
	a.pairs[src] = s
	return decision{ok: true, known: known}
}

// settle ends an attempt: "fail" counts a failure on the account and the
// pair, "ok" clears the account's failures and the pair's and makes the
// source familiar, "none" only releases the reservation; "unlock" (an
// operator) forgets every failure and keeps the familiar sources.
func (a *accountState) settle(p Policy, src, op string, now int64) {
	a.prune(p, now)
	s := a.pairs[src]
	if op != "unlock" {
		if a.i > 0 {
			a.i--
		}
		if s != nil && s.i > 0 {
			s.i--
		}
	}
	switch op {
	case "fail":
		a.f++
		a.fe = now + ms(p.AccountWindow)
		if s == nil {
			s = &pairState{}
			a.pairs[src] = s
		}
		s.n++
		s.last = now
	case "ok":
		a.f = 0
		if s != nil {
			s.n = 0
		}
		a.known[src] = now
		for len(a.known) > p.MaxKnown {
			oldest, t0 := "", int64(math.MaxInt64)
			for k, t := range a.known {
				if t < t0 || (t == t0 && k < oldest) {
					oldest, t0 = k, t
				}
			}
			delete(a.known, oldest)
		}
	case "unlock":
		a.f = 0
		for _, s := range a.pairs {
			s.n = 0
		}
	}
	for k, s := range a.pairs {
		if s.n == 0 && s.i == 0 {
			delete(a.pairs, k)
		}
	}
}

func (a *accountState) empty() bool {
	return a.f == 0 && a.i == 0 && len(a.pairs) == 0 && len(a.known) == 0
}

func newAccountState() *accountState {
	return &accountState{pairs: map[string]*pairState{}, known: map[string]int64{}}
}

func (s *sourceState) prune(now int64) {
	if s.f > 0 && now >= s.fe {
		s.f = 0
	}
	if s.i > 0 && now >= s.ie {
		s.i = 0
	}
}

func (s *sourceState) begin(p Policy, now int64) decision {
	s.prune(now)
	if s.f+s.i >= p.MaxPerSource {
		retry := int64(1000)
		if s.f >= p.MaxPerSource {
			retry = s.fe - now
		}
		return decision{retry: retry, reason: ReasonSource}
	}
	s.i++
	s.ie = now + ms(p.ReservationTTL)
	return decision{ok: true}
}

func (s *sourceState) settle(p Policy, op string, now int64) {
	s.prune(now)
	if s.i > 0 {
		s.i--
	}
	if op == "fail" {
		if s.f == 0 {
			s.fe = now + ms(p.SourceWindow)
		}
		s.f++
	}
}

func (s *sourceState) empty() bool { return s.f == 0 && s.i == 0 }
