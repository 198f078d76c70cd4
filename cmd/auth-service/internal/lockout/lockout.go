// Package lockout limits password guessing: failed logins are counted in
// Redis per account and per source address, and further attempts are
// refused for the rest of the window once a limit is reached.
//
// Only attempts the service judged count: a wrong password, an unknown or
// disabled account. An attempt that ends without a judgement (the database
// or Redis failed, the client went away) costs nothing, so an outage cannot
// lock anyone out (review H2). Parallel guesses stay bounded all the same:
// each attempt on an account reserves a slot while it runs, and an account
// is refused while its failures plus the attempts in flight reach the limit.
//
// When Redis cannot answer within OpTimeout (the counters' shard is failing
// over or hung), the pod counts in memory instead, with the same policy: an
// attacker gets at most the limit per pod while Redis is away, logins keep
// working, and every use of the fallback is counted (OnFallback).
package lockout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy is the rule: MaxPerAccount failures on one account without a
// success, or MaxPerSource failures from one address, within Window (from
// the first counted failure) refuse further attempts until the window ends.
type Policy struct {
	MaxPerAccount int
	MaxPerSource  int
	Window        time.Duration
}

// DefaultPolicy is used when the settings table has no values.
var DefaultPolicy = Policy{MaxPerAccount: 5, MaxPerSource: 100, Window: 15 * time.Minute}

// OpTimeout bounds each call to Redis; past it the pod counts in memory.
const OpTimeout = time.Second

// Limiter applies a Policy.
type Limiter struct {
	rdb redis.Cmdable
	// ReservationTTL bounds how long an attempt's reservation outlives a
	// pod that died during it (longer than any request).
	ReservationTTL time.Duration
	// OnFallback is called each time the in-memory counters stand in for
	// Redis (op: begin or end), with Redis's error.
	OnFallback func(op string, err error)

	mu     sync.RWMutex
	policy Policy
	mem    *memory
}

// New returns a Limiter over rdb.
func New(rdb redis.Cmdable, p Policy) *Limiter {
	return &Limiter{rdb: rdb, policy: p, ReservationTTL: time.Minute, mem: newMemory(MemoryEntries)}
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

// Keys of one account share a hash tag, so that one script sees both.
func accountKeys(username string) (failures, inflight string) {
	// Hashed so that Redis holds no usernames (and any input is a safe key).
	sum := sha256.Sum256([]byte(strings.ToLower(username)))
	tag := "lockout:{" + hex.EncodeToString(sum[:]) + "}"
	return tag + ":failures", tag + ":inflight"
}

func sourceKey(source string) string { return "lockout:source:" + source }

// reserve refuses when failures + attempts in flight reach the limit, and
// otherwise reserves a slot: {1, failures, 0} or {0, failures, ttl ms}.
var reserve = redis.NewScript(`
local f = tonumber(redis.call('GET', KEYS[1]) or '0')
local i = tonumber(redis.call('GET', KEYS[2]) or '0')
if f + i >= tonumber(ARGV[1]) then
  return {0, f, redis.call('PTTL', KEYS[1])}
end
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {1, f, 0}`)

// settle releases a reservation and applies the judgement: "fail" counts a
// failure (starting the window), "ok" clears the failures, "none" nothing.
var settle = redis.NewScript(`
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
if ARGV[1] == 'fail' then
  if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
elseif ARGV[1] == 'ok' then
  redis.call('DEL', KEYS[1])
end
return 1`)

// incr adds one to a counter and starts its window on the first count.
var incr = redis.NewScript(`
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`)

// Attempt is one login's reservation; exactly one of Failed, Succeeded or
// Abandon ends it.
type Attempt struct {
	l        *Limiter
	username string
	source   string
	inRedis  bool // where the reservation was made
	once     sync.Once
}

// Begin checks the source, then reserves a slot on the account. When the
// attempt may not proceed it returns nil and the time to wait: the rest of
// the window, or one second when only attempts in flight fill the limit.
// The source is checked first, so a refused source touches no account.
func (l *Limiter) Begin(ctx context.Context, username, source string) (*Attempt, time.Duration) {
	p := l.Policy()
	a := &Attempt{l: l, username: username, source: source, inRedis: true}
	ok, retry, err := l.beginRedis(ctx, p, username, source)
	if err != nil {
		l.fallback("begin", err)
		a.inRedis = false
		ok, retry = l.mem.begin(p, username, source, time.Now())
	}
	if !ok {
		return nil, retry
	}
	return a, 0
}

func (l *Limiter) beginRedis(ctx context.Context, p Policy, username, source string) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	src := sourceKey(source)
	failures, err := l.rdb.Get(ctx, src).Int64()
	if err != nil && err != redis.Nil {
		return false, 0, fmt.Errorf("lockout: read source counter: %w", err)
	}
	if failures >= int64(p.MaxPerSource) {
		ttl, err := l.rdb.PTTL(ctx, src).Result()
		if err != nil {
			return false, 0, fmt.Errorf("lockout: read source window: %w", err)
		}
		return false, ttl, nil
	}
	fk, ik := accountKeys(username)
	res, err := reserve.Run(ctx, l.rdb, []string{fk, ik}, p.MaxPerAccount, l.ReservationTTL.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("lockout: reserve: %w", err)
	}
	if len(res) != 3 {
		return false, 0, fmt.Errorf("lockout: unexpected script reply %v", res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, retryAfter(res[1], int64(p.MaxPerAccount), time.Duration(res[2])*time.Millisecond), nil
}

// retryAfter is the window's rest when the failures alone reach the limit,
// else a second (attempts in flight end within a request).
func retryAfter(failures, max int64, ttl time.Duration) time.Duration {
	if failures >= max && ttl > 0 {
		return ttl
	}
	return time.Second
}

// Failed records a judged failure (wrong password, unknown or disabled
// account) on the account and the source.
func (a *Attempt) Failed(ctx context.Context) { a.end(ctx, "fail") }

// Succeeded clears the account's failures: the limit is on failures in a row.
func (a *Attempt) Succeeded(ctx context.Context) { a.end(ctx, "ok") }

// Abandon releases the reservation of an attempt that was not judged (a
// dependency failed, the client went away): it counts nothing.
func (a *Attempt) Abandon(ctx context.Context) { a.end(ctx, "none") }

// end runs even when the request's context is cancelled (review L3), under
// a deadline of its own.
func (a *Attempt) end(ctx context.Context, result string) {
	a.once.Do(func() {
		l, p := a.l, a.l.Policy()
		if !a.inRedis {
			l.mem.end(p, a.username, a.source, result, time.Now())
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), OpTimeout)
		defer cancel()
		fk, ik := accountKeys(a.username)
		// A judgement Redis could not take is kept in memory, so that
		// guessing stays bounded; the reservation then stays in Redis
		// until ReservationTTL.
		if err := settle.Run(ctx, l.rdb, []string{fk, ik}, result, p.Window.Milliseconds()).Err(); err != nil {
			l.fallback("end", err)
			l.mem.recordAccount(p, a.username, result, time.Now())
		}
		if result != "fail" {
			return
		}
		if err := incr.Run(ctx, l.rdb, []string{sourceKey(a.source)}, p.Window.Milliseconds()).Err(); err != nil {
			l.fallback("end", err)
			l.mem.recordSourceFailure(p, a.source, time.Now())
		}
	})
}

func (l *Limiter) fallback(op string, err error) {
	if l.OnFallback != nil {
		l.OnFallback(op, err)
	}
}
