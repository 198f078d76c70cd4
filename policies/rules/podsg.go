package rules

import (
	"fmt"
	"sort"
	"strings"
)

// typeSGP is the VPC resource controller's SecurityGroupPolicy, which gives
// the pods it selects security groups of their own (on Fargate, EKS runs the
// controller).
const typeSGP = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"

// podSecurityGroups are the security groups of the stack that a
// SecurityGroupPolicy gives to pods; known is false while a policy's groups
// are not known.
func (s *Stack) podSecurityGroups() (groups map[string]bool, known bool) {
	groups, known = map[string]bool{}, true
	for _, p := range s.OfType(typeSGP) {
		ids := p.get("spec", "securityGroups", "groupIds")
		if isUnknown(p.get("spec")) || isUnknown(ids) {
			known = false
		}
		res := s.resolve(p, "spec", ids, typeSecurityGroup)
		for _, sg := range res.Found {
			groups[sg.URN] = true
		}
		for _, u := range res.Unresolved {
			if u == Unknown {
				known = false
			}
		}
	}
	return groups, known
}

// dataStoreGroups are the security groups of the stack's Redis and Aurora
// clusters.
func (s *Stack) dataStoreGroups() []*Resource {
	seen := map[string]bool{}
	var out []*Resource
	for _, st := range []struct{ typ, prop string }{
		{typeReplicationGroup, "securityGroupIds"},
		{typeRDSCluster, "vpcSecurityGroupIds"},
	} {
		for _, store := range s.OfType(st.typ) {
			for _, sg := range s.resolve(store, st.prop, store.get(st.prop), typeSecurityGroup).Found {
				if !seen[sg.URN] {
					seen[sg.URN] = true
					out = append(out, sg)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// checkDataStoreIngress: Redis and Aurora admit only security groups that a
// SecurityGroupPolicy gives to pods (the auth pods' own group), never the
// EKS cluster security group (every Fargate pod carries it, CoreDNS and the
// LB controller included) and never an address range.
func checkDataStoreIngress(s *Stack) []Finding {
	podGroups, known := s.podSecurityGroups()
	if !known {
		return nil
	}
	const fix = "admit only the auth pods' own security group (the one their SecurityGroupPolicy gives them) as referencedSecurityGroupId"
	var out []Finding
	judgeGroup := func(r *Resource, prop string, ref any, store *Resource) {
		if ref == nil {
			return
		}
		res := s.resolve(r, prop, ref, typeSecurityGroup)
		for _, sg := range res.Found {
			if sg.URN == store.URN || podGroups[sg.URN] {
				continue
			}
			out = append(out, Finding{URN: r.URN, Message: problem(r, fix,
				"lets %s into data store group %s, and no SecurityGroupPolicy gives that group to pods: whatever carries it reaches the data", sg.describe(), store.Name)})
		}
		for _, u := range res.Unresolved {
			if u == Unknown {
				continue
			}
			out = append(out, Finding{URN: r.URN, Message: problem(r, fix,
				"lets security group %s into data store group %s; it is not a group of this stack (the EKS cluster security group is such a group, and every pod of the cluster carries it)", u, store.Name)})
		}
	}
	judgeAddresses := func(r *Resource, store *Resource, cidrs []string) {
		if len(cidrs) == 0 {
			return
		}
		out = append(out, Finding{URN: r.URN, Message: problem(r, fix,
			"lets %s into data store group %s by address: every pod and host in the range gets in, not only the auth pods", strings.Join(cidrs, ", "), store.Name)})
	}
	cidrsOf := func(values ...any) []string {
		var cs []string
		for _, v := range values {
			for _, c := range oneOrMany(v) {
				if c != "" && c != Unknown {
					cs = append(cs, c)
				}
			}
		}
		return cs
	}
	for _, store := range s.dataStoreGroups() {
		for _, r := range s.OfType(typeSGIngressRule) {
			if !s.resolvesTo(r, "securityGroupId", store) {
				continue
			}
			judgeGroup(r, "referencedSecurityGroupId", r.get("referencedSecurityGroupId"), store)
			judgeAddresses(r, store, cidrsOf(r.get("cidrIpv4"), r.get("cidrIpv6"), r.get("prefixListId")))
		}
		for _, r := range s.OfType(typeSGRule) {
			if t, _ := asString(r.get("type")); t != "ingress" || !s.resolvesTo(r, "securityGroupId", store) {
				continue
			}
			judgeGroup(r, "sourceSecurityGroupId", r.get("sourceSecurityGroupId"), store)
			judgeAddresses(r, store, cidrsOf(r.get("cidrBlocks"), r.get("ipv6CidrBlocks"), r.get("prefixListIds")))
		}
		for i, in := range asMaps(store.get("ingress")) {
			judgeGroup(store, "ingress", in["securityGroups"], store)
			if cs := cidrsOf(in["cidrBlocks"], in["ipv6CidrBlocks"], in["prefixListIds"]); len(cs) > 0 {
				judgeAddresses(store, store, append(cs[:0:0], fmt.Sprintf("%s (inline rule %d)", strings.Join(cs, ", "), i)))
			}
		}
	}
	return out
}
