package rules

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// ZoneLabel is the pod label that pins an auth pod to a zone: the zone's
// Fargate profile selects it and has that zone's one subnet. Fargate ignores
// topology spread constraints and anti-affinity (AWS's Fargate
// considerations), so this is the only spread the platform can guarantee.
const ZoneLabel = "auth-platform/zone"

// FargateProfileLabel names the Fargate profile a pod runs on (issue 24):
// per zone, like ZoneLabel, so it does not split the service either.
const FargateProfileLabel = "eks.amazonaws.com/fargate-profile"

// authService is the Deployments that make up one service: the per-zone
// Deployments of one namespace whose pods differ only in the zone label.
type authService struct {
	deployments []*Resource
	// replicas in total; known is false when any count is unknown.
	replicas int
	known    bool
}

// authServices groups the auth Deployments into services, sorted by the
// URN of their first Deployment. A Deployment whose labels are not known
// is a service of its own.
func authServices(s *Stack) []*authService {
	byKey := map[string]*authService{}
	var out []*authService
	for _, d := range s.OfType(authDeployments...) {
		key := d.URN
		if ns := namespaceOf(d); ns != "" && !isUnknown(d.get("spec", "template", "metadata", "labels")) {
			var parts []string
			for k, v := range podLabels(d) {
				if k != ZoneLabel && k != FargateProfileLabel && k != "pod-template-hash" {
					parts = append(parts, k+"="+v)
				}
			}
			sort.Strings(parts)
			key = ns + "/" + strings.Join(parts, ",")
		}
		svc, ok := byKey[key]
		if !ok {
			svc = &authService{known: true}
			byKey[key] = svc
			out = append(out, svc)
		}
		svc.deployments = append(svc.deployments, d)
		if n, ok := replicas(d); ok {
			svc.replicas += n
		} else {
			svc.known = false
		}
	}
	return out
}

