package tests

// Issue 18.3 (stacks part), continued: the multi-region form of every
// regional check (regions[i].<key>), the checks between regions, and the
// preflight's answers when an AWS lookup itself fails.

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

// twoRegions is a valid dev stack over us-east-1 and us-west-2.
var twoRegions = withConfig(validBase, set(
	"authHostname", "auth.example.com", "hostedZoneId", "Z0123456789ABCDEFGHIJ",
	"regions", regionList(eastEntry(), westEntry()),
))

const (
	eastEntryJSON = `{"region":"us-east-1","vpcCidr":"10.60.0.0/16"}`
	westEntryJSON = `{"region":"us-west-2","vpcCidr":"10.70.0.0/16"}`
)

func eastEntry(extra ...string) string { return withFields(eastEntryJSON, extra...) }
func westEntry(extra ...string) string { return withFields(westEntryJSON, extra...) }

// withFields adds "key": <raw JSON> pairs to an entry.
func withFields(entry string, kv ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(entry, "}"))
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, ",%q:%s", kv[i], kv[i+1])
	}
	b.WriteString("}")
	return b.String()
}

func regionList(entries ...string) string { return "[" + strings.Join(entries, ",") + "]" }

// TestEveryRegionalCheckNamesTheRegionsEntry: a bad value overriding a
// regional key in regions[1] is reported there, for us-west-2.
func TestEveryRegionalCheckNamesTheRegionsEntry(t *testing.T) {
	west := func(kv ...string) map[string]string {
		return set("regions", regionList(eastEntry(), westEntry(kv...)))
	}
	at := func(name string) string { return q("regions") + "[1]." + name }
	const in = "in us-west-2: "
	runChecks(t, []checkCase{
		{name: "regions[1].vpcCidr /21", base: twoRegions, set: west("vpcCidr", `"10.70.0.0/21"`), key: at("vpcCidr"), message: in + "prefix /21 is outside"},
		{name: "regions[1].azCount 2", base: twoRegions, set: west("azCount", "2"), key: at("azCount"), message: in + "the stack needs at least 3 AZs"},
		{name: "regions[1].availabilityZones of us-east-1", base: twoRegions, set: west("availabilityZones", `["us-east-1a","us-east-1b","us-east-1d"]`),
			key: at("availabilityZones"), message: in + "zone us-east-1a is not a zone of region us-west-2", problems: 3},
		{name: "regions[1].availabilityZoneIds of us-east-1", base: twoRegions, set: west("availabilityZoneIds", `["use1-az1","use1-az2","use1-az4"]`),
			key: at("availabilityZoneIds"), message: in + "use1-az1 is not a zone ID of region us-west-2", problems: 3},
		{name: "regions[1].natGateways none", base: twoRegions, set: west("natGateways", `"none"`), key: at("natGateways"), message: in + "unknown NAT gateway layout"},
		{name: "regions[1].kubernetesVersion 1.29", base: twoRegions, set: west("kubernetesVersion", `"1.29"`), key: at("kubernetesVersion"), message: in + "the preStop sleep handler the auth service relies on is not available before 1.30"},
		{name: "regions[1] both endpoints off", base: twoRegions, set: west("endpointPublicAccess", "false", "endpointPrivateAccess", "false"),
			key: at("endpointPublicAccess"), message: in + "with both endpoint accesses off nothing can reach the Kubernetes API"},
		{name: "regions[1].publicAccessCidrs empty", base: twoRegions, set: west("publicAccessCidrs", "[]"), key: at("publicAccessCidrs"), message: in + "a public endpoint needs at least one allowed CIDR block"},
		{name: "regions[1].endpointPrivateAccess off with narrow CIDRs", base: twoRegions, set: west("endpointPrivateAccess", "false", "publicAccessCidrs", `["203.0.113.0/24"]`),
			key: at("endpointPrivateAccess"), message: in + "with the private endpoint off"},
		{name: "regions[1].clusterLogTypes without audit", base: twoRegions, set: west("clusterLogTypes", `["api"]`), key: at("clusterLogTypes"), message: in + "the HighPodEvictionRate alarm counts eviction requests"},
		{name: "regions[1].cacheReplicasPerShard 6", base: twoRegions, set: west("cacheReplicasPerShard", "6"), key: at("cacheReplicasPerShard"), message: in + "ElastiCache allows at most 5 replicas per shard"},
		{name: "regions[1].cacheKmsKeyArn of us-east-1", base: twoRegions, set: west("cacheKmsKeyArn", `"`+kmsKeyEast+`"`), key: at("cacheKmsKeyArn"), message: in + "the key is in us-east-1"},
		{name: "regions[1].cacheSnapshotWindow 59 minutes", base: twoRegions, set: west("cacheSnapshotWindow", `"02:00-02:59"`), key: at("cacheSnapshotWindow"), message: in + "the window is 59 minutes"},
		{name: "regions[1].cacheMaintenanceWindow malformed", base: twoRegions, set: west("cacheMaintenanceWindow", `"sunday"`), key: at("cacheMaintenanceWindow"), message: in},
		{name: "regions[1].dbInstanceClass malformed", base: twoRegions, set: west("dbInstanceClass", `"r7g.large"`), key: at("dbInstanceClass"), message: in + "not a DB instance class"},
		{name: "regions[1].dbServerless not a boolean", base: twoRegions, set: west("dbServerless", `"yes"`), key: at("dbServerless"), message: "not a boolean"},
		{name: "regions[1].dbServerlessMinAcu 0", base: twoRegions, set: west("dbServerless", "true", "dbServerlessMinAcu", `"0"`), key: at("dbServerlessMinAcu"), message: in + "not a Serverless v2 capacity (0 would auto-pause"},
		{name: "regions[1].dbServerlessMaxAcu 0.5", base: twoRegions, set: west("dbServerless", "true", "dbServerlessMaxAcu", `"0.5"`), key: at("dbServerlessMaxAcu"), message: in + "not a usable Serverless v2 maximum capacity"},
		{name: "regions[1].dbReaders 16", base: twoRegions, set: west("dbReaders", "16"), key: at("dbReaders"), message: in + "an Aurora cluster takes at most 15 readers"},
		{name: "regions[1].dbBackupWindow 29 minutes", base: twoRegions, set: west("dbBackupWindow", `"03:00-03:29"`), key: at("dbBackupWindow"), message: in + "the window is 29 minutes"},
		{name: "regions[1].dbMaintenanceWindow 29 minutes", base: twoRegions, set: west("dbMaintenanceWindow", `"sun:05:00-sun:05:29"`), key: at("dbMaintenanceWindow"), message: in + "the window is 29 minutes"},
		{name: "regions[1].authReplicas 1", base: twoRegions, set: west("authReplicas", "1"), key: at("authReplicas"), message: in + "at least 2 pods"},
		{name: "regions[1].authReplicas 3 over azCount 4", base: twoRegions, set: west("authReplicas", "3", "azCount", "4"), key: at("authReplicas"), message: in + "the auth pods are pinned one Deployment per zone, and 3 replicas leave a zone of 4"},
		{name: "regions[1].authFargateCpu 3", base: twoRegions, set: west("authFargateCpu", `"3"`), key: at("authFargateCpu"), message: in + "not a Fargate vCPU size"},
		{name: "regions[1].authFargateMemoryGb 16", base: twoRegions, set: west("authFargateMemoryGb", `"16"`), key: at("authFargateMemoryGb"), message: in + "16 GiB does not go with 0.5 vCPU"},
		{name: "regions[1].certificateArn of us-east-1", base: twoRegions, set: west("certificateArn", `"`+testCertificateArn+`"`), key: at("certificateArn"), message: in + "the certificate is in us-east-1"},
		{name: "regions[1].albAccessLogsBucket malformed", base: twoRegions, set: west("albAccessLogsBucket", `"Logs_Bucket"`), key: at("albAccessLogsBucket"), message: in + "not an S3 bucket name"},
		{name: "regions[1].alarmEmail malformed", base: twoRegions, set: west("alarmEmail", `"oncall"`), key: at("alarmEmail"), message: in + "not an e-mail address"},
		{name: "regions[1].guardDutyEnabled not a boolean", base: twoRegions, set: west("guardDutyEnabled", `"on"`), key: at("guardDutyEnabled"), message: "not a boolean"},
		{name: "regions[1].guardDutyDetectorId malformed", base: twoRegions, set: west("guardDutyDetectorId", `"detector-1"`), key: at("guardDutyDetectorId"), message: in + "not a GuardDuty detector ID"},
		{name: "regions[1].albMtlsCaBundle without HTTPS", base: twoRegions, set: west("albMtlsCaBundle", `"`+caBundle+`"`), key: at("albMtlsCaBundle"), message: in + "mutual TLS needs HTTPS"},
	})
}

