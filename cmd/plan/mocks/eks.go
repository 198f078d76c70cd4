package mocks

import (
	"crypto/sha1"
	"encoding/hex"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Child is a resource a multi-language component creates inside its
// provider. The program never registers it, so the engine's mock monitor
// never sees it; the mocks list it from a model of the component's source.
type Child struct {
	Type string
	Name string
}

// EKSClusterModel names the source the EKSClusterChildren model follows.
const EKSClusterModel = "pulumi/pulumi-eks@v2.8.1 nodejs/eks/cluster.ts, securitygroup.ts, servicerole.ts, authenticationMode.ts"

// EKSClusterChildren lists what an eks:index:Cluster component creates for
// the given inputs, following pulumi-eks v2.8.1 (createCore and Cluster in
// nodejs/eks/cluster.ts). Node groups and storage classes are left out: the
// program asks for neither.
func EKSClusterChildren(name string, in resource.PropertyMap) []Child {
	has := func(k string) bool {
		v, ok := in[resource.PropertyKey(k)]
		return ok && !v.IsNull()
	}
	flag := func(k string) bool {
		v, ok := in[resource.PropertyKey(k)]
		return ok && v.IsBool() && v.BoolValue()
	}
	str := func(k string) string {
		if v, ok := in[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	serviceRole := func(n string, policies ...string) []Child {
		out := []Child{{"eks:index:ServiceRole", n}, {"aws:iam/role:Role", n + "-role"}}
		for _, p := range policies {
			sum := sha1.Sum([]byte("arn:aws:iam::aws:policy/" + p))
			out = append(out, Child{"aws:iam/rolePolicyAttachment:RolePolicyAttachment", n + "-" + hex.EncodeToString(sum[:])[:8]})
		}
		return out
	}

	var out []Child
	if !has("serviceRole") {
		out = append(out, serviceRole(name+"-eksRole", "AmazonEKSClusterPolicy")...)
	}
	if !has("clusterSecurityGroup") {
		out = append(out,
			Child{"aws:ec2/securityGroup:SecurityGroup", name + "-eksClusterSecurityGroup"},
			Child{"aws:ec2/securityGroupRule:SecurityGroupRule", name + "-eksClusterInternetEgressRule"})
	}
	out = append(out,
		Child{"aws:eks/cluster:Cluster", name + "-eksCluster"},
		Child{"pulumi:providers:kubernetes", name + "-eks-k8s"})
	mode := str("authenticationMode")
	accessEntries := mode == "API" || mode == "API_AND_CONFIG_MAP"
	// An empty instanceRoles list is "given": no default instance role.
	if !has("instanceRoles") && !has("instanceRole") {
		out = append(out, serviceRole(name+"-instanceRole",
			"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")...)
		if accessEntries {
			out = append(out, Child{"aws:eks/accessEntry:AccessEntry", name + "-defaultNodeGroupInstanceRole"})
		}
	}
	if !accessEntries || mode == "API_AND_CONFIG_MAP" {
		out = append(out, Child{"kubernetes:core/v1:ConfigMap", name + "-nodeAccess"})
	}
	if entries, ok := in["accessEntries"]; ok && entries.IsObject() {
		// Sorted, so the plan stays byte-identical from run to run.
		for _, k := range entries.ObjectValue().StableKeys() {
			entry := name + "-" + string(k)
			out = append(out, Child{"aws:eks/accessEntry:AccessEntry", entry})
			// authenticationMode.ts createAccessEntries: one association
			// per named access policy.
			if e := entries.ObjectValue()[k]; e.IsObject() {
				if pols, ok := e.ObjectValue()["accessPolicies"]; ok && pols.IsObject() {
					for _, a := range pols.ObjectValue().StableKeys() {
						out = append(out, Child{"aws:eks/accessPolicyAssociation:AccessPolicyAssociation", entry + "-" + string(a)})
					}
				}
			}
		}
	}
	if !flag("useDefaultVpcCni") {
		out = append(out, Child{"eks:index:VpcCni", name + "-vpc-cni"})
	}
	if v, ok := in["createOidcProvider"]; !ok || !v.IsBool() || v.BoolValue() {
		out = append(out, Child{"aws:iam/openIdConnectProvider:OpenIdConnectProvider", name + "-oidcProvider"})
	}
	// Created whatever the arguments (v2.8.1 has no skipDefaultSecurityGroups).
	for _, n := range []string{"nodeSecurityGroup", "eksNodeIngressRule", "eksNodeClusterIngressRule",
		"eksExtApiServerClusterIngressRule", "eksNodeInternetEgressRule", "eksClusterIngressRule"} {
		typ := "aws:ec2/securityGroupRule:SecurityGroupRule"
		if n == "nodeSecurityGroup" {
			typ = "aws:ec2/securityGroup:SecurityGroup"
		}
		out = append(out, Child{typ, name + "-" + n})
	}
	out = append(out, Child{"pulumi:providers:kubernetes", name + "-provider"})
	return out
}
