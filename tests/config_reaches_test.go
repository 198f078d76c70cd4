package tests

// Every configuration key that shapes a resource reaches it: set to a value
// no shipped stack uses, the value shows up in the resource's inputs. A
// field dropped between the configuration and a component would otherwise
// go unnoticed whenever the default happens to be what the stacks use.

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

type reachCase struct {
	key, value  string // the configuration key (without namespace) and its value
	typ, suffix string // the resource that must carry it (type and name suffix)
	path        string // the input, dotted
	want        interface{}
	also        map[string]string // other keys the value needs, e.g. a matching version
}

func reachCases() []reachCase {
	const (
		rg       = "aws:elasticache/replicationGroup:ReplicationGroup"
		aurora   = "aws:rds/cluster:Cluster"
		instance = "aws:rds/clusterInstance:ClusterInstance"
		eksC     = "eks:index:Cluster"
		waf      = "aws:wafv2/webAcl:WebAcl"
		logGroup = "aws:cloudwatch/logGroup:LogGroup"
		cm       = "kubernetes:core/v1:ConfigMap"
		deploy   = "kubernetes:apps/v1:Deployment"
	)
	return []reachCase{
		{"vpcCidr", "10.44.0.0/16", "aws:ec2/vpc:Vpc", "-network-vpc", "cidrBlock", "10.44.0.0/16", nil},
		{"endpointPublicAccess", "false", eksC, "-eks", "endpointPublicAccess", false, nil},
		{"publicAccessCidrs", `["198.51.100.0/24"]`, eksC, "-eks", "publicAccessCidrs", []interface{}{"198.51.100.0/24"}, nil},
		{"clusterLogTypes", `["api","audit","scheduler"]`, eksC, "-eks", "enabledClusterLogTypes", []interface{}{"api", "audit", "scheduler"}, nil},
		{"kubernetesVersion", "1.34", eksC, "-eks", "version", "1.34", nil},

		{"cacheEngine", "redis", rg, "-sessions", "engine", "redis", map[string]string{"cacheEngineVersion": "7.1"}},
		{"cacheEngineVersion", "7.2", rg, "-sessions", "engineVersion", "7.2", nil},
		{"cacheNodeType", "cache.r7g.xlarge", rg, "-sessions", "nodeType", "cache.r7g.xlarge", nil},
		{"cacheShards", "4", rg, "-sessions", "numNodeGroups", float64(4), nil},
		{"cacheReplicasPerShard", "2", rg, "-sessions", "replicasPerNodeGroup", float64(2), nil},
		{"cacheSnapshotRetentionDays", "9", rg, "-sessions", "snapshotRetentionLimit", float64(9), nil},
		{"cacheSnapshotWindow", "01:00-02:00", rg, "-sessions", "snapshotWindow", "01:00-02:00", nil},
		{"cacheMaintenanceWindow", "mon:04:00-mon:05:00", rg, "-sessions", "maintenanceWindow", "mon:04:00-mon:05:00", nil},

		{"dbServerless", "false", instance, "-aurora-writer", "instanceClass", "db.r7g.large", nil},
		{"dbServerlessMaxAcu", "8", aurora, "-aurora", "serverlessv2ScalingConfiguration.maxCapacity", float64(8), nil},
		{"dbServerlessMinAcu", "1", aurora, "-aurora", "serverlessv2ScalingConfiguration.minCapacity", float64(1), nil},
		{"dbName", "users", aurora, "-aurora", "databaseName", "users", nil},
		{"dbMasterUsername", "rootish", aurora, "-aurora", "masterUsername", "rootish", nil},
		{"dbBackupRetentionDays", "10", aurora, "-aurora", "backupRetentionPeriod", float64(10), nil},
		{"dbBackupWindow", "01:00-02:00", aurora, "-aurora", "preferredBackupWindow", "01:00-02:00", nil},
		{"dbMaintenanceWindow", "mon:05:00-mon:06:00", aurora, "-aurora", "preferredMaintenanceWindow", "mon:05:00-mon:06:00", nil},
		{"dbPerformanceInsightsRetentionDays", "31", instance, "-aurora-writer", "performanceInsightsRetentionPeriod", float64(31), nil},

		{"sessionTtlSeconds", "7200", cm, "-auth-config", "data.SESSION_TTL_SECONDS", "7200", nil},
		{"maxRequestSeconds", "20", cm, "-auth-config", "data.REQUEST_TIMEOUT_SECONDS", "20", nil},
		{"shutdownSeconds", "20", cm, "-auth-config", "data.SHUTDOWN_TIMEOUT_SECONDS", "20", nil},
		{"terminationGracePeriodSeconds", "120", deploy, "-auth-deploy-us-east-1a", "spec.template.spec.terminationGracePeriodSeconds", float64(120), nil},
		{"deregistrationDelaySeconds", "40", "aws:lb/targetGroup:TargetGroup", "-tg", "deregistrationDelay", float64(40), nil},

		{"wafLoginRateLimit", "250", waf, "-waf", "rules.3.statement.rateBasedStatement.limit", float64(250), nil},
		{"wafRateWindowSeconds", "600", waf, "-waf", "rules.3.statement.rateBasedStatement.evaluationWindowSec", float64(600), nil},
		{"wafLogRetentionDays", "30", logGroup, "-waf-logs", "retentionInDays", float64(30), nil},
		{"flowLogsRetentionDays", "14", logGroup, "-flow-logs", "retentionInDays", float64(14), nil},
		{"wafBlockedRequestsAlarmThreshold", "55", "aws:cloudwatch/metricAlarm:MetricAlarm", "-waf-counted-login-rate-per-ip", "threshold", float64(55), nil},
		{"podEvictionAlarmThreshold", "12", "aws:cloudwatch/metricAlarm:MetricAlarm", "-HighPodEvictionRate", "threshold", float64(12), nil},
		{"appName", "idp", "aws:ec2/vpc:Vpc", "-network-vpc", "tags.Name", "idp-dev-use1-vpc", nil},
		{"environment", "staging", "aws:ec2/vpc:Vpc", "-network-vpc", "tags.Environment", "staging", nil},
		{"authNamespace", "identity", "kubernetes:core/v1:Namespace", "-auth-ns", "metadata.name", "identity", nil},
		{"protectStatefulResources", "true", aurora, "-aurora", "deletionProtection", true, nil},
		{"endpointPrivateAccess", "false", eksC, "-eks", "endpointPrivateAccess", false, nil},
		{"cacheMultiAz", "false", rg, "-sessions", "multiAzEnabled", false, nil},
		{"cacheAtRestEncryption", "false", rg, "-sessions", "atRestEncryptionEnabled", false, nil},
		{"dbEngineVersion", "16.9", aurora, "-aurora", "engineVersion", "16.9", nil},
		{"dbInstanceClass", "db.r7g.xlarge", instance, "-aurora-writer", "instanceClass", "db.r7g.xlarge", map[string]string{"dbServerless": "false"}},
		{"authReplicas", "6", deploy, "-auth-deploy-us-east-1a", "spec.replicas", float64(2), nil},
		{"authFargateCpu", "1", deploy, "-auth-deploy-us-east-1a", "spec.template.spec.containers.0.resources.limits.cpu", "1000m", map[string]string{"authFargateMemoryGb": "2"}},
		{"authFargateMemoryGb", "2", deploy, "-auth-deploy-us-east-1a", "spec.template.spec.containers.0.resources.limits.memory", "1792Mi", nil}, // Fargate adds 256 MiB
		{"drainPropagationSeconds", "20", deploy, "-auth-deploy-us-east-1a", "spec.template.spec.containers.0.lifecycle.preStop.sleep.seconds", float64(50), nil},
		{"preStopSleepSeconds", "70", deploy, "-auth-deploy-us-east-1a", "spec.template.spec.containers.0.lifecycle.preStop.sleep.seconds", float64(70), map[string]string{"terminationGracePeriodSeconds": "100"}},
		{"certificateArn", "arn:aws:acm:us-east-1:123456789012:certificate/0b8e2e6c-3f7a-4c4e-9b8a-1d2e3f4a5b6c", "aws:lb/listener:Listener", "-https", "certificateArn", "arn:aws:acm:us-east-1:123456789012:certificate/0b8e2e6c-3f7a-4c4e-9b8a-1d2e3f4a5b6c", nil},
		{"albAccessLogsRetentionDays", "30", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "-alb-logs-123456789012", "rules.0.expiration.days", float64(30), nil},
		{"wafMode", "block", waf, "-waf", "rules.3.action", map[string]interface{}{"block": map[string]interface{}{}}, nil},
		{"wafRuleGroups", `["AWSManagedRulesCommonRuleSet"]`, waf, "-waf", "rules.0.name", "AWSManagedRulesCommonRuleSet", nil},
		{"alarmEmail", "oncall@example.org", "aws:sns/topicSubscription:TopicSubscription", "-alarms-email", "endpoint", "oncall@example.org", nil},
	}
}

