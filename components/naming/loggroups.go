package naming

// ControlPlaneLogGroup is the CloudWatch Logs group EKS writes a cluster's
// control-plane logs to. The name is fixed by EKS ("/aws/eks/<cluster>/
// cluster", EKS User Guide "Send control plane logs to CloudWatch Logs"), so
// whoever creates the group and whoever reads it (metric filters) agree
// through this one function.
func ControlPlaneLogGroup(clusterName string) string {
	return "/aws/eks/" + clusterName + "/cluster"
}

// WAFLogGroup is the CloudWatch Logs group of a web ACL's traffic logs. AWS
// WAF delivers only to groups whose name starts with "aws-waf-logs-" (AWS
// WAF Developer Guide, "CloudWatch Logs log group").
func (n Namer) WAFLogGroup() string {
	return "aws-waf-logs-" + n.Prefix()
}

// FlowLogGroup is the CloudWatch Logs group of the VPC flow logs, named by
// the stack's prefix like every other physical name: two stacks in one
// account and region must not share it.
func (n Namer) FlowLogGroup() string {
	return "/" + n.Prefix() + "/vpc-flow-logs"
}

// ServiceLogGroup is the CloudWatch Logs group of the auth service's own
// output (its JSON log lines, routed by Fargate's log router): named for
// the service, not for any one alarm reading it.
func (n Namer) ServiceLogGroup() string {
	return "/" + n.Prefix() + "/auth-service"
}
