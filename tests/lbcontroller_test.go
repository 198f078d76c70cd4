package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/lbcontroller"
)

const releaseType = "kubernetes:helm.sh/v3:Release"

func TestControllerHelmValuesCarryThisStacksRegionAndVPC(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			res := rp.res
			cfg := map[string]string{"aws:region": rp.cfg.Region}
			rel := one(t, res, releaseType, "-lbc")
			vpcs := ofType(res, "aws:ec2/vpc:Vpc")
			require.Len(t, vpcs, 1)

			assert.Equal(t, cfg["aws:region"], str(t, rel, "values.region"))
			assert.Equal(t, vpcs[0].ID, str(t, rel, "values.vpcId"))
			eks := one(t, res, eksType, "-eks")
			assert.Equal(t, str(t, eks, "name"), str(t, rel, "values.clusterName"))
			assert.Equal(t, "ip", str(t, rel, "values.defaultTargetType"))
			assert.Equal(t, float64(2), value(rel.Inputs, "values.replicaCount"))
			assert.Equal(t, float64(1), value(rel.Inputs, "values.podDisruptionBudget.maxUnavailable"))
			// A chart bump is deliberate: the IAM policy (policy.go) and the
			// CRDs move with it, so the version is stated here too.
			assert.Equal(t, "3.6.2", str(t, rel, "version"))
			assert.Equal(t, "aws-load-balancer-controller", str(t, rel, "chart"))
			// The chart repository of the controller's installation guide.
			assert.Equal(t, "https://aws.github.io/eks-charts", str(t, rel, "repositoryOpts.repo"))
			assert.Equal(t, "kube-system", str(t, rel, "namespace"))

			role := one(t, res, "aws:iam/role:Role", "-lbc")
			assert.Equal(t, role.Outputs["arn"].StringValue(),
				value(rel.Inputs, "values.serviceAccount.annotations").(map[string]interface{})["eks.amazonaws.com/role-arn"])
			assert.Equal(t, true, value(rel.Inputs, "values.serviceAccount.create"))
			// The name the IRSA trust below names.
			assert.Equal(t, "aws-load-balancer-controller", str(t, rel, "values.serviceAccount.name"))
			assert.Equal(t, one(t, res, "pulumi:providers:kubernetes", "-k8s").URN, rel.Provider)
		})
	}
}

func TestControllerIRSATrustNamesItsServiceAccount(t *testing.T) {
	res := planStack(t, "dev")
	role := one(t, res, "aws:iam/role:Role", "-lbc")
	oidc := one(t, res, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "-oidc")
	host := iamdoc.IssuerHost(str(t, oidc, "url"))

	doc := policyDoc(t, role, "assumeRolePolicy")
	stmts := doc["Statement"].([]interface{})
	require.Len(t, stmts, 1)
	stmt := stmts[0].(map[string]interface{})
	assert.Equal(t, []interface{}{"sts:AssumeRoleWithWebIdentity"}, stmt["Action"])
	assert.Equal(t, []interface{}{oidc.Outputs["arn"].StringValue()}, stmt["Principal"].(map[string]interface{})["Federated"])
	eq := stmt["Condition"].(map[string]interface{})["StringEquals"].(map[string]interface{})
	assert.Equal(t, []interface{}{"system:serviceaccount:kube-system:aws-load-balancer-controller"}, eq[host+":sub"])
	assert.Equal(t, []interface{}{"sts.amazonaws.com"}, eq[host+":aud"])
	assert.Len(t, eq, 2, "no wildcard or extra subjects")
}

func TestControllerPolicyMatchesTheInstalledVersion(t *testing.T) {
	doc := lbcontroller.Policy("aws")
	// Upstream docs/install/iam_policy.json at v3.6.2 (as at v3.5.0): 16
	// statements, 80 distinct actions. A chart bump without a policy update
	// fails here and in TestControllerPolicyIsTheModulesIAMPolicy.
	assert.Equal(t, "3.6.2", lbcontroller.ChartVersion)
	assert.Len(t, doc.Statement, 16)
	assert.Len(t, doc.Actions(), 80)
	for _, required := range []string{
		// Without these the controller stops reconciling or cannot create
		// load balancers (the v2.9 and v2.10 upgrade outages).
		"elasticloadbalancing:DescribeListenerAttributes",
		"ec2:GetSecurityGroupsForVpc",
		// What TargetGroupBinding needs.
		"elasticloadbalancing:RegisterTargets",
		"elasticloadbalancing:DeregisterTargets",
		"elasticloadbalancing:ModifyTargetGroupAttributes",
		"ec2:AuthorizeSecurityGroupIngress",
	} {
		assert.Contains(t, doc.Actions(), required)
	}
	gov, err := lbcontroller.Policy("aws-us-gov").JSON()
	require.NoError(t, err)
	assert.NotContains(t, gov, "arn:aws:", "ARNs follow the partition")

	res := planStack(t, "dev")
	policy := one(t, res, "aws:iam/policy:Policy", "-lbc")
	assert.JSONEq(t, doc.MustJSON(), str(t, policy, "policy"))
	attach := one(t, res, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "-lbc")
	assert.Equal(t, policy.Outputs["arn"].StringValue(), str(t, attach, "policyArn"))
	assert.Equal(t, one(t, res, "aws:iam/role:Role", "-lbc").ID, str(t, attach, "role"))
}

func TestControllerReleaseWaitsForItsProfileDNSAndPolicy(t *testing.T) {
	res := planStack(t, "dev")
	rel := one(t, res, releaseType, "-lbc")
	for _, dep := range []*mocks.Resource{
		one(t, res, profileType, "fp-lb-controller"),
		one(t, res, "aws:eks/addon:Addon", "-coredns"),
		one(t, res, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "-lbc"),
	} {
		assert.Contains(t, rel.DependsOn, dep.URN)
	}
	// The profile must select the pods the chart creates.
	labels := value(one(t, res, profileType, "fp-lb-controller").Inputs, "selectors").([]interface{})[0].(map[string]interface{})["labels"]
	assert.Equal(t, map[string]interface{}{"app.kubernetes.io/name": lbcontroller.ChartName}, labels)
}
