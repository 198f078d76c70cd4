package tests

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/naming"
)

// Issue 11 item 4: physical names are unique per stack, so any two stacks
// can share one account and region.

func TestNamerPrefixCarriesTheStack(t *testing.T) {
	for _, tc := range []struct {
		stack, env, region, want string
	}{
		// dev keeps the names it always had.
		{"dev", "dev", "us-east-1", "auth-dev-use1"},
		// Named after its region: the region is said once, in full.
		{"prod-us-east-1", "prod", "us-east-1", "auth-prod-us-east-1"},
		{"prod-global", "prod", "us-east-1", "auth-prod-global-use1"},
		{"prod-global", "prod", "us-west-2", "auth-prod-global-usw2"},
		// "global" is not a region: its code is not elided.
		{"prod-global", "prod", "global", "auth-prod-global-global"},
		{"prod", "prod", "global", "auth-prod-global"},
		{"prod", "prod", "us-east-1", "auth-prod-use1"},
		// Without a stack (components used alone): <app>-<env>-<region code>.
		{"", "unit", "us-east-1", "auth-unit-use1"},
	} {
		n := naming.Namer{App: "auth", Env: tc.env, Region: tc.region, Stack: tc.stack}
		assert.Equal(t, tc.want, n.Prefix(), "stack %q in %s", tc.stack, tc.region)
	}
}

func TestStackCodesNeverCollideAndStayShort(t *testing.T) {
	// Pulumi stack names: letters, digits, '-', '_', '.'. Names that differ
	// only in what a physical name cannot hold must still differ.
	stacks := []string{
		"dev", "prod", "prod-us-east-1", "prod-global", "prod_global", "prod.global", "Prod-Global",
		"prod-use1", "staging-eu-west-1", "platform-team-production-eu-central-1",
		"platform-team-production-eu-central-2", "-", "_", "a--b", "a-b",
	}
	regions := []string{"us-east-1", "us-west-2", "ap-southeast-2", "global"}
	seen := map[string]string{}
	for _, s := range stacks {
		code := naming.StackCode(s)
		assert.LessOrEqual(t, len(code), naming.MaxStackCode, s)
		assert.Regexp(t, `^[a-z0-9]+(-[a-z0-9]+)*$`, code, s)
		for _, r := range regions {
			p := naming.Namer{App: "abcdefghijkl", Env: "staging", Region: r, Stack: s}.Prefix()
			// 12-character app + 16 + a 7-character region code (apse2 here).
			assert.LessOrEqual(t, len(p), 12+1+naming.MaxStackCode+1+7, "%s in %s: %s", s, r, p)
			key := r + " " + p
			if other, dup := seen[key]; dup {
				t.Errorf("stacks %q and %q both name %s in %s", other, s, p, r)
			}
			seen[key] = s
		}
	}
}

// physicalScope says where AWS holds a type's names unique: "account"
// (IAM, global database and datastore IDs), "region", or "" for types whose
// names are scoped to something each stack has its own of (a VPC, a
// cluster) or that have no physical name.
func physicalScope(typ string) string {
	switch {
	case strings.HasPrefix(typ, "aws:iam/"),
		typ == "aws:rds/globalCluster:GlobalCluster",
		typ == "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup":
		return "account"
	case typ == "aws:ec2/securityGroup:SecurityGroup", // unique per VPC
		strings.HasPrefix(typ, "kubernetes:"), // per cluster
		strings.HasPrefix(typ, "pulumi:"):
		return ""
	case strings.HasPrefix(typ, "aws:"), typ == eksType:
		return "region"
	}
	return ""
}

// nameKeys are the inputs that hold a resource's own physical name, beyond
// "name" (which every type in physicalScope means as its own name).
var nameKeys = map[string][]string{
	"aws:rds/cluster:Cluster":                                       {"clusterIdentifier", "finalSnapshotIdentifier"},
	"aws:rds/clusterInstance:ClusterInstance":                       {"identifier"},
	"aws:rds/globalCluster:GlobalCluster":                           {"globalClusterIdentifier"},
	cacheRGType:                                                     {"replicationGroupId"},
	"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": {"globalReplicationGroupIdSuffix"},
	"aws:eks/fargateProfile:FargateProfile":                         {"fargateProfileName"},
	"aws:route53/record:Record":                                     {"zoneId|name|type|setIdentifier"},
}

