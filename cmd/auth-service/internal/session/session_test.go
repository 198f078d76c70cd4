package session

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyIsTheTokensSHA256(t *testing.T) {
	tok := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	sum := sha256.Sum256([]byte(tok))
	assert.Equal(t, "session:"+hex.EncodeToString(sum[:]), Key(tok))
	assert.NotContains(t, Key(tok), tok)
}

func TestWellFormedAcceptsOnlyOurTokens(t *testing.T) {
	good := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	assert.Equal(t, 43, TokenLen)
	assert.True(t, wellFormed(good))
	for _, bad := range []string{"", good[:42], good + "A", strings.Repeat("*", 43), good[:42] + "=", strings.Repeat("/", 43),
		// 43 characters whose last one has bits past the 32 bytes: Strict decoding refuses it.
		good[:42] + "B"} {
		assert.False(t, wellFormed(bad), bad)
	}
}