// describeAll names a service's Deployments.
func (a *authService) describeAll() string {
	var names []string
	for _, d := range a.deployments {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}

func checkMinReplicas(s *Stack) []Finding {
	var out []Finding
	for _, svc := range authServices(s) {
		if !svc.known || svc.replicas >= 2 {
			continue
		}
		d := svc.deployments[0]
		out = append(out, Finding{URN: d.URN, Message: problem(d, "run at least 2 replicas in total over the zones' Deployments (config authReplicas; 3 recommended, one per zone)",
			"runs %d replica(s) with %s: one Fargate patch eviction or rollout leaves no pod serving", svc.replicas, svc.describeAll())})
	}
	return out
}

func checkReplicasPerZone(s *Stack) []Finding {
	var out []Finding
	for _, svc := range authServices(s) {
		if !svc.known || svc.replicas >= 3 {
			continue
		}
		d := svc.deployments[0]
		out = append(out, Finding{URN: d.URN, Message: problem(d, "run 3 or more replicas in total (config authReplicas)",
			"runs %d replica(s) with %s: fewer than three zones keep a pod, and during a rollout or eviction a single pod carries all traffic", svc.replicas, svc.describeAll())})
	}
	return out
}

// globMatch matches a Fargate selector value, which may use * and ?.
func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// profileSelects reports whether a Fargate profile runs pods of namespace
// ns with these labels: one of its selectors names the namespace and all
// of its labels match.
func profileSelects(p *Resource, ns string, labels map[string]string) (match, known bool) {
	sels := p.get("selectors")
	if isUnknown(sels) {
		return false, false
	}
	for _, sel := range asMaps(sels) {
		want, ok := asString(sel["namespace"])
		if !ok || !globMatch(want, ns) {
			if isUnknown(sel["namespace"]) {
				return false, false
			}
			continue
		}
		all := true
		for k, v := range asMap(sel["labels"]) {
			w, ok := asString(v)
			if !ok {
				return false, false
			}
			if got, has := labels[k]; !has || !globMatch(w, got) {
				all = false
				break
			}
		}
		if all {
			return true, true
		}
	}
	return false, true
}

// profileSubnets is what a profile's subnetIds say about its zones.
type profileSubnets struct {
	// listKnown: the list itself is known (its elements may not be yet).
	listKnown bool
	count     int
	// zonesKnown: every subnet is resolved to a subnet of the stack, so
	// subnets and zones are exact.
	zonesKnown bool
	subnets    []*Resource
	zones      []string
}

// profileZones reads a profile's subnets. While an element is not known (a
// first preview) its subnet is taken from the property dependencies only
// if they name exactly as many subnets as the list holds; an output that
// picks one subnet out of a list depends on all of them.
func (s *Stack) profileZones(p *Resource) profileSubnets {
	v := p.get("subnetIds")
	if isUnknown(v) {
		return profileSubnets{}
	}
	ps := profileSubnets{listKnown: true, count: len(asList(v))}
	if _, one := asString(v); one {
		ps.count = 1
	}
	unknown := false
	for _, e := range asList(v) {
		if isUnknown(e) {
			unknown = true
		}
	}
	found := s.resolve(p, "subnetIds", v, typeSubnet).Found
	if unknown && len(found) != ps.count {
		return ps
	}
	ps.zonesKnown = true
	seen := map[string]bool{}
	for _, sn := range found {
		ps.subnets = append(ps.subnets, sn)
		az, ok := asString(sn.get("availabilityZone"))
		if !ok || az == "" {
			ps.zonesKnown = false
			continue
		}
		if !seen[az] {
			seen[az] = true
			ps.zones = append(ps.zones, az)
		}
	}
	sort.Strings(ps.zones)
	return ps
}

// checkZoneSpread holds the per-zone placement the program can guarantee on
// Fargate: every auth Deployment's pods match exactly one Fargate profile,
// that profile has exactly one subnet, and every zone a cluster's profiles
// reach has an auth Deployment with at least one replica pinned to it.
func checkZoneSpread(s *Stack) []Finding {
	profiles := s.OfType(typeFargateProfile)
	if len(profiles) == 0 {
		return nil
	}
	var out []Finding
	// profile URN -> the Deployments it runs
	runs := map[string][]*Resource{}
	// clusters whose auth pods' zones are not known yet: a profile whose
	// selection of an auth Deployment, or whose zone, is not known
	uncertain := map[string]bool{}
	for _, d := range s.OfType(authDeployments...) {
		ns := namespaceOf(d)
		if ns == "" || isUnknown(d.get("spec", "template", "metadata", "labels")) {
			continue
		}
		labels := podLabels(d)
		var matched []*Resource
		unknown := false
		for _, p := range profiles {
			m, known := profileSelects(p, ns, labels)
			if !known {
				unknown = true
				uncertain[clusterKey(p)] = true
			}
			if m {
				matched = append(matched, p)
			}
		}
		switch {
		case len(matched) == 0 && !unknown:
			out = append(out, Finding{URN: d.URN, Message: problem(d,
				fmt.Sprintf("give each zone a Fargate profile selecting namespace %q and the label %s of that zone's pods", ns, ZoneLabel),
				"no Fargate profile selects its pods (namespace %q, %s %q): they stay Pending", ns, ZoneLabel, labels[ZoneLabel])})
		case len(matched) > 1:
			var names []string
			for _, p := range matched {
				names = append(names, p.Name)
			}
			out = append(out, Finding{URN: d.URN, Message: problem(d,
				"let exactly one profile select each zone's pods (no profile for the whole namespace)",
				"%d Fargate profiles (%s) select its pods: EKS picks one at random for each pod, so the pods' zone is not fixed", len(matched), strings.Join(names, ", "))})
		}
		for _, p := range matched {
			runs[p.URN] = append(runs[p.URN], d)
		}
	}

	// Each profile that runs auth pods pins them to one zone.
	covered := map[string]bool{}         // cluster + zone with an auth pod
	pinnedTo := map[string][]*Resource{} // cluster + zone -> Deployments pinned there without pods
	for _, p := range profiles {
		ds := runs[p.URN]
		if len(ds) == 0 {
			continue
		}
		ps := s.profileZones(p)
		if !ps.listKnown {
			uncertain[clusterKey(p)] = true
			continue
		}
		count, zones := ps.count, ps.zones
		if count != 1 || len(zones) > 1 {
			what := fmt.Sprintf("%d subnets", count)
			if len(zones) > 1 {
				what += " in zones " + strings.Join(zones, ", ")
			}
			out = append(out, Finding{URN: p.URN, Message: problem(p,
				"give the profile exactly one subnet (its zone's private subnet) and one profile per zone",
				"spans %s: Fargate may put every pod it runs in one of them, so a single zone outage can take them all", what)})
			continue
		}
		if !ps.zonesKnown {
			uncertain[clusterKey(p)] = true
			continue
		}
		for _, zone := range zones {
			key := clusterKey(p) + "|" + zone
			for _, d := range ds {
				if n, ok := replicas(d); !ok || n >= 1 {
					covered[key] = true
				} else {
					pinnedTo[key] = append(pinnedTo[key], d)
				}
			}
		}
	}
	if len(runs) == 0 {
		return out
	}

	// Every zone a cluster's profiles reach keeps an auth pod.
	type zoneOf struct {
		key, zone string
		subnet    *Resource
	}
	var zones []zoneOf
	seen := map[string]bool{}
	for _, p := range profiles {
		ps := s.profileZones(p)
		if !ps.zonesKnown || uncertain[clusterKey(p)] {
			continue
		}
		for _, sn := range ps.subnets {
			az, ok := asString(sn.get("availabilityZone"))
			key := clusterKey(p) + "|" + az
			if !ok || az == "" || seen[key] {
				continue
			}
			seen[key] = true
			zones = append(zones, zoneOf{key: key, zone: az, subnet: sn})
		}
	}
	sort.Slice(zones, func(i, j int) bool { return zones[i].key < zones[j].key })
	for _, z := range zones {
		if covered[z.key] {
			continue
		}
		const fix = "run a Deployment per zone with at least one replica (config authReplicas at least the number of zones), each on its zone's one-subnet profile"
		if ds := pinnedTo[z.key]; len(ds) > 0 {
			for _, d := range ds {
				out = append(out, Finding{URN: d.URN, Message: problem(d, fix, "runs 0 replicas: zone %s has no auth pod", z.zone)})
			}
			continue
		}
		out = append(out, Finding{URN: z.subnet.URN, Message: problem(z.subnet, fix,
			"zone %s has no auth pod: no auth Deployment runs on a Fargate profile pinned to it, though the cluster's profiles use it", z.zone)})
	}
	return out
}