// physicalNames lists the explicit physical names r asks AWS for, each
// with the scope it must be unique in.
func physicalNames(r *mocks.Resource) []string {
	scope := physicalScope(r.Type)
	if scope == "" || (!r.Custom && !r.Remote) {
		return nil
	}
	if scope == "region" {
		scope = r.Region
	}
	str := func(k string) string {
		if v, ok := r.Inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	var out []string
	for _, key := range append([]string{"name"}, nameKeys[r.Type]...) {
		var parts []string
		for _, k := range strings.Split(key, "|") {
			parts = append(parts, str(k))
		}
		if parts[0] == "" || (r.Type == "aws:route53/record:Record" && key == "name") {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s=%s", scope, r.Type, key, strings.Join(parts, "|")))
	}
	return out
}

func TestNoTwoShippedStacksAskForTheSamePhysicalName(t *testing.T) {
	owner := map[string]string{} // scope+type+name -> stack
	counted := map[string]int{}
	var collisions []string
	for _, stack := range stackFiles(t) {
		res := planStack(t, stack)
		mine := map[string]bool{}
		for _, r := range res.Resources {
			for _, n := range physicalNames(r) {
				require.False(t, mine[n], "%s asks twice for %s", stack, n)
				mine[n] = true
				counted[stack]++
				if other, dup := owner[n]; dup {
					collisions = append(collisions, fmt.Sprintf("%s and %s: %s", other, stack, n))
				}
				owner[n] = stack
			}
		}
	}
	sort.Strings(collisions)
	assert.Empty(t, collisions, "physical names two stacks would create in one account (mocks: every stack in account %s)", mocks.AccountID)
	// The check sees the names that collided before the stack went into the
	// prefix: the EKS cluster, the replication group, KMS aliases, the SNS
	// topic and the alarms.
	for _, stack := range stackFiles(t) {
		assert.Greater(t, counted[stack], 20, "%s: too few physical names found; is physicalNames still reading the inputs?", stack)
	}
}

func TestCutNamesKeepTheRegionAndWhatTheyName(t *testing.T) {
	// ALB and target group names: 24 characters, so Pulumi's 8-character
	// suffix fits AWS's 32.
	for _, tc := range []struct {
		stack, region, part string
	}{
		{"prod-global", "us-west-2", "alb"},
		{"prod-global", "us-east-1", "tg"},
		{"platform-team-production-eu-central-1", "eu-central-1", "alb"},
		{"Staging_Blue", "ap-southeast-2", "tg"},
	} {
		n := naming.Namer{App: "auth", Env: "prod", Region: tc.region, Stack: tc.stack}
		got := n.Limited(24, tc.part)
		assert.LessOrEqual(t, len(got), 24, got)
		assert.True(t, strings.HasSuffix(got, "-"+naming.RegionCode(tc.region)+"-"+tc.part), "%s keeps region code and part", got)
		assert.True(t, strings.HasPrefix(got, "auth-"), got)
		other := naming.Namer{App: "auth", Env: "prod", Region: tc.region, Stack: tc.stack + "x"}
		assert.NotEqual(t, got, other.Limited(24, tc.part), "another stack, another name")
	}
	// Names that fit are not touched.
	assert.Equal(t, "auth-dev-use1-alb", naming.Namer{App: "auth", Env: "dev", Region: "us-east-1", Stack: "dev"}.Limited(24, "alb"))
}

func TestEveryShippedStacksNamesFitAWSLimits(t *testing.T) {
	// AWS's limits (first-deploy review, "Limits"): the name the resource
	// gets, explicit or Pulumi's auto-name (logical name + 8).
	limits := map[string]struct {
		key string
		max int
	}{
		"aws:iam/role:Role":                       {"name", 64},
		"aws:iam/policy:Policy":                   {"name", 128},
		cacheRGType:                               {"replicationGroupId", 40},
		"aws:lb/loadBalancer:LoadBalancer":        {"name", 32},
		"aws:lb/targetGroup:TargetGroup":          {"name", 32},
		"aws:rds/cluster:Cluster":                 {"clusterIdentifier", 63},
		"aws:rds/clusterInstance:ClusterInstance": {"identifier", 63},
		"aws:rds/globalCluster:GlobalCluster":     {"globalClusterIdentifier", 63},
		"aws:eks/fargateProfile:FargateProfile":   {"fargateProfileName", 100},
		eksType:                                   {"name", 100},
		"aws:s3/bucketV2:BucketV2":                {"bucket", 63},
	}
	plans := map[string]*mocks.Result{}
	for _, stack := range stackFiles(t) {
		plans[stack] = planStack(t, stack)
	}
	// A long stack name pushes every prefixed name past its limit, so the
	// cutting (naming.Limited) is what keeps it valid.
	long := "platform-engineering-sandbox-for-the-identity-team-2026"
	for _, stack := range []string{"dev", "prod-global"} {
		cfg, secrets := stackConfig(t, stack)
		res, err := runProgram(t, long+"-"+stack, cfg, secrets)
		require.NoError(t, err)
		plans[long+"-"+stack] = res
	}
	for stack, res := range plans {
		seen := map[string]int{}
		for _, r := range res.Resources {
			l, ok := limits[r.Type]
			if !ok {
				continue
			}
			v, ok := r.Outputs[resource.PropertyKey(l.key)]
			require.True(t, ok && v.IsString(), "%s %s has no %s", r.Type, r.Name, l.key)
			assert.LessOrEqual(t, len(v.StringValue()), l.max, "%s: %s %s = %q", stack, r.Type, l.key, v.StringValue())
			seen[r.Type]++
		}
		for _, typ := range []string{"aws:iam/role:Role", cacheRGType, "aws:lb/loadBalancer:LoadBalancer", "aws:rds/cluster:Cluster", eksType} {
			assert.NotZero(t, seen[typ], "%s: no %s checked", stack, typ)
		}
	}
}
