package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/cluster"
)

const (
	profileType = "aws:eks/fargateProfile:FargateProfile"
	eksType     = "eks:index:Cluster"
)

// privateSubnetIDs returns the IDs of the network's private subnets.
func privateSubnetIDs(res *mocks.Result) []string {
	var out []*mocks.Resource
	for _, s := range ofType(res, "aws:ec2/subnet:Subnet") {
		if strings.Contains(s.Name, "-private-") {
			out = append(out, s)
		}
	}
	return ids(out)
}

func TestFargateProfilesRunOnlyOnPrivateSubnets(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			res := rp.res
			private := privateSubnetIDs(res)
			require.NotEmpty(t, private)
			profiles := ofType(res, profileType)
			require.GreaterOrEqual(t, len(profiles), 3)
			for _, p := range profiles {
				subnets := stringList(t, p, "subnetIds")
				if strings.Contains(p.Name, "-fp-auth-") {
					// Pinned to its zone (zones_test.go).
					require.Len(t, subnets, 1, p.Name)
					assert.Contains(t, private, subnets[0], p.Name)
				} else {
					assert.Equal(t, private, sorted(subnets), p.Name)
				}
				assert.False(t, strings.HasPrefix(p.Name, "eks-"), "the eks- prefix is reserved")
			}
		})
	}
}

func TestFargateProfilesFormOneChain(t *testing.T) {
	res := planStack(t, "dev")
	profiles := ofType(res, profileType)
	isProfile := map[string]bool{}
	for _, p := range profiles {
		isProfile[p.URN] = true
	}
	// Each profile waits for at most one other profile, and no two wait for
	// the same: following the edges from the only profile that waits for
	// none must visit all of them.
	next := map[string]string{}
	var head string
	for _, p := range profiles {
		var prev []string
		for _, d := range p.DependsOn {
			if isProfile[d] {
				prev = append(prev, d)
			}
		}
		require.LessOrEqual(t, len(prev), 1, "%s waits for several profiles", p.Name)
		if len(prev) == 0 {
			require.Empty(t, head, "two profiles start a chain: AWS would see concurrent creates")
			head = p.URN
			continue
		}
		require.NotContains(t, next, prev[0], "two profiles wait for the same one")
		next[prev[0]] = p.URN
	}
	var order []string
	for u := head; u != ""; u = next[u] {
		order = append(order, byURN(res)[u].Name)
	}
	// dev's zones in zone-ID order: the mocked account's use1-az1, -az2 and
	// -az4 are us-east-1d, -1e and -1a (cmd/plan/mocks/zones.go).
	assert.Equal(t, []string{"auth-dev-use1-fp-coredns", "auth-dev-use1-fp-lb-controller",
		"auth-dev-use1-fp-auth-us-east-1d", "auth-dev-use1-fp-auth-us-east-1e", "auth-dev-use1-fp-auth-us-east-1a"}, order)
}

func TestFargateProfileSelectors(t *testing.T) {
	res := planStack(t, "dev")
	for _, tc := range []struct {
		suffix, namespace string
		labels            map[string]interface{}
	}{
		{"fp-coredns", "kube-system", map[string]interface{}{"k8s-app": "kube-dns"}},
		{"fp-lb-controller", "kube-system", map[string]interface{}{"app.kubernetes.io/name": "aws-load-balancer-controller"}},
		{"fp-auth-us-east-1a", "auth", map[string]interface{}{"auth-platform/zone": "us-east-1a"}},
		{"fp-auth-us-east-1e", "auth", map[string]interface{}{"auth-platform/zone": "us-east-1e"}},
	} {
		t.Run(tc.suffix, func(t *testing.T) {
			p := one(t, res, profileType, tc.suffix)
			sel := value(p.Inputs, "selectors").([]interface{})
			require.Len(t, sel, 1)
			s := sel[0].(map[string]interface{})
			assert.Equal(t, tc.namespace, s["namespace"])
			if tc.labels == nil {
				assert.Nil(t, s["labels"])
			} else {
				assert.Equal(t, tc.labels, s["labels"])
			}
		})
	}
}

