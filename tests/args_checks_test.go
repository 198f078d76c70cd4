package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/cache"
	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/components/naming"
)

// argsCase breaks (or, with ok, just reaches the edge of) one check of a
// component's Args: change turns the valid args into the case's.
type argsCase[A any] struct {
	name   string
	change func(a *A)
	want   string // the check's own message (a distinctive part of it)
	ok     bool   // the value is the last one the check accepts
}

// argsSpec is how to make valid args of a component and run it.
type argsSpec[A any] struct {
	// valid makes valid args; it may create fixtures such as providers.
	valid func(ctx *pulumi.Context) *A
	// create runs the component with the args.
	create func(ctx *pulumi.Context, a *A) error
	// complete: the valid args run the whole component under the mocks, so
	// an ok case must succeed. Otherwise an ok case only must not trip the
	// check next to it.
	complete bool
}

// fixtureType is the type of what a test registers for a component.
const fixtureType = "tests:fixture:Fixture"

// componentRun runs a component under the mocks and returns its error and
// what it registered besides the providers and fixtures a test made for it.
func componentRun(t *testing.T, build func(ctx *pulumi.Context) error) ([]*mocks.Resource, error) {
	t.Helper()
	var buildErr error
	res, err := mocks.Run(project, "unit", map[string]string{"aws:region": "us-east-1"}, nil,
		func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
			buildErr = build(ctx)
			return nil, nil
		})
	require.NoError(t, err)
	var registered []*mocks.Resource
	for _, r := range res.Resources {
		if !strings.HasPrefix(r.Type, "pulumi:providers:") && r.Type != fixtureType {
			registered = append(registered, r)
		}
	}
	return registered, buildErr
}

func (s argsSpec[A]) run(t *testing.T, change func(a *A)) ([]*mocks.Resource, error) {
	t.Helper()
	return componentRun(t, func(ctx *pulumi.Context) error {
		a := s.valid(ctx)
		if change != nil {
			change(a)
		}
		return s.create(ctx, a)
	})
}

// check runs each case: a broken check rejects the args with its message
// before the component registers anything; an edge value passes it.
func (s argsSpec[A]) check(t *testing.T, cases []argsCase[A]) {
	t.Helper()
	require.NotEmpty(t, cases)
	if s.complete {
		registered, err := s.run(t, nil)
		require.NoError(t, err, "the valid args")
		require.NotEmpty(t, registered, "the valid args build the component")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NotEmpty(t, tc.want, "a case names the message of its check")
			registered, err := s.run(t, tc.change)
			if tc.ok {
				if s.complete {
					require.NoError(t, err)
					return
				}
				if err != nil {
					assert.NotContains(t, err.Error(), tc.want)
				}
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var names []string
			for _, r := range registered {
				names = append(names, r.Type+" "+r.Name)
			}
			assert.Empty(t, names, "a rejected component registers nothing")
		})
	}
}

// --- cluster ---

const (
	deployRoleArn  = "arn:aws:iam::123456789012:role/deploy"
	previewRoleArn = "arn:aws:iam::123456789012:role/ci/preview"
)

func workloadProfile(name string, selectors int) cluster.ProfileSpec {
	p := cluster.ProfileSpec{Name: name}
	for i := 0; i < selectors; i++ {
		p.Selectors = append(p.Selectors, cluster.Selector{Namespace: fmt.Sprintf("ns%d", i)})
	}
	return p
}

