// Package rules is the resilience and security contract of the auth
// platform as plain Go: one table of policies, each a name, a description,
// an enforcement level and a check over a neutral view of the stack's
// resources.
//
// Two front ends feed the same checks:
//   - the offline plan (cmd/plan) converts the resources recorded under the
//     mocks of cmd/plan/mocks and fills the plan's "violations";
//   - the CrossGuard policy pack (policies/, built on policyx) converts the
//     engine's resources during `pulumi preview` and `pulumi up`.
//
// The package depends on nothing but the standard library, so both can
// import it and tests can call it directly.
package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Level is a policy's enforcement level.
type Level string

// Enforcement levels. A mandatory violation fails the plan (exit 1) and the
// preview or update; an advisory one is reported only.
const (
	Mandatory Level = "mandatory"
	Advisory  Level = "advisory"
)

// Scope says what a policy needs to see.
type Scope int

const (
	// ResourceScope policies judge each resource on its own. Under the
	// Pulumi CLI they run on a resource's inputs before it is created or
	// updated.
	ResourceScope Scope = iota
	// StackScope policies relate resources to each other. Under the Pulumi
	// CLI they run once over every resource of the stack (with their
	// outputs) after the program has registered them all.
	StackScope
)

func (s Scope) String() string {
	if s == StackScope {
		return "stack"
	}
	return "resource"
}

// Resource is the neutral view of one resource that every check reads.
type Resource struct {
	URN      string
	Type     string // type token, e.g. kubernetes:apps/v1:Deployment
	Name     string // logical name
	ID       string // physical ID when known ("" during a preview)
	Parent   string // URN of the parent
	Provider string // URN of the explicit provider, if any
	// DependsOn lists the explicit dependencies (pulumi.DependsOn).
	DependsOn []string
	// PropertyDependencies maps a top-level property to the URNs of the
	// resources its value came from. The CLI front end knows them; the
	// offline plan does not (it resolves references by ID instead).
	PropertyDependencies map[string][]string
	// Protect is the resource's protect option.
	Protect bool
	// Properties are plain JSON-like values (map[string]any, []any,
	// string, float64, bool, nil) with Secret and Unknown markers: the
	// inputs in the offline plan and in resource-scoped policies under the
	// CLI, the outputs (a superset) in stack-scoped policies under the CLI.
	Properties map[string]any
}

// get reads a property by path.
func (r *Resource) get(path ...string) any { return at(r.Properties, path...) }

// kind is the last part of the type token: Deployment, TargetGroup, ...
func (r *Resource) kind() string {
	if i := strings.LastIndex(r.Type, ":"); i >= 0 {
		return r.Type[i+1:]
	}
	return r.Type
}

// describe names the resource in messages: its kind and logical name.
func (r *Resource) describe() string { return fmt.Sprintf("%s %q", r.kind(), r.Name) }

// Stack is every resource of one stack, by URN.
type Stack struct {
	Resources []*Resource
	byURN     map[string]*Resource
}

// NewStack indexes resources (copied) sorted by URN.
func NewStack(resources []Resource) *Stack {
	s := &Stack{byURN: make(map[string]*Resource, len(resources))}
	for i := range resources {
		r := resources[i]
		s.Resources = append(s.Resources, &r)
		s.byURN[r.URN] = &r
	}
	sort.SliceStable(s.Resources, func(i, j int) bool { return s.Resources[i].URN < s.Resources[j].URN })
	return s
}

// Get returns the resource with that URN, or nil.
func (s *Stack) Get(urn string) *Resource { return s.byURN[urn] }

