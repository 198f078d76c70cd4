package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
)

// A small graph whose answers are worked out by hand: a VPC (20 s), a
// subnet (8 s), an EKS cluster (600 s) and a replication group (900 s) that
// also waits for the cluster, which no AWS ordering requires; an alarm
// component's child waits for the group through its component.
func TestTimelineOfAKnownGraph(t *testing.T) {
	res := []plan.Resource{
		{URN: "vpc", Type: "aws:ec2/vpc:Vpc", ID: "vpc-1"},
		{URN: "subnet", Type: "aws:ec2/subnet:Subnet", ID: "subnet-1", Dependencies: []string{"vpc"}},
		{URN: "eks", Type: "eks:index:Cluster", Dependencies: []string{"subnet"}},
		{URN: "rg", Type: "aws:elasticache/replicationGroup:ReplicationGroup", ID: "rg", Dependencies: []string{"eks", "subnet"}},
		{URN: "cache", Type: "authplatform:cache:Cache"},
		{URN: "rg-child", Type: "aws:elasticache/parameterGroup:ParameterGroup", ID: "pg", Parent: "cache", Dependencies: []string{"rg"}},
		{URN: "alarm", Type: "aws:cloudwatch/metricAlarm:MetricAlarm", ID: "a", Dependencies: []string{"cache"}},
	}
	tl, err := plan.ComputeTimeline(res)
	require.NoError(t, err)

	// 20 + 8 + 600 + 900 + 5 (parameter group) + 2 (alarm).
	assert.Equal(t, 1535, tl.CriticalPathSeconds)
	assert.Equal(t, []string{"vpc", "subnet", "eks", "rg", "rg-child", "alarm"}, tl.CriticalPath)
	assert.Equal(t, 20+8+600+900+5+2, tl.SumSeconds)
	// Without the group's wait for the cluster (no rule) and the alarm's wait
	// for the cache (no rule): the group right after the subnet, then the
	// parameter group (a group's own kind: covered).
	assert.Equal(t, 20+8+900+5, tl.LowerBoundSeconds)
	assert.Equal(t, []string{"vpc", "subnet", "rg", "rg-child"}, tl.LowerBoundPath)
	assert.ElementsMatch(t, []plan.Edge{{From: "rg", To: "eks"}, {From: "alarm", To: "rg-child"}}, tl.Unrequired)

	// Destroy runs the graph backwards with delete times: the alarm (2), the
	// parameter group (5), the group (600), the cluster (420), the subnet
	// (10), the VPC (10).
	assert.Equal(t, 2+5+600+420+10+10, tl.Destroy.CriticalPathSeconds)
	assert.Equal(t, []string{"alarm", "rg-child", "rg", "eks", "subnet", "vpc"}, tl.Destroy.CriticalPath)

	starts := map[string]int{}
	for _, s := range tl.Steps {
		starts[s.URN] = s.Start
	}
	assert.Equal(t, map[string]int{"vpc": 0, "subnet": 20, "eks": 28, "rg": 628, "rg-child": 1528, "alarm": 1533}, starts)

	_, err = plan.ComputeTimeline(append(res, plan.Resource{URN: "x", Type: "aws:ec2/eip:Eip", ID: "e", Dependencies: []string{"missing"}}))
	assert.ErrorContains(t, err, "missing")
}

// Every shipped stack's first deploy is within 15 % of what the orderings
// AWS and Kubernetes impose allow, and the JSON carries the timeline.
func TestShippedStacksDeployNearTheLowerBound(t *testing.T) {
	stacksList := stackFiles(t)
	require.NotEmpty(t, stacksList)
	for _, stack := range stacksList {
		t.Run(stack, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := plan.Main([]string{"--stack", stack, "--timeline", "--json"}, &out, &errb)
			require.Equal(t, plan.ExitOK, code, errb.String())
			var doc struct {
				Resources []struct {
					URN          string   `json:"urn"`
					DependsOn    []string `json:"dependsOn"`
					Dependencies []string `json:"dependencies"`
				} `json:"resources"`
				Timeline map[string]json.RawMessage `json:"timeline"`
			}
			require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
			for _, k := range []string{"criticalPathSeconds", "sumSeconds", "lowerBoundSeconds", "criticalPath"} {
				assert.Contains(t, doc.Timeline, k)
			}
			var tl plan.Timeline
			raw, _ := json.Marshal(doc.Timeline)
			require.NoError(t, json.Unmarshal(raw, &tl))
			require.Positive(t, tl.LowerBoundSeconds)
			assert.LessOrEqual(t, float64(tl.CriticalPathSeconds), 1.15*float64(tl.LowerBoundSeconds),
				"critical path %v", tl.CriticalPath)
			assert.GreaterOrEqual(t, tl.CriticalPathSeconds, tl.LowerBoundSeconds)
			assert.Greater(t, tl.SumSeconds, tl.CriticalPathSeconds, "the engine runs independent work in parallel")
			assert.Greater(t, tl.CriticalPathSeconds, 15*60, "a first deploy with EKS, Aurora and ElastiCache takes well over 15 minutes")

			urns := map[string]bool{}
			require.NotEmpty(t, doc.Resources)
			for _, r := range doc.Resources {
				urns[r.URN] = true
				assert.Subset(t, r.Dependencies, r.DependsOn, "%s: dependencies include the explicit ones", r.URN)
			}
			require.NotEmpty(t, tl.CriticalPath)
			for _, u := range tl.CriticalPath {
				assert.True(t, urns[u], "critical path names %s, which the plan lacks", u)
			}
		})
	}
}

