package plan

import "strings"

// Duration is how long the engine typically waits for one resource of a
// type: from the create (or delete) call until the provider reports it done.
// Typical, not worst case: the providers' default timeouts are far longer.
type Duration struct {
	Create, Delete int // seconds
	Source         string
}

// apiCall is what a resource without an entry costs: one control-plane
// call that returns when the object exists.
var apiCall = Duration{Create: 5, Delete: 5, Source: "a single synchronous API call (no waiter in the provider)"}

// Durations is the one table of typical durations per resource type, each
// with where the figure comes from. Keys ending in "*" match a prefix.
var Durations = map[string]Duration{
	"eks:index:Cluster": {600, 420,
		"EKS control plane: 7-10 min in provider logs (turbot/steampipe-plugin-aws#1409 shows >7 min of `Still creating`; aws/containers-roadmap#1227 asks to cut it); pulumi-aws raised its create timeout to 30 min (pulumi/pulumi-aws#557)"},
	"aws:eks/fargateProfile:FargateProfile": {150, 120,
		"aws/containers-roadmap#2392: 5-6 min per profile in 2024, 26 s reported in 2025-11, deletion about 2 min; EKS creates one profile at a time per cluster"},
	"aws:eks/addon:Addon": {90, 60,
		"CoreDNS turns ACTIVE once its pods run; a Fargate pod is scheduled, given a micro-VM and started in about a minute (EKS user guide, Fargate pod start)"},
	"aws:eks/accessEntry:AccessEntry":                         apiCall,
	"aws:eks/accessPolicyAssociation:AccessPolicyAssociation": apiCall,
	"aws:elasticache/replicationGroup:ReplicationGroup": {900, 600,
		"cluster-mode groups with TLS take 10-20 min; a single-node cluster took 395 s in the provider's acceptance test (hashicorp/terraform#8275); default create timeout raised to 60 min (hashicorp/terraform-provider-aws#4093)"},
	"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": {300, 300,
		"creating a Global Datastore from an available primary group: several minutes (ElastiCache user guide, Global Datastore); the secondary group then joins in its own create"},
	"aws:rds/cluster:Cluster": {180, 300,
		"an Aurora cluster without instances is available in minutes; the instances take the time (Aurora user guide, creating a DB cluster)"},
	"aws:rds/clusterInstance:ClusterInstance": {600, 420,
		"an Aurora instance takes about 10 min to become available (provider create timeout 90 min; aws-cloudformation/cloudformation-coverage-roadmap#1557 shows the cluster-then-instance order)"},
	"aws:rds/globalCluster:GlobalCluster": {30, 60, "a global cluster is metadata until members join (RDS API CreateGlobalCluster)"},
	"aws:ec2/natGateway:NatGateway": {120, 60,
		"NAT gateways turn available in 1-2 min (VPC user guide, NAT gateway states; provider create timeout 10 min)"},
	"aws:ec2/vpc:Vpc":       {20, 10, "turbot/steampipe-plugin-aws#184 and #246: `aws_vpc ... Creation complete after 20s` and `39s`"},
	"aws:ec2/subnet:Subnet": {8, 10, "turbot/steampipe-plugin-aws#184 and #246: subnets complete after 5-8 s"},
	"aws:lb/loadBalancer:LoadBalancer": {180, 30,
		"an ALB moves from provisioning to active in about 3 min (ELB user guide, load balancer state)"},
	"kubernetes:helm.sh/v3:Release": {120, 60,
		"atomic release: the controller's two pods on Fargate (about a minute each to schedule) and its webhook ready"},
	"kubernetes:apps/v1:Deployment": {150, 120,
		"pods on Fargate start in about a minute, then pass the startup and readiness probes and the ALB's two health checks (2 x 10 s)"},
	"kubernetes:*":                      {2, 2, "a Kubernetes object is stored when the API server answers; no rollout to await"},
	"aws:route53/record:Record":         {60, 60, "a change is INSYNC within 60 s (Route 53 API GetChange)"},
	"docker-build:index:Image":          {180, 5, "a cold multi-stage Go build and push on a CI runner; with the layer cache far less"},
	"aws:cloudwatch/metricAlarm:*":      {2, 2, "PutMetricAlarm is synchronous"},
	"random:*":                          {0, 0, "computed by the provider, no cloud call"},
	"aws:secretsmanager/secretVersion*": apiCall,
}

// DurationOf looks a type up in Durations: an exact entry first, then the
// longest matching prefix entry, then apiCall.
func DurationOf(typ string) Duration {
	if d, ok := Durations[typ]; ok {
		return d
	}
	best, bestLen := apiCall, -1
	for k, d := range Durations {
		if p, ok := strings.CutSuffix(k, "*"); ok && strings.HasPrefix(typ, p) && len(p) > bestLen {
			best, bestLen = d, len(p)
		}
	}
	return best
}

// Ordering is one rule AWS or Kubernetes imposes: a resource of type
// Dependent cannot be created before one of type Dependency it references
// exists. Patterns ending in "*" match a prefix. The lower bound of a
// deploy is the longest chain over the program's edges that such a rule
// covers; an edge no rule covers is the program's own choice.
type Ordering struct {
	Dependent, Dependency string
	Reason                string
}

