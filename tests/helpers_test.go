// Package tests holds the specifications of the platform: each test runs
// the real program (or a component) under the shared mocks of
// cmd/plan/mocks and checks what it would register.
package tests

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/stacks"
)

const project = "auth-platform"

// repoRoot is the directory holding Pulumi.yaml.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := stacks.ProjectRoot()
	require.NoError(t, err)
	return root
}

// stackFiles lists the shipped stacks by name.
func stackFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "stacks", "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var names []string
	for _, f := range files {
		names = append(names, plan.StackNameOf(f))
	}
	sort.Strings(names)
	return names
}

// stackConfig reads a shipped stack's configuration the way the plan does.
func stackConfig(t *testing.T, stack string) (map[string]string, []string) {
	t.Helper()
	root := repoRoot(t)
	proj, err := plan.LoadProject(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	cfg, secrets, err := plan.LoadStackConfig(filepath.Join(root, "stacks", "Pulumi."+stack+".yaml"), proj)
	require.NoError(t, err)
	return cfg, secrets
}

// runProgram runs the whole program under mocks with cfg.
func runProgram(t *testing.T, stack string, cfg map[string]string, secretKeys []string) (*mocks.Result, error) {
	t.Helper()
	return mocks.Run(project, stack, cfg, secretKeys, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		return stacks.Run(ctx)
	})
}

// planStack runs a shipped stack and fails the test on any error.
func planStack(t *testing.T, stack string) *mocks.Result {
	t.Helper()
	cfg, secrets := stackConfig(t, stack)
	res, err := runProgram(t, stack, cfg, secrets)
	require.NoError(t, err)
	return res
}

// withConfig copies base and applies overrides; an empty override value
// deletes the key.
func withConfig(base map[string]string, overrides map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overrides {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// ofType returns the recorded resources of one type.
func ofType(res *mocks.Result, typ string) []*mocks.Resource {
	var out []*mocks.Resource
	for _, r := range res.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// one returns the single resource of a type whose name ends with suffix.
func one(t *testing.T, res *mocks.Result, typ, suffix string) *mocks.Resource {
	t.Helper()
	var found []*mocks.Resource
	for _, r := range ofType(res, typ) {
		if strings.HasSuffix(r.Name, suffix) {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "want exactly one %s named *%s", typ, suffix)
	return found[0]
}

// byURN indexes the recorded resources.
func byURN(res *mocks.Result) map[string]*mocks.Resource {
	m := map[string]*mocks.Resource{}
	for _, r := range res.Resources {
		m[r.URN] = r
	}
	return m
}

// str reads a string input (dotted path through objects).
func str(t *testing.T, r *mocks.Resource, path string) string {
	t.Helper()
	v := value(r.Inputs, path)
	s, ok := v.(string)
	require.True(t, ok, "%s %s: input %s is %T (%v), want string", r.Type, r.Name, path, v, v)
	return s
}

// value reads an input as a plain value (dotted path through objects).
func value(inputs resource.PropertyMap, path string) interface{} {
	var cur interface{} = mocks.PlainMap(inputs)
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]interface{}:
			cur = c[part]
		case []interface{}:
			// A numeric part indexes a list: "rules.0.name".
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// strings returns a list input as strings.
func stringList(t *testing.T, r *mocks.Resource, path string) []string {
	t.Helper()
	raw, ok := value(r.Inputs, path).([]interface{})
	require.True(t, ok, "%s %s: input %s is not a list", r.Type, r.Name, path)
	out := make([]string, len(raw))
	for i, e := range raw {
		out[i], ok = e.(string)
		require.True(t, ok, "%s[%d] is not a string", path, i)
	}
	return out
}

// policyDoc parses a JSON policy input.
func policyDoc(t *testing.T, r *mocks.Resource, path string) map[string]interface{} {
	t.Helper()
	var doc map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(str(t, r, path)), &doc))
	return doc
}

// ids returns the IDs of resources.
func ids(rs []*mocks.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// assertRejected loads cfg and requires a configuration error with a
// problem on key whose text contains message and that says how to fix it;
// the program must then refuse before registering anything.
func assertRejected(t *testing.T, cfg map[string]string, key, message string) {
	t.Helper()
	_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
	var named []string
	for _, p := range cerr.Problems {
		if p.Key == key {
			assert.NotEmpty(t, p.Fix, "every problem says how to fix it")
			named = append(named, p.String())
		}
	}
	require.NotEmpty(t, named, "no problem names %s in:\n%v", key, err)
	assert.Contains(t, strings.Join(named, "\n"), message)

	res, runErr := runProgram(t, "test", cfg, nil)
	require.Error(t, runErr)
	assert.Nil(t, res, "nothing is registered")
}

// regionPlan is one region of a planned shipped stack: the whole plan of a
// single-region stack, or the resources of one region of a multi-region
// stack (those whose name carries "-<region code>-", apart from the
// global namer's).
type regionPlan struct {
	name string // "<stack>" or "<stack>/<region>"
	cfg  *stacks.Config
	res  *mocks.Result
}

// regionPlans plans every shipped stack and splits it by region.
func regionPlans(t *testing.T) []regionPlan {
	t.Helper()
	var out []regionPlan
	for _, stack := range stackFiles(t) {
		raw, _ := stackConfig(t, stack)
		cfg, err := stacks.Load(project, stack, stacks.MapSource(raw))
		require.NoError(t, err, stack)
		res := planStack(t, stack)
		if !cfg.MultiRegion() {
			out = append(out, regionPlan{name: stack, cfg: cfg, res: res})
			continue
		}
		regionOutputs, _ := res.Outputs["regions"].(map[string]interface{})
		global := stacks.GlobalNamer(cfg).Prefix() + "-"
		for _, rc := range cfg.Regions {
			code := "-" + naming.RegionCode(rc.Region) + "-"
			sub := &mocks.Result{Project: res.Project, Stack: res.Stack, Mocks: res.Mocks}
			for _, r := range res.Resources {
				if strings.Contains(r.Name, code) && !strings.HasPrefix(r.Name, global) {
					sub.Resources = append(sub.Resources, r)
				}
			}
			sub.Outputs, _ = regionOutputs[rc.Region].(map[string]interface{})
			out = append(out, regionPlan{name: stack + "/" + rc.Region, cfg: rc, res: sub})
		}
	}
	return out
}
