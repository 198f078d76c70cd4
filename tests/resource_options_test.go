package tests

// The mocks record every resource option the engine receives (issue 18.1),
// the plan JSON shows them as fields of their own, and the options the
// platform relies on for its next change are pinned here.

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

// runOptionsProgram registers one resource with every option set and one
// with none.
func runOptionsProgram(t *testing.T) *mocks.Result {
	t.Helper()
	res, err := mocks.Run(project, "options", map[string]string{"aws:region": "us-east-1"}, nil,
		func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
			if _, err := random.NewRandomId(ctx, "with-options", &random.RandomIdArgs{ByteLength: pulumi.Int(4)},
				pulumi.ReplaceOnChanges([]string{"byteLength", "prefix"}),
				pulumi.DeleteBeforeReplace(true),
				pulumi.IgnoreChanges([]string{"keepers"}),
				pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "7m", Update: "8m", Delete: "9m"}),
				pulumi.RetainOnDelete(true),
				pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String("old-name")}}),
				pulumi.AdditionalSecretOutputs([]string{"b64Std"}),
			); err != nil {
				return nil, err
			}
			_, err := random.NewRandomId(ctx, "plain", &random.RandomIdArgs{ByteLength: pulumi.Int(4)})
			return nil, err
		})
	require.NoError(t, err)
	return res
}

func TestMocksRecordEveryResourceOption(t *testing.T) {
	res := runOptionsProgram(t)
	const typ = "random:index/randomId:RandomId"
	got := one(t, res, typ, "with-options").Options
	assert.Equal(t, []string{"byteLength", "prefix"}, got.ReplaceOnChanges)
	assert.True(t, got.DeleteBeforeReplace)
	assert.Equal(t, []string{"keepers"}, got.IgnoreChanges)
	assert.Equal(t, &mocks.CustomTimeouts{Create: "7m", Update: "8m", Delete: "9m"}, got.CustomTimeouts)
	assert.True(t, got.RetainOnDelete)
	// The engine resolves an alias spec against the resource's own stack,
	// project, type and (root stack) parent.
	assert.Equal(t, []string{"urn:pulumi:options::auth-platform::" + typ + "::old-name"}, got.Aliases)
	assert.Equal(t, []string{"b64Std"}, got.AdditionalSecretOutputs)

	none := one(t, res, typ, "plain").Options
	assert.Equal(t, mocks.Options{
		ReplaceOnChanges: []string{}, IgnoreChanges: []string{}, Aliases: []string{}, AdditionalSecretOutputs: []string{},
	}, none)
}

// TestPlanJSONShowsResourceOptions: the options are new fields of each
// resource; the fields that were there keep their names.
func TestPlanJSONShowsResourceOptions(t *testing.T) {
	b, err := json.Marshal(plan.ResourcesOf(runOptionsProgram(t)))
	require.NoError(t, err)
	var resources []map[string]interface{}
	require.NoError(t, json.Unmarshal(b, &resources))
	require.Len(t, resources, 2)
	byName := map[string]map[string]interface{}{}
	for _, r := range resources {
		for _, k := range []string{"urn", "type", "name", "id", "parent", "provider", "dependsOn", "protect", "inputs"} {
			assert.Contains(t, r, k, "the original fields stay")
		}
		byName[r["name"].(string)] = r
	}
	with := byName["with-options"]
	assert.Equal(t, []interface{}{"byteLength", "prefix"}, with["replaceOnChanges"])
	assert.Equal(t, true, with["deleteBeforeReplace"])
	assert.Equal(t, []interface{}{"keepers"}, with["ignoreChanges"])
	assert.Equal(t, map[string]interface{}{"create": "7m", "update": "8m", "delete": "9m"}, with["customTimeouts"])
	assert.Equal(t, true, with["retainOnDelete"])
	assert.Len(t, with["aliases"], 1)
	assert.Equal(t, []interface{}{"b64Std"}, with["additionalSecretOutputs"])

	plain := byName["plain"]
	for _, k := range []string{"replaceOnChanges", "ignoreChanges", "aliases", "additionalSecretOutputs", "remoteChildren"} {
		assert.Equal(t, []interface{}{}, plain[k], "%s is [] when unset, never null", k)
	}
	assert.Nil(t, plain["customTimeouts"])
	assert.Equal(t, false, plain["deleteBeforeReplace"])
	assert.Equal(t, false, plain["retainOnDelete"])
}

// TestReplicationGroupsAreReplacedDeleteFirst: the group ID is a fixed
// name, so a replacement that created first would collide with the old
// group (ReplicationGroupAlreadyExists).
func TestReplicationGroupsAreReplacedDeleteFirst(t *testing.T) {
	for _, stack := range stackFiles(t) {
		groups := ofType(planStack(t, stack), "aws:elasticache/replicationGroup:ReplicationGroup")
		require.NotEmpty(t, groups, stack)
		for _, g := range groups {
			assert.True(t, g.Options.DeleteBeforeReplace, "%s %s", stack, g.Name)
			assert.NotEmpty(t, str(t, g, "replicationGroupId"), "a fixed ID is why it must delete first")
		}
	}
}

