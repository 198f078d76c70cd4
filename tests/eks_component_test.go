package tests

// What pulumi-eks v2.8.1 creates on a Fargate-only cluster (issue 11.2):
// the program cuts what its arguments allow, and the plan lists the rest,
// which the program never registers, from a model of pulumi-eks' source.

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

func remoteChildTypes(r *mocks.Resource) map[string][]string {
	out := map[string][]string{}
	for _, c := range r.RemoteChildren {
		out[c.Type] = append(out[c.Type], c.Name)
	}
	return out
}

// TestEKSComponentCreatesNoNodeRoleOrIdleAddons: an empty instanceRoles
// list stops pulumi-eks from creating its default EC2 instance role and
// that role's EC2_LINUX access entry (v2.8.1 cluster.ts: `if
// (args.instanceRoles)` comes before the default role), and EKS' kube-proxy
// and aws-node DaemonSets, which never get a pod on Fargate, are removed.
func TestEKSComponentCreatesNoNodeRoleOrIdleAddons(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			eks := one(t, rp.res, eksType, "-eks")
			assert.Equal(t, []interface{}{}, value(eks.Inputs, "instanceRoles"), "given, and empty")
			assert.ElementsMatch(t, []string{"kube-proxy", "vpc-cni"}, stringList(t, eks, "defaultAddonsToRemove"))
			assert.NotContains(t, stringList(t, eks, "defaultAddonsToRemove"), "coredns", "CoreDNS becomes the managed addon")

			children := remoteChildTypes(eks)
			require.NotEmpty(t, children, "the plan lists what the component creates")
			assert.NotContains(t, children, "aws:eks/accessEntry:AccessEntry", "no EC2_LINUX access entry")
			for _, n := range children["aws:iam/role:Role"] {
				assert.NotContains(t, n, "instanceRole", "no EC2 instance role")
			}
		})
	}
}

// TestEKSComponentChildrenModel: the model follows pulumi-eks v2.8.1 for
// the arguments the program passes and for the defaults it avoids, so a
// reverted argument shows up in the plan.
func TestEKSComponentChildrenModel(t *testing.T) {
	eks := one(t, planStack(t, "dev"), eksType, "-eks")
	n := eks.Name
	got := remoteChildTypes(eks)
	// v2.8.1 nodejs/eks/cluster.ts createCore (eksRole, cluster security
	// group and its egress rule, the aws.eks.Cluster, the eks-k8s provider)
	// and securitygroup.ts (the node security group and five rules, made
	// whatever the arguments), Cluster (the exported provider).
	assert.Equal(t, []string{n + "-eksRole-role"}, got["aws:iam/role:Role"])
	assert.Equal(t, []string{n + "-eksCluster"}, got["aws:eks/cluster:Cluster"])
	assert.ElementsMatch(t, []string{n + "-eksClusterSecurityGroup", n + "-nodeSecurityGroup"}, got["aws:ec2/securityGroup:SecurityGroup"])
	assert.Len(t, got["aws:ec2/securityGroupRule:SecurityGroupRule"], 6)
	assert.ElementsMatch(t, []string{n + "-eks-k8s", n + "-provider"}, got["pulumi:providers:kubernetes"])
	// Asked not to: no aws-auth ConfigMap (API mode), no VPC CNI resource,
	// no OIDC provider (the program makes its own).
	assert.NotContains(t, got, "kubernetes:core/v1:ConfigMap")
	assert.NotContains(t, got, "eks:index:VpcCni")
	assert.NotContains(t, got, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")

	// Without instanceRoles the model shows the default role, its three
	// worker policies and its access entry: what the argument prevents.
	in := eks.Inputs.Copy()
	delete(in, "instanceRoles")
	withDefault := remoteChildTypes(&mocks.Resource{RemoteChildren: mocks.EKSClusterChildren(n, in)})
	assert.Contains(t, withDefault["aws:iam/role:Role"], n+"-instanceRole-role")
	assert.Equal(t, []string{n + "-defaultNodeGroupInstanceRole"}, withDefault["aws:eks/accessEntry:AccessEntry"])
	assert.Len(t, withDefault["aws:iam/rolePolicyAttachment:RolePolicyAttachment"], 4)

	// Access entries passed to the component: one entry each, one
	// association per access policy, in a stable order.
	in = eks.Inputs.Copy()
	in["accessEntries"] = resource.NewObjectProperty(resource.PropertyMap{
		"viewer": resource.NewObjectProperty(resource.PropertyMap{}),
		"deployer": resource.NewObjectProperty(resource.PropertyMap{
			"accessPolicies": resource.NewObjectProperty(resource.PropertyMap{
				"admin": resource.NewObjectProperty(resource.PropertyMap{}),
			}),
		}),
	})
	withEntries := remoteChildTypes(&mocks.Resource{RemoteChildren: mocks.EKSClusterChildren(n, in)})
	assert.Equal(t, []string{n + "-deployer", n + "-viewer"}, withEntries["aws:eks/accessEntry:AccessEntry"])
	assert.Equal(t, []string{n + "-deployer-admin"}, withEntries["aws:eks/accessPolicyAssociation:AccessPolicyAssociation"])

	// The plan document carries them, the tree names them.
	cfg, secrets := stackConfig(t, "dev")
	doc, err := plan.Plan(project, "dev", cfg, secrets)
	require.NoError(t, err)
	var listed int
	for _, r := range doc.Resources {
		if r.Type == eksType {
			listed += len(r.RemoteChildren)
		} else {
			assert.Empty(t, r.RemoteChildren, r.URN)
		}
	}
	assert.Equal(t, len(eks.RemoteChildren), listed)
}
