package stacks

import (
	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/components/servicelogs"
)

// Namespace is the project's configuration namespace (the project name).
const Namespace = "auth-platform"

// RegionKey is the AWS provider's region, the one key outside our namespace.
const RegionKey = "aws:region"

// Key documents one configuration key of the project. Keys is the single
// source of the defaults: the reader applies them, and a test holds
// Pulumi.yaml's config schema and the README to the same table.
type Key struct {
	Name        string
	Type        string // string, integer, boolean or array (of strings)
	Default     interface{}
	Description string
}

// Keys lists every project configuration key.
var Keys = []Key{
	{"appName", "string", "auth",
		"Short application name, the first part of every resource name (lowercase, 2-12 characters)."},
	{"environment", "string", "dev",
		"dev, staging or prod. prod demands NAT per AZ, protected stateful resources, an alarmEmail and aws:allowedAccountIds."},
	{"vpcCidr", "string", "10.0.0.0/16",
		"IPv4 block of the VPC, /16 to /20 inside RFC 1918. Each AZ gets a private VPC/8 and a public VPC/64."},
	{"availabilityZones", "array", []string{},
		"Explicit AZ names (at least 3), e.g. [us-east-1a, us-east-1b, us-east-1c]; names map to different zones per account, prefer availabilityZoneIds. A name that is an EKS-refused zone in the account fails the deployment. Empty: availabilityZoneIds, else the first azCount EKS-capable zones by ID."},
	{"azCount", "integer", 3,
		"How many AZs to use when no zones are pinned (3-7: Aurora is given exactly three), the first EKS-capable ones by zone ID."},
	{"natGateways", "string", "perAz",
		"perAz (one NAT gateway per AZ, survives an AZ outage) or single (one, cheaper; not allowed in prod)."},
	{"kubernetesVersion", "string", cluster.DefaultVersion,
		"EKS Kubernetes minor, 1.30 or later, that EKS offers; default: the newest in standard support (a version in extended support is warned about)."},
	{"endpointPublicAccess", "boolean", true,
		"Expose the EKS API endpoint publicly (to publicAccessCidrs). The deploying host must reach the API."},
	{"endpointPrivateAccess", "boolean", true,
		"Expose the EKS API endpoint inside the VPC."},
	{"publicAccessCidrs", "array", []string{"0.0.0.0/0"},
		"CIDR blocks allowed to reach the public EKS endpoint. prod refuses 0.0.0.0/0: list the networks of the hosts that run Pulumi, or turn endpointPublicAccess off."},
	{"clusterLogTypes", "array", []string{"api", "audit", "authenticator"},
		"EKS control-plane logs sent to CloudWatch: api, audit, authenticator, controllerManager, scheduler."},
	{"authNamespace", "string", "auth",
		"Kubernetes namespace of the auth service; it gets its own Fargate profile."},
	{"protectStatefulResources", "boolean", false,
		"Mark stateful resources (data stores, VPC, cluster) protected so `pulumi destroy` refuses them. Required in prod."},
	{"decommission", "boolean", false,
		"Lift every protection that refuses `pulumi destroy` (Pulumi protect, deletion protection of the ALB and Aurora, the non-empty log bucket and image repository), keeping every other check, so that `pulumi up` then `pulumi destroy` removes a production stack. Needs protectStatefulResources."},

	// Data tier: ElastiCache (cluster mode) and Aurora PostgreSQL.
	{"cacheEngine", "string", "valkey",
		"ElastiCache engine: valkey (Redis-compatible, the default) or redis (Redis OSS 7.x)."},
	{"cacheEngineVersion", "string", "8.0",
		"Engine version: 7.2, 8.x or 9.x for valkey, 7.0 or 7.1 for redis."},
	{"cacheNodeType", "string", "cache.r7g.large",
		"ElastiCache node type. prod rejects burstable cache.t* types (CPU credits; Global Datastore needs larger nodes)."},
	{"cacheShards", "integer", 3,
		"Shards (node groups) of the cluster-mode replication group, 1-90."},
	{"cacheReplicasPerShard", "integer", 1,
		"Replicas per shard, 0-5. At least 1 with cacheMultiAz and in prod."},
	{"cacheMultiAz", "boolean", true,
		"Keep each shard's replicas in other AZs than its primary. Required in prod."},
	{"cacheAtRestEncryption", "boolean", true,
		"Encrypt cache data and snapshots at rest with KMS. Required in prod."},
	{"cacheKmsKeyArn", "string", "",
		"ARN of an existing KMS key in the stack's region for the cache and its AUTH secret. Empty: the stack creates one."},
	{"cacheSnapshotRetentionDays", "integer", 7,
		"Days of daily cache snapshots, 0-35 (0 turns them off; prod needs at least 1)."},
	{"cacheSnapshotWindow", "string", "02:00-03:00",
		"Daily cache snapshot window, hh24:mi-hh24:mi UTC, at least 60 minutes, clear of cacheMaintenanceWindow."},
	{"cacheMaintenanceWindow", "string", "sun:04:00-sun:05:00",
		"Weekly cache maintenance window, ddd:hh24:mi-ddd:hh24:mi UTC, at least 60 minutes."},
	{"cacheAuthTokenGenerations", "array", []int{1},
		"AUTH token generations the session store accepts, oldest first. Rotate in two ups: [N, N+1] (ROTATE: both work, the secret gets the new one), then [N+1] (SET)."},
	{"dbEngineVersion", "string", database.DefaultMajor,
		"Aurora PostgreSQL major (13 or later, as RDS offers it), resolved at deploy time to the newest minor RDS offers, or a pinned major.minor that RDS offers."},
	{"dbServerless", "boolean", false,
		"Run Aurora instances as Serverless v2 (db.serverless) instead of dbInstanceClass."},
	{"dbInstanceClass", "string", "db.r7g.large",
		"Instance class of provisioned Aurora instances."},
	{"dbServerlessMinAcu", "string", "0.5",
		"Serverless v2 minimum capacity in ACUs, 0.5-256 in 0.5 steps (a string: config types have no decimals)."},
	{"dbServerlessMaxAcu", "string", "16",
		"Serverless v2 maximum capacity in ACUs, at least 1 and dbServerlessMinAcu, at most 256, in 0.5 steps."},
	{"dbReaders", "integer", 1,
		"Aurora reader instances besides the writer, 1-15, spread over the AZs the writer is not in."},
	{"dbName", "string", "auth",
		"Database created at launch (letters, digits, _; starts with a letter)."},
	{"dbMasterUsername", "string", "authadmin",
		"Aurora master user; RDS generates and keeps its password in Secrets Manager."},
	{"dbBackupRetentionDays", "integer", 7,
		"Days of Aurora automated backups, 7-35."},
	{"dbBackupWindow", "string", "03:00-04:00",
		"Daily Aurora backup window, hh24:mi-hh24:mi UTC, at least 30 minutes, clear of dbMaintenanceWindow."},
	{"dbMaintenanceWindow", "string", "sun:05:00-sun:06:00",
		"Weekly Aurora maintenance window, ddd:hh24:mi-ddd:hh24:mi UTC, at least 30 minutes."},
	{"dbPerformanceInsightsRetentionDays", "integer", 7,
		"Performance Insights retention: 7 (free), 731, or a multiple of 31 up to 713."},

	// Auth service, ALB and alarms.
	{"authImage", "string", "",
		"Auth service image you bring, pinned by tag or digest (never :latest), e.g. registry.example.com/auth-service:1.4.2. Empty: the stack builds cmd/auth-service into its own ECR repository and deploys it by digest."},
	{"authReplicas", "integer", 3,
		"Auth pods, 2-50; spread over zones, one evicted at a time."},
	{"authFargateCpu", "string", "0.5",
		"vCPU of each auth pod's Fargate size: 0.25, 0.5, 1, 2 or 4."},
	{"authFargateMemoryGb", "string", "1",
		"Memory (GiB) of each auth pod's Fargate size, valid for authFargateCpu; the container gets it minus Fargate's 256 MiB."},
	{"sessionTtlSeconds", "integer", 3600,
		"Absolute lifetime of a session from login, 60-604800 seconds."},
	{"sessionIdleSeconds", "integer", 1800,
		"A session not used for this long ends: at least 60 seconds (past sessionTtlSeconds, the lifetime ends it first)."},
	{"drainPropagationSeconds", "integer", 30,
		"Timing budget: seconds from pod deletion until the ALB sends it no new request (LB controller + ELB propagation)."},
	{"maxRequestSeconds", "integer", 25,
		"Timing budget: the longest auth request; the deregistration delay is this plus 5 s."},
	{"shutdownSeconds", "integer", 25,
		"Timing budget: the service's own shutdown after SIGTERM; the grace period is preStop sleep plus this plus 5 s."},
	{"deregistrationDelaySeconds", "integer", 0,
		"Override of the derived target-group deregistration delay (0: derived). Must stay at most the preStop sleep."},
	{"preStopSleepSeconds", "integer", 0,
		"Override of the derived preStop sleep (0: derived). Must cover the propagation allowance and the deregistration delay."},
	{"terminationGracePeriodSeconds", "integer", 0,
		"Override of the derived grace period (0: derived). Must exceed preStop sleep + shutdownSeconds."},
	{"certificateArn", "string", "",
		"ACM certificate (same region) for HTTPS on the ALB, with HTTP redirected. Empty: plain HTTP (not allowed in prod)."},
	{"albAccessLogsBucket", "string", "",
		"Bring-your-own S3 bucket for ALB access logs (its policy must admit ELB log delivery). Empty: the stack's own bucket when albAccessLogs is on."},
	{"alarmEmail", "string", "",
		"E-mail address subscribed to the alarm topic (AWS asks it to confirm). Empty: no subscription (not allowed in prod)."},
	{"authLogRetentionDays", "integer", servicelogs.DefaultRetentionDays,
		"Days the auth service's own log lines (routed from its Fargate pods) are kept in CloudWatch Logs."},

	// Multi-region and DNS.
	{"regions", "array", []string{},
		"Multi-region: a list of {region, <regional key>: value, ...}; the first is the primary. Empty: one region, aws:region."},
	{"authHostname", "string", "",
		"DNS name of the auth service, e.g. auth.example.com, in hostedZoneId. Required with regions; optional otherwise."},
	{"hostedZoneId", "string", "",
		"Route 53 public hosted zone that holds authHostname, e.g. Z0123456789ABCDEFGHIJ."},
	{"dnsRoutingPolicy", "string", "failover",
		"Multi-region routing: failover (primary first, secondaries when it is unhealthy) or latency (nearest healthy region)."},
	{"healthCheckIntervalSeconds", "integer", 30,
		"Route 53 health check interval: 10 or 30 seconds."},
	{"healthCheckFailureThreshold", "integer", 3,
		"Consecutive failed Route 53 checks before a region counts as down, 1-10."},
	{"healthCheckRegions", "array", []string{},
		"Route 53 checker regions (at least 3 when set), e.g. [us-east-1, us-west-2, eu-west-1]. Empty: AWS's default set."},
	{"globalPrimaryRegion", "string", "",
		"Multi-region: the region whose Aurora cluster is the global database's writer now; its pods write to its writer endpoint, the others through their reader endpoints (write forwarding). Change it after a switchover or failover. Empty: the first of regions."},

	// Issue 11 (deploy): zones by ID, cluster access for more than the creator.
	{"availabilityZoneIds", "array", []string{},
		"Zone IDs (at least 3), e.g. [use1-az1, use1-az2, use1-az4]: the same zones in every account. IDs EKS refuses (use1-az3, usw1-az2, cac1-az3) are errors. Empty: availabilityZones, else the first azCount EKS-capable zones by ID."},
	{"clusterAdminPrincipalArns", "array", []string{},
		"IAM role/user ARNs given AmazonEKSClusterAdminPolicy on the cluster by an access entry, e.g. the CI deploy role. It may be the principal that creates the cluster: the entry EKS gives the creator is adopted."},
	{"clusterViewerPrincipalArns", "array", []string{},
		"IAM role/user ARNs given AmazonEKSViewPolicy (read-only) on the cluster by an access entry, e.g. the CI preview role."},
	// Issue 16: WAF, access logs, flow logs, GuardDuty, patch and eviction
	// signals, mutual TLS.
	{"wafEnabled", "boolean", true,
		"AWS WAF web ACL on the ALB: AWS managed rule groups and a login rate limit. Required in prod."},
	{"wafMode", "string", "block",
		"block, or count (log and count what would be blocked) for a first rollout."},
	{"wafRuleGroups", "array", []string{"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet"},
		"AWS managed rule groups evaluated in order (free ones only, at most 1500 WCU with the rate rule)."},
	{"wafLoginRateLimit", "integer", 100,
		"Requests per client IP to /v1/login per wafRateWindowSeconds before the WAF blocks it (10-2000000000)."},
	{"wafRateWindowSeconds", "integer", 300,
		"Window of the login rate limit: 60, 120, 300 or 600 seconds."},
	{"wafLogRetentionDays", "integer", 90,
		"Days the WAF traffic logs (Authorization and Cookie redacted) are kept in CloudWatch Logs."},
	{"wafBlockedRequestsAlarmThreshold", "integer", 100,
		"Blocked (count mode: counted) requests per 5 minutes that raise the WAF alarm."},
	{"albAccessLogs", "boolean", true,
		"ALB access logs into a stack-owned S3 bucket (or albAccessLogsBucket). Required in prod."},
	{"albAccessLogsRetentionDays", "integer", 90,
		"Days before the stack-owned bucket expires access logs (1-3650)."},
	{"flowLogsEnabled", "boolean", true,
		"VPC flow logs (all traffic) into CloudWatch Logs. Required in prod."},
	{"flowLogsRetentionDays", "integer", 30,
		"Days the VPC flow logs are kept in CloudWatch Logs."},
	{"guardDutyEnabled", "boolean", false,
		"GuardDuty EKS audit-log monitoring. Without guardDutyDetectorId the stack creates the region's detector and owns it (one per account and region: the preflight refuses a region that already has another's)."},
	{"guardDutyDetectorId", "string", "",
		"Existing GuardDuty detector to adopt (with guardDutyEnabled): the stack turns on its EKS audit-log feature and never creates or deletes a detector. Empty: the stack creates the region's detector."},
	{"podEvictionAlarmThreshold", "integer", 30,
		"Pod eviction requests per 5 minutes (from the audit log) that raise HighPodEvictionRate; needs audit in clusterLogTypes."},
	{"patchWindow", "string", "06:00-08:00",
		"Maintenance window of the patch-window job, UTC: daily hh24:mi-hh24:mi or weekly ddd:hh24:mi-ddd:hh24:mi, at least 20 minutes (one zone's roll)."},
	{"patchMaxPodAgeDays", "integer", 7,
		"The patch-window job restarts auth pods older than this many days (1-30), one zone at a time, in each window."},
	{"patchWindowImage", "string", "",
		"Image of the patch-window job, pinned by tag or digest. Empty: the stack builds cmd/patch-window into its own repository."},
	{"albMtlsCaBundle", "string", "",
		"s3://bucket/key.pem of the CA bundle client certificates must chain to: mutual TLS (verify) on the HTTPS listener. Empty: off."},
}

// ItemsType is the element type of an array key.
func (k Key) ItemsType() string {
	switch k.Default.(type) {
	case []int:
		return "integer"
	}
	if k.Name == "regions" {
		return "object"
	}
	return "string"
}

func keyByName(name string) Key {
	for _, k := range Keys {
		if k.Name == name {
			return k
		}
	}
	panic("stacks: unregistered config key " + name)
}
