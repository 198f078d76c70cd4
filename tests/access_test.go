package tests

import (
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
