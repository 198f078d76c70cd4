package lbcontroller

import "github.com/authplatform/auth-platform/components/iamdoc"

// clusterTag is the tag the controller puts on everything it creates; its
// mutating permissions are scoped to resources that carry it.
const clusterTag = "elbv2.k8s.aws/cluster"

// Policy is the controller's IAM policy for AppVersion, statement for
// statement the upstream docs/install/iam_policy.json at that tag, with the
// partition filled in. Change it together with ChartVersion: a controller
// newer than its policy stops reconciling (v2.9 added
// DescribeListenerAttributes and broke clusters that kept the old policy).
func Policy(partition string) iamdoc.Document {
	arn := func(rest string) string { return "arn:" + partition + ":" + rest }
	elbTaggable := []string{
		arn("elasticloadbalancing:*:*:targetgroup/*/*"),
		arn("elasticloadbalancing:*:*:loadbalancer/net/*/*"),
		arn("elasticloadbalancing:*:*:loadbalancer/app/*/*"),
	}
	securityGroups := arn("ec2:*:*:security-group/*")
	reqTag, resTag := "aws:RequestTag/"+clusterTag, "aws:ResourceTag/"+clusterTag

	return iamdoc.New(
		iamdoc.Allow("", []string{"iam:CreateServiceLinkedRole"}, "*").
			When("StringEquals", "iam:AWSServiceName", "elasticloadbalancing.amazonaws.com"),
		iamdoc.Allow("", []string{
			"ec2:DescribeAccountAttributes",
			"ec2:DescribeAddresses",
			"ec2:DescribeAvailabilityZones",
			"ec2:DescribeInternetGateways",
			"ec2:DescribeVpcs",
			"ec2:DescribeVpcPeeringConnections",
			"ec2:DescribeSubnets",
			"ec2:DescribeSecurityGroups",
			"ec2:DescribeInstances",
			"ec2:DescribeNetworkInterfaces",
			"ec2:DescribeTags",
			"ec2:GetCoipPoolUsage",
			"ec2:DescribeCoipPools",
			"ec2:GetSecurityGroupsForVpc",
			"ec2:DescribeIpamPools",
			"ec2:DescribeRouteTables",
			"elasticloadbalancing:DescribeLoadBalancers",
			"elasticloadbalancing:DescribeLoadBalancerAttributes",
			"elasticloadbalancing:DescribeListeners",
			"elasticloadbalancing:DescribeListenerCertificates",
			"elasticloadbalancing:DescribeSSLPolicies",
			"elasticloadbalancing:DescribeRules",
			"elasticloadbalancing:DescribeTargetGroups",
			"elasticloadbalancing:DescribeTargetGroupAttributes",
			"elasticloadbalancing:DescribeTargetHealth",
			"elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeTrustStores",
			"elasticloadbalancing:DescribeListenerAttributes",
			"elasticloadbalancing:DescribeCapacityReservation",
		}, "*"),
		iamdoc.Allow("", []string{
			"cognito-idp:DescribeUserPoolClient",
			"acm:ListCertificates",
			"acm:DescribeCertificate",
			"iam:ListServerCertificates",
			"iam:GetServerCertificate",
			"waf-regional:GetWebACL",
			"waf-regional:GetWebACLForResource",
			"waf-regional:AssociateWebACL",
			"waf-regional:DisassociateWebACL",
			"wafv2:GetWebACL",
			"wafv2:GetWebACLForResource",
			"wafv2:AssociateWebACL",
			"wafv2:DisassociateWebACL",
			"shield:GetSubscriptionState",
			"shield:DescribeProtection",
			"shield:CreateProtection",
			"shield:DeleteProtection",
		}, "*"),
		iamdoc.Allow("", []string{"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"}, "*"),
		iamdoc.Allow("", []string{"ec2:CreateSecurityGroup"}, "*"),
		iamdoc.Allow("", []string{"ec2:CreateTags"}, securityGroups).
			When("StringEquals", "ec2:CreateAction", "CreateSecurityGroup").
			When("Null", reqTag, "false"),
		iamdoc.Allow("", []string{"ec2:CreateTags", "ec2:DeleteTags"}, securityGroups).
			When("Null", reqTag, "true").
			When("Null", resTag, "false"),
		iamdoc.Allow("", []string{
			"ec2:AuthorizeSecurityGroupIngress",
			"ec2:RevokeSecurityGroupIngress",
			"ec2:DeleteSecurityGroup",
		}, "*").When("Null", resTag, "false"),
		iamdoc.Allow("", []string{
			"elasticloadbalancing:CreateLoadBalancer",
			"elasticloadbalancing:CreateTargetGroup",
		}, "*").When("Null", reqTag, "false"),
		iamdoc.Allow("", []string{
			"elasticloadbalancing:CreateListener",
			"elasticloadbalancing:DeleteListener",
			"elasticloadbalancing:CreateRule",
			"elasticloadbalancing:DeleteRule",
		}, "*"),
		iamdoc.Allow("", []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"}, elbTaggable...).
			When("Null", reqTag, "true").
			When("Null", resTag, "false"),
		iamdoc.Allow("", []string{"elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"},
			arn("elasticloadbalancing:*:*:listener/net/*/*/*"),
			arn("elasticloadbalancing:*:*:listener/app/*/*/*"),
			arn("elasticloadbalancing:*:*:listener-rule/net/*/*/*"),
			arn("elasticloadbalancing:*:*:listener-rule/app/*/*/*"),
		),
		iamdoc.Allow("", []string{
			"elasticloadbalancing:ModifyLoadBalancerAttributes",
			"elasticloadbalancing:SetIpAddressType",
			"elasticloadbalancing:SetSecurityGroups",
			"elasticloadbalancing:SetSubnets",
			"elasticloadbalancing:DeleteLoadBalancer",
			"elasticloadbalancing:ModifyTargetGroup",
			"elasticloadbalancing:ModifyTargetGroupAttributes",
			"elasticloadbalancing:DeleteTargetGroup",
			"elasticloadbalancing:ModifyListenerAttributes",
			"elasticloadbalancing:ModifyCapacityReservation",
			"elasticloadbalancing:ModifyIpPools",
		}, "*").When("Null", resTag, "false"),
		iamdoc.Allow("", []string{"elasticloadbalancing:AddTags"}, elbTaggable...).
			When("StringEquals", "elasticloadbalancing:CreateAction", "CreateTargetGroup", "CreateLoadBalancer").
			When("Null", reqTag, "false"),
		iamdoc.Allow("", []string{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"},
			arn("elasticloadbalancing:*:*:targetgroup/*/*")),
		iamdoc.Allow("", []string{
			"elasticloadbalancing:SetWebAcl",
			"elasticloadbalancing:ModifyListener",
			"elasticloadbalancing:AddListenerCertificates",
			"elasticloadbalancing:RemoveListenerCertificates",
			"elasticloadbalancing:ModifyRule",
			"elasticloadbalancing:SetRulePriorities",
		}, "*"),
	)
}
