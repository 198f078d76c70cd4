package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MinShareCaught is the share of mutants the specification tests must
// catch (issue 18): the README states the last sweep's figure, and this
// holds it to the committed report.
const MinShareCaught = 90.0

// TestREADMEStatesTheLastSweep: the figure in README.md is the one in
// last-sweep.json, the sweep that produced it ran on a committed tree,
// and the figure is at least MinShareCaught.
func TestREADMEStatesTheLastSweep(t *testing.T) {
	raw, err := os.ReadFile("last-sweep.json")
	require.NoError(t, err, "commit the report of the sweep the README quotes (-json cmd/mutation-sweep/last-sweep.json)")
	var rep Report
	require.NoError(t, json.Unmarshal(raw, &rep))
	require.NotEmpty(t, rep.Results)
	assert.False(t, rep.Interrupted, "an interrupted sweep is no figure")
	assert.Regexp(t, `^[0-9a-f]{40}$`, rep.Commit, "the sweep measured a committed tree")

	// The report adds up.
	rep2 := rep
	rep2.summarize()
	assert.Equal(t, rep2.Total, rep.Total, "the totals are those of the results")
	built := rep.Total.Total - rep.Total.NotBuilt
	caught := rep.Total.Killed + rep.Total.Timeout
	require.Positive(t, built)
	share := 100 * float64(caught) / float64(built)
	assert.GreaterOrEqual(t, share, MinShareCaught, "the tests must catch at least %.0f %% of the sweep's mutants", MinShareCaught)
	assert.GreaterOrEqual(t, len(rep.ByOperator), len(operators), "every operator was sampled")
	assert.Len(t, rep.ByDir, 3, "components, stacks and policies were sampled")

	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("caught \\*\\*(\\d+) of (\\d+) mutants \\((\\d+\\.\\d) %\\)\\*\\*[^`]*`([^`]+)`[^`]*commit `([0-9a-f]{7,40})`").FindSubmatch(readme)
	require.NotNil(t, m, "README.md states the sweep as: caught **K of N mutants (P %)** ... `command` ... commit `sha`")
	k, _ := strconv.Atoi(string(m[1]))
	n, _ := strconv.Atoi(string(m[2]))
	assert.Equal(t, caught, k, "README's caught count")
	assert.Equal(t, built, n, "README's mutant count (the built ones)")
	assert.Equal(t, fmt.Sprintf("%.1f", share), string(m[3]), "README's share")
	cmd := string(m[4])
	require.True(t, strings.HasPrefix(cmd, "go run ./cmd/mutation-sweep "), "README names the sweep's command, got %q", cmd)
	assert.Contains(t, " "+cmd+" ", fmt.Sprintf(" -n %d ", rep.Total.Total), "README's command ran the report's sample size")
	assert.Contains(t, " "+cmd+" ", fmt.Sprintf(" -seed %d ", rep.Seed), "README's command used the report's seed")
	assert.True(t, strings.HasPrefix(rep.Commit, string(m[5])), "README's commit %s is the report's %s", m[5], rep.Commit)
}
