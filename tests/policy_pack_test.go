package tests

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/policies/pack"
	"github.com/authplatform/auth-platform/policies/rules"
)

// TestPolicyPackProjectFile: policies/ is a Go policy pack the Pulumi CLI
// can load: PulumiPolicy.yaml (read with the CLI's own loader) says runtime
// go and the pack's version, and the directory holds the main package.
func TestPolicyPackProjectFile(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "policies")
	proj, err := workspace.LoadPolicyPack(filepath.Join(dir, "PulumiPolicy.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "go", proj.Runtime.Name())
	assert.Equal(t, pack.Version, proj.Version)
	require.NotNil(t, proj.Description)
	main, err := os.ReadFile(filepath.Join(dir, "main.go"))
	require.NoError(t, err)
	assert.Contains(t, string(main), "package main")
	assert.Contains(t, string(main), "policyx.Main(pack.New)")
}

// TestPolicyPackMirrorsTheRules: one policyx policy per rule, same name,
// description and level; resource-scoped rules validate resources, the
// others the stack.
func TestPolicyPackMirrorsTheRules(t *testing.T) {
	p, err := pack.New(nil)
	require.NoError(t, err)
	assert.Equal(t, pack.Name, p.Name())
	assert.Equal(t, pack.Version, p.Version().String())
	table := rules.Policies()
	require.Len(t, p.Policies(), len(table))
	for i, pol := range p.Policies() {
		want := table[i]
		assert.Equal(t, want.Name, pol.Name())
		assert.Equal(t, want.Description, pol.Description())
		assert.Equal(t, pack.Level(want.Level), pol.EnforcementLevel())
		switch want.Scope {
		case rules.ResourceScope:
			assert.Implements(t, (*policyx.ResourceValidationPolicy)(nil), pol, want.Name)
		case rules.StackScope:
			assert.Implements(t, (*policyx.StackValidationPolicy)(nil), pol, want.Name)
		}
	}
}

// buildPack builds policies/ the way the Pulumi CLI's Go language host
// does before it runs a policy pack: `go build -o <tmp>` in the pack's
// directory, with the go on PATH.
func buildPack(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pack")
	cmd := exec.Command("go", "build", "-o", bin)
	cmd.Dir = filepath.Join(repoRoot(t), "policies")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build in policies/ (as the CLI does):\n%s", out)
	return bin
}

// analyzer is a running policy pack and a client speaking the analyzer
// protocol to it, as the engine does.
type analyzer struct {
	client pulumirpc.AnalyzerClient
}

// startPack starts the built pack, waits for the port it prints, and
// performs the engine's handshake and stack configuration.
func startPack(t *testing.T, bin, stack string) *analyzer {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ports := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ports <- strings.TrimSpace(line)
	}()
	var port string
	select {
	case port = <-ports:
	case <-time.After(30 * time.Second):
		t.Fatal("the policy pack printed no port")
	}
	require.NotEmpty(t, port, "the policy pack printed no port")
	conn, err := grpc.NewClient("127.0.0.1:"+port, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	a := &analyzer{client: pulumirpc.NewAnalyzerClient(conn)}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := filepath.Join(repoRoot(t), "policies")
	_, err = a.client.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{RootDirectory: &dir, ProgramDirectory: &dir})
	require.NoError(t, err)
	_, err = a.client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{
		Stack: stack, Project: project, DryRun: true, Config: map[string]string{"aws:region": "us-east-1"},
	})
	require.NoError(t, err)
	return a
}

// finding is a diagnostic reduced to what the plan also reports.
type finding struct{ Policy, Level, URN string }

func (f finding) String() string { return f.Level + " " + f.Policy + " " + f.URN }