func TestCoreDNSAddonRunsOnFargateAfterItsProfile(t *testing.T) {
	res := planStack(t, "dev")
	addon := one(t, res, "aws:eks/addon:Addon", "-coredns")
	assert.Equal(t, "coredns", str(t, addon, "addonName"))
	assert.Equal(t, "auth-dev-use1", str(t, addon, "clusterName"))
	assert.Equal(t, "OVERWRITE", str(t, addon, "resolveConflictsOnCreate"))
	var values map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(str(t, addon, "configurationValues")), &values))
	assert.Equal(t, "Fargate", values["computeType"])

	profile := one(t, res, profileType, "fp-coredns")
	assert.Contains(t, addon.DependsOn, profile.URN)
}

func TestPodExecutionRoleIsBoundToThisClusterAndRegion(t *testing.T) {
	res := planStack(t, "prod-us-east-1")
	role := one(t, res, "aws:iam/role:Role", "-fargate-pod-exec")
	doc := policyDoc(t, role, "assumeRolePolicy")
	stmt := doc["Statement"].([]interface{})[0].(map[string]interface{})
	assert.Equal(t, []interface{}{cluster.FargatePodsService}, stmt["Principal"].(map[string]interface{})["Service"])
	cond := stmt["Condition"].(map[string]interface{})["ArnLike"].(map[string]interface{})
	assert.Equal(t, []interface{}{"arn:aws:eks:us-east-1:" + mocks.AccountID + ":fargateprofile/auth-prod-us-east-1/*"}, cond["aws:SourceArn"])

	attach := one(t, res, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "-fargate-pod-exec")
	assert.Equal(t, role.ID, str(t, attach, "role"))
	assert.Equal(t, "arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy", str(t, attach, "policyArn"))
	for _, p := range nonEmpty(t, ofType(res, profileType), "Fargate profile") {
		assert.Equal(t, role.Outputs["arn"].StringValue(), str(t, p, "podExecutionRoleArn"), p.Name)
	}
}

func TestEKSClusterIsFargateOnlyWithExplicitSubnets(t *testing.T) {
	res := planStack(t, "prod-us-east-1")
	eks := one(t, res, eksType, "-eks")
	assert.Equal(t, "auth-prod-us-east-1", str(t, eks, "name"))
	assert.Equal(t, true, value(eks.Inputs, "skipDefaultNodeGroup"))
	assert.Nil(t, value(eks.Inputs, "fargate"), "eks' built-in fargate option patches CoreDNS with kubectl")
	assert.Nil(t, value(eks.Inputs, "subnetIds"), "subnets are given by role, never mixed")
	assert.Equal(t, privateSubnetIDs(res), sorted(stringList(t, eks, "privateSubnetIds")))
	assert.Len(t, stringList(t, eks, "publicSubnetIds"), 3)
	assert.Equal(t, one(t, res, "aws:ec2/vpc:Vpc", "-vpc").ID, str(t, eks, "vpcId"))
	assert.Equal(t, "API", str(t, eks, "authenticationMode"))
	assert.Equal(t, true, value(eks.Inputs, "endpointPrivateAccess"))
	assert.ElementsMatch(t, cluster.LogTypes, stringList(t, eks, "enabledClusterLogTypes"))
	key := one(t, res, "aws:kms/key:Key", "-eks-secrets")
	assert.Equal(t, key.Outputs["arn"].StringValue(), str(t, eks, "encryptionConfigKeyArn"))
	assert.Equal(t, one(t, res, "pulumi:providers:aws", "-aws").URN, eks.Providers["aws"],
		"pulumi-eks does not inherit providers; it must be handed the regional one")
}

func TestOIDCProviderAndKubernetesProviderComeFromTheCluster(t *testing.T) {
	res := planStack(t, "dev")
	oidc := one(t, res, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "-oidc")
	assert.Regexp(t, `^https://oidc\.eks\.us-east-1\.amazonaws\.com/id/[0-9A-F]{32}$`, str(t, oidc, "url"))
	assert.Equal(t, []string{"sts.amazonaws.com"}, stringList(t, oidc, "clientIdLists"))

	k8s := one(t, res, "pulumi:providers:kubernetes", "-k8s")
	assert.Equal(t, mocks.Secret, value(k8s.Inputs, "kubeconfig"), "the kubeconfig is a secret")
	kubeconfig, err := cluster.Kubeconfig("auth-dev-use1", "us-east-1", "https://example", "Q0E=", cluster.Signer{})
	require.NoError(t, err)
	assert.Contains(t, kubeconfig, `"--region","us-east-1"`, "the token is requested in the cluster's own region")
	assert.NotContains(t, kubeconfig, "kubectl")
}
