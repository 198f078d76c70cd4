package plan

// Replacement rules: which inputs of a resource type force a new resource,
// and what the resource carries, for every type of the stack that carries
// traffic or data. The change analysis (changes.go) applies them to the
// inputs that differ between the plan before and after a change.
//
// Sources, one per provider:
//   - pulumi-aws v6.83.4 bridges terraform-provider-aws v5: an input is
//     replace-on-change where the TF schema says ForceNew
//     (hashicorp/terraform-provider-aws, internal/service/<service>/<file>.go,
//     cited per type below; the bridge turns ForceNew into a replacement,
//     pulumi/pulumi-terraform-bridge pkg/tfbridge/provider.go Diff). The
//     bridge deletes first when the resource's name input is set by the
//     program and unchanged (pkg/tfbridge/schema.go
//     nameRequiresDeleteBeforeReplace, called from provider.go:1276): two
//     resources cannot share one name. Auto-named resources are replaced
//     create-before-delete.
//   - pulumi-kubernetes v4.32.0: metadata.name and metadata.namespace
//     always replace (provider/pkg/provider/provider.go:1565 and diff.go
//     metadataForceNewProperties), plus the per-kind fields of diff.go's
//     forceNew table (Deployment: spec.selector; Service: spec.clusterIP;
//     Secret: type; an immutable ConfigMap or Secret: data, binaryData).
//     It deletes first when the object's metadata.name is set by the
//     program and unchanged (provider.go:1645-1655).
//   - The TargetGroupBinding: the controller's validating webhook refuses
//     to change spec.targetGroupARN, targetType, ipAddressType and vpcID
//     (aws-load-balancer-controller v3.5.0
//     webhooks/elbv2/targetgroupbinding_validator.go:174-201,
//     checkImmutableFields), so the program replaces the binding on those
//     (authservice.TargetGroupBindingImmutableFields); and it refuses a
//     second binding of one target group (same file:203,
//     checkExistingTargetGroups), so a binding replaced create-before-delete
//     needs a new target group.
//   - pulumi-eks v2.8.1's Cluster is a component: a change of the inputs
//     listed replaces the EKS control plane it creates (name, role, VPC
//     subnets and security groups are ForceNew in
//     internal/service/eks/cluster.go's vpc_config of the v5 line), which
//     takes every Kubernetes object with it.
// Types not listed here carry neither traffic nor data (alarms, log groups,
// IAM, tags): the analysis lists their changes and never fails on them.

// Carries says what a resource carries.
const (
	CarriesTraffic = "traffic"
	CarriesData    = "data"
	CarriesNothing = ""
)

// ReplacementRule is what the providers say about one resource type.
type ReplacementRule struct {
	// Carries is CarriesTraffic, CarriesData or CarriesNothing.
	Carries string
	// ForceNew are input paths (Pulumi's input names, dotted) whose
	// change replaces the resource.
	ForceNew []string
	// NameInput is the input that names the resource: set by the program
	// and unchanged, a replacement deletes the old resource first.
	NameInput string
	// Source cites the rule.
	Source string
}

// kubernetesForceNew are the inputs every Kubernetes object is replaced on.
var kubernetesForceNew = []string{"metadata.name", "metadata.namespace"}

