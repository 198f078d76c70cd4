package tests

// Issue 18.3 (stacks part): every validation in stacks has a case that
// reaches it. Each rejected case introduces one mistake into an otherwise
// valid configuration and requires exactly the problems that mistake
// causes, on the key the user wrote, with a distinctive part of that
// check's message; each range check has its last valid value in the
// accepted table and its first invalid value in the rejected one, so that
// deleting a check, flipping `<` to `<=` or moving a bound by one fails a
// case.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/stacks"
)

// checkCase is one mistake and the problem it must cause.
type checkCase struct {
	name string
	base map[string]string // nil: validBase
	set  map[string]string // overrides; "" deletes a key
	// key is the key the problem names: a project key without its
	// namespace, or a full key (aws:..., auth-platform:regions[1]...).
	key     string
	message string // in the problem's text
	// problems is how many problems the mistake causes (0: one), all on
	// key unless also names another.
	problems int
	also     []string
	// asWritten: key is a full key as written, even without a colon.
	asWritten bool
}

func (c checkCase) fullKey() string {
	if c.asWritten || strings.Contains(c.key, ":") {
		return c.key
	}
	return q(c.key)
}

// runChecks requires each case to be rejected with exactly its problems.
func runChecks(t *testing.T, cases []checkCase) {
	t.Helper()
	names := map[string]bool{}
	for _, tc := range cases {
		require.False(t, names[tc.name], "case names are unique: %s", tc.name)
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			if base == nil {
				base = validBase
			}
			_, err := stacks.Load(project, "test", stacks.MapSource(base))
			require.NoError(t, err, "the case's base is valid")

			cfg := withConfig(base, tc.set)
			_, err = stacks.Load(project, "test", stacks.MapSource(cfg))
			var cerr *stacks.ConfigError
			require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
			want := tc.problems
			if want == 0 {
				want = 1
			}
			require.Len(t, cerr.Problems, want, "only the problems of this mistake:\n%v", err)
			allowed := map[string]bool{tc.fullKey(): true}
			for _, k := range tc.also {
				allowed[k] = true
			}
			for _, p := range cerr.Problems {
				assert.True(t, allowed[p.Key], "problem on an unexpected key: %s", p)
			}
			assertRejected(t, cfg, tc.fullKey(), tc.message)
		})
	}
}

// acceptCase is a value on the valid side of a check's bound.
type acceptCase struct {
	name string
	base map[string]string // nil: validBase
	set  map[string]string
}

func runAccepted(t *testing.T, cases []acceptCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			if base == nil {
				base = validBase
			}
			_, err := stacks.Load(project, "test", stacks.MapSource(withConfig(base, tc.set)))
			require.NoError(t, err)
		})
	}
}

// set builds an override map from key, value pairs; project keys are
// written without their namespace.
func set(kv ...string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i]
		if !strings.Contains(k, ":") {
			k = q(k)
		}
		out[k] = kv[i+1]
	}
	return out
}

func jsonList(items ...string) string {
	b, _ := json.Marshal(items)
	return string(b)
}

const (
	adminRole  = "arn:aws:iam::123456789012:role/auth-platform-deploy"
	kmsKeyEast = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	detector   = "0123456789abcdef0123456789abcdef"
	caBundle   = "s3://auth-ca-bundles/clients.pem"
)

// hostnameOfLength is a valid DNS name of n characters: labels of 49
// letters and a last ".com".
func hostnameOfLength(n int) string {
	var labels []string
	rest := n - len(".com")
	for rest > 50 {
		labels = append(labels, strings.Repeat("a", 49))
		rest -= 50
	}
	labels = append(labels, strings.Repeat("a", rest))
	return strings.Join(labels, ".") + ".com"
}

func TestHostnameOfLength(t *testing.T) {
	for _, n := range []int{253, 254} {
		h := hostnameOfLength(n)
		assert.Len(t, h, n)
		for _, label := range strings.Split(h, ".") {
			assert.NotEmpty(t, label)
			assert.LessOrEqual(t, len(label), 63)
		}
	}
}

