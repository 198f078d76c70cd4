package password

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fast = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerifies(t *testing.T) {
	ctx := context.Background()
	h, err := Hash(ctx, "correct horse battery staple", fast)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$"), h)
	ok, err := Verify(ctx, "correct horse battery staple", h)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = Verify(ctx, "correct horse battery stapl", h)
	require.NoError(t, err)
	assert.False(t, ok)
	h2, _ := Hash(ctx, "correct horse battery staple", fast)
	assert.NotEqual(t, h, h2, "salts must differ")
}

func TestDefaultParamsAreOWASPs(t *testing.T) {
	// OWASP Password Storage Cheat Sheet: argon2id m=47104 (46 MiB), t=1, p=1.
	assert.Equal(t, Params{MemoryKiB: 47104, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, Default)
	assert.True(t, strings.HasPrefix(DummyHash, "$argon2id$v=19$m=47104,t=1,p=1$"))
	assert.NoError(t, checkParams(Default), "Default is inside the bounds")
}

// A stored hash outside the bounds is refused before any work (review M3:
// m = 200 MiB OOM-killed a pod), and none can be made.
func TestVerifyRejectsMalformedOrAbusiveHashes(t *testing.T) {
	const salt, key = "c2FsdHNhbHQ", "a2V5a2V5a2V5a2V5a2V5a2V5"
	for _, h := range []string{
		"", "plain",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=204800,t=1,p=1$" + salt + "$" + key, // the review's 200 MiB
		"$argon2id$v=19$m=65537,t=1,p=1$" + salt + "$" + key,  // 64 MiB + 1 KiB
		"$argon2id$v=19$m=64,t=11,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=5$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=255$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=1,p=16$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$a2V5",                        // key too short
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("a", 120), // key too long
	} {
		_, err := Verify(context.Background(), "x", h)
		assert.ErrorIs(t, err, ErrMalformed, h)
	}
	for _, p := range []Params{
		{MemoryKiB: MaxMemoryKiB + 1, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 64, Iterations: MaxIterations + 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 64, Iterations: 1, Parallelism: MaxParallelism + 1, SaltLen: 16, KeyLen: 32},
	} {
		_, err := Hash(context.Background(), "x", p)
		assert.ErrorIs(t, err, ErrMalformed, "%+v", p)
	}
}

// The bounds themselves are usable: a hash at each bound verifies.
func TestAHashAtTheBoundsVerifies(t *testing.T) {
	ctx := context.Background()
	p := Params{MemoryKiB: MaxMemoryKiB, Iterations: 1, Parallelism: MaxParallelism, SaltLen: 16, KeyLen: 32}
	h, err := Hash(ctx, "at the bound", p)
	require.NoError(t, err)
	// A p = 4 hash rests its slot long on a small host: wait as a client
	// told Retry-After would.
	var ok bool
	for {
		ok, err = Verify(ctx, "at the bound", h)
		if wait := RetryAfter(err); wait > 0 {
			time.Sleep(wait)
			continue
		}
		break
	}
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestNeedsRehashWhenParametersWereRaised(t *testing.T) {
	ctx := context.Background()
	weak, err := Hash(ctx, "pw", fast)
	require.NoError(t, err)
	assert.True(t, NeedsRehash(weak, Default))
	assert.False(t, NeedsRehash(weak, fast))
	strong, err := Hash(ctx, "pw", Default)
	require.NoError(t, err)
	assert.False(t, NeedsRehash(strong, Default))
	assert.True(t, NeedsRehash("garbage", Default))
	_, err = Hash(ctx, "pw", Params{MemoryKiB: MaxMemoryKiB + 1, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32})
	assert.Error(t, err, "Hash refuses what Verify would refuse")
}
