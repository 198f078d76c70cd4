package tests

// Issue 24 item 4: `plan --change KEY=VALUE` says what a configuration
// change replaces and whether it keeps serving and keeps data; README's
// table of common changes is what the analysis computes.

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
)

// analyzeChange runs the change analysis of one stack file.
func analyzeChange(t *testing.T, stack string, changes ...string) *plan.ChangeReport {
	t.Helper()
	root := repoRoot(t)
	proj, err := plan.LoadProject(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	file, err := plan.LoadStackFile(filepath.Join(root, "stacks", "Pulumi."+stack+".yaml"), proj)
	require.NoError(t, err)
	var settings []plan.Setting
	for _, c := range changes {
		s, err := plan.ParseSetting(proj.Name, c)
		require.NoError(t, err)
		settings = append(settings, s)
	}
	report, err := plan.AnalyzeChangeFile(proj.Name, stack, file, settings)
	require.NoError(t, err)
	return report
}

// changeSummary is a report as README's table states it.
func changeSummary(r *plan.ChangeReport) (replaces, rolls, exit string) {
	unsafe := map[string]bool{}
	types := map[string]bool{}
	rolled := false
	for _, c := range r.Changes {
		short := c.Type[strings.LastIndex(c.Type, ":")+1:]
		if c.Op == plan.OpReplace {
			types[short] = true
			if !c.Safe {
				unsafe[short] = true
			}
		}
		if c.Type == "kubernetes:apps/v1:Deployment" && (c.Rolls || c.Op == plan.OpReplace) {
			rolled = true
		}
	}
	var parts []string
	for k := range types {
		if unsafe[k] {
			k += " (unsafe)"
		}
		parts = append(parts, k)
	}
	sort.Strings(parts)
	replaces = "nothing"
	if len(parts) > 0 {
		replaces = strings.Join(parts, ", ")
	}
	rolls = "no"
	if rolled {
		rolls = "yes"
	}
	exit = "0"
	if r.ExitCode() != plan.ExitOK {
		exit = "1"
	}
	return replaces, rolls, exit
}

func TestChangeTableInREADMEIsWhatTheAnalysisComputes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	text := string(b)
	start := strings.Index(text, "### What a change replaces")
	require.GreaterOrEqual(t, start, 0, "README has the section of the change table")
	row := regexp.MustCompile("(?m)^\\| ([^|]+) \\| `([^`]+)` \\| ([^|]+) \\| (yes|no) \\| ([01]) \\|$")
	rows := row.FindAllStringSubmatch(text[start:], -1)
	var names []string
	for _, m := range rows {
		names = append(names, strings.TrimSpace(m[1]))
	}
	// Every change the issue names has its row.
	assert.Equal(t, []string{"replica count", "session TTL", "timing budget", "cache node type", "DB instance class",
		"Kubernetes version", "zones", "certificate", "namespace", "hostname"}, names)
	for _, m := range rows {
		name, change, replaces, rolls, exit := m[1], m[2], strings.TrimSpace(m[3]), m[4], m[5]
		t.Run(name, func(t *testing.T) {
			stack := "prod-us-east-1"
			if name == "hostname" {
				stack = "prod-global"
			}
			gotReplaces, gotRolls, gotExit := changeSummary(analyzeChange(t, stack, change))
			assert.Equal(t, replaces, gotReplaces, "README's Replaces of %s", change)
			assert.Equal(t, rolls, gotRolls, "README's Rolls pods of %s", change)
			assert.Equal(t, exit, gotExit, "README's Exit of %s", change)
		})
	}
}

func TestTargetGroupHealthCheckIsUpdatedInPlace(t *testing.T) {
	// README's note under the change table: no health-check field forces
	// a new target group, the listener-facing identity does.
	rule := plan.RuleFor("aws:lb/targetGroup:TargetGroup")
	assert.Equal(t, plan.CarriesTraffic, rule.Carries)
	assert.NotContains(t, rule.ForceNew, "healthCheck")
	for _, p := range rule.ForceNew {
		assert.False(t, strings.HasPrefix(p, "healthCheck"), p)
	}
	assert.Subset(t, rule.ForceNew, []string{"port", "protocol", "targetType", "vpcId"})
}

