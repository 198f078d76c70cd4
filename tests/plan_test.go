package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
)

func runPlan(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := plan.Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestPlanJSONHasTheContractedShape(t *testing.T) {
	code, out, stderr := runPlan("--stack", "dev", "--json")
	require.Equal(t, plan.ExitOK, code, stderr)

	var doc plan.Document
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, "auth-platform", doc.Project)
	assert.Equal(t, "dev", doc.Stack)
	assert.NotNil(t, doc.Violations)
	require.NotEmpty(t, doc.Resources)
	urns := make([]string, len(doc.Resources))
	for i, r := range doc.Resources {
		urns[i] = r.URN
		assert.NotEmpty(t, r.Type)
		assert.NotEmpty(t, r.Name)
		assert.NotNil(t, r.DependsOn)
		assert.NotNil(t, r.Inputs)
	}
	assert.True(t, sort.StringsAreSorted(urns), "resources are sorted by URN")

	// Field names and order are a contract with pipelines.
	var raw []map[string]json.RawMessage
	var top struct {
		Resources []map[string]json.RawMessage `json:"resources"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &top))
	raw = top.Resources
	for _, f := range []string{"urn", "type", "name", "id", "parent", "provider", "dependsOn", "protect", "inputs"} {
		assert.Contains(t, raw[0], f)
	}
	assert.Equal(t, "[secret]", doc.Outputs["kubeconfig"])
	assert.NotContains(t, out, "certificate-authority-data", "the kubeconfig never appears in clear")
}

func TestPlanTreeIsTheDefault(t *testing.T) {
	code, out, stderr := runPlan()
	require.Equal(t, plan.ExitOK, code, stderr)
	assert.Contains(t, out, "Plan of auth-platform/dev")
	assert.Contains(t, out, "aws:eks/fargateProfile:FargateProfile  auth-dev-use1-fp-coredns")
	assert.Contains(t, out, "kubernetes:helm.sh/v3:Release  auth-dev-use1-lbc")
}

func TestPlanExitsTwoOnConfigurationErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "Pulumi.broken.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(`config:
  aws:region: us-east-1
  auth-platform:vpcCidr: 10.0.0.0/33
  auth-platform:availabilityZones: [us-east-1a]
`), 0o600))
	notYAML := filepath.Join(dir, "Pulumi.notyaml.yaml")
	require.NoError(t, os.WriteFile(notYAML, []byte("config: [unclosed"), 0o600))

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad values", []string{"--config-file", bad, "--json"}, []string{
			`auth-platform:vpcCidr = "10.0.0.0/33": not a CIDR block`,
			`auth-platform:availabilityZones = "us-east-1a": fewer than 3 availability zones`,
			"Fix:",
		}},
		{"not yaml", []string{"--config-file", notYAML}, []string{"not valid YAML"}},
		{"unknown stack", []string{"--stack", "nope"}, []string{"Pulumi.nope.yaml"}},
		{"both selectors", []string{"--stack", "dev", "--config-file", bad}, []string{"not both"}},
		{"stray argument", []string{"dev"}, []string{`unexpected argument "dev"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runPlan(tc.args...)
			assert.Equal(t, plan.ExitConfigError, code)
			assert.Empty(t, out, "nothing on stdout, so a pipeline never parses half a plan")
			for _, w := range tc.want {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

func TestPlanOfAConfigFileUsesItsStackName(t *testing.T) {
	code, out, stderr := runPlan("--config-file", filepath.Join(repoRoot(t), "stacks", "Pulumi.prod-us-east-1.yaml"), "--json")
	require.Equal(t, plan.ExitOK, code, stderr)
	var doc plan.Document
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, "prod-us-east-1", doc.Stack)
}