func TestEveryClusterAndNetworkCheckIsReached(t *testing.T) {
	prod := dataTierProd
	runChecks(t, []checkCase{
		// Names and layout.
		{name: "appName of one letter", set: set("appName", "a"), key: "appName", message: "DNS-safe"},
		{name: "appName of 13 characters", set: set("appName", "abcdefghijklm"), key: "appName", message: "DNS-safe"},
		{name: "environment unknown", set: set("environment", "qa"), key: "environment", message: "unknown environment"},
		{name: "vpcCidr /21", set: set("vpcCidr", "10.0.0.0/21"), key: "vpcCidr", message: "prefix /21 is outside"},
		{name: "vpcCidr /15", set: set("vpcCidr", "10.0.0.0/15"), key: "vpcCidr", message: "prefix /15 is outside"},
		{name: "natGateways unknown", set: set("natGateways", "none"), key: "natGateways", message: "unknown NAT gateway layout"},

		// Zone counts: azCount, availabilityZones, availabilityZoneIds.
		{name: "azCount 2", set: set("azCount", "2"), key: "azCount", message: "needs at least 3 AZs"},
		{name: "azCount 8", set: set("azCount", "8", "authReplicas", "8"), key: "azCount", message: "room for at most 7 zones"},
		{name: "azCount 9 is refused for the layout, not also for Fargate profiles", set: set("azCount", "9", "authReplicas", "9"), key: "azCount", message: "room for at most 7 zones"},
		{name: "two availabilityZones", set: set("availabilityZones", jsonList("us-east-1a", "us-east-1b")), key: "availabilityZones", message: "fewer than 3 availability zones"},
		{name: "eight availabilityZones", set: set("availabilityZones", jsonList("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f", "us-east-1g", "us-east-1h"), "authReplicas", "8"),
			key: "availabilityZones", message: "room for at most 7 zones"},
		{name: "availabilityZones listed twice", set: set("availabilityZones", jsonList("us-east-1a", "us-east-1b", "us-east-1a")), key: "availabilityZones", message: "zone us-east-1a is listed twice"},
		{name: "availabilityZones of another region", set: set("availabilityZones", jsonList("us-east-1a", "us-east-1b", "us-west-2c")), key: "availabilityZones", message: "zone us-west-2c is not a zone of region us-east-1"},
		{name: "availabilityZoneIds with availabilityZones", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az4"), "availabilityZones", jsonList("us-east-1a", "us-east-1b", "us-east-1d")),
			key: "availabilityZoneIds", message: "a stack pins its zones one way"},
		{name: "two availabilityZoneIds", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2")), key: "availabilityZoneIds", message: "fewer than 3 availability zones"},
		{name: "eight availabilityZoneIds", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6", "use1-az7", "use1-az8", "use1-az9"), "authReplicas", "8"),
			key: "availabilityZoneIds", message: "too many availability zones"},
		{name: "availabilityZoneIds listed twice", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az1")), key: "availabilityZoneIds", message: "zone ID use1-az1 is listed twice"},
		{name: "availabilityZoneIds of another region", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "usw2-az1")), key: "availabilityZoneIds", message: "usw2-az1 is not a zone ID of region us-east-1"},
		{name: "availabilityZoneIds EKS refuses", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az3")), key: "availabilityZoneIds", message: "EKS does not support zone use1-az3"},

		// Zone placement: one auth pod per zone at least.
		{name: "authReplicas 2 leaves a zone of 3 without a pod", set: set("authReplicas", "2"), key: "authReplicas", message: "2 replicas leave a zone of 3 without a pod"},
		{name: "authReplicas 3 over azCount 4", set: set("azCount", "4"), key: "authReplicas", message: "3 replicas leave a zone of 4 without a pod"},
		{name: "authReplicas 3 over four availabilityZoneIds", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az4", "use1-az5")),
			key: "authReplicas", message: "or use fewer zones (availabilityZoneIds)"},

		// Kubernetes API endpoint and logs.
		{name: "kubernetesVersion not a minor", set: set("kubernetesVersion", "v1.33"), key: "kubernetesVersion", message: "not a Kubernetes minor version"},
		{name: "kubernetesVersion 1.29", set: set("kubernetesVersion", "1.29"), key: "kubernetesVersion", message: "not available before 1.30"},
		{name: "kubernetesVersion 1.3 (an unquoted 1.30)", set: set("kubernetesVersion", "1.3"), key: "kubernetesVersion", message: "YAML read it as the number 1.3"},
		{name: "both endpoints off", set: set("endpointPublicAccess", "false", "endpointPrivateAccess", "false"), key: "endpointPublicAccess", message: "nothing can reach the Kubernetes API"},
		{name: "public endpoint without CIDRs", set: set("publicAccessCidrs", "[]"), key: "publicAccessCidrs", message: "needs at least one allowed CIDR block"},
		{name: "publicAccessCidrs not a CIDR", set: set("publicAccessCidrs", jsonList("anywhere")), key: "publicAccessCidrs", message: "not an IPv4 CIDR block"},
		{name: "publicAccessCidrs IPv6", set: set("publicAccessCidrs", jsonList("2001:db8::/32")), key: "publicAccessCidrs", message: "not an IPv4 CIDR block"},
		{name: "publicAccessCidrs host bits", set: set("publicAccessCidrs", jsonList("203.0.113.7/24")), key: "publicAccessCidrs", message: "not an IPv4 CIDR block"},
		{name: "private endpoint off with narrow CIDRs", set: set("endpointPrivateAccess", "false", "publicAccessCidrs", jsonList("203.0.113.0/24")),
			key: "endpointPrivateAccess", message: "203.0.113.0/24 does not admit"},
		{name: "private endpoint off with half the addresses", set: set("endpointPrivateAccess", "false", "publicAccessCidrs", jsonList("0.0.0.0/1")),
			key: "endpointPrivateAccess", message: "0.0.0.0/1 does not admit"},
		{name: "private endpoint off without CIDRs is the CIDRs' problem only", set: set("endpointPrivateAccess", "false", "publicAccessCidrs", "[]"),
			key: "publicAccessCidrs", message: "needs at least one allowed CIDR block"},
		{name: "private endpoint off with a bad CIDR is the CIDR's problem only", set: set("endpointPrivateAccess", "false", "publicAccessCidrs", jsonList("203.0.113.0/24", "bogus")),
			key: "publicAccessCidrs", message: "not an IPv4 CIDR block"},
		{name: "clusterLogTypes unknown (and not also without audit)", set: set("clusterLogTypes", jsonList("api", "debug")), key: "clusterLogTypes", message: "unknown control-plane log type"},
		{name: "clusterLogTypes without audit", set: set("clusterLogTypes", jsonList("api", "authenticator")), key: "clusterLogTypes", message: "HighPodEvictionRate alarm counts eviction requests"},

		// Namespace.
		{name: "authNamespace not a DNS label", set: set("authNamespace", "Auth"), key: "authNamespace", message: "not a valid Kubernetes namespace name"},
		{name: "authNamespace of 64 characters", set: set("authNamespace", strings.Repeat("a", 64)), key: "authNamespace", message: "not a valid Kubernetes namespace name"},
		{name: "authNamespace kube-system", set: set("authNamespace", "kube-system"), key: "authNamespace", message: "system namespaces are reserved"},
		{name: "authNamespace default", set: set("authNamespace", "default"), key: "authNamespace", message: "system namespaces are reserved"},
		{name: "authNamespace kube-public", set: set("authNamespace", "kube-public"), key: "authNamespace", message: "system namespaces are reserved"},

		// Production rules.
		{name: "prod with a single NAT gateway", base: prod, set: set("natGateways", "single"), key: "natGateways", message: "cuts egress for every AZ"},
		{name: "prod unprotected", base: prod, set: set("protectStatefulResources", "false"), key: "protectStatefulResources", message: "must be protected"},
		{name: "prod without alarmEmail", base: prod, set: set("alarmEmail", ""), key: "alarmEmail", message: "production alarms need a destination"},
		{name: "prod without aws:allowedAccountIds", base: prod, set: set("aws:allowedAccountIds", ""), key: "aws:allowedAccountIds", message: "must name its AWS account"},
		{name: "prod with empty aws:allowedAccountIds", base: prod, set: set("aws:allowedAccountIds", "[]"), key: "aws:allowedAccountIds", message: "must name its AWS account"},

		// Typed reading.
		{name: "region missing", set: set("aws:region", ""), key: "aws:region", message: "the AWS region is required"},
		{name: "region misspelt", set: set("aws:region", "us-east1"), key: "aws:region", message: "did you mean us-east-1?"},
		{name: "region unknown", set: set("aws:region", "mars-north-9"), key: "aws:region", message: "unknown AWS region"},
		{name: "region misspelt: zones, key and certificate are not also checked against it", set: set("aws:region", "us-east1",
			"availabilityZones", jsonList("us-east-1a", "us-east-1b", "us-east-1d"), "cacheKmsKeyArn", kmsKeyEast, "certificateArn", testCertificateArn,
			"clusterAdminPrincipalArns", jsonList(adminRole)), key: "aws:region", message: "did you mean us-east-1?"},
		{name: "region missing: zone IDs are not also checked against it", set: set("aws:region", "", "availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az4")),
			key: "aws:region", message: "the AWS region is required"},
		{name: "integer not a number", set: set("azCount", "three"), key: "azCount", message: "not an integer"},
		{name: "boolean yes", set: set("cacheMultiAz", "yes"), key: "cacheMultiAz", message: "not a boolean"},
		{name: "list not a list", set: set("clusterLogTypes", "api"), key: "clusterLogTypes", message: "not a list of strings"},
		{name: "decimal not a number", set: set("authFargateCpu", "half"), key: "authFargateCpu", message: "not a number"},
	})
	runAccepted(t, []acceptCase{
		{name: "appName of two letters", set: set("appName", "ab")},
		{name: "appName of 12 characters", set: set("appName", "abcdefghijkl")},
		{name: "vpcCidr /16", set: set("vpcCidr", "10.0.0.0/16")},
		{name: "vpcCidr /20", set: set("vpcCidr", "10.0.0.0/20")},
		{name: "azCount 3", set: set("azCount", "3")},
		{name: "azCount 7", set: set("azCount", "7", "authReplicas", "7")},
		{name: "three availabilityZones", set: set("availabilityZones", jsonList("us-east-1a", "us-east-1b", "us-east-1d"))},
		{name: "seven availabilityZones", set: set("availabilityZones", jsonList("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f", "us-east-1g"), "authReplicas", "7")},
		{name: "three availabilityZoneIds", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az4"))},
		{name: "seven availabilityZoneIds", set: set("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6", "use1-az7", "use1-az8"), "authReplicas", "7")},
		{name: "authReplicas 4 over azCount 4", set: set("azCount", "4", "authReplicas", "4")},
		{name: "kubernetesVersion 1.30", set: set("kubernetesVersion", "1.30")},
		{name: "public endpoint off without CIDRs", set: set("endpointPublicAccess", "false", "publicAccessCidrs", "[]")},
		{name: "private endpoint off open to everyone", set: set("endpointPrivateAccess", "false")},
		{name: "private endpoint off, public off", set: set("endpointPrivateAccess", "true", "endpointPublicAccess", "false")},
		{name: "authNamespace of 63 characters", set: set("authNamespace", strings.Repeat("a", 63))},
		{name: "authNamespace starting with kube but not kube-", set: set("authNamespace", "kubeauth")},
		{name: "prod as shipped in the table", base: dataTierProd},
	})
}