// OfType returns the resources of the given type tokens, sorted by URN.
func (s *Stack) OfType(types ...string) []*Resource {
	var out []*Resource
	for _, r := range s.Resources {
		for _, t := range types {
			if r.Type == t {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// Finding is one problem a check found: on which resource, and a message
// that names the resource and the fix.
type Finding struct {
	URN     string
	Message string
}

// Policy is one rule of the contract.
type Policy struct {
	Name        string
	Description string
	Level       Level
	Scope       Scope
	// Group is the part of the contract: resilience, data, security or
	// stack.
	Group string
	// Check returns the findings over a stack. A ResourceScope check looks
	// at each resource alone, so it can be given a stack of one resource.
	Check func(s *Stack) []Finding
}

// Violation is a finding of a policy, as the plan prints it.
type Violation struct {
	Policy  string `json:"policy"`
	Level   Level  `json:"level"`
	URN     string `json:"urn"`
	Message string `json:"message"`
}

// Run runs one policy, turning a crash on an unexpected shape into a
// violation of the policy's own level, so that a bug fails closed.
func (p Policy) Run(s *Stack) (findings []Finding) {
	defer func() {
		if e := recover(); e != nil {
			findings = append(findings, Finding{Message: fmt.Sprintf("internal error in policy %s: %v; report it with the resource shapes of this stack", p.Name, e)})
		}
	}()
	return p.Check(s)
}

// Evaluate runs every policy over the stack and returns the violations,
// mandatory ones first, then by policy, URN and message.
func Evaluate(s *Stack) []Violation {
	out := []Violation{}
	for _, p := range Policies() {
		for _, f := range p.Run(s) {
			out = append(out, Violation{Policy: p.Name, Level: p.Level, URN: f.URN, Message: f.Message})
		}
	}
	SortViolations(out)
	return out
}

// SortViolations orders violations deterministically: mandatory first, then
// by policy, URN and message.
func SortViolations(vs []Violation) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Level != b.Level {
			return a.Level == Mandatory
		}
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if a.URN != b.URN {
			return a.URN < b.URN
		}
		return a.Message < b.Message
	})
}

// HasMandatory reports whether any violation is mandatory.
func HasMandatory(vs []Violation) bool {
	for _, v := range vs {
		if v.Level == Mandatory {
			return true
		}
	}
	return false
}

// Policies is the table of the contract, in the order the README lists it.
func Policies() []Policy {
	return []Policy{
		// Resilience: the auth Deployments, their PDBs, the target group
		// and the namespace that holds the TargetGroupBinding.
		{"deployment-min-replicas", "The auth service's Deployments (one per zone) run at least 2 replicas in total, so one eviction or rollout never takes the service down.", Mandatory, StackScope, "resilience", checkMinReplicas},
		{"deployment-replicas-per-zone", "The auth service's Deployments run at least 3 replicas in total, one per availability zone.", Advisory, StackScope, "resilience", checkReplicasPerZone},
		{"deployment-zero-unavailable-rollout", "Auth Deployments roll out with maxUnavailable 0 (and a surge), so a rollout never lowers capacity.", Mandatory, ResourceScope, "resilience", checkZeroUnavailable},
		{"deployment-zone-spread", "Auth pods are pinned per zone the way Fargate honours (it ignores topology spread constraints): each auth Deployment's pods match exactly one Fargate profile, that profile has exactly one subnet, and every zone the cluster's profiles use has an auth Deployment with at least one replica.", Mandatory, StackScope, "resilience", checkZoneSpread},
		{"deployment-probes", "Every container of an auth Deployment has a readiness probe and a liveness probe.", Mandatory, ResourceScope, "resilience", checkProbes},
		{"deployment-prestop-hook", "Every container of an auth Deployment pauses in a preStop hook (native sleep, or exec sleep N) before it gets SIGTERM.", Mandatory, ResourceScope, "resilience", checkPreStop},
		{"deployment-grace-period", "An auth Deployment's terminationGracePeriodSeconds is longer than its preStop sleep.", Mandatory, ResourceScope, "resilience", checkGracePeriod},
		{"no-emptydir-state", "Auth Deployments mount no emptyDir volume: state lives in ElastiCache and Aurora, not in a pod.", Mandatory, ResourceScope, "resilience", checkNoEmptyDir},
		{"pdb-covers-deployment", "Exactly one policy/v1 PodDisruptionBudget selects the pods of each auth Deployment.", Mandatory, StackScope, "resilience", checkPDBCovers},
		{"pdb-allows-disruption", "A PodDisruptionBudget allows at least one disruption but not every one (maxUnavailable 1).", Mandatory, StackScope, "resilience", checkPDBAllows},
		{"pdb-unhealthy-pod-eviction", "PodDisruptionBudgets set unhealthyPodEvictionPolicy AlwaysAllow, so pods that never turn Ready cannot block a drain.", Advisory, ResourceScope, "resilience", checkPDBUnhealthy},
		{"target-group-ip-targets", "Target groups and TargetGroupBindings use ip targets: Fargate pods have no instance to register.", Mandatory, ResourceScope, "resilience", checkIPTargets},
		{"target-group-deregistration-within-prestop", "A target group's deregistration delay is at most the preStop sleep of the pods bound to it.", Mandatory, StackScope, "resilience", checkDeregistrationWithinPreStop},
		{"namespace-readiness-gate", "Every namespace that holds a TargetGroupBinding is managed by the stack with the label elbv2.k8s.aws/pod-readiness-gate-inject: enabled.", Mandatory, StackScope, "resilience", checkReadinessGate},

		// Data: ElastiCache and Aurora.
		{"elasticache-cluster-mode", "ElastiCache replication groups run in cluster mode with automatic failover.", Mandatory, ResourceScope, "data", checkCacheClusterMode},
		{"elasticache-multi-az", "ElastiCache replication groups are Multi-AZ.", Mandatory, ResourceScope, "data", checkCacheMultiAZ},
		{"elasticache-replicas", "ElastiCache replication groups keep at least one replica per shard.", Mandatory, ResourceScope, "data", checkCacheReplicas},
		{"elasticache-tls", "ElastiCache replication groups require TLS in transit.", Mandatory, ResourceScope, "data", checkCacheTLS},
		{"elasticache-at-rest-encryption", "ElastiCache replication groups encrypt data at rest.", Mandatory, ResourceScope, "data", checkCacheAtRest},
		{"aurora-storage-encrypted", "Aurora clusters encrypt their storage.", Mandatory, ResourceScope, "data", checkAuroraEncrypted},
		{"aurora-instances-across-azs", "Every Aurora cluster has at least 2 instances, pinned to distinct availability zones.", Mandatory, StackScope, "data", checkAuroraInstances},
		{"aurora-backup-retention", "Aurora clusters keep automated backups at least 7 days.", Mandatory, ResourceScope, "data", checkAuroraBackups},
		{"aurora-deletion-protection", "When the stack protects stateful resources, Aurora clusters and global clusters have deletion protection.", Mandatory, StackScope, "data", checkAuroraDeletionProtection},

		// Security.
		{"no-world-ingress", "No security group admits 0.0.0.0/0 or ::/0, except the ALB's own group on TCP 80 and 443.", Mandatory, StackScope, "security", checkWorldIngress},
		{"data-store-ingress-auth-pods-only", "Redis and Aurora admit only security groups that a SecurityGroupPolicy gives to pods (the auth pods' own), never the EKS cluster security group or an address range.", Mandatory, StackScope, "security", checkDataStoreIngress},
		{"no-public-data-store", "No database instance is publicly accessible.", Mandatory, ResourceScope, "security", checkPublicDataStore},
		{"fargate-private-subnets", "Fargate profiles use only private subnets of the stack.", Mandatory, StackScope, "security", checkFargateSubnets},
		{"irsa-trust-scoped", "IRSA roles trust exactly one service account (StringEquals on sub) with aud sts.amazonaws.com.", Mandatory, ResourceScope, "security", checkIRSATrust},
		{"no-secret-in-configmap", "No ConfigMap holds a secret.", Mandatory, ResourceScope, "security", checkConfigMapSecrets},
		{"no-plain-secret-env", "No container gets a secret as a plain env value.", Mandatory, ResourceScope, "security", checkEnvSecrets},

		// Production defenses (issue 16).
		{"prod-alb-waf", "Production application load balancers are associated with a WAFv2 web ACL.", Mandatory, StackScope, "security", checkProdWAF},
		{"prod-alb-access-logs", "Production application load balancers write access logs to S3.", Mandatory, ResourceScope, "security", checkProdAccessLogs},
		{"prod-vpc-flow-logs", "Every production VPC records flow logs.", Mandatory, StackScope, "security", checkProdFlowLogs},
		{"prod-eks-audit-log", "Production EKS clusters send the audit log to CloudWatch Logs.", Mandatory, ResourceScope, "security", checkProdAuditLog},

		// Stack-wide consistency.
		{"tgb-target-group-in-stack", "Every TargetGroupBinding references a target group of this stack.", Mandatory, StackScope, "stack", checkTGBTargetGroup},
		{"fargate-profiles-serialized", "The Fargate profiles of a cluster are created one after another (a dependency chain).", Mandatory, StackScope, "stack", checkFargateSerialized},
	}
}

// Lookup returns the policy of that name.
func Lookup(name string) (Policy, bool) {
	for _, p := range Policies() {
		if p.Name == name {
			return p, true
		}
	}
	return Policy{}, false
}

// eachOf runs fn over the resources of some types; fn returns messages
// about that resource.
func eachOf(s *Stack, types []string, fn func(r *Resource) []string) []Finding {
	var out []Finding
	for _, r := range s.OfType(types...) {
		for _, m := range fn(r) {
			out = append(out, Finding{URN: r.URN, Message: m})
		}
	}
	return out
}

// problem formats a message: the resource, what is wrong, how to fix it.
func problem(r *Resource, fix, format string, args ...any) string {
	return fmt.Sprintf("%s: %s. Fix: %s.", r.describe(), fmt.Sprintf(format, args...), fix)
}
