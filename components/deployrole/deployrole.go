// Package deployrole is the IAM policy the role that runs `pulumi up` needs
// in a fresh account: the services the program manages, the service-linked
// roles their first use creates, and the KMS grants the services take on
// the program's keys. Render it with `go run . deploy-role-policy`.
//
// It is service-scoped rather than action-by-action: the program creates,
// updates and deletes nearly everything each of these services offers for
// its resource types, and a list of actions goes stale with every provider
// release. IAM, the one service that could let a role escalate, is granted
// action by action and only on names the program gives.
package deployrole

import (
	"fmt"
	"sort"
	"strings"

	"github.com/authplatform/auth-platform/components/iamdoc"
)

// Services are the IAM service prefixes granted in full, one per AWS
// service the program (or pulumi-eks inside it) manages.
var Services = []string{
	"ec2", "eks", "elasticloadbalancing", "rds", "elasticache", "secretsmanager",
	"cloudwatch", "logs", "events", "sns", "route53", "wafv2", "ecr", "s3", "guardduty",
}

// ServiceLinkedRole is a role AWS creates in the account the first time a
// resource of its service is created there, as the caller: the caller needs
// iam:CreateServiceLinkedRole with iam:AWSServiceName set to Service (IAM
// User Guide, "Service-linked role permissions").
type ServiceLinkedRole struct {
	// Service is the principal the role trusts, iam:AWSServiceName.
	Service string
	// Name is the role's name; its ARN is
	// arn:<partition>:iam::<account>:role/aws-service-role/<Service>/<Name>.
	Name string
	// CreatedBy are the resource types whose creation makes AWS create it.
	CreatedBy []string
	// Source is the AWS documentation page that says so.
	Source string
}

// ServiceLinkedRolesByService lists, for every IAM service the program
// uses (ServiceOf), the service-linked roles its resources cause; a
// service reviewed and found to cause none maps to nil. A service missing
// here fails the fresh-account test until someone has looked.
var ServiceLinkedRolesByService = map[string][]ServiceLinkedRole{
	"elasticloadbalancing": {{
		Service: "elasticloadbalancing.amazonaws.com", Name: "AWSServiceRoleForElasticLoadBalancing",
		CreatedBy: []string{"aws:lb/loadBalancer:LoadBalancer"},
		Source:    "ELB User Guide, Service-linked roles for Elastic Load Balancing: created on the first CreateLoadBalancer",
	}},
	"eks": {{
		Service: "eks.amazonaws.com", Name: "AWSServiceRoleForAmazonEKS",
		// Created by pulumi-eks v2.8.1 (nodejs/eks/cluster.ts:586).
		CreatedBy: []string{"aws:eks/cluster:Cluster"},
		Source:    "EKS User Guide, Using roles for Amazon EKS clusters (awsdocs/amazon-eks-user-guide latest/ug/security/iam-reference/using-service-linked-roles-eks.adoc): created on CreateCluster",
	}, {
		Service: "eks-fargate.amazonaws.com", Name: "AWSServiceRoleForAmazonEKSForFargate",
		CreatedBy: []string{"aws:eks/fargateProfile:FargateProfile"},
		Source:    "EKS User Guide, Using roles for Amazon EKS Fargate profiles (latest/ug/security/iam-reference/using-service-linked-roles-eks-fargate.adoc): created on CreateFargateProfile",
	}},
	"elasticache": {{
		Service: "elasticache.amazonaws.com", Name: "AWSServiceRoleForElastiCache",
		CreatedBy: []string{"aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"},
		Source:    "ElastiCache User Guide, Using service-linked roles for Amazon ElastiCache: created with the first cache cluster or replication group",
	}},
	"rds": {{
		Service: "rds.amazonaws.com", Name: "AWSServiceRoleForRDS",
		CreatedBy: []string{"aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance", "aws:rds/globalCluster:GlobalCluster"},
		Source:    "Aurora User Guide, Using service-linked roles for Amazon Aurora: created with the first DB cluster",
	}},
	"guardduty": {{
		Service: "guardduty.amazonaws.com", Name: "AWSServiceRoleForAmazonGuardDuty",
		// GuardDuty's own role creates the Malware Protection role when
		// that feature is on, so the caller never does (same page).
		CreatedBy: []string{"aws:guardduty/detector:Detector"},
		Source:    "GuardDuty User Guide, Service-linked role permissions for GuardDuty (slr-permissions.html): created when GuardDuty is enabled",
	}},
	// Reviewed, none: the WAF's logging role (AWSServiceRoleForWAFV2Logging)
	// serves Firehose destinations only, this stack logs to CloudWatch Logs
	// through a resource policy (WAF Developer Guide, Using service-linked
	// roles for AWS WAF); flow logs use the role the program passes; ECR's
	// replication role needs replication; EventBridge rules to SNS, alarms
	// to SNS, Route 53 health checks and the rest create none.
	"ec2": nil, "iam": nil, "kms": nil, "logs": nil, "cloudwatch": nil, "events": nil, "sns": nil,
	"secretsmanager": nil, "route53": nil, "wafv2": nil, "s3": nil, "ecr": nil, "acm": nil,
}

