package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/timing"
	"github.com/authplatform/auth-platform/stacks"
)

func TestTimingDefaultsAreTheReferenceNumbers(t *testing.T) {
	tm, vs := timing.Derive(timing.DefaultBudget(), timing.Overrides{})
	require.Empty(t, vs)
	assert.Equal(t, 30, tm.DeregistrationDelaySeconds)
	assert.Equal(t, 60, tm.PreStopSleepSeconds)
	assert.Equal(t, 90, tm.TerminationGracePeriodSeconds)
}

func TestTimingDerivedFromAnyBudgetHoldsItsInvariants(t *testing.T) {
	for _, b := range []timing.Budget{
		{PropagationSeconds: 1, MaxRequestSeconds: 1, ShutdownSeconds: 1},
		{PropagationSeconds: 20, MaxRequestSeconds: 10, ShutdownSeconds: 15},
		{PropagationSeconds: 30, MaxRequestSeconds: 25, ShutdownSeconds: 25},
		{PropagationSeconds: 120, MaxRequestSeconds: 30, ShutdownSeconds: 30}, // NLB-like propagation
		{PropagationSeconds: 10, MaxRequestSeconds: 300, ShutdownSeconds: 5},  // long requests
		{PropagationSeconds: 60, MaxRequestSeconds: 60, ShutdownSeconds: 300}, // slow shutdown
	} {
		tm, vs := timing.Derive(b, timing.Overrides{})
		require.Empty(t, vs, "%+v", b)
		require.NoError(t, tm.Check(), "%+v", b)
		assert.GreaterOrEqual(t, tm.DeregistrationDelaySeconds, b.MaxRequestSeconds, "no request cut by the ALB")
		assert.LessOrEqual(t, tm.DeregistrationDelaySeconds, tm.PreStopSleepSeconds, "drained before SIGTERM")
		assert.GreaterOrEqual(t, tm.PreStopSleepSeconds, b.PropagationSeconds+tm.DeregistrationDelaySeconds)
		assert.Less(t, tm.PreStopSleepSeconds+b.ShutdownSeconds, tm.TerminationGracePeriodSeconds, "SIGKILL after the shutdown")
	}
}

func TestTimingOverrides(t *testing.T) {
	for _, tc := range []struct {
		name      string
		budget    timing.Budget
		overrides timing.Overrides
		field     string // "" when valid
	}{
		{"longer sleep is fine", timing.DefaultBudget(), timing.Overrides{PreStopSleepSeconds: 75}, ""},
		{"longer grace is fine", timing.DefaultBudget(), timing.Overrides{TerminationGracePeriodSeconds: 120}, ""},
		{"all three consistent", timing.DefaultBudget(), timing.Overrides{DeregistrationDelaySeconds: 40, PreStopSleepSeconds: 70, TerminationGracePeriodSeconds: 100}, ""},
		{"a longer delay lengthens the derived sleep", timing.DefaultBudget(), timing.Overrides{DeregistrationDelaySeconds: 61}, ""},
		{"delay above a pinned sleep", timing.DefaultBudget(), timing.Overrides{DeregistrationDelaySeconds: 61, PreStopSleepSeconds: 60}, "PreStopSleepSeconds"},
		{"sleep below the delay", timing.DefaultBudget(), timing.Overrides{PreStopSleepSeconds: 29, DeregistrationDelaySeconds: 30}, "PreStopSleepSeconds"},
		{"sleep below propagation", timing.DefaultBudget(), timing.Overrides{PreStopSleepSeconds: 29, DeregistrationDelaySeconds: 25}, "PreStopSleepSeconds"},
		{"grace equal to sleep plus shutdown", timing.DefaultBudget(), timing.Overrides{TerminationGracePeriodSeconds: 85}, "TerminationGracePeriodSeconds"},
		{"grace below the sleep", timing.DefaultBudget(), timing.Overrides{TerminationGracePeriodSeconds: 30}, "TerminationGracePeriodSeconds"},
		{"delay cuts requests", timing.DefaultBudget(), timing.Overrides{DeregistrationDelaySeconds: 10}, "DeregistrationDelaySeconds"},
		{"delay beyond the ELB range", timing.DefaultBudget(), timing.Overrides{DeregistrationDelaySeconds: 4000, PreStopSleepSeconds: 4100, TerminationGracePeriodSeconds: 4200}, "DeregistrationDelaySeconds"},
		{"grace beyond 15 minutes", timing.Budget{PropagationSeconds: 600, MaxRequestSeconds: 300, ShutdownSeconds: 60}, timing.Overrides{}, "PropagationSeconds"},
		{"zero propagation", timing.Budget{MaxRequestSeconds: 25, ShutdownSeconds: 25}, timing.Overrides{}, "PropagationSeconds"},
		{"negative shutdown", timing.Budget{PropagationSeconds: 30, MaxRequestSeconds: 25, ShutdownSeconds: -1}, timing.Overrides{}, "ShutdownSeconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, vs := timing.Derive(tc.budget, tc.overrides)
			if tc.field == "" {
				require.Empty(t, vs)
				require.NoError(t, tm.Check())
				return
			}
			var fields []string
			for _, v := range vs {
				fields = append(fields, v.Field)
				assert.NotEmpty(t, v.Fix)
			}
			assert.Contains(t, fields, tc.field)
		})
	}
}