func TestEveryCheckOfTheRegionsListIsReached(t *testing.T) {
	regions := func(entries ...string) map[string]string { return set("regions", regionList(entries...)) }
	at := func(i int, name string) string { return fmt.Sprintf("%s[%d].%s", q("regions"), i, name) }
	const euWest = `{"region":"eu-west-1","vpcCidr":"10.80.0.0/16"}`
	runChecks(t, []checkCase{
		{name: "regions not a list of objects", base: twoRegions, set: set("regions", `["us-east-1","us-west-2"]`), key: "regions", message: "not a list of region objects"},
		{name: "regions entry without region", base: twoRegions, set: regions(eastEntry(), `{"vpcCidr":"10.70.0.0/16"}`), key: at(1, "region"), message: "the region is required"},
		{name: "regions entry with a misspelt region", base: twoRegions, set: regions(eastEntry(), `{"region":"us-west2","vpcCidr":"10.70.0.0/16"}`), key: at(1, "region"), message: "did you mean us-west-2?"},
		{name: "regions entry naming aws:region", base: twoRegions, set: regions(eastEntry(), westEntry("aws:region", `"us-west-2"`)), key: at(1, "aws:region"), message: "names its region with region:"},
		{name: "regions entry with the namespace prefix", base: twoRegions, set: regions(eastEntry(), westEntry("auth-platform:dbReaders", "2")),
			key: at(1, "auth-platform:dbReaders"), message: "without the auth-platform: prefix"},
		{name: "regions entry with a global key", base: twoRegions, set: regions(eastEntry(), westEntry("cacheShards", "2")), key: at(1, "cacheShards"), message: "cacheShards is the same in every region"},
		{name: "regions entry with an unknown key", base: twoRegions, set: regions(eastEntry(), westEntry("dbReader", "2")), key: at(1, "dbReader"), message: "unknown configuration key"},
		{name: "regions entry listed twice", base: twoRegions, set: regions(eastEntry(), eastEntry()), key: at(1, "region"), message: "us-east-1 is already regions[0]",
			problems: 2, also: []string{at(1, "vpcCidr")}},
		{name: "one region", base: twoRegions, set: regions(eastEntry()), key: "regions", message: "needs a primary and at least one secondary"},
		{name: "four regions", base: twoRegions, set: withConfig(regions(eastEntry(), westEntry(), euWest, `{"region":"us-east-2","vpcCidr":"10.90.0.0/16"}`), set("dnsRoutingPolicy", "latency")),
			key: "regions", message: "at most two secondaries"},
		{name: "aws:region not the primary", base: twoRegions, set: set("aws:region", "us-west-2"), key: "aws:region", message: "must name the primary region"},
		{name: "aws:region misspelt", base: twoRegions, set: set("aws:region", "us-east1"), key: "aws:region", message: "set aws:region to us-east-1, the first (primary) region"},
		{name: "primary region misspelt is its entry's problem only", base: twoRegions, set: regions(`{"region":"us-east1","vpcCidr":"10.60.0.0/16"}`, westEntry()),
			key: at(0, "region"), message: "did you mean us-east-1?"},
		{name: "cache node type malformed is not also refused by Global Datastore", base: twoRegions, set: set("cacheNodeType", "r7g.large"), key: "cacheNodeType", message: "not a node type"},
		{name: "overlapping VPCs", base: twoRegions, set: regions(eastEntry(), westEntry("vpcCidr", `"10.60.128.0/17"`)), key: at(1, "vpcCidr"), message: "must not overlap"},
		{name: "overlapping inherited VPCs", base: twoRegions, set: regions(`{"region":"us-east-1"}`, westEntry("vpcCidr", `"10.0.128.0/17"`)), key: at(1, "vpcCidr"), message: "does not overlap us-east-1's 10.0.0.0/16"},
		{name: "cache node Global Datastore refuses", base: twoRegions, set: set("cacheNodeType", "cache.t4g.medium"), key: "cacheNodeType", message: "Global Datastore does not accept this node type"},
		{name: "DB class a global database refuses", base: twoRegions, set: regions(eastEntry(), westEntry("dbInstanceClass", `"db.t4g.large"`)), key: at(1, "dbInstanceClass"),
			message: "in us-west-2: Aurora global databases need memory-optimized instances"},
		{name: "failover over three regions", base: twoRegions, set: regions(eastEntry(), westEntry(), euWest), key: "dnsRoutingPolicy", message: "exactly one primary and one secondary"},
		{name: "no authHostname", base: twoRegions, set: set("authHostname", "", "hostedZoneId", ""), key: "authHostname", message: "needs a DNS name to fail over"},
		{name: "a top-level value failing in one region is named there", base: twoRegions,
			set: set("authReplicas", "3", "regions", regionList(eastEntry(), westEntry("azCount", "4"))), key: at(1, "authReplicas"),
			message: "(the top-level value, which regions[1] inherits)"},
		{name: "a top-level value failing in every region is the top-level key's, once", base: twoRegions, set: set("dbReaders", "0"), key: "dbReaders", message: "at least one reader"},
	})
	runAccepted(t, []acceptCase{
		{name: "two regions", base: twoRegions},
		{name: "aws:region unset", base: twoRegions, set: set("aws:region", "")},
		{name: "regions empty is a single-region stack", set: set("regions", "[]")},
		{name: "three regions with latency routing", base: twoRegions, set: withConfig(regions(eastEntry(), westEntry(), euWest), set("dnsRoutingPolicy", "latency"))},
		{name: "adjacent VPCs", base: twoRegions, set: regions(eastEntry(), westEntry("vpcCidr", `"10.61.0.0/16"`))},
		{name: "serverless secondary with a burstable class left over", base: twoRegions, set: regions(eastEntry(), westEntry("dbServerless", "true", "dbInstanceClass", `"db.t4g.large"`))},
		{name: "regional overrides", base: twoRegions, set: regions(eastEntry("dbReaders", "2"), westEntry("authReplicas", "4", "azCount", "4", "guardDutyEnabled", "true"))},
	})
}

