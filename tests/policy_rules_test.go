package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/policies/rules"
)

// policyCase breaks the compliant fixture in one way and names the policy
// that must catch it, the resource it must blame and a fragment of what it
// must say.
type policyCase struct {
	policy   string
	name     string
	mutate   func(f *policyFixture)
	resource string // fixture key of the resource the violation is on
	message  string
}

const container0 = "spec.template.spec.containers.0"

func policyFailCases() []policyCase {
	return append(defenseFailCases(), []policyCase{
		// deployment-min-replicas
		{"deployment-min-replicas", "one replica", func(f *policyFixture) { f.set("deploy", "spec.replicas", 1); f.remove("deploy-b") }, "deploy", "runs 1 replica"},
		{"deployment-min-replicas", "replicas unset", func(f *policyFixture) { f.del("deploy", "spec.replicas"); f.remove("deploy-b") }, "deploy", "runs 1 replica"},
		{"deployment-min-replicas", "one pod per zone of two, one zone empty", func(f *policyFixture) {
			f.set("deploy", "spec.replicas", 1)
			f.set("deploy-b", "spec.replicas", 0)
		}, "deploy", "runs 1 replica(s) with demo-deploy, demo-deploy-b"},
		// deployment-replicas-per-zone (advisory)
		{"deployment-replicas-per-zone", "two replicas", func(f *policyFixture) { f.set("deploy", "spec.replicas", 1) }, "deploy", "runs 2 replica(s)"},
		// deployment-zero-unavailable-rollout
		{"deployment-zero-unavailable-rollout", "maxUnavailable 1", func(f *policyFixture) { f.set("deploy", "spec.strategy.rollingUpdate.maxUnavailable", 1) }, "deploy", "maxUnavailable 1"},
		{"deployment-zero-unavailable-rollout", "maxUnavailable 25%", func(f *policyFixture) { f.set("deploy", "spec.strategy.rollingUpdate.maxUnavailable", "25%") }, "deploy", `maxUnavailable "25%"`},
		{"deployment-zero-unavailable-rollout", "no strategy", func(f *policyFixture) { f.del("deploy", "spec.strategy") }, "deploy", "Kubernetes defaults to"},
		{"deployment-zero-unavailable-rollout", "Recreate", func(f *policyFixture) {
			f.set("deploy", "spec.strategy", map[string]any{"type": "Recreate"})
		}, "deploy", "strategy Recreate"},
		{"deployment-zero-unavailable-rollout", "no surge", func(f *policyFixture) { f.set("deploy", "spec.strategy.rollingUpdate.maxSurge", 0) }, "deploy", "maxSurge 0"},
		// deployment-zone-spread
		{"deployment-zone-spread", "profile spans zones", func(f *policyFixture) {
			f.set("fp-auth", "subnetIds", []any{fixtureRef("private-a"), fixtureRef("private-b")})
		}, "fp-auth", "spans 2 subnets in zones us-east-1a, us-east-1b"},
		{"deployment-zone-spread", "zone Deployment without pods", func(f *policyFixture) { f.set("deploy-b", "spec.replicas", 0) }, "deploy-b", "runs 0 replicas: zone us-east-1b has no auth pod"},
		{"deployment-zone-spread", "zone without a Deployment", func(f *policyFixture) {
			f.remove("deploy-b")
			f.set("deploy", "spec.replicas", 3)
		}, "private-b", "zone us-east-1b has no auth pod"},
		{"deployment-zone-spread", "one Deployment spread by a constraint Fargate ignores", func(f *policyFixture) {
			f.remove("deploy-b")
			f.set("deploy", "spec.replicas", 3)
			f.set("deploy", "spec.template.spec.topologySpreadConstraints", []any{map[string]any{
				"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
				"labelSelector": map[string]any{"matchLabels": labelsCopy()}}})
		}, "private-b", "zone us-east-1b has no auth pod"},
		{"deployment-zone-spread", "a profile for the whole namespace", func(f *policyFixture) {
			f.add("fp-auth-all", "aws:eks/fargateProfile:FargateProfile", map[string]any{"clusterName": "demo", "podExecutionRoleArn": fixtureRef("pod-exec"),
				"selectors": []any{map[string]any{"namespace": "auth"}}, "subnetIds": []any{fixtureRef("private-a")}})
			f.r("fp-auth-all").DependsOn = []string{"fp-auth-b"}
		}, "deploy", "2 Fargate profiles (demo-fp-auth, demo-fp-auth-all) select its pods"},
		{"deployment-zone-spread", "no profile selects the pods", func(f *policyFixture) {
			f.set("fp-auth-b", "selectors", []any{map[string]any{"namespace": "auth", "labels": map[string]any{"auth-platform/zone": "us-east-1z"}}})
		}, "deploy-b", `no Fargate profile selects its pods (namespace "auth", auth-platform/zone "us-east-1b")`},
		// deployment-probes
		{"deployment-probes", "no readiness probe", func(f *policyFixture) { f.del("deploy", container0+".readinessProbe") }, "deploy", `container "auth" has no readinessProbe`},
		{"deployment-probes", "no liveness probe", func(f *policyFixture) { f.del("deploy", container0+".livenessProbe") }, "deploy", `container "auth" has no livenessProbe`},
		// deployment-prestop-hook
		{"deployment-prestop-hook", "no preStop", func(f *policyFixture) { f.del("deploy", container0+".lifecycle") }, "deploy", "has no preStop hook"},
		{"deployment-prestop-hook", "exec without sleep", func(f *policyFixture) {
			f.set("deploy", container0+".lifecycle.preStop", map[string]any{"exec": map[string]any{"command": []any{"/app/drain"}}})
		}, "deploy", "an exec hook that does not sleep"},
		{"deployment-prestop-hook", "httpGet", func(f *policyFixture) {
			f.set("deploy", container0+".lifecycle.preStop", map[string]any{"httpGet": map[string]any{"path": "/drain", "port": 8080}})
		}, "deploy", "a httpGet hook"},
		{"deployment-prestop-hook", "zero sleep", func(f *policyFixture) { f.set("deploy", container0+".lifecycle.preStop.sleep.seconds", 0) }, "deploy", "sleeps 0 s"},
		// deployment-grace-period
		{"deployment-grace-period", "grace equals sleep", func(f *policyFixture) { f.set("deploy", "spec.template.spec.terminationGracePeriodSeconds", 60) }, "deploy", "terminationGracePeriodSeconds 60 s is not longer"},
		{"deployment-grace-period", "grace unset", func(f *policyFixture) { f.del("deploy", "spec.template.spec.terminationGracePeriodSeconds") }, "deploy", "30 s (unset"},
		{"deployment-grace-period", "exec sleep longer than grace", func(f *policyFixture) {
			f.set("deploy", container0+".lifecycle.preStop", map[string]any{"exec": map[string]any{"command": []any{"/bin/sh", "-c", "sleep 120"}}})
		}, "deploy", "preStop sleep of 120 s"},
		// no-emptydir-state
		{"no-emptydir-state", "emptyDir sessions", func(f *policyFixture) {
			f.set("deploy", "spec.template.spec.volumes", []any{map[string]any{"name": "sessions", "emptyDir": map[string]any{}}})
		}, "deploy", `emptyDir volume "sessions"`},
		// pdb-covers-deployment
		{"pdb-covers-deployment", "no PDB", func(f *policyFixture) { f.remove("pdb") }, "deploy", "no PodDisruptionBudget selects its pods"},
		{"pdb-covers-deployment", "PDB selects other pods", func(f *policyFixture) {
			f.set("pdb", "spec.selector", map[string]any{"matchLabels": map[string]any{"app": "other"}})
		}, "deploy", "no PodDisruptionBudget selects its pods"},
		{"pdb-covers-deployment", "PDB in another namespace", func(f *policyFixture) { f.set("pdb", "metadata.namespace", "default") }, "deploy", "no PodDisruptionBudget"},
		{"pdb-covers-deployment", "two PDBs", func(f *policyFixture) {
			f.add("pdb2", "kubernetes:policy/v1:PodDisruptionBudget", map[string]any{"metadata": map[string]any{"name": "auth-2", "namespace": "auth"},
				"spec": map[string]any{"maxUnavailable": 1, "selector": map[string]any{"matchExpressions": []any{
					map[string]any{"key": "app.kubernetes.io/name", "operator": "In", "values": []any{"auth"}}}}, "unhealthyPodEvictionPolicy": "AlwaysAllow"}})
		}, "deploy", "2 PodDisruptionBudgets"},
		// pdb-allows-disruption
		{"pdb-allows-disruption", "maxUnavailable 0", func(f *policyFixture) { f.set("pdb", "spec.maxUnavailable", 0) }, "pdb", "allows no eviction"},
		{"pdb-allows-disruption", "maxUnavailable = replicas", func(f *policyFixture) { f.set("pdb", "spec.maxUnavailable", 3) }, "pdb", "allows all 3 pods"},
		{"pdb-allows-disruption", "minAvailable = replicas", func(f *policyFixture) {
			f.del("pdb", "spec.maxUnavailable")
			f.set("pdb", "spec.minAvailable", 3)
		}, "pdb", "minAvailable 3 allows no eviction"},
		{"pdb-allows-disruption", "minAvailable 100%", func(f *policyFixture) {
			f.del("pdb", "spec.maxUnavailable")
			f.set("pdb", "spec.minAvailable", "100%")
		}, "pdb", "allows no eviction"},
		{"pdb-allows-disruption", "both", func(f *policyFixture) { f.set("pdb", "spec.minAvailable", 1) }, "pdb", "sets both"},
		{"pdb-allows-disruption", "neither", func(f *policyFixture) { f.del("pdb", "spec.maxUnavailable") }, "pdb", "sets neither"},
		{"pdb-allows-disruption", "orphan PDB blocks everything", func(f *policyFixture) {
			f.set("pdb", "spec.maxUnavailable", 0)
			f.set("pdb", "spec.selector", map[string]any{"matchLabels": map[string]any{"app": "other"}})
		}, "pdb", "maxUnavailable 0 allows no eviction"},
		// pdb-unhealthy-pod-eviction (advisory)
		{"pdb-unhealthy-pod-eviction", "unset", func(f *policyFixture) { f.del("pdb", "spec.unhealthyPodEvictionPolicy") }, "pdb", "unhealthyPodEvictionPolicy is unset"},
		{"pdb-unhealthy-pod-eviction", "IfHealthyBudget", func(f *policyFixture) { f.set("pdb", "spec.unhealthyPodEvictionPolicy", "IfHealthyBudget") }, "pdb", `"IfHealthyBudget"`},
		// target-group-ip-targets
		{"target-group-ip-targets", "instance target group", func(f *policyFixture) { f.set("tg", "targetType", "instance") }, "tg", `targetType is "instance"`},
		{"target-group-ip-targets", "target type unset", func(f *policyFixture) { f.del("tg", "targetType") }, "tg", `AWS defaults to "instance"`},
		{"target-group-ip-targets", "instance binding", func(f *policyFixture) { f.set("tgb", "spec.targetType", "instance") }, "tgb", `targetType is "instance"`},
		// target-group-deregistration-within-prestop
		{"target-group-deregistration-within-prestop", "delay above sleep", func(f *policyFixture) { f.set("tg", "deregistrationDelay", 90) }, "tg", "deregistration delay 90 s exceeds the 60 s preStop sleep"},
		{"target-group-deregistration-within-prestop", "delay as text", func(f *policyFixture) { f.set("tg", "deregistrationDelay", "90") }, "tg", "deregistration delay 90 s"},
		{"target-group-deregistration-within-prestop", "AWS default delay", func(f *policyFixture) { f.del("tg", "deregistrationDelay") }, "tg", "300 s (unset: the AWS default)"},
		{"target-group-deregistration-within-prestop", "short exec sleep", func(f *policyFixture) {
			f.set("deploy", container0+".lifecycle.preStop", map[string]any{"exec": map[string]any{"command": []any{"sleep", "20"}}})
		}, "tg", "exceeds the 20 s preStop sleep"},
		// namespace-readiness-gate
		{"namespace-readiness-gate", "label missing", func(f *policyFixture) { f.set("ns", "metadata.labels", map[string]any{"team": "auth"}) }, "ns", "label elbv2.k8s.aws/pod-readiness-gate-inject is unset"},
		{"namespace-readiness-gate", "label disabled", func(f *policyFixture) {
			f.set("ns", "metadata.labels", map[string]any{"elbv2.k8s.aws/pod-readiness-gate-inject": "disabled"})
		}, "ns", `is "disabled"`},
		{"namespace-readiness-gate", "namespace not in the stack", func(f *policyFixture) { f.remove("ns") }, "tgb", `namespace "auth" is not managed by the stack`},
		// elasticache-cluster-mode
		{"elasticache-cluster-mode", "cluster mode disabled", func(f *policyFixture) { f.set("sessions", "clusterMode", "disabled") }, "sessions", `clusterMode is "disabled"`},
		{"elasticache-cluster-mode", "cluster mode unset", func(f *policyFixture) { f.del("sessions", "clusterMode") }, "sessions", "clusterMode is unset"},
		{"elasticache-cluster-mode", "no automatic failover", func(f *policyFixture) { f.set("sessions", "automaticFailoverEnabled", false) }, "sessions", "automaticFailoverEnabled is false"},
		// elasticache-multi-az
		{"elasticache-multi-az", "single AZ", func(f *policyFixture) { f.set("sessions", "multiAzEnabled", false) }, "sessions", "multiAzEnabled is false"},
		{"elasticache-multi-az", "unset", func(f *policyFixture) { f.del("sessions", "multiAzEnabled") }, "sessions", "multiAzEnabled is unset"},
		// elasticache-replicas
		{"elasticache-replicas", "no replica", func(f *policyFixture) { f.set("sessions", "replicasPerNodeGroup", 0) }, "sessions", "replicasPerNodeGroup is 0"},
		{"elasticache-replicas", "replicas unset", func(f *policyFixture) { f.del("sessions", "replicasPerNodeGroup") }, "sessions", "sets no replicas"},
		// elasticache-tls
		{"elasticache-tls", "no TLS", func(f *policyFixture) { f.set("sessions", "transitEncryptionEnabled", false) }, "sessions", "transitEncryptionEnabled is false"},
		{"elasticache-tls", "TLS preferred", func(f *policyFixture) { f.set("sessions", "transitEncryptionMode", "preferred") }, "sessions", `transitEncryptionMode is "preferred"`},
		// elasticache-at-rest-encryption
		{"elasticache-at-rest-encryption", "off", func(f *policyFixture) { f.set("sessions", "atRestEncryptionEnabled", false) }, "sessions", "atRestEncryptionEnabled is false"},
		{"elasticache-at-rest-encryption", "unset", func(f *policyFixture) { f.del("sessions", "atRestEncryptionEnabled") }, "sessions", "atRestEncryptionEnabled is unset"},
		{"elasticache-tls", "Global Datastore member of another stack", joinForeignGlobalDatastore, "secondary", "joins Global Datastore ldgnf-elsewhere, whose primary is not in this stack"},
		{"elasticache-at-rest-encryption", "Global Datastore member of another stack", joinForeignGlobalDatastore, "secondary", "inherited atRestEncryptionEnabled cannot be proven"},
		{"elasticache-cluster-mode", "Global Datastore member of another stack", joinForeignGlobalDatastore, "secondary", "inherited clusterMode cannot be proven"},
		// aurora-storage-encrypted
		{"aurora-storage-encrypted", "off", func(f *policyFixture) { f.set("aurora", "storageEncrypted", false) }, "aurora", "storageEncrypted is false"},
		{"aurora-storage-encrypted", "unset", func(f *policyFixture) { f.del("aurora", "storageEncrypted") }, "aurora", "storageEncrypted is unset"},
		// aurora-instances-across-azs
		{"aurora-instances-across-azs", "writer only", func(f *policyFixture) { f.remove("aurora-reader") }, "aurora", "has 1 instance(s)"},
		{"aurora-instances-across-azs", "same zone", func(f *policyFixture) { f.set("aurora-reader", "availabilityZone", "us-east-1a") }, "aurora", "all 2 instances are in us-east-1a"},
		{"aurora-instances-across-azs", "zone not pinned", func(f *policyFixture) { f.del("aurora-reader", "availabilityZone") }, "aurora", "demo-aurora-reader have no availabilityZone"},
		// aurora-backup-retention
		{"aurora-backup-retention", "one day", func(f *policyFixture) { f.set("aurora", "backupRetentionPeriod", 1) }, "aurora", "keeps automated backups 1 day(s):"},
		{"aurora-backup-retention", "unset", func(f *policyFixture) { f.del("aurora", "backupRetentionPeriod") }, "aurora", "1 day(s) (unset: the RDS default)"},
		// aurora-deletion-protection
		{"aurora-deletion-protection", "protected cluster", func(f *policyFixture) { f.r("aurora").Protect = true }, "aurora", "the stack protects it (protect: true)"},
		{"aurora-deletion-protection", "protected cache", func(f *policyFixture) { f.r("sessions").Protect = true }, "aurora", `ReplicationGroup "demo-sessions" is protected`},
		{"aurora-deletion-protection", "global cluster unprotected", func(f *policyFixture) {
			f.r("aurora").Protect = true
			f.set("aurora", "deletionProtection", true)
			f.add("global", "aws:rds/globalCluster:GlobalCluster", map[string]any{"globalClusterIdentifier": "demo-global", "engine": "aurora-postgresql", "deletionProtection": false})
		}, "global", "deletionProtection is false although the stack protects its stateful resources"},
		{"aurora-deletion-protection", "global cluster unset", func(f *policyFixture) {
			f.r("sessions").Protect = true
			f.set("aurora", "deletionProtection", true)
			f.add("global", "aws:rds/globalCluster:GlobalCluster", map[string]any{"globalClusterIdentifier": "demo-global", "engine": "aurora-postgresql"})
		}, "global", "deletionProtection is unset"},
		// no-world-ingress
		{"no-world-ingress", "pods open to the world", func(f *policyFixture) {
			f.set("pods-from-alb", "cidrIpv4", "0.0.0.0/0")
			f.del("pods-from-alb", "referencedSecurityGroupId")
		}, "pods-from-alb", "tcp port 8080 from 0.0.0.0/0; this security group belongs to no internet-facing ALB"},
		{"no-world-ingress", "SSH on the ALB", func(f *policyFixture) { f.set("alb-in-443", "fromPort", 22); f.set("alb-in-443", "toPort", 22) }, "alb-in-443", "even the ALB's group may open only TCP 80 and 443"},
		{"no-world-ingress", "port range on the ALB", func(f *policyFixture) { f.set("alb-in-80", "toPort", 443) }, "alb-in-80", "ports 80-443"},
		{"no-world-ingress", "IPv6 everything", func(f *policyFixture) {
			f.set("alb-in-443", "cidrIpv6", "::/0")
			f.del("alb-in-443", "cidrIpv4")
			f.set("alb-in-443", "ipProtocol", "-1")
			f.del("alb-in-443", "fromPort")
			f.del("alb-in-443", "toPort")
		}, "alb-in-443", "all protocols all ports from ::/0"},
		{"no-world-ingress", "inline ingress", func(f *policyFixture) {
			f.set("pods-sg", "ingress", []any{map[string]any{"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrBlocks": []any{"0.0.0.0/0"}}})
		}, "pods-sg", "tcp port 8080 from 0.0.0.0/0"},
		{"no-world-ingress", "legacy rule", func(f *policyFixture) {
			f.add("legacy", "aws:ec2/securityGroupRule:SecurityGroupRule", map[string]any{"type": "ingress", "securityGroupId": fixtureRef("pods-sg"),
				"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": []any{"0.0.0.0/0"}})
		}, "legacy", "tcp port 5432 from 0.0.0.0/0"},
		// data-store-ingress-auth-pods-only
		{"data-store-ingress-auth-pods-only", "the cluster security group", func(f *policyFixture) {
			f.set("cache-from-pods", "referencedSecurityGroupId", fixtureClusterSG)
		}, "cache-from-pods", "lets security group " + fixtureClusterSG + " into data store group demo-cache-sg; it is not a group of this stack"},
		{"data-store-ingress-auth-pods-only", "a group no policy gives to pods", func(f *policyFixture) {
			f.set("cache-from-pods", "referencedSecurityGroupId", fixtureRef("alb-sg"))
		}, "cache-from-pods", `lets SecurityGroup "demo-alb-sg" into data store group demo-cache-sg, and no SecurityGroupPolicy gives that group to pods`},
		{"data-store-ingress-auth-pods-only", "no policy at all", func(f *policyFixture) { f.remove("sgp") }, "cache-from-pods", "no SecurityGroupPolicy gives that group to pods"},
		{"data-store-ingress-auth-pods-only", "an address range", func(f *policyFixture) {
			f.del("cache-from-pods", "referencedSecurityGroupId")
			f.set("cache-from-pods", "cidrIpv4", "10.0.0.0/16")
		}, "cache-from-pods", "lets 10.0.0.0/16 into data store group demo-cache-sg by address"},
		{"data-store-ingress-auth-pods-only", "a legacy rule from the cluster group", func(f *policyFixture) {
			f.add("legacy-cache", "aws:ec2/securityGroupRule:SecurityGroupRule", map[string]any{"type": "ingress", "securityGroupId": fixtureRef("cache-sg"),
				"protocol": "tcp", "fromPort": 6379, "toPort": 6379, "sourceSecurityGroupId": fixtureClusterSG})
		}, "legacy-cache", "it is not a group of this stack"},
		// no-public-data-store
		{"no-public-data-store", "public reader", func(f *policyFixture) { f.set("aurora-reader", "publiclyAccessible", true) }, "aurora-reader", "is publicly accessible"},
		// fargate-private-subnets
		{"fargate-private-subnets", "public subnet", func(f *policyFixture) {
			f.set("fp-auth", "subnetIds", []any{fixtureRef("private-a"), fixtureRef("public-b")})
		}, "fp-auth", `Subnet "demo-public-b", which is public`},
		{"fargate-private-subnets", "foreign subnet", func(f *policyFixture) { f.set("fp-auth", "subnetIds", []any{"subnet-0123456789abcdef0"}) }, "fp-auth", "subnet-0123456789abcdef0, which is not a subnet of this stack"},
		{"fargate-private-subnets", "no subnets", func(f *policyFixture) { f.del("fp-auth", "subnetIds") }, "fp-auth", "names no subnets"},
		{"fargate-private-subnets", "routed to the internet", func(f *policyFixture) {
			f.add("sneaky", "aws:ec2/subnet:Subnet", map[string]any{"vpcId": fixtureRef("vpc"), "availabilityZone": "us-east-1c", "cidrBlock": "10.0.64.0/19"})
			f.add("sneaky-rt", "aws:ec2/routeTableAssociation:RouteTableAssociation", map[string]any{"subnetId": fixtureRef("sneaky"), "routeTableId": fixtureRef("public-rt")})
			f.add("fp-extra", "aws:eks/fargateProfile:FargateProfile", map[string]any{"clusterName": "demo", "podExecutionRoleArn": fixtureRef("pod-exec"),
				"selectors": []any{map[string]any{"namespace": "extra"}}, "subnetIds": []any{fixtureRef("sneaky")}})
			f.r("fp-extra").DependsOn = []string{"fp-auth"}
		}, "fp-extra", `Subnet "demo-sneaky", which is public (its route table demo-public-rt routes to an internet gateway)`},
		// irsa-trust-scoped
		{"irsa-trust-scoped", "wildcard subject", func(f *policyFixture) {
			f.set("irsa", "assumeRolePolicy", irsaTrust(irsaCondition("StringLike", "system:serviceaccount:auth:*")))
		}, "irsa", "matches the subject with StringLike"},
		{"irsa-trust-scoped", "star in StringEquals", func(f *policyFixture) {
			f.set("irsa", "assumeRolePolicy", irsaTrust(irsaCondition("StringEquals", "system:serviceaccount:*:*")))
		}, "irsa", `trusts subject "system:serviceaccount:*:*"`},
		{"irsa-trust-scoped", "no subject", func(f *policyFixture) {
			f.set("irsa", "assumeRolePolicy", irsaTrust(fmt.Sprintf(`{"StringEquals":{%q:"sts.amazonaws.com"}}`, fixtureIssuer+":aud")))
		}, "irsa", "sets no sub condition"},
		{"irsa-trust-scoped", "no audience", func(f *policyFixture) {
			f.set("irsa", "assumeRolePolicy", irsaTrust(fmt.Sprintf(`{"StringEquals":{%q:"system:serviceaccount:auth:auth"}}`, fixtureIssuer+":sub")))
		}, "irsa", "does not pin the audience"},
		{"irsa-trust-scoped", "two service accounts", func(f *policyFixture) {
			f.set("irsa", "assumeRolePolicy", irsaTrust(fmt.Sprintf(`{"StringEquals":{%q:["system:serviceaccount:auth:auth","system:serviceaccount:default:default"],%q:"sts.amazonaws.com"}}`,
				fixtureIssuer+":sub", fixtureIssuer+":aud")))
		}, "irsa", "trusts 2 service accounts"},
		// no-secret-in-configmap
		{"no-secret-in-configmap", "literal password", func(f *policyFixture) { f.set("config", "data.DB_PASSWORD", "hunter2-hunter2") }, "config", `data key "DB_PASSWORD" looks like a credential`},
		{"no-secret-in-configmap", "Pulumi secret", func(f *policyFixture) { f.set("config", "data.REDIS_URL", fixtureSecret{"rediss://:token@host:6379"}) }, "config", `data key "REDIS_URL" holds a Pulumi secret`},
		// no-plain-secret-env
		{"no-plain-secret-env", "literal API key", func(f *policyFixture) {
			f.set("deploy", container0+".env", []any{map[string]any{"name": "API_KEY", "value": "sk-live-0123456789"}})
		}, "deploy", `env API_KEY looks like a credential`},
		{"no-plain-secret-env", "Pulumi secret", func(f *policyFixture) {
			f.set("deploy", container0+".env", []any{map[string]any{"name": "REDIS_AUTH", "value": fixtureSecret{"token"}}})
		}, "deploy", `env REDIS_AUTH holds a Pulumi secret`},
		// tgb-target-group-in-stack
		{"tgb-target-group-in-stack", "foreign target group", func(f *policyFixture) {
			f.set("tgb", "spec.targetGroupARN", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/0123456789abcdef")
		}, "tgb", "targetgroup/other/0123456789abcdef, which this stack does not manage"},
		{"tgb-target-group-in-stack", "no target group", func(f *policyFixture) { f.del("tgb", "spec.targetGroupARN") }, "tgb", "names no target group"},
		{"tgb-target-group-in-stack", "unknown target group name", func(f *policyFixture) {
			f.del("tgb", "spec.targetGroupARN")
			f.set("tgb", "spec.targetGroupName", "someone-elses")
		}, "tgb", "binds target group someone-elses"},
		// fargate-profiles-serialized
		{"fargate-profiles-serialized", "no chain", func(f *policyFixture) { f.r("fp-auth").DependsOn = nil }, "fp-coredns", `neither it nor FargateProfile "demo-fp-auth" waits`},
		{"fargate-profiles-serialized", "fan-out", func(f *policyFixture) {
			f.add("fp-lbc", "aws:eks/fargateProfile:FargateProfile", map[string]any{"clusterName": "demo", "podExecutionRoleArn": fixtureRef("pod-exec"),
				"selectors": []any{map[string]any{"namespace": "kube-system"}}, "subnetIds": []any{fixtureRef("private-a")}})
			f.r("fp-lbc").DependsOn = []string{"fp-coredns"}
		}, "fp-lbc", `neither it nor FargateProfile "demo-fp-auth" waits`},
	}...)
}

// secondaryRegion adds a Global Datastore secondary: it sets what is its
// own (replicas, Multi-AZ, failover) and inherits engine, cluster mode and
// encryption from the primary, as AWS requires.
func secondaryRegion(f *policyFixture, global any) {
	f.add("secondary", "aws:elasticache/replicationGroup:ReplicationGroup", map[string]any{
		"replicationGroupId": "demo-sessions-usw2", "description": "sessions, second region", "globalReplicationGroupId": global,
		"automaticFailoverEnabled": true, "multiAzEnabled": true, "replicasPerNodeGroup": 1})
}

func joinOwnGlobalDatastore(f *policyFixture) {
	f.add("global", "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", map[string]any{
		"globalReplicationGroupIdSuffix": "demo-sessions", "primaryReplicationGroupId": fixtureRef("sessions")})
	secondaryRegion(f, fixtureRef("global"))
}

func joinForeignGlobalDatastore(f *policyFixture) { secondaryRegion(f, "ldgnf-elsewhere") }

// TestPolicyFixtureIsCompliant: the base fixture, built like the real
// program builds the auth platform, passes every policy, advisory ones
// included. Each failing case below differs from it in one shape.
func TestPolicyFixtureIsCompliant(t *testing.T) {
	vs := newPolicyFixture().violations(t)
	assert.Empty(t, vs, "the compliant fixture must pass every policy")
}

// TestPolicyCatchesEachBrokenShape: every policy fires on the shape it
// forbids, on the resource at fault, with a message that names the resource
// and the fix.
func TestPolicyCatchesEachBrokenShape(t *testing.T) {
	for _, tc := range policyFailCases() {
		t.Run(tc.policy+"/"+tc.name, func(t *testing.T) {
			p, ok := rules.Lookup(tc.policy)
			require.True(t, ok, "no policy %s", tc.policy)
			f := newPolicyFixture()
			tc.mutate(f)
			res := f.run(t)
			got := byPolicy(evaluateResult(res))[tc.policy]
			require.NotEmpty(t, got, "%s did not fire", tc.policy)
			want := urnOf(t, res, f.r(tc.resource).Name)
			var onResource []string
			for _, v := range got {
				assert.Equal(t, string(p.Level), v.Level)
				if v.URN == want {
					onResource = append(onResource, v.Message)
				}
			}
			require.NotEmpty(t, onResource, "%s fired, but not on %s: %v", tc.policy, want, got)
			msg := strings.Join(onResource, "\n")
			assert.Contains(t, msg, tc.message)
			assert.Contains(t, msg, fmt.Sprintf("%q", f.r(tc.resource).Name), "the message names the resource")
			assert.Contains(t, msg, "Fix: ", "the message says how to fix it")
		})
	}
}

// TestPolicyAcceptsEquivalentShapes: shapes that keep the contract in
// another spelling do not trip the policy.
func TestPolicyAcceptsEquivalentShapes(t *testing.T) {
	for _, tc := range []struct {
		policy string
		name   string
		mutate func(f *policyFixture)
	}{
		{"elasticache-cluster-mode", "Global Datastore secondary", joinOwnGlobalDatastore},
		{"elasticache-tls", "Global Datastore secondary", joinOwnGlobalDatastore},
		{"elasticache-at-rest-encryption", "Global Datastore secondary", joinOwnGlobalDatastore},
		{"deployment-prestop-hook", "exec sleep", func(f *policyFixture) {
			f.set("deploy", container0+".lifecycle.preStop", map[string]any{"exec": map[string]any{"command": []any{"/bin/sh", "-c", "sleep 60"}}})
		}},
		{"target-group-deregistration-within-prestop", "delay as text", func(f *policyFixture) { f.set("tg", "deregistrationDelay", "30") }},
		{"target-group-deregistration-within-prestop", "delay equal to the sleep", func(f *policyFixture) { f.set("tg", "deregistrationDelay", 60) }},
		{"deployment-zero-unavailable-rollout", "0%", func(f *policyFixture) { f.set("deploy", "spec.strategy.rollingUpdate.maxUnavailable", "0%") }},
		{"pdb-allows-disruption", "percentage", func(f *policyFixture) { f.set("pdb", "spec.maxUnavailable", "34%") }},
		{"pdb-allows-disruption", "minAvailable", func(f *policyFixture) { f.del("pdb", "spec.maxUnavailable"); f.set("pdb", "spec.minAvailable", 2) }},
		{"no-world-ingress", "IPv6 on 443 at the ALB", func(f *policyFixture) { f.del("alb-in-443", "cidrIpv4"); f.set("alb-in-443", "cidrIpv6", "::/0") }},
		{"aurora-deletion-protection", "protected with deletion protection", func(f *policyFixture) {
			f.r("aurora").Protect = true
			f.set("aurora", "deletionProtection", true)
		}},
		{"aurora-deletion-protection", "protected global cluster with deletion protection", func(f *policyFixture) {
			f.r("aurora").Protect = true
			f.set("aurora", "deletionProtection", true)
			f.add("global", "aws:rds/globalCluster:GlobalCluster", map[string]any{"globalClusterIdentifier": "demo-global", "engine": "aurora-postgresql", "deletionProtection": true})
		}},
		{"aurora-deletion-protection", "unprotected stack's global cluster", func(f *policyFixture) {
			f.add("global", "aws:rds/globalCluster:GlobalCluster", map[string]any{"globalClusterIdentifier": "demo-global", "engine": "aurora-postgresql"})
		}},
		{"no-secret-in-configmap", "references and numbers", func(f *policyFixture) {
			f.set("config", "data.REDIS_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf")
			f.set("config", "data.TOKEN_TTL_SECONDS", "3600")
		}},
		{"irsa-trust-scoped", "audience list of one", func(f *policyFixture) {
			f.set("irsa", "assumeRolePolicy", irsaTrust(fmt.Sprintf(`{"StringEquals":{%q:["system:serviceaccount:auth:auth"],%q:["sts.amazonaws.com"]}}`,
				fixtureIssuer+":sub", fixtureIssuer+":aud")))
		}},
	} {
		t.Run(tc.policy+"/"+tc.name, func(t *testing.T) {
			f := newPolicyFixture()
			tc.mutate(f)
			assert.Empty(t, byPolicy(f.violations(t))[tc.policy])
		})
	}
}

// TestEveryPolicyHasAFailingCase keeps the table above complete.
func TestEveryPolicyHasAFailingCase(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range policyFailCases() {
		covered[tc.policy] = true
	}
	for _, p := range rules.Policies() {
		assert.True(t, covered[p.Name], "policy %s has no failing case", p.Name)
	}
}

// TestPolicyTableIsWellFormed: unique names, a description, a level and a
// check for each policy.
func TestPolicyTableIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range rules.Policies() {
		assert.Regexp(t, `^[a-z0-9]+(-[a-z0-9]+)*$`, p.Name)
		assert.False(t, seen[p.Name], "policy %s twice", p.Name)
		seen[p.Name] = true
		assert.NotEmpty(t, p.Description, p.Name)
		assert.Contains(t, []rules.Level{rules.Mandatory, rules.Advisory}, p.Level, p.Name)
		assert.Contains(t, []string{"resilience", "data", "security", "stack"}, p.Group, p.Name)
		assert.NotNil(t, p.Check, p.Name)
	}
}

