package rules

import "strings"

// Production defenses (issue 16): in production, the ALB sits behind a WAF
// and keeps access logs, every VPC records flow logs, and every EKS cluster
// ships its audit log. A resource is production when its Environment tag is
// "prod" (the tag set every component applies, components/naming).

const (
	typeVPC               = "aws:ec2/vpc:Vpc"
	typeFlowLog           = "aws:ec2/flowLog:FlowLog"
	typeWebACLAssociation = "aws:wafv2/webAclAssociation:WebAclAssociation"
)

// eksClusterTypes: the pulumi-eks component as the program registers it,
// and the control plane it creates (seen under the CLI).
var eksClusterTypes = []string{"eks:index:Cluster", "aws:eks/cluster:Cluster"}

// production reports whether r carries Environment: prod.
func production(r *Resource) bool {
	env, ok := asString(r.get("tags", "Environment"))
	return ok && env == "prod"
}

// applicationLBs are the stack's production application load balancers.
func productionALBs(s *Stack) []*Resource {
	var out []*Resource
	for _, lb := range s.OfType(loadBalancerTypes...) {
		if t, ok := asString(lb.get("loadBalancerType")); ok && t != "application" {
			continue
		}
		if production(lb) {
			out = append(out, lb)
		}
	}
	return out
}

func checkProdWAF(s *Stack) []Finding {
	protected := map[string]bool{}
	for _, assoc := range s.OfType(typeWebACLAssociation) {
		for _, lb := range s.resolve(assoc, "resourceArn", assoc.get("resourceArn"), loadBalancerTypes...).Found {
			protected[lb.URN] = true
		}
	}
	var out []Finding
	for _, lb := range productionALBs(s) {
		if !protected[lb.URN] {
			out = append(out, Finding{URN: lb.URN, Message: problem(lb,
				"associate a WAFv2 web ACL with it (aws.wafv2.WebAclAssociation; config wafEnabled, wafMode: count for a first rollout)",
				"this production load balancer has no web ACL: nothing filters known-bad inputs or rate-limits logins before the auth service")})
		}
	}
	return out
}

func checkProdAccessLogs(s *Stack) []Finding {
	var out []Finding
	for _, lb := range productionALBs(s) {
		logs := asMap(lb.get("accessLogs"))
		enabled, known := asBool(logs["enabled"])
		bucket, _ := asString(logs["bucket"])
		switch {
		case isUnknown(lb.get("accessLogs")) || isUnknown(logs["enabled"]) || isUnknown(logs["bucket"]):
			continue
		case logs == nil:
			out = append(out, Finding{URN: lb.URN, Message: problem(lb, "set accessLogs {bucket, prefix, enabled: true} (config albAccessLogs, or albAccessLogsBucket)",
				"this production load balancer keeps no access logs: there is no record of who called the auth service")})
		case !known || !enabled:
			out = append(out, Finding{URN: lb.URN, Message: problem(lb, "set accessLogs.enabled: true (config albAccessLogs)",
				"accessLogs.enabled is %s: the ALB writes no access logs (AWS's default is off)", show(logs["enabled"]))})
		case strings.TrimSpace(bucket) == "":
			out = append(out, Finding{URN: lb.URN, Message: problem(lb, "set accessLogs.bucket (config albAccessLogs, or albAccessLogsBucket)",
				"accessLogs names no bucket")})
		}
	}
	return out
}

func checkProdFlowLogs(s *Stack) []Finding {
	recorded := map[string]bool{}
	for _, fl := range s.OfType(typeFlowLog) {
		for _, vpc := range s.resolve(fl, "vpcId", fl.get("vpcId"), typeVPC).Found {
			recorded[vpc.URN] = true
		}
	}
	var out []Finding
	for _, vpc := range s.OfType(typeVPC) {
		if production(vpc) && !recorded[vpc.URN] {
			out = append(out, Finding{URN: vpc.URN, Message: problem(vpc, "add an aws.ec2.FlowLog with vpcId of this VPC (config flowLogsEnabled)",
				"no flow log records this production VPC: there is no network record to investigate an intrusion with")})
		}
	}
	return out
}

func checkProdAuditLog(s *Stack) []Finding {
	return eachOf(s, eksClusterTypes, func(r *Resource) []string {
		if !production(r) {
			return nil
		}
		v := r.get("enabledClusterLogTypes")
		if isUnknown(v) {
			return nil
		}
		for _, t := range asList(v) {
			if str, ok := asString(t); ok && str == "audit" {
				return nil
			}
		}
		return []string{problem(r, "add audit to enabledClusterLogTypes (config clusterLogTypes)",
			"the control plane's audit log is off (%s): no record of who did what in the cluster, and no HighPodEvictionRate", show(v))}
	})
}
