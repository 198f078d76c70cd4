package tests

// Issue 23 item 11: a second `pulumi up` with nothing changed is a no-op.
// `plan --second-run` plans twice against one mocked account (lookups on
// the second run find what the first created) and lists what the second
// run would create, delete or change.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/guardduty"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

func TestSecondRunOfEveryShippedStackChangesNothing(t *testing.T) {
	root := repoRoot(t)
	proj, err := plan.LoadProject(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	for _, stack := range stackFiles(t) {
		t.Run(stack, func(t *testing.T) {
			file, err := plan.LoadStackFile(filepath.Join(root, "stacks", "Pulumi."+stack+".yaml"), proj)
			require.NoError(t, err)
			report, err := plan.SecondRunFile(nil, proj.Name, stack, file)
			require.NoError(t, err)
			assert.Empty(t, report.Changes, "the second up of %s would change something", stack)
			assert.Equal(t, report.FirstRun, report.SecondRun)
			assert.Equal(t, plan.ExitOK, report.ExitCode())
			// The second run's lookups saw what the first created: every
			// region's cluster, and the detector where the stack owns one.
			res := planStack(t, stack)
			for _, name := range clusterNames(res) {
				found := false
				for _, region := range []string{"us-east-1", "us-west-2"} {
					for _, c := range report.Account.Clusters(region) {
						found = found || c == name
					}
				}
				assert.True(t, found, "the account holds cluster %s after the first run", name)
			}
			for _, d := range ofType(res, typeDetector) {
				got, ok := report.Account.Detector(d.Region)
				assert.True(t, ok && got.ID == d.ID, "the account holds %s's detector %s", d.Region, d.ID)
			}
		})
	}
}

// clusterNames are the EKS cluster names a plan creates.
func clusterNames(res *mocks.Result) []string {
	var out []string
	for _, r := range ofType(res, "eks:index:Cluster") {
		out = append(out, mocks.PlainMap(r.Inputs)["name"].(string))
	}
	return out
}

// lookUpElseCreate is the detector logic D-1 removed, as a test double:
// adopt whatever the region's lookup finds, create a detector otherwise.
func lookUpElseCreate(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
	var id pulumi.StringOutput
	found, err := guardduty.LookupDetector(ctx, &guardduty.LookupDetectorArgs{})
	switch {
	case err == nil:
		id = pulumi.String(found.Id).ToStringOutput()
	case strings.Contains(err.Error(), "empty result"):
		d, err := guardduty.NewDetector(ctx, "guardduty", &guardduty.DetectorArgs{Enable: pulumi.Bool(true)})
		if err != nil {
			return nil, err
		}
		id = d.ID().ToStringOutput()
	default:
		return nil, err
	}
	_, err = guardduty.NewDetectorFeature(ctx, "eks-audit", &guardduty.DetectorFeatureArgs{
		DetectorId: id, Name: pulumi.String("EKS_AUDIT_LOGS"), Status: pulumi.String("ENABLED")})
	return nil, err
}

// The control: the check catches D-1. The second run of "look up, else
// create" finds the detector the first run made, stops declaring it, and
// the engine deletes it; the third run creates it again.
func TestSecondRunCatchesLookUpElseCreate(t *testing.T) {
	cfg := map[string]string{"aws:region": "us-east-1"}
	report, err := plan.SecondRun(nil, project, "d1", cfg, nil, lookUpElseCreate)
	require.NoError(t, err)
	require.Len(t, report.Changes, 1, "%+v", report.Changes)
	c := report.Changes[0]
	assert.Equal(t, plan.OpDelete, c.Op)
	assert.Equal(t, "aws:guardduty/detector:Detector", c.Type)
	assert.Equal(t, plan.ExitSecondRunChanges, report.ExitCode())
	_, stillThere := report.Account.Detector("us-east-1")
	assert.False(t, stillThere, "the engine's delete disabled GuardDuty in the region")

	// Every other up toggles it: the third run creates it again.
	account := mocks.NewAccount()
	var runs []*mocks.Result
	for i := 0; i < 3; i++ {
		var prior *mocks.Result
		if i > 0 {
			prior = runs[i-1]
		}
		res, err := mocks.RunWith(mocks.RunOptions{Account: account, Prior: prior}, project, "d1", cfg, nil, lookUpElseCreate)
		require.NoError(t, err)
		runs = append(runs, res)
	}
	assert.Len(t, ofType(runs[0], typeDetector), 1)
	assert.Empty(t, ofType(runs[1], typeDetector))
	assert.Len(t, ofType(runs[2], typeDetector), 1)
	third := plan.Compare(runs[1], runs[2])
	require.NotEmpty(t, third)
	assert.Equal(t, plan.OpCreate, third[0].Op)
}

func fakeResource(urn, typ string, inputs map[string]interface{}, edit func(r *mocks.Resource)) *mocks.Resource {
	r := &mocks.Resource{URN: urn, Type: typ, Name: urn[strings.LastIndex(urn, ":")+1:], Custom: true,
		Inputs: resource.NewPropertyMapFromMap(inputs), Provider: "urn:p"}
	if edit != nil {
		edit(r)
	}
	return r
}

func TestSecondRunComparesAsTheEngineDoes(t *testing.T) {
	const urn = "urn:pulumi:s::auth-platform::aws:rds/cluster:Cluster::db"
	base := map[string]interface{}{"engineVersion": "16.9", "tags": map[string]interface{}{"Name": "db"}}
	changed := map[string]interface{}{"engineVersion": "16.11", "tags": map[string]interface{}{"Name": "db"}}
	for _, tc := range []struct {
		name        string
		first, next *mocks.Resource
		op          string // "" for no change
		inputs      []string
		options     []string
	}{
		{"the same inputs", fakeResource(urn, "aws:rds/cluster:Cluster", base, nil), fakeResource(urn, "aws:rds/cluster:Cluster", base, nil), "", nil, nil},
		{"a changed input is an update", fakeResource(urn, "aws:rds/cluster:Cluster", base, nil), fakeResource(urn, "aws:rds/cluster:Cluster", changed, nil),
			plan.OpUpdate, []string{"engineVersion"}, nil},
		{"ignoreChanges hides it", fakeResource(urn, "aws:rds/cluster:Cluster", base, nil),
			fakeResource(urn, "aws:rds/cluster:Cluster", changed, func(r *mocks.Resource) { r.Options.IgnoreChanges = []string{"engineVersion"} }), "", nil, []string{"ignoreChanges"}},
		{"replaceOnChanges makes it a replace", fakeResource(urn, "aws:rds/cluster:Cluster", base, func(r *mocks.Resource) { r.Options.ReplaceOnChanges = []string{"engineVersion"} }),
			fakeResource(urn, "aws:rds/cluster:Cluster", changed, func(r *mocks.Resource) { r.Options.ReplaceOnChanges = []string{"engineVersion"} }),
			plan.OpReplace, []string{"engineVersion"}, nil},
		{"another provider is a replace", fakeResource(urn, "aws:rds/cluster:Cluster", base, nil),
			fakeResource(urn, "aws:rds/cluster:Cluster", base, func(r *mocks.Resource) { r.Provider = "urn:q" }), plan.OpReplace, nil, []string{"provider"}},
		{"protect is an option change", fakeResource(urn, "aws:rds/cluster:Cluster", base, nil),
			fakeResource(urn, "aws:rds/cluster:Cluster", base, func(r *mocks.Resource) { r.Protect = true }), plan.OpUpdate, nil, []string{"protect"}},
		{"a secret keeps its value", fakeResource(urn, "aws:rds/cluster:Cluster", base, func(r *mocks.Resource) {
			r.Inputs["masterPassword"] = resource.MakeSecret(resource.NewStringProperty("x"))
		}), fakeResource(urn, "aws:rds/cluster:Cluster", base, func(r *mocks.Resource) {
			r.Inputs["masterPassword"] = resource.MakeSecret(resource.NewStringProperty("x"))
		}), "", nil, nil},
		{"a secret changes its value", fakeResource(urn, "aws:rds/cluster:Cluster", base, func(r *mocks.Resource) {
			r.Inputs["masterPassword"] = resource.MakeSecret(resource.NewStringProperty("x"))
		}), fakeResource(urn, "aws:rds/cluster:Cluster", base, func(r *mocks.Resource) {
			r.Inputs["masterPassword"] = resource.MakeSecret(resource.NewStringProperty("y"))
		}), plan.OpUpdate, []string{"masterPassword"}, nil},
		{"docker-build ignores a new registry password",
			fakeResource(urn, "docker-build:index:Image", map[string]interface{}{"registries": []interface{}{map[string]interface{}{"address": "r", "username": "AWS", "password": "one"}}}, nil),
			fakeResource(urn, "docker-build:index:Image", map[string]interface{}{"registries": []interface{}{map[string]interface{}{"address": "r", "username": "AWS", "password": "two"}}}, nil),
			"", nil, nil},
		{"but not a new registry",
			fakeResource(urn, "docker-build:index:Image", map[string]interface{}{"registries": []interface{}{map[string]interface{}{"address": "r", "username": "AWS", "password": "one"}}}, nil),
			fakeResource(urn, "docker-build:index:Image", map[string]interface{}{"registries": []interface{}{map[string]interface{}{"address": "s", "username": "AWS", "password": "two"}}}, nil),
			plan.OpUpdate, []string{"registries"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changes := plan.Compare(&mocks.Result{Resources: []*mocks.Resource{tc.first}}, &mocks.Result{Resources: []*mocks.Resource{tc.next}})
			if tc.op == "" && len(tc.options) == 0 {
				assert.Empty(t, changes)
				return
			}
			require.Len(t, changes, 1)
			if tc.op != "" {
				assert.Equal(t, tc.op, changes[0].Op)
			}
			if tc.inputs == nil {
				tc.inputs = []string{}
			}
			assert.Equal(t, tc.inputs, changes[0].Inputs)
			if tc.options != nil {
				assert.Equal(t, tc.options, changes[0].Options)
			}
		})
	}

	t.Run("URNs: a new one is a create, a gone one a delete, protected or retained", func(t *testing.T) {
		a := fakeResource("urn:a", "aws:s3/bucketV2:BucketV2", nil, func(r *mocks.Resource) { r.Protect = true })
		b := fakeResource("urn:b", "aws:s3/bucketV2:BucketV2", nil, func(r *mocks.Resource) { r.Options.RetainOnDelete = true })
		c := fakeResource("urn:c", "aws:s3/bucketV2:BucketV2", nil, nil)
		changes := plan.Compare(&mocks.Result{Resources: []*mocks.Resource{a, b}}, &mocks.Result{Resources: []*mocks.Resource{c}})
		require.Len(t, changes, 3)
		assert.Equal(t, plan.OpDelete, changes[0].Op)
		assert.True(t, changes[0].Protected)
		assert.Equal(t, plan.OpDelete, changes[1].Op)
		assert.True(t, changes[1].Retained)
		assert.Equal(t, plan.OpCreate, changes[2].Op)
	})
	t.Run("what a component creates inside", func(t *testing.T) {
		eks := func(children ...mocks.Child) *mocks.Resource {
			return &mocks.Resource{URN: "urn:eks", Type: "eks:index:Cluster", Remote: true, Inputs: resource.PropertyMap{}, RemoteChildren: children}
		}
		changes := plan.Compare(&mocks.Result{Resources: []*mocks.Resource{eks(mocks.Child{Type: "aws:eks/cluster:Cluster", Name: "c"})}},
			&mocks.Result{Resources: []*mocks.Resource{eks(mocks.Child{Type: "aws:eks/cluster:Cluster", Name: "c"}, mocks.Child{Type: "aws:iam/role:Role", Name: "r"})}})
		require.Len(t, changes, 1)
		assert.Equal(t, plan.OpCreate, changes[0].Op)
		assert.Equal(t, "urn:eks", changes[0].Component)
		assert.Equal(t, "r", changes[0].Name)
	})
}

func TestSecondRunCommand(t *testing.T) {
	code, out, stderr := runPlan("--stack", "prod-us-east-1", "--second-run")
	require.Equal(t, plan.ExitOK, code, stderr)
	// The count is the plan's own, so a branch that adds a resource does
	// not have to edit this line.
	assert.Equal(t, fmt.Sprintf("second run of prod-us-east-1: no change (%d resources: the same URNs, inputs and options as the first run)\n",
		len(planStack(t, "prod-us-east-1").Resources)), out)

	code, out, stderr = runPlan("--stack", "dev", "--second-run", "--json")
	require.Equal(t, plan.ExitOK, code, stderr)
	var report plan.SecondRunReport
	require.NoError(t, json.Unmarshal([]byte(out), &report))
	assert.Equal(t, "dev", report.Stack)
	assert.NotNil(t, report.Changes)
	assert.Empty(t, report.Changes)

	code, _, stderr = runPlan("--stack", "dev", "--second-run", "--timeline")
	assert.Equal(t, plan.ExitConfigError, code)
	assert.Contains(t, stderr, "--second-run goes alone")

	path := filepath.Join(t.TempDir(), "Pulumi.bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("config:\n  aws:region: us-east-1\n  auth-platform:dbReaders: 0\n"), 0o600))
	code, out, stderr = runPlan("--config-file", path, "--second-run")
	assert.Equal(t, plan.ExitConfigError, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, "auth-platform:dbReaders")

	// A report with a change prints it and exits 1.
	report = plan.SecondRunReport{Stack: "x", FirstRun: 2, SecondRun: 1, Changes: []plan.Change{{Op: plan.OpDelete, URN: "urn:d",
		Type: "aws:guardduty/detector:Detector", Name: "guardduty", Protected: true}}}
	var b strings.Builder
	plan.WriteSecondRun(&b, &report)
	assert.Equal(t, "second run of x: 1 change (first run 2 resources, second run 1)\n"+
		"  delete  aws:guardduty/detector:Detector guardduty (protected: the engine refuses the delete and the update fails)\n"+
		"          urn:d\n", b.String())
	assert.Equal(t, plan.ExitSecondRunChanges, report.ExitCode())
}

// CI runs the check for every shipped stack, and README states it with its
// exit codes.
func TestSecondRunIsInCIAndREADME(t *testing.T) {
	ci, err := os.ReadFile(filepath.Join(repoRoot(t), ".ci", "run"))
	require.NoError(t, err)
	assert.Contains(t, string(ci), `"$bin" plan --stack "$stack" --second-run`)
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	for _, s := range []string{
		"go run . plan --stack NAME --second-run [--json]",
		"Exit codes: `0` the second run changes nothing; `1` it would create, delete or change something",
	} {
		assert.Contains(t, string(readme), s)
	}
}