// TestPolicySurvivesOddShapes: no policy crashes on resources of the types
// it reads with missing, unknown or mistyped properties.
func TestPolicySurvivesOddShapes(t *testing.T) {
	types := []string{
		"kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Namespace", "kubernetes:core/v1:Service", "kubernetes:core/v1:ConfigMap",
		"kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "kubernetes:batch/v1:CronJob",
		"aws:lb/targetGroup:TargetGroup", "aws:lb/loadBalancer:LoadBalancer", "aws:ec2/securityGroup:SecurityGroup",
		"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:ec2/subnet:Subnet",
		"aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:eks/fargateProfile:FargateProfile", "aws:iam/role:Role",
		"aws:elasticache/replicationGroup:ReplicationGroup", "aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance",
	}
	shapes := []map[string]any{
		{},
		{"spec": rules.Unknown, "metadata": rules.Unknown, "assumeRolePolicy": rules.Unknown, "subnetIds": rules.Unknown, "securityGroups": rules.Unknown},
		{"spec": "text", "metadata": 3.0, "assumeRolePolicy": "{not json", "subnetIds": "subnet-1", "ingress": "x", "data": []any{1.0}},
		{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{"x", map[string]any{"lifecycle": "y", "env": "z"}},
			"volumes": []any{3.0}, "topologySpreadConstraints": map[string]any{}}}, "selector": []any{}, "strategy": []any{},
			"minAvailable": rules.Secret, "maxUnavailable": map[string]any{}, "serviceRef": "svc", "targetGroupARN": []any{nil}},
			"metadata": map[string]any{"namespace": 1.0, "labels": "l"}, "assumeRolePolicy": map[string]any{"Statement": "s"},
			"data": map[string]any{"PASSWORD": nil, "TOKEN": rules.Secret}},
	}
	var resources []rules.Resource
	for i, typ := range types {
		for j, props := range shapes {
			resources = append(resources, rules.Resource{
				URN:        fmt.Sprintf("urn:pulumi:s::p::%s::r%d-%d", typ, i, j),
				Type:       typ,
				Name:       fmt.Sprintf("r%d-%d", i, j),
				Properties: props,
				PropertyDependencies: map[string][]string{
					"spec": {fmt.Sprintf("urn:pulumi:s::p::%s::r%d-%d", types[(i+1)%len(types)], (i+1)%len(types), j)},
				},
			})
		}
	}
	for _, v := range rules.Evaluate(rules.NewStack(resources)) {
		assert.NotContains(t, v.Message, "internal error", "%s crashed", v.Policy)
	}
}