// countCase: a key that decides whether (or how many of) a resource exists.
type countCase struct {
	key, value  string
	typ, suffix string // resources of typ whose name contains suffix
	want        int
	also        map[string]string
}

func countCases() []countCase {
	return []countCase{
		{"natGateways", "perAz", "aws:ec2/natGateway:NatGateway", "", 3, nil},
		{"azCount", "4", "aws:ec2/subnet:Subnet", "-private-", 4, map[string]string{"authReplicas": "4"}},
		{"dbReaders", "2", "aws:rds/clusterInstance:ClusterInstance", "-aurora-", 3, nil},
		{"wafEnabled", "false", "aws:wafv2/webAcl:WebAcl", "", 0, nil},
		{"albAccessLogs", "false", "aws:s3/bucketV2:BucketV2", "-alb-logs-", 0, nil},
		{"flowLogsEnabled", "false", "aws:ec2/flowLog:FlowLog", "", 0, nil},
		{"guardDutyEnabled", "true", "aws:guardduty/detector:Detector", "", 1, nil},
		{"clusterAdminPrincipalArns", `["arn:aws:iam::123456789012:role/ops"]`, "aws:eks/accessEntry:AccessEntry", "", 1, nil},
		{"clusterViewerPrincipalArns", `["arn:aws:iam::123456789012:role/ro"]`, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "", 1, nil},
		{"cacheKmsKeyArn", "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab", "aws:kms/key:Key", "-cache", 0, nil},
		{"albMtlsCaBundle", "s3://auth-ca-bundles/ca.pem", "aws:lb/trustStore:TrustStore", "", 1, map[string]string{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b8e2e6c-3f7a-4c4e-9b8a-1d2e3f4a5b6c"}},
	}
}

func countOf(res *mocks.Result, typ, suffix string) int {
	n := 0
	for _, r := range ofType(res, typ) {
		if strings.Contains(r.Name, suffix) {
			n++
		}
	}
	return n
}

// planWith plans a shipped stack with one key (and the keys it needs) set.
func planWith(t *testing.T, stack, key, value string, also map[string]string) *mocks.Result {
	t.Helper()
	base, secrets := stackConfig(t, stack)
	overrides := map[string]string{"auth-platform:" + key: value}
	for k, v := range also {
		overrides["auth-platform:"+k] = v
	}
	require.NotEqual(t, value, base["auth-platform:"+key], "the case must change the stack")
	res, err := runProgram(t, stack, withConfig(base, overrides), secrets)
	require.NoError(t, err)
	return res
}

func TestConfigurationKeysDecideWhatExists(t *testing.T) {
	defaultPlan := planStack(t, "dev")
	cases := countCases()
	require.NotEmpty(t, cases)
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			require.NotEqual(t, tc.want, countOf(defaultPlan, tc.typ, tc.suffix), "dev already has %d: pick another value", tc.want)
			res := planWith(t, "dev", tc.key, tc.value, tc.also)
			assert.Equal(t, tc.want, countOf(res, tc.typ, tc.suffix), "%s=%s: %s *%s*", tc.key, tc.value, tc.typ, tc.suffix)
		})
	}
}