func TestEveryDataTierCheckIsReached(t *testing.T) {
	prod := dataTierProd
	serverless := withConfig(validBase, set("dbServerless", "true"))
	runChecks(t, []checkCase{
		// ElastiCache.
		{name: "cacheEngine memcached", set: set("cacheEngine", "memcached"), key: "cacheEngine", message: "unknown ElastiCache engine"},
		{name: "cacheEngineVersion of redis for valkey", set: set("cacheEngineVersion", "7.1"), key: "cacheEngineVersion", message: "not a version of valkey"},
		{name: "cacheEngineVersion 8 unquoted", set: set("cacheEngineVersion", "8"), key: "cacheEngineVersion", message: `quote it, "8.0"`},
		{name: "cacheEngineVersion of valkey for redis", set: set("cacheEngine", "redis", "cacheEngineVersion", "8.0"), key: "cacheEngineVersion", message: "set 7.1 (or 7.0) for redis"},
		{name: "cacheNodeType not a type", set: set("cacheNodeType", "r7g.large"), key: "cacheNodeType", message: "not a node type"},
		{name: "cacheNodeType burstable in prod", base: prod, set: set("cacheNodeType", "cache.t4g.medium"), key: "cacheNodeType", message: "burstable nodes throttle"},
		{name: "cacheShards 0", set: set("cacheShards", "0"), key: "cacheShards", message: "needs at least one shard"},
		{name: "cacheShards 91", set: set("cacheShards", "91", "cacheReplicasPerShard", "0", "cacheMultiAz", "false"), key: "cacheShards", message: "default quota is 90 shards"},
		{name: "cacheReplicasPerShard 6", set: set("cacheReplicasPerShard", "6"), key: "cacheReplicasPerShard", message: "at most 5 replicas per shard"},
		{name: "cacheReplicasPerShard -1", set: set("cacheReplicasPerShard", "-1"), key: "cacheReplicasPerShard", message: "at most 5 replicas per shard"},
		{name: "no replica with Multi-AZ", set: set("cacheReplicasPerShard", "0"), key: "cacheReplicasPerShard", message: "needs a replica in another AZ"},
		{name: "no replica in prod", base: prod, set: set("cacheReplicasPerShard", "0", "cacheMultiAz", "false"), key: "cacheReplicasPerShard", message: "loses its data",
			problems: 2, also: []string{q("cacheMultiAz")}},
		{name: "90 shards of 2 nodes are 180 nodes", set: set("cacheShards", "90"), key: "cacheShards", message: "make 180 nodes, above the default quota of 90"},
		{name: "cacheReplicasPerShard 6 is not also over the node quota", set: set("cacheShards", "20", "cacheReplicasPerShard", "6"), key: "cacheReplicasPerShard", message: "at most 5 replicas per shard"},
		{name: "46 shards of 2 nodes are 92 nodes", set: set("cacheShards", "46"), key: "cacheShards", message: "make 92 nodes, above the default quota of 90"},
		{name: "cacheMultiAz off in prod", base: prod, set: set("cacheMultiAz", "false"), key: "cacheMultiAz", message: "goes down with its AZ"},
		{name: "cacheAtRestEncryption off in prod", base: prod, set: set("cacheAtRestEncryption", "false"), key: "cacheAtRestEncryption", message: "encrypted at rest"},
		{name: "cacheKmsKeyArn not an ARN", set: set("cacheKmsKeyArn", "alias/cache"), key: "cacheKmsKeyArn", message: "not a KMS key ARN"},
		{name: "cacheKmsKeyArn of another region", set: set("cacheKmsKeyArn", strings.Replace(kmsKeyEast, "us-east-1", "eu-west-1", 1)), key: "cacheKmsKeyArn", message: "the key is in eu-west-1"},
		{name: "cacheKmsKeyArn without at-rest encryption", set: set("cacheKmsKeyArn", kmsKeyEast, "cacheAtRestEncryption", "false"), key: "cacheKmsKeyArn", message: "AWS rejects the pair"},
		{name: "cacheSnapshotRetentionDays -1", set: set("cacheSnapshotRetentionDays", "-1"), key: "cacheSnapshotRetentionDays", message: "cannot be negative"},
		{name: "cacheSnapshotRetentionDays 36", set: set("cacheSnapshotRetentionDays", "36"), key: "cacheSnapshotRetentionDays", message: "at most 35 days"},
		{name: "cacheSnapshotRetentionDays 0 in prod", base: prod, set: set("cacheSnapshotRetentionDays", "0"), key: "cacheSnapshotRetentionDays", message: "snapshots are off"},
		{name: "cacheSnapshotWindow malformed", set: set("cacheSnapshotWindow", "2am-3am"), key: "cacheSnapshotWindow", message: "hh24:mi-hh24:mi"},
		{name: "cacheSnapshotWindow 59 minutes", set: set("cacheSnapshotWindow", "02:00-02:59"), key: "cacheSnapshotWindow", message: "the window is 59 minutes"},
		{name: "cacheMaintenanceWindow malformed", set: set("cacheMaintenanceWindow", "sunday"), key: "cacheMaintenanceWindow", message: "ddd:hh24:mi-ddd:hh24:mi"},
		{name: "cacheMaintenanceWindow 59 minutes", set: set("cacheMaintenanceWindow", "sun:04:00-sun:04:59"), key: "cacheMaintenanceWindow", message: "the window is 59 minutes"},
		{name: "cache windows overlap", set: set("cacheSnapshotWindow", "04:30-05:30"), key: "cacheSnapshotWindow", message: "overlaps the maintenance window"},

		// Aurora.
		{name: "dbEngineVersion malformed", set: set("dbEngineVersion", "16.x"), key: "dbEngineVersion", message: "want a major such as"},
		{name: "dbEngineVersion 12", set: set("dbEngineVersion", "12"), key: "dbEngineVersion", message: "majors 13 and later"},
		{name: "dbInstanceClass malformed", set: set("dbInstanceClass", "r7g.large"), key: "dbInstanceClass", message: "not a DB instance class"},
		{name: "dbInstanceClass burstable in prod", base: prod, set: set("dbInstanceClass", "db.t4g.medium"), key: "dbInstanceClass", message: "CPU credits"},
		{name: "dbServerlessMinAcu 0", base: serverless, set: set("dbServerlessMinAcu", "0"), key: "dbServerlessMinAcu", message: "auto-pause"},
		{name: "dbServerlessMinAcu 0.7", base: serverless, set: set("dbServerlessMinAcu", "0.7"), key: "dbServerlessMinAcu", message: "not a Serverless v2 capacity"},
		{name: "dbServerlessMaxAcu 0.5", base: serverless, set: set("dbServerlessMaxAcu", "0.5"), key: "dbServerlessMaxAcu", message: "not a usable Serverless v2 maximum"},
		{name: "dbServerlessMaxAcu below the minimum", base: serverless, set: set("dbServerlessMinAcu", "4", "dbServerlessMaxAcu", "3.5"), key: "dbServerlessMaxAcu", message: "not a usable Serverless v2 maximum"},
		{name: "dbServerlessMaxAcu 256.5", base: serverless, set: set("dbServerlessMaxAcu", "256.5"), key: "dbServerlessMaxAcu", message: "not a usable Serverless v2 maximum"},
		{name: "dbServerlessMaxAcu text", base: serverless, set: set("dbServerlessMaxAcu", "lots"), key: "dbServerlessMaxAcu", message: "not a number"},
		{name: "dbReaders 0", set: set("dbReaders", "0"), key: "dbReaders", message: "at least one reader"},
		{name: "dbReaders 16", set: set("dbReaders", "16"), key: "dbReaders", message: "at most 15 readers"},
		{name: "dbName starting with a digit", set: set("dbName", "1auth"), key: "dbName", message: "database name must be 1-63 letters"},
		{name: "dbMasterUsername with a dash", set: set("dbMasterUsername", "auth-admin"), key: "dbMasterUsername", message: "master username must be 1-63 letters"},
		{name: "dbBackupRetentionDays 6", set: set("dbBackupRetentionDays", "6"), key: "dbBackupRetentionDays", message: "at least 7 days"},
		{name: "dbBackupRetentionDays 36", set: set("dbBackupRetentionDays", "36"), key: "dbBackupRetentionDays", message: "at most 35 days"},
		{name: "dbPerformanceInsightsRetentionDays 8", set: set("dbPerformanceInsightsRetentionDays", "8"), key: "dbPerformanceInsightsRetentionDays", message: "only for these periods"},
		{name: "dbPerformanceInsightsRetentionDays 744", set: set("dbPerformanceInsightsRetentionDays", "744"), key: "dbPerformanceInsightsRetentionDays", message: "only for these periods"},
		{name: "dbBackupWindow malformed", set: set("dbBackupWindow", "3-4"), key: "dbBackupWindow", message: "hh24:mi-hh24:mi"},
		{name: "dbBackupWindow 29 minutes", set: set("dbBackupWindow", "03:00-03:29"), key: "dbBackupWindow", message: "the window is 29 minutes"},
		{name: "dbMaintenanceWindow 29 minutes", set: set("dbMaintenanceWindow", "sun:05:00-sun:05:29"), key: "dbMaintenanceWindow", message: "the window is 29 minutes"},
		{name: "db windows overlap", set: set("dbBackupWindow", "05:15-06:15"), key: "dbBackupWindow", message: "overlaps the maintenance window"},
	})
	runAccepted(t, []acceptCase{
		{name: "cacheShards 1", set: set("cacheShards", "1")},
		{name: "90 shards of one node", set: set("cacheShards", "90", "cacheReplicasPerShard", "0", "cacheMultiAz", "false")},
		{name: "45 shards of 2 nodes are 90 nodes", set: set("cacheShards", "45")},
		{name: "cacheReplicasPerShard 5", set: set("cacheReplicasPerShard", "5")},
		{name: "no replica without Multi-AZ outside prod", set: set("cacheReplicasPerShard", "0", "cacheMultiAz", "false")},
		{name: "cacheKmsKeyArn of the region", set: set("cacheKmsKeyArn", kmsKeyEast)},
		{name: "cacheSnapshotRetentionDays 0 outside prod", set: set("cacheSnapshotRetentionDays", "0")},
		{name: "cacheSnapshotRetentionDays 35", set: set("cacheSnapshotRetentionDays", "35")},
		{name: "cacheSnapshotRetentionDays 1 in prod", base: dataTierProd, set: set("cacheSnapshotRetentionDays", "1")},
		{name: "cacheSnapshotWindow 60 minutes", set: set("cacheSnapshotWindow", "01:00-02:00")},
		{name: "cacheMaintenanceWindow 60 minutes", set: set("cacheMaintenanceWindow", "mon:04:00-mon:05:00")},
		{name: "dbServerlessMinAcu 0.5, max 1", base: serverless, set: set("dbServerlessMinAcu", "0.5", "dbServerlessMaxAcu", "1")},
		{name: "dbServerlessMaxAcu equal to the minimum", base: serverless, set: set("dbServerlessMinAcu", "4", "dbServerlessMaxAcu", "4")},
		{name: "dbServerless 256 ACUs", base: serverless, set: set("dbServerlessMinAcu", "256", "dbServerlessMaxAcu", "256")},
		{name: "a stray capacity in a provisioned stack", set: set("dbServerlessMinAcu", "0")},
		{name: "dbReaders 1", set: set("dbReaders", "1")},
		{name: "dbReaders 15", set: set("dbReaders", "15")},
		{name: "dbBackupRetentionDays 7", set: set("dbBackupRetentionDays", "7")},
		{name: "dbBackupRetentionDays 35", set: set("dbBackupRetentionDays", "35")},
		{name: "dbPerformanceInsightsRetentionDays 31", set: set("dbPerformanceInsightsRetentionDays", "31")},
		{name: "dbPerformanceInsightsRetentionDays 713", set: set("dbPerformanceInsightsRetentionDays", "713")},
		{name: "dbPerformanceInsightsRetentionDays 731", set: set("dbPerformanceInsightsRetentionDays", "731")},
		{name: "dbBackupWindow 30 minutes", set: set("dbBackupWindow", "03:00-03:30")},
		{name: "dbMaintenanceWindow 30 minutes", set: set("dbMaintenanceWindow", "sun:05:00-sun:05:30")},
		{name: "db windows back to back", set: set("dbBackupWindow", "04:00-05:00")},
	})
}

