package rules

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Target-group type tokens (lb and its alias alb).
var targetGroupTypes = []string{"aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"}

// DefaultGracePeriodSeconds is Kubernetes' terminationGracePeriodSeconds
// when unset.
const DefaultGracePeriodSeconds = 30

// DefaultDeregistrationDelaySeconds is the ELB default when unset.
const DefaultDeregistrationDelaySeconds = 300

func checkZeroUnavailable(s *Stack) []Finding {
	return eachOf(s, authDeployments, func(r *Resource) []string {
		const fix = "use strategy.type RollingUpdate with rollingUpdate.maxUnavailable: 0 and maxSurge: 1"
		strategy := r.get("spec", "strategy")
		if isUnknown(strategy) {
			return nil
		}
		if t, ok := asString(at(strategy, "type")); ok && t == "Recreate" {
			return []string{problem(r, fix, "rolls out with strategy Recreate: every pod stops before a new one starts")}
		}
		mu := at(strategy, "rollingUpdate", "maxUnavailable")
		if isUnknown(mu) {
			return nil
		}
		if !isZeroQuantity(mu) {
			shown := show(mu)
			if mu == nil {
				shown = `unset (Kubernetes defaults to "25%")`
			}
			return []string{problem(r, fix, "rolls out with maxUnavailable %s: a rollout removes serving pods before their replacements are Ready", shown)}
		}
		if ms := at(strategy, "rollingUpdate", "maxSurge"); ms != nil && !isUnknown(ms) && isZeroQuantity(ms) {
			return []string{problem(r, fix, "sets maxUnavailable 0 and maxSurge 0: a rollout can never start a new pod")}
		}
		return nil
	})
}

// isZeroQuantity reports whether an IntOrString is 0 or "0%".
func isZeroQuantity(v any) bool {
	if f, ok := asNumber(v); ok {
		return f == 0
	}
	if s, ok := asString(v); ok {
		return strings.TrimSpace(strings.TrimSuffix(s, "%")) == "0"
	}
	return false
}

func checkProbes(s *Stack) []Finding {
	return eachOf(s, authDeployments, func(r *Resource) []string {
		var out []string
		for _, c := range containers(podSpec(r)) {
			var missing []string
			for _, p := range []string{"readinessProbe", "livenessProbe"} {
				if c.spec[p] == nil {
					missing = append(missing, p)
				}
			}
			if len(missing) > 0 {
				out = append(out, problem(r, "give the container a readinessProbe (the ALB health check path) and a livenessProbe that checks no dependency",
					"container %q has no %s: a pod that cannot serve still gets traffic, or a wedged one is never restarted", c.name, strings.Join(missing, " and no ")))
			}
		}
		return out
	})
}

func checkPreStop(s *Stack) []Finding {
	return eachOf(s, authDeployments, func(r *Resource) []string {
		const fix = "add lifecycle.preStop.sleep.seconds (Kubernetes 1.30+, config preStopSleepSeconds) or an exec hook running `sleep N`, at least the deregistration delay"
		var out []string
		for _, c := range containers(podSpec(r)) {
			kind, secs, what := preStop(c)
			switch {
			case kind == hookNone:
				out = append(out, problem(r, fix, "container %q has no preStop hook: it gets SIGTERM while the ALB still routes requests to it (502s on every rollout and eviction)", c.name))
			case kind == hookNoPause:
				out = append(out, problem(r, fix, "container %q has %s; it must pause until the ALB has stopped routing to it", c.name, what))
			case kind == hookSleeps && secs <= 0:
				out = append(out, problem(r, fix, "container %q sleeps %s s in preStop, which does not delay SIGTERM", c.name, formatNumber(secs)))
			}
		}
		return out
	})
}

func checkGracePeriod(s *Stack) []Finding {
	return eachOf(s, authDeployments, func(r *Resource) []string {
		ps := podSpec(r)
		gv := ps["terminationGracePeriodSeconds"]
		if isUnknown(gv) {
			return nil
		}
		grace := float64(DefaultGracePeriodSeconds)
		if f, ok := asNumber(gv); ok {
			grace = f
		}
		longest, name := 0.0, ""
		for _, c := range containers(ps) {
			if kind, secs, _ := preStop(c); kind == hookSleeps && secs > longest {
				longest, name = secs, c.name
			}
		}
		if name == "" || grace > longest {
			return nil
		}
		shown := formatNumber(grace) + " s"
		if gv == nil {
			shown += " (unset: the Kubernetes default)"
		}
		return []string{problem(r, fmt.Sprintf("set spec.template.spec.terminationGracePeriodSeconds above %s plus the service's shutdown time (config terminationGracePeriodSeconds)", formatNumber(longest)),
			"terminationGracePeriodSeconds %s is not longer than container %q's preStop sleep of %s s: SIGKILL arrives before the service can drain", shown, name, formatNumber(longest))}
	})
}

