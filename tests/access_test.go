package tests

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/stacks"
)

// Issue 11 item 5: more than the creator can deploy.

const (
	accessEntryType = "aws:eks/accessEntry:AccessEntry"
	accessAssocType = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
)

func TestConfiguredPrincipalsGetAccessEntriesThatKubernetesWaitsFor(t *testing.T) {
	granted := 0
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			eks := ofType(rp.res, eksType)
			require.Len(t, eks, 1)
			clusterName := str(t, eks[0], "name")
			entries, assocs := ofType(rp.res, accessEntryType), ofType(rp.res, accessAssocType)
			require.Len(t, entries, len(rp.cfg.ClusterAccess))
			require.Len(t, assocs, len(rp.cfg.ClusterAccess))
			if rp.cfg.Production() {
				assert.NotEmpty(t, rp.cfg.ClusterAccess, "prod stacks name their CI deploy and preview roles")
			}
			policyOf := map[string]string{}
			for _, e := range entries {
				assert.Equal(t, clusterName, str(t, e, "clusterName"))
				assert.Equal(t, "STANDARD", str(t, e, "type"))
			}
			for _, a := range assocs {
				assert.Equal(t, clusterName, str(t, a, "clusterName"))
				assert.Equal(t, "cluster", str(t, a, "accessScope.type"))
				policyOf[str(t, a, "principalArn")] = str(t, a, "policyArn")
			}
			for _, g := range rp.cfg.ClusterAccess {
				// EKS user guide, "Review access policy permissions".
				want := map[string]string{
					cluster.AdminPolicy: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
					cluster.ViewPolicy:  "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
				}[g.Policy]
				assert.Equal(t, want, policyOf[g.PrincipalArn], g.PrincipalArn)
				granted++
			}

			// Every Kubernetes resource goes through the cluster's provider,
			// which waits for every association.
			providers := ofType(rp.res, "pulumi:providers:kubernetes")
			require.Len(t, providers, 1)
			k8s := providers[0]
			for _, a := range assocs {
				assert.Contains(t, k8s.DependsOn, a.URN, "the Kubernetes provider waits for %s", a.Name)
			}
			kube := 0
			for _, r := range rp.res.Resources {
				if len(r.Type) > 11 && r.Type[:11] == "kubernetes:" {
					kube++
					assert.Equal(t, k8s.URN, r.Provider, "%s %s", r.Type, r.Name)
				}
			}
			assert.NotZero(t, kube)
		})
	}
	assert.NotZero(t, granted, "some shipped stack grants access")
}

func TestClusterAccessPrincipalsAreCheckedBeforeAnythingIsCreated(t *testing.T) {
	base, _ := stackConfig(t, "dev")
	const admin, viewer = "auth-platform:clusterAdminPrincipalArns", "auth-platform:clusterViewerPrincipalArns"
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		key, msg  string
	}{
		{"an STS session", map[string]string{admin: `["arn:aws:sts::123456789012:assumed-role/deploy/ci"]`}, admin, "an STS session, not a role"},
		{"not an ARN", map[string]string{viewer: `["auth-platform-preview"]`}, viewer, "not an IAM role or user ARN"},
		{"a group", map[string]string{admin: `["arn:aws:iam::123456789012:group/admins"]`}, admin, "not an IAM role or user ARN"},
		{"short account", map[string]string{admin: `["arn:aws:iam::1234:role/deploy"]`}, admin, "not an IAM role or user ARN"},
		{"other partition", map[string]string{admin: `["arn:aws-cn:iam::123456789012:role/deploy"]`}, admin, "partition aws-cn"},
		{"twice", map[string]string{admin: `["arn:aws:iam::123456789012:role/deploy","arn:aws:iam::123456789012:role/deploy"]`}, admin, "already listed"},
		{"in both lists", map[string]string{
			admin:  `["arn:aws:iam::123456789012:role/deploy"]`,
			viewer: `["arn:aws:iam::123456789012:role/deploy"]`}, viewer, "already listed in auth-platform:clusterAdminPrincipalArns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, withConfig(base, tc.overrides), tc.key, tc.msg)
		})
	}
	// A path and another account are fine (STANDARD entries may be cross-account).
	_, _, err := cluster.ParsePrincipal("arn:aws:iam::210987654321:role/ci/github/auth-platform-deploy")
	assert.NoError(t, err)
}