func TestEveryServiceAndDNSCheckIsReached(t *testing.T) {
	prod := dataTierProd
	dns := withConfig(validBase, set("authHostname", "auth.example.com", "hostedZoneId", "Z0123456789ABCDEFGHIJ"))
	runChecks(t, []checkCase{
		{name: "authImage not a reference", set: set("authImage", "Not An Image"), key: "authImage", message: "not an image reference"},
		{name: "authImage unpinned", set: set("authImage", "ghcr.io/authplatform/auth-service"), key: "authImage", message: "resolves to :latest"},
		{name: "authImage latest", set: set("authImage", "ghcr.io/authplatform/auth-service:latest"), key: "authImage", message: "a new push never rolls the Deployment"},
		{name: "authReplicas 1", set: set("authReplicas", "1"), key: "authReplicas", message: "at least 2 pods keep the service up"},
		{name: "authReplicas 51", set: set("authReplicas", "51"), key: "authReplicas", message: "more than 50 pods"},
		{name: "authFargateCpu 3", set: set("authFargateCpu", "3"), key: "authFargateCpu", message: "not a Fargate vCPU size"},
		{name: "authFargateMemoryGb 16 with 0.5 vCPU", set: set("authFargateMemoryGb", "16"), key: "authFargateMemoryGb", message: "does not go with 0.5 vCPU"},
		{name: "sessionTtlSeconds 59", set: set("sessionTtlSeconds", "59"), key: "sessionTtlSeconds", message: "shorter than a minute"},
		{name: "sessionTtlSeconds 604801", set: set("sessionTtlSeconds", "604801"), key: "sessionTtlSeconds", message: "longer than a week"},
		{name: "drainPropagationSeconds 0", set: set("drainPropagationSeconds", "0"), key: "drainPropagationSeconds", message: "the allowance must be positive"},
		{name: "drainPropagationSeconds 601", set: set("drainPropagationSeconds", "601"), key: "drainPropagationSeconds", message: "more than 600 s"},
		{name: "maxRequestSeconds 0", set: set("maxRequestSeconds", "0"), key: "maxRequestSeconds", message: "must be a positive number of seconds"},
		{name: "maxRequestSeconds 601", set: set("maxRequestSeconds", "601"), key: "maxRequestSeconds", message: "longer than 600 s is a hung request"},
		{name: "shutdownSeconds 0", set: set("shutdownSeconds", "0"), key: "shutdownSeconds", message: "must be a positive number of seconds"},
		{name: "shutdownSeconds 601", set: set("shutdownSeconds", "601"), key: "shutdownSeconds", message: "longer than 600 s does not fit"},
		{name: "deregistrationDelaySeconds -1", set: set("deregistrationDelaySeconds", "-1"), key: "deregistrationDelaySeconds", message: "0 to 3600 s"},
		{name: "deregistrationDelaySeconds 3601", set: set("deregistrationDelaySeconds", "3601"), key: "deregistrationDelaySeconds", message: "0 to 3600 s"},
		{name: "preStopSleepSeconds -1", set: set("preStopSleepSeconds", "-1"), key: "preStopSleepSeconds", message: "capped at 900 s"},
		{name: "terminationGracePeriodSeconds -1", set: set("terminationGracePeriodSeconds", "-1"), key: "terminationGracePeriodSeconds", message: "0 (derived) to 900"},
		{name: "certificateArn not an ACM ARN", set: set("certificateArn", "arn:aws:iam::123456789012:server-certificate/auth"), key: "certificateArn", message: "not an ACM certificate ARN"},
		{name: "certificateArn of another region", set: set("certificateArn", strings.Replace(testCertificateArn, "us-east-1", "eu-west-1", 1)), key: "certificateArn", message: "the certificate is in eu-west-1"},
		{name: "prod without certificateArn", base: prod, set: set("certificateArn", ""), key: "certificateArn", message: "must not travel over plain HTTP"},
		{name: "albAccessLogsBucket not a bucket name", set: set("albAccessLogsBucket", "Logs_Bucket"), key: "albAccessLogsBucket", message: "not an S3 bucket name"},
		{name: "albAccessLogsBucket with two dots", set: set("albAccessLogsBucket", "logs..bucket"), key: "albAccessLogsBucket", message: "not an S3 bucket name"},
		{name: "alarmEmail not an address", set: set("alarmEmail", "oncall"), key: "alarmEmail", message: "not an e-mail address"},

		// DNS.
		{name: "authHostname not a DNS name", base: dns, set: set("authHostname", "Auth_Service.example.com"), key: "authHostname", message: "not a DNS name"},
		{name: "authHostname of 254 characters", base: dns, set: set("authHostname", hostnameOfLength(254)), key: "authHostname", message: "not a DNS name"},
		{name: "hostedZoneId not a zone ID", base: dns, set: set("hostedZoneId", "example.com"), key: "hostedZoneId", message: "not a Route 53 hosted zone ID"},
		{name: "authHostname without hostedZoneId", base: dns, set: set("hostedZoneId", ""), key: "hostedZoneId", message: "needs a name and the zone that holds it"},
		{name: "hostedZoneId without authHostname", base: dns, set: set("authHostname", ""), key: "authHostname", message: "needs a name and the zone that holds it"},
		{name: "dnsRoutingPolicy geo", set: set("dnsRoutingPolicy", "geo"), key: "dnsRoutingPolicy", message: "unknown routing policy"},
		{name: "healthCheckIntervalSeconds 20", set: set("healthCheckIntervalSeconds", "20"), key: "healthCheckIntervalSeconds", message: "every 10 or 30 seconds"},
		{name: "healthCheckFailureThreshold 0", set: set("healthCheckFailureThreshold", "0"), key: "healthCheckFailureThreshold", message: "at least one failed check"},
		{name: "healthCheckFailureThreshold 11", set: set("healthCheckFailureThreshold", "11"), key: "healthCheckFailureThreshold", message: "at most 10 consecutive failures"},
		{name: "two healthCheckRegions", set: set("healthCheckRegions", jsonList("us-east-1", "us-west-2")), key: "healthCheckRegions", message: "at least 3 checker regions"},
		{name: "healthCheckRegions unknown", set: set("healthCheckRegions", jsonList("us-east-1", "us-west-2", "eu-central-1")), key: "healthCheckRegions", message: "not a Route 53 health checker region"},
	})
	runAccepted(t, []acceptCase{
		{name: "authImage by digest", set: set("authImage", "ghcr.io/authplatform/auth-service@sha256:"+strings.Repeat("a", 64))},
		{name: "authImage built by the stack", set: set("authImage", "")},
		{name: "authReplicas 50", set: set("authReplicas", "50")},
		{name: "sessionTtlSeconds 60", set: set("sessionTtlSeconds", "60")},
		{name: "sessionTtlSeconds 604800", set: set("sessionTtlSeconds", "604800")},
		{name: "drainPropagationSeconds 1", set: set("drainPropagationSeconds", "1")},
		{name: "drainPropagationSeconds 600", set: set("drainPropagationSeconds", "600")},
		{name: "maxRequestSeconds 1", set: set("maxRequestSeconds", "1")},
		{name: "maxRequestSeconds 600", set: set("maxRequestSeconds", "600")},
		{name: "shutdownSeconds 1", set: set("shutdownSeconds", "1")},
		{name: "shutdownSeconds 600", set: set("shutdownSeconds", "600")},
		{name: "certificateArn of the region", set: set("certificateArn", testCertificateArn)},
		{name: "albAccessLogsBucket", set: set("albAccessLogsBucket", "auth.logs-bucket")},
		{name: "alarmEmail", set: set("alarmEmail", "auth-oncall@example.com")},
		{name: "authHostname of 253 characters", base: dns, set: set("authHostname", hostnameOfLength(253))},
		{name: "healthCheckIntervalSeconds 10", set: set("healthCheckIntervalSeconds", "10")},
		{name: "healthCheckFailureThreshold 1", set: set("healthCheckFailureThreshold", "1")},
		{name: "healthCheckFailureThreshold 10", set: set("healthCheckFailureThreshold", "10")},
		{name: "three healthCheckRegions", set: set("healthCheckRegions", jsonList("us-east-1", "us-west-2", "eu-west-1"))},
		{name: "dnsRoutingPolicy latency", set: set("dnsRoutingPolicy", "latency")},
	})
}