// analyze sends every recorded resource the way the engine does: each
// resource's inputs to Analyze (resource policies), then all resources with
// their outputs to AnalyzeStack (stack policies). It returns the findings
// and the full messages by finding.
func (a *analyzer) analyze(t *testing.T, view engineResources) ([]finding, map[finding]string) {
	resources, deps := view.resources, view.deps
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, SkipInternalKeys: true}
	var diags []*pulumirpc.AnalyzeDiagnostic
	var stack []*pulumirpc.AnalyzerResource
	for _, r := range resources {
		inputs, err := plugin.MarshalProperties(r.Inputs, opts)
		require.NoError(t, err)
		resp, err := a.client.Analyze(ctx, &pulumirpc.AnalyzeRequest{
			Type: r.Type, Urn: r.URN, Name: r.Name, Properties: inputs,
			Options: &pulumirpc.AnalyzerResourceOptions{Protect: r.Protect, Parent: r.Parent},
		})
		require.NoError(t, err)
		diags = append(diags, resp.GetDiagnostics()...)

		outputs, err := plugin.MarshalProperties(r.Outputs, opts)
		require.NoError(t, err)
		all := append([]string(nil), r.DependsOn...)
		propDeps := map[string]*pulumirpc.AnalyzerPropertyDependencies{}
		for k, urns := range deps[r.URN] {
			propDeps[k] = &pulumirpc.AnalyzerPropertyDependencies{Urns: urns}
			all = append(all, urns...)
		}
		stack = append(stack, &pulumirpc.AnalyzerResource{
			Type: r.Type, Urn: r.URN, Name: r.Name, Properties: outputs, Parent: r.Parent,
			Dependencies: all, PropertyDependencies: propDeps,
			Options: &pulumirpc.AnalyzerResourceOptions{Protect: r.Protect, Parent: r.Parent},
		})
	}
	resp, err := a.client.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: stack})
	require.NoError(t, err)
	diags = append(diags, resp.GetDiagnostics()...)

	messages := map[finding]string{}
	var out []finding
	for _, d := range diags {
		level := "advisory"
		if d.GetEnforcementLevel() == pulumirpc.EnforcementLevel_MANDATORY {
			level = "mandatory"
		}
		f := finding{d.GetPolicyName(), level, d.GetUrn()}
		if _, dup := messages[f]; !dup {
			out = append(out, f)
		}
		messages[f] += d.GetMessage() + "\n"
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, messages
}

