package tests

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
)

// invalidCase is one stack file of tests/invalid. Its header comment says
// what the offline plan must answer:
//
//	# <why the configuration is wrong>
//	# expect-exit: 2                    (2: configuration error, 1: policy)
//	# expect-policy: <policy name>      (exit 1 only; one line per policy)
//	# expect-message: <fragment>        (one or more)
type invalidCase struct {
	path     string
	exit     int
	policies []string
	messages []string
}

func loadInvalidCases(t *testing.T) []invalidCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "tests", "invalid", "*.yaml"))
	require.NoError(t, err)
	var out []invalidCase
	for _, path := range files {
		f, err := os.Open(path)
		require.NoError(t, err)
		c := invalidCase{path: path, exit: -1}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "#") {
				break
			}
			key, value, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
			if !ok {
				continue
			}
			value = strings.TrimSpace(value)
			switch key {
			case "expect-exit":
				c.exit, err = strconv.Atoi(value)
				require.NoError(t, err, "%s: expect-exit", path)
			case "expect-policy":
				c.policies = append(c.policies, value)
			case "expect-message":
				c.messages = append(c.messages, value)
			}
		}
		require.NoError(t, sc.Err())
		require.NoError(t, f.Close())
		out = append(out, c)
	}
	return out
}

// TestInvalidConfigurationsCorpus plans every stack file of tests/invalid
// with `plan --config-file` and checks the exit code and the message its
// header promises: a configuration error (exit 2, the problem on stderr,
// nothing on stdout) or a mandatory policy violation (exit 1, the plan on
// stdout with the violation in it).
func TestInvalidConfigurationsCorpus(t *testing.T) {
	cases := loadInvalidCases(t)
	require.GreaterOrEqual(t, len(cases), 60, "the corpus keeps at least 60 invalid configurations")
	byExit := map[int]int{}
	for _, c := range cases {
		byExit[c.exit]++
		t.Run(strings.TrimSuffix(filepath.Base(c.path), ".yaml"), func(t *testing.T) {
			require.Contains(t, []int{plan.ExitConfigError, plan.ExitViolations}, c.exit, "header: expect-exit 1 or 2")
			require.NotEmpty(t, c.messages, "header: at least one expect-message")
			code, out, stderr := runPlan("--config-file", c.path, "--json")
			require.Equal(t, c.exit, code, "stderr: %s", stderr)
			switch c.exit {
			case plan.ExitConfigError:
				assert.Empty(t, c.policies, "a configuration error violates no policy")
				assert.Empty(t, out, "nothing on stdout")
				assert.Contains(t, stderr, "invalid stack configuration")
				for _, m := range c.messages {
					assert.Contains(t, stderr, m)
				}
			case plan.ExitViolations:
				require.NotEmpty(t, c.policies, "header: expect-policy")
				var doc plan.Document
				require.NoError(t, json.Unmarshal([]byte(out), &doc), "the plan is printed even when a policy fails")
				fired := map[string]bool{}
				var all []string
				for _, v := range doc.Violations {
					if v.Level == "mandatory" {
						fired[v.Policy] = true
					}
					all = append(all, v.Message)
				}
				for _, p := range c.policies {
					assert.True(t, fired[p], "mandatory policy %s did not fire: %v", p, all)
				}
				for _, m := range c.messages {
					assert.Contains(t, strings.Join(all, "\n"), m)
				}
			}
		})
	}
	assert.NotZero(t, byExit[plan.ExitConfigError], "configuration errors are in the corpus")
	assert.NotZero(t, byExit[plan.ExitViolations], "policy violations are in the corpus")
}

// TestInvalidPolicyCasesPrintTheViolationsInTheTree: without --json the
// plan lists the violations after the tree, and still exits 1.
func TestInvalidPolicyCasesPrintTheViolationsInTheTree(t *testing.T) {
	path := filepath.Join(repoRoot(t), "tests", "invalid", "cache-single-az.yaml")
	code, out, stderr := runPlan("--config-file", path)
	require.Equal(t, plan.ExitViolations, code, stderr)
	assert.Contains(t, out, "Policy violations:")
	assert.Contains(t, out, "[mandatory] elasticache-multi-az:")
	assert.Contains(t, out, "Fix: set multiAzEnabled: true")
}
