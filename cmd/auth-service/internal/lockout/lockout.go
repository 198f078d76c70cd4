// Package lockout counts failed logins in Redis, per account and per
// source address, and refuses further attempts for the rest of the window
// once a limit is reached (brute-force and password-spraying protection).
package lockout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policy is the lockout rule: more than MaxPerAccount attempts on one
// account without a success, or MaxPerSource failures from one address,
// within Window locks it until the window (started by the first counted
// attempt) ends.
type Policy struct {
	MaxPerAccount int
	MaxPerSource  int
	Window        time.Duration
}

// DefaultPolicy is used when the settings table has no values.
var DefaultPolicy = Policy{MaxPerAccount: 5, MaxPerSource: 100, Window: 15 * time.Minute}

// Limiter applies a Policy.
type Limiter struct {
	rdb    redis.Cmdable
	policy Policy
}

// New returns a Limiter over rdb.
func New(rdb redis.Cmdable, p Policy) *Limiter { return &Limiter{rdb: rdb, policy: p} }

// Policy returns the rule in force.
func (l *Limiter) Policy() Policy { return l.policy }

// incr adds one to a counter, starts its window on the first count, and
// returns the count and the time left, atomically.
var incr = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`)

func accountKey(username string) string {
	// Hashed so that Redis holds no usernames (and any input is a safe key).
	sum := sha256.Sum256([]byte(strings.ToLower(username)))
	return "lockout:account:" + hex.EncodeToString(sum[:])
}

func sourceKey(source string) string { return "lockout:source:" + source }

// Begin counts an attempt on the account (before the password is checked,
// so parallel guesses cannot overrun the limit) and tells whether it may
// proceed; when not, retryAfter is the time left in the window.
func (l *Limiter) Begin(ctx context.Context, username, source string) (ok bool, retryAfter time.Duration, err error) {
	n, ttl, err := l.count(ctx, accountKey(username))
	if err != nil {
		return false, 0, err
	}
	if n > int64(l.policy.MaxPerAccount) {
		return false, ttl, nil
	}
	srcKey := sourceKey(source)
	failures, err := l.rdb.Get(ctx, srcKey).Int64()
	if err != nil && err != redis.Nil {
		return false, 0, fmt.Errorf("lockout: read source counter: %w", err)
	}
	if failures >= int64(l.policy.MaxPerSource) {
		ttl, err := l.rdb.PTTL(ctx, srcKey).Result()
		if err != nil {
			return false, 0, fmt.Errorf("lockout: read source window: %w", err)
		}
		return false, ttl, nil
	}
	return true, 0, nil
}

// Failed records a failed attempt from source (the account's was counted
// by Begin).
func (l *Limiter) Failed(ctx context.Context, source string) error {
	_, _, err := l.count(ctx, sourceKey(source))
	return err
}

// Succeeded clears the account's counter: the limit is on failures in a row.
func (l *Limiter) Succeeded(ctx context.Context, username string) error {
	if err := l.rdb.Del(ctx, accountKey(username)).Err(); err != nil {
		return fmt.Errorf("lockout: clear account counter: %w", err)
	}
	return nil
}

func (l *Limiter) count(ctx context.Context, key string) (int64, time.Duration, error) {
	res, err := incr.Run(ctx, l.rdb, []string{key}, l.policy.Window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("lockout: count attempt: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("lockout: unexpected script reply %v", res)
	}
	return res[0], time.Duration(res[1]) * time.Millisecond, nil
}
