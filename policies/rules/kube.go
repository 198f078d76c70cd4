package rules

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Kubernetes type tokens.
const (
	typeDeployment  = "kubernetes:apps/v1:Deployment"
	typeStatefulSet = "kubernetes:apps/v1:StatefulSet"
	typeDaemonSet   = "kubernetes:apps/v1:DaemonSet"
	typeReplicaSet  = "kubernetes:apps/v1:ReplicaSet"
	typeJob         = "kubernetes:batch/v1:Job"
	typeCronJob     = "kubernetes:batch/v1:CronJob"
	typePod         = "kubernetes:core/v1:Pod"
	typeNamespace   = "kubernetes:core/v1:Namespace"
	typeService     = "kubernetes:core/v1:Service"
	typeConfigMap   = "kubernetes:core/v1:ConfigMap"
	typePDB         = "kubernetes:policy/v1:PodDisruptionBudget"
	typeTGB         = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
)

// authDeployments are the Deployments held to the resilience contract:
// every Deployment of the stack. The stack runs one workload, the auth
// service (the LB controller comes as a Helm release), and keying on a
// label would let a Deployment escape the contract by a typo.
var authDeployments = []string{typeDeployment}

// workloads carry a pod template somewhere.
var workloads = []string{typeDeployment, typeStatefulSet, typeDaemonSet, typeReplicaSet, typeJob, typeCronJob, typePod}

// ReadinessGateLabel makes the LB controller inject readiness gates into
// the pods of a namespace.
const ReadinessGateLabel = "elbv2.k8s.aws/pod-readiness-gate-inject"

// ZoneTopologyKey is the node label of the availability zone.
const ZoneTopologyKey = "topology.kubernetes.io/zone"

// namespaceOf is an object's namespace ("default" when unset, "" when
// unknown).
func namespaceOf(r *Resource) string {
	v := r.get("metadata", "namespace")
	if v == nil {
		return "default"
	}
	s, _ := asString(v)
	return s
}

// objectName is an object's name: metadata.name, else the name part of its
// ID (the provider's auto-name), else "".
func objectName(r *Resource) string {
	if s, ok := asString(r.get("metadata", "name")); ok {
		return s
	}
	if r.ID != "" {
		return r.ID[strings.LastIndex(r.ID, "/")+1:]
	}
	return ""
}

// podSpec returns a workload's pod spec, wherever its kind keeps it.
func podSpec(r *Resource) map[string]any {
	switch r.Type {
	case typePod:
		return asMap(r.get("spec"))
	case typeCronJob:
		return asMap(r.get("spec", "jobTemplate", "spec", "template", "spec"))
	}
	return asMap(r.get("spec", "template", "spec"))
}

// podLabels returns the labels of a workload's pods.
func podLabels(r *Resource) map[string]string {
	switch r.Type {
	case typePod:
		return asStringMap(r.get("metadata", "labels"))
	case typeCronJob:
		return asStringMap(r.get("spec", "jobTemplate", "spec", "template", "metadata", "labels"))
	}
	return asStringMap(r.get("spec", "template", "metadata", "labels"))
}

// container is one container of a pod spec.
type container struct {
	name string
	init bool
	spec map[string]any
}

// containers lists the (long-running) containers of a pod spec.
func containers(ps map[string]any) []container {
	var out []container
	for i, c := range asMaps(ps["containers"]) {
		name, ok := asString(c["name"])
		if !ok {
			name = "#" + strconv.Itoa(i)
		}
		out = append(out, container{name: name, spec: c})
	}
	return out
}

// allContainers adds the init containers.
func allContainers(ps map[string]any) []container {
	out := containers(ps)
	for i, c := range asMaps(ps["initContainers"]) {
		name, ok := asString(c["name"])
		if !ok {
			name = "init#" + strconv.Itoa(i)
		}
		out = append(out, container{name: name, init: true, spec: c})
	}
	return out
}

// replicas of a Deployment: spec.replicas, 1 when unset (Kubernetes'
// default); ok is false when unknown.
func replicas(r *Resource) (int, bool) {
	v := r.get("spec", "replicas")
	if v == nil {
		return 1, true
	}
	f, ok := asNumber(v)
	return int(f), ok
}

// hookKind classifies a preStop hook.
type hookKind int

const (
	hookNone    hookKind = iota // no preStop hook
	hookSleeps                  // pauses a known number of seconds
	hookNoPause                 // a hook that does not (provably) pause
	hookUnknown                 // not known yet
)

// execSleep finds `sleep N` in an exec command line.
var execSleep = regexp.MustCompile(`(?:^|[\s;&|(/])sleep\s+(\d+(?:\.\d+)?)s?(?:$|[\s;&|)])`)

