package tests

import (
	"encoding/json"
	"strings"
	"testing"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
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

func TestACallerIsMatchedToTheRoleOrUserItIs(t *testing.T) {
	const account = "123456789012"
	session := "arn:aws:sts::" + account + ":assumed-role/platform-deployer/pulumi"
	for _, tc := range []struct {
		name, caller, principal string
		same                    bool
	}{
		{"a session of the role", session, "arn:aws:iam::" + account + ":role/platform-deployer", true},
		{"a session of the role under a path (sessions drop it)", session, "arn:aws:iam::" + account + ":role/ci/platform-deployer", true},
		{"an IAM user", "arn:aws:iam::" + account + ":user/alice", "arn:aws:iam::" + account + ":user/alice", true},
		{"an IAM user under a path", "arn:aws:iam::" + account + ":user/staff/alice", "arn:aws:iam::" + account + ":user/alice", true},
		{"another role", session, "arn:aws:iam::" + account + ":role/ops", false},
		{"the role's name in another account", session, "arn:aws:iam::210987654321:role/platform-deployer", false},
		{"the role's name in another partition", session, "arn:aws-cn:iam::" + account + ":role/platform-deployer", false},
		{"a user of the role's name", session, "arn:aws:iam::" + account + ":user/platform-deployer", false},
		{"a role of the user's name", "arn:aws:iam::" + account + ":user/alice", "arn:aws:iam::" + account + ":role/alice", false},
		{"a caller ARN without a resource part", "arn:aws:sts::" + account, "arn:aws:iam::" + account + ":role/platform-deployer", false},
		{"the root user", "arn:aws:iam::" + account + ":root", "arn:aws:iam::" + account + ":role/root", false},
		{"a federated user", "arn:aws:sts::" + account + ":federated-user/bob", "arn:aws:iam::" + account + ":user/bob", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.same, cluster.IsCaller(tc.caller, tc.principal))
		})
	}
}

// entriesOf maps each access entry of a plan to its import ID ("" when it
// is created), checking that every entry ignores tag changes.
func entriesOf(t *testing.T, res *mocks.Result) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range ofType(res, accessEntryType) {
		assert.Contains(t, e.Options.IgnoreChanges, "tags", "%s: an adopted entry keeps its own tags, and every run declares the entry alike", e.Name)
		out[str(t, e, "principalArn")] = e.Options.Import
	}
	for _, a := range ofType(res, accessAssocType) {
		assert.Empty(t, a.Options.Import, "%s: AssociateAccessPolicy accepts an existing association, so none is imported", a.Name)
	}
	return out
}

// upAs runs a stack as `pulumi up` would into account, as its caller,
// over the state prior (nil: a first up), and returns the warnings about
// the creator of the cluster with it.
func upAs(t *testing.T, account *mocks.Account, prior *mocks.Result, stack string, cfg map[string]string, secrets []string) (*mocks.Result, []string) {
	t.Helper()
	var warnings []string
	res, err := mocks.RunWith(mocks.RunOptions{Account: account, Prior: prior}, project, stack, cfg, secrets, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		exports, w, err := stacks.RunReport(ctx)
		warnings = w
		return exports, err
	})
	require.NoError(t, err)
	var creator []string
	for _, w := range warnings {
		if strings.Contains(w, "runs the deployment that creates cluster") {
			creator = append(creator, w)
		}
	}
	return res, creator
}

// entryChanges maps the principal of each access entry the second-run
// comparison of two ups lists to what happens to it (plan.OpCreate,
// plan.OpImport, …), and checks that every other change is the policy
// association of such a principal, created with its entry.
func entryChanges(t *testing.T, before, after *mocks.Result) map[string]string {
	t.Helper()
	out := map[string]string{}
	urns := byURN(after)
	var assocs []string
	for _, c := range plan.Compare(before, after) {
		r := urns[c.URN]
		switch {
		case r != nil && c.Type == accessEntryType:
			out[str(t, r, "principalArn")] = c.Op
		case r != nil && c.Type == accessAssocType && c.Op == plan.OpCreate:
			assocs = append(assocs, str(t, r, "principalArn"))
		default:
			assert.Failf(t, "a change outside the access entries", "%+v", c)
		}
	}
	var added []string
	for p := range out {
		added = append(added, p)
	}
	assert.ElementsMatch(t, added, assocs, "each new entry gets its policy association, and only those")
	return out
}