func TestEveryDefenseAndAccessCheckIsReached(t *testing.T) {
	prod := dataTierProd
	runChecks(t, []checkCase{
		{name: "wafMode detect", set: set("wafMode", "detect"), key: "wafMode", message: `mode "detect"`},
		{name: "wafRuleGroups not free", set: set("wafRuleGroups", jsonList("AWSManagedRulesBotControlRuleSet")), key: "wafRuleGroups", message: "is not a free AWS managed rule group"},
		{name: "wafRuleGroups listed twice", set: set("wafRuleGroups", jsonList("AWSManagedRulesCommonRuleSet", "AWSManagedRulesCommonRuleSet")), key: "wafRuleGroups", message: "is listed twice"},
		{name: "wafLoginRateLimit 9", set: set("wafLoginRateLimit", "9"), key: "wafLoginRateLimit", message: "rate limit 9"},
		{name: "wafLoginRateLimit 2000000001", set: set("wafLoginRateLimit", "2000000001"), key: "wafLoginRateLimit", message: "rate limit 2000000001"},
		{name: "wafRateWindowSeconds 90", set: set("wafRateWindowSeconds", "90"), key: "wafRateWindowSeconds", message: "rate window 90 s"},
		{name: "wafLogRetentionDays 2", set: set("wafLogRetentionDays", "2"), key: "wafLogRetentionDays", message: "does not accept a retention of 2 days"},
		{name: "wafLogRetentionDays 3654", set: set("wafLogRetentionDays", "3654"), key: "wafLogRetentionDays", message: "does not accept a retention of 3654 days"},
		{name: "flowLogsRetentionDays 0", set: set("flowLogsRetentionDays", "0"), key: "flowLogsRetentionDays", message: "does not accept a retention of 0 days"},
		{name: "albAccessLogsRetentionDays 0", set: set("albAccessLogsRetentionDays", "0"), key: "albAccessLogsRetentionDays", message: "access-log retention out of range"},
		{name: "albAccessLogsRetentionDays 3651", set: set("albAccessLogsRetentionDays", "3651"), key: "albAccessLogsRetentionDays", message: "access-log retention out of range"},
		{name: "wafBlockedRequestsAlarmThreshold 0", set: set("wafBlockedRequestsAlarmThreshold", "0"), key: "wafBlockedRequestsAlarmThreshold", message: "the alarm threshold must be positive"},
		{name: "podEvictionAlarmThreshold 0", set: set("podEvictionAlarmThreshold", "0"), key: "podEvictionAlarmThreshold", message: "the alarm threshold must be positive"},
		{name: "guardDutyDetectorId malformed", set: set("guardDutyDetectorId", "detector-1"), key: "guardDutyDetectorId", message: "not a GuardDuty detector ID"},
		{name: "albMtlsCaBundle not an S3 URI", set: set("albMtlsCaBundle", "https://example.com/ca.pem", "certificateArn", testCertificateArn), key: "albMtlsCaBundle", message: "not an S3 URI of a PEM file"},
		{name: "albMtlsCaBundle without HTTPS", set: set("albMtlsCaBundle", caBundle), key: "albMtlsCaBundle", message: "mutual TLS needs HTTPS"},
		{name: "prod without WAF", base: prod, set: set("wafEnabled", "false"), key: "wafEnabled", message: "must sit behind the WAF"},
		{name: "prod without access logs", base: prod, set: set("albAccessLogs", "false"), key: "albAccessLogs", message: "must keep access logs"},
		{name: "prod without flow logs", base: prod, set: set("flowLogsEnabled", "false"), key: "flowLogsEnabled", message: "must record flow logs"},

		// Cluster access.
		{name: "admin principal an STS session", set: set("clusterAdminPrincipalArns", jsonList("arn:aws:sts::123456789012:assumed-role/deploy/ci")), key: "clusterAdminPrincipalArns", message: "an STS session, not a role"},
		{name: "viewer principal not an ARN", set: set("clusterViewerPrincipalArns", jsonList("deploy")), key: "clusterViewerPrincipalArns", message: "not an IAM role or user ARN"},
		{name: "admin principal of another partition", set: set("clusterAdminPrincipalArns", jsonList("arn:aws-cn:iam::123456789012:role/deploy")), key: "clusterAdminPrincipalArns", message: "the principal is in partition aws-cn"},
		{name: "admin principal listed twice", set: set("clusterAdminPrincipalArns", jsonList(adminRole, adminRole)), key: "clusterAdminPrincipalArns", message: "list it once"},
		{name: "principal both admin and viewer", set: set("clusterAdminPrincipalArns", jsonList(adminRole), "clusterViewerPrincipalArns", jsonList(adminRole)), key: "clusterViewerPrincipalArns", message: "admin includes view"},
	})
	runAccepted(t, []acceptCase{
		{name: "wafLoginRateLimit 10", set: set("wafLoginRateLimit", "10")},
		{name: "wafLoginRateLimit 2000000000", set: set("wafLoginRateLimit", "2000000000")},
		{name: "wafRateWindowSeconds 60", set: set("wafRateWindowSeconds", "60")},
		{name: "wafLogRetentionDays 1", set: set("wafLogRetentionDays", "1")},
		{name: "flowLogsRetentionDays 3653", set: set("flowLogsRetentionDays", "3653")},
		{name: "albAccessLogsRetentionDays 1", set: set("albAccessLogsRetentionDays", "1")},
		{name: "albAccessLogsRetentionDays 3650", set: set("albAccessLogsRetentionDays", "3650")},
		{name: "wafBlockedRequestsAlarmThreshold 1", set: set("wafBlockedRequestsAlarmThreshold", "1")},
		{name: "podEvictionAlarmThreshold 1", set: set("podEvictionAlarmThreshold", "1")},
		{name: "guardDutyDetectorId", set: set("guardDutyEnabled", "true", "guardDutyDetectorId", detector)},
		{name: "albMtlsCaBundle with HTTPS", set: set("albMtlsCaBundle", caBundle, "certificateArn", testCertificateArn)},
		{name: "admin and viewer principals", set: set("clusterAdminPrincipalArns", jsonList(adminRole), "clusterViewerPrincipalArns", jsonList("arn:aws:iam::123456789012:user/auditor"))},
		{name: "prod without WAF outside prod", set: set("wafEnabled", "false", "albAccessLogs", "false", "flowLogsEnabled", "false")},
	})
}

