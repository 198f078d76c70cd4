package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Outcomes of one mutant.
const (
	outKilled   = "killed"
	outSurvived = "SURVIVED"
	outTimeout  = "timeout"
	outNotBuilt = "not built"
)

// Overlay is the JSON file go build -overlay reads: each source path maps to
// the file that replaces it.
type Overlay struct {
	Replace map[string]string `json:"Replace"`
}

// WriteOverlay writes the mutated source into dir and the overlay file that
// maps the original absolute path to it; it returns the overlay's path.
func WriteOverlay(dir, absPath string, mutated []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	repl := filepath.Join(dir, filepath.Base(absPath))
	if err := os.WriteFile(repl, mutated, 0o644); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(Overlay{Replace: map[string]string{absPath: repl}}, "", "  ")
	if err != nil {
		return "", err
	}
	ov := filepath.Join(dir, "overlay.json")
	return ov, os.WriteFile(ov, b, 0o644)
}

// tester runs the test command in the repository root.
type tester struct {
	root    string
	pkgs    []string
	extra   []string // more go test flags
	timeout time.Duration
}

func (t tester) args(overlay string) []string {
	a := []string{"test", "-count=1", "-failfast"}
	if overlay != "" {
		a = append(a, "-overlay", overlay)
	}
	a = append(a, t.extra...)
	return append(a, t.pkgs...)
}

// run runs go test once (with overlay if not empty) and classifies it.
func (t tester) run(ctx context.Context, overlay string) (outcome string, output []byte, took time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", t.args(overlay)...)
	cmd.Dir = t.root
	cmd.WaitDelay = 5 * time.Second
	ownGroup(cmd)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	runErr := cmd.Run()
	took = time.Since(start)
	output = buf.Bytes()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return outTimeout, output, took, nil
	case ctx.Err() != nil:
		return "", output, took, ctx.Err() // interrupted
	case runErr == nil:
		return outSurvived, output, took, nil
	}
	var exit *exec.ExitError
	if !errors.As(runErr, &exit) {
		return "", output, took, runErr
	}
	if buildFailed(output) {
		return outNotBuilt, output, took, nil
	}
	return outKilled, output, took, nil
}

// buildFailed tells a compile error from a failing test in go test's output.
func buildFailed(out []byte) bool {
	s := string(out)
	return strings.Contains(s, "[build failed]") || strings.Contains(s, "[setup failed]")
}

// firstFailure is the first line naming a failed test, for the report.
func firstFailure(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		t := strings.TrimSpace(l)
		if name, ok := strings.CutPrefix(t, "--- FAIL: "); ok {
			if i := strings.LastIndex(name, " ("); i > 0 {
				name = name[:i]
			}
			return name
		}
		if strings.HasPrefix(t, "panic:") {
			return t
		}
	}
	return ""
}

// compiledFiles lists the Go files (absolute paths) compiled into the test
// command's packages and their dependencies.
func compiledFiles(root string, pkgs []string) (map[string]bool, error) {
	args := append([]string{"list", "-deps", "-test", "-f", `{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .CgoFiles}}{{$d}}/{{.}}
{{end}}`}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.String())
	}
	files := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			files[filepath.Clean(l)] = true
		}
	}
	return files, nil
}
