// Package lockout throttles password guessing so that no attacker can
// lock an account's owner out (review H1, H2, M1), while online guessing
// stays within NIST SP 800-63B §5.2.2 (at most 100 consecutive failed
// attempts on an account). The rule is in model.go; in short:
//
//   - each (account, source) pair gets FreePerPair failures, then waits
//     1 s, 2 s, 4 s … (doubling with each further failure) between attempts:
//     one address alone cannot spend an account's budget in practice;
//   - an account refuses sources that never logged in to it successfully
//     (unfamiliar sources) once it has MaxPerAccount/2 consecutive
//     failures, and familiar sources (a success within KnownFor) only at
//     MaxPerAccount: strangers can never lock the owner out of the
//     addresses the owner uses (the allowlist technique of SP 800-63B
//     §5.2.2, and Microsoft Entra's "smart lockout", which keeps familiar
//     and unfamiliar locations apart);
//   - one source is refused once it has MaxPerSource failures across
//     accounts within SourceWindow (password spraying); it is checked
//     first, so a refused source touches no account and creates no key;
//   - only judged attempts count (a wrong password, an unknown or disabled
//     account); an attempt the service could not judge releases its
//     reservation and counts nothing, and parallel attempts are bounded by
//     their reservations.
//
// A source is an IPv4 address or an IPv6 /64 (one subscriber's usual
// allocation). Counters live in Redis, one hash per account and one per
// source, each changed by one script per decision (scripts.go). When
// Redis cannot answer within OpTimeout (the counters' shard is failing
// over or hung), the pod applies the same rule in memory (memory.go).
package lockout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy is the rule's numbers.
type Policy struct {
	// FreePerPair failures of one (account, source) pair before delays.
	FreePerPair int
	// MaxPerAccount consecutive failures on an account refuse even its
	// familiar sources; MaxPerAccount/2 refuse the others.
	MaxPerAccount int
	// AccountWindow: an account's failures are forgotten this long after
	// the last one (a success forgets them at once).
	AccountWindow time.Duration
	// MaxPerSource failures from one source across accounts within
	// SourceWindow (from its first failure) refuse it until the window ends.
	MaxPerSource int
	SourceWindow time.Duration
	// KnownFor: a source stays familiar to an account this long after a
	// success from it; MaxKnown familiar sources are kept (the newest).
	KnownFor time.Duration
	MaxKnown int
	// ReservationTTL bounds how long an attempt's reservation outlives a
	// pod that died during it (longer than any request).
	ReservationTTL time.Duration
}

// DefaultPolicy is used for what the settings table does not set.
var DefaultPolicy = Policy{
	FreePerPair:    5,
	MaxPerAccount:  100,
	AccountWindow:  24 * time.Hour,
	MaxPerSource:   100,
	SourceWindow:   15 * time.Minute,
	KnownFor:       30 * 24 * time.Hour,
	MaxKnown:       10,
	ReservationTTL: time.Minute,
}

// Check reports what is wrong with a policy.
func (p Policy) Check() error {
	switch {
	case p.FreePerPair < 1, p.MaxPerAccount < 2, p.MaxPerSource < 1, p.MaxKnown < 1:
		return fmt.Errorf("lockout policy %+v: counts must be at least 1 (MaxPerAccount at least 2)", p)
	case p.MaxPerAccount > 100:
		return fmt.Errorf("lockout policy: MaxPerAccount %d is over NIST SP 800-63B's 100 consecutive failures", p.MaxPerAccount)
	case p.AccountWindow < time.Second, p.SourceWindow < time.Second, p.KnownFor < time.Second, p.ReservationTTL < time.Second:
		return fmt.Errorf("lockout policy %+v: windows must be at least a second", p)
	}
	return nil
}

// OpTimeout bounds each call to Redis; past it the pod counts in memory.
const OpTimeout = time.Second