func TestTimingOfEveryShippedStackHoldsItsInvariants(t *testing.T) {
	for _, stack := range stackFiles(t) {
		raw, _ := stackConfig(t, stack)
		cfg, err := stacks.Load(project, stack, stacks.MapSource(raw))
		require.NoError(t, err, stack)
		assert.NoError(t, cfg.Service.Timing.Check(), stack)
	}
}

func TestFargateSizes(t *testing.T) {
	for _, tc := range []struct {
		size          authservice.FargateSize
		cpu, mem, gml string
		wantError     string
	}{
		{authservice.FargateSize{VCPU: 0.25, MemoryGiB: 0.5}, "250m", "256Mi", "192MiB", ""},
		{authservice.FargateSize{VCPU: 0.5, MemoryGiB: 1}, "500m", "768Mi", "576MiB", ""},
		{authservice.FargateSize{VCPU: 1, MemoryGiB: 2}, "1000m", "1792Mi", "1344MiB", ""},
		{authservice.FargateSize{VCPU: 4, MemoryGiB: 30}, "4000m", "30464Mi", "22848MiB", ""},
		{authservice.FargateSize{VCPU: 0.5, MemoryGiB: 0.5}, "", "", "", "does not go with 0.5 vCPU"},
		{authservice.FargateSize{VCPU: 1, MemoryGiB: 1.5}, "", "", "", "does not go with 1 vCPU"},
		{authservice.FargateSize{VCPU: 3, MemoryGiB: 8}, "", "", "", "3 vCPU is not a Fargate size"},
		{authservice.FargateSize{VCPU: 2, MemoryGiB: 17}, "", "", "", "(4 to 16 GiB)"},
	} {
		err := tc.size.Check()
		if tc.wantError != "" {
			require.Error(t, err, "%+v", tc.size)
			assert.Contains(t, err.Error(), tc.wantError)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, tc.cpu, tc.size.CPU())
		assert.Equal(t, tc.mem, tc.size.Memory())
		assert.Equal(t, tc.gml, tc.size.GoMemLimit(), "GOMEMLIMIT is three quarters of the container's limit")
	}
}

func TestServiceConfigurationMistakesNameTheKey(t *testing.T) {
	const ns = "auth-platform:"
	prod := dataTierProd
	for _, tc := range []struct {
		name      string
		base      map[string]string
		overrides map[string]string
		key       string
		message   string
	}{
		{"image latest", validBase, map[string]string{ns + "authImage": "ghcr.io/authplatform/auth-service:latest"}, "authImage", ":latest lets pods"},
		{"image untagged", validBase, map[string]string{ns + "authImage": "ghcr.io/authplatform/auth-service"}, "authImage", "unpinned image"},
		{"image malformed", validBase, map[string]string{ns + "authImage": "ghcr.io/Auth Service:1"}, "authImage", "not an image reference"},
		{"one replica", validBase, map[string]string{ns + "authReplicas": "1"}, "authReplicas", "at least 2 pods"},
		{"too many replicas", validBase, map[string]string{ns + "authReplicas": "500"}, "authReplicas", "more than 50 pods"},
		{"fargate size", validBase, map[string]string{ns + "authFargateCpu": "0.5", ns + "authFargateMemoryGb": "8"}, "authFargateMemoryGb", "does not go with 0.5 vCPU"},
		{"fargate cpu", validBase, map[string]string{ns + "authFargateCpu": "3"}, "authFargateCpu", "not a Fargate vCPU size"},
		{"session ttl", validBase, map[string]string{ns + "sessionTtlSeconds": "10"}, "sessionTtlSeconds", "shorter than a minute"},
		{"delay above sleep", validBase, map[string]string{ns + "deregistrationDelaySeconds": "90", ns + "preStopSleepSeconds": "60"}, "preStopSleepSeconds", "must not exceed the preStop sleep"},
		{"sleep too short", validBase, map[string]string{ns + "preStopSleepSeconds": "20"}, "preStopSleepSeconds", "ALB may still send new requests"},
		{"grace too short", validBase, map[string]string{ns + "terminationGracePeriodSeconds": "60"}, "terminationGracePeriodSeconds", "SIGKILL cuts the shutdown short"},
		{"delay cuts requests", validBase, map[string]string{ns + "deregistrationDelaySeconds": "5"}, "deregistrationDelaySeconds", "cut requests still in flight"},
		{"no propagation", validBase, map[string]string{ns + "drainPropagationSeconds": "0"}, "drainPropagationSeconds", "allowance must be positive"},
		{"certificate malformed", validBase, map[string]string{ns + "certificateArn": "my-cert"}, "certificateArn", "not an ACM certificate ARN"},
		{"certificate other region", validBase, map[string]string{ns + "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f6d3c0e-8a54-4c2b-9a5e-2f1e6b7c9d10"}, "certificateArn", "only uses certificates of its own region"},
		{"prod over plain HTTP", prod, map[string]string{ns + "certificateArn": ""}, "certificateArn", "must not travel over plain HTTP"},
		{"access logs bucket", validBase, map[string]string{ns + "albAccessLogsBucket": "My_Bucket"}, "albAccessLogsBucket", "not an S3 bucket name"},
		{"alarm email", validBase, map[string]string{ns + "alarmEmail": "oncall"}, "alarmEmail", "not an e-mail address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, withConfig(tc.base, tc.overrides), ns+tc.key, tc.message)
		})
	}
}
