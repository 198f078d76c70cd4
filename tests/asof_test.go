package tests

// Issue 28 item 2: a hard-coded list of what AWS offers says when it was
// read, and this test fails once that is more than stacks.StaleAfterMonths
// ago (the constant's comment says why that many).

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

func TestAHardCodedListOfWhatAWSOffersIsReadAgainInTime(t *testing.T) {
	today := time.Now().UTC()
	require.NotEmpty(t, stacks.ReadLists)
	// The offline catalogue is such a list too: the plan's lookups answer
	// from it, with its date and the sources of each section.
	c, err := mocks.LoadCatalogue()
	require.NoError(t, err)
	lists := append([]stacks.ReadList{{Name: "cmd/plan/mocks/catalogue.json (the offline answers of the preflight's lookups)", AsOf: c.AsOf,
		Source: "the sources and the AWS CLI command of each of its sections"}}, stacks.ReadLists...)
	for _, l := range lists {
		t.Run(l.Name, func(t *testing.T) {
			assert.NotEmpty(t, l.Source, "say where the list was read")
			asOf, err := time.Parse(time.DateOnly, l.AsOf)
			require.NoError(t, err, "AsOf is a YYYY-MM-DD day")
			assert.False(t, asOf.After(today), "read on %s, a day still to come", l.AsOf)
			stale, err := l.StaleOn(today)
			require.NoError(t, err)
			assert.False(t, stale, "%s was read on %s, more than %d months ago: read %s again, update the list and its date",
				l.Name, l.AsOf, stacks.StaleAfterMonths, l.Source)
		})
	}
}

func TestAListGoesStaleAfterItsMonths(t *testing.T) {
	l := stacks.ReadList{Name: "example", AsOf: "2026-12-07", Source: "example"}
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return d
	}
	for _, tc := range []struct {
		day   string
		stale bool
	}{
		{"2026-12-07", false},
		{"2027-04-07", false}, // four months to the day: still fresh
		{"2027-04-08", true},
		{"2028-01-01", true},
	} {
		stale, err := l.StaleOn(day(tc.day))
		require.NoError(t, err)
		assert.Equal(t, tc.stale, stale, "on %s", tc.day)
	}
	_, err := stacks.ReadList{AsOf: "7 Dec 2026"}.StaleOn(day("2026-12-07"))
	assert.Error(t, err)
}