func TestEveryAWSAndAccountingCheckIsReached(t *testing.T) {
	const webIdentity = `{"roleArn":"arn:aws:iam::123456789012:role/ci","webIdentityTokenFile":"/var/run/secrets/token"}`
	runChecks(t, []checkCase{
		{name: "aws:allowedAccountIds not a list", set: set("aws:allowedAccountIds", "123456789012"), key: "aws:allowedAccountIds", message: "not a list of strings"},
		{name: "aws:allowedAccountIds short", set: set("aws:allowedAccountIds", jsonList("12345")), key: "aws:allowedAccountIds", message: "not an AWS account ID"},
		{name: "aws:forbiddenAccountIds short", set: set("aws:forbiddenAccountIds", jsonList("12345678901x")), key: "aws:forbiddenAccountIds", message: "not an AWS account ID"},
		{name: "aws:forbiddenAccountIds with aws:allowedAccountIds", set: set("aws:allowedAccountIds", jsonList("123456789012"), "aws:forbiddenAccountIds", jsonList("210987654321")),
			key: "aws:forbiddenAccountIds", message: "refuses both lists together"},
		{name: "aws:assumeRole without roleArn", set: set("aws:assumeRole", `{"sessionName":"deploy"}`), key: "aws:assumeRole", message: "not an assumeRole object with a roleArn"},
		{name: "aws:assumeRole not an object", set: set("aws:assumeRole", "arn:aws:iam::123456789012:role/deploy"), key: "aws:assumeRole", message: "not an assumeRole object with a roleArn"},
		{name: "aws:assumeRoleWithWebIdentity with a user ARN", set: set("aws:assumeRoleWithWebIdentity", `{"roleArn":"arn:aws:iam::123456789012:user/ci"}`),
			key: "aws:assumeRoleWithWebIdentity", message: "not an assumeRoleWithWebIdentity object with a roleArn"},
		{name: "aws:assumeRoleWithWebIdentity not an object", set: set("aws:assumeRoleWithWebIdentity", "[1]"), key: "aws:assumeRoleWithWebIdentity", message: "not an assumeRoleWithWebIdentity object"},
		{name: "aws:stsRegion unknown", set: set("aws:stsRegion", "us-east1"), key: "aws:stsRegion", message: "unknown AWS region"},
		{name: "aws:maxRetries -1", set: set("aws:maxRetries", "-1"), key: "aws:maxRetries", message: "not a retry count"},
		{name: "aws:maxRetries 101", set: set("aws:maxRetries", "101"), key: "aws:maxRetries", message: "not a retry count"},
		{name: "aws:maxRetries text", set: set("aws:maxRetries", "many"), key: "aws:maxRetries", message: "not a retry count"},
		{name: "aws:retryMode legacy", set: set("aws:retryMode", "legacy"), key: "aws:retryMode", message: "unknown retry mode"},
		{name: "aws:accessKey in plaintext", set: set("aws:accessKey", "AKIAIOSFODNN7EXAMPLE"), key: "aws:accessKey", message: "must be stored encrypted"},
		{name: "aws: project key", set: set("aws:vpcCidr", "10.0.0.0/16"), key: "aws:vpcCidr", message: "did you mean auth-platform:vpcCidr?"},
		{name: "aws: provider setting not passed on", set: set("aws:defaultTags", `{"tags":{"team":"auth"}}`), key: "aws:defaultTags", message: "not passed on to the stack's providers"},
		{name: "aws: setting misspelt", set: set("aws:profil", "deploy"), key: "aws:profil", message: "did you mean aws:profile?"},
		{name: "aws: misspelt project key", set: set("aws:cacheShard", "3"), key: "aws:cacheShard", message: "did you mean auth-platform:cacheShards?"},
		{name: "aws: unknown setting", set: set("aws:zzzqqqxxx", "1"), key: "aws:zzzqqqxxx", message: "not an AWS provider setting this program passes on"},
		{name: "key without namespace", set: map[string]string{"vpcCidr": "10.0.0.0/16"}, key: "vpcCidr", asWritten: true, message: "write it as auth-platform:vpcCidr"},
		{name: "project key misspelt", set: set("vpcCidrr", "10.0.0.0/16"), key: "vpcCidrr", message: "did you mean vpcCidr?"},
		{name: "project key synonym", set: set("dbInstanceType", "db.r7g.large"), key: "dbInstanceType", message: "did you mean dbInstanceClass?"},
		{name: "namespace misspelt", set: set("authplatform:vpcCidr", "10.0.0.0/16"), key: "authplatform:vpcCidr", message: "is not this project's namespace"},
		{name: "namespace nobody reads", set: set("kubernetes:context", "prod"), key: "kubernetes:context", message: "nothing reads the kubernetes: namespace"},
		{name: "invisible character in a value", set: set("natGateways", "perAz\u200b"), key: "natGateways", message: "U+200B ZERO WIDTH SPACE at position 6"},
	})
	runAccepted(t, []acceptCase{
		{name: "aws:allowedAccountIds", set: set("aws:allowedAccountIds", jsonList("012345678901"))},
		{name: "aws:forbiddenAccountIds alone", set: set("aws:forbiddenAccountIds", jsonList("012345678901"))},
		{name: "aws:assumeRole", set: set("aws:assumeRole", `{"roleArn":"arn:aws:iam::123456789012:role/deploy","sessionName":"auth-platform"}`)},
		{name: "aws:assumeRoleWithWebIdentity", set: set("aws:assumeRoleWithWebIdentity", webIdentity)},
		{name: "aws:stsRegion", set: set("aws:stsRegion", "us-east-1")},
		{name: "aws:maxRetries 0", set: set("aws:maxRetries", "0")},
		{name: "aws:maxRetries 100", set: set("aws:maxRetries", "100")},
		{name: "aws:retryMode standard", set: set("aws:retryMode", "standard")},
		{name: "aws:retryMode adaptive", set: set("aws:retryMode", "adaptive")},
		{name: "pulumi: namespace", set: set("pulumi:disable-default-providers", `["*"]`)},
	})

	// The provider settings reach every explicit AWS provider.
	res, err := runProgram(t, "test", withConfig(validBase, set("aws:assumeRoleWithWebIdentity", webIdentity,
		"aws:stsRegion", "us-east-1", "aws:maxRetries", "0", "aws:retryMode", "adaptive")), nil)
	require.NoError(t, err)
	providers := ofType(res, "pulumi:providers:aws")
	require.NotEmpty(t, providers, "the stack has explicit AWS providers")
	for _, p := range providers {
		assert.Equal(t, "arn:aws:iam::123456789012:role/ci", value(p.Inputs, "assumeRoleWithWebIdentity.roleArn"), p.Name)
		assert.Equal(t, "adaptive", value(p.Inputs, "retryMode"), p.Name)
		assert.Equal(t, "us-east-1", value(p.Inputs, "stsRegion"), p.Name)
	}
}