// ServiceLinkedRoles are the service principals of every role in
// ServiceLinkedRolesByService, sorted: the iam:AWSServiceName values the
// policy allows.
func ServiceLinkedRoles() []string {
	var out []string
	for _, roles := range ServiceLinkedRolesByService {
		for _, r := range roles {
			out = append(out, r.Service)
		}
	}
	sort.Strings(out)
	return out
}

// PassedRole is a role the deployer hands to an AWS service through a
// resource input. The caller needs iam:PassRole on it, and
// iam:PassedToService is the service principal the role trusts (IAM User
// Guide, "Grant a user permissions to pass a role to an AWS service" and
// "IAM: Pass an IAM role to a specific AWS service").
type PassedRole struct {
	// Service is the principal the role trusts: iam:PassedToService.
	Service string
	// Role is the role's name after "<app>-", with IAM wildcards.
	Role string
	// Input is the resource input that passes it, "<type>.<input>".
	Input string
	// Source documents the trust principal.
	Source string
}

// PassedRoles are every role the stacks pass to a service. Their names
// come from components/naming (the stack prefix) and Pulumi's auto-naming
// (a 7-character suffix).
var PassedRoles = []PassedRole{{
	// pulumi-eks v2.8.1 creates it (nodejs/eks/cluster.ts:497-510, ServiceRole
	// "<name>-eksRole", servicerole.ts:82 "<name>-role", auto-named) and
	// passes it to CreateCluster (cluster.ts:590).
	Service: "eks.amazonaws.com", Role: "*-eks-eksRole-role-*",
	Input:  "aws:eks/cluster:Cluster.roleArn",
	Source: "EKS User Guide, Amazon EKS cluster IAM role (latest/ug/security/iam-reference/cluster-iam-role.adoc): the role trusts eks.amazonaws.com",
}, {
	Service: "eks-fargate-pods.amazonaws.com", Role: "*-fargate-pod-exec-*",
	Input:  "aws:eks/fargateProfile:FargateProfile.podExecutionRoleArn",
	Source: "EKS User Guide, Amazon EKS Pod execution IAM role (latest/ug/security/iam-reference/pod-execution-role.adoc): the role trusts eks-fargate-pods.amazonaws.com",
}, {
	Service: "vpc-flow-logs.amazonaws.com", Role: "*-flow-logs",
	Input:  "aws:ec2/flowLog:FlowLog.iamRoleArn",
	Source: "VPC User Guide, IAM role for publishing flow logs to CloudWatch Logs (flow-logs-iam-role.html): the role trusts vpc-flow-logs.amazonaws.com, and the principal creating the flow log needs iam:PassRole on it",
}}

// KeyUsers are the services that use the program's KMS keys on the
// caller's behalf (EKS secrets encryption, Aurora and ElastiCache storage,
// Secrets Manager secrets): they create grants and encrypt as the caller.
var KeyUsers = []string{"eks", "rds", "elasticache", "secretsmanager"}