// preStop reads a container's preStop hook: how long it pauses.
func preStop(c container) (kind hookKind, seconds float64, what string) {
	hook := at(c.spec, "lifecycle", "preStop")
	if hook == nil {
		return hookNone, 0, "no preStop hook"
	}
	if isUnknown(hook) {
		return hookUnknown, 0, ""
	}
	h := asMap(hook)
	if sleep := asMap(h["sleep"]); sleep != nil {
		v := sleep["seconds"]
		if isUnknown(v) {
			return hookUnknown, 0, ""
		}
		if f, ok := asNumber(v); ok {
			return hookSleeps, f, "sleep " + formatNumber(f) + " s"
		}
		return hookNoPause, 0, "a sleep hook without seconds"
	}
	if exec := asMap(h["exec"]); exec != nil {
		var parts []string
		for _, p := range asList(exec["command"]) {
			if isUnknown(p) {
				return hookUnknown, 0, ""
			}
			if s, ok := asString(p); ok {
				parts = append(parts, s)
			}
		}
		line := strings.Join(parts, " ")
		if m := execSleep.FindStringSubmatch(line); m != nil {
			f, _ := strconv.ParseFloat(m[1], 64)
			return hookSleeps, f, "exec sleep " + formatNumber(f) + " s"
		}
		return hookNoPause, 0, "an exec hook that does not sleep (" + strconv.Quote(line) + ")"
	}
	for _, k := range []string{"httpGet", "tcpSocket"} {
		if h[k] != nil {
			return hookNoPause, 0, "a " + k + " hook, which returns as soon as the call does"
		}
	}
	return hookNoPause, 0, "an empty preStop hook"
}

// minPreStopSleep is the shortest pause before SIGTERM over a workload's
// containers: a container without a hook, or with one that does not
// provably pause, gets SIGTERM at once (0). ok is false when no container's
// hook is known yet.
func minPreStopSleep(r *Resource) (float64, bool) {
	best, ok := 0.0, false
	for _, c := range containers(podSpec(r)) {
		kind, s, _ := preStop(c)
		switch kind {
		case hookUnknown:
			continue
		case hookNone, hookNoPause:
			s = 0
		}
		if !ok || s < best {
			best, ok = s, true
		}
	}
	return best, ok
}

// selectorMatches applies a metav1.LabelSelector (matchLabels and
// matchExpressions) to labels. known is false when the selector or the
// labels are not known yet. A null selector selects nothing; an empty one
// everything (policy/v1 semantics).
func selectorMatches(sel any, labels map[string]string) (match, known bool) {
	if sel == nil {
		return false, true
	}
	if isUnknown(sel) {
		return false, false
	}
	m := asMap(sel)
	if m == nil {
		return false, true
	}
	if isUnknown(m["matchLabels"]) || isUnknown(m["matchExpressions"]) {
		return false, false
	}
	for k, v := range asMap(m["matchLabels"]) {
		if isUnknown(v) {
			return false, false
		}
		want, _ := asString(v)
		if got, ok := labels[k]; !ok || got != want {
			return false, true
		}
	}
	for _, e := range asMaps(m["matchExpressions"]) {
		key, _ := asString(e["key"])
		op, _ := asString(e["operator"])
		values := oneOrMany(e["values"])
		got, has := labels[key]
		in := false
		for _, v := range values {
			if v == got {
				in = true
			}
		}
		switch op {
		case "In":
			if !has || !in {
				return false, true
			}
		case "NotIn":
			if has && in {
				return false, true
			}
		case "Exists":
			if !has {
				return false, true
			}
		case "DoesNotExist":
			if has {
				return false, true
			}
		default:
			return false, true
		}
	}
	return true, true
}

// serviceSelects applies a Service's selector (a plain map; empty selects
// nothing) to labels.
func serviceSelects(sel any, labels map[string]string) (match, known bool) {
	if isUnknown(sel) {
		return false, false
	}
	m := asMap(sel)
	if len(m) == 0 {
		return false, true
	}
	for k, v := range m {
		if isUnknown(v) {
			return false, false
		}
		want, _ := asString(v)
		if got, ok := labels[k]; !ok || got != want {
			return false, true
		}
	}
	return true, true
}

// deploymentsBehind returns the Deployments whose pods a
// TargetGroupBinding registers: those selected by the Service its
// serviceRef names, in its namespace.
func (s *Stack) deploymentsBehind(tgb *Resource) []*Resource {
	ns := namespaceOf(tgb)
	name, ok := asString(tgb.get("spec", "serviceRef", "name"))
	if !ok || ns == "" {
		return nil
	}
	var out []*Resource
	seen := map[string]bool{}
	for _, svc := range s.OfType(typeService) {
		if namespaceOf(svc) != ns || objectName(svc) != name {
			continue
		}
		for _, d := range s.OfType(authDeployments...) {
			if namespaceOf(d) != ns || seen[d.URN] {
				continue
			}
			if match, _ := serviceSelects(svc.get("spec", "selector"), podLabels(d)); match {
				seen[d.URN] = true
				out = append(out, d)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// targetGroupsOf returns the target groups a TargetGroupBinding binds, and
// the references that name none of the stack's.
func (s *Stack) targetGroupsOf(tgb *Resource) resolution {
	if arn := tgb.get("spec", "targetGroupARN"); arn != nil {
		return s.resolve(tgb, "spec", arn, targetGroupTypes...)
	}
	name := tgb.get("spec", "targetGroupName")
	if name == nil {
		return resolution{}
	}
	n, ok := asString(name)
	if !ok {
		return s.resolve(tgb, "spec", name, targetGroupTypes...)
	}
	var res resolution
	for _, tg := range s.OfType(targetGroupTypes...) {
		if got, ok := asString(tg.get("name")); ok && got == n {
			res.Found = append(res.Found, tg)
		}
	}
	if len(res.Found) == 0 {
		res.Unresolved = []string{n}
	}
	return res
}