// TestTheFirstUpMayRunAsAListedPrincipalAndAnyLaterUpAsAnybody (issue 23,
// L-4): EKS gives the cluster's creator an access entry (pulumi-eks v2.8.1
// hard-codes bootstrapClusterCreatorAdminPermissions), so the entry of a
// listed principal that exists, or that EKS makes because this run creates
// the cluster as that principal, is imported, never created twice; the
// other entries are created. Whoever runs later, the same entries are
// declared. Each scenario runs against one mocked account: the earlier up
// (if any) leaves its cluster, the entries EKS and the stack made, and its
// state, and the up under test runs as its own caller over that state.
func TestTheFirstUpMayRunAsAListedPrincipalAndAnyLaterUpAsAnybody(t *testing.T) {
	const (
		deploy  = "arn:aws:iam::123456789012:role/ci/auth-platform-deploy"
		preview = "arn:aws:iam::123456789012:role/auth-platform-preview"
		ops     = "arn:aws:iam::123456789012:role/ops"
		name    = "auth-dev-use1"
		admins  = "auth-platform:clusterAdminPrincipalArns"
		viewers = "auth-platform:clusterViewerPrincipalArns"
		session = "arn:aws:sts::123456789012:assumed-role/"
	)
	asDeploy, asPreview, asSSO := session+"auth-platform-deploy/gh-1234", session+"auth-platform-preview/gh-1234", session+"AWSReservedSSO_Admin_0123/alice"
	base, _ := stackConfig(t, "dev")
	listed := withConfig(base, map[string]string{admins: `["` + deploy + `"]`, viewers: `["` + preview + `"]`})
	both := map[string]string{deploy: name + ":" + deploy, preview: name + ":" + preview}
	// The deploy role has a path, which its sessions' ARNs drop and EKS's
	// creator entry keeps.
	account := func() *mocks.Account { return mocks.NewAccount().WithRole(deploy) }
	type up struct {
		as  string // the caller, as sts:GetCallerIdentity reports it
		cfg map[string]string
	}
	for _, tc := range []struct {
		name      string
		account   *mocks.Account // before any up; nil: account()
		before    *up            // an earlier up of the stack; nil: this is the first
		run       up
		imported  map[string]string // principal -> import ID; the others are created
		changes   map[string]string // principal -> the second-run op of its entry after before; nil: no change
		warnsWith string            // "" for no creator warning
	}{
		{"first up, as the listed deploy role: its entry from EKS is adopted", nil, nil, up{asDeploy, listed},
			map[string]string{deploy: name + ":" + deploy}, nil, admins + ": " + deploy + " runs the deployment that creates cluster " + name},
		{"first up, as the listed preview role: adopted, and told the admin policy stays", nil, nil, up{asPreview, listed},
			map[string]string{preview: name + ":" + preview}, nil, "aws eks disassociate-access-policy --cluster-name " + name + " --principal-arn " + preview},
		{"first up, as a principal not listed: every entry is created", nil, nil, up{asSSO, listed}, nil, nil, ""},
		{"second up, as the deploy role again: both entries exist and the state holds them, so the imports change nothing",
			nil, &up{asDeploy, listed}, up{asDeploy, listed}, both, nil, ""},
		{"second up, as another principal: the same", nil, &up{asDeploy, listed}, up{asSSO, listed}, both, nil, ""},
		{"after a first up that left only EKS's entry for its creator (it failed before the entries, or listed nobody): that entry is adopted",
			nil, &up{asDeploy, base}, up{asDeploy, listed}, map[string]string{deploy: name + ":" + deploy},
			map[string]string{deploy: plan.OpImport, preview: plan.OpCreate}, ""},
		{"the deploy role listed after a first up by someone else, running the next: its entry is created",
			nil, &up{asSSO, withConfig(base, map[string]string{viewers: `["` + preview + `"]`})}, up{asDeploy, listed},
			map[string]string{preview: name + ":" + preview}, map[string]string{deploy: plan.OpCreate}, ""},
		{"a principal listed after the first up gets a new entry", nil, &up{asDeploy, listed},
			up{asDeploy, withConfig(listed, map[string]string{admins: `["` + deploy + `","` + ops + `"]`})}, both,
			map[string]string{ops: plan.OpCreate}, ""},
		{"another cluster's entries change nothing",
			account().WithCluster("us-east-1", "auth-other-use1").WithAccessEntry("us-east-1", "auth-other-use1", deploy).WithAccessEntry("us-east-1", "auth-other-use1", preview),
			nil, up{asSSO, listed}, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acct := tc.account
			if acct == nil {
				acct = account()
			}
			var prior *mocks.Result
			if tc.before != nil {
				prior, _ = upAs(t, acct.WithCaller(tc.before.as), nil, "dev", tc.before.cfg, nil)
			}
			res, creator := upAs(t, acct.WithCaller(tc.run.as), prior, "dev", tc.run.cfg, nil)
			entries := entriesOf(t, res)
			require.Len(t, entries, len(stringsOf(t, tc.run.cfg, admins))+1, "one entry per listed principal")
			for principal, id := range entries {
				assert.Equal(t, tc.imported[principal], id, "import ID of %s's entry", principal)
			}
			if tc.warnsWith == "" {
				assert.Empty(t, creator, "no creator warning unless this run creates the cluster (C-4)")
			} else if assert.Len(t, creator, 1) {
				assert.Contains(t, creator[0], tc.warnsWith)
			}
			if prior != nil {
				want := tc.changes
				if want == nil {
					want = map[string]string{}
				}
				assert.Equal(t, want, entryChanges(t, prior, res), "what the second run does to the entries")
			}
			// Whoever ran, the cluster ends with an entry per listed
			// principal, the creator's included.
			for principal := range entries {
				assert.Contains(t, acct.AccessEntries("us-east-1", name), principal)
			}
		})
	}
}