// checkReach runs reach cases against a shipped stack.
func checkReach(t *testing.T, stack string, cases []reachCase) {
	t.Helper()
	require.NotEmpty(t, cases)
	defaultPlan := planStack(t, stack)
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			for _, before := range ofType(defaultPlan, tc.typ) {
				if strings.HasSuffix(before.Name, tc.suffix) {
					require.NotEqual(t, tc.want, value(before.Inputs, tc.path),
						"%s already has %v at %s: pick another value", stack, tc.want, tc.path)
				}
			}
			r := one(t, planWith(t, stack, tc.key, tc.value, tc.also), tc.typ, tc.suffix)
			assert.Equal(t, tc.want, value(r.Inputs, tc.path), "%s=%s must reach %s %s", tc.key, tc.value, r.Name, tc.path)
		})
	}
}

func TestEveryConfigurationKeyReachesItsResource(t *testing.T) {
	checkReach(t, "dev", reachCases())
}

func TestMultiRegionKeysReachTheirResources(t *testing.T) {
	const (
		hc     = "aws:route53/healthCheck:HealthCheck"
		record = "aws:route53/record:Record"
	)
	checkReach(t, "prod-global", []reachCase{
		{"healthCheckIntervalSeconds", "30", hc, "-dns-use1", "requestInterval", float64(30), nil},
		{"healthCheckFailureThreshold", "5", hc, "-dns-usw2", "failureThreshold", float64(5), nil},
		{"healthCheckRegions", `["us-east-1","us-west-1","eu-west-1"]`, hc, "-dns-use1", "regions", []interface{}{"us-east-1", "us-west-1", "eu-west-1"}, nil},
		{"authHostname", "login.example.com", record, "-dns-use1-record", "name", "login.example.com", nil},
		{"hostedZoneId", "Z9876543210ZYXWVUTSRQ", record, "-dns-usw2-record", "zoneId", "Z9876543210ZYXWVUTSRQ", nil},
		{"dnsRoutingPolicy", "latency", record, "-dns-usw2-record", "latencyRoutingPolicies.0.region", "us-west-2", nil},
	})
}
