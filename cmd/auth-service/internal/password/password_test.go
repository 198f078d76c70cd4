package password

import (
	"context"
	"strings"
	"testing"

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
}

func TestVerifyRejectsMalformedOrAbusiveHashes(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		// 200 MiB: four of these at once OOM-killed a 768 MiB pod (review M3).
		"$argon2id$v=19$m=204800,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=1,p=16$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		_, err := Verify(context.Background(), "x", h)
		assert.ErrorIs(t, err, ErrMalformed, h)
	}
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
