package tests

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/authplatform/auth-platform/policies/rules"
)

// prodDefenses turns the compliant fixture into a production one that keeps
// every defense of issue 16: the ALB and the VPC tagged Environment: prod,
// a web ACL associated with the ALB, access logs, a flow log of the VPC and
// an EKS control plane shipping its audit log.
func prodDefenses(f *policyFixture) {
	prod := map[string]any{"Environment": "prod", "Name": "demo"}
	f.set("vpc", "tags", prod)
	f.set("alb", "tags", prod)
	f.set("alb", "accessLogs", map[string]any{"bucket": "demo-alb-logs-123456789012", "prefix": "demo", "enabled": true})
	f.add("waf-acl", "aws:wafv2/webAcl:WebAcl", map[string]any{"name": "demo-waf", "scope": "REGIONAL",
		"defaultAction": map[string]any{"allow": map[string]any{}}})
	f.add("waf-alb", "aws:wafv2/webAclAssociation:WebAclAssociation", map[string]any{"resourceArn": fixtureRef("alb"), "webAclArn": fixtureRef("waf-acl")})
	f.add("flow-log", "aws:ec2/flowLog:FlowLog", map[string]any{"vpcId": fixtureRef("vpc"), "trafficType": "ALL",
		"logDestinationType": "cloud-watch-logs", "logDestination": "arn:aws:logs:us-east-1:123456789012:log-group:/demo/vpc-flow-logs"})
	f.add("eks", "aws:eks/cluster:Cluster", map[string]any{"name": "demo", "enabledClusterLogTypes": []any{"api", "audit"},
		"tags": map[string]any{"Environment": "prod"}})
}

// defenseFailCases break the production fixture once per policy of issue 16.
func defenseFailCases() []policyCase {
	then := func(steps ...func(f *policyFixture)) func(f *policyFixture) {
		return func(f *policyFixture) {
			prodDefenses(f)
			for _, s := range steps {
				s(f)
			}
		}
	}
	return []policyCase{
		{"prod-alb-waf", "no web ACL", then(func(f *policyFixture) { f.remove("waf-alb") }), "alb", "has no web ACL"},
		{"prod-alb-waf", "web ACL on another load balancer", then(func(f *policyFixture) {
			f.set("waf-alb", "resourceArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other/0123456789abcdef")
		}), "alb", "has no web ACL"},
		{"prod-alb-access-logs", "no access logs", then(func(f *policyFixture) { f.del("alb", "accessLogs") }), "alb", "keeps no access logs"},
		{"prod-alb-access-logs", "access logs disabled", then(func(f *policyFixture) { f.set("alb", "accessLogs.enabled", false) }), "alb", "accessLogs.enabled is false"},
		{"prod-vpc-flow-logs", "no flow log", then(func(f *policyFixture) { f.remove("flow-log") }), "vpc", "no flow log records this production VPC"},
		{"prod-eks-audit-log", "audit log off", then(func(f *policyFixture) { f.set("eks", "enabledClusterLogTypes", []any{"api", "authenticator"}) }), "eks",
			`the control plane's audit log is off (["api","authenticator"])`},
	}
}

// TestDefensePoliciesPassOnAProdStackWithEveryDefense: the production
// fixture passes every policy, and so does a non-production stack without
// any of the defenses (the base fixture).
func TestDefensePoliciesPassOnAProdStackWithEveryDefense(t *testing.T) {
	f := newPolicyFixture()
	prodDefenses(f)
	assert.Empty(t, f.violations(t))
	assert.Empty(t, newPolicyFixture().violations(t))
}

// TestDefensePoliciesSurviveOddShapes: the new policies read production
// resources with missing, unknown or mistyped properties without crashing.
func TestDefensePoliciesSurviveOddShapes(t *testing.T) {
	types := []string{"aws:lb/loadBalancer:LoadBalancer", "aws:ec2/vpc:Vpc", "aws:ec2/flowLog:FlowLog",
		"aws:wafv2/webAclAssociation:WebAclAssociation", "aws:eks/cluster:Cluster", "eks:index:Cluster"}
	shapes := []map[string]any{
		{"tags": map[string]any{"Environment": "prod"}},
		{"tags": map[string]any{"Environment": "prod"}, "accessLogs": rules.Unknown, "enabledClusterLogTypes": rules.Unknown,
			"resourceArn": rules.Unknown, "vpcId": rules.Unknown},
		{"tags": "prod", "accessLogs": "on", "enabledClusterLogTypes": "audit", "resourceArn": []any{1.0}, "vpcId": map[string]any{}},
		{"tags": map[string]any{"Environment": "prod"}, "accessLogs": map[string]any{"enabled": "yes", "bucket": 3.0}},
	}
	var resources []rules.Resource
	for i, typ := range types {
		for j, props := range shapes {
			resources = append(resources, rules.Resource{URN: fmt.Sprintf("urn:pulumi:s::p::%s::r%d-%d", typ, i, j), Type: typ,
				Name: fmt.Sprintf("r%d-%d", i, j), Properties: props})
		}
	}
	for _, v := range rules.Evaluate(rules.NewStack(resources)) {
		assert.NotContains(t, v.Message, "internal error", "%s crashed", v.Policy)
	}
}
