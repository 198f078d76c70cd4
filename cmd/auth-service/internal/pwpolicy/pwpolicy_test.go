package pwpolicy

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/pwpolicy/source"
)

// The embedded file is exactly what the generator makes from its source:
// nobody edited it by hand, and a new source version shows up here.
func TestBlocklistIsTheGeneratorsOutputOfItsSource(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(blocklistGz))
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(source.List(), got), "run go generate ./internal/pwpolicy")
	assert.Greater(t, BlocklistSize(), 25000)
}

func TestCheck(t *testing.T) {
	cases := []struct {
		pw, account string
		problem     string // "" accepted
	}{
		{"correct horse battery staple", "alice", ""},
		{"Tr0ub4dor&3-extended", "alice", ""},
		{"short", "alice", "at least 12 characters"},
		{"            ", "alice", "only whitespace"},
		{"\t\t\t\t\t\t\t\t\t\t\t\t\t", "alice", "only whitespace"},
		{strings.Repeat("p", MaxBytes+1), "alice", "longer than 1024 bytes"},
		{"password1234", "alice", "most common"},
		{"PASSWORD1234", "alice", "most common"},
		{"qwertyuiop123", "alice", "most common"},
		{"Sunshine2024!!", "alice", "most common"},
		{"alice.anderson", "alice.anderson", "contains the username"},
		{"my name is alice.anderson", "alice.anderson", "contains the username"},
		{"line\nbreak-password", "alice", "control character"},
	}
	for _, c := range cases {
		err := Check(c.pw, c.account)
		if c.problem == "" {
			assert.NoError(t, err, "%q", c.pw)
			continue
		}
		var p Problem
		require.ErrorAs(t, err, &p, "%q", c.pw)
		assert.Contains(t, err.Error(), c.problem, "%q", c.pw)
		assert.NotContains(t, err.Error(), c.pw, "the message never repeats the password")
	}
}