func checkNoEmptyDir(s *Stack) []Finding {
	return eachOf(s, authDeployments, func(r *Resource) []string {
		var out []string
		for i, v := range asMaps(podSpec(r)["volumes"]) {
			if v["emptyDir"] == nil {
				continue
			}
			name, ok := asString(v["name"])
			if !ok {
				name = "#" + strconv.Itoa(i)
			}
			out = append(out, problem(r, "keep sessions in ElastiCache and users in Aurora, and remove the emptyDir volume",
				"mounts emptyDir volume %q: its content dies with the pod on every eviction and rollout and is not shared between replicas", name))
		}
		return out
	})
}

// pdbs returns the policy/v1 PDBs of a namespace that select labels; a PDB
// whose selector is not known yet counts as selecting.
func (s *Stack) pdbsSelecting(ns string, labels map[string]string) []*Resource {
	var out []*Resource
	for _, p := range s.OfType(typePDB) {
		pns := namespaceOf(p)
		if pns != "" && pns != ns {
			continue
		}
		if match, known := selectorMatches(p.get("spec", "selector"), labels); match || !known {
			out = append(out, p)
		}
	}
	return out
}

func checkPDBCovers(s *Stack) []Finding {
	return eachOf(s, authDeployments, func(r *Resource) []string {
		ns := namespaceOf(r)
		labels := podLabels(r)
		if ns == "" || isUnknown(r.get("spec", "template", "metadata", "labels")) {
			return nil
		}
		pdbs := s.pdbsSelecting(ns, labels)
		switch len(pdbs) {
		case 0:
			return []string{problem(r, fmt.Sprintf("add a policy/v1 PodDisruptionBudget in namespace %q whose selector.matchLabels match the pod labels, with maxUnavailable: 1", ns),
				"no PodDisruptionBudget selects its pods: Fargate patching and node drains may evict all of them at once")}
		case 1:
			return nil
		}
		var names []string
		for _, p := range pdbs {
			names = append(names, p.Name)
		}
		return []string{problem(r, "keep exactly one PodDisruptionBudget per Deployment",
			"%d PodDisruptionBudgets (%s) select its pods: the eviction API refuses pods covered by more than one, which blocks Fargate patching", len(pdbs), strings.Join(names, ", "))}
	})
}