var clusterSpec = argsSpec[cluster.Args]{
	valid: func(ctx *pulumi.Context) *cluster.Args {
		p, err := aws.NewProvider(ctx, "aws-us-east-1", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			panic(err)
		}
		return &cluster.Args{
			Name:                  "auth-unit-use1",
			Version:               "1.35",
			Region:                "us-east-1",
			VpcID:                 pulumi.String("vpc-0123456789abcdef0"),
			PrivateSubnetIDs:      pulumi.ToStringArray([]string{"subnet-a", "subnet-b", "subnet-c"}),
			PublicSubnetIDs:       pulumi.ToStringArray([]string{"subnet-d", "subnet-e", "subnet-f"}),
			EndpointPrivateAccess: true,
			Profiles:              []cluster.ProfileSpec{workloadProfile("auth", 1)},
			Access: []cluster.Grant{
				{PrincipalArn: deployRoleArn, Policy: cluster.AdminPolicy},
				{PrincipalArn: previewRoleArn, Policy: cluster.ViewPolicy},
			},
			Provider: p,
			Namer:    naming.Namer{App: "auth", Env: "unit", Region: "us-east-1"},
			Tags:     naming.Tags{"Stack": "unit"},
		}
	},
	create: func(ctx *pulumi.Context, a *cluster.Args) error {
		_, err := cluster.NewCluster(ctx, "c", a)
		return err
	},
	complete: true,
}

func TestClusterArgsChecksEachRejectOneMistake(t *testing.T) {
	profiles := func(n int) []cluster.ProfileSpec {
		var out []cluster.ProfileSpec
		for i := 0; i < n; i++ {
			out = append(out, workloadProfile(fmt.Sprintf("p%d", i), 1))
		}
		return out
	}
	clusterSpec.check(t, []argsCase[cluster.Args]{
		{"no name", func(a *cluster.Args) { a.Name = "" }, "Name is required", false},
		{"no region", func(a *cluster.Args) { a.Region = "" }, "Region is required", false},
		{"no provider", func(a *cluster.Args) { a.Provider = nil }, "Provider is required", false},
		{"neither endpoint", func(a *cluster.Args) { a.EndpointPrivateAccess = false }, "at least one of EndpointPrivateAccess and EndpointPublicAccess must be true", false},
		{"only the public endpoint", func(a *cluster.Args) { a.EndpointPrivateAccess, a.EndpointPublicAccess = false, true }, "EndpointPublicAccess must be true", true},
		{"9 workload profiles and CoreDNS's fill the quota", func(a *cluster.Args) { a.Profiles = profiles(9) }, "exceed the EKS quota", true},
		{"10 workload profiles and CoreDNS's exceed the quota", func(a *cluster.Args) { a.Profiles = profiles(10) }, "11 Fargate profiles (with CoreDNS's) exceed the EKS quota of 10 per cluster", false},
		{"a profile named eks-", func(a *cluster.Args) { a.Profiles[0].Name = "eks-auth" }, `Fargate profile "eks-auth": the eks- prefix is reserved by AWS`, false},
		{"a profile twice", func(a *cluster.Args) { a.Profiles = append(a.Profiles, workloadProfile("auth", 2)) }, `Fargate profile "auth" is defined twice`, false},
		{"a profile named like CoreDNS's", func(a *cluster.Args) { a.Profiles[0].Name = cluster.CoreDNSProfile.Name }, `Fargate profile "coredns" is defined twice`, false},
		{"a profile without selectors", func(a *cluster.Args) { a.Profiles[0] = workloadProfile("auth", 0) }, `Fargate profile "auth" needs 1 to 5 selectors, has 0`, false},
		{"a profile with 5 selectors", func(a *cluster.Args) { a.Profiles[0] = workloadProfile("auth", 5) }, "needs 1 to 5 selectors", true},
		{"a profile with 6 selectors", func(a *cluster.Args) { a.Profiles[0] = workloadProfile("auth", 6) }, `Fargate profile "auth" needs 1 to 5 selectors, has 6`, false},
		{"access for an STS session", func(a *cluster.Args) {
			a.Access[0].PrincipalArn = "arn:aws:sts::123456789012:assumed-role/deploy/session"
		}, "an STS session, not a role: EKS access entries take the role's IAM ARN", false},
		{"access for a non-IAM ARN", func(a *cluster.Args) { a.Access[0].PrincipalArn = "arn:aws:s3:::bucket" }, `access principal "arn:aws:s3:::bucket": not an IAM role or user ARN`, false},
		{"access granted twice", func(a *cluster.Args) { a.Access[1].PrincipalArn = deployRoleArn }, fmt.Sprintf("access principal %q is granted twice", deployRoleArn), false},
		{"access with an unknown policy", func(a *cluster.Args) { a.Access[1].Policy = "AmazonEKSEditPolicy" }, `policy "AmazonEKSEditPolicy" is neither AmazonEKSClusterAdminPolicy nor AmazonEKSViewPolicy`, false},
	})
}

