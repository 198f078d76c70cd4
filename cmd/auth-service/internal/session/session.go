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

// Data is what a session knows: taken from the database at login, so a
// role change applies from the next login.
type Data struct {
	UserID      int64     `json:"uid"`
	Username    string    `json:"username"`
	Roles       []string  `json:"roles"`
	Permissions []string  `json:"permissions"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

var (
	// ErrMalformed means the token is not one this service could have made.
	ErrMalformed = errors.New("session: malformed token")
	// ErrNotFound means no live session has this token (never issued,
	// expired or revoked).
	ErrNotFound = errors.New("session: not found")
)

// Store creates, reads and revokes sessions.
type Store struct {
	rdb *redis.ClusterClient
	ttl time.Duration
	now func() time.Time
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

// NewStore keeps sessions for ttl from their creation.
func NewStore(rdb *redis.ClusterClient, ttl time.Duration) *Store {
	return &Store{rdb: rdb, ttl: ttl, now: time.Now}
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
func (s *Store) Create(ctx context.Context, d Data) (string, Data, error) {
	// Not truncated: a session must not expire before its TTL has passed.
	d.CreatedAt = s.now().UTC()
	d.ExpiresAt = d.CreatedAt.Add(s.ttl)
	val, err := json.Marshal(d)
	if err != nil {
		return "", Data{}, fmt.Errorf("session: encode: %w", err)
	}
	token, err := newToken()
	if err != nil {
		return "", Data{}, err
	}
	first, cancel := context.WithTimeout(ctx, FirstWriteTimeout)
	err = s.write(first, Key(token), val)
	cancel()
	if err == nil {
		return token, d, nil
	}
	if ctx.Err() != nil {
		return "", Data{}, fmt.Errorf("session: store: %w", err)
	}
	failed := s.primary(ctx, Key(token))
	for i := 0; i < 32; i++ { // a third of tokens land on each of three shards
		if token, err = newToken(); err != nil {
			return "", Data{}, err
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
	if err := s.write(second, Key(token), val); err != nil {
		return "", Data{}, fmt.Errorf("session: store (second attempt): %w", err)
	}
	return token, d, nil
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
func (s *Store) write(ctx context.Context, key string, val []byte) error {
	if s.setAndWait(ctx, key, val) {
		return nil
	}
	return s.rdb.Set(ctx, key, val, s.ttl).Err()
}

// setAndWait writes on the slot's primary and waits for one replica, on
// one connection (WAIT covers only that connection's writes). It reports
// false when the write may not have happened, so the caller retries it
// through the cluster client (SET is idempotent).
func (s *Store) setAndWait(ctx context.Context, key string, val []byte) bool {
	node, err := s.rdb.MasterForKey(ctx, key)
	if err != nil {
		return false
	}
	var wait *redis.Cmd
	_, err = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, key, val, s.ttl)
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

// Get returns the live session of token.
func (s *Store) Get(ctx context.Context, token string) (Data, error) {
	if !wellFormed(token) {
		return Data{}, ErrMalformed
	}
	ctx, cancel := context.WithTimeout(ctx, OpTimeout)
	defer cancel()
	val, err := s.rdb.Get(ctx, Key(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Data{}, ErrNotFound
	}
	if err != nil {
		return Data{}, fmt.Errorf("session: read: %w", err)
	}
	var d Data
	if err := json.Unmarshal(val, &d); err != nil {
		return Data{}, fmt.Errorf("session: decode: %w", err)
	}
	// Redis expires the key; this guards against a clock or TTL mistake.
	if !s.now().Before(d.ExpiresAt) {
		return Data{}, ErrNotFound
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