func TestEveryMistakeIsReportedAtOnce(t *testing.T) {
	cfg := withConfig(validBase, set("albAccessLogsRetentionDays", "0", "aws:maxRetries", "101"))
	_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "%v", err)
	require.Len(t, cerr.Problems, 2, err.Error())
	assert.ElementsMatch(t, []string{q("albAccessLogsRetentionDays"), "aws:maxRetries"}, problemKeys(cerr.Problems))
	assert.Contains(t, err.Error(), "(2 problems)")
}

// Every field of the aws: settings a stack may give reaches every explicit
// AWS provider, as the provider names it.
func TestEveryAWSSettingReachesEveryProvider(t *testing.T) {
	// externalId, sourceIdentity, tags and transitiveTagKeys are refused:
	// the kubeconfig could not sign with them (kubeconfig_test.go).
	assumeRole := map[string]interface{}{
		"roleArn": "arn:aws:iam::123456789012:role/deploy", "sessionName": "auth-platform",
		"duration": "1h", "policy": `{"Version":"2012-10-17","Statement":[]}`, "policyArns": []interface{}{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
	}
	webIdentity := map[string]interface{}{
		"roleArn": "arn:aws:iam::123456789012:role/ci", "sessionName": "ci", "duration": "30m",
		"policy": `{"Version":"2012-10-17","Statement":[]}`, "policyArns": []interface{}{"arn:aws:iam::aws:policy/ReadOnlyAccess"},
		"webIdentityTokenFile": "/var/run/secrets/token",
	}
	js := func(v interface{}) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return string(b)
	}
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want map[string]interface{}
	}{
		{"profile, files, accounts, STS and retries, assumeRole", set(
			"aws:profile", "deploy", "aws:allowedAccountIds", `["123456789012"]`,
			"aws:sharedConfigFiles", `["/etc/aws/config"]`, "aws:sharedCredentialsFiles", `["/etc/aws/credentials"]`,
			"aws:assumeRole", js(assumeRole), "aws:stsRegion", "us-west-2", "aws:maxRetries", "7", "aws:retryMode", "standard"),
			map[string]interface{}{
				"profile": "deploy", "allowedAccountIds": []interface{}{"123456789012"},
				"sharedConfigFiles": []interface{}{"/etc/aws/config"}, "sharedCredentialsFiles": []interface{}{"/etc/aws/credentials"},
				"assumeRole": assumeRole, "stsRegion": "us-west-2", "maxRetries": float64(7), "retryMode": "standard",
			}},
		{"forbidden accounts and web identity", set(
			"aws:forbiddenAccountIds", `["210987654321"]`, "aws:assumeRoleWithWebIdentity", js(webIdentity)),
			map[string]interface{}{"forbiddenAccountIds": []interface{}{"210987654321"}, "assumeRoleWithWebIdentity": webIdentity}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := runProgram(t, "test", withConfig(validBase, tc.cfg), nil)
			require.NoError(t, err)
			providers := nonEmpty(t, ofType(res, "pulumi:providers:aws"), "explicit AWS provider")
			for _, p := range providers {
				for k, want := range tc.want {
					assert.Equal(t, want, value(p.Inputs, k), "%s: %s", p.Name, k)
				}
			}
		})
	}
}
