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
	"strings"

	"github.com/authplatform/auth-platform/components/iamdoc"
)

// Services are the IAM service prefixes granted in full, one per AWS
// service the program (or pulumi-eks inside it) manages.
var Services = []string{
	"ec2", "eks", "elasticloadbalancing", "rds", "elasticache", "secretsmanager",
	"cloudwatch", "logs", "events", "sns", "route53", "wafv2", "ecr", "s3", "guardduty",
	// Amazon Managed Service for Prometheus (issue 27).
	"aps",
}

// ServiceLinkedRoles are the service principals whose service-linked role
// the first resource of that service creates in a fresh account, which
// needs iam:CreateServiceLinkedRole on the caller: AWSServiceRoleFor-
// ElasticLoadBalancing, -AmazonEKS, -AmazonEKSForFargate, -ElastiCache and
// -RDS.
var ServiceLinkedRoles = []string{
	"elasticloadbalancing.amazonaws.com",
	"eks.amazonaws.com",
	"eks-fargate.amazonaws.com",
	"elasticache.amazonaws.com",
	"rds.amazonaws.com",
}

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
	return iamdoc.New(
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
		// EKS and Fargate assume the cluster and pod execution roles.
		iamdoc.Allow("PassRolesToEKS", []string{"iam:PassRole"}, iamARN("role/"+app+"-*")).
			When("StringEquals", "iam:PassedToService", "eks.amazonaws.com", "eks-fargate-pods.amazonaws.com"),
		iamdoc.Allow("OIDCProviderForIRSA", []string{
			"iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider", "iam:GetOpenIDConnectProvider",
			"iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
			"iam:UpdateOpenIDConnectProviderThumbprint",
			"iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
		}, iamARN("oidc-provider/oidc.eks.*")),
		iamdoc.Allow("ServiceLinkedRolesOfAFreshAccount", []string{"iam:CreateServiceLinkedRole"},
			iamARN("role/aws-service-role/*")).
			When("StringEquals", "iam:AWSServiceName", ServiceLinkedRoles...),
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
	)
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
	case "amp": // Amazon Managed Service for Prometheus authorizes as aps
		return "aps", true
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