// Dependencies from inputs are recorded: the Deployment waits for its
// ConfigMap (envFrom) without an explicit DependsOn on it.
func TestPlanRecordsDependenciesFromInputs(t *testing.T) {
	cfg, secrets := stackConfig(t, "dev")
	doc, err := plan.Plan(project, "dev", cfg, secrets)
	require.NoError(t, err)
	var deployment, configMap *plan.Resource
	for i, r := range doc.Resources {
		switch r.Type {
		case deploymentType:
			deployment = &doc.Resources[i]
		case "kubernetes:core/v1:ConfigMap":
			if strings.HasSuffix(r.Name, "-auth-config") {
				configMap = &doc.Resources[i]
			}
		}
	}
	require.NotNil(t, deployment)
	require.NotNil(t, configMap)
	assert.NotContains(t, deployment.DependsOn, configMap.URN)
	assert.Contains(t, deployment.Dependencies, configMap.URN)
	found := false
	for _, urns := range deployment.PropertyDependencies {
		for _, u := range urns {
			found = found || u == configMap.URN
		}
	}
	assert.True(t, found, "the ConfigMap dependency comes from an input")
}

// Every duration and every ordering says where it comes from.
func TestTimelineTablesCiteTheirSources(t *testing.T) {
	require.NotEmpty(t, plan.Durations)
	for typ, d := range plan.Durations {
		assert.NotEmpty(t, d.Source, typ)
		assert.GreaterOrEqual(t, d.Create, 0, typ)
	}
	require.NotEmpty(t, plan.Orderings)
	seen := map[[2]string]bool{}
	for _, o := range plan.Orderings {
		assert.NotEmpty(t, o.Reason, "%s <- %s", o.Dependent, o.Dependency)
		key := [2]string{o.Dependent, o.Dependency}
		assert.False(t, seen[key], "rule %v listed twice", key)
		seen[key] = true
	}
	// Alarms name their metrics' dimensions; CloudWatch needs nothing to
	// exist first.
	_, required := plan.Required("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:elasticache/replicationGroup:ReplicationGroup")
	assert.False(t, required)
	_, required = plan.Required("aws:eks/fargateProfile:FargateProfile", "aws:eks/fargateProfile:FargateProfile")
	assert.True(t, required, "EKS changes one profile at a time")
}

// The pictures in stacks/diagrams are the current plans' (README embeds
// them); the DOT shows the request path and what may talk to what.
func TestDiagramsAreCurrent(t *testing.T) {
	for _, stack := range []string{"dev", "prod-global"} {
		t.Run(stack, func(t *testing.T) {
			cfg, secrets := stackConfig(t, stack)
			doc, err := plan.Plan(project, stack, cfg, secrets)
			require.NoError(t, err)
			dot := plan.Diagram(doc)
			committed, err := os.ReadFile(filepath.Join(repoRoot(t), "stacks", "diagrams", stack+".dot"))
			require.NoError(t, err)
			assert.Equal(t, string(committed), dot, "run: go run . plan --stack %s --diagram --svg stacks/diagrams/%s.svg > stacks/diagrams/%s.dot", stack, stack, stack)
			for _, want := range []string{"label=\"HTTP(S)\"", "registers pod IPs", "label=\":8080\"", "may connect :6379", "may connect :5432", "0.0.0.0/0 :80"} {
				assert.Contains(t, dot, want)
			}
			assert.Equal(t, strings.Count(dot, "{"), strings.Count(dot, "}"), "balanced subgraphs")
			_, err = os.Stat(filepath.Join(repoRoot(t), "stacks", "diagrams", stack+".svg"))
			assert.NoError(t, err, "the rendered picture README embeds")
		})
	}
}

// README's table of measured deploy times is the plan's.
func TestREADMEStatesTheComputedTimeline(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	readme := string(b)
	human := func(s int) string { return fmt.Sprintf("%d min %02d s", s/60, s%60) }
	for _, stack := range stackFiles(t) {
		cfg, secrets := stackConfig(t, stack)
		doc, err := plan.Plan(project, stack, cfg, secrets)
		require.NoError(t, err)
		tl, err := plan.ComputeTimeline(doc.Resources)
		require.NoError(t, err)
		row := fmt.Sprintf("| `%s` | %s | %s | %s | %s |", stack,
			human(tl.CriticalPathSeconds), human(tl.LowerBoundSeconds), human(tl.SumSeconds), human(tl.Destroy.CriticalPathSeconds))
		assert.Contains(t, readme, row, "README's timeline row for %s", stack)
	}
}
