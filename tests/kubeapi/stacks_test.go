package kubeapi_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/tests/kubeapi"
)

// Every Kubernetes object of every shipped stack's offline plan is accepted
// by a real API server: schema, defaulting, validation and admission, with
// unknown fields an error.
func TestEveryShippedStackIsAcceptedByTheAPIServer(t *testing.T) {
	root := repoRoot(t)
	stacks := shippedStacks(t, root)
	require.NotEmpty(t, stacks, "no stacks/Pulumi.*.yaml in %s", root)
	program := buildProgram(t, root)
	checker := newChecker(t)

	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			plan := runPlan(t, program, root, stack)
			objects, skipped, err := kubeapi.Objects(plan)
			require.NoError(t, err)
			for _, s := range skipped {
				t.Logf("not submitted: %s (%s): %s", s.URN, s.Type, s.Reason)
			}
			// A stack without objects would pass vacuously; until the auth
			// service is in the program that is a failure, not a skip.
			require.NotEmpty(t, objects, "stack %s yields zero submittable Kubernetes objects (%d Kubernetes resources out of scope)", stack, len(skipped))

			for _, result := range checker.Check(testContext(t), objects) {
				o := result.Object
				for _, p := range o.Placeholders {
					t.Logf("%s: placeholder %s", o.URN, p)
				}
				accepted := assert.NoError(t, result.Err, "stack %s: the API server rejected %s", stack, o.URN)
				// Accepted with a warning is not good enough: a Deployment whose
				// pods the namespace's Pod Security level refuses is accepted,
				// and its pods then never start.
				warned := !assert.Empty(t, result.Warnings, "stack %s: the API server warned about %s", stack, o.URN)
				if accepted && !warned {
					t.Logf("accepted: %s %s", o.Manifest.GetKind(), objectRef(o))
				}
			}
		})
	}
}

// shippedStacks are the stacks of stacks/Pulumi.<stack>.yaml.
func shippedStacks(t *testing.T, root string) []string {
	files, err := filepath.Glob(filepath.Join(root, "stacks", "Pulumi.*.yaml"))
	require.NoError(t, err)
	var stacks []string
	for _, f := range files {
		stacks = append(stacks, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	sort.Strings(stacks)
	return stacks
}

// buildProgram builds the Pulumi program once, so each stack's plan does
// not pay for `go run`.
func buildProgram(t *testing.T, root string) string {
	bin := filepath.Join(t.TempDir(), "auth-platform")
	_, stderr, err := command(t, 10*time.Minute, root, "go", "build", "-o", bin, ".")
	require.NoError(t, err, "building the program in %s:\n%s", root, stderr)
	return bin
}

// runPlan runs the offline plan of one stack from the repository root.
func runPlan(t *testing.T, program, root, stack string) *kubeapi.Plan {
	out, stderr, err := command(t, 5*time.Minute, root, program, "plan", "--stack", stack, "--json")
	// Exit 1 means mandatory policy violations: the plan is still complete,
	// and other checks report those.
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		err = nil
	}
	require.NoError(t, err, "plan --stack %s:\n%s", stack, stderr)
	plan, err := kubeapi.ParsePlan(out)
	require.NoError(t, err, "plan --stack %s", stack)
	return plan
}

// command runs a command with a time limit.
func command(t *testing.T, limit time.Duration, dir, name string, args ...string) (stdout, stderr []byte, err error) {
	ctx, cancel := context.WithTimeout(testContext(t), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// objectRef is namespace/name, or name for a cluster-scoped object, with
// the Pulumi name, which tells the clusters of a multi-region stack apart.
func objectRef(o kubeapi.Object) string {
	ref := o.Manifest.GetName()
	if ns := o.Manifest.GetNamespace(); ns != "" {
		ref = ns + "/" + ref
	}
	if i := strings.LastIndex(o.URN, "::"); i >= 0 {
		ref += " (" + o.URN[i+2:] + ")"
	}
	return ref
}