// Policy is the deploy role's policy for an application named app (the
// appName configuration; every IAM name the program gives starts with it).
func Policy(partition, app string) iamdoc.Document {
	iamARN := func(kind string) string { return fmt.Sprintf("arn:%s:iam::*:%s", partition, kind) }
	services := make([]string, 0, len(Services))
	for _, s := range Services {
		services = append(services, s+":*")
	}
	var viaServices []string
	for _, s := range KeyUsers {
		viaServices = append(viaServices, s+".*.amazonaws.com")
	}
	statements := []iamdoc.Statement{
		iamdoc.Allow("ManagedServices", services, "*"),
		iamdoc.Allow("IAMRolesAndPolicies", []string{
			"iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
			"iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole",
			"iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
			"iam:AttachRolePolicy", "iam:DetachRolePolicy",
			"iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
			"iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:TagPolicy", "iam:UntagPolicy",
			"iam:GetPolicyVersion", "iam:ListPolicyVersions", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
		}, iamARN("role/"+app+"-*"), iamARN("policy/"+app+"-*")),
		iamdoc.Allow("OIDCProviderForIRSA", []string{
			"iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:GetOpenIDConnectProvider",
			"iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
			"iam:UpdateOpenIDConnectProviderThumbprint",
			"iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
		}, iamARN("oidc-provider/oidc.eks.*")),
		iamdoc.Allow("ServiceLinkedRolesOfAFreshAccount", []string{"iam:CreateServiceLinkedRole"},
			iamARN("role/aws-service-role/*")).
			When("StringEquals", "iam:AWSServiceName", ServiceLinkedRoles()...),
		iamdoc.Allow("KMSKeysOfTheProgram", []string{
			"kms:CreateKey", "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy",
			"kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:DisableKeyRotation",
			"kms:EnableKey", "kms:DisableKey", "kms:UpdateKeyDescription", "kms:ScheduleKeyDeletion",
			"kms:CancelKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:ListResourceTags",
			"kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:ListAliases",
		}, "*"),
		// EKS, RDS and ElastiCache take a grant on a customer key when it
		// is attached, as the caller.
		iamdoc.Allow("KMSGrantsForServices", []string{"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}, "*").
			When("Bool", "kms:GrantIsForAWSResource", "true"),
		// Secrets Manager encrypts a secret value with the caller's rights.
		iamdoc.Allow("KMSUseThroughServices", []string{
			"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
		}, "*").When("StringLike", "kms:ViaService", viaServices...),
	}
	// One statement per passed role: each role may go to its own service
	// only.
	for _, r := range PassedRoles {
		statements = append(statements, iamdoc.Allow(passRoleSid(r.Service), []string{"iam:PassRole"}, iamARN("role/"+app+"-"+r.Role)).
			When("StringEquals", "iam:PassedToService", r.Service))
	}
	return iamdoc.New(statements...)
}

// passRoleSid names a PassRole statement after its service:
// "PassRoleToVpcFlowLogs" for vpc-flow-logs.amazonaws.com.
func passRoleSid(service string) string {
	sid := "PassRoleTo"
	for _, part := range strings.FieldsFunc(strings.TrimSuffix(service, ".amazonaws.com"), func(r rune) bool { return r == '-' || r == '.' }) {
		sid += strings.ToUpper(part[:1]) + part[1:]
	}
	return sid
}

// ServiceOf maps a Pulumi AWS type or function token to the IAM service
// prefix that authorizes it; ok is false for a token it does not know,
// and service is "" for functions that need no permission.
func ServiceOf(token string) (service string, ok bool) {
	parts := strings.Split(token, ":")
	if len(parts) != 3 || parts[0] != "aws" {
		return "", false
	}
	module := strings.SplitN(parts[1], "/", 2)[0]
	switch token {
	case "aws:cloudwatch/logGroup:LogGroup":
		return "logs", true
	case "aws:index/getPartition:getPartition", "aws:index/getRegion:getRegion":
		return "", true
	case "aws:index/getCallerIdentity:getCallerIdentity":
		// sts:GetCallerIdentity needs no permission.
		return "", true
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return "ec2", true
	}
	switch {
	case strings.HasPrefix(token, "aws:cloudwatch/event"):
		// EventBridge rules and targets are the events API.
		return "events", true
	case strings.HasPrefix(token, "aws:cloudwatch/log"):
		// Log groups, metric filters and resource policies are CloudWatch Logs.
		return "logs", true
	}
	switch module {
	case "ec2", "eks", "iam", "kms", "rds", "elasticache", "secretsmanager", "cloudwatch", "sns", "route53", "wafv2", "acm", "s3", "ecr", "guardduty":
		return module, true
	case "vpc": // aws:vpc/securityGroupIngressRule and friends are EC2 APIs
		return "ec2", true
	case "lb", "alb", "elb", "elasticloadbalancingv2":
		return "elasticloadbalancing", true
	}
	return "", false
}

// Grants reports whether the document allows some action of service.
func Grants(d iamdoc.Document, service string) bool {
	for _, a := range d.Actions() {
		if strings.HasPrefix(a, service+":") {
			return true
		}
	}
	return false
}
