package username

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalIsOneFormPerName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"alice", "alice"},
		{"Alice", "alice"},
		{"ALICE", "alice"},
		{"ＡＬＩＣＥ", "alice"}, // full width
		{"Zoë", "zoë"},
		{"Zoe\u0308", "zoë"}, // decomposed: NFC
		{"'OR'1'='1'--", "'or'1'='1'--"},
		{strings.Repeat("é", MaxLen), strings.Repeat("é", MaxLen)},
	}
	for _, c := range cases {
		got, err := Canonical(c.in)
		require.NoError(t, err, "%q", c.in)
		assert.Equal(t, c.want, got, "%q", c.in)
	}
}

func TestCanonicalRefusesWhatCouldImpersonate(t *testing.T) {
	for _, in := range []string{
		"", "alice\u200b", "tab\there", "a b", "a\x00b", "\xff", "line\nbreak",
		strings.Repeat("a", MaxLen+1),
	} {
		_, err := Canonical(in)
		assert.ErrorIs(t, err, ErrInvalid, "%q", in)
	}
}
