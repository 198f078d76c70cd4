// Package password hashes passwords with argon2id and verifies them in
// constant time. Hashes are PHC strings that carry their parameters, so
// they can be raised later without invalidating stored hashes.
//
// Every hash runs through one Gate per process, which sizes hashing to the
// pod (review M2, M3): it runs at most Slots hashes at once, lets them use
// at most HashCPUShare of the container's CPU limit on average, and refuses
// a hash at once (ErrBusy, with the wait it would have had) when the queue
// in front of it would take longer than MaxWait; a login takes its place
// in that queue (Admit) before anything else. See gate.go.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

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
// t=1, p=1): about 30 ms on one idle core (see README).
var Default = Params{MemoryKiB: 47104, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Bounds on any hash this package computes, stored ones included, so that
// one row cannot exhaust the pod's memory or CPU (review M3: a stored
// m = 200 MiB hash and four logins OOM-killed a 768 MiB pod). A hash
// outside them is ErrMalformed. The memory bound is also what the Gate
// budgets per slot. Default is inside them, with room to raise it.
const (
	MaxMemoryKiB   = 64 << 10 // 64 MiB
	MaxIterations  = 10
	MaxParallelism = 4
	minMemoryKiB   = 8
	minKeyLen      = 16
	maxKeyLen      = 64
	maxSaltLen     = 64
)

// ErrMalformed means a stored hash is not an argon2id PHC string within
// the bounds.
var ErrMalformed = errors.New("password: malformed hash")

// checkParams tells whether p is within the bounds.
func checkParams(p Params) error {
	if p.MemoryKiB < minMemoryKiB || p.MemoryKiB > MaxMemoryKiB || p.Iterations < 1 || p.Iterations > MaxIterations ||
		p.Parallelism < 1 || p.Parallelism > MaxParallelism || p.MemoryKiB < 8*uint32(p.Parallelism) {
		return fmt.Errorf("password: parameters m=%d KiB, t=%d, p=%d outside m <= %d KiB, t <= %d, p <= %d: %w",
			p.MemoryKiB, p.Iterations, p.Parallelism, MaxMemoryKiB, MaxIterations, MaxParallelism, ErrMalformed)
	}
	return nil
}

// Hash returns the PHC string of pw under p.
func Hash(ctx context.Context, pw string, p Params) (string, error) {
	if err := checkParams(p); err != nil {
		return "", err
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen || p.SaltLen < 8 || p.SaltLen > maxSaltLen {
		return "", fmt.Errorf("password: key length %d or salt length %d out of bounds: %w", p.KeyLen, p.SaltLen, ErrMalformed)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	var key []byte
	if err := gate.Run(ctx, int(p.Parallelism), func() {
		key = argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
	}); err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify tells whether pw matches the PHC string encoded, comparing in
// constant time.
func Verify(ctx context.Context, pw, encoded string) (bool, error) {
	return verify(ctx, gate, nil, pw, encoded)
}

func verify(ctx context.Context, g *Gate, t *Ticket, pw, encoded string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		if t != nil {
			t.Release()
		}
		return false, err
	}
	var got []byte
	if err := g.run(ctx, t, int(p.Parallelism), func() {
		got = argon2.IDKey([]byte(pw), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	}); err != nil {
		return false, err
	}
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
	if err := checkParams(p); err != nil {
		return Params{}, nil, nil, err
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) > maxSaltLen {
		return Params{}, nil, nil, ErrMalformed
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return Params{}, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
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
// wrong passwords cost the same work. Computing it also gives the Gate its
// first measure of a hash's cost.
var DummyHash = func() string {
	pw := make([]byte, 24)
	_, _ = rand.Read(pw)
	h, err := Hash(context.Background(), base64.RawStdEncoding.EncodeToString(pw), Default)
	if err != nil {
		panic(err)
	}
	return h
}()
