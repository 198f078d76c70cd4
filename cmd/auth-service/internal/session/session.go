// Package session keeps login sessions in a Redis Cluster. A session is
// found by the SHA-256 of its token: Redis never holds a token, so a dump
// of Redis cannot be replayed.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// TokenBytes is the entropy of a token: 256 bits from crypto/rand.
const TokenBytes = 32

// TokenLen is the length of a token in unpadded base64url.
var TokenLen = base64.RawURLEncoding.EncodedLen(TokenBytes)

// Data is what a session knows: taken from the database at login. A
// change of the user's roles, password or state revokes the user's
// sessions (Revoke), so no session outlives the facts it was made from.
type Data struct {
	UserID      int64    `json:"uid"`
	Username    string   `json:"username"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	// Account is the canonical username (internal/username): the key of
	// the user's session index.
	Account string `json:"account,omitempty"`
	// CreatedAt is the login time (the authentication time an application
	// may demand to be recent).
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is the absolute end of the session; AbsMs the same in ms,
	// for the validation script.
	ExpiresAt time.Time `json:"expiresAt"`
	AbsMs     int64     `json:"absMs,omitempty"`
	// IdleExpiresAt is when the session ends unless used before (set by
	// Get and Create, not stored).
	IdleExpiresAt time.Time `json:"-"`
	// Unindexed marks a session made while its user's index could not be
	// reached: it lives at most UnindexedLifetime.
	Unindexed bool `json:"unindexed,omitempty"`
}

var (
	// ErrMalformed means the token is not one this service could have made.
	ErrMalformed = errors.New("session: malformed token")
	// ErrNotFound means no live session has this token (never issued,
	// expired or revoked).
	ErrNotFound = errors.New("session: not found")
	// ErrRevoked means the user's sessions were revoked while this one was
	// being made (a disable, password change or logout-all won the race).
	ErrRevoked = errors.New("session: the user's sessions were revoked during the login")
)

// Store creates, reads and revokes sessions.
type Store struct {
	rdb  *redis.ClusterClient
	ttl  time.Duration
	idle time.Duration
	now  func() time.Time
	// OnUnreplicated is called when a new session's write was not
	// acknowledged by a replica within ReplicaWait (it is kept anyway).
	OnUnreplicated func()
	// OnRetry is called when a session write is retried on another shard.
	OnRetry func()
}

// ReplicaWait bounds how long a login waits for a replica to acknowledge
// the session (WAIT 1): replication is asynchronous, so a primary that
// crashes right after answering could lose the session otherwise.
const ReplicaWait = 50 * time.Millisecond

// NewStore keeps sessions for at most ttl from their creation, and ends
// one that was not used for idle (at most ttl).
func NewStore(rdb *redis.ClusterClient, ttl, idle time.Duration) *Store {
	return &Store{rdb: rdb, ttl: ttl, idle: min(idle, ttl), now: time.Now}
}

// Key is the Redis key of a token.
func Key(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "session:" + hex.EncodeToString(sum[:])
}

// Create stores a new session and returns its token and data. A first
// attempt gets FirstWriteTimeout; when it fails (its shard is failing over
// or hung), a new token whose key lives on another shard is written
// instead, within OpTimeout: a login does not wait for one shard.
//
// The session is then entered in its user's index (register), unless the
// user's sessions were revoked since epoch was read (ErrRevoked: the
// session is deleted). With known false (the index's shard did not answer
// when the login began) the session is not indexed and lives at most
// UnindexedLifetime, so that a login does not wait for one shard and no
// session escapes revocation for longer than that.
func (s *Store) Create(ctx context.Context, d Data, epoch int64, known bool) (string, Data, error) {
	// Not truncated: a session must not expire before its TTL has passed.
	d.CreatedAt = s.now().UTC()
	life := s.ttl
	if !known {
		life = min(life, UnindexedLifetime)
		d.Unindexed = true
	}
	d.ExpiresAt = d.CreatedAt.Add(life)
	d.AbsMs = d.ExpiresAt.UnixMilli()
	d.IdleExpiresAt = d.CreatedAt.Add(min(s.idle, life))
	token, err := s.create(ctx, d, min(s.idle, life))
	if err != nil || !known {
		return token, d, err
	}
	if err := s.register(ctx, d, Key(token), epoch); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), OpTimeout)
		defer cancel()
		_ = s.rdb.Del(dctx, Key(token)).Err()
		return "", Data{}, err
	}
	return token, d, nil
}

// create writes a new session under a new token with the key's TTL.
func (s *Store) create(ctx context.Context, d Data, ttl time.Duration) (string, error) {
	val, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("session: encode: %w", err)
	}
	token, err := newToken()
	if err != nil {
		return "", err
	}
	first, cancel := context.WithTimeout(ctx, FirstWriteTimeout)
	err = s.write(first, Key(token), val, ttl)
	cancel()
	if err == nil {
		return token, nil
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("session: store: %w", err)
	}
	failed := s.primary(ctx, Key(token))
	for i := 0; i < 32; i++ { // a third of tokens land on each of three shards
		if token, err = newToken(); err != nil {
			return "", err
		}
		if failed == "" || s.primary(ctx, Key(token)) != failed {
			break
		}
	}
	if s.OnRetry != nil {
		s.OnRetry()
	}
	second, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	if err := s.write(second, Key(token), val, ttl); err != nil {
		return "", fmt.Errorf("session: store (second attempt): %w", err)
	}
	return token, nil
}

func newToken() (string, error) {
	raw := make([]byte, TokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("session: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// primary is the address of the node the client sends key to ("" when
// it does not know).
func (s *Store) primary(ctx context.Context, key string) string {
	node, err := s.rdb.MasterForKey(ctx, key)
	if err != nil {
		return ""
	}
	return node.Options().Addr
}

// write stores one session: on its slot's primary with WAIT, or, when that
// could not be done, through the cluster client, which follows redirects
// and retries until a primary answers (SET is idempotent).
func (s *Store) write(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if s.setAndWait(ctx, key, val, ttl) {
		return nil
	}
	return s.rdb.Set(ctx, key, val, ttl).Err()
}

// setAndWait writes on the slot's primary and waits for one replica, on
// one connection (WAIT covers only that connection's writes). It reports
// false when the write may not have happened, so the caller retries it
// through the cluster client (SET is idempotent).
func (s *Store) setAndWait(ctx context.Context, key string, val []byte, ttl time.Duration) bool {
	node, err := s.rdb.MasterForKey(ctx, key)
	if err != nil {
		return false
	}
	var wait *redis.Cmd
	_, err = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, key, val, ttl)
		wait = p.Do(ctx, "WAIT", 1, ReplicaWait.Milliseconds())
		return nil
	})
	if err != nil {
		return false
	}
	if n, _ := wait.Int64(); n < 1 && s.OnUnreplicated != nil {
		s.OnUnreplicated()
	}
	return true
}

// Get returns the live session of token and slides its idle expiry: one
// script, one round trip (validate).
func (s *Store) Get(ctx context.Context, token string) (Data, error) {
	if !wellFormed(token) {
		return Data{}, ErrMalformed
	}
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	now := s.now()
	res, err := validate.Run(ctx, s.rdb, []string{Key(token)}, now.UnixMilli(), s.idle.Milliseconds()).Slice()
	if errors.Is(err, redis.Nil) {
		return Data{}, ErrNotFound
	}
	if err != nil {
		return Data{}, fmt.Errorf("session: read: %w", err)
	}
	val, _ := res[0].(string)
	idleMs, _ := res[1].(int64)
	var d Data
	if err := json.Unmarshal([]byte(val), &d); err != nil {
		// Not one of ours (review L7: was a 503): nothing to validate.
		return Data{}, fmt.Errorf("%w: undecodable value", ErrNotFound)
	}
	// Redis expires the key; this guards against a clock or TTL mistake.
	if !now.Before(d.ExpiresAt) {
		return Data{}, ErrNotFound
	}
	d.IdleExpiresAt = d.ExpiresAt
	if idleMs > 0 {
		d.IdleExpiresAt = now.Add(time.Duration(idleMs) * time.Millisecond).UTC()
		if d.IdleExpiresAt.After(d.ExpiresAt) { // absMs is in whole ms
			d.IdleExpiresAt = d.ExpiresAt
		}
	}
	return d, nil
}

// Delete revokes token's session; revoking an unknown one is not an error.
func (s *Store) Delete(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return ErrMalformed
	}
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	if err := s.rdb.Del(ctx, Key(token)).Err(); err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	return nil
}

func wellFormed(token string) bool {
	if len(token) != TokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil && len(b) == TokenBytes
}
