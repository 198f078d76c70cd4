package tests

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
)

// TestValidUnusualConfigurationsPlan: every stack file of tests/valid is a
// configuration `pulumi up` accepts (other regions, Redis, three regions,
// the smallest and largest Fargate sizes, encrypted values, ...), so the
// plan must accept it too: over-rejection is a bug as much as a miss.
func TestValidUnusualConfigurationsPlan(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "tests", "valid", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 15, "the corpus keeps at least 15 valid-but-unusual configurations")
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			code, out, stderr := runPlan("--config-file", path, "--json")
			require.Equal(t, plan.ExitOK, code, "stderr: %s", stderr)
			assert.NotEmpty(t, out)
			assert.NotContains(t, stderr, "invalid stack configuration")
			for _, w := range expectedWarnings(t, path) {
				assert.Contains(t, stderr, "plan: warning: ", "the CLI's warnings are passed on")
				assert.Contains(t, stderr, w)
			}
		})
	}
}

// expectedWarnings are a valid file's header lines `# expect-warning: <fragment>`:
// what the Pulumi CLI accepts but warns about (or ignores), told on stderr.
func expectedWarnings(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "\ufeff")
		if !strings.HasPrefix(line, "#") {
			break
		}
		if w, ok := strings.CutPrefix(strings.TrimSpace(strings.TrimPrefix(line, "#")), "expect-warning:"); ok {
			out = append(out, strings.TrimSpace(w))
		}
	}
	require.NoError(t, sc.Err())
	return out
}
