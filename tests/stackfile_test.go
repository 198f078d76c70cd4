package tests

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
)

// TestStackFileReadAsTheCLIReadsIt: the values the reader hands the program
// are those `pulumi up` would pass (issue 28 item 3): the old
// <namespace>:config:<name> key form, a byte order mark, a key without a
// value, and what the CLI ignores at the top level of the file.
func TestStackFileReadAsTheCLIReadsIt(t *testing.T) {
	root := repoRoot(t)
	proj, err := plan.LoadProject(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	cases := []struct {
		file     string
		key      string
		want     string
		warnings int
	}{
		{"file-old-key-form.yaml", "auth-platform:authReplicas", "4", 0},
		{"file-byte-order-mark.yaml", "aws:region", "us-east-1", 0},
		{"file-empty-value.yaml", "auth-platform:alarmEmail", "", 1},
		{"file-keys-beside-config.yaml", "auth-platform:authImage", "ghcr.io/authplatform/auth-service:1.0.0", 1},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := plan.LoadStackFile(filepath.Join(root, "tests", "valid", c.file), proj)
			require.NoError(t, err)
			v, ok := f.Config[c.key]
			require.True(t, ok, "%s is set", c.key)
			assert.Equal(t, c.want, v)
			assert.True(t, f.Written[c.key], "the file itself sets %s", c.key)
			assert.Len(t, f.Warnings, c.warnings)
			assert.Equal(t, "dev", f.Config["auth-platform:environment"], "project defaults fill the rest")
		})
	}
}
