package tests

// Issue 24 item 2: replacing a zone's Fargate profile keeps serving. The
// zone's pod template names its profile (eks.amazonaws.com/fargate-profile),
// profiles are auto-named, so a new profile rolls the zone's Deployment
// onto it before Pulumi deletes the old one with whatever still runs there.

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/authservice"
)

const typeProfile = "aws:eks/fargateProfile:FargateProfile"

func TestZonePodsNameTheirFargateProfile(t *testing.T) {
	for _, stack := range stackFiles(t) {
		t.Run(stack, func(t *testing.T) {
			res := planStack(t, stack)
			deployments := ofType(res, typeZoneDeploy)
			require.NotEmpty(t, deployments)
			for _, d := range deployments {
				zone := strings.TrimPrefix(str(t, d, "metadata.name"), authservice.Name+"-")
				var profile *mocks.Resource
				for _, p := range ofType(res, typeProfile) {
					if strings.HasSuffix(p.Name, "-fp-"+authservice.ProfileName(zone)) && containsURN(d.Dependencies, p.URN) {
						profile = p
					}
				}
				require.NotNil(t, profile, "%s has its zone's profile", d.Name)
				assert.Nil(t, value(profile.Inputs, "fargateProfileName"), "profiles are auto-named: a replacement is created first")
				assert.False(t, profile.Options.DeleteBeforeReplace)
				labels, _ := value(d.Inputs, "spec.template.metadata.labels").(map[string]interface{})
				name := value(profile.Outputs, "fargateProfileName")
				assert.Equal(t, name, labels[authservice.FargateProfileLabel], "%s's pods name their profile", d.Name)
				assert.LessOrEqual(t, len(name.(string)), 63, "a label value has at most 63 characters")
				selector, _ := value(d.Inputs, "spec.selector.matchLabels").(map[string]interface{})
				assert.NotContains(t, selector, authservice.FargateProfileLabel, "the selector is immutable: the label is on the pods only")
				assert.Contains(t, d.PropertyDependencies["spec"], profile.URN, "the pod template reads the profile")
			}
		})
	}
}

func TestZoneProfileReplacementRollsTheZoneFirst(t *testing.T) {
	zoneA := func(r *mocks.Resource) bool {
		return r.Type == typeProfile && strings.HasSuffix(r.Name, "-fp-auth-us-east-1a")
	}
	r := analyzeReplace(t, "prod-us-east-1", zoneA)
	profiles := changesOfType(r, typeProfile)
	require.Len(t, profiles, 1, "only zone a's profile")
	assert.Equal(t, plan.OpReplace, profiles[0].Op)
	assert.False(t, profiles[0].DeleteFirst)
	assert.True(t, profiles[0].Safe, profiles[0].Why)
	deployments := changesOfType(r, typeZoneDeploy)
	require.Len(t, deployments, 1, "only zone a's pods move")
	assert.True(t, strings.HasSuffix(deployments[0].Name, "-us-east-1a"))
	assert.True(t, deployments[0].Rolls)
	assert.Empty(t, changesOfType(r, typeBinding))
	assert.Equal(t, plan.ExitOK, r.ExitCode(), "%v", r.Unsafe())

	// Every zone at once (a new pod execution role, say): every zone rolls
	// onto its new profile; the PDB limits the rollouts' evictions as ever.
	all := analyzeReplace(t, "prod-us-east-1", func(r *mocks.Resource) bool {
		return r.Type == typeProfile && strings.Contains(r.Name, "-fp-auth-")
	})
	for _, d := range changesOfType(all, typeZoneDeploy) {
		assert.True(t, d.Rolls, d.Name)
	}
	assert.Len(t, changesOfType(all, typeZoneDeploy), 3)
	assert.Equal(t, plan.ExitOK, all.ExitCode(), "%v", all.Unsafe())
}

func TestKubeSystemProfileReplacementIsReportedUnsafe(t *testing.T) {
	// CoreDNS (an EKS add-on) and the controller (a Helm release) have no
	// pod template the program rolls: EKS deletes their pods with the old
	// profile, so the analysis says so.
	for _, suffix := range []string{"-fp-coredns", "-fp-lb-controller"} {
		t.Run(suffix, func(t *testing.T) {
			r := analyzeReplace(t, "prod-us-east-1", func(r *mocks.Resource) bool {
				return r.Type == typeProfile && strings.HasSuffix(r.Name, suffix)
			})
			profiles := changesOfType(r, typeProfile)
			require.Len(t, profiles, 1)
			assert.False(t, profiles[0].Safe)
			assert.Contains(t, profiles[0].Why, "deleted with it")
			assert.Equal(t, plan.ExitUnsafeChange, r.ExitCode())
		})
	}
}