// allowedDisruptions is how many of n pods a PDB lets be evicted.
func allowedDisruptions(minAvailable, maxUnavailable any, n int) (int, bool) {
	count := func(v any) (int, bool) {
		if f, ok := asNumber(v); ok {
			return int(f), true
		}
		s, ok := asString(v)
		if !ok || !strings.HasSuffix(s, "%") {
			return 0, false
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil {
			return 0, false
		}
		// Kubernetes rounds percentages up.
		return int(math.Ceil(p * float64(n) / 100)), true
	}
	if maxUnavailable != nil {
		return count(maxUnavailable)
	}
	c, ok := count(minAvailable)
	return n - c, ok
}

func checkPDBAllows(s *Stack) []Finding {
	const fix = "set spec.maxUnavailable: 1 (and no minAvailable)"
	return eachOf(s, []string{typePDB}, func(p *Resource) []string {
		minA, maxU := p.get("spec", "minAvailable"), p.get("spec", "maxUnavailable")
		if isUnknown(minA) || isUnknown(maxU) {
			return nil
		}
		switch {
		case minA != nil && maxU != nil:
			return []string{problem(p, fix, "sets both minAvailable and maxUnavailable, which Kubernetes rejects")}
		case minA == nil && maxU == nil:
			return []string{problem(p, fix, "sets neither minAvailable nor maxUnavailable, so it does not say how many pods may be disrupted")}
		}
		// The budget counts every pod it selects: the per-zone Deployments
		// of a service together.
		ns := namespaceOf(p)
		var selected []string
		n, countKnown := 0, true
		for _, d := range s.OfType(authDeployments...) {
			if namespaceOf(d) != ns {
				continue
			}
			match, known := selectorMatches(p.get("spec", "selector"), podLabels(d))
			if !match || !known {
				continue
			}
			selected = append(selected, d.describe())
			r, ok := replicas(d)
			if !ok {
				countKnown = false
			}
			n += r
		}
		if len(selected) > 0 && countKnown {
			allowed, ok := allowedDisruptions(minA, maxU, n)
			if !ok {
				return nil
			}
			budget := "maxUnavailable " + show(maxU)
			if maxU == nil {
				budget = "minAvailable " + show(minA)
			}
			pods := strings.Join(selected, ", ")
			if allowed < 1 {
				return []string{problem(p, fix, "%s allows no eviction of the %d pods of %s: Fargate patching and node drains stall", budget, n, pods)}
			} else if allowed >= n {
				return []string{problem(p, fix, "%s allows all %d pods of %s to be evicted at once", budget, n, pods)}
			}
			return nil
		}
		// Selects no Deployment of the stack, or pods not counted yet (a
		// replica count not known): judge the budget alone, which needs no
		// count.
		if maxU != nil && isZeroQuantity(maxU) {
			return []string{problem(p, fix, "maxUnavailable %s allows no eviction: Fargate patching and node drains stall", show(maxU))}
		}
		if s, ok := asString(minA); ok && strings.TrimSpace(s) == "100%" {
			return []string{problem(p, fix, "minAvailable \"100%%\" allows no eviction: Fargate patching and node drains stall")}
		}
		if s, ok := asString(maxU); ok && strings.TrimSpace(s) == "100%" {
			return []string{problem(p, fix, "maxUnavailable \"100%%\" allows every pod to be evicted at once")}
		}
		return nil
	})
}

func checkPDBUnhealthy(s *Stack) []Finding {
	return eachOf(s, []string{typePDB}, func(p *Resource) []string {
		v := p.get("spec", "unhealthyPodEvictionPolicy")
		if isUnknown(v) {
			return nil
		}
		if got, _ := asString(v); got == "AlwaysAllow" {
			return nil
		}
		return []string{problem(p, "set spec.unhealthyPodEvictionPolicy: AlwaysAllow",
			"unhealthyPodEvictionPolicy is %s: pods that crash-loop or never turn Ready can block Fargate patching", show(v))}
	})
}

func checkIPTargets(s *Stack) []Finding {
	out := eachOf(s, targetGroupTypes, func(tg *Resource) []string {
		v := tg.get("targetType")
		if isUnknown(v) {
			return nil
		}
		if t, _ := asString(v); t == "ip" {
			return nil
		}
		shown := show(v)
		if v == nil {
			shown = `unset (AWS defaults to "instance")`
		}
		return []string{problem(tg, `set targetType: "ip"`, "targetType is %s: Fargate pods have no instance to register, so the target group stays empty", shown)}
	})
	out = append(out, eachOf(s, []string{typeTGB}, func(b *Resource) []string {
		v := b.get("spec", "targetType")
		if v == nil || isUnknown(v) {
			return nil
		}
		if t, _ := asString(v); t == "ip" {
			return nil
		}
		return []string{problem(b, `set spec.targetType: ip (and an ip target group)`, "targetType is %s: Fargate pods can only be registered by IP, and readiness gates need ip targets", show(v))}
	})...)
	return out
}

func checkDeregistrationWithinPreStop(s *Stack) []Finding {
	var out []Finding
	reported := map[string]bool{}
	for _, b := range s.OfType(typeTGB) {
		tgs := s.targetGroupsOf(b).Found
		deps := s.deploymentsBehind(b)
		for _, tg := range tgs {
			v := tg.get("deregistrationDelay")
			if isUnknown(v) {
				continue
			}
			delay := float64(DefaultDeregistrationDelaySeconds)
			if f, ok := asNumber(v); ok {
				delay = f
			}
			for _, d := range deps {
				sleep, ok := minPreStopSleep(d)
				key := tg.URN + "|" + d.URN
				if !ok || delay <= sleep || reported[key] {
					continue
				}
				reported[key] = true
				shown := formatNumber(delay) + " s"
				if v == nil {
					shown += " (unset: the AWS default)"
				}
				out = append(out, Finding{URN: tg.URN, Message: problem(tg,
					fmt.Sprintf("set deregistrationDelay to at most %s (config deregistrationDelaySeconds), or lengthen the preStop sleep (preStopSleepSeconds)", formatNumber(sleep)),
					"deregistration delay %s exceeds the %s s preStop sleep of %s behind %s: the pods get SIGTERM while the ALB still drains requests to them",
					shown, formatNumber(sleep), d.describe(), b.describe())})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

func checkReadinessGate(s *Stack) []Finding {
	var out []Finding
	done := map[string]bool{}
	for _, b := range s.OfType(typeTGB) {
		ns := namespaceOf(b)
		if ns == "" || done[ns] {
			continue
		}
		done[ns] = true
		var found []*Resource
		for _, n := range s.OfType(typeNamespace) {
			if name := objectName(n); name == ns {
				found = append(found, n)
			}
		}
		if len(found) == 0 {
			out = append(out, Finding{URN: b.URN, Message: problem(b,
				fmt.Sprintf("create namespace %q in the stack with the label %s: enabled, before the pods", ns, ReadinessGateLabel),
				"its namespace %q is not managed by the stack, so nothing guarantees the readiness-gate label: new pods turn Ready before the ALB sees them healthy", ns)})
			continue
		}
		for _, n := range found {
			v := n.get("metadata", "labels", ReadinessGateLabel)
			if isUnknown(v) {
				continue
			}
			if got, _ := asString(v); got == "enabled" {
				continue
			}
			out = append(out, Finding{URN: n.URN, Message: problem(n,
				fmt.Sprintf("add the label %s: enabled to metadata.labels", ReadinessGateLabel),
				"holds TargetGroupBinding %q but its label %s is %s: a rollout may stop old pods before new ones are healthy in the target group", b.Name, ReadinessGateLabel, show(v))})
		}
	}
	return out
}