// Limiter applies a Policy.
type Limiter struct {
	rdb redis.Cmdable
	// OnFallback is called each time the in-memory counters stand in for
	// Redis (op: begin or end), with Redis's error.
	OnFallback func(op string, err error)
	now        func() time.Time

	mu     sync.RWMutex
	policy Policy
	mem    *memory
}

// New returns a Limiter over rdb.
func New(rdb redis.Cmdable, p Policy) *Limiter {
	return &Limiter{rdb: rdb, policy: p, mem: newMemory(MemoryEntries), now: time.Now}
}

// Policy returns the rule in force.
func (l *Limiter) Policy() Policy {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.policy
}

// SetPolicy replaces the rule (read from the database once it is reached).
func (l *Limiter) SetPolicy(p Policy) {
	l.mu.Lock()
	l.policy = p
	l.mu.Unlock()
}

// AccountKey is the Redis key of an account's counters: the SHA-256 of
// its canonical name (Redis holds no names, and any input is a safe key)
// as a hash tag, which the session index of the same account shares.
func AccountKey(canonical string) string { return "lockout:{" + Tag(canonical) + "}" }

// Tag is an account's hash tag: hex SHA-256 of its canonical name.
func Tag(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return hex.EncodeToString(sum[:])
}

// SourceKey is the Redis key of a source's counters.
func SourceKey(source string) string { return "lockout:source:{" + source + "}" }

// Source is the unit a client address is counted in: the IPv4 address, or
// the IPv6 address's /64 (a subscriber usually holds a whole /64).
func Source(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil {
		return addr
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// Refusal says why an attempt may not start and when to come back.
type Refusal struct {
	RetryAfter time.Duration
	Reason     string // ReasonSource, ReasonAccount or ReasonPair
}

// Attempt is one login's reservation; exactly one of Failed, Succeeded or
// Abandon ends it.
type Attempt struct {
	l        *Limiter
	account  string // canonical name
	source   string
	inRedis  bool // where the reservation was made
	srcRedis bool
	// Familiar tells whether the source logged in to this account
	// successfully within KnownFor.
	Familiar bool
	once     sync.Once
}

// Begin checks the source, then the account and the pair, and reserves a
// slot on each. When the attempt may not start it returns nil and why.
// The source is checked first, so a refused source touches no account.
func (l *Limiter) Begin(ctx context.Context, account, addr string) (*Attempt, Refusal) {
	p, src := l.Policy(), Source(addr)
	a := &Attempt{l: l, account: account, source: src, inRedis: true, srcRedis: true}
	now := l.now().UnixMilli()
	d, err := l.beginSource(ctx, p, src, now)
	if err != nil {
		l.fallback("begin", err)
		a.srcRedis = false
		d = l.mem.beginSource(p, src, now)
	}
	if !d.ok {
		return nil, refusal(d)
	}
	d, err = l.beginAccount(ctx, p, account, src, now)
	if err != nil {
		l.fallback("begin", err)
		a.inRedis = false
		d = l.mem.beginAccount(p, account, src, now)
	}
	if !d.ok {
		a.settleSource(ctx, "none")
		return nil, refusal(d)
	}
	a.Familiar = d.known
	return a, Refusal{}
}

func refusal(d decision) Refusal {
	return Refusal{RetryAfter: max(time.Duration(d.retry)*time.Millisecond, time.Second), Reason: d.reason}
}

func (l *Limiter) beginSource(ctx context.Context, p Policy, src string, now int64) (decision, error) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	res, err := sourceScript.Run(ctx, l.rdb, []string{SourceKey(src)}, now, "begin", p.MaxPerSource, ms(p.SourceWindow), ms(p.ReservationTTL)).Int64Slice()
	if err != nil {
		return decision{}, fmt.Errorf("lockout: source: %w", err)
	}
	if len(res) != 2 {
		return decision{}, fmt.Errorf("lockout: unexpected source script reply %v", res)
	}
	return decision{ok: res[0] == 1, retry: res[1], reason: ReasonSource}, nil
}

func (l *Limiter) accountArgs(p Policy, now int64, op, src string) []any {
	return []any{now, op, src, p.FreePerPair, p.MaxPerAccount, ms(p.AccountWindow), ms(p.ReservationTTL), ms(p.KnownFor), p.MaxKnown}
}

func (l *Limiter) beginAccount(ctx context.Context, p Policy, account, src string, now int64) (decision, error) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	res, err := accountScript.Run(ctx, l.rdb, []string{AccountKey(account)}, l.accountArgs(p, now, "begin", src)...).Int64Slice()
	if err != nil {
		return decision{}, fmt.Errorf("lockout: account: %w", err)
	}
	if len(res) != 4 {
		return decision{}, fmt.Errorf("lockout: unexpected account script reply %v", res)
	}
	reason := map[int64]string{1: ReasonAccount, 2: ReasonPair}[res[2]]
	return decision{ok: res[0] == 1, retry: res[1], reason: reason, known: res[3] == 1}, nil
}

