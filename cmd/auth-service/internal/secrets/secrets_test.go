package secrets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDBReadsTheRDSManagedSecret(t *testing.T) {
	// RDS-managed master user secrets hold exactly {"username","password"}.
	c, err := ParseDB(`{"username":"authadmin","password":"p@ss"}`)
	require.NoError(t, err)
	assert.Equal(t, DBCredentials{Username: "authadmin", Password: "p@ss"}, c)
	_, err = ParseDB(`{"username":"x"}`)
	assert.Error(t, err)
	_, err = ParseDB(`p@ss`)
	assert.Error(t, err)
}

func TestParseRedisTokenReadsTheCacheSecret(t *testing.T) {
	// The shape components/cache writes.
	tok, err := ParseRedisToken(`{"authToken":"abc!&#","host":"clustercfg.x","port":6379,"tls":true}`)
	require.NoError(t, err)
	assert.Equal(t, "abc!&#", tok)
	_, err = ParseRedisToken(`{"host":"x"}`)
	assert.Error(t, err)
}

func TestCachedRefetchesAfterTTLOrInvalidate(t *testing.T) {
	n := 0
	c := &Cached[int]{TTL: time.Hour, Fetch: func(context.Context) (int, error) { n++; return n, nil }}
	v, _ := c.Get(context.Background())
	assert.Equal(t, 1, v)
	v, _ = c.Get(context.Background())
	assert.Equal(t, 1, v)
	c.Invalidate()
	v, _ = c.Get(context.Background())
	assert.Equal(t, 2, v)
	failing := &Cached[int]{TTL: time.Hour, Fetch: func(context.Context) (int, error) { return 0, errors.New("denied") }}
	_, err := failing.Get(context.Background())
	assert.Error(t, err)
}
