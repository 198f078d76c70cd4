package tests

// Issue 23 (B-1 and "what the mocks hide"): every provider function the
// program calls is answered by cmd/plan/mocks the way its data source in
// pulumi-aws v6.83.4 answers it, refusals included. Each case calls the
// SDK function itself, so the arguments reach the mock as they reach the
// provider.

import (
	"encoding/base64"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/guardduty"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

// invoke runs call as a program in region against account (nil: a fresh
// one) and returns its error.
func invoke(t *testing.T, account *mocks.Account, region string, call func(ctx *pulumi.Context) error) error {
	t.Helper()
	_, err := mocks.RunWith(mocks.RunOptions{Account: account}, project, "lookups", map[string]string{"aws:region": region}, nil,
		func(ctx *pulumi.Context) (map[string]pulumi.Output, error) { return nil, call(ctx) })
	return err
}

// lookupCase is one call of a provider function and what the data source
// answers: wantErr "" for an answer (then check, if any, holds it).
type lookupCase struct {
	token, name string
	account     *mocks.Account
	region      string
	call        func(ctx *pulumi.Context) error
	wantErr     string
}

const (
	detectorOfSecurityTeam = "12abc34d567e8fa901bc2d34e56789f0"
	deployRole             = "arn:aws:iam::123456789012:role/ci/auth-platform-deploy"
	previewRole            = "arn:aws:iam::123456789012:role/auth-platform-preview"
)

// lookupCases hold every function the program calls to its data source's
// refusals (and a few answers the refusals are told from).
func lookupCases(t *testing.T) []lookupCase {
	str := pulumi.StringRef
	orderable := func(args rds.GetOrderableDbInstanceArgs) func(ctx *pulumi.Context) error {
		return func(ctx *pulumi.Context) error {
			args.Engine = "aurora-postgresql"
			res, err := rds.GetOrderableDbInstance(ctx, &args)
			if err == nil {
				assert.Equal(t, "aurora", res.StorageType, "the storage the lookup asked for")
			}
			return err
		}
	}
	offering := func(nodeType, engine, offering, duration string) func(ctx *pulumi.Context) error {
		return func(ctx *pulumi.Context) error {
			_, err := elasticache.GetReservedCacheNodeOffering(ctx, &elasticache.GetReservedCacheNodeOfferingArgs{
				CacheNodeType: nodeType, ProductDescription: engine, OfferingType: offering, Duration: duration})
			return err
		}
	}
	engineVersion := func(args rds.GetEngineVersionArgs) func(ctx *pulumi.Context) error {
		return func(ctx *pulumi.Context) error {
			args.Engine = "aurora-postgresql"
			_, err := rds.GetEngineVersion(ctx, &args)
			return err
		}
	}
	withClusters := func() *mocks.Account {
		return mocks.NewAccount().WithCluster("us-east-1", "auth-other-use1").WithCluster("us-east-1", "auth-dev-use1").
			WithCluster("us-west-2", "auth-dev-usw2").WithAccessEntry("us-east-1", "auth-dev-use1", deployRole)
	}
	withDetector := func() *mocks.Account {
		return mocks.NewAccount().WithDetector("us-west-2", detectorOfSecurityTeam, map[string]string{"Owner": "security"})
	}
	const (
		zonesToken     = "aws:index/getAvailabilityZones:getAvailabilityZones"
		callerToken    = "aws:index/getCallerIdentity:getCallerIdentity"
		partitionToken = "aws:index/getPartition:getPartition"
		regionToken    = "aws:index/getRegion:getRegion"
		ecrToken       = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
		clusterToken   = "aws:eks/getCluster:getCluster"
		clustersToken  = "aws:eks/getClusters:getClusters"
		entryToken     = "aws:eks/getAccessEntry:getAccessEntry"
		detectorToken  = "aws:guardduty/getDetector:getDetector"
		versionsToken  = "aws:eks/getClusterVersions:getClusterVersions"
		engineToken    = "aws:rds/getEngineVersion:getEngineVersion"
		orderableToken = "aws:rds/getOrderableDbInstance:getOrderableDbInstance"
		offeringToken  = "aws:elasticache/getReservedCacheNodeOffering:getReservedCacheNodeOffering"
	)
	return []lookupCase{
		// EC2 DescribeAvailabilityZones: the schema validates state.
		{zonesToken, "a state EC2 does not have", nil, "us-east-1", func(ctx *pulumi.Context) error {
			_, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: str("open")})
			return err
		}, `expected state to be one of ["available" "information" "impaired" "unavailable"], got open`},
		{zonesToken, "excluding every zone is an empty answer", nil, "us-west-1", func(ctx *pulumi.Context) error {
			res, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{ExcludeZoneIds: []string{"usw1-az1", "usw1-az3"}})
			if err == nil {
				assert.Empty(t, res.Names)
			}
			return err
		}, ""},
		// STS refuses no valid caller; the caller is the account's.
		{callerToken, "the account's caller", mocks.NewAccount().WithCaller("arn:aws:sts::123456789012:assumed-role/auth-platform-deploy/GitHubActions"), "us-east-1", func(ctx *pulumi.Context) error {
			res, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{})
			if err == nil {
				assert.Equal(t, "arn:aws:sts::123456789012:assumed-role/auth-platform-deploy/GitHubActions", res.Arn)
				assert.Equal(t, "AROAEXAMPLEDEPLOYER:GitHubActions", res.UserId)
				assert.Equal(t, mocks.AccountID, res.AccountId)
			}
			return err
		}, ""},
		{partitionToken, "the partition of the provider's region", nil, "cn-north-1", func(ctx *pulumi.Context) error {
			res, err := aws.GetPartition(ctx, &aws.GetPartitionArgs{})
			if err == nil {
				assert.Equal(t, "aws-cn", res.Partition)
				assert.Equal(t, "amazonaws.com.cn", res.DnsSuffix)
				assert.Equal(t, "cn.com.amazonaws", res.ReverseDnsPrefix)
			}
			return err
		}, ""},
		{regionToken, "a region the partitions do not list", nil, "us-east-1", func(ctx *pulumi.Context) error {
			_, err := aws.GetRegion(ctx, &aws.GetRegionArgs{Name: str("us-east-9")})
			return err
		}, `region not found for name "us-east-9"`},
		{regionToken, "a name and an endpoint of two regions", nil, "us-east-1", func(ctx *pulumi.Context) error {
			_, err := aws.GetRegion(ctx, &aws.GetRegionArgs{Name: str("us-east-1"), Endpoint: str("ec2.us-west-2.amazonaws.com")})
			return err
		}, "multiple regions matched"},
		// ECR: a new token per call, base64("AWS:<password>").
		{ecrToken, "a registry ID that is not an account", nil, "us-east-1", func(ctx *pulumi.Context) error {
			_, err := ecr.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenArgs{RegistryId: str("auth")})
			return err
		}, "failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]{12}]"},
		{ecrToken, "every call a new token that decodes to its password", nil, "us-east-1", func(ctx *pulumi.Context) error {
			a, err := ecr.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenArgs{})
			if err != nil {
				return err
			}
			b, err := ecr.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenArgs{})
			if err == nil {
				assert.NotEqual(t, a.Password, b.Password)
				decoded, derr := base64.StdEncoding.DecodeString(b.AuthorizationToken)
				require.NoError(t, derr)
				assert.Equal(t, "AWS:"+b.Password, string(decoded))
				assert.Equal(t, "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", b.ProxyEndpoint)
			}
			return err
		}, ""},
		// EKS DescribeCluster: a cluster exists once a run created it.
		{clusterToken, "a cluster the account does not have", nil, "us-east-1", func(ctx *pulumi.Context) error {
			_, err := eks.LookupCluster(ctx, &eks.LookupClusterArgs{Name: "auth-dev-use1"})
			return err
		}, "reading EKS Cluster (auth-dev-use1): couldn't find resource"},
		// EKS ListClusters: the provider's region's clusters, whatever
		// their number; it refuses nothing.
		{clustersToken, "the region's clusters and no other region's", withClusters(), "us-east-1", func(ctx *pulumi.Context) error {
			res, err := eks.GetClusters(ctx)
			if err == nil {
				assert.Equal(t, []string{"auth-dev-use1", "auth-other-use1"}, sorted(res.Names))
				assert.Equal(t, "us-east-1", res.Id)
			}
			return err
		}, ""},
		{clustersToken, "a region without clusters: an empty list", withClusters(), "eu-west-1", func(ctx *pulumi.Context) error {
			res, err := eks.GetClusters(ctx)
			if err == nil {
				assert.Empty(t, res.Names)
			}
			return err
		}, ""},
		// EKS DescribeAccessEntry: one principal's entry on one cluster.
		{entryToken, "a principal that is not an ARN", withClusters(), "us-east-1", func(ctx *pulumi.Context) error {
			_, err := eks.LookupAccessEntry(ctx, &eks.LookupAccessEntryArgs{ClusterName: "auth-dev-use1", PrincipalArn: "auth-platform-deploy"})
			return err
		}, `"principal_arn" (auth-platform-deploy) is an invalid ARN: arn: invalid prefix`},
		{entryToken, "a principal without an entry", withClusters(), "us-east-1", func(ctx *pulumi.Context) error {
			_, err := eks.LookupAccessEntry(ctx, &eks.LookupAccessEntryArgs{ClusterName: "auth-dev-use1", PrincipalArn: previewRole})
			return err
		}, "reading EKS Access Entry (auth-dev-use1:" + previewRole + "): couldn't find resource"},
		{entryToken, "an entry of a cluster in another region", withClusters(), "us-west-2", func(ctx *pulumi.Context) error {
			_, err := eks.LookupAccessEntry(ctx, &eks.LookupAccessEntryArgs{ClusterName: "auth-dev-use1", PrincipalArn: deployRole})
			return err
		}, "reading EKS Access Entry (auth-dev-use1:" + deployRole + "): couldn't find resource"},
		{entryToken, "the principal's entry", withClusters(), "us-east-1", func(ctx *pulumi.Context) error {
			res, err := eks.LookupAccessEntry(ctx, &eks.LookupAccessEntryArgs{ClusterName: "auth-dev-use1", PrincipalArn: deployRole})
			if err == nil {
				assert.Equal(t, "auth-dev-use1:"+deployRole, res.Id)
				assert.Equal(t, "STANDARD", res.Type)
				// EKS drops a role's path in the user name it maps sessions to.
				assert.Equal(t, "arn:aws:sts::123456789012:assumed-role/auth-platform-deploy/{{SessionName}}", res.UserName)
				assert.True(t, strings.HasPrefix(res.AccessEntryArn, "arn:aws:eks:us-east-1:123456789012:access-entry/auth-dev-use1/role/123456789012/auth-platform-deploy/"), res.AccessEntryArn)
			}
			return err
		}, ""},
		// GuardDuty: ListDetectors must give exactly one; GetDetector an
		// ID of this account and region.
		{detectorToken, "a region without a detector", withDetector(), "us-east-1", func(ctx *pulumi.Context) error {
			_, err := guardduty.LookupDetector(ctx, &guardduty.LookupDetectorArgs{})
			return err
		}, "reading this account's single GuardDuty Detector: empty result"},
		{detectorToken, "an ID the region does not have", withDetector(), "us-west-2", func(ctx *pulumi.Context) error {
			_, err := guardduty.LookupDetector(ctx, &guardduty.LookupDetectorArgs{Id: str("0123456789abcdef0123456789abcdef")})
			return err
		}, "reading GuardDuty Detector (0123456789abcdef0123456789abcdef): couldn't find resource"},
		{detectorToken, "the region's detector with its tags", withDetector(), "us-west-2", func(ctx *pulumi.Context) error {
			res, err := guardduty.LookupDetector(ctx, &guardduty.LookupDetectorArgs{})
			if err == nil {
				assert.Equal(t, detectorOfSecurityTeam, res.Id)
				assert.Equal(t, map[string]string{"Owner": "security"}, res.Tags)
			}
			return err
		}, ""},
		// EKS DescribeClusterVersions: the status is an enum.
		{versionsToken, "a status EKS does not have", nil, "us-east-1", func(ctx *pulumi.Context) error {
			_, err := eks.GetClusterVersions(ctx, &eks.GetClusterVersionsArgs{VersionStatus: str("SUPPORTED")})
			return err
		}, `value must be one of: ["UNSUPPORTED" "STANDARD_SUPPORT" "EXTENDED_SUPPORT"], got: "SUPPORTED"`},
		{versionsToken, "retired versions only with includeAll", nil, "us-east-1", func(ctx *pulumi.Context) error {
			res, err := eks.GetClusterVersions(ctx, &eks.GetClusterVersionsArgs{VersionStatus: str("UNSUPPORTED")})
			if err == nil {
				assert.Empty(t, res.ClusterVersions)
			}
			return err
		}, ""},
		// RDS DescribeDBEngineVersions: exactly one unless latest or a
		// preferred version picks one.
		{engineToken, "a major matches several minors", nil, "us-east-1", engineVersion(rds.GetEngineVersionArgs{Version: str("16")}),
			"multiple RDS engine versions ([16.8 16.9 16.10 16.11]) match the criteria"},
		{engineToken, "no preferred version is offered", nil, "us-east-1", engineVersion(rds.GetEngineVersionArgs{PreferredVersions: []string{"16.6"}}),
			"no RDS engine versions match the criteria and preferred versions"},
		{engineToken, "a version RDS does not have", nil, "us-east-1", engineVersion(rds.GetEngineVersionArgs{Version: str("13")}),
			"no RDS engine versions found"},
		// RDS DescribeOrderableDBInstanceOptions: one option per version,
		// class and storage type; exactly one unless preferred.
		{orderableToken, "class and version: one option per storage type", nil, "us-east-1",
			orderable(rds.GetOrderableDbInstanceArgs{InstanceClass: str("db.r7g.large"), EngineVersion: str("16.11")}),
			"multiple (2) RDS DB Instance Classes ([{EngineVersion: 16.11, DBInstanceClass: db.r7g.large, StorageType: aurora} {EngineVersion: 16.11, DBInstanceClass: db.r7g.large, StorageType: aurora-iopt1}]) match the criteria; try a different search"},
		{orderableToken, "a class across every version: more than four", nil, "us-east-1",
			orderable(rds.GetOrderableDbInstanceArgs{InstanceClass: str("db.serverless")}),
			"multiple (17) RDS DB Instance Classes match the criteria; try a different search"},
		{orderableToken, "a storage type Aurora does not have", nil, "us-east-1",
			orderable(rds.GetOrderableDbInstanceArgs{InstanceClass: str("db.r7g.large"), EngineVersion: str("16.11"), StorageType: str("gp3")}),
			"no RDS Orderable DB Instance Options found matching criteria; try different search"},
		{orderableToken, "a preferred class that is not offered", nil, "us-east-1",
			orderable(rds.GetOrderableDbInstanceArgs{EngineVersion: str("16.11"), PreferredInstanceClasses: []string{"db.r7g.medium"}}),
			`no RDS Orderable DB Instance Options found matching preferred_instance_classes: []string{"db.r7g.medium"}`},
		{orderableToken, "the preflight's question", nil, "us-east-1",
			orderable(rds.GetOrderableDbInstanceArgs{InstanceClass: str("db.r7g.large"), EngineVersion: str("16.11"),
				StorageType: str("aurora"), PreferredInstanceClasses: []string{"db.r7g.large"}}), ""},
		// ElastiCache DescribeReservedCacheNodesOfferings: the schema's
		// values, then exactly one offering.
		{offeringToken, "an offering type ElastiCache does not sell", nil, "us-east-1",
			offering("cache.r7g.large", "valkey", "Some Upfront", "P1Y"), `offering_type value must be one of`},
		{offeringToken, "a term ElastiCache does not sell", nil, "us-east-1",
			offering("cache.r7g.large", "valkey", "No Upfront", "P2Y"), `duration value must be one of: ["P1Y" "P3Y"], got: "P2Y"`},
		{offeringToken, "an older family sells Heavy Utilization only", nil, "us-east-1",
			offering("cache.r4.large", "redis", "No Upfront", "P1Y"), "reading ElastiCache Reserved Cache Node Offering: empty result"},
		{offeringToken, "its Heavy Utilization offering", nil, "us-east-1",
			offering("cache.r4.large", "redis", "Heavy Utilization", "P1Y"), ""},
	}
}