// Orderings lists each rule once, with its reason.
var Orderings = []Ordering{
	{"aws:ec2/*", "aws:ec2/*", "network objects name their VPC, subnets, gateways, route tables and addresses by ID"},
	{"aws:vpc/*", "aws:ec2/securityGroup:SecurityGroup", "a security group rule belongs to an existing group"},
	{"*", "aws:iam/*", "IAM rejects a principal, role or policy that does not exist yet"},
	{"*", "aws:kms/*", "a key must exist before anything is encrypted with it"},
	{"*", "aws:secretsmanager/*", "a secret is read or referenced by ARN"},
	{"*", "random:*", "a generated password is an input"},
	{"aws:iam/*", "eks:index:Cluster", "IRSA roles trust the cluster's OIDC issuer"},
	{"aws:eks/*", "eks:index:Cluster", "profiles, add-ons and access entries belong to an existing cluster"},
	{"eks:index:Cluster", "aws:ec2/*", "the control plane's ENIs go into the given subnets and security groups"},
	{"aws:vpc/*", "eks:index:Cluster", "a rule admitting the pods names the cluster security group EKS creates"},
	{"aws:secretsmanager/*", "aws:elasticache/*", "the cache secret carries the configuration endpoint, known once the group exists"},
	{"aws:eks/fargateProfile:FargateProfile", "aws:ec2/*", "a profile names private subnets"},
	{"aws:eks/fargateProfile:FargateProfile", "aws:eks/fargateProfile:FargateProfile", "EKS changes one Fargate profile of a cluster at a time (ResourceInUseException otherwise)"},
	{"aws:eks/addon:Addon", "aws:eks/fargateProfile:FargateProfile", "CoreDNS pods on Fargate need the kube-system profile to run, and the add-on turns ACTIVE only with them"},
	{"kubernetes:*", "eks:index:Cluster", "the Kubernetes API server must exist"},
	{"kubernetes:*", "pulumi:providers:kubernetes", "the provider holds the cluster's kubeconfig"},
	{"pulumi:providers:kubernetes", "eks:index:Cluster", "the kubeconfig names the cluster's endpoint"},
	{"kubernetes:*", "aws:eks/accessPolicyAssociation:*", "the deployer needs cluster access before it writes objects"},
	{"kubernetes:*", "kubernetes:core/v1:Namespace", "namespaced objects need their namespace"},
	{"kubernetes:helm.sh/v3:Release", "aws:eks/*", "the controller's pods need their Fargate profile and CoreDNS"},
	{"kubernetes:elbv2.k8s.aws/*", "kubernetes:helm.sh/v3:Release", "the TargetGroupBinding CRD and its webhook come with the controller"},
	{"kubernetes:elbv2.k8s.aws/*", "aws:lb/*", "a binding names its target group"},
	{"kubernetes:elbv2.k8s.aws/*", "aws:ec2/*", "a binding admits the ALB's security group"},
	{"kubernetes:apps/v1:Deployment", "aws:eks/*", "pods need their Fargate profile and CoreDNS"},
	{"kubernetes:apps/v1:Deployment", "kubernetes:*", "pods mount their ConfigMap and service account; the readiness gate is injected only when the binding exists"},
	{"kubernetes:apps/v1:Deployment", "aws:elasticache/*", "a pod is ready only when every Redis shard answers /health"},
	{"kubernetes:apps/v1:Deployment", "aws:rds/clusterInstance:ClusterInstance", "a pod is ready only when the database answers /health"},
	{"kubernetes:apps/v1:Deployment", "docker-build:index:Image", "pods pull the pushed image"},
	{"kubernetes:*", "aws:*", "objects carry the ARNs and endpoints of AWS resources (IRSA role, endpoints, secrets)"},
	{"aws:elasticache/*", "aws:ec2/*", "cache nodes go into the subnet group's subnets and the security groups"},
	{"aws:elasticache/*", "aws:elasticache/*", "a group uses its subnet and parameter groups; a secondary joins the Global Datastore, which is made from the primary"},
	{"aws:rds/*", "aws:ec2/*", "database ENIs go into the subnet group's subnets and the security groups"},
	{"aws:rds/clusterInstance:ClusterInstance", "aws:rds/clusterInstance:ClusterInstance", "the first instance to become available is the writer: readers start after it so the writer is the instance placed and named as one (Aurora user guide, DB cluster instances)"},
	{"aws:rds/*", "aws:rds/*", "an instance joins its cluster; a cluster uses its subnet and parameter groups; a secondary joins the global cluster once the primary's writer exists"},
	{"aws:lb/*", "aws:ec2/*", "the ALB goes into public subnets with its security group"},
	{"aws:lb/listenerRule:ListenerRule", "kubernetes:apps/v1:Deployment", "a rule forwards to the target group only once the pods serve it: a new group has healthy targets only after the rollout (issue 24)"},
	{"aws:lb/*", "aws:lb/*", "a listener forwards to its load balancer's target group"},
	{"aws:route53/*", "aws:lb/*", "alias records and health checks name the ALB's DNS name"},
	{"aws:route53/*", "aws:route53/*", "a failover record names its health check"},
	{"aws:ecr/*", "aws:ecr/*", "a lifecycle policy belongs to its repository"},
	{"docker-build:index:Image", "aws:ecr/*", "the image is pushed into the repository"},
	{"aws:sns/*", "aws:sns/*", "policies and subscriptions belong to their topic"},
	{"aws:cloudwatch/*", "aws:sns/*", "alarm actions name the topic"},
	{"aws:*", "pulumi:providers:aws", "the regional provider carries the region and credentials"},
}

// matches reports whether typ matches a pattern of Durations or Orderings.
func matches(pattern, typ string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(typ, p)
	}
	return pattern == typ
}

// Required returns the first ordering rule that covers an edge, if any.
func Required(dependent, dependency string) (Ordering, bool) {
	for _, o := range Orderings {
		if matches(o.Dependent, dependent) && matches(o.Dependency, dependency) {
			return o, true
		}
	}
	return Ordering{}, false
}