// planFindings is what the offline plan reports for the same resources.
func planFindings(res *mocks.Result) []finding {
	seen := map[finding]bool{}
	var out []finding
	for _, v := range evaluateResult(res) {
		f := finding{v.Policy, v.Level, v.URN}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// TestPolicyPackOverTheAnalyzerProtocol builds the pack as the CLI does,
// starts it, and drives it over the analyzer protocol the engine speaks
// during `pulumi preview|up --policy-pack policies`.
func TestPolicyPackOverTheAnalyzerProtocol(t *testing.T) {
	bin := buildPack(t)
	t.Run("known values", func(t *testing.T) { packMatchesThePlan(t, startPack(t, bin, "policy")) })
	t.Run("preview of a new stack", func(t *testing.T) { packSeesThroughUnknowns(t, startPack(t, bin, "policy-preview")) })
}

// packMatchesThePlan: for the shipped dev stack, the seed design and every
// broken shape, the pack reports exactly the violations the offline plan
// reports, with the policy's description and the finding as the message.
func packMatchesThePlan(t *testing.T, a *analyzer) {
	info, err := a.client.GetAnalyzerInfo(context.Background(), &emptypb.Empty{})
	require.NoError(t, err)
	assert.Equal(t, pack.Name, info.GetName())
	var names []string
	for _, p := range info.GetPolicies() {
		names = append(names, p.GetName())
	}
	var want []string
	for _, p := range rules.Policies() {
		want = append(want, p.Name)
	}
	assert.Equal(t, want, names)

	t.Run("dev stack", func(t *testing.T) {
		res := planStack(t, "dev")
		got, _ := a.analyze(t, engineView(res, false))
		assert.Empty(t, got)
		assert.Empty(t, planFindings(res))
	})
	t.Run("seed design", func(t *testing.T) {
		res := seedDesign().run(t)
		got, messages := a.analyze(t, engineView(res, false))
		assert.Equal(t, planFindings(res), got)
		require.NotEmpty(t, got)
		for f, m := range messages {
			p, _ := rules.Lookup(f.Policy)
			assert.True(t, strings.HasPrefix(m, p.Description+"\n"), "the CLI shows the description, then the finding: %q", m)
			assert.Contains(t, m, "Fix: ")
		}
	})
	for _, tc := range policyFailCases() {
		t.Run(tc.policy+"/"+tc.name, func(t *testing.T) {
			f := newPolicyFixture()
			tc.mutate(f)
			res := f.run(t)
			got, _ := a.analyze(t, engineView(res, false))
			assert.Equal(t, planFindings(res), got)
			assert.Contains(t, got, finding{tc.policy, levelOf(tc.policy), urnOf(t, res, f.r(tc.resource).Name)})
		})
	}
}

func levelOf(policy string) string {
	p, _ := rules.Lookup(policy)
	return string(p.Level)
}

// engineView turns a recorded run into what the engine hands the pack. The
// mocks record values but not the property dependencies the engine keeps
// for every input that came from another resource's output, so they are
// rebuilt here: every property holding the ID or ARN of an AWS resource of
// the run depends on it. With preview set, those references are also
// unknown, as in a first `pulumi preview` before anything exists.
func engineView(res *mocks.Result, preview bool) engineResources {
	refs := map[string]string{} // ID or ARN -> URN
	for _, r := range res.Resources {
		if !strings.HasPrefix(r.Type, "aws:") || !r.Custom {
			continue
		}
		refs[r.ID] = r.URN
		if arn, ok := r.Outputs["arn"]; ok && arn.IsString() {
			refs[arn.StringValue()] = r.URN
		}
	}
	deps := map[string]map[string][]string{}
	var out []*mocks.Resource
	for _, r := range res.Resources {
		c := *r
		d := map[string][]string{}
		blank := func(m resource.PropertyMap) resource.PropertyMap {
			out := resource.PropertyMap{}
			for k, v := range m {
				out[k] = unknownRefs(v, refs, r.URN, preview, func(urn string) { d[string(k)] = append(d[string(k)], urn) })
			}
			return out
		}
		c.Inputs = blank(r.Inputs)
		c.Outputs = blank(r.Outputs)
		for k, urns := range d {
			sort.Strings(urns)
			d[k] = compactStrings(urns)
		}
		deps[r.URN] = d
		out = append(out, &c)
	}
	return engineResources{out, deps}
}

// engineResources are resources as the engine shows them to a policy pack:
// values, and the property dependencies of each resource by URN.
type engineResources struct {
	resources []*mocks.Resource
	deps      map[string]map[string][]string
}

func unknownRefs(v resource.PropertyValue, refs map[string]string, self string, preview bool, dep func(string)) resource.PropertyValue {
	switch {
	case v.IsString():
		if urn, ok := refs[v.StringValue()]; ok && urn != self {
			dep(urn)
			if preview {
				return resource.MakeComputed(resource.NewStringProperty(""))
			}
		}
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = unknownRefs(e, refs, self, preview, dep)
		}
		return resource.NewArrayProperty(arr)
	case v.IsObject():
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			obj[k] = unknownRefs(e, refs, self, preview, dep)
		}
		return resource.NewObjectProperty(obj)
	case v.IsSecret():
		return resource.MakeSecret(unknownRefs(v.SecretValue().Element, refs, self, preview, dep))
	}
	return v
}

func compactStrings(s []string) []string {
	var out []string
	for i, e := range s {
		if i == 0 || e != s[i-1] {
			out = append(out, e)
		}
	}
	return out
}

// packSeesThroughUnknowns: before the first `pulumi up` every ID is
// unknown. The pack then resolves references through the engine's property
// dependencies: the compliant fixture stays clean (no false alarm on an
// unknown value) and every broken shape is still caught on the right
// resource.
func packSeesThroughUnknowns(t *testing.T, a *analyzer) {
	t.Run("compliant", func(t *testing.T) {
		got, messages := a.analyze(t, engineView(newPolicyFixture().run(t), true))
		assert.Empty(t, got, "%v", messages)
	})
	for _, tc := range policyFailCases() {
		t.Run(tc.policy+"/"+tc.name, func(t *testing.T) {
			f := newPolicyFixture()
			tc.mutate(f)
			res := f.run(t)
			got, _ := a.analyze(t, engineView(res, true))
			assert.Contains(t, got, finding{tc.policy, levelOf(tc.policy), urnOf(t, res, f.r(tc.resource).Name)})
		})
	}
}