func stringsOf(t *testing.T, cfg map[string]string, key string) []string {
	t.Helper()
	var out []string
	require.NoError(t, json.Unmarshal([]byte(cfg[key]), &out), key)
	return out
}

// TestEveryRegionAdoptsItsOwnCreatorEntry: a global stack creates one
// cluster per region, each with its own entry for the creator; the second
// up, by the same role, changes nothing.
func TestEveryRegionAdoptsItsOwnCreatorEntry(t *testing.T) {
	const deploy = "arn:aws:iam::123456789012:role/auth-platform-deploy" // listed by the shipped prod stacks
	account := mocks.NewAccount().WithCaller("arn:aws:sts::123456789012:assumed-role/auth-platform-deploy/gh-1234")
	raw, secrets := stackConfig(t, "prod-global")
	res, creator := upAs(t, account, nil, "prod-global", raw, secrets)
	ids := map[string]bool{}
	for _, e := range ofType(res, accessEntryType) {
		if str(t, e, "principalArn") == deploy {
			ids[e.Options.Import] = true
		} else {
			assert.Empty(t, e.Options.Import, e.Name)
		}
	}
	assert.Equal(t, map[string]bool{"auth-prod-global-use1:" + deploy: true, "auth-prod-global-usw2:" + deploy: true}, ids)
	require.Len(t, creator, 2)
	assert.Contains(t, strings.Join(creator, "\n"), "us-east-1: ")
	assert.Contains(t, strings.Join(creator, "\n"), "us-west-2: ")

	second, creator := upAs(t, account, res, "prod-global", raw, secrets)
	assert.Empty(t, plan.Compare(res, second), "the second up imports what the state holds under the same IDs")
	assert.Empty(t, creator, "no creator warning once the clusters exist")
}

// TestTheMockedAccountKeepsAccessEntriesAsEKSDoes: what the adoption
// guards against is real in the mocks. Creating the cluster gives its
// creator an entry (under the role's IAM ARN, path included), EKS refuses a
// second entry for a principal and an entry on a cluster the region lacks,
// the engine's import refuses an entry that does not exist, and the
// engine's delete of an entry the stack created or imported removes it.
func TestTheMockedAccountKeepsAccessEntriesAsEKSDoes(t *testing.T) {
	const (
		region = "us-east-1"
		name   = "auth-other-use1"
		ops    = "arn:aws:iam::123456789012:role/ops"
		sso    = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123"
	)
	t.Run("creating the cluster gives its creator an entry", func(t *testing.T) {
		account := mocks.NewAccount().WithRole(sso).WithCaller("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/alice")
		base, _ := stackConfig(t, "dev")
		upAs(t, account, nil, "dev", base, nil)
		assert.Contains(t, account.AccessEntries(region, "auth-dev-use1"), sso)
	})
	entry := func(opts ...pulumi.ResourceOption) mocks.Program {
		return func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
			_, err := awseks.NewAccessEntry(ctx, "ops", &awseks.AccessEntryArgs{
				ClusterName: pulumi.String(name), PrincipalArn: pulumi.String(ops), Type: pulumi.String("STANDARD"),
			}, opts...)
			return nil, err
		}
	}
	nothing := func(*pulumi.Context) (map[string]pulumi.Output, error) { return nil, nil }
	imported := pulumi.Import(pulumi.ID(name + ":" + ops))
	withCluster := func() *mocks.Account { return mocks.NewAccount().WithCluster(region, name) }
	cfg := map[string]string{"aws:region": region}
	for _, tc := range []struct {
		name    string
		account *mocks.Account
		program mocks.Program
		wantErr string // "": the run leaves ops's entry, and the next run's delete removes it
	}{
		{"creating an entry the principal has", withCluster().WithAccessEntry(region, name, ops), entry(),
			"StatusCode: 409, ResourceInUseException: The specified access entry resource is already in use on this cluster."},
		{"creating an entry on a cluster the region lacks", mocks.NewAccount().WithCluster("us-west-2", name), entry(),
			"ResourceNotFoundException: No cluster found for name: " + name},
		{"importing an entry that does not exist", withCluster(), entry(imported), "resource '" + name + ":" + ops + "' does not exist"},
		{"creating an entry", withCluster(), entry(), ""},
		{"importing an entry that exists", withCluster().WithAccessEntry(region, name, ops), entry(imported), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := mocks.RunWith(mocks.RunOptions{Account: tc.account}, project, "entries", cfg, nil, tc.program)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{ops}, tc.account.AccessEntries(region, name))
			_, err = mocks.RunWith(mocks.RunOptions{Account: tc.account, Prior: res}, project, "entries", cfg, nil, nothing)
			require.NoError(t, err)
			assert.Empty(t, tc.account.AccessEntries(region, name), "the stack owns what it created or imported")
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
