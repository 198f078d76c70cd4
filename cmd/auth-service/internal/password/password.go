// Package password hashes passwords with argon2id and verifies them in
// constant time. Hashes are PHC strings that carry their parameters, so
// they can be raised later without invalidating stored hashes.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     int
	KeyLen      uint32
}

// Default follows OWASP's password storage cheat sheet (argon2id, 46 MiB,
// t=1, p=1): about 50 ms on one loopback core (see README), and at most
// MaxConcurrent of them at once keeps a 1 GiB pod's memory bounded.
var Default = Params{MemoryKiB: 47104, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters a stored hash may carry (review M3/M6): a
// tampered or foreign row cannot make one verification take more than
// MaxMemoryKiB (64 MiB, 1.4 x Default) or unbounded CPU. Hash refuses
// parameters beyond them too, so raising Default past them is a decision
// made here, with the pod's memory in view.
const (
	MaxMemoryKiB   = 64 << 10
	MaxIterations  = 10
	MaxParallelism = 4
)

// MaxConcurrent bounds simultaneous hash computations (memory: MaxConcurrent
// x MemoryKiB).
const MaxConcurrent = 4

// MaxWaiting bounds the logins waiting for a hashing slot: past it a
// login is refused at once (ErrBusy) rather than queued, so that a login
// flood keeps this pod's queue, its memory and its readiness bounded.
const MaxWaiting = 64

var (
	slots   = make(chan struct{}, MaxConcurrent)
	waiting atomic.Int64
)

// ErrMalformed means a stored hash is not an argon2id PHC string.
var ErrMalformed = errors.New("password: malformed hash")

// ErrBusy means MaxWaiting logins already wait for a hashing slot.
var ErrBusy = errors.New("password: too many hashes waiting")

func acquire(ctx context.Context) error {
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	if waiting.Add(1) > MaxWaiting {
		waiting.Add(-1)
		return ErrBusy
	}
	defer waiting.Add(-1)
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	}
}

func release() { <-slots }

// Hash returns the PHC string of pw under p.
func Hash(ctx context.Context, pw string, p Params) (string, error) {
	if !p.withinBounds() {
		return "", fmt.Errorf("password: parameters %+v beyond the bounds (m <= %d KiB, t <= %d, p <= %d)", p, MaxMemoryKiB, MaxIterations, MaxParallelism)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	if err := acquire(ctx); err != nil {
		return "", err
	}
	defer release()
	key := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify tells whether pw matches the PHC string encoded, comparing in
// constant time.
func Verify(ctx context.Context, pw, encoded string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if err := acquire(ctx); err != nil {
		return false, err
	}
	defer release()
	got := argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return Params{}, nil, nil, ErrMalformed
	}
	// Refuse parameters that would let a tampered row exhaust memory or CPU.
	if !p.withinBounds() {
		return Params{}, nil, nil, ErrMalformed
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return Params{}, nil, nil, ErrMalformed
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return Params{}, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}

func (p Params) withinBounds() bool {
	return p.MemoryKiB >= 8 && p.MemoryKiB <= MaxMemoryKiB && p.Iterations >= 1 && p.Iterations <= MaxIterations &&
		p.Parallelism >= 1 && p.Parallelism <= MaxParallelism
}

// NeedsRehash tells whether a stored hash was made with weaker parameters
// than p (a login then stores a new hash of the password it just
// verified), or is malformed.
func NeedsRehash(encoded string, p Params) bool {
	q, salt, key, err := decode(encoded)
	if err != nil {
		return true
	}
	return q.MemoryKiB < p.MemoryKiB || q.Iterations < p.Iterations || q.Parallelism < p.Parallelism ||
		len(salt) < p.SaltLen || len(key) < int(p.KeyLen)
}

// DummyHash is a valid hash of a random password under Default, verified
// against when a login names no known user, so that unknown users and
// wrong passwords cost the same work.
var DummyHash = func() string {
	pw := make([]byte, 24)
	_, _ = rand.Read(pw)
	h, err := Hash(context.Background(), base64.RawStdEncoding.EncodeToString(pw), Default)
	if err != nil {
		panic(err)
	}
	return h
}()