// ReplacementRules by resource type.
var ReplacementRules = map[string]ReplacementRule{
	"aws:lb/loadBalancer:LoadBalancer": {Carries: CarriesTraffic, NameInput: "name",
		ForceNew: []string{"name", "namePrefix", "internal", "loadBalancerType"},
		Source:   "terraform-provider-aws internal/service/elbv2/load_balancer.go (ForceNew: name, name_prefix, internal, load_balancer_type)"},
	"aws:lb/listener:Listener": {Carries: CarriesTraffic,
		ForceNew: []string{"loadBalancerArn"},
		Source:   "terraform-provider-aws internal/service/elbv2/listener.go (ForceNew: load_balancer_arn)"},
	"aws:lb/listenerRule:ListenerRule": {Carries: CarriesTraffic,
		ForceNew: []string{"listenerArn"},
		Source:   "terraform-provider-aws internal/service/elbv2/listener_rule.go (ForceNew: listener_arn)"},
	"aws:lb/targetGroup:TargetGroup": {Carries: CarriesTraffic, NameInput: "name",
		ForceNew: []string{"name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId", "ipAddressType"},
		Source:   "terraform-provider-aws internal/service/elbv2/target_group.go (ForceNew: name, name_prefix, port, protocol, protocol_version, target_type, vpc_id, ip_address_type; health_check is updated in place)"},
	"aws:eks/fargateProfile:FargateProfile": {Carries: CarriesTraffic, NameInput: "fargateProfileName",
		ForceNew: []string{"clusterName", "fargateProfileName", "podExecutionRoleArn", "selectors", "subnetIds"},
		Source:   "terraform-provider-aws internal/service/eks/fargate_profile.go (every argument but tags is ForceNew: EKS has no UpdateFargateProfile)"},
	"eks:index:Cluster": {Carries: CarriesTraffic, NameInput: "name",
		ForceNew: []string{"name", "vpcId", "privateSubnetIds", "publicSubnetIds", "subnetIds", "serviceRole", "clusterSecurityGroup", "encryptionConfigKeyArn"},
		Source:   "pulumi-eks v2.8.1 Cluster over terraform-provider-aws internal/service/eks/cluster.go (ForceNew: name, role_arn, vpc_config subnet_ids and security_group_ids, encryption_config)"},
	"aws:ec2/securityGroup:SecurityGroup": {Carries: CarriesTraffic, NameInput: "name",
		ForceNew: []string{"name", "namePrefix", "description", "vpcId"},
		Source:   "terraform-provider-aws internal/service/ec2/vpc_security_group.go (ForceNew: name, name_prefix, description, vpc_id)"},
	"aws:route53/record:Record": {Carries: CarriesTraffic,
		ForceNew: []string{"name", "zoneId"},
		Source:   "terraform-provider-aws internal/service/route53/record.go (ForceNew: name, zone_id)"},
	"aws:elasticache/replicationGroup:ReplicationGroup": {Carries: CarriesData, NameInput: "replicationGroupId",
		ForceNew: []string{"replicationGroupId", "port", "subnetGroupName", "networkType", "atRestEncryptionEnabled", "kmsKeyId", "dataTieringEnabled", "snapshotArns", "snapshotName", "preferredCacheClusterAzs"},
		Source:   "terraform-provider-aws internal/service/elasticache/replication_group.go (ForceNew: replication_group_id, port, subnet_group_name, network_type, at_rest_encryption_enabled, kms_key_id, data_tiering_enabled, snapshot_arns, snapshot_name, preferred_cache_cluster_azs; node_type and num_node_groups are updated in place)"},
	"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": {Carries: CarriesData,
		ForceNew: []string{"globalReplicationGroupIdSuffix", "primaryReplicationGroupId"},
		Source:   "terraform-provider-aws internal/service/elasticache/global_replication_group.go (ForceNew: global_replication_group_id_suffix, primary_replication_group_id)"},
	"aws:rds/cluster:Cluster": {Carries: CarriesData, NameInput: "clusterIdentifier",
		ForceNew: []string{"clusterIdentifier", "clusterIdentifierPrefix", "engine", "engineMode", "databaseName", "masterUsername", "dbSubnetGroupName", "storageEncrypted", "kmsKeyId", "availabilityZones", "snapshotIdentifier"},
		Source:   "terraform-provider-aws internal/service/rds/cluster.go (ForceNew: cluster_identifier(_prefix), engine, engine_mode, database_name, master_username, db_subnet_group_name, storage_encrypted, kms_key_id, availability_zones, snapshot_identifier)"},
	"aws:rds/clusterInstance:ClusterInstance": {Carries: CarriesTraffic, NameInput: "identifier",
		ForceNew: []string{"identifier", "identifierPrefix", "clusterIdentifier", "engine", "dbSubnetGroupName", "availabilityZone"},
		Source:   "terraform-provider-aws internal/service/rds/cluster_instance.go (ForceNew: identifier(_prefix), cluster_identifier, engine, db_subnet_group_name, availability_zone; instance_class is updated in place)"},
	"aws:rds/globalCluster:GlobalCluster": {Carries: CarriesData, NameInput: "globalClusterIdentifier",
		ForceNew: []string{"globalClusterIdentifier", "databaseName", "engine", "sourceDbClusterIdentifier", "storageEncrypted"},
		Source:   "terraform-provider-aws internal/service/rds/global_cluster.go (ForceNew: global_cluster_identifier, database_name, engine, source_db_cluster_identifier, storage_encrypted)"},
	"aws:secretsmanager/secret:Secret": {Carries: CarriesData, NameInput: "name",
		ForceNew: []string{"name", "namePrefix"},
		Source:   "terraform-provider-aws internal/service/secretsmanager/secret.go (ForceNew: name, name_prefix)"},
	"aws:kms/key:Key": {Carries: CarriesData,
		ForceNew: []string{"customerMasterKeySpec", "keyUsage", "multiRegion"},
		Source:   "terraform-provider-aws internal/service/kms/key.go (ForceNew: customer_master_key_spec, key_usage, multi_region)"},
	"kubernetes:core/v1:Namespace": {Carries: CarriesTraffic, NameInput: "metadata.name",
		ForceNew: kubernetesForceNew, Source: "pulumi-kubernetes v4.32.0 provider/pkg/provider/diff.go metadataForceNewProperties"},
	"kubernetes:apps/v1:Deployment": {Carries: CarriesTraffic, NameInput: "metadata.name",
		ForceNew: append(append([]string{}, kubernetesForceNew...), "spec.selector"),
		Source:   "pulumi-kubernetes v4.32.0 provider/pkg/provider/diff.go (apps/v1 Deployment: .spec.selector)"},
	"kubernetes:core/v1:Service": {Carries: CarriesTraffic, NameInput: "metadata.name",
		ForceNew: append(append([]string{}, kubernetesForceNew...), "spec.clusterIP"),
		Source:   "pulumi-kubernetes v4.32.0 provider/pkg/provider/diff.go (core/v1 Service: .spec.clusterIP)"},
	"kubernetes:core/v1:ConfigMap": {Carries: CarriesNothing, NameInput: "metadata.name",
		ForceNew: append(append([]string{}, kubernetesForceNew...), "data", "binaryData"),
		Source:   "pulumi-kubernetes v4.32.0 provider/pkg/provider/diff.go forceNewProperties (an immutable ConfigMap: .data, .binaryData)"},
	"kubernetes:core/v1:Secret": {Carries: CarriesData, NameInput: "metadata.name",
		ForceNew: append(append([]string{}, kubernetesForceNew...), "type"),
		Source:   "pulumi-kubernetes v4.32.0 provider/pkg/provider/diff.go (core/v1 Secret: .type)"},
	"kubernetes:batch/v1:Job": {Carries: CarriesNothing, NameInput: "metadata.name",
		ForceNew: append(append([]string{}, kubernetesForceNew...), "spec.completions", "spec.parallelism", "spec.selector", "spec.template"),
		Source:   "pulumi-kubernetes v4.32.0 provider/pkg/provider/diff.go (batch/v1 Job: .spec.completions, .spec.parallelism, .spec.selector, .spec.template)"},
	"kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding": {Carries: CarriesTraffic, NameInput: "metadata.name",
		ForceNew: append(append([]string{}, kubernetesForceNew...), "spec.targetGroupARN", "spec.targetType", "spec.ipAddressType", "spec.vpcID"),
		Source:   "aws-load-balancer-controller v3.5.0 webhooks/elbv2/targetgroupbinding_validator.go:174-201 checkImmutableFields"},
}

// RuleFor returns the replacement rule of a type; a type without one
// carries nothing and is replaced only by replaceOnChanges (and, for a
// Kubernetes object, its name or namespace).
func RuleFor(typ string) ReplacementRule {
	if r, ok := ReplacementRules[typ]; ok {
		return r
	}
	if len(typ) > len("kubernetes:") && typ[:len("kubernetes:")] == "kubernetes:" {
		return ReplacementRule{NameInput: "metadata.name", ForceNew: kubernetesForceNew,
			Source: "pulumi-kubernetes v4.32.0 provider/pkg/provider/diff.go metadataForceNewProperties"}
	}
	return ReplacementRule{}
}