func TestMultiRegionMistakesAreReportedAtOnce(t *testing.T) {
	cfg := withConfig(twoRegions, set("regions", regionList(eastEntry("azCount", "2"), westEntry("dbReaders", "0"))))
	_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "%v", err)
	assert.ElementsMatch(t, []string{q("regions") + "[0].azCount", q("regions") + "[1].dbReaders"}, problemKeys(cerr.Problems), err.Error())
}

// failingLookup answers like the shared mocks, except that the calls of
// one function after the first skip fail as AWS fails them when the
// deploy role may not call it.
type failingLookup struct {
	*mocks.Mocks
	token string
	skip  int

	mu    sync.Mutex
	calls int
}

const accessDenied = "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/deploy/ci\n\tis not authorized to perform this action"

func (f *failingLookup) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == f.token {
		f.mu.Lock()
		f.calls++
		fail := f.calls > f.skip
		f.mu.Unlock()
		if fail {
			return nil, errors.New(accessDenied)
		}
	}
	return f.Mocks.Call(args)
}

// runFailingLookup runs the program with one lookup failing and returns
// the program's error and what registered.
func runFailingLookup(t *testing.T, stack string, cfg map[string]string, token string, skip int) ([]*mocks.Resource, int, error) {
	t.Helper()
	m := &failingLookup{Mocks: mocks.New(project, stack, cfg["aws:region"]), token: token, skip: skip}
	var runErr error
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, runErr = stacks.Run(ctx)
		return nil
	}, pulumi.WithMocks(project, stack, m), func(info *pulumi.RunInfo) { info.Config = cfg })
	require.NoError(t, err)
	return m.Resources(), m.calls, runErr
}