func TestTheDeployingPrincipalIsWarnedAboutWhenListed(t *testing.T) {
	const account = "123456789012"
	role := "arn:aws:sts::" + account + ":assumed-role/platform-deployer/pulumi"
	grant := func(arn string) []cluster.Grant {
		return []cluster.Grant{{PrincipalArn: arn, Policy: cluster.AdminPolicy}}
	}
	for _, tc := range []struct {
		name, caller string
		access       []cluster.Grant
		warn         bool
	}{
		{"the caller's role", role, grant("arn:aws:iam::" + account + ":role/platform-deployer"), true},
		{"the caller's role under a path", role, grant("arn:aws:iam::" + account + ":role/ci/platform-deployer"), true},
		{"the caller's role as viewer, second in the list", role, []cluster.Grant{
			{PrincipalArn: "arn:aws:iam::" + account + ":role/ops", Policy: cluster.AdminPolicy},
			{PrincipalArn: "arn:aws:iam::" + account + ":role/platform-deployer", Policy: cluster.ViewPolicy},
		}, true},
		{"an IAM user calling, listed", "arn:aws:iam::" + account + ":user/alice", grant("arn:aws:iam::" + account + ":user/alice"), true},
		{"another role", role, grant("arn:aws:iam::" + account + ":role/ops"), false},
		{"the same name in another account", role, grant("arn:aws:iam::210987654321:role/platform-deployer"), false},
		{"nobody listed", role, nil, false},
		{"a caller ARN without a resource part", "arn:aws:sts::" + account, grant("arn:aws:iam::" + account + ":role/platform-deployer"), false},
		{"a root caller", "arn:aws:iam::" + account + ":root", grant("arn:aws:iam::" + account + ":role/root"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := stacks.CreatorListedWarning(tc.caller, account, tc.access)
			if !tc.warn {
				assert.Empty(t, w)
				return
			}
			assert.Contains(t, w, "is running this deployment")
			assert.Contains(t, w, "ResourceInUseException")
			assert.Contains(t, w, "auth-platform:clusterAdminPrincipalArns/clusterViewerPrincipalArns")
		})
	}
}

// TestProductionKubernetesAPIIsNotOpenToTheInternet (issue 23, D-8): a
// production stack's public endpoint admits named networks only, or is
// off; dev keeps the open default.
func TestProductionKubernetesAPIIsNotOpenToTheInternet(t *testing.T) {
	const (
		cidrs  = "auth-platform:publicAccessCidrs"
		public = "auth-platform:endpointPublicAccess"
		open   = "must not be open to the whole internet"
	)
	prod, _ := stackConfig(t, "prod-us-east-1")
	global, _ := stackConfig(t, "prod-global")
	var regions []map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(global["auth-platform:regions"]), &regions))
	regions[1]["publicAccessCidrs"] = []string{"0.0.0.0/0"}
	westOpen, err := json.Marshal(regions)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		key  string
	}{
		{"the default, 0.0.0.0/0", withConfig(prod, map[string]string{cidrs: ""}), cidrs},
		{"0.0.0.0/0 among narrow blocks", withConfig(prod, map[string]string{cidrs: `["203.0.113.0/24","0.0.0.0/0"]`}), cidrs},
		{"one region of a global stack", withConfig(global, map[string]string{"auth-platform:regions": string(westOpen)}), "auth-platform:regions[1].publicAccessCidrs"},
	} {
		t.Run(tc.name, func(t *testing.T) { assertRejected(t, tc.cfg, tc.key, open) })
	}
	for _, tc := range []struct {
		name string
		cfg  map[string]string
	}{
		{"a private endpoint only", withConfig(prod, map[string]string{public: "false", cidrs: ""})},
		{"named networks", withConfig(prod, map[string]string{cidrs: `["198.51.100.0/24","192.0.2.8/29"]`})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stacks.Load(project, "test", stacks.MapSource(tc.cfg))
			assert.NoError(t, err)
		})
	}
	// The shipped stacks: dev open (its default), production narrowed,
	// with the private endpoint for the pods.
	for _, rp := range regionPlans(t) {
		eks := one(t, rp.res, eksType, "-eks")
		listed := stringList(t, eks, "publicAccessCidrs")
		if !rp.cfg.Production() {
			assert.Equal(t, []string{"0.0.0.0/0"}, listed, rp.name)
			continue
		}
		assert.NotContains(t, listed, "0.0.0.0/0", rp.name)
		assert.NotEmpty(t, listed, rp.name)
		assert.Equal(t, true, value(eks.Inputs, "endpointPrivateAccess"), rp.name)
	}
}
