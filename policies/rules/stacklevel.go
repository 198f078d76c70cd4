package rules

import (
	"sort"
	"strings"
)

func checkTGBTargetGroup(s *Stack) []Finding {
	return eachOf(s, []string{typeTGB}, func(b *Resource) []string {
		const fix = "bind the stack's own target group (the ingress component's targetGroupArn output) in spec.targetGroupARN"
		spec := b.get("spec")
		if isUnknown(spec) {
			if len(s.resolve(b, "spec", Unknown, targetGroupTypes...).Found) > 0 {
				return nil
			}
			return []string{problem(b, fix, "its spec is not known and depends on no target group of this stack")}
		}
		if b.get("spec", "targetGroupARN") == nil && b.get("spec", "targetGroupName") == nil {
			return []string{problem(b, fix, "names no target group (spec.targetGroupARN)")}
		}
		res := s.targetGroupsOf(b)
		var out []string
		for _, ref := range res.Unresolved {
			if ref == Unknown {
				out = append(out, problem(b, fix, "its target group is not known yet and depends on no target group of this stack"))
				continue
			}
			out = append(out, problem(b, fix, "binds target group %s, which this stack does not manage: its deregistration delay, target type and health check escape the contract, and another binding may own it", ref))
		}
		return out
	})
}

// clusterKey groups Fargate profiles by cluster: the cluster name, or the
// resources it comes from while it is not known.
func clusterKey(p *Resource) string {
	if name, ok := asString(p.get("clusterName")); ok {
		return name
	}
	deps := append([]string(nil), p.PropertyDependencies["clusterName"]...)
	sort.Strings(deps)
	return "from:" + strings.Join(deps, ",")
}

func checkFargateSerialized(s *Stack) []Finding {
	groups := map[string][]*Resource{}
	var keys []string
	for _, p := range s.OfType(typeFargateProfile) {
		k := clusterKey(p)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	sort.Strings(keys)
	var out []Finding
	for _, k := range keys {
		ps := groups[k]
		cluster := k
		if strings.HasPrefix(k, "from:") {
			cluster = "(not known yet)"
		}
		for i := 0; i < len(ps); i++ {
			for j := i + 1; j < len(ps); j++ {
				a, b := ps[i], ps[j]
				if s.waitsFor(a, b) || s.waitsFor(b, a) {
					continue
				}
				out = append(out, Finding{URN: b.URN, Message: problem(b,
					"chain the profiles with pulumi.DependsOn, each on the previous one (the cluster component does)",
					"neither it nor %s waits for the other, both on cluster %s: EKS runs one profile operation per cluster at a time and fails the other with ResourceInUseException", a.describe(), cluster)})
			}
		}
	}
	return out
}