// Failed records a judged failure (wrong password, unknown or disabled
// account) on the account, the pair and the source.
func (a *Attempt) Failed(ctx context.Context) { a.end(ctx, "fail") }

// Succeeded clears the account's and the pair's failures and makes the
// source familiar to the account.
func (a *Attempt) Succeeded(ctx context.Context) { a.end(ctx, "ok") }

// Abandon releases the reservation of an attempt that was not judged (a
// dependency failed, the client went away): it counts nothing.
func (a *Attempt) Abandon(ctx context.Context) { a.end(ctx, "none") }

// end runs even when the request's context is cancelled (review L3),
// under a deadline of its own. A judgement Redis could not take is kept
// in memory, so that guessing stays bounded; the reservation then stays
// in Redis until ReservationTTL.
func (a *Attempt) end(ctx context.Context, op string) {
	a.once.Do(func() {
		ctx := context.WithoutCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); a.settleSource(ctx, op) }()
		a.settleAccount(ctx, op)
		wg.Wait()
	})
}

func (a *Attempt) settleAccount(ctx context.Context, op string) {
	l, p, now := a.l, a.l.Policy(), a.l.now().UnixMilli()
	if !a.inRedis {
		l.mem.settleAccount(p, a.account, a.source, op, now)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	if err := accountScript.Run(ctx, l.rdb, []string{AccountKey(a.account)}, l.accountArgs(p, now, op, a.source)...).Err(); err != nil {
		l.fallback("end", err)
		if op != "none" {
			l.mem.settleAccount(p, a.account, a.source, op, now)
		}
	}
}

func (a *Attempt) settleSource(ctx context.Context, op string) {
	l, p, now := a.l, a.l.Policy(), a.l.now().UnixMilli()
	if !a.srcRedis {
		l.mem.settleSource(p, a.source, op, now)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), OpTimeout)
	defer cancel()
	if err := sourceScript.Run(ctx, l.rdb, []string{SourceKey(a.source)}, now, op, p.MaxPerSource, ms(p.SourceWindow), ms(p.ReservationTTL)).Err(); err != nil {
		l.fallback("end", err)
		if op == "fail" {
			l.mem.settleSource(p, a.source, op, now)
		}
	}
}

// Unlock forgets an account's failures (in Redis and in this pod's
// memory) and keeps its familiar sources: the operator's `unlock`.
func (l *Limiter) Unlock(ctx context.Context, account string) error {
	p, now := l.Policy(), l.now().UnixMilli()
	l.mem.settleAccount(p, account, "", "unlock", now)
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	if err := accountScript.Run(ctx, l.rdb, []string{AccountKey(account)}, l.accountArgs(p, now, "unlock", "")...).Err(); err != nil {
		return fmt.Errorf("lockout: unlock: %w", err)
	}
	return nil
}

func (l *Limiter) fallback(op string, err error) {
	if l.OnFallback != nil {
		l.OnFallback(op, err)
	}
}
