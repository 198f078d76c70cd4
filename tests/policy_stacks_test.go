package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/policies/rules"
)

// TestPolicyShippedStacksHaveNoMandatoryViolation: the offline plan of every
// shipped stack passes the policy pack (exit 0, no mandatory violation).
// Advisory findings are allowed and logged.
func TestPolicyShippedStacksHaveNoMandatoryViolation(t *testing.T) {
	for _, stack := range stackFiles(t) {
		t.Run(stack, func(t *testing.T) {
			code, out, stderr := runPlan("--stack", stack, "--json")
			var doc plan.Document
			require.NoError(t, json.Unmarshal([]byte(out), &doc), stderr)
			for _, v := range doc.Violations {
				if v.Level == "mandatory" {
					t.Errorf("%s: %s (%s)", v.Policy, v.Message, v.URN)
				} else {
					t.Logf("advisory %s: %s", v.Policy, v.Message)
				}
			}
			assert.Equal(t, plan.ExitOK, code, stderr)
			// The policies saw the resources they are about.
			types := map[string]bool{}
			for _, r := range doc.Resources {
				types[r.Type] = true
			}
			for _, typ := range []string{
				"kubernetes:apps/v1:Deployment", "kubernetes:policy/v1:PodDisruptionBudget",
				"kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "aws:lb/targetGroup:TargetGroup",
				"aws:elasticache/replicationGroup:ReplicationGroup", "aws:rds/cluster:Cluster", "aws:eks/fargateProfile:FargateProfile",
			} {
				assert.True(t, types[typ], "stack %s registers no %s: the policies about it would pass vacuously", stack, typ)
			}
		})
	}
}

// seedDesign is the vulnerable design the platform replaces: one replica,
// sessions in an emptyDir, no PodDisruptionBudget, no preStop pause, and a
// target group with AWS's default 300 s deregistration delay.
func seedDesign() *policyFixture {
	f := newPolicyFixture()
	f.remove("pdb")
	f.remove("deploy-b")
	f.set("deploy", "spec.replicas", 1)
	f.set("deploy", "spec.template.spec.volumes", []any{map[string]any{"name": "sessions", "emptyDir": map[string]any{}}})
	f.set("deploy", container0+".volumeMounts", []any{map[string]any{"name": "sessions", "mountPath": "/var/lib/auth/sessions"}})
	f.del("deploy", container0+".lifecycle")
	f.del("deploy", "spec.template.spec.terminationGracePeriodSeconds")
	f.del("tg", "deregistrationDelay")
	return f
}

// TestPolicySeedDesignIsRejected: the seeds' vulnerable design fails the
// plan, each flaw caught by the policy written for it.
func TestPolicySeedDesignIsRejected(t *testing.T) {
	f := seedDesign()
	res := f.run(t)
	vs := evaluateResult(res)
	got := byPolicy(vs)
	deploy := urnOf(t, res, f.r("deploy").Name)
	for policy, fragment := range map[string]string{
		"deployment-min-replicas": "runs 1 replica",
		"no-emptydir-state":       `emptyDir volume "sessions"`,
		"pdb-covers-deployment":   "no PodDisruptionBudget selects its pods",
		"deployment-prestop-hook": "has no preStop hook",
	} {
		require.NotEmpty(t, got[policy], "%s must reject the seed design; fired: %v", policy, policyNames(vs))
		assert.Equal(t, "mandatory", got[policy][0].Level)
		assert.Equal(t, deploy, got[policy][0].URN)
		assert.Contains(t, got[policy][0].Message, fragment)
	}
	assert.NotEmpty(t, got["deployment-replicas-per-zone"], "one replica is below one per zone too")
	tg := urnOf(t, res, f.r("tg").Name)
	require.NotEmpty(t, got["target-group-deregistration-within-prestop"], "the ALB drains 300 s to pods that stop at once")
	assert.Equal(t, tg, got["target-group-deregistration-within-prestop"][0].URN)
	assert.Contains(t, got["target-group-deregistration-within-prestop"][0].Message, "300 s (unset: the AWS default) exceeds the 0 s preStop sleep")

	// Fixing the four flaws the way the auth service does leaves nothing
	// mandatory.
	f.set("deploy", "spec.replicas", 2)
	f.addZoneDeployment("deploy-b", "us-east-1b", 1, "fp-auth-b")
	f.del("deploy", "spec.template.spec.volumes")
	f.del("deploy", container0+".volumeMounts")
	f.set("deploy", container0+".lifecycle", map[string]any{"preStop": map[string]any{"sleep": map[string]any{"seconds": 60}}})
	f.set("deploy", "spec.template.spec.terminationGracePeriodSeconds", 90)
	f.set("tg", "deregistrationDelay", 30)
	f.add("pdb", "kubernetes:policy/v1:PodDisruptionBudget", map[string]any{"metadata": map[string]any{"name": "auth", "namespace": "auth"},
		"spec": map[string]any{"maxUnavailable": 1, "selector": map[string]any{"matchLabels": labelsCopy()}, "unhealthyPodEvictionPolicy": "AlwaysAllow"}})
	assert.Empty(t, f.violations(t))
}

// The policy table lives next to the pack, in policies/README.md, and the
// main README points there.
func TestPolicyREADMEDocumentsEveryPolicy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "policies", "README.md"))
	require.NoError(t, err)
	require.NotEmpty(t, rules.Policies())
	for _, p := range rules.Policies() {
		assert.Contains(t, string(b), "| `"+p.Name+"` |", "policies/README.md has no table row for policy %s", p.Name)
	}
}

// Reference material lives next to its code; README links each document,
// and each exists.
func TestREADMELinksTheReferenceNextToItsCode(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	for _, doc := range []string{"policies/README.md", "tests/kubeapi/README.md", "cmd/downtime-probe/README.md", "cmd/auth-service/README.md", "cmd/mutation-sweep/README.md"} {
		assert.Contains(t, string(b), "]("+doc+")", "README links %s", doc)
		_, err := os.Stat(filepath.Join(root, filepath.FromSlash(doc)))
		assert.NoError(t, err, doc)
	}
}
