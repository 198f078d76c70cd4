package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunClassifiesThroughTheOverlay runs go test on a throwaway
// two-file module (not this repository): the unmutated source passes, a
// mutant swapped in by the overlay is killed, one that does not compile is
// not built, one that hangs times out, and the source file is never
// written.
func TestRunClassifiesThroughTheOverlay(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	root := t.TempDir()
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(root, name), []byte(text), 0o644))
	}
	const src = "package a\n\nfunc F() int { return 1 }\n"
	write("go.mod", "module example.com/a\n\ngo 1.22\n")
	write("a.go", src)
	write("a_test.go", "package a\n\nimport \"testing\"\n\nfunc TestF(t *testing.T) {\n\tif F() != 1 {\n\t\tt.Fatal(\"F changed\")\n\t}\n}\n")

	tt := tester{root: root, pkgs: []string{"./"}, timeout: time.Minute}
	ctx := context.Background()
	out, _, _, err := tt.run(ctx, "")
	require.NoError(t, err)
	require.Equal(t, outSurvived, out, "the unmutated tests pass")

	abs := filepath.Join(root, "a.go")
	for i, tc := range []struct {
		mutated string
		timeout time.Duration
		want    string
	}{
		{"package a\n\nfunc F() int { return 2 }\n", time.Minute, outKilled},
		{"package a\n\nfunc F() int { return \"1\" }\n", time.Minute, outNotBuilt},
		{"package a\n\nfunc F() int { for {} }\n", 3 * time.Second, outTimeout},
	} {
		ov, err := WriteOverlay(filepath.Join(t.TempDir(), "m"), abs, []byte(tc.mutated))
		require.NoError(t, err)
		tt.timeout = tc.timeout
		got, output, _, err := tt.run(ctx, ov)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "case %d: %s", i, output)
	}
	b, err := os.ReadFile(abs)
	require.NoError(t, err)
	assert.Equal(t, src, string(b), "the source file is untouched")
}