// TestGlobalMembersIgnoreWhatTheGlobalResourceChanges: a Global Database
// or Datastore upgrades its members' engine and a promotion rewrites the
// primary and the replication source outside Pulumi; without these the
// next `up` would undo a failover or fight an upgrade.
func TestGlobalMembersIgnoreWhatTheGlobalResourceChanges(t *testing.T) {
	g := planGlobal(t)
	cases := []struct {
		what string
		r    *mocks.Resource
		want []string
	}{
		{"Aurora global cluster", g.globalCluster, []string{"engineVersion"}},
		{"Aurora primary member", g.pCluster, []string{"engineVersion", "globalClusterIdentifier", "replicationSourceIdentifier"}},
		{"Aurora secondary member", g.sCluster, []string{"engineVersion", "globalClusterIdentifier", "replicationSourceIdentifier"}},
		{"Global Datastore", g.globalCache, []string{"primaryReplicationGroupId"}},
		{"Redis primary member", g.pCache, []string{"engineVersion"}},
		{"Redis secondary member", g.sCache, []string{"engineVersion", "numNodeGroups"}},
	}
	for _, c := range cases {
		assert.ElementsMatch(t, c.want, c.r.Options.IgnoreChanges, c.what)
	}

	// A standalone cluster ignores only the minor RDS upgrades itself (the
	// major is resolved at deploy time); a standalone group owns its version.
	dev := planStack(t, "dev")
	assert.Equal(t, []string{"engineVersion"}, one(t, dev, "aws:rds/cluster:Cluster", "-aurora").Options.IgnoreChanges)
	assert.Empty(t, one(t, dev, "aws:elasticache/replicationGroup:ReplicationGroup", "-sessions").Options.IgnoreChanges)
}

// TestTargetGroupBindingIsReplacedWhenAnImmutableFieldChanges: the LB
// controller's webhook refuses updates of spec.targetGroupARN, targetType,
// ipAddressType and vpcID (aws-load-balancer-controller v3.5.0
// webhooks/elbv2/targetgroupbinding_validator.go, checkImmutableFields);
// the binding is named after its target group, so a new group's binding is
// created beside the old one (tests/targetgroup_replacement_test.go).
func TestTargetGroupBindingIsReplacedWhenAnImmutableFieldChanges(t *testing.T) {
	for _, stack := range stackFiles(t) {
		bindings := ofType(planStack(t, stack), "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
		require.NotEmpty(t, bindings, stack)
		for _, b := range bindings {
			// The fields the controller's webhook refuses to change.
			assert.ElementsMatch(t, []string{"spec.targetGroupARN", "spec.targetType", "spec.ipAddressType", "spec.vpcID"},
				b.Options.ReplaceOnChanges, "%s %s", stack, b.Name)
			assert.False(t, b.Options.DeleteBeforeReplace, "%s %s: a new group's binding has a new name, created first", stack, b.Name)
			assert.Regexp(t, `^auth-[0-9a-f]{16}$`, str(t, b, "metadata.name"), "named after its group")
		}
	}
}

// TestDeploymentRolloutTimeout: the auth Deployment waits up to 20 minutes
// for a rollout (README, "The timing budget": Fargate's slow pod starts
// plus a readiness gate per surge pod), on create and update alike, not
// the provider's 10-minute default.
func TestDeploymentRolloutTimeout(t *testing.T) {
	for _, stack := range stackFiles(t) {
		deployments := ofType(planStack(t, stack), "kubernetes:apps/v1:Deployment")
		require.NotEmpty(t, deployments, stack)
		for _, d := range deployments {
			require.NotNil(t, d.Options.CustomTimeouts, "%s %s", stack, d.Name)
			assert.Equal(t, "20m", d.Options.CustomTimeouts.Create, "%s %s", stack, d.Name)
			assert.Equal(t, "20m", d.Options.CustomTimeouts.Update, "%s %s", stack, d.Name)
			annotations, _ := value(d.Inputs, "metadata.annotations").(map[string]interface{})
			assert.NotContains(t, annotations, "pulumi.com/timeoutSeconds", "one way to say it: customTimeouts")
		}
	}
}

// TestDataStoresWaitAsLongAsAWSTakes: the provider's default timeouts are
// shorter than what Aurora, ElastiCache and their global forms take on a
// bad day (provider docs and acceptance logs; cmd/plan/durations.go).
func TestDataStoresWaitAsLongAsAWSTakes(t *testing.T) {
	want := map[string]*mocks.CustomTimeouts{
		"aws:rds/cluster:Cluster":                                       {Create: "120m", Update: "120m", Delete: "120m"},
		"aws:rds/clusterInstance:ClusterInstance":                       {Create: "90m", Update: "90m", Delete: "90m"},
		"aws:elasticache/replicationGroup:ReplicationGroup":             {Create: "60m", Update: "40m", Delete: "45m"},
		"aws:rds/globalCluster:GlobalCluster":                           {Create: "30m", Update: "90m", Delete: "30m"},
		"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": {Create: "60m", Update: "60m", Delete: "20m"},
	}
	seen := map[string]int{}
	for _, stack := range stackFiles(t) {
		for _, r := range planStack(t, stack).Resources {
			if w, ok := want[r.Type]; ok {
				seen[r.Type]++
				assert.Equal(t, w, r.Options.CustomTimeouts, "%s %s", stack, r.Name)
			}
		}
	}
	for typ := range want {
		assert.NotZero(t, seen[typ], "no %s planned", typ)
	}
}
