package drill

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The control's probe reads the service's detailed health as it is
// served (cmd/auth-service/internal/httpapi DetailedHealth).
func TestDependenciesDown(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		down []string
		err  string
	}{
		{"every dependency up", `{"status":"ok","reason":"initialised, serving","busy":0,"dependencies":[
			{"dependency":"postgres-writer","shard":"","state":"up","checkedAt":"2026-01-01T00:00:00Z","since":"2026-01-01T00:00:00Z"},
			{"dependency":"postgres-reader","shard":"","state":"up","checkedAt":"2026-01-01T00:00:00Z","since":"2026-01-01T00:00:00Z"},
			{"dependency":"redis","shard":"0-5460","state":"up","checkedAt":"2026-01-01T00:00:00Z","since":"2026-01-01T00:00:00Z"}]}`, nil, ""},
		{"a shard down", `{"status":"ok","dependencies":[{"dependency":"postgres-writer","shard":"","state":"up"},
			{"dependency":"redis","shard":"5461-10922","state":"down"}]}`, []string{"redis 5461-10922 down"}, ""},
		{"the database down", `{"status":"ok","dependencies":[{"dependency":"postgres-writer","shard":"","state":"down"},
			{"dependency":"postgres-reader","shard":"","state":"down"},{"dependency":"redis","shard":"0-5460","state":"up"}]}`,
			[]string{"postgres-reader down", "postgres-writer down"}, ""},
		{"no dependency named", `{"status":"ok"}`, nil, "names no dependency"},
		{"not JSON", `ok`, nil, "detailed health"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			down, err := DependenciesDown([]byte(tc.body))
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.down, down)
		})
	}
}

// TestKeySlotsFollowTheServiceLayout holds keys.go to the service's own
// key formats: a request is classified by the slots of these keys, so a
// renamed key in the service must fail here, not quietly misclassify.
func TestKeySlotsFollowTheServiceLayout(t *testing.T) {
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot, "cmd", "auth-service", "internal", rel))
		require.NoError(t, err)
		return string(b)
	}
	for _, tc := range []struct{ file, pattern string }{
		{"session/session.go", `"session:" \+ hex\.EncodeToString\(sum\[:\]\)`},
		{"lockout/lockout.go", `sum := sha256\.Sum256\(\[\]byte\(canonical\)\)\s+return hex\.EncodeToString\(sum\[:\]\)`},
		{"lockout/lockout.go", `"lockout:\{" \+ Tag\(canonical\) \+ "\}"`},
		{"lockout/lockout.go", `"lockout:source:\{" \+ source \+ "\}"`},
		{"session/revoke.go", `"session-index:\{" \+ tag \+ "\}"`},
		{"session/revoke.go", `"session-epoch:\{" \+ tag \+ "\}"`},
		{"username/username.go", `precis\.UsernameCaseMapped`},
	} {
		assert.Regexp(t, regexp.MustCompile(tc.pattern), read(tc.file), "%s no longer writes what keys.go restates", tc.file)
	}
	assert.Equal(t, "session:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", SessionKey("foo"))
	keys := AccountKeys("Alice")
	assert.Equal(t, AccountKeys("alice"), keys, "case does not move an account")
	assert.Len(t, LoginSlots("alice"), 2, "the account's keys share a slot; the source's is another")
}