func TestPreflightReportsAFailedLookupUnderItsKey(t *testing.T) {
	global, _ := stackConfig(t, globalStack)
	const (
		eksVersions = "aws:eks/getClusterVersions:getClusterVersions"
		rdsVersion  = "aws:rds/getEngineVersion:getEngineVersion"
		rdsClass    = "aws:rds/getOrderableDbInstance:getOrderableDbInstance"
	)
	for _, tc := range []struct {
		name         string
		stack        string
		cfg          map[string]string
		token        string
		skip         int
		key, value   string
		message, fix string
	}{
		{"EKS versions cannot be looked up", "test", validBase, eksVersions, 0, "kubernetesVersion", "1.36",
			"could not look up the Kubernetes versions EKS offers: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/deploy/ci is not authorized", "eks:DescribeClusterVersions"},
		{"EKS versions cannot be looked up in the secondary", globalStack, global, eksVersions, 1, "kubernetesVersion", "1.36",
			"in us-west-2: could not look up the Kubernetes versions EKS offers", "eks:DescribeClusterVersions"},
		{"the secondary does not offer the primary's Aurora version", globalStack, global, rdsVersion, 1, "dbEngineVersion", "16",
			"RDS in us-west-2 offers no Aurora PostgreSQL 16.11, the version of the primary region (lookup: AccessDeniedException", "pin a minor that every region offers"},
		{"Serverless v2 cannot be ordered", "test", withConfig(validBase, set("dbServerless", "true")), rdsClass, 0, "dbServerless", "true",
			"cannot be ordered as db.serverless", "set dbServerless: false with a dbInstanceClass"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			registered, calls, err := runFailingLookup(t, tc.stack, tc.cfg, tc.token, tc.skip)
			require.Greater(t, calls, tc.skip, "the failing lookup was made")
			var cerr *stacks.ConfigError
			require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
			require.Len(t, cerr.Problems, 1, cerr.Error())
			p := cerr.Problems[0]
			assert.Equal(t, q(tc.key), p.Key)
			assert.Equal(t, tc.value, p.Value)
			assert.Contains(t, p.Message, tc.message)
			assert.NotContains(t, p.Message, "\n", "the provider's error stays on the problem's line")
			assert.Contains(t, p.Fix, tc.fix)
			require.NotEmpty(t, registered, "the regions' providers register before the preflight")
			for _, r := range registered {
				assert.Equal(t, "pulumi:providers:aws", r.Type, "nothing but the providers registers before the preflight passes: %s", r.URN)
			}
		})
	}
}
