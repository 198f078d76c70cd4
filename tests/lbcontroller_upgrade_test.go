package tests

// The LB controller survives its own upgrades and chart bumps (issue 11.7):
// a stable webhook certificate, the chart's CRDs applied by the program at
// the pinned version, and a least-privilege controller container.

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/lbcontroller"
)

const crdFileType = "kubernetes:yaml/v2:ConfigFile"

// TestControllerUpgradesKeepTheWebhookCertificate: the chart generates a
// new CA and caBundle on every render unless keepTLSSecret reuses the
// Secret (aws/eks-charts stable/aws-load-balancer-controller
// templates/_helpers.tpl, webhookCerts; values.yaml default false). With
// the Fail webhooks, a new certificate refuses pods until the pods reload.
func TestControllerUpgradesKeepTheWebhookCertificate(t *testing.T) {
	for _, rp := range regionPlans(t) {
		rel := one(t, rp.res, releaseType, "-lbc")
		assert.Equal(t, true, value(rel.Inputs, "values.keepTLSSecret"), rp.name)
		assert.Equal(t, "Fail", value(rel.Inputs, "values.podMutatorWebhookConfig.failurePolicy"),
			"%s: why the certificate must not change under running pods", rp.name)
	}
}

// TestControllerContainerIsLeastPrivilege: all capabilities dropped and the
// runtime's default seccomp profile, on top of the chart's non-root,
// read-only defaults (values.yaml at 3.5.0: securityContext
// readOnlyRootFilesystem, runAsNonRoot, allowPrivilegeEscalation false;
// capabilities commented out; no seccompProfile).
func TestControllerContainerIsLeastPrivilege(t *testing.T) {
	for _, rp := range regionPlans(t) {
		rel := one(t, rp.res, releaseType, "-lbc")
		sc, ok := value(rel.Inputs, "values.securityContext").(map[string]interface{})
		require.True(t, ok, "%s: securityContext values", rp.name)
		assert.Equal(t, map[string]interface{}{"drop": []interface{}{"ALL"}}, sc["capabilities"], rp.name)
		assert.Equal(t, map[string]interface{}{"type": "RuntimeDefault"}, sc["seccompProfile"], rp.name)
		assert.Equal(t, false, sc["allowPrivilegeEscalation"], rp.name)
		assert.Equal(t, true, sc["runAsNonRoot"], rp.name)
		assert.Equal(t, true, sc["readOnlyRootFilesystem"], rp.name)
		assert.Equal(t, map[string]interface{}{"type": "RuntimeDefault"},
			value(rel.Inputs, "values.podSecurityContext.seccompProfile"), rp.name)
		assert.Equal(t, float64(65534), value(rel.Inputs, "values.podSecurityContext.fsGroup"),
			"%s: the chart's default fsGroup stays", rp.name)
	}
}

// TestControllerCRDsAreAppliedByTheProgram: Helm installs crds/ once and
// never upgrades it, so the release skips them and depends on the CRDs the
// program applies from the controller's manifest at the pinned version.
func TestControllerCRDsAreAppliedByTheProgram(t *testing.T) {
	// The chart's crds/crds.yaml is the controller repository's
	// helm/aws-load-balancer-controller/crds/crds.yaml at the release tag.
	const want = "https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v3.5.0/helm/aws-load-balancer-controller/crds/crds.yaml"
	assert.Equal(t, "v"+lbcontroller.ChartVersion, lbcontroller.AppVersion, "chart 3.x ships the controller of the same version")
	plans := regionPlans(t)
	require.NotEmpty(t, plans)
	for _, rp := range plans {
		t.Run(rp.name, func(t *testing.T) {
			rel := one(t, rp.res, releaseType, "-lbc")
			assert.Equal(t, true, value(rel.Inputs, "skipCrds"), "Helm must not own the CRDs")
			files := ofType(rp.res, crdFileType)
			require.Len(t, files, 1)
			crds := files[0]
			assert.Equal(t, want, str(t, crds, "file"))
			assert.Contains(t, rel.DependsOn, crds.URN, "the release waits for the CRDs")
			assert.Equal(t, rel.Parent, crds.Parent)
			assert.Equal(t, rel.Providers["kubernetes"], crds.Providers["kubernetes"], "the CRDs go to the release's cluster")
			tgb := one(t, rp.res, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "-tgb")
			assert.Contains(t, tgb.DependsOn, rel.URN, "bindings wait for the controller (and so for its CRDs)")
		})
	}
}
