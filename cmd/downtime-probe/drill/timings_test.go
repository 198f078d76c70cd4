package drill

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
)

const repoRoot = "../../.."

func TestLoadStackTimingReadsTheDevStack(t *testing.T) {
	st, err := LoadStackTiming(repoRoot, "dev")
	require.NoError(t, err)
	// stacks/Pulumi.dev.yaml: "the timing budget keeps its defaults
	// (deregistration 30 s, preStop 60 s, grace 90 s)"; authReplicas: 3.
	assert.Equal(t, 3, st.Replicas)
	assert.Equal(t, 30, st.PropagationSeconds)
	assert.Equal(t, 30, st.DeregistrationDelaySeconds)
	assert.Equal(t, 60, st.PreStopSleepSeconds)
	assert.Equal(t, 90, st.TerminationGracePeriodSeconds)

	_, err = LoadStackTiming(repoRoot, "no-such-stack")
	assert.ErrorContains(t, err, "Pulumi.no-such-stack.yaml")
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// TestDrillMatchesTheDevPlan holds what the drill replays to what the dev
// stack's plan deploys: the Deployment's rollout, the PDB, the target
// group's health check and deregistration delay, the pod's preStop sleep
// and grace period.
func TestDrillMatchesTheDevPlan(t *testing.T) {
	project, err := plan.LoadProject(filepath.Join(repoRoot, "Pulumi.yaml"))
	require.NoError(t, err)
	cfg, secrets, err := plan.LoadStackConfig(filepath.Join(repoRoot, project.StackConfigDir, "Pulumi.dev.yaml"), project)
	require.NoError(t, err)
	doc, err := plan.Plan(project.Name, "dev", cfg, secrets)
	require.NoError(t, err)
	st, err := LoadStackTiming(repoRoot, "dev")
	require.NoError(t, err)

	byType := map[string][]map[string]any{}
	for _, r := range doc.Resources {
		byType[r.Type] = append(byType[r.Type], r.Inputs)
	}
	// One Deployment per zone (the auth pods are pinned per zone); the drill
	// runs their replicas together, with each one's rollout and timings.
	deployments := byType["kubernetes:apps/v1:Deployment"]
	require.NotEmpty(t, deployments)
	total := 0
	for _, dep := range deployments {
		assert.EqualValues(t, MaxSurge, path(dep, "spec", "strategy", "rollingUpdate", "maxSurge"))
		assert.EqualValues(t, MaxUnavailable, path(dep, "spec", "strategy", "rollingUpdate", "maxUnavailable"))
		total += int(path(dep, "spec", "replicas").(float64))
		pod := path(dep, "spec", "template", "spec").(map[string]any)
		assert.EqualValues(t, st.TerminationGracePeriodSeconds, pod["terminationGracePeriodSeconds"])
		container := pod["containers"].([]any)[0].(map[string]any)
		assert.EqualValues(t, st.PreStopSleepSeconds, path(container, "lifecycle", "preStop", "sleep", "seconds"))
		readiness := container["readinessProbe"].(map[string]any)
		assert.EqualValues(t, st.ReadinessPeriodSeconds, readiness["periodSeconds"], "the drill's kubelet probes as often")
		assert.EqualValues(t, st.ReadinessTimeoutSeconds, readiness["timeoutSeconds"])
		assert.EqualValues(t, st.ReadinessFailureThreshold, readiness["failureThreshold"])
		assert.EqualValues(t, 1, readiness["successThreshold"], "one pass makes the pod ready again, as the drill's kubelet does")
		assert.Nil(t, readiness["initialDelaySeconds"], "the drill probes from the start")
		assert.Equal(t, ReadyPath, path(readiness, "httpGet", "path"), "the drill probes the same path")
	}
	assert.Equal(t, st.Replicas, total, "the drill runs as many pods as the zones' Deployments together")

	require.Len(t, byType["kubernetes:policy/v1:PodDisruptionBudget"], 1)
	assert.EqualValues(t, PDBMaxUnavailable, path(byType["kubernetes:policy/v1:PodDisruptionBudget"][0], "spec", "maxUnavailable"))

	require.Len(t, byType["aws:lb/targetGroup:TargetGroup"], 1)
	tg := byType["aws:lb/targetGroup:TargetGroup"][0]
	assert.EqualValues(t, st.DeregistrationDelaySeconds, tg["deregistrationDelay"])
	assert.EqualValues(t, st.HealthCheckIntervalSeconds, path(tg, "healthCheck", "interval"))
	assert.EqualValues(t, st.HealthCheckTimeoutSeconds, path(tg, "healthCheck", "timeout"))
	assert.EqualValues(t, st.UnhealthyThreshold, path(tg, "healthCheck", "unhealthyThreshold"))
	assert.Equal(t, "/health", path(tg, "healthCheck", "path"), "HAProxy checks the same path")
}
