package tests

// The LB controller survives its own upgrades and chart bumps (issue 11.7):
// a stable webhook certificate, the chart's CRDs applied by the program at
// the pinned version, and a least-privilege controller container.

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/lbcontroller"
)

const crdType = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"

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
// program applies from the chart's crds.yaml at ChartVersion.
func TestControllerCRDsAreAppliedByTheProgram(t *testing.T) {
	// aws/eks-charts 5239609 stable/aws-load-balancer-controller/crds/crds.yaml.
	want := []string{
		"albtargetcontrolconfigs.elbv2.k8s.aws",
		"globalaccelerators.aga.k8s.aws",
		"ingressclassparams.elbv2.k8s.aws",
		"targetgroupbindings.elbv2.k8s.aws",
	}
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			rel := one(t, rp.res, releaseType, "-lbc")
			assert.Equal(t, true, value(rel.Inputs, "skipCrds"), "Helm must not own the CRDs")
			crds := ofType(rp.res, crdType)
			var names []string
			for _, c := range crds {
				names = append(names, str(t, c, "metadata.name"))
				assert.Contains(t, rel.DependsOn, c.URN, "the release waits for %s", c.Name)
				assert.Equal(t, rel.Provider, c.Provider, "the CRDs go to the release's cluster")
				labels, _ := value(c.Inputs, "metadata.labels").(map[string]interface{})
				assert.Equal(t, lbcontroller.AppVersion, labels["app.kubernetes.io/version"])
				assert.NotEmpty(t, value(c.Inputs, "spec.versions"), "%s carries its schema", c.Name)
			}
			assert.ElementsMatch(t, want, names)

			tgb := one(t, rp.res, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "-tgb")
			assert.Contains(t, tgb.DependsOn, rel.URN, "bindings wait for the controller (and so for its CRDs)")
		})
	}
}

// TestEmbeddedCRDsAreThePinnedChartVersion: the header of crds/crds.yaml
// names the chart version it was taken from, and the TargetGroupBinding
// schema serves the API version the program writes.
func TestEmbeddedCRDsAreThePinnedChartVersion(t *testing.T) {
	text := lbcontroller.CRDsYAML()
	m := regexp.MustCompile(`Load Balancer Controller chart (\d+\.\d+\.\d+)`).FindStringSubmatch(strings.SplitN(text, "\n", 2)[0])
	require.NotNil(t, m, "the first line names the chart version")
	assert.Equal(t, lbcontroller.ChartVersion, m[1], "bump crds/crds.yaml with the chart")

	manifests, err := lbcontroller.CRDManifests()
	require.NoError(t, err)
	require.NotEmpty(t, manifests)
	var served []string
	for _, m := range manifests {
		spec := m["spec"].(map[string]interface{})
		if spec["names"].(map[string]interface{})["kind"] != "TargetGroupBinding" {
			continue
		}
		for _, v := range spec["versions"].([]interface{}) {
			v := v.(map[string]interface{})
			if v["served"] == true {
				served = append(served, spec["group"].(string)+"/"+v["name"].(string))
			}
		}
	}
	assert.Contains(t, served, "elbv2.k8s.aws/v1beta1", "the API version authservice writes")
}