func TestClusterRejectsNilArgs(t *testing.T) {
	registered, err := componentRun(t, func(ctx *pulumi.Context) error {
		_, err := cluster.NewCluster(ctx, "c", nil)
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "args are required")
	assert.Empty(t, registered)
}

// --- database ---

var databaseSpec = argsSpec[database.Args]{
	valid: func(*pulumi.Context) *database.Args { return dbArgs() },
	create: func(ctx *pulumi.Context, a *database.Args) error {
		_, err := database.NewDatabase(ctx, "d", a)
		return err
	},
	complete: true,
}

func globalPrimary() *database.GlobalMember {
	return &database.GlobalMember{
		GlobalClusterIdentifier: pulumi.String("auth-global"),
		Primary:                 true,
		MasterPassword:          pulumi.ToSecret(pulumi.String("p4ssw0rd-p4ssw0rd")).(pulumi.StringOutput),
		SecretArn:               pulumi.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:auth-db"),
		KmsKeyArn:               pulumi.String("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
	}
}

func TestDatabaseArgsChecksEachRejectOneMistake(t *testing.T) {
	type c = argsCase[database.Args]
	serverless := func(min, max float64) func(a *database.Args) {
		return func(a *database.Args) { a.Serverless = &database.Serverless{MinACU: min, MaxACU: max} }
	}
	databaseSpec.check(t, []c{
		{"no engine version", func(a *database.Args) { a.EngineVersion = "" }, "EngineVersion is required", false},
		{"a major without minor", func(a *database.Args) { a.EngineVersion = "16" }, `EngineVersion "16": want major.minor`, false},
		{"major 12 is too old", func(a *database.Args) { a.EngineVersion = "12.9" }, `EngineVersion "12.9": Aurora PostgreSQL majors 13 and later are supported`, false},
		{"major 13 is the oldest", func(a *database.Args) { a.EngineVersion = "13.9" }, "majors 13 and later", true},
		// No upper bound: the preflight asks RDS whether it offers a major.
		{"major 19 is RDS's to refuse", func(a *database.Args) { a.EngineVersion = "19.1" }, "majors 13 and later", true},
		{"a malformed instance class", func(a *database.Args) { a.InstanceClass = "r7g.large" }, `InstanceClass "r7g.large": not a class like db.r7g.large`, false},
		{"serverless ignores the instance class", func(a *database.Args) {
			a.InstanceClass = "r7g.large"
			a.Serverless = &database.Serverless{MinACU: 0.5, MaxACU: 4}
		}, "not a class like", true},
		{"serverless min 0 would auto-pause", serverless(0, 4), "Serverless.MinACU 0: want 0.5-256 in 0.5 steps", false},
		{"serverless min 0.5 is the least", serverless(0.5, 4), "Serverless.MinACU", true},
		{"serverless min off the 0.5 steps", serverless(1.25, 4), "Serverless.MinACU 1.25: want", false},
		{"serverless min above 256", serverless(256.5, 256.5), "Serverless.MinACU 256.5: want", false},
		{"serverless max 0.5 is below 1", serverless(0.5, 0.5), "Serverless.MaxACU 0.5: want at least 1 and MinACU", false},
		{"serverless max 1 is the least", serverless(0.5, 1), "Serverless.MaxACU", true},
		{"serverless max below min", serverless(2.5, 2), "Serverless.MaxACU 2: want at least 1 and MinACU", false},
		{"serverless max equal to min", serverless(2.5, 2.5), "Serverless.MaxACU", true},
		{"serverless max 256 is the most", serverless(0.5, 256), "Serverless.MaxACU", true},
		{"serverless max 256.5 is too much", serverless(0.5, 256.5), "Serverless.MaxACU 256.5: want", false},
		{"serverless max off the 0.5 steps", serverless(0.5, 1.75), "Serverless.MaxACU 1.75: want", false},
		{"no readers", func(a *database.Args) { a.Readers = -1 }, "Readers is -1, want 1-15", false},
		{"15 readers", func(a *database.Args) { a.Readers = 15 }, "Readers is", true},
		{"16 readers", func(a *database.Args) { a.Readers = 16 }, "Readers is 16, want 1-15", false},
		{"two zones", func(a *database.Args) { a.AvailabilityZones = a.AvailabilityZones[:2] }, "AvailabilityZones has 2 zones, want exactly 3", false},
		{"four zones", func(a *database.Args) { a.AvailabilityZones = append(a.AvailabilityZones, "us-east-1d") }, "AvailabilityZones has 4 zones, want exactly 3", false},
		{"a database name starting with a digit", func(a *database.Args) { a.DatabaseName = "1auth" }, "DatabaseName: database name must be 1-63 letters, digits or _, starting with a letter", false},
		{"a 63-character database name", func(a *database.Args) { a.DatabaseName = "a" + strings.Repeat("b", 62) }, "DatabaseName:", true},
		{"a 64-character database name", func(a *database.Args) { a.DatabaseName = "a" + strings.Repeat("b", 63) }, "DatabaseName: database name must be 1-63", false},
		{"a reserved database name", func(a *database.Args) { a.DatabaseName = "Template1" }, `DatabaseName: database name "Template1" is reserved`, false},
		{"a user name reserved only for databases", func(a *database.Args) { a.MasterUsername = "postgres" }, "MasterUsername:", true},
		{"a malformed master username", func(a *database.Args) { a.MasterUsername = "_admin" }, "MasterUsername: master username must be 1-63", false},
		{"a reserved master username", func(a *database.Args) { a.MasterUsername = "rdsadmin" }, `MasterUsername: master username "rdsadmin" is reserved`, false},
		{"6 days of backups", func(a *database.Args) { a.BackupRetentionDays = 6 }, "BackupRetentionDays is 6, want 7-35", false},
		{"35 days of backups", func(a *database.Args) { a.BackupRetentionDays = 35 }, "BackupRetentionDays", true},
		{"36 days of backups", func(a *database.Args) { a.BackupRetentionDays = 36 }, "BackupRetentionDays is 36, want 7-35", false},
		{"Performance Insights for 8 days", func(a *database.Args) { a.PerformanceInsightsRetentionDays = 8 }, "PerformanceInsightsRetentionDays is 8, want 7, 731 or a multiple of 31", false},
		{"Performance Insights for 731 days", func(a *database.Args) { a.PerformanceInsightsRetentionDays = 731 }, "PerformanceInsightsRetentionDays", true},
		{"Performance Insights for 23 months", func(a *database.Args) { a.PerformanceInsightsRetentionDays = 23 * 31 }, "PerformanceInsightsRetentionDays", true},
		{"Performance Insights for 24 months", func(a *database.Args) { a.PerformanceInsightsRetentionDays = 24 * 31 }, "PerformanceInsightsRetentionDays is 744", false},
		{"Performance Insights for minus a month", func(a *database.Args) { a.PerformanceInsightsRetentionDays = -31 }, "PerformanceInsightsRetentionDays is -31", false},
		{"a malformed backup window", func(a *database.Args) { a.BackupWindow = "5:00-6:00" }, `BackupWindow "5:00-6:00": want hh24:mi-hh24:mi in UTC`, false},
		{"an empty backup window", func(a *database.Args) { a.BackupWindow = "05:00-05:00" }, `BackupWindow "05:00-05:00": the window is empty`, false},
		{"a 29-minute backup window", func(a *database.Args) { a.BackupWindow = "05:00-05:29" }, `BackupWindow "05:00-05:29" is shorter than 30 minutes`, false},
		{"a 30-minute backup window", func(a *database.Args) { a.BackupWindow = "05:00-05:30" }, "BackupWindow", true},
		{"a malformed maintenance window", func(a *database.Args) { a.MaintenanceWindow = "sun:05:00-06:00" }, `MaintenanceWindow "sun:05:00-06:00": want ddd:hh24:mi-ddd:hh24:mi`, false},
		{"a maintenance window on no day", func(a *database.Args) { a.MaintenanceWindow = "sun:05:00-xyz:06:00" }, "days are sun, mon, tue, wed, thu, fri or sat", false},
		{"an empty maintenance window", func(a *database.Args) { a.MaintenanceWindow = "sun:05:00-sun:05:00" }, `MaintenanceWindow "sun:05:00-sun:05:00": the window is empty`, false},
		{"a 29-minute maintenance window", func(a *database.Args) { a.MaintenanceWindow = "sun:05:00-sun:05:29" }, `MaintenanceWindow "sun:05:00-sun:05:29" is shorter than 30 minutes`, false},
		{"a 30-minute maintenance window", func(a *database.Args) { a.MaintenanceWindow = "sun:05:00-sun:05:30" }, "MaintenanceWindow", true},
		{"windows that overlap", func(a *database.Args) {
			a.BackupWindow = "05:30-06:30"
			a.MaintenanceWindow = "sun:05:00-sun:06:00"
		}, `BackupWindow "05:30-06:30" overlaps MaintenanceWindow "sun:05:00-sun:06:00"`, false},
		{"windows that touch", func(a *database.Args) {
			a.BackupWindow = "06:00-07:00"
			a.MaintenanceWindow = "sun:05:00-sun:06:00"
		}, "overlaps", true},
		{"no VPC", func(a *database.Args) { a.VpcID = nil }, "VpcID, SubnetIDs and ClientSecurityGroupID are required", false},
		{"no subnets", func(a *database.Args) { a.SubnetIDs = nil }, "VpcID, SubnetIDs and ClientSecurityGroupID are required", false},
		{"no client security group", func(a *database.Args) { a.ClientSecurityGroupID = nil }, "VpcID, SubnetIDs and ClientSecurityGroupID are required", false},
		{"no namer", func(a *database.Args) { a.Namer = naming.Namer{} }, "Namer is required", false},
		{"a global member without its global cluster", func(a *database.Args) {
			a.Global = globalPrimary()
			a.Global.GlobalClusterIdentifier = nil
		}, "Global needs GlobalClusterIdentifier, SecretArn and KmsKeyArn", false},
		{"a global member without its secret", func(a *database.Args) {
			a.Global = globalPrimary()
			a.Global.SecretArn = nil
		}, "Global needs GlobalClusterIdentifier, SecretArn and KmsKeyArn", false},
		{"a global member without its key", func(a *database.Args) {
			a.Global = globalPrimary()
			a.Global.KmsKeyArn = nil
		}, "Global needs GlobalClusterIdentifier, SecretArn and KmsKeyArn", false},
		{"a global primary without a master password", func(a *database.Args) {
			a.Global = globalPrimary()
			a.Global.MasterPassword = nil
		}, "the global primary needs MasterPassword", false},
		{"a global secondary that does not wait for the primary", func(a *database.Args) {
			a.Global = globalPrimary()
			a.Global.Primary = false
		}, "a global secondary must wait for the primary's writer instance (Global.After)", false},
	})
}

func TestDatabaseRejectsNilArgs(t *testing.T) {
	registered, err := componentRun(t, func(ctx *pulumi.Context) error {
		_, err := database.NewDatabase(ctx, "d", nil)
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "args are required")
	assert.Empty(t, registered)
}

// --- cache ---

var cacheSpec = argsSpec[cache.Args]{
	valid:    func(*pulumi.Context) *cache.Args { return cacheArgs() },
	create:   func(ctx *pulumi.Context, a *cache.Args) error { _, err := cache.NewCache(ctx, "c", a); return err },
	complete: true,
}

func TestCacheArgsChecksEachRejectOneMistake(t *testing.T) {
	type c = argsCase[cache.Args]
	const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	shape := func(shards, replicas int, multiAZ bool) func(a *cache.Args) {
		return func(a *cache.Args) {
			a.Shards, a.ReplicasPerShard, a.MultiAZ = shards, pulumi.IntRef(replicas), pulumi.BoolRef(multiAZ)
		}
	}
	cacheSpec.check(t, []c{
		{"an unknown engine", func(a *cache.Args) { a.Engine = "memcached" }, `Engine "memcached" EngineVersion "8.0": engine must be valkey or redis`, false},
		{"redis 6.2", func(a *cache.Args) { a.Engine, a.EngineVersion = "redis", "6.2" }, "Redis OSS versions are 7.0 and 7.1", false},
		{"redis 7.0", func(a *cache.Args) { a.Engine, a.EngineVersion = "redis", "7.0" }, "Redis OSS versions", true},
		{"redis by default 7.1", func(a *cache.Args) { a.Engine = "redis" }, "Redis OSS versions", true},
		{"valkey 7.1", func(a *cache.Args) { a.EngineVersion = "7.1" }, "ElastiCache offers Valkey 7.2, 8.0, 8.1, 8.2, 9.0, 9.1", false},
		{"valkey 7.2", func(a *cache.Args) { a.EngineVersion = "7.2" }, "ElastiCache offers Valkey", true},
		{"valkey 8.2", func(a *cache.Args) { a.EngineVersion = "8.2" }, "ElastiCache offers Valkey", true},
		{"valkey 9.1", func(a *cache.Args) { a.EngineVersion = "9.1" }, "ElastiCache offers Valkey", true},
		{"valkey 9.2 is not offered", func(a *cache.Args) { a.EngineVersion = "9.2" }, "ElastiCache offers Valkey 7.2, 8.0, 8.1, 8.2, 9.0, 9.1", false},
		{"a malformed node type", func(a *cache.Args) { a.NodeType = "r7g.large" }, `NodeType "r7g.large": not a node type like cache.r7g.large`, false},
		{"a previous-generation node type", func(a *cache.Args) { a.NodeType = "cache.m3.large" }, `NodeType "cache.m3.large": previous-generation node types`, false},
		{"a negative shard count", shape(-1, 1, true), "Shards is -1, want 1-90", false},
		{"90 shards without replicas", shape(90, 0, false), "Shards is", true},
		{"91 shards", shape(91, 0, false), "Shards is 91, want 1-90", false},
		{"negative replicas", shape(3, -1, false), "ReplicasPerShard is -1, want 0-5", false},
		{"5 replicas", shape(3, 5, true), "ReplicasPerShard is", true},
		{"6 replicas", shape(3, 6, true), "ReplicasPerShard is 6, want 0-5", false},
		{"Multi-AZ without replicas", shape(3, 0, true), "MultiAZ needs at least 1 replica per shard, ReplicasPerShard is 0", false},
		{"a single AZ without replicas", shape(3, 0, false), "MultiAZ needs", true},
		{"90 nodes fill the quota", shape(45, 1, true), "-node quota", true},
		// 91 nodes only come as 91 single-node shards, past the shard limit too.
		{"91 nodes exceed the quota", shape(91, 0, false), "91 shards x 1 nodes = 91 nodes, above the 90-node quota", false},
		{"92 nodes exceed the quota", shape(46, 1, true), "46 shards x 2 nodes = 92 nodes, above the 90-node quota", false},
		{"a KMS key without at-rest encryption", func(a *cache.Args) { a.KmsKeyArn = key; a.AtRestEncryption = pulumi.BoolRef(false) }, "KmsKeyArn needs AtRestEncryption", false},
		{"a KMS key with at-rest encryption", func(a *cache.Args) { a.KmsKeyArn = key }, "KmsKeyArn", true},
		{"a malformed KMS key", func(a *cache.Args) { a.KmsKeyArn = "alias/sessions" }, `KmsKeyArn "alias/sessions": not a KMS key ARN`, false},
		{"negative snapshot retention", func(a *cache.Args) { a.SnapshotRetentionDays = pulumi.IntRef(-1) }, "SnapshotRetentionDays is -1, want 0-35", false},
		{"no snapshots", func(a *cache.Args) { a.SnapshotRetentionDays = pulumi.IntRef(0) }, "SnapshotRetentionDays is", true},
		{"35 days of snapshots", func(a *cache.Args) { a.SnapshotRetentionDays = pulumi.IntRef(35) }, "SnapshotRetentionDays is", true},
		{"36 days of snapshots", func(a *cache.Args) { a.SnapshotRetentionDays = pulumi.IntRef(36) }, "SnapshotRetentionDays is 36, want 0-35", false},
		{"a malformed snapshot window", func(a *cache.Args) { a.SnapshotWindow = "3-4" }, `SnapshotWindow "3-4": want hh24:mi-hh24:mi`, false},
		{"a 59-minute snapshot window", func(a *cache.Args) { a.SnapshotWindow = "03:00-03:59" }, `SnapshotWindow "03:00-03:59" is shorter than 60 minutes`, false},
		{"a 60-minute snapshot window", func(a *cache.Args) { a.SnapshotWindow = "03:00-04:00" }, "SnapshotWindow", true},
		{"a malformed maintenance window", func(a *cache.Args) { a.MaintenanceWindow = "tue:04:00" }, `MaintenanceWindow "tue:04:00": want ddd:hh24:mi-ddd:hh24:mi`, false},
		{"a 59-minute maintenance window", func(a *cache.Args) { a.MaintenanceWindow = "tue:04:00-tue:04:59" }, `MaintenanceWindow "tue:04:00-tue:04:59" is shorter than 60 minutes`, false},
		{"a 60-minute maintenance window", func(a *cache.Args) { a.MaintenanceWindow = "tue:04:00-tue:05:00" }, "MaintenanceWindow", true},
		{"windows that overlap", func(a *cache.Args) {
			a.SnapshotWindow = "03:00-05:00"
			a.MaintenanceWindow = "tue:04:00-tue:05:00"
		}, `SnapshotWindow "03:00-05:00" overlaps MaintenanceWindow "tue:04:00-tue:05:00"`, false},
		{"no VPC", func(a *cache.Args) { a.VpcID = nil }, "VpcID, SubnetIDs and ClientSecurityGroupID are required", false},
		{"no subnets", func(a *cache.Args) { a.SubnetIDs = nil }, "VpcID, SubnetIDs and ClientSecurityGroupID are required", false},
		{"no client security group", func(a *cache.Args) { a.ClientSecurityGroupID = nil }, "VpcID, SubnetIDs and ClientSecurityGroupID are required", false},
		{"no namer", func(a *cache.Args) { a.Namer = naming.Namer{} }, "Namer is required", false},
		{"an app name that makes no replication group ID", func(a *cache.Args) { a.Namer.App = "9auth" }, `replication group ID "9auth-`, false},
	})
}

func TestCacheRejectsNilArgs(t *testing.T) {
	registered, err := componentRun(t, func(ctx *pulumi.Context) error {
		_, err := cache.NewCache(ctx, "c", nil)
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "args are required")
	assert.Empty(t, registered)
}
