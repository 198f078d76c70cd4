package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/lockout"
)

// A user's sessions are found through the user's index, a sorted set in
// Redis beside the user's lockout counters (the same hash tag: the
// SHA-256 of the canonical name), and a revocation epoch in the same slot:
//
//	session-index:{tag}  members: hex SHA-256 of each token, score: its absolute expiry (ms)
//	session-epoch:{tag}  incremented by every revocation
//
// Validation reads only the session's own key (one round trip); the cost
// of ending a user's sessions is paid by the revocation, which deletes
// them (Revoke). A login reads the epoch when it begins (Epoch) and enters
// its session in the index only if no revocation happened since (register):
// otherwise a login racing a disable or a password change could leave a
// session the revocation did not see.

// MaxSessionsPerUser bounds a user's index: a login beyond it ends the
// user's oldest session.
const MaxSessionsPerUser = 100

// UnindexedLifetime is the longest life of a session made while its
// user's index did not answer (a shard failing over): such a session
// cannot be found by a revocation, so it is short.
const UnindexedLifetime = 5 * time.Minute

// EpochTimeout bounds the read of the epoch at a login's start: past it
// the login goes on with an unindexed session.
const EpochTimeout = time.Second

func indexKey(tag string) string { return "session-index:{" + tag + "}" }
func epochKey(tag string) string { return "session-epoch:{" + tag + "}" }

// keyHash is the member of a session key in an index.
func keyHash(key string) string { return strings.TrimPrefix(key, "session:") }

// validate returns a session's value and slides its expiry to the idle
// timeout, never past its absolute end (absMs in the value). A session
// without absMs (made before idle timeouts) keeps its TTL.
// KEYS[1] session key; ARGV now ms, idle ms. Returns {value, idle ms}.
var validate = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
local abs = tonumber(string.match(v, '"absMs":(%d+)'))
if not abs then return {v, 0} end
local ttl = math.min(tonumber(ARGV[2]), abs - tonumber(ARGV[1]))
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ttl))
return {v, ttl}`)

// register enters a new session in its user's index, unless the epoch
// moved since the login read it; it drops expired entries and returns the
// members beyond MaxSessionsPerUser (the oldest), which the caller ends.
// KEYS: index, epoch; ARGV: expected epoch, member, absolute expiry ms,
// now ms, max. Returns {0} (revoked) or {1, evicted...}.
var register = redis.NewScript(`
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[1]) then return {0} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local out = {1}
local n = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if n > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, n - 1)
  for _, m in ipairs(old) do out[#out + 1] = m end
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 1)
end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return out`)

// revoke bumps the epoch (so logins under way do not register) and
// returns the index's members.
var revoke = redis.NewScript(`
redis.call('INCR', KEYS[2])
return redis.call('ZRANGE', KEYS[1], 0, -1)`)

// Epoch reads the user's revocation epoch at a login's start; known is
// false when the index's shard did not answer within EpochTimeout.
func (s *Store) Epoch(ctx context.Context, account string) (epoch int64, known bool) {
	ctx, cancel := context.WithTimeout(ctx, EpochTimeout)
	defer cancel()
	n, err := s.rdb.Get(ctx, epochKey(lockout.Tag(account))).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, true
	}
	return n, err == nil
}

func (s *Store) register(ctx context.Context, d Data, key string, epoch int64) error {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	tag := lockout.Tag(d.Account)
	res, err := register.Run(ctx, s.rdb, []string{indexKey(tag), epochKey(tag)},
		epoch, keyHash(key), d.AbsMs, s.now().UnixMilli(), MaxSessionsPerUser).Slice()
	if err != nil {
		return fmt.Errorf("session: index: %w", err)
	}
	if n, _ := res[0].(int64); n == 0 {
		return ErrRevoked
	}
	for _, m := range res[1:] {
		if h, ok := m.(string); ok {
			_ = s.rdb.Del(ctx, "session:"+h).Err()
		}
	}
	return nil
}

// Revoke ends every session of the user (account: the canonical name)
// except the one whose token is keep (""; keep none) and returns how many
// it ended. Logins under way when it runs make no session. A session it
// could not delete (its shard did not answer) stays in the index, and the
// error says so: run it again.
func (s *Store) Revoke(ctx context.Context, account, keep string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	tag := lockout.Tag(account)
	members, err := revoke.Run(ctx, s.rdb, []string{indexKey(tag), epochKey(tag)}).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("session: revoke: %w", err)
	}
	keepHash := ""
	if keep != "" {
		keepHash = keyHash(Key(keep))
	}
	// One pipeline: the cluster client sends each shard its keys at once.
	dels := map[string]*redis.IntCmd{}
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range members {
			if m != keepHash {
				dels[m] = p.Del(ctx, "session:"+m)
			}
		}
		return nil
	})
	var done []any
	var failed error
	for m, cmd := range dels {
		if err := cmd.Err(); err != nil {
			failed = errors.Join(failed, err)
			continue
		}
		done = append(done, m)
	}
	if len(done) > 0 {
		if err := s.rdb.ZRem(ctx, indexKey(tag), done...).Err(); err != nil {
			failed = errors.Join(failed, err)
		}
	}
	if failed != nil {
		return len(done), fmt.Errorf("session: revoke: %d of %d sessions not ended, run it again: %w", len(dels)-len(done), len(dels), failed)
	}
	return len(done), nil
}