func TestEveryLookupAnswersAsItsDataSourceAndRefusesWhatItRefuses(t *testing.T) {
	for _, tc := range lookupCases(t) {
		t.Run(tc.token+"/"+tc.name, func(t *testing.T) {
			err := invoke(t, tc.account, tc.region, tc.call)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// Every function the shipped stacks call is answered by the mocks and has
// a refusal (or, for STS and the partition, which refuse nothing a valid
// caller asks, an answer) held above; the mocks answer nothing else.
func TestEveryFunctionTheProgramCallsIsHeldToItsDataSource(t *testing.T) {
	tested := map[string]bool{}
	for _, tc := range lookupCases(t) {
		tested[tc.token] = true
	}
	called := map[string]bool{}
	for _, stack := range stackFiles(t) {
		for _, c := range planStack(t, stack).Mocks.Calls() {
			called[c.Token] = true
			assert.True(t, tested[c.Token], "%s calls %s, which no lookup case holds", stack, c.Token)
		}
	}
	var answered []string
	for token := range tested {
		answered = append(answered, token)
	}
	sort.Strings(answered)
	assert.Equal(t, answered, mocks.Functions(), "the mocks answer exactly the functions held here")
	for _, token := range []string{"aws:guardduty/getDetector:getDetector", "aws:rds/getOrderableDbInstance:getOrderableDbInstance",
		"aws:eks/getCluster:getCluster", "aws:ecr/getAuthorizationToken:getAuthorizationToken"} {
		assert.True(t, called[token], "the shipped stacks call %s", token)
	}
}

// B-1: the preflight's first Aurora lookup asked for engine, version and
// class alone. AWS lists a class once per storage type for Aurora
// PostgreSQL 16.1 and later, so that question matches two options and the
// data source refuses it: every shipped stack's preview stopped there.
func TestB1TheOldOrderableLookupFailsEveryShippedStack(t *testing.T) {
	for _, stack := range stackFiles(t) {
		res := planStack(t, stack)
		var asked int
		for _, c := range res.Mocks.Calls() {
			if c.Token != "aws:rds/getOrderableDbInstance:getOrderableDbInstance" {
				continue
			}
			asked++
			args := mocks.PlainMap(c.Args)
			class, version := args["instanceClass"].(string), args["engineVersion"].(string)
			// The preflight as it is: the class preferred, Aurora Standard.
			assert.Equal(t, []interface{}{class}, args["preferredInstanceClasses"], stack)
			assert.Equal(t, "aurora", args["storageType"], stack)
			// The preflight as it was.
			err := invoke(t, nil, c.Region, func(ctx *pulumi.Context) error {
				_, err := rds.GetOrderableDbInstance(ctx, &rds.GetOrderableDbInstanceArgs{
					Engine: "aurora-postgresql", InstanceClass: &class, EngineVersion: &version})
				return err
			})
			require.Error(t, err, "%s %s: %s %s", stack, c.Region, class, version)
			assert.Contains(t, err.Error(), "multiple (2) RDS DB Instance Classes", stack)
		}
		assert.NotZero(t, asked, "%s checks its Aurora class", stack)
	}
}

// The storage types are Aurora's: I/O-Optimized from 16.1 (and 13.10,
// 14.7, 15.2, 17.4), Standard always.
func TestAuroraStorageTypesFollowTheUserGuide(t *testing.T) {
	c, err := mocks.LoadCatalogue()
	require.NoError(t, err)
	for version, want := range map[string]string{
		"16.0": "aurora", "16.1": "aurora aurora-iopt1", "16.11": "aurora aurora-iopt1",
		"15.1": "aurora", "15.2": "aurora aurora-iopt1", "14.6": "aurora", "14.7": "aurora aurora-iopt1",
		"13.9": "aurora", "13.10": "aurora aurora-iopt1", "17.3": "aurora", "17.4": "aurora aurora-iopt1",
	} {
		assert.Equal(t, want, strings.Join(c.AuroraStorage.Of(version), " "), version)
	}
}