func TestEveryTypeThatCarriesTrafficOrDataHasACitedReplacementRule(t *testing.T) {
	for _, typ := range []string{
		"aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule",
		"aws:lb/targetGroup:TargetGroup", "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
		"aws:eks/fargateProfile:FargateProfile", "eks:index:Cluster",
		"aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup",
		"aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance", "aws:rds/globalCluster:GlobalCluster",
		"aws:ec2/securityGroup:SecurityGroup", "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service",
		"kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret", "aws:secretsmanager/secret:Secret",
	} {
		rule, ok := plan.ReplacementRules[typ]
		if assert.True(t, ok, "%s has a replacement rule", typ) {
			assert.NotEmpty(t, rule.ForceNew, typ)
			assert.Regexp(t, `terraform-provider-aws|pulumi-kubernetes v4\.32\.0|aws-load-balancer-controller v3\.5\.0|pulumi-eks`, rule.Source, typ)
		}
	}
	// What holds data is data, whatever else.
	for _, typ := range []string{"aws:elasticache/replicationGroup:ReplicationGroup", "aws:rds/cluster:Cluster",
		"aws:rds/globalCluster:GlobalCluster", "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"} {
		assert.Equal(t, plan.CarriesData, plan.ReplacementRules[typ].Carries, typ)
	}
}

func TestChangeAnalysisJudgesEachReplacement(t *testing.T) {
	t.Run("an update in place keeps serving and does not roll pods", func(t *testing.T) {
		r := analyzeChange(t, "prod-us-east-1", "cacheNodeType=cache.r7g.xlarge")
		require.Len(t, r.Changes, 1)
		c := r.Changes[0]
		assert.Equal(t, plan.OpUpdate, c.Op)
		assert.Equal(t, plan.CarriesData, c.Carries)
		assert.Equal(t, []string{"nodeType"}, c.Inputs)
		assert.True(t, c.Safe)
	})
	t.Run("a replaced data store is unsafe", func(t *testing.T) {
		r := analyzeChange(t, "prod-us-east-1", `availabilityZoneIds=["use1-az1","use1-az2","use1-az6"]`)
		var aurora *plan.ResourceChange
		for i, c := range r.Changes {
			if c.Type == "aws:rds/cluster:Cluster" {
				aurora = &r.Changes[i]
			}
		}
		require.NotNil(t, aurora)
		assert.Equal(t, plan.OpReplace, aurora.Op)
		assert.Equal(t, []string{"availabilityZones"}, aurora.Forcing)
		assert.False(t, aurora.Safe)
		assert.Contains(t, aurora.Why, "data is lost")
		assert.Equal(t, plan.ExitUnsafeChange, r.ExitCode())
	})
	t.Run("a replacement propagates to what reads the replaced resource", func(t *testing.T) {
		// An immutable, auto-named ConfigMap is replaced on new data; its
		// new name rolls the Deployments that read it.
		r := analyzeChange(t, "prod-us-east-1", "sessionTtlSeconds=7200")
		rolled := 0
		for _, c := range r.Changes {
			if c.Type == "kubernetes:apps/v1:Deployment" {
				assert.True(t, c.Rolls, c.Name)
				rolled++
			}
		}
		assert.Equal(t, 3, rolled)
	})
}

func TestPlanChangeCommandExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		exit   int
		stdout string
		stderr string
	}{
		{"safe", []string{"--stack", "prod-us-east-1", "--change", "authReplicas=6"}, plan.ExitOK, "every change keeps serving", ""},
		{"unsafe", []string{"--stack", "prod-global", "--change", "authHostname=login.example.org"}, plan.ExitUnsafeChange, "UNSAFE", ""},
		{"not KEY=VALUE", []string{"--stack", "dev", "--change", "authReplicas"}, plan.ExitConfigError, "", "write KEY=VALUE"},
		{"an invalid value", []string{"--stack", "dev", "--change", "authReplicas=1"}, plan.ExitConfigError, "", "auth-platform:authReplicas"},
		{"with --second-run", []string{"--stack", "dev", "--change", "authReplicas=6", "--second-run"}, plan.ExitConfigError, "", "--change goes alone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tc.exit, plan.Main(tc.args, &stdout, &stderr), stderr.String())
			assert.Contains(t, stdout.String(), tc.stdout)
			assert.Contains(t, stderr.String(), tc.stderr)
			if tc.exit == plan.ExitConfigError {
				assert.Empty(t, stdout.String())
			}
		})
	}
}
