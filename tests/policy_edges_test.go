package tests

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/policies/rules"
)

// The edges of each policy: for every bound a rule draws (a count, a
// percentage and its rounding, a default, a marker, a type token, a
// property name) a failing shape that reaches the branch reporting it, with
// a distinctive part of its message, and the passing neighbour on the other
// side of the bound. The resources are rules.Resource values built here
// directly (as the pack's adapter and the offline plan produce them), so a
// case can hold unknown values and property dependencies, and runs in
// microseconds.

const edgeStackURN = "urn:pulumi:edge::auth-platform::"

// edgeResource is one resource of an edge case; its ID is "id-<name>", which
// edgeRef refers to.
func edgeResource(typ, name string, props map[string]any) rules.Resource {
	return rules.Resource{URN: edgeStackURN + typ + "::" + name, Type: typ, Name: name, ID: edgeRef(name), Properties: props}
}

// edgeRef is how another resource refers to the edge resource name (its ID).
func edgeRef(name string) string { return "id-" + name }

// edgeURN is the URN edgeResource gives a resource.
func edgeURN(typ, name string) string { return edgeStackURN + typ + "::" + name }

// edgeEdit changes a resource's properties.
type edgeEdit func(props map[string]any)

// eSet puts v at a dotted path ("spec.template.spec.containers.0.name"),
// creating objects on the way.
func eSet(path string, v any) edgeEdit {
	return func(props map[string]any) { setPath(props, path, v) }
}

// eDel removes the value at a dotted path.
func eDel(path string) edgeEdit {
	return func(props map[string]any) { delPath(props, path) }
}

// edit returns a copy of r with the edits applied to a deep copy of its
// properties, so a resource shared by several cases stays as it was.
func edit(r rules.Resource, edits ...edgeEdit) rules.Resource {
	r.Properties, _ = edgeCopy(r.Properties).(map[string]any)
	for _, e := range edits {
		e(r.Properties)
	}
	return r
}

func edgeCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = edgeCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = edgeCopy(e)
		}
		return out
	}
	return v
}

// edgeCase is one shape of a policy's edge: the resources, and the finding
// expected (on the resource named on, with want in its message), or none
// when want is "".
type edgeCase struct {
	name      string
	resources []rules.Resource
	on        string
	want      string
	// count, when > 0, is the number of findings expected in all.
	count int
}

func edgePass(name string, rs ...rules.Resource) edgeCase {
	return edgeCase{name: name, resources: rs}
}

func edgeFail(name, on, want string, rs ...rules.Resource) edgeCase {
	return edgeCase{name: name, resources: rs, on: on, want: want}
}

// checkEdges runs one policy over each case. A table holds failing and
// passing shapes both, and no case is empty.
func checkEdges(t *testing.T, policy string, cases []edgeCase) {
	t.Helper()
	p, ok := rules.Lookup(policy)
	require.True(t, ok, "no policy %s", policy)
	require.NotEmpty(t, cases, "no case for %s", policy)
	fails, passes := 0, 0
	for _, tc := range cases {
		if tc.want == "" {
			passes++
		} else {
			fails++
		}
	}
	require.NotZero(t, fails, "%s: the table has no failing shape", policy)
	require.NotZero(t, passes, "%s: the table has no passing shape", policy)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NotEmpty(t, tc.resources, "the case has no resource to judge")
			findings := p.Run(rules.NewStack(tc.resources))
			for _, f := range findings {
				require.NotContains(t, f.Message, "internal error", "%s crashed", policy)
			}
			if tc.want == "" {
				assert.Empty(t, findings, "%s fired on a compliant shape", policy)
				return
			}
			require.NotEmpty(t, findings, "%s did not fire", policy)
			var target string
			for _, r := range tc.resources {
				if r.Name == tc.on {
					target = r.URN
				}
			}
			require.NotEmpty(t, target, "the case names no resource %q", tc.on)
			var on []string
			for _, f := range findings {
				if f.URN == target {
					on = append(on, f.Message)
				}
			}
			require.NotEmpty(t, on, "%s fired, but not on %s: %v", policy, tc.on, findings)
			msg := strings.Join(on, "\n")
			assert.Contains(t, msg, tc.want)
			assert.Contains(t, msg, fmt.Sprintf("%q", tc.on), "the message names the resource")
			assert.Contains(t, msg, "Fix: ", "the message says how to fix it")
			if tc.count > 0 {
				assert.Len(t, findings, tc.count)
			}
		})
	}
}

// Kubernetes shapes.

const (
	edgeDeploymentType = "kubernetes:apps/v1:Deployment"
	edgePDBType        = "kubernetes:policy/v1:PodDisruptionBudget"
	edgeServiceType    = "kubernetes:core/v1:Service"
	edgeNamespaceType  = "kubernetes:core/v1:Namespace"
	edgeTGBType        = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
	edgeTGType         = "aws:lb/targetGroup:TargetGroup"
	edgeProfileType    = "aws:eks/fargateProfile:FargateProfile"
	edgeSubnetType     = "aws:ec2/subnet:Subnet"
)

func edgeLabels(extra ...string) map[string]any {
	out := map[string]any{"app.kubernetes.io/name": "auth"}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

func edgeContainer(name string) map[string]any {
	return map[string]any{
		"name":           name,
		"image":          "ghcr.io/authplatform/auth-service:1.0.0",
		"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/health", "port": 8080.0}},
		"livenessProbe":  map[string]any{"httpGet": map[string]any{"path": "/health/live", "port": 8080.0}},
		"lifecycle":      map[string]any{"preStop": map[string]any{"sleep": map[string]any{"seconds": 60.0}}},
	}
}

// edgeDeployment is a compliant auth Deployment in namespace auth: 3
// replicas, a zero-unavailable rollout, a 90 s grace period and one
// container with probes and a 60 s preStop sleep.
func edgeDeployment(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeDeploymentType, name, map[string]any{
		"metadata": map[string]any{"name": name, "namespace": "auth", "labels": edgeLabels()},
		"spec": map[string]any{
			"replicas": 3.0,
			"selector": map[string]any{"matchLabels": edgeLabels()},
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxUnavailable": 0.0, "maxSurge": 1.0}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": edgeLabels()},
				"spec": map[string]any{
					"terminationGracePeriodSeconds": 90.0,
					"containers":                    []any{edgeContainer("auth")},
				},
			},
		},
	}), edits...)
}

// edgeZoneDeployment is the auth Deployment of one zone (its pods carry the
// zone label).
func edgeZoneDeployment(name, zone string, replicas any, edits ...edgeEdit) rules.Resource {
	d := edgeDeployment(name, eSet("spec.replicas", replicas), eSet("spec.template.metadata.labels", edgeLabels(rules.ZoneLabel, zone)))
	return edit(d, edits...)
}

// edgePDB is a compliant budget over the auth pods: maxUnavailable 1 and
// AlwaysAllow.
func edgePDB(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgePDBType, name, map[string]any{
		"metadata": map[string]any{"name": name, "namespace": "auth"},
		"spec": map[string]any{"maxUnavailable": 1.0, "selector": map[string]any{"matchLabels": edgeLabels()},
			"unhealthyPodEvictionPolicy": "AlwaysAllow"},
	}), edits...)
}

const c0 = "spec.template.spec.containers.0"

func TestPolicyEdgesDeploymentMinReplicas(t *testing.T) {
	checkEdges(t, "deployment-min-replicas", []edgeCase{
		edgeFail("one replica", "d", "runs 1 replica(s) with d", edgeDeployment("d", eSet("spec.replicas", 1.0))),
		edgeFail("zero replicas", "d", "runs 0 replica(s)", edgeDeployment("d", eSet("spec.replicas", 0.0))),
		edgeFail("replicas unset is Kubernetes' 1", "d", "runs 1 replica(s)", edgeDeployment("d", eDel("spec.replicas"))),
		edgePass("two replicas: the threshold", edgeDeployment("d", eSet("spec.replicas", 2.0))),
		edgePass("replicas as text", edgeDeployment("d", eSet("spec.replicas", "2"))),
		edgePass("replicas as int", edgeDeployment("d", eSet("spec.replicas", 2))),
		edgePass("replicas as int32", edgeDeployment("d", eSet("spec.replicas", int32(2)))),
		edgePass("replicas as int64", edgeDeployment("d", eSet("spec.replicas", int64(2)))),
		edgePass("replicas as float32", edgeDeployment("d", eSet("spec.replicas", float32(2)))),
		edgePass("replicas as a JSON number", edgeDeployment("d", eSet("spec.replicas", json.Number("2")))),
		edgeFail("one replica as int", "d", "runs 1 replica(s)", edgeDeployment("d", eSet("spec.replicas", 1))),
		edgeFail("one replica as int32", "d", "runs 1 replica(s)", edgeDeployment("d", eSet("spec.replicas", int32(1)))),
		edgeFail("one replica as int64", "d", "runs 1 replica(s)", edgeDeployment("d", eSet("spec.replicas", int64(1)))),
		edgeFail("one replica as float32", "d", "runs 1 replica(s)", edgeDeployment("d", eSet("spec.replicas", float32(1)))),
		edgeFail("one replica as a JSON number", "d", "runs 1 replica(s)", edgeDeployment("d", eSet("spec.replicas", json.Number("1")))),
		edgePass("a JSON number that is not one is not known", edgeDeployment("d", eSet("spec.replicas", json.Number("x")))),
		edgePass("replicas not known yet", edgeDeployment("d", eSet("spec.replicas", rules.Unknown))),
		edgePass("two zone Deployments of one replica each are one service of 2",
			edgeZoneDeployment("a", "us-east-1a", 1.0), edgeZoneDeployment("b", "us-east-1b", 1.0)),
		edgePass("the pod-template-hash label does not split a service",
			edgeZoneDeployment("a", "us-east-1a", 1.0), edgeZoneDeployment("b", "us-east-1b", 1.0, eSet("spec.template.metadata.labels.pod-template-hash", "abc"))),
		{name: "two services of one replica each", resources: []rules.Resource{
			edgeDeployment("a", eSet("spec.replicas", 1.0)),
			edgeDeployment("b", eSet("spec.replicas", 1.0), eSet("spec.template.metadata.labels", edgeLabels("app.kubernetes.io/component", "admin"))),
		}, on: "b", want: "runs 1 replica(s) with b", count: 2},
		{name: "the same labels in two namespaces are two services", resources: []rules.Resource{
			edgeDeployment("a", eSet("spec.replicas", 1.0)),
			edgeDeployment("b", eSet("spec.replicas", 1.0), eSet("metadata.namespace", "other")),
		}, on: "a", want: "runs 1 replica(s) with a:", count: 2},
		{name: "a Deployment whose labels are not known is a service of its own", resources: []rules.Resource{
			edgeDeployment("a", eSet("spec.replicas", 1.0)),
			edgeDeployment("b", eSet("spec.replicas", 1.0), eSet("spec.template.metadata.labels", rules.Unknown)),
		}, on: "b", want: "runs 1 replica(s) with b:", count: 2},
		{name: "two Deployments whose namespaces are not known are two services", resources: []rules.Resource{
			edgeDeployment("a", eSet("spec.replicas", 1.0), eSet("metadata.namespace", rules.Unknown)),
			edgeDeployment("b", eSet("spec.replicas", 1.0), eSet("metadata.namespace", rules.Unknown)),
		}, on: "a", want: "runs 1 replica(s) with a:", count: 2},
		{name: "two Deployments whose labels are not known are two services", resources: []rules.Resource{
			edgeDeployment("a", eSet("spec.replicas", 1.0), eSet("spec.template.metadata.labels", rules.Unknown)),
			edgeDeployment("b", eSet("spec.replicas", 1.0), eSet("spec.template.metadata.labels", rules.Unknown)),
		}, on: "b", want: "runs 1 replica(s) with b:", count: 2},
		edgePass("one replica not known yet in a service: not judged",
			edgeZoneDeployment("a", "us-east-1a", 1.0), edgeZoneDeployment("b", "us-east-1b", rules.Unknown)),
	})
}

func TestPolicyEdgesDeploymentReplicasPerZone(t *testing.T) {
	checkEdges(t, "deployment-replicas-per-zone", []edgeCase{
		edgeFail("two replicas", "d", "runs 2 replica(s)", edgeDeployment("d", eSet("spec.replicas", 2.0))),
		edgeFail("unset", "d", "runs 1 replica(s)", edgeDeployment("d", eDel("spec.replicas"))),
		edgePass("three replicas: the threshold", edgeDeployment("d", eSet("spec.replicas", 3.0))),
		edgePass("not known yet", edgeDeployment("d", eSet("spec.replicas", rules.Unknown))),
		edgePass("one per zone over three zone Deployments",
			edgeZoneDeployment("a", "us-east-1a", 1.0), edgeZoneDeployment("b", "us-east-1b", 1.0), edgeZoneDeployment("c", "us-east-1c", 1.0)),
		edgeFail("two zone Deployments of one replica", "a", "runs 2 replica(s) with a, b",
			edgeZoneDeployment("a", "us-east-1a", 1.0), edgeZoneDeployment("b", "us-east-1b", 1.0)),
	})
}

func TestPolicyEdgesDeploymentZeroUnavailableRollout(t *testing.T) {
	const ru = "spec.strategy.rollingUpdate."
	checkEdges(t, "deployment-zero-unavailable-rollout", []edgeCase{
		edgePass("maxUnavailable 0 and maxSurge 1", edgeDeployment("d")),
		edgePass(`maxUnavailable "0%"`, edgeDeployment("d", eSet(ru+"maxUnavailable", "0%"))),
		edgePass(`maxUnavailable "0" as text`, edgeDeployment("d", eSet(ru+"maxUnavailable", "0"))),
		edgePass("strategy not known yet", edgeDeployment("d", eSet("spec.strategy", rules.Unknown))),
		edgePass("maxUnavailable not known yet", edgeDeployment("d", eSet(ru+"maxUnavailable", rules.Unknown))),
		edgePass("maxSurge unset (Kubernetes' 25%)", edgeDeployment("d", eDel(ru+"maxSurge"))),
		edgePass("maxSurge not known yet", edgeDeployment("d", eSet(ru+"maxSurge", rules.Unknown))),
		edgePass(`maxSurge "25%"`, edgeDeployment("d", eSet(ru+"maxSurge", "25%"))),
		edgePass("type unset with a zero-unavailable rolling update", edgeDeployment("d", eDel("spec.strategy.type"))),
		edgeFail("Recreate", "d", "rolls out with strategy Recreate", edgeDeployment("d", eSet("spec.strategy", map[string]any{"type": "Recreate"}))),
		edgeFail("maxUnavailable 1", "d", "rolls out with maxUnavailable 1:", edgeDeployment("d", eSet(ru+"maxUnavailable", 1.0))),
		edgeFail(`maxUnavailable "1%"`, "d", `rolls out with maxUnavailable "1%"`, edgeDeployment("d", eSet(ru+"maxUnavailable", "1%"))),
		edgeFail(`maxUnavailable "25%"`, "d", `maxUnavailable "25%"`, edgeDeployment("d", eSet(ru+"maxUnavailable", "25%"))),
		edgeFail("maxUnavailable unset", "d", `maxUnavailable unset (Kubernetes defaults to "25%")`, edgeDeployment("d", eDel(ru+"maxUnavailable"))),
		edgeFail("no strategy at all", "d", `maxUnavailable unset (Kubernetes defaults to "25%")`, edgeDeployment("d", eDel("spec.strategy"))),
		edgeFail("maxSurge 0", "d", "sets maxUnavailable 0 and maxSurge 0", edgeDeployment("d", eSet(ru+"maxSurge", 0.0))),
		edgeFail(`maxSurge "0%"`, "d", "sets maxUnavailable 0 and maxSurge 0", edgeDeployment("d", eSet(ru+"maxSurge", "0%"))),
	})
}

func TestPolicyEdgesDeploymentProbes(t *testing.T) {
	second := func(edits ...edgeEdit) edgeEdit {
		return func(props map[string]any) {
			c := edgeContainer("sidecar")
			for _, e := range edits {
				e(c)
			}
			eSet("spec.template.spec.containers", []any{edgeContainer("auth"), c})(props)
		}
	}
	checkEdges(t, "deployment-probes", []edgeCase{
		edgePass("both probes", edgeDeployment("d")),
		edgePass("two containers with both probes", edgeDeployment("d", second())),
		edgeFail("no readiness probe", "d", `container "auth" has no readinessProbe:`, edgeDeployment("d", eDel(c0+".readinessProbe"))),
		edgeFail("no liveness probe", "d", `container "auth" has no livenessProbe:`, edgeDeployment("d", eDel(c0+".livenessProbe"))),
		edgeFail("neither probe", "d", `container "auth" has no readinessProbe and no livenessProbe`,
			edgeDeployment("d", eDel(c0+".readinessProbe"), eDel(c0+".livenessProbe"))),
		edgeFail("the second container lacks one", "d", `container "sidecar" has no livenessProbe`, edgeDeployment("d", second(eDel("livenessProbe")))),
		edgeFail("a container without a name", "d", `container "#0" has no readinessProbe`, edgeDeployment("d", eDel(c0+".name"), eDel(c0+".readinessProbe"))),
	})
}

// preStop hook forms: what pauses and what does not.
func TestPolicyEdgesDeploymentPreStopHook(t *testing.T) {
	hook := func(h any) rules.Resource { return edgeDeployment("d", eSet(c0+".lifecycle.preStop", h)) }
	execHook := func(cmd ...any) rules.Resource { return hook(map[string]any{"exec": map[string]any{"command": cmd}}) }
	sleep := func(s any) rules.Resource { return hook(map[string]any{"sleep": map[string]any{"seconds": s}}) }
	checkEdges(t, "deployment-prestop-hook", []edgeCase{
		edgePass("native sleep", sleep(60.0)),
		edgePass("native sleep of 1 s: the least that delays SIGTERM", sleep(1.0)),
		edgePass("native sleep as text", sleep("5")),
		edgePass("native sleep not known yet", sleep(rules.Unknown)),
		edgePass("hook not known yet", hook(rules.Unknown)),
		edgePass("exec sleep", execHook("sleep", "60")),
		edgePass("exec /bin/sleep", execHook("/bin/sleep", "5")),
		edgePass("exec sleep with a unit", execHook("sleep", "5s")),
		edgePass("exec sleep in a shell line", execHook("/bin/sh", "-c", "sleep 60 && /app/drain")),
		edgePass("exec sleep after a command", execHook("/bin/sh", "-c", "/app/drain; sleep 5")),
		edgePass("exec with a part not known yet", execHook("/bin/sh", "-c", rules.Unknown)),
		edgeFail("no preStop hook", "d", `container "auth" has no preStop hook`, edgeDeployment("d", eDel(c0+".lifecycle"))),
		edgeFail("lifecycle without preStop", "d", "has no preStop hook", edgeDeployment("d", eSet(c0+".lifecycle", map[string]any{"postStart": map[string]any{}}))),
		edgeFail("empty hook", "d", `container "auth" has an empty preStop hook`, hook(map[string]any{})),
		edgeFail("sleep without seconds", "d", "has a sleep hook without seconds", hook(map[string]any{"sleep": map[string]any{}})),
		edgeFail("sleep of a word", "d", "has a sleep hook without seconds", sleep("long")),
		edgeFail("sleep 0", "d", `container "auth" sleeps 0 s in preStop`, sleep(0.0)),
		edgeFail("negative sleep", "d", "sleeps -1 s in preStop", sleep(-1.0)),
		edgeFail("exec sleep 0", "d", "sleeps 0 s in preStop", execHook("sleep", "0")),
		edgeFail("exec without sleep", "d", `an exec hook that does not sleep ("/app/drain")`, execHook("/app/drain")),
		edgeFail("exec sleep without a number", "d", "an exec hook that does not sleep", execHook("sleep", "infinity")),
		edgeFail("exec sleeper is not sleep", "d", "an exec hook that does not sleep", execHook("/bin/sleeper", "5")),
		edgeFail("exec with no command", "d", `an exec hook that does not sleep ("")`, hook(map[string]any{"exec": map[string]any{}})),
		edgeFail("httpGet", "d", "a httpGet hook, which returns as soon as the call does", hook(map[string]any{"httpGet": map[string]any{"path": "/drain", "port": 8080.0}})),
		edgeFail("tcpSocket", "d", "a tcpSocket hook", hook(map[string]any{"tcpSocket": map[string]any{"port": 8080.0}})),
		edgeFail("the second container has no hook", "d", `container "sidecar" has no preStop hook`,
			edgeDeployment("d", eSet("spec.template.spec.containers", []any{edgeContainer("auth"), map[string]any{"name": "sidecar"}}))),
	})
}

// Grace period against the longest preStop sleep.
func TestPolicyEdgesDeploymentGracePeriod(t *testing.T) {
	grace := func(g any, sleep float64) rules.Resource {
		d := edgeDeployment("d", eSet(c0+".lifecycle.preStop.sleep.seconds", sleep))
		if g == nil {
			return edit(d, eDel("spec.template.spec.terminationGracePeriodSeconds"))
		}
		return edit(d, eSet("spec.template.spec.terminationGracePeriodSeconds", g))
	}
	two := func(g float64) rules.Resource {
		short := edgeContainer("short")
		short["lifecycle"] = map[string]any{"preStop": map[string]any{"sleep": map[string]any{"seconds": 20.0}}}
		long := edgeContainer("long")
		long["lifecycle"] = map[string]any{"preStop": map[string]any{"exec": map[string]any{"command": []any{"sleep", "70"}}}}
		return edgeDeployment("d", eSet("spec.template.spec.containers", []any{short, long}), eSet("spec.template.spec.terminationGracePeriodSeconds", g))
	}
	checkEdges(t, "deployment-grace-period", []edgeCase{
		edgePass("grace one second longer than the sleep", grace(61.0, 60)),
		edgeFail("grace equal to the sleep", "d", `terminationGracePeriodSeconds 60 s is not longer than container "auth"'s preStop sleep of 60 s`, grace(60.0, 60)),
		edgeFail("grace shorter than the sleep", "d", "terminationGracePeriodSeconds 45 s is not longer", grace(45.0, 60)),
		edgeFail("grace as text", "d", "terminationGracePeriodSeconds 60 s is not longer", grace("60", 60)),
		edgeFail("grace unset is 30 s", "d", "30 s (unset: the Kubernetes default) is not longer", grace(nil, 30)),
		edgePass("grace unset and a 29 s sleep", grace(nil, 29)),
		edgePass("grace not known yet", grace(rules.Unknown, 600)),
		edgePass("no sleeping hook: nothing to outlast", edgeDeployment("d", eDel(c0+".lifecycle"), eSet("spec.template.spec.terminationGracePeriodSeconds", 0.0))),
		edgePass("a zero sleep is nothing to outlast", grace(0.0, 0)),
		edgePass("the longest of two sleeps counts: grace above it", two(71.0)),
		edgeFail("the longest of two sleeps counts", "d", `container "long"'s preStop sleep of 70 s`, two(70.0)),
		edgeFail("the fix names the sleep", "d", "terminationGracePeriodSeconds above 60 plus", grace(60.0, 60)),
	})
}

func TestPolicyEdgesNoEmptyDirState(t *testing.T) {
	vols := func(v ...any) rules.Resource { return edgeDeployment("d", eSet("spec.template.spec.volumes", v)) }
	checkEdges(t, "no-emptydir-state", []edgeCase{
		edgePass("no volume", edgeDeployment("d")),
		edgePass("a ConfigMap volume", vols(map[string]any{"name": "config", "configMap": map[string]any{"name": "auth"}})),
		edgeFail("emptyDir", "d", `mounts emptyDir volume "sessions"`, vols(map[string]any{"name": "sessions", "emptyDir": map[string]any{}})),
		edgeFail("memory emptyDir", "d", `emptyDir volume "tmp"`, vols(map[string]any{"name": "config", "configMap": map[string]any{}}, map[string]any{"name": "tmp", "emptyDir": map[string]any{"medium": "Memory"}})),
		edgeFail("emptyDir without a name", "d", `emptyDir volume "#0"`, vols(map[string]any{"emptyDir": map[string]any{}})),
	})
}

// Selectors: matchLabels and every matchExpressions operator, as
// pdb-covers-deployment applies them.
func TestPolicyEdgesPDBCoversDeployment(t *testing.T) {
	sel := func(s any) rules.Resource { return edgePDB("pdb", eSet("spec.selector", s)) }
	expr := func(key, op string, values ...any) rules.Resource {
		e := map[string]any{"key": key, "operator": op}
		if values != nil {
			e["values"] = values
		}
		return sel(map[string]any{"matchExpressions": []any{e}})
	}
	const none = "no PodDisruptionBudget selects its pods"
	d := func(edits ...edgeEdit) rules.Resource { return edgeDeployment("d", edits...) }
	checkEdges(t, "pdb-covers-deployment", []edgeCase{
		edgePass("one PDB", d(), edgePDB("pdb")),
		edgeFail("no PDB", "d", none, d()),
		edgeFail("no PDB: the fix names the namespace", "d", `PodDisruptionBudget in namespace "auth"`, d()),
		{name: "two PDBs", resources: []rules.Resource{d(), edgePDB("pdb"), edgePDB("pdb2")}, on: "d", want: "2 PodDisruptionBudgets (pdb, pdb2) select its pods", count: 1},
		edgeFail("PDB in another namespace", "d", none, d(), edgePDB("pdb", eSet("metadata.namespace", "other"))),
		edgePass("both in the default namespace (unset)", d(eDel("metadata.namespace")), edgePDB("pdb", eDel("metadata.namespace"))),
		edgeFail("Deployment in default, PDB in auth", "d", `namespace "default"`, d(eDel("metadata.namespace")), edgePDB("pdb")),
		edgePass("a PDB whose namespace is not known yet counts", d(), edgePDB("pdb", eSet("metadata.namespace", rules.Unknown))),
		edgePass("Deployment namespace not known yet: not judged", d(eSet("metadata.namespace", rules.Unknown))),
		edgePass("pod labels not known yet: not judged", d(eSet("spec.template.metadata.labels", rules.Unknown))),
		edgePass("a selector not known yet counts", d(), sel(rules.Unknown)),
		edgePass("matchLabels not known yet counts", d(), sel(map[string]any{"matchLabels": rules.Unknown})),
		edgePass("a matchLabels value not known yet counts", d(), sel(map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": rules.Unknown}})),
		edgePass("matchExpressions not known yet counts", d(), sel(map[string]any{"matchExpressions": rules.Unknown})),
		edgeFail("a null selector selects nothing (policy/v1)", "d", none, d(), edgePDB("pdb", eDel("spec.selector"))),
		edgeFail("a selector that is not an object", "d", none, d(), sel("app=auth")),
		edgePass("an empty selector selects every pod", d(), sel(map[string]any{})),
		edgeFail("matchLabels with another value", "d", none, d(), sel(map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "other"}})),
		edgeFail("matchLabels with a label the pods lack", "d", none, d(), sel(map[string]any{"matchLabels": edgeLabels("tier", "web")})),
		edgePass("In with the pods' value", d(), expr("app.kubernetes.io/name", "In", "x", "auth")),
		edgeFail("In without the pods' value", "d", none, d(), expr("app.kubernetes.io/name", "In", "x")),
		edgeFail("In on a label the pods lack", "d", none, d(), expr("tier", "In", "")),
		edgePass("NotIn with other values", d(), expr("app.kubernetes.io/name", "NotIn", "x")),
		edgeFail("NotIn with the pods' value", "d", none, d(), expr("app.kubernetes.io/name", "NotIn", "auth")),
		edgePass("NotIn on a label the pods lack", d(), expr("tier", "NotIn", "web")),
		edgePass("Exists", d(), expr("app.kubernetes.io/name", "Exists")),
		edgeFail("Exists on a label the pods lack", "d", none, d(), expr("tier", "Exists")),
		edgePass("DoesNotExist on a label the pods lack", d(), expr("tier", "DoesNotExist")),
		edgeFail("DoesNotExist on a label the pods carry", "d", none, d(), expr("app.kubernetes.io/name", "DoesNotExist")),
		edgeFail("an unknown operator selects nothing", "d", none, d(), expr("app.kubernetes.io/name", "Equals", "auth")),
	})
}

// pdbOver is a PDB with one budget field over Deployments of n pods in all.
func pdbOver(field string, v any, replicas ...float64) []rules.Resource {
	pdb := edgePDB("pdb", eDel("spec.maxUnavailable"), eSet("spec."+field, v))
	rs := []rules.Resource{pdb}
	for i, n := range replicas {
		zone := "us-east-1" + string(rune('a'+i))
		rs = append(rs, edgeZoneDeployment("auth-"+zone, zone, n))
	}
	return rs
}

// TestPolicyEdgesPDBAllowsDisruption: the budget over the pods it selects
// allows between 1 and n-1 evictions. Percentages round up, for
// minAvailable and for maxUnavailable alike, as Kubernetes' disruption
// controller computes them (pkg/controller/disruption/disruption.go,
// getExpectedPodCount: intstr.GetScaledValueFromIntOrPercent(..., true) for
// both; docs: "Specifying a Disruption Budget", "Rounding logic when
// specifying percentages").
func TestPolicyEdgesPDBAllowsDisruption(t *testing.T) {
	const (
		none = "allows no eviction of the"
		all  = "pods of"
	)
	type row struct {
		field string
		v     any
		n     []float64
		want  string // "" passes
	}
	var cases []edgeCase
	for _, r := range []row{
		// maxUnavailable: allowed = the count, rounded up.
		{"maxUnavailable", 1.0, []float64{3}, ""},
		{"maxUnavailable", 2.0, []float64{3}, ""},
		{"maxUnavailable", 3.0, []float64{3}, "maxUnavailable 3 allows all 3 " + all},
		{"maxUnavailable", 4.0, []float64{3}, "allows all 3 " + all},
		{"maxUnavailable", 0.0, []float64{3}, "maxUnavailable 0 " + none + " 3 pods"},
		{"maxUnavailable", "0%", []float64{3}, `maxUnavailable "0%" ` + none},
		{"maxUnavailable", "1%", []float64{3}, ""},                                          // 0.03 rounds up to 1
		{"maxUnavailable", "33%", []float64{3}, ""},                                         // 0.99 rounds up to 1
		{"maxUnavailable", "34%", []float64{3}, ""},                                         // 1.02 rounds up to 2
		{"maxUnavailable", "66%", []float64{3}, ""},                                         // 1.98 rounds up to 2
		{"maxUnavailable", "67%", []float64{3}, `maxUnavailable "67%" allows all 3 ` + all}, // 2.01 rounds up to 3
		{"maxUnavailable", "100%", []float64{3}, `maxUnavailable "100%" allows all 3`},
		{"maxUnavailable", "50%", []float64{2}, ""},
		{"maxUnavailable", "50%", []float64{1}, "allows all 1 " + all},
		{"maxUnavailable", "9%", []float64{10}, ""}, // 0.9 rounds up to 1
		// minAvailable: allowed = n - the count, rounded up.
		{"minAvailable", 2.0, []float64{3}, ""},
		{"minAvailable", 1.0, []float64{3}, ""},
		{"minAvailable", 3.0, []float64{3}, "minAvailable 3 " + none + " 3 pods"},
		{"minAvailable", 4.0, []float64{3}, "minAvailable 4 " + none},
		{"minAvailable", 0.0, []float64{3}, "minAvailable 0 allows all 3 " + all},
		{"minAvailable", "50%", []float64{3}, ""},                           // 1.5 rounds up to 2
		{"minAvailable", "66%", []float64{3}, ""},                           // 1.98 rounds up to 2
		{"minAvailable", "67%", []float64{3}, `minAvailable "67%" ` + none}, // 2.01 rounds up to 3
		{"minAvailable", "40%", []float64{2}, ""},                           // 0.8 rounds up to 1
		{"minAvailable", "1%", []float64{3}, ""},                            // 0.03 rounds up to 1
		{"minAvailable", "0%", []float64{3}, `minAvailable "0%" allows all 3 ` + all},
		{"minAvailable", "100%", []float64{3}, `minAvailable "100%" ` + none},
		// The per-zone Deployments count together.
		{"maxUnavailable", 2.0, []float64{2, 1}, ""},
		{"maxUnavailable", 3.0, []float64{2, 1}, `allows all 3 pods of Deployment "auth-us-east-1a", Deployment "auth-us-east-1b"`},
		{"minAvailable", 2.0, []float64{1, 1, 1}, ""},
		{"minAvailable", "67%", []float64{1, 1, 1}, none + " 3 pods"},
	} {
		name := fmt.Sprintf("%s %v over %v pods", r.field, r.v, r.n)
		if r.want == "" {
			cases = append(cases, edgePass(name, pdbOver(r.field, r.v, r.n...)...))
		} else {
			cases = append(cases, edgeFail(name, "pdb", r.want, pdbOver(r.field, r.v, r.n...)...))
		}
	}
	orphan := func(edits ...edgeEdit) rules.Resource {
		return edit(edgePDB("pdb", eSet("spec.selector", map[string]any{"matchLabels": map[string]any{"app": "other"}})), edits...)
	}
	d := edgeDeployment("d")
	cases = append(cases,
		edgeFail("both fields", "pdb", "sets both minAvailable and maxUnavailable", d, edgePDB("pdb", eSet("spec.minAvailable", 1.0))),
		edgeFail("neither field", "pdb", "sets neither minAvailable nor maxUnavailable", d, edgePDB("pdb", eDel("spec.maxUnavailable"))),
		edgePass("maxUnavailable not known yet", d, edgePDB("pdb", eSet("spec.maxUnavailable", rules.Unknown))),
		edgePass("matchLabels not known yet: no pod is counted, the budget is judged alone",
			d, edgePDB("pdb", eSet("spec.maxUnavailable", 3.0), eSet("spec.selector", map[string]any{"matchLabels": rules.Unknown}))),
		edgePass("matchExpressions not known yet: no pod is counted, the budget is judged alone",
			d, edgePDB("pdb", eSet("spec.maxUnavailable", 3.0), eSet("spec.selector", map[string]any{"matchExpressions": rules.Unknown}))),
		// Values Kubernetes rejects are left to the API server.
		edgePass("maxUnavailable that is neither a number nor a percentage", d, edgePDB("pdb", eSet("spec.maxUnavailable", "one"))),
		edgePass("a percentage that is no number", d, edgePDB("pdb", eSet("spec.maxUnavailable", "x%"))),
		edgePass("minAvailable not known yet", d, edgePDB("pdb", eSet("spec.minAvailable", rules.Unknown))),
		edgePass("replicas not known yet", edgeDeployment("d", eSet("spec.replicas", rules.Unknown)), edgePDB("pdb", eSet("spec.maxUnavailable", 3.0))),
		edgeFail("replicas not known yet: maxUnavailable 0 needs no count", "pdb", "maxUnavailable 0 allows no eviction",
			edgeDeployment("d", eSet("spec.replicas", rules.Unknown)), edgePDB("pdb", eSet("spec.maxUnavailable", 0.0))),
		edgeFail(`replicas not known yet: minAvailable "100%" needs no count`, "pdb", `minAvailable "100%" allows no eviction`,
			edgeZoneDeployment("a", "us-east-1a", 1.0), edgeZoneDeployment("b", "us-east-1b", rules.Unknown),
			edgePDB("pdb", eDel("spec.maxUnavailable"), eSet("spec.minAvailable", "100%"))),
		edgeFail("a Deployment of another namespace is not counted", "pdb", "allows all 3 "+all,
			d, edgeDeployment("other", eSet("metadata.namespace", "other"), eSet("spec.replicas", 5.0)), edgePDB("pdb", eSet("spec.maxUnavailable", 3.0))),
		edgeFail("a Deployment the selector does not pick is not counted", "pdb", "allows all 3 "+all+` Deployment "d" to`,
			d, edgeDeployment("admin", eSet("spec.replicas", 5.0), eSet("spec.template.metadata.labels", map[string]any{"app": "admin"})), edgePDB("pdb", eSet("spec.maxUnavailable", 3.0))),
		// A PDB that selects no Deployment of the stack is judged alone.
		edgePass("orphan with maxUnavailable 1", d, orphan()),
		edgePass("orphan with minAvailable 3", d, orphan(eDel("spec.maxUnavailable"), eSet("spec.minAvailable", 3.0))),
		edgePass(`orphan with minAvailable "50%"`, d, orphan(eDel("spec.maxUnavailable"), eSet("spec.minAvailable", "50%"))),
		edgeFail("orphan with maxUnavailable 0", "pdb", "maxUnavailable 0 allows no eviction: Fargate", d, orphan(eSet("spec.maxUnavailable", 0.0))),
		edgeFail(`orphan with maxUnavailable "0%"`, "pdb", `maxUnavailable "0%" allows no eviction`, d, orphan(eSet("spec.maxUnavailable", "0%"))),
		edgeFail(`orphan with minAvailable "100%"`, "pdb", `minAvailable "100%" allows no eviction`, d, orphan(eDel("spec.maxUnavailable"), eSet("spec.minAvailable", "100%"))),
		edgeFail(`orphan with maxUnavailable "100%"`, "pdb", `maxUnavailable "100%" allows every pod to be evicted at once`, d, orphan(eSet("spec.maxUnavailable", "100%"))),
		edgeFail(`orphan with maxUnavailable " 100% "`, "pdb", "allows every pod to be evicted", d, orphan(eSet("spec.maxUnavailable", " 100% "))),
		edgeFail("no Deployment at all", "pdb", "maxUnavailable 0 allows no eviction", edgePDB("pdb", eSet("spec.maxUnavailable", 0.0))),
	)
	checkEdges(t, "pdb-allows-disruption", cases)
}

func TestPolicyEdgesPDBUnhealthyPodEviction(t *testing.T) {
	policy := func(v any) rules.Resource { return edgePDB("pdb", eSet("spec.unhealthyPodEvictionPolicy", v)) }
	checkEdges(t, "pdb-unhealthy-pod-eviction", []edgeCase{
		edgePass("AlwaysAllow", policy("AlwaysAllow")),
		edgePass("not known yet", policy(rules.Unknown)),
		edgeFail("IfHealthyBudget", "pdb", `unhealthyPodEvictionPolicy is "IfHealthyBudget"`, policy("IfHealthyBudget")),
		edgeFail("unset", "pdb", "unhealthyPodEvictionPolicy is unset", edgePDB("pdb", eDel("spec.unhealthyPodEvictionPolicy"))),
		edgeFail("the enum is case-sensitive", "pdb", `"alwaysallow"`, policy("alwaysallow")),
		edgeFail("a secret", "pdb", `"[secret]"`, policy(rules.Secret)),
		edgeFail("a value JSON cannot print", "pdb", "unhealthyPodEvictionPolicy is map[x:NaN]", policy(map[string]any{"x": math.NaN()})),
	})
}

// modify edits the resource named name of rs in place and returns rs.
func modify(rs []rules.Resource, name string, edits ...edgeEdit) []rules.Resource {
	for i := range rs {
		if rs[i].Name == name {
			rs[i] = edit(rs[i], edits...)
			return rs
		}
	}
	panic("edge: no resource " + name)
}

// without drops the resource named name.
func without(rs []rules.Resource, name string) []rules.Resource {
	var out []rules.Resource
	for _, r := range rs {
		if r.Name != name {
			out = append(out, r)
		}
	}
	return out
}

func withDeps(r rules.Resource, prop string, urns ...string) rules.Resource {
	if r.PropertyDependencies == nil {
		r.PropertyDependencies = map[string][]string{}
	}
	r.PropertyDependencies[prop] = append(r.PropertyDependencies[prop], urns...)
	return r
}

func edgeTargetGroup(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeTGType, name, map[string]any{
		"name": name, "arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" + name + "/0123456789abcdef",
		"targetType": "ip", "port": 8080.0, "deregistrationDelay": 30.0,
	}), edits...)
}

func edgeService(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeServiceType, name, map[string]any{
		"metadata": map[string]any{"name": "auth", "namespace": "auth"},
		"spec":     map[string]any{"selector": edgeLabels(), "ports": []any{map[string]any{"port": 80.0, "targetPort": 8080.0}}},
	}), edits...)
}

func edgeTGB(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeTGBType, name, map[string]any{
		"metadata": map[string]any{"name": name, "namespace": "auth"},
		"spec": map[string]any{"targetGroupARN": edgeRef("tg"), "targetType": "ip",
			"serviceRef": map[string]any{"name": "auth", "port": 80.0}},
	}), edits...)
}

func edgeNamespace(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeNamespaceType, name, map[string]any{
		"metadata": map[string]any{"name": name, "labels": map[string]any{rules.ReadinessGateLabel: "enabled"}},
	}), edits...)
}

func TestPolicyEdgesTargetGroupIPTargets(t *testing.T) {
	tg := func(edits ...edgeEdit) rules.Resource { return edgeTargetGroup("tg", edits...) }
	alias := edgeTargetGroup("tg", eSet("targetType", "instance"))
	alias.Type, alias.URN = "aws:alb/targetGroup:TargetGroup", edgeURN("aws:alb/targetGroup:TargetGroup", "tg")
	checkEdges(t, "target-group-ip-targets", []edgeCase{
		edgePass("ip", tg()),
		edgePass("not known yet", tg(eSet("targetType", rules.Unknown))),
		edgeFail("instance", "tg", `targetType is "instance": Fargate pods have no instance`, tg(eSet("targetType", "instance"))),
		edgeFail("lambda", "tg", `targetType is "lambda"`, tg(eSet("targetType", "lambda"))),
		edgeFail("unset is AWS's instance", "tg", `targetType is unset (AWS defaults to "instance")`, tg(eDel("targetType"))),
		edgeFail("the alb alias of the type", "tg", `targetType is "instance"`, alias),
		edgePass("binding with ip", edgeTGB("tgb")),
		edgePass("binding without a target type (the group's)", edgeTGB("tgb", eDel("spec.targetType"))),
		edgePass("binding target type not known yet", edgeTGB("tgb", eSet("spec.targetType", rules.Unknown))),
		edgeFail("binding with instance", "tgb", `targetType is "instance": Fargate pods can only be registered by IP`, edgeTGB("tgb", eSet("spec.targetType", "instance"))),
	})
}

// TargetGroupBinding -> target group, and TargetGroupBinding -> Service ->
// Deployments: the wiring the deregistration delay is judged over.
func TestPolicyEdgesDeregistrationWithinPreStop(t *testing.T) {
	wired := func(delay any) []rules.Resource {
		tg := edgeTargetGroup("tg", eSet("deregistrationDelay", delay))
		if delay == nil {
			tg = edit(tg, eDel("deregistrationDelay"))
		}
		return []rules.Resource{tg, edgeTGB("tgb"), edgeService("svc"), edgeDeployment("d")}
	}
	const exceeds = `exceeds the 60 s preStop sleep of Deployment "d" behind TargetGroupBinding "tgb"`
	twoContainers := func(props map[string]any) {
		short := edgeContainer("short")
		short["lifecycle"] = map[string]any{"preStop": map[string]any{"exec": map[string]any{"command": []any{"sleep", "20"}}}}
		eSet("spec.template.spec.containers", []any{edgeContainer("auth"), short})(props)
	}
	alias := edgeTargetGroup("tg", eSet("deregistrationDelay", 61.0))
	alias.Type, alias.URN = "aws:alb/targetGroup:TargetGroup", edgeURN("aws:alb/targetGroup:TargetGroup", "tg")
	unnamed := edgeService("svc", eDel("metadata.name"))
	unnamed.ID = "auth/auth"
	checkEdges(t, "target-group-deregistration-within-prestop", []edgeCase{
		edgePass("delay below the sleep", wired(30.0)...),
		edgePass("delay equal to the sleep", wired(60.0)...),
		edgeFail("delay one second above the sleep", "tg", "deregistration delay 61 s "+exceeds, wired(61.0)...),
		edgeFail("delay as text", "tg", "deregistration delay 90 s", wired("90")...),
		edgeFail("delay unset is AWS's 300 s", "tg", "deregistration delay 300 s (unset: the AWS default)", wired(nil)...),
		edgeFail("the fix names the sleep", "tg", "set deregistrationDelay to at most 60", wired(61.0)...),
		edgePass("delay not known yet", wired(rules.Unknown)...),
		edgeFail("the alb alias of the type", "tg", exceeds, alias, edgeTGB("tgb"), edgeService("svc"), edgeDeployment("d")),
		edgeFail("the shortest sleep of the pods counts", "tg", "exceeds the 20 s preStop sleep", modify(wired(30.0), "d", twoContainers)...),
		edgeFail("a container without a hook counts as 0", "tg", "deregistration delay 1 s exceeds the 0 s", modify(wired(1.0), "d", eDel(c0+".lifecycle"))...),
		edgeFail("a hook that does not pause counts as 0", "tg", "exceeds the 0 s", modify(wired(1.0), "d", eSet(c0+".lifecycle.preStop", map[string]any{"httpGet": map[string]any{}}))...),
		edgePass("no delay and no hook", modify(wired(0.0), "d", eDel(c0+".lifecycle"))...),
		edgePass("hooks not known yet", modify(wired(300.0), "d", eSet(c0+".lifecycle.preStop", rules.Unknown))...),
		edgePass("the Service is in another namespace", modify(wired(300.0), "svc", eSet("metadata.namespace", "other"))...),
		edgePass("the binding names another Service", modify(wired(300.0), "tgb", eSet("spec.serviceRef.name", "other"))...),
		edgePass("the Service name is not known yet", modify(wired(300.0), "tgb", eSet("spec.serviceRef.name", rules.Unknown))...),
		edgePass("the binding's namespace is not known yet", modify(wired(300.0), "tgb", eSet("metadata.namespace", rules.Unknown))...),
		edgePass("the Service selects other pods", modify(wired(300.0), "svc", eSet("spec.selector", map[string]any{"app": "other"}))...),
		edgePass("the Service selects another value of the pods' label", modify(wired(300.0), "svc", eSet("spec.selector", map[string]any{"app.kubernetes.io/name": "other"}))...),
		edgePass("every namespace not known yet: not judged",
			modify(modify(modify(wired(300.0), "tgb", eSet("metadata.namespace", rules.Unknown)), "svc", eSet("metadata.namespace", rules.Unknown)),
				"d", eSet("metadata.namespace", rules.Unknown))...),
		edgePass("a Service without a selector selects nothing", modify(wired(300.0), "svc", eSet("spec.selector", map[string]any{}))...),
		edgePass("the Service selector is not known yet", modify(wired(300.0), "svc", eSet("spec.selector", rules.Unknown))...),
		edgePass("a Service selector value not known yet", modify(wired(300.0), "svc", eSet("spec.selector", map[string]any{"app.kubernetes.io/name": rules.Unknown}))...),
		edgePass("the Deployment is in another namespace", modify(wired(300.0), "d", eSet("metadata.namespace", "other"))...),
		edgePass("the binding binds a group of another stack", modify(wired(300.0), "tgb", eSet("spec.targetGroupARN", "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1"))...),
		edgeFail("bound by target group name", "tg", exceeds, modify(wired(61.0), "tgb", eDel("spec.targetGroupARN"), eSet("spec.targetGroupName", "tg"))...),
		edgeFail("bound by ARN", "tg", exceeds, modify(wired(61.0), "tgb", eSet("spec.targetGroupARN", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef"))...),
		edgeFail("the Service named by its ID", "tg", exceeds, edgeTargetGroup("tg", eSet("deregistrationDelay", 61.0)), edgeTGB("tgb"), unnamed, edgeDeployment("d")),
		{name: "two bindings of one group and Deployment: one finding", resources: append(wired(61.0), edgeTGB("tgb2")), on: "tg", want: exceeds, count: 1},
	})
}

func TestPolicyEdgesNamespaceReadinessGate(t *testing.T) {
	const unmanaged = `its namespace "auth" is not managed by the stack`
	byID := edgeNamespace("ns", eDel("metadata.name"))
	byID.ID = "auth"
	label := func(v any) rules.Resource {
		return edgeNamespace("auth", eSet("metadata.labels", map[string]any{rules.ReadinessGateLabel: v}))
	}
	checkEdges(t, "namespace-readiness-gate", []edgeCase{
		edgePass("labelled enabled", edgeTGB("tgb"), edgeNamespace("auth")),
		edgePass("a namespace named by its ID", edgeTGB("tgb"), byID),
		edgePass("label not known yet", edgeTGB("tgb"), label(rules.Unknown)),
		edgePass("binding namespace not known yet", edgeTGB("tgb", eSet("metadata.namespace", rules.Unknown))),
		edgePass("no binding, no namespace needed", edgeNamespace("auth", eSet("metadata.labels", map[string]any{}))),
		edgeFail("namespace not in the stack", "tgb", unmanaged, edgeTGB("tgb")),
		edgeFail("only another namespace in the stack", "tgb", unmanaged, edgeTGB("tgb"), edgeNamespace("other")),
		edgeFail("binding without a namespace is in default", "tgb", `its namespace "default" is not managed`, edgeTGB("tgb", eDel("metadata.namespace")), edgeNamespace("auth")),
		{name: "two bindings in an unmanaged namespace: one finding", resources: []rules.Resource{edgeTGB("tgb"), edgeTGB("tgb2")}, on: "tgb", want: unmanaged, count: 1},
		edgeFail("label disabled", "auth", `holds TargetGroupBinding "tgb" but its label elbv2.k8s.aws/pod-readiness-gate-inject is "disabled"`, edgeTGB("tgb"), label("disabled")),
		edgeFail("label is case-sensitive", "auth", `is "Enabled"`, edgeTGB("tgb"), label("Enabled")),
		edgeFail("label unset", "auth", "pod-readiness-gate-inject is unset", edgeTGB("tgb"), edgeNamespace("auth", eDel("metadata.labels"))),
	})
}

func TestPolicyEdgesTGBTargetGroupInStack(t *testing.T) {
	const fix = "bind the stack's own target group"
	foreign := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/0123456789abcdef"
	tgURN := edgeURN(edgeTGType, "tg")
	byOutput := edgeTargetGroup("tg", eSet("id", "tg-output-id"))
	byOutput.ID = ""
	checkEdges(t, "tgb-target-group-in-stack", []edgeCase{
		edgePass("bound by ID", edgeTGB("tgb"), edgeTargetGroup("tg")),
		edgePass("bound by the id output", edgeTGB("tgb", eSet("spec.targetGroupARN", "tg-output-id")), byOutput),
		edgeFail("an empty reference names no group of the stack", "tgb", "binds target group , which", edgeTGB("tgb", eSet("spec.targetGroupARN", "")), edgeTargetGroup("tg", eSet("arn", ""))),
		edgePass("bound by ARN", edgeTGB("tgb", eSet("spec.targetGroupARN", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef")), edgeTargetGroup("tg")),
		edgePass("bound by name", edgeTGB("tgb", eDel("spec.targetGroupARN"), eSet("spec.targetGroupName", "tg")), edgeTargetGroup("tg")),
		edgePass("ARN not known yet, from a group of the stack", withDeps(edgeTGB("tgb", eSet("spec.targetGroupARN", rules.Unknown)), "spec", tgURN), edgeTargetGroup("tg")),
		edgePass("name not known yet, from a group of the stack", withDeps(edgeTGB("tgb", eDel("spec.targetGroupARN"), eSet("spec.targetGroupName", rules.Unknown)), "spec", tgURN), edgeTargetGroup("tg")),
		edgePass("spec not known yet, from a group of the stack", withDeps(edgeTGB("tgb", eDel("spec"), eSet("spec", rules.Unknown)), "spec", tgURN), edgeTargetGroup("tg")),
		edgeFail("spec not known yet, from a resource that is no target group", "tgb", "its spec is not known and depends on no target group",
			withDeps(edgeTGB("tgb", eSet("spec", rules.Unknown)), "spec", edgeURN(edgeServiceType, "svc")), edgeService("svc"), edgeTargetGroup("tg")),
		edgeFail("spec not known yet, from no group", "tgb", "its spec is not known and depends on no target group of this stack", edgeTGB("tgb", eSet("spec", rules.Unknown)), edgeTargetGroup("tg")),
		edgeFail("ARN not known yet, from no group", "tgb", "its target group is not known yet and depends on no target group", edgeTGB("tgb", eSet("spec.targetGroupARN", rules.Unknown)), edgeTargetGroup("tg")),
		edgeFail("a group of another stack", "tgb", "binds target group "+foreign+", which this stack does not manage", edgeTGB("tgb", eSet("spec.targetGroupARN", foreign)), edgeTargetGroup("tg")),
		edgeFail("no group named", "tgb", "names no target group (spec.targetGroupARN)", edgeTGB("tgb", eDel("spec.targetGroupARN")), edgeTargetGroup("tg")),
		edgeFail("a name no group of the stack has", "tgb", "binds target group other, which", edgeTGB("tgb", eDel("spec.targetGroupARN"), eSet("spec.targetGroupName", "other")), edgeTargetGroup("tg")),
		edgeFail("the fix", "tgb", fix, edgeTGB("tgb", eDel("spec.targetGroupARN"))),
	})
}

func edgeSubnet(name, az string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeSubnetType, name, map[string]any{
		"vpcId": edgeRef("vpc"), "availabilityZone": az, "mapPublicIpOnLaunch": false,
		"tags": map[string]any{"kubernetes.io/role/internal-elb": "1"},
	}), edits...)
}

func edgeZoneSelector(zone string) []any {
	return []any{map[string]any{"namespace": "auth", "labels": map[string]any{rules.ZoneLabel: zone}}}
}

func edgeProfile(name string, selectors any, subnets ...string) rules.Resource {
	ids := []any{}
	for _, s := range subnets {
		ids = append(ids, edgeRef(s))
	}
	return edgeResource(edgeProfileType, name, map[string]any{"clusterName": "demo", "selectors": selectors, "subnetIds": ids})
}

// edgeZones is a compliant spread: one Deployment per zone, each on its
// zone's one-subnet profile.
func edgeZones() []rules.Resource {
	return []rules.Resource{
		edgeSubnet("private-a", "us-east-1a"), edgeSubnet("private-b", "us-east-1b"),
		edgeProfile("fp-a", edgeZoneSelector("us-east-1a"), "private-a"),
		edgeProfile("fp-b", edgeZoneSelector("us-east-1b"), "private-b"),
		edgeZoneDeployment("auth-a", "us-east-1a", 2.0), edgeZoneDeployment("auth-b", "us-east-1b", 1.0),
	}
}

func TestPolicyEdgesDeploymentZoneSpread(t *testing.T) {
	sel := func(ns string, labels map[string]any) edgeEdit {
		return eSet("selectors", []any{map[string]any{"namespace": ns, "labels": labels}})
	}
	coredns := edgeProfile("fp-coredns", []any{map[string]any{"namespace": "kube-system", "labels": map[string]any{"k8s-app": "kube-dns"}}},
		"private-a", "private-b", "private-c")
	const noProfile = `no Fargate profile selects its pods (namespace "auth", auth-platform/zone "us-east-1b")`
	checkEdges(t, "deployment-zone-spread", []edgeCase{
		edgePass("one Deployment per zone on one-subnet profiles", edgeZones()...),
		edgePass("no Fargate profile in the stack", edgeZoneDeployment("auth-a", "us-east-1a", 2.0)),
		edgeFail("no profile selects a zone's pods", "auth-b", noProfile, modify(edgeZones(), "fp-b", sel("auth", map[string]any{rules.ZoneLabel: "us-east-1z"}))...),
		edgeFail("a profile of another namespace", "auth-b", noProfile, modify(edgeZones(), "fp-b", sel("auth-*", map[string]any{rules.ZoneLabel: "us-east-1b"}))...),
		edgePass("a namespace wildcard", modify(edgeZones(), "fp-b", sel("au*", map[string]any{rules.ZoneLabel: "us-east-1b"}))...),
		edgePass("a label wildcard of one character", modify(edgeZones(), "fp-b", sel("auth", map[string]any{rules.ZoneLabel: "us-east-?b"}))...),
		edgeFail("a label the pods lack", "auth-b", noProfile, modify(edgeZones(), "fp-b", sel("auth", map[string]any{rules.ZoneLabel: "us-east-1b", "tier": "web"}))...),
		edgeFail("a label wildcard that picks every zone", "auth-a", "2 Fargate profiles (fp-a, fp-b) select its pods",
			modify(edgeZones(), "fp-b", sel("auth", map[string]any{rules.ZoneLabel: "us-east-1*"}))...),
		edgeFail("a profile for the whole namespace", "auth-b", "2 Fargate profiles (fp-all, fp-b) select its pods",
			append(edgeZones(), edgeProfile("fp-all", []any{map[string]any{"namespace": "auth"}}, "private-a"))...),
		edgePass("selectors not known yet", modify(edgeZones(), "fp-b", eSet("selectors", rules.Unknown))...),
		edgePass("a selector namespace not known yet", modify(edgeZones(), "fp-b", sel(rules.Unknown, map[string]any{rules.ZoneLabel: "us-east-1b"}))...),
		edgePass("a selector label not known yet", modify(edgeZones(), "fp-b", sel("auth", map[string]any{rules.ZoneLabel: rules.Unknown}))...),
		edgeFail("a profile with two subnets in two zones", "fp-a", "spans 2 subnets in zones us-east-1a, us-east-1b",
			modify(edgeZones(), "fp-a", eSet("subnetIds", []any{edgeRef("private-a"), edgeRef("private-b")}))...),
		edgeFail("a profile with two subnets in one zone", "fp-a", "spans 2 subnets: Fargate may put every pod",
			modify(append(edgeZones(), edgeSubnet("private-a2", "us-east-1a")), "fp-a", eSet("subnetIds", []any{edgeRef("private-a"), edgeRef("private-a2")}))...),
		edgeFail("a profile with no subnet", "fp-a", "spans 0 subnets", modify(edgeZones(), "fp-a", eSet("subnetIds", []any{}))...),
		edgePass("subnets as one string", modify(edgeZones(), "fp-a", eSet("subnetIds", edgeRef("private-a")))...),
		edgePass("subnets not known yet", modify(edgeZones(), "fp-a", eSet("subnetIds", rules.Unknown))...),
		edgePass("a subnet's zone not known yet", modify(edgeZones(), "private-b", eSet("availabilityZone", rules.Unknown))...),
		edgePass("a subnet not known yet nor explained", modify(edgeZones(), "fp-b", eSet("subnetIds", []any{rules.Unknown}))...),
		edgeFail("a subnet not known yet, explained by its dependency", "auth-b", "runs 0 replicas: zone us-east-1b has no auth pod",
			func() []rules.Resource {
				rs := modify(edgeZones(), "fp-b", eSet("subnetIds", []any{rules.Unknown}))
				rs = modify(rs, "auth-b", eSet("spec.replicas", 0.0))
				for i := range rs {
					if rs[i].Name == "fp-b" {
						rs[i] = withDeps(rs[i], "subnetIds", edgeURN(edgeSubnetType, "private-b"))
					}
				}
				return rs
			}()...),
		edgeFail("a zone Deployment with 0 replicas", "auth-b", "runs 0 replicas: zone us-east-1b has no auth pod", modify(edgeZones(), "auth-b", eSet("spec.replicas", 0.0))...),
		edgePass("a zone Deployment with 1 replica: the threshold", modify(edgeZones(), "auth-a", eSet("spec.replicas", 1.0))...),
		edgePass("replicas not known yet count as a pod", modify(edgeZones(), "auth-b", eSet("spec.replicas", rules.Unknown))...),
		edgeFail("a zone only the CoreDNS profile uses", "private-c",
			"zone us-east-1c has no auth pod: no auth Deployment runs on a Fargate profile pinned to it, though the cluster's profiles use it",
			append(edgeZones(), edgeSubnet("private-c", "us-east-1c"), coredns)...),
		edgeFail("zones count per cluster", "private-a", "zone us-east-1a has no auth pod",
			append(edgeZones(), edit(edgeProfile("fp-other", []any{map[string]any{"namespace": "kube-system"}}, "private-a"), eSet("clusterName", "other")))...),
		edgePass("a profile of another cluster whose selectors are not known yet",
			append(edgeZones(), edit(edgeProfile("fp-other", rules.Unknown, "private-a"), eSet("clusterName", "other")))...),
		edgePass("a Deployment whose namespace is not known yet is not judged",
			edgeSubnet("private-a", "us-east-1a"), edgeProfile("fp-a", edgeZoneSelector("us-east-1a"), "private-a"),
			edgeZoneDeployment("auth-a", "us-east-1a", 2.0), edgeZoneDeployment("auth-x", "us-east-1x", 1.0, eSet("metadata.namespace", rules.Unknown))),
		edgePass("a Deployment whose labels are not known yet is not judged",
			edgeSubnet("private-a", "us-east-1a"), edgeProfile("fp-a", edgeZoneSelector("us-east-1a"), "private-a"),
			edgeZoneDeployment("auth-a", "us-east-1a", 2.0), edgeZoneDeployment("auth-x", "us-east-1x", 1.0, eSet("spec.template.metadata.labels", rules.Unknown))),
	})
}

func TestPolicyEdgesFargateProfilesSerialized(t *testing.T) {
	p := func(name string, deps ...string) rules.Resource {
		r := edgeProfile(name, edgeZoneSelector("us-east-1a"), "private-a")
		for _, d := range deps {
			r.DependsOn = append(r.DependsOn, edgeURN(edgeProfileType, d))
		}
		return r
	}
	const cluster = "urn:pulumi:edge::auth-platform::eks:index:Cluster::demo"
	unknownCluster := func(name string) rules.Resource {
		return withDeps(edit(p(name), eSet("clusterName", rules.Unknown)), "clusterName", cluster)
	}
	viaProperty := withDeps(p("b"), "podExecutionRoleArn", edgeURN(edgeProfileType, "a"))
	role := edgeResource("aws:iam/role:Role", "role", map[string]any{})
	role.DependsOn = []string{edgeURN(edgeProfileType, "a")}
	viaRole := p("b")
	viaRole.DependsOn = []string{role.URN}
	checkEdges(t, "fargate-profiles-serialized", []edgeCase{
		edgePass("one profile", p("a")),
		edgePass("a chain", p("a"), p("b", "a")),
		edgePass("a chain of three", p("a"), p("b", "a"), p("c", "b")),
		edgePass("a dependency through an input", p("a"), viaProperty),
		edgePass("a dependency through another resource", p("a"), role, viaRole),
		edgePass("profiles of two clusters", p("a"), edit(p("b"), eSet("clusterName", "other"))),
		edgeFail("no chain", "b", `neither it nor FargateProfile "a" waits for the other, both on cluster demo`, p("a"), p("b")),
		edgeFail("a fan-out", "c", `neither it nor FargateProfile "b" waits`, p("a"), p("b", "a"), p("c", "a")),
		edgeFail("a dependency on a resource outside the stack", "b", "neither it nor", p("a"), p("b", "elsewhere")),
		edgeFail("clusters not known yet, from the same cluster", "b", "both on cluster (not known yet)", unknownCluster("a"), unknownCluster("b")),
		edgePass("clusters not known yet, from two clusters", unknownCluster("a"), withDeps(edit(p("b"), eSet("clusterName", rules.Unknown)), "clusterName", cluster+"-2")),
	})
}

// Data stores.

const (
	edgeCacheType    = "aws:elasticache/replicationGroup:ReplicationGroup"
	edgeGlobalType   = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
	edgeAuroraType   = "aws:rds/cluster:Cluster"
	edgeInstanceType = "aws:rds/clusterInstance:ClusterInstance"
)

func edgeCache(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeCacheType, name, map[string]any{
		"replicationGroupId": name, "clusterMode": "enabled", "automaticFailoverEnabled": true, "multiAzEnabled": true,
		"replicasPerNodeGroup": 1.0, "transitEncryptionEnabled": true, "atRestEncryptionEnabled": true,
		"securityGroupIds": []any{edgeRef("cache-sg")},
	}), edits...)
}

// edgeSecondary joins the Global Datastore global: it sets what is its own
// and inherits cluster mode and encryption.
func edgeSecondary(global any) rules.Resource {
	return edgeCache("secondary", eSet("globalReplicationGroupId", global),
		eDel("clusterMode"), eDel("transitEncryptionEnabled"), eDel("atRestEncryptionEnabled"))
}

func edgeGlobal(primary string) rules.Resource {
	return edgeResource(edgeGlobalType, "global", map[string]any{"globalReplicationGroupIdSuffix": "sessions", "primaryReplicationGroupId": edgeRef(primary)})
}

// inheritedCases are the Global Datastore shapes of a setting a secondary
// inherits from its primary.
func inheritedCases(prop string) []edgeCase {
	return []edgeCase{
		edgePass("a secondary whose primary is in the stack", edgeCache("primary"), edgeGlobal("primary"), edgeSecondary(edgeRef("global"))),
		edgePass("a secondary whose Global Datastore is not known yet but comes from the stack's",
			edgeCache("primary"), edgeGlobal("primary"), withDeps(edgeSecondary(rules.Unknown), "globalReplicationGroupId", edgeURN(edgeGlobalType, "global"))),
		edgePass("a secondary naming its Global Datastore and primary by their physical IDs",
			edgeCache("primary"),
			edgeResource(edgeGlobalType, "global", map[string]any{"globalReplicationGroupId": "ldgnf-sessions", "primaryReplicationGroupId": "primary"}),
			edgeSecondary("ldgnf-sessions")),
		edgeFail("a secondary of another stack's Global Datastore", "secondary",
			"joins Global Datastore ldgnf-elsewhere, whose primary is not in this stack, so its inherited "+prop+" cannot be proven", edgeSecondary("ldgnf-elsewhere")),
		edgeFail("a secondary whose Global Datastore is not known yet", "secondary", "joins Global Datastore (not known yet), whose primary", edgeSecondary(rules.Unknown)),
		edgeFail("a Global Datastore whose primary is the secondary itself", "secondary", "whose primary is not in this stack",
			edgeSecondary(edgeRef("global")), edgeGlobal("secondary")),
		edgeFail("a Global Datastore whose primary is not in the stack", "secondary", "whose primary is not in this stack",
			edgeSecondary(edgeRef("global")), edgeGlobal("elsewhere")),
	}
}

func TestPolicyEdgesElastiCacheClusterMode(t *testing.T) {
	c := func(edits ...edgeEdit) rules.Resource { return edgeCache("sessions", edits...) }
	checkEdges(t, "elasticache-cluster-mode", append(inheritedCases("clusterMode"),
		edgePass("enabled with failover", c()),
		edgePass("not known yet", c(eSet("clusterMode", rules.Unknown), eSet("automaticFailoverEnabled", rules.Unknown))),
		edgePass("failover as text", c(eSet("automaticFailoverEnabled", "true"))),
		edgeFail("disabled", "sessions", `clusterMode is "disabled": one primary holds every session`, c(eSet("clusterMode", "disabled"))),
		edgeFail("compatible", "sessions", `clusterMode is "compatible"`, c(eSet("clusterMode", "compatible"))),
		edgeFail("unset", "sessions", `clusterMode is unset ("disabled")`, c(eDel("clusterMode"))),
		edgeFail("no automatic failover", "sessions", "automaticFailoverEnabled is false: a failed primary stays down", c(eSet("automaticFailoverEnabled", false))),
		edgeFail("failover unset", "sessions", "automaticFailoverEnabled is unset (false)", c(eDel("automaticFailoverEnabled"))),
		edgeFail("failover as a word", "sessions", `automaticFailoverEnabled is "yes"`, c(eSet("automaticFailoverEnabled", "yes"))),
		edgeFail("a secondary that sets cluster mode is judged itself", "secondary", `clusterMode is "disabled"`,
			edgeCache("primary"), edgeGlobal("primary"), edit(edgeSecondary(edgeRef("global")), eSet("clusterMode", "disabled"))),
		edgeFail("a secondary's own failover", "secondary", "automaticFailoverEnabled is false",
			edgeCache("primary"), edgeGlobal("primary"), edit(edgeSecondary(edgeRef("global")), eSet("automaticFailoverEnabled", false))),
	))
}

func TestPolicyEdgesElastiCacheMultiAZ(t *testing.T) {
	c := func(edits ...edgeEdit) rules.Resource { return edgeCache("sessions", edits...) }
	checkEdges(t, "elasticache-multi-az", []edgeCase{
		edgePass("Multi-AZ", c()),
		edgePass("as text", c(eSet("multiAzEnabled", "TRUE"))),
		edgePass("not known yet", c(eSet("multiAzEnabled", rules.Unknown))),
		edgeFail("off", "sessions", "multiAzEnabled is false: a shard's replicas", c(eSet("multiAzEnabled", false))),
		edgeFail("off as text", "sessions", "multiAzEnabled is false", c(eSet("multiAzEnabled", "false"))),
		edgeFail("unset", "sessions", "multiAzEnabled is unset (false)", c(eDel("multiAzEnabled"))),
		edgeFail("a secondary's own", "secondary", "multiAzEnabled is false", edgeCache("primary"), edgeGlobal("primary"), edit(edgeSecondary(edgeRef("global")), eSet("multiAzEnabled", false))),
	})
}

func TestPolicyEdgesElastiCacheReplicas(t *testing.T) {
	c := func(edits ...edgeEdit) rules.Resource { return edgeCache("sessions", edits...) }
	outside := func(n any) rules.Resource { return c(eDel("replicasPerNodeGroup"), eSet("numCacheClusters", n)) }
	checkEdges(t, "elasticache-replicas", []edgeCase{
		edgePass("one replica per shard: the threshold", c()),
		edgePass("two replicas", c(eSet("replicasPerNodeGroup", 2.0))),
		edgePass("as text", c(eSet("replicasPerNodeGroup", "1"))),
		edgePass("not known yet", c(eSet("replicasPerNodeGroup", rules.Unknown))),
		edgeFail("no replica", "sessions", "replicasPerNodeGroup is 0: a shard without a replica", c(eSet("replicasPerNodeGroup", 0.0))),
		edgeFail("a word", "sessions", `replicasPerNodeGroup is "one"`, c(eSet("replicasPerNodeGroup", "one"))),
		edgeFail("replicasPerNodeGroup wins over numCacheClusters", "sessions", "replicasPerNodeGroup is 0", c(eSet("replicasPerNodeGroup", 0.0), eSet("numCacheClusters", 3.0))),
		edgePass("two cache clusters outside cluster mode: the threshold", outside(2.0)),
		edgePass("cache clusters not known yet", outside(rules.Unknown)),
		edgeFail("one cache cluster", "sessions", "numCacheClusters is 1: no replica to fail over to", outside(1.0)),
		edgeFail("cache clusters as a word", "sessions", `numCacheClusters is "two"`, outside("two")),
		edgeFail("neither", "sessions", "sets no replicas (replicasPerNodeGroup unset, 0)", c(eDel("replicasPerNodeGroup"))),
	})
}

func TestPolicyEdgesElastiCacheTLS(t *testing.T) {
	c := func(edits ...edgeEdit) rules.Resource { return edgeCache("sessions", edits...) }
	checkEdges(t, "elasticache-tls", append(inheritedCases("transitEncryptionEnabled"),
		edgePass("TLS", c()),
		edgePass("TLS required", c(eSet("transitEncryptionMode", "required"))),
		edgePass("mode not known yet", c(eSet("transitEncryptionMode", rules.Unknown))),
		edgePass("not known yet", c(eSet("transitEncryptionEnabled", rules.Unknown))),
		edgeFail("off", "sessions", "transitEncryptionEnabled is false: session tokens", c(eSet("transitEncryptionEnabled", false))),
		edgeFail("unset", "sessions", "transitEncryptionEnabled is unset (false)", c(eDel("transitEncryptionEnabled"))),
		edgeFail("preferred", "sessions", `transitEncryptionMode is "preferred": clients may still connect without TLS`, c(eSet("transitEncryptionMode", "preferred"))),
		edgeFail("a secondary that sets TLS off is judged itself", "secondary", "transitEncryptionEnabled is false",
			edgeCache("primary"), edgeGlobal("primary"), edit(edgeSecondary(edgeRef("global")), eSet("transitEncryptionEnabled", false))),
	))
}

func TestPolicyEdgesElastiCacheAtRest(t *testing.T) {
	c := func(edits ...edgeEdit) rules.Resource { return edgeCache("sessions", edits...) }
	checkEdges(t, "elasticache-at-rest-encryption", append(inheritedCases("atRestEncryptionEnabled"),
		edgePass("encrypted", c()),
		edgePass("not known yet", c(eSet("atRestEncryptionEnabled", rules.Unknown))),
		edgeFail("off", "sessions", "atRestEncryptionEnabled is false: sessions and their snapshots", c(eSet("atRestEncryptionEnabled", false))),
		edgeFail("unset", "sessions", "atRestEncryptionEnabled is unset (false)", c(eDel("atRestEncryptionEnabled"))),
		edgeFail("a secondary that sets it off is judged itself", "secondary", "atRestEncryptionEnabled is false",
			edgeCache("primary"), edgeGlobal("primary"), edit(edgeSecondary(edgeRef("global")), eSet("atRestEncryptionEnabled", false))),
	))
}

func edgeAurora(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeAuroraType, name, map[string]any{
		"clusterIdentifier": name, "engineMode": "provisioned", "storageEncrypted": true, "backupRetentionPeriod": 7.0,
		"deletionProtection": true, "vpcSecurityGroupIds": []any{edgeRef("db-sg")},
	}), edits...)
}

func edgeInstance(name, cluster string, az any) rules.Resource {
	props := map[string]any{"clusterIdentifier": edgeRef(cluster), "publiclyAccessible": false}
	if az != nil {
		props["availabilityZone"] = az
	}
	return edgeResource(edgeInstanceType, name, props)
}

func TestPolicyEdgesAuroraStorageEncrypted(t *testing.T) {
	a := func(edits ...edgeEdit) rules.Resource { return edgeAurora("aurora", edits...) }
	checkEdges(t, "aurora-storage-encrypted", []edgeCase{
		edgePass("encrypted", a()),
		edgePass("as text", a(eSet("storageEncrypted", "true"))),
		edgePass("not known yet", a(eSet("storageEncrypted", rules.Unknown))),
		edgeFail("off", "aurora", "storageEncrypted is false: user data", a(eSet("storageEncrypted", false))),
		edgeFail("unset", "aurora", "storageEncrypted is unset (false)", a(eDel("storageEncrypted"))),
	})
}

func TestPolicyEdgesAuroraInstancesAcrossAZs(t *testing.T) {
	a := func(edits ...edgeEdit) rules.Resource { return edgeAurora("aurora", edits...) }
	w := func(az any) rules.Resource { return edgeInstance("writer", "aurora", az) }
	r := func(az any) rules.Resource { return edgeInstance("reader", "aurora", az) }
	byName := edgeInstance("reader", "aurora", "us-east-1b")
	byName.Properties["clusterIdentifier"] = "aurora"
	pending := edgeInstance("reader", "aurora", "us-east-1b")
	pending.Properties["clusterIdentifier"] = rules.Unknown
	pending = withDeps(pending, "clusterIdentifier", edgeURN(edgeAuroraType, "aurora"))
	checkEdges(t, "aurora-instances-across-azs", []edgeCase{
		edgePass("two instances in two zones: the threshold", a(), w("us-east-1a"), r("us-east-1b")),
		edgePass("three instances in two zones", a(), w("us-east-1a"), r("us-east-1b"), edgeInstance("reader-2", "aurora", "us-east-1a")),
		edgePass("an instance naming the cluster by identifier", a(), w("us-east-1a"), byName),
		edgePass("an instance whose cluster is not known yet but comes from it", a(), w("us-east-1a"), pending),
		edgePass("a zone not known yet", a(), w("us-east-1a"), r(rules.Unknown)),
		edgeFail("Serverless v1", "aurora", "uses Aurora Serverless v1, which runs in one AZ", a(eSet("engineMode", "serverless")), w("us-east-1a"), r("us-east-1b")),
		edgeFail("no instance", "aurora", "has 0 instance(s): a failed writer leaves nothing", a()),
		edgeFail("one instance", "aurora", "has 1 instance(s)", a(), w("us-east-1a")),
		edgeFail("an empty identifier names no cluster", "aurora", "has 1 instance(s)",
			a(eSet("clusterIdentifier", "")), w("us-east-1a"), edit(r("us-east-1b"), eSet("clusterIdentifier", ""))),
		edgeFail("an instance of another cluster does not count", "aurora", "has 1 instance(s)", a(), edgeAurora("other"), w("us-east-1a"), edgeInstance("reader", "other", "us-east-1b")),
		edgeFail("one zone", "aurora", "all 2 instances are in us-east-1a: the database goes down with that zone", a(), w("us-east-1a"), r("us-east-1a")),
		edgeFail("an instance without a zone", "aurora", "instance(s) reader have no availabilityZone", a(), w("us-east-1a"), r(nil)),
		edgeFail("an empty zone", "aurora", "instance(s) reader have no availabilityZone", a(), w("us-east-1a"), r("")),
	})
}

func TestPolicyEdgesAuroraBackupRetention(t *testing.T) {
	days := func(v any) rules.Resource { return edgeAurora("aurora", eSet("backupRetentionPeriod", v)) }
	checkEdges(t, "aurora-backup-retention", []edgeCase{
		edgePass("7 days: the threshold", days(7.0)),
		edgePass("35 days", days(35.0)),
		edgePass("as text", days("7")),
		edgePass("not known yet", days(rules.Unknown)),
		edgeFail("6 days", "aurora", "keeps automated backups 6 day(s): a bad migration", days(6.0)),
		edgeFail("6 days as text", "aurora", "keeps automated backups 6 day(s)", days("6")),
		edgeFail("unset is RDS's 1", "aurora", "keeps automated backups 1 day(s) (unset: the RDS default)", edgeAurora("aurora", eDel("backupRetentionPeriod"))),
		edgeFail("the fix names the least", "aurora", "set backupRetentionPeriod to at least 7", days(1.0)),
	})
}

func TestPolicyEdgesAuroraDeletionProtection(t *testing.T) {
	protected := func(r rules.Resource) rules.Resource { r.Protect = true; return r }
	off := edgeAurora("aurora", eSet("deletionProtection", false))
	checkEdges(t, "aurora-deletion-protection", []edgeCase{
		edgePass("nothing protected, no deletion protection", off),
		edgePass("protected with deletion protection", protected(edgeAurora("aurora"))),
		edgePass("protected, deletion protection not known yet", protected(edgeAurora("aurora", eSet("deletionProtection", rules.Unknown)))),
		edgeFail("protected without deletion protection", "aurora", "deletionProtection is false although the stack protects it (protect: true)", protected(off)),
		edgeFail("protected, deletion protection unset", "aurora", "deletionProtection is unset (false) although", protected(edgeAurora("aurora", eDel("deletionProtection")))),
		edgeFail("another resource protected", "aurora", `although the stack protects its stateful resources (ReplicationGroup "sessions" is protected)`,
			off, protected(edgeCache("sessions"))),
		edgePass("another resource protected, deletion protection on", edgeAurora("aurora"), protected(edgeCache("sessions"))),
		edgeFail("a protected resource of a bare type", "aurora", `(Custom "thing" is protected)`, off, protected(edgeResource("Custom", "thing", map[string]any{}))),
	})
}

// Security.

const (
	edgeSGType      = "aws:ec2/securityGroup:SecurityGroup"
	edgeIngressType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	edgeSGRuleType  = "aws:ec2/securityGroupRule:SecurityGroupRule"
	edgeLBType      = "aws:lb/loadBalancer:LoadBalancer"
)

func edgeSG(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeSGType, name, map[string]any{"vpcId": edgeRef("vpc"), "description": name}), edits...)
}

func edgeLB(name string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeLBType, name, map[string]any{
		"loadBalancerType": "application", "internal": false, "securityGroups": []any{edgeRef("alb-sg")},
		"arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/" + name + "/0123456789abcdef",
	}), edits...)
}

// edgeWorld is a standalone ingress rule of group sg from 0.0.0.0/0.
func edgeWorld(name, sg string, protocol any, from, to any, edits ...edgeEdit) rules.Resource {
	props := map[string]any{"securityGroupId": edgeRef(sg), "cidrIpv4": "0.0.0.0/0", "ipProtocol": protocol}
	if from != nil {
		props["fromPort"] = from
	}
	if to != nil {
		props["toPort"] = to
	}
	return edit(edgeResource(edgeIngressType, name, props), edits...)
}

func TestPolicyEdgesNoWorldIngress(t *testing.T) {
	alb := func(rs ...rules.Resource) []rules.Resource {
		return append([]rules.Resource{edgeSG("alb-sg"), edgeLB("alb")}, rs...)
	}
	const notALB = "this security group belongs to no internet-facing ALB of the stack"
	const onlyWeb = "even the ALB's group may open only TCP 80 and 443 to the world"
	aliasLB := edgeLB("alb")
	aliasLB.Type, aliasLB.URN = "aws:alb/loadBalancer:LoadBalancer", edgeURN("aws:alb/loadBalancer:LoadBalancer", "alb")
	legacy := func(typ string, edits ...edgeEdit) rules.Resource {
		return edit(edgeResource(edgeSGRuleType, "legacy", map[string]any{"type": typ, "securityGroupId": edgeRef("alb-sg"),
			"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrBlocks": []any{"0.0.0.0/0"}}), edits...)
	}
	inline := func(in ...any) rules.Resource { return edgeSG("alb-sg", eSet("ingress", in)) }
	checkEdges(t, "no-world-ingress", []edgeCase{
		edgePass("the ALB on 443", alb(edgeWorld("in", "alb-sg", "tcp", 443.0, 443.0))...),
		edgePass("the ALB on 80", alb(edgeWorld("in", "alb-sg", "tcp", 80.0, 80.0))...),
		edgePass("the ALB on 443 by protocol number", alb(edgeWorld("in", "alb-sg", "6", 443.0, 443.0))...),
		edgePass("the ALB on 443, TCP in capitals", alb(edgeWorld("in", "alb-sg", "TCP", 443.0, 443.0))...),
		edgePass("the ALB on 443 over IPv6", alb(edgeWorld("in", "alb-sg", "tcp", 443.0, 443.0, eDel("cidrIpv4"), eSet("cidrIpv6", "::/0")))...),
		edgePass("the ALB of the alb alias type", edgeSG("alb-sg"), aliasLB, edgeWorld("in", "alb-sg", "tcp", 443.0, 443.0)),
		edgePass("the ALB without loadBalancerType (AWS's application)", edgeSG("alb-sg"), edgeLB("alb", eDel("loadBalancerType")), edgeWorld("in", "alb-sg", "tcp", 443.0, 443.0)),
		edgePass("a narrow block", edgeSG("pods"), edgeWorld("in", "pods", "tcp", 22.0, 22.0, eSet("cidrIpv4", "10.0.0.0/16"))),
		edgePass("half the address space is not /0", edgeSG("pods"), edgeWorld("in", "pods", "tcp", 22.0, 22.0, eSet("cidrIpv4", "0.0.0.0/1"))),
		edgeFail("the ALB on 8443", "in", "admits tcp port 8443 from 0.0.0.0/0; "+onlyWeb, alb(edgeWorld("in", "alb-sg", "tcp", 8443.0, 8443.0))...),
		edgeFail("the ALB on UDP 443", "in", "admits udp port 443 from 0.0.0.0/0; "+onlyWeb, alb(edgeWorld("in", "alb-sg", "udp", 443.0, 443.0))...),
		edgeFail("the ALB on ports 80-443", "in", "admits tcp ports 80-443 from 0.0.0.0/0", alb(edgeWorld("in", "alb-sg", "tcp", 80.0, 443.0))...),
		edgeFail("the ALB on every protocol", "in", "admits all protocols all ports from 0.0.0.0/0", alb(edgeWorld("in", "alb-sg", "-1", nil, nil))...),
		edgeFail("the ALB with a from port only", "in", "admits tcp all ports from 0.0.0.0/0", alb(edgeWorld("in", "alb-sg", "tcp", 443.0, nil))...),
		edgeFail("a group of no load balancer", "in", "admits tcp port 443 from 0.0.0.0/0; "+notALB, edgeSG("pods"), edgeWorld("in", "pods", "tcp", 443.0, 443.0)),
		edgeFail("a network load balancer's group", "in", notALB, edgeSG("alb-sg"), edgeLB("alb", eSet("loadBalancerType", "network")), edgeWorld("in", "alb-sg", "tcp", 443.0, 443.0)),
		edgeFail("a group outside the stack", "in", notALB, edgeWorld("in", "alb-sg", "tcp", 443.0, 443.0)),
		edgeFail("any /0 block", "in", "from 10.0.0.0/0", edgeSG("pods"), edgeWorld("in", "pods", "tcp", 22.0, 22.0, eSet("cidrIpv4", "10.0.0.0/0"))),
		edgeFail("IPv6 to a group of no load balancer", "in", "from ::/0", edgeSG("pods"), edgeWorld("in", "pods", "tcp", 22.0, 22.0, eDel("cidrIpv4"), eSet("cidrIpv6", "::/0"))),
		edgePass("a legacy ingress rule on the ALB on 443", alb(legacy("ingress"))...),
		edgePass("a legacy egress rule", alb(legacy("egress", eSet("fromPort", 0.0), eSet("toPort", 65535.0)))...),
		edgeFail("a legacy ingress rule on the ALB on 22", "legacy", "admits tcp port 22 from 0.0.0.0/0", alb(legacy("ingress", eSet("fromPort", 22.0), eSet("toPort", 22.0)))...),
		edgeFail("a legacy IPv6 ingress rule", "legacy", "admits tcp port 22 from ::/0",
			alb(legacy("ingress", eSet("fromPort", 22.0), eSet("toPort", 22.0), eDel("cidrBlocks"), eSet("ipv6CidrBlocks", []any{"::/0"})))...),
		edgePass("inline ingress on the ALB on 443", inline(map[string]any{"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "cidrBlocks": []any{"0.0.0.0/0"}}), edgeLB("alb")),
		edgeFail("inline ingress on the ALB on 22", "alb-sg", "admits tcp port 22 from 0.0.0.0/0; "+onlyWeb,
			inline(map[string]any{"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": []any{"0.0.0.0/0"}}), edgeLB("alb")),
		edgeFail("inline IPv6 ingress of a group of no load balancer", "alb-sg", "from ::/0; "+notALB,
			inline(map[string]any{"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0, "ipv6CidrBlocks": []any{"::/0"}})),
	})
}

// edgeStores is a cache and its security group, which admits the auth
// pods' group only; a SecurityGroupPolicy gives that group to the pods.
func edgeStores(rs ...rules.Resource) []rules.Resource {
	return append([]rules.Resource{
		edgeCache("sessions"), edgeSG("cache-sg"), edgeSG("pods-sg"), edgeSG("alb-sg"),
		edgeResource("kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy", "sgp", map[string]any{
			"metadata": map[string]any{"name": "auth", "namespace": "auth"},
			"spec":     map[string]any{"podSelector": map[string]any{"matchLabels": edgeLabels()}, "securityGroups": map[string]any{"groupIds": []any{edgeRef("pods-sg")}}},
		}),
	}, rs...)
}

func edgeFrom(name, store string, edits ...edgeEdit) rules.Resource {
	return edit(edgeResource(edgeIngressType, name, map[string]any{
		"securityGroupId": edgeRef(store), "referencedSecurityGroupId": edgeRef("pods-sg"), "ipProtocol": "tcp", "fromPort": 6379.0, "toPort": 6379.0,
	}), edits...)
}

func TestPolicyEdgesDataStoreIngress(t *testing.T) {
	const (
		foreign  = "sg-0c1a55e7c1a55e7c1"
		notStack = "; it is not a group of this stack"
		noPolicy = "and no SecurityGroupPolicy gives that group to pods"
	)
	legacy := func(edits ...edgeEdit) rules.Resource {
		return edit(edgeResource(edgeSGRuleType, "legacy", map[string]any{"type": "ingress", "securityGroupId": edgeRef("cache-sg"),
			"protocol": "tcp", "fromPort": 6379.0, "toPort": 6379.0, "sourceSecurityGroupId": foreign}), edits...)
	}
	aurora := edgeAurora("aurora")
	checkEdges(t, "data-store-ingress-auth-pods-only", []edgeCase{
		edgePass("the pods' group", edgeStores(edgeFrom("in", "cache-sg"))...),
		edgePass("the group itself", edgeStores(edgeFrom("in", "cache-sg", eSet("referencedSecurityGroupId", edgeRef("cache-sg"))))...),
		edgePass("a group not known yet", edgeStores(edgeFrom("in", "cache-sg", eSet("referencedSecurityGroupId", rules.Unknown)))...),
		edgePass("a range not known yet", edgeStores(edgeFrom("in", "cache-sg", eDel("referencedSecurityGroupId"), eSet("cidrIpv4", rules.Unknown)))...),
		edgePass("an empty range", edgeStores(edgeFrom("in", "cache-sg", eSet("cidrIpv6", "")))...),
		edgePass("a rule of another group", edgeStores(edgeFrom("in", "alb-sg", eSet("referencedSecurityGroupId", foreign)))...),
		edgePass("the policy's spec not known yet: not judged", modify(edgeStores(edgeFrom("in", "cache-sg", eSet("referencedSecurityGroupId", foreign))), "sgp", eSet("spec", rules.Unknown))...),
		edgePass("the policy's groups not known yet: not judged",
			modify(edgeStores(edgeFrom("in", "cache-sg", eSet("referencedSecurityGroupId", foreign))), "sgp", eSet("spec.securityGroups.groupIds", rules.Unknown))...),
		edgePass("a policy group not known yet nor explained: not judged",
			modify(edgeStores(edgeFrom("in", "cache-sg", eSet("referencedSecurityGroupId", foreign))), "sgp", eSet("spec.securityGroups.groupIds", []any{rules.Unknown}))...),
		edgeFail("the cluster security group", "in", "lets security group "+foreign+" into data store group cache-sg"+notStack,
			edgeStores(edgeFrom("in", "cache-sg", eSet("referencedSecurityGroupId", foreign)))...),
		edgeFail("a group of the stack no policy gives to pods", "in", `lets SecurityGroup "alb-sg" into data store group cache-sg, `+noPolicy,
			edgeStores(edgeFrom("in", "cache-sg", eSet("referencedSecurityGroupId", edgeRef("alb-sg"))))...),
		edgeFail("no policy at all", "in", noPolicy, without(edgeStores(edgeFrom("in", "cache-sg")), "sgp")...),
		edgeFail("an IPv4 range", "in", "lets 10.0.0.0/16 into data store group cache-sg by address",
			edgeStores(edgeFrom("in", "cache-sg", eDel("referencedSecurityGroupId"), eSet("cidrIpv4", "10.0.0.0/16")))...),
		edgeFail("an IPv6 range", "in", "lets fd00::/8 into data store group cache-sg by address",
			edgeStores(edgeFrom("in", "cache-sg", eDel("referencedSecurityGroupId"), eSet("cidrIpv6", "fd00::/8")))...),
		edgeFail("a prefix list", "in", "lets pl-0123 into data store group cache-sg by address",
			edgeStores(edgeFrom("in", "cache-sg", eDel("referencedSecurityGroupId"), eSet("prefixListId", "pl-0123")))...),
		edgeFail("a legacy rule from the cluster group", "legacy", "lets security group "+foreign+" into data store group cache-sg"+notStack, edgeStores(legacy())...),
		edgeFail("a legacy rule from a range", "legacy", "lets 10.0.0.0/8 into data store group cache-sg by address",
			edgeStores(legacy(eDel("sourceSecurityGroupId"), eSet("cidrBlocks", []any{"10.0.0.0/8"})))...),
		edgePass("a legacy egress rule", edgeStores(legacy(eSet("type", "egress")))...),
		edgeFail("an inline rule from another group", "cache-sg", "lets security group "+foreign+" into data store group cache-sg"+notStack,
			modify(edgeStores(), "cache-sg", eSet("ingress", []any{map[string]any{"protocol": "tcp", "fromPort": 6379.0, "toPort": 6379.0, "securityGroups": []any{foreign}}}))...),
		edgeFail("an inline rule from a range", "cache-sg", "lets 10.0.0.0/8 (inline rule 0) into data store group cache-sg by address",
			modify(edgeStores(), "cache-sg", eSet("ingress", []any{map[string]any{"protocol": "tcp", "fromPort": 6379.0, "toPort": 6379.0, "cidrBlocks": []any{"10.0.0.0/8"}}}))...),
		edgePass("an inline rule from the pods' group", modify(edgeStores(), "cache-sg", eSet("ingress", []any{map[string]any{"securityGroups": []any{edgeRef("pods-sg")}}}))...),
		edgeFail("Aurora's group", "in", "into data store group db-sg"+notStack,
			append(edgeStores(), aurora, edgeSG("db-sg"), edgeFrom("in", "db-sg", eSet("referencedSecurityGroupId", foreign)))...),
	})
}

func TestPolicyEdgesNoPublicDataStore(t *testing.T) {
	public := func(typ string, v any) rules.Resource {
		return edgeResource(typ, "db", map[string]any{"publiclyAccessible": v})
	}
	checkEdges(t, "no-public-data-store", []edgeCase{
		edgePass("private instance", public(edgeInstanceType, false)),
		edgePass("unset", edgeResource(edgeInstanceType, "db", map[string]any{})),
		edgePass("not known yet", public(edgeInstanceType, rules.Unknown)),
		edgeFail("public cluster instance", "db", "is publicly accessible: the database gets a public address", public(edgeInstanceType, true)),
		edgeFail("public as text", "db", "is publicly accessible", public(edgeInstanceType, "true")),
		edgeFail("public RDS instance", "db", "is publicly accessible", public("aws:rds/instance:Instance", true)),
	})
}

func TestPolicyEdgesFargatePrivateSubnets(t *testing.T) {
	const (
		rtType    = "aws:ec2/routeTable:RouteTable"
		assocType = "aws:ec2/routeTableAssociation:RouteTableAssociation"
		routeType = "aws:ec2/route:Route"
		igwType   = "aws:ec2/internetGateway:InternetGateway"
	)
	fp := func(subnets any) rules.Resource {
		return edit(edgeProfile("fp", edgeZoneSelector("us-east-1a")), eSet("subnetIds", subnets))
	}
	one := func(sn rules.Resource, rs ...rules.Resource) []rules.Resource {
		return append([]rules.Resource{sn, fp([]any{edgeRef(sn.Name)})}, rs...)
	}
	assoc := edgeResource(assocType, "assoc", map[string]any{"subnetId": edgeRef("sn"), "routeTableId": edgeRef("rt")})
	table := func(routes ...any) rules.Resource {
		return edgeResource(rtType, "rt", map[string]any{"routes": routes})
	}
	route := func(edits ...edgeEdit) rules.Resource {
		return edit(edgeResource(routeType, "default", map[string]any{"routeTableId": edgeRef("rt"), "destinationCidrBlock": "0.0.0.0/0", "gatewayId": edgeRef("igw")}), edits...)
	}
	igw := edgeResource(igwType, "igw", map[string]any{"vpcId": edgeRef("vpc")})
	sn := edgeSubnet("sn", "us-east-1a")
	const public = `uses Subnet "sn", which is public`
	const viaIGW = "its route table rt routes to an internet gateway"
	checkEdges(t, "fargate-private-subnets", []edgeCase{
		edgePass("a private subnet", one(sn)...),
		edgePass("a private subnet with a NAT route", one(sn, assoc, table(), route(eDel("gatewayId"), eSet("natGatewayId", "nat-0123")))...),
		edgePass("a route to a NAT gateway in the table", one(sn, assoc, table(map[string]any{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-0123"}))...),
		edgePass("a narrow route to the internet gateway", one(sn, assoc, table(), igw, route(eSet("destinationCidrBlock", "10.1.0.0/16")))...),
		edgePass("the public route table of another subnet", one(sn, edgeSubnet("other", "us-east-1a"), edit(assoc, eSet("subnetId", edgeRef("other"))), table(), igw, route())...),
		edgePass("a subnet not known yet nor explained", fp([]any{rules.Unknown})),
		edgeFail("the public load-balancer tag", "fp", public+" (it carries the public load-balancer tag kubernetes.io/role/elb)",
			one(edit(sn, eSet("tags", map[string]any{"kubernetes.io/role/elb": "1"})))...),
		edgeFail("public IPs on launch", "fp", public+" (it maps public IPs on launch)", one(edit(sn, eSet("mapPublicIpOnLaunch", true)))...),
		edgeFail("public IPs on launch as text", "fp", "it maps public IPs on launch", one(edit(sn, eSet("mapPublicIpOnLaunch", "true")))...),
		edgePass("a default route to a virtual private gateway", one(sn, assoc, table(map[string]any{"cidrBlock": "0.0.0.0/0", "gatewayId": "vgw-0123"}))...),
		edgeFail("an inline default route to an igw- ID", "fp", public+" ("+viaIGW+")", one(sn, assoc, table(map[string]any{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0123"}))...),
		edgeFail("an inline IPv6 default route", "fp", viaIGW, one(sn, assoc, table(map[string]any{"ipv6CidrBlock": "::/0", "gatewayId": "igw-0123"}))...),
		edgeFail("an inline default route to the stack's gateway", "fp", viaIGW, one(sn, assoc, igw, table(map[string]any{"cidrBlock": "0.0.0.0/0", "gatewayId": edgeRef("igw")}))...),
		edgeFail("a route resource to the stack's gateway", "fp", viaIGW, one(sn, assoc, table(), igw, route())...),
		edgeFail("a route resource over IPv6", "fp", viaIGW, one(sn, assoc, table(), igw, route(eDel("destinationCidrBlock"), eSet("destinationIpv6CidrBlock", "::/0")))...),
		edgeFail("a route whose gateway is not known yet but is the stack's", "fp", viaIGW,
			one(sn, assoc, table(), igw, withDeps(route(eSet("gatewayId", rules.Unknown)), "gatewayId", igw.URN))...),
		edgePass("a route whose gateway is not known yet and from no gateway", one(sn, assoc, table(), igw, route(eSet("gatewayId", rules.Unknown)))...),
		edgeFail("a subnet not known yet, explained by a public one", "fp", public,
			edit(sn, eSet("mapPublicIpOnLaunch", true)), withDeps(fp([]any{rules.Unknown}), "subnetIds", sn.URN)),
		edgeFail("a subnet of another stack", "fp", "uses subnet subnet-0123456789abcdef0, which is not a subnet of this stack", fp([]any{"subnet-0123456789abcdef0"})),
		edgeFail("two literals and one dependency: which is the stranger is not known", "fp",
			"uses subnet one of subnet-1, subnet-2, which is not a subnet of this stack",
			edgeSubnet("sn", "us-east-1a"), withDeps(fp([]any{"subnet-1", "subnet-2"}), "subnetIds", edgeURN(edgeSubnetType, "sn"))),
		edgePass("a literal explained by a dependency", edgeSubnet("sn", "us-east-1a"), withDeps(fp([]any{"subnet-1"}), "subnetIds", edgeURN(edgeSubnetType, "sn"))),
		edgeFail("no subnets", "fp", "names no subnets", edgeResource(edgeProfileType, "fp", map[string]any{"clusterName": "demo"})),
		edgeFail("an empty list", "fp", "names no subnets", fp([]any{})),
	})
}

// edgeTrust is an assume-role policy document with the given statements
// (JSON objects).
func edgeTrust(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

// edgeWebIdentity is a web-identity statement with a condition (JSON).
func edgeWebIdentity(action, condition string) string {
	return `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/` + fixtureIssuer + `"},` +
		`"Action":"` + action + `","Condition":` + condition + `}`
}

func edgeCondition(subOp string, sub any, aud any) string {
	c := map[string]map[string]any{}
	if sub != nil {
		c[subOp] = map[string]any{fixtureIssuer + ":sub": sub}
	}
	if aud != nil {
		if c["StringEquals"] == nil {
			c["StringEquals"] = map[string]any{}
		}
		c["StringEquals"][fixtureIssuer+":aud"] = aud
	}
	var parts []string
	for op, block := range c {
		var kv []string
		for k, v := range block {
			switch t := v.(type) {
			case string:
				kv = append(kv, fmt.Sprintf("%q:%q", k, t))
			case []string:
				var qs []string
				for _, s := range t {
					qs = append(qs, strconv.Quote(s))
				}
				kv = append(kv, fmt.Sprintf("%q:[%s]", k, strings.Join(qs, ",")))
			}
		}
		parts = append(parts, fmt.Sprintf("%q:{%s}", op, strings.Join(kv, ",")))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestPolicyEdgesIRSATrustScoped(t *testing.T) {
	const sa = "system:serviceaccount:auth:auth"
	role := func(policy any) rules.Resource {
		return edgeResource("aws:iam/role:Role", "irsa", map[string]any{"assumeRolePolicy": policy})
	}
	ok := edgeCondition("StringEquals", sa, "sts.amazonaws.com")
	service := `{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole"}`
	checkEdges(t, "irsa-trust-scoped", []edgeCase{
		edgePass("one service account and the STS audience", role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", ok)))),
		edgePass("lists of one", role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringEquals", []string{sa}, []string{"sts.amazonaws.com"}))))),
		edgePass("a statement object instead of a list", role(`{"Version":"2012-10-17","Statement":`+edgeWebIdentity("sts:AssumeRoleWithWebIdentity", ok)+`}`)),
		edgePass("the document as an object", role(map[string]any{"Statement": []any{map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole"}}})),
		edgePass("a service role", role(edgeTrust(service))),
		edgePass("a Deny statement", role(edgeTrust(strings.Replace(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", "{}"), `"Allow"`, `"Deny"`, 1)))),
		edgePass("not known yet", role(rules.Unknown)),
		edgePass("a secret document", role(rules.Secret)),
		edgePass("no document", edgeResource("aws:iam/role:Role", "irsa", map[string]any{})),
		edgeFail("not JSON", "irsa", "assumeRolePolicy is not a readable policy document", role("{not json")),
		edgeFail("not a document", "irsa", "assumeRolePolicy is not a readable policy document (a float64, not a policy document)", role(3.0)),
		edgeFail("StringLike on the subject", "irsa", "statement 1 matches the subject with StringLike [system:serviceaccount:auth:*]",
			role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringLike", "system:serviceaccount:auth:*", "sts.amazonaws.com"))))),
		edgeFail("a wildcard in StringEquals", "irsa", `trusts subject "system:serviceaccount:auth:*", which is not one service account`,
			role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringEquals", "system:serviceaccount:auth:*", "sts.amazonaws.com"))))),
		edgeFail("a subject that is not a service account", "irsa", `trusts subject "system:serviceaccounts:auth"`,
			role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringEquals", "system:serviceaccounts:auth", "sts.amazonaws.com"))))),
		edgeFail("two service accounts", "irsa", "trusts 2 service accounts (system:serviceaccount:auth:auth, system:serviceaccount:auth:admin); give each its own role",
			role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringEquals", []string{sa, "system:serviceaccount:auth:admin"}, "sts.amazonaws.com"))))),
		edgeFail("no subject", "irsa", "statement 1 sets no sub condition",
			role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringEquals", nil, "sts.amazonaws.com"))))),
		edgeFail("no condition at all", "irsa", "sets no sub condition", role(edgeTrust(strings.Replace(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", "{}"), `,"Condition":{}`, "", 1)))),
		edgeFail("no audience", "irsa", "does not pin the audience to sts.amazonaws.com (StringEquals on aud: [])",
			role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringEquals", sa, nil))))),
		edgeFail("another audience", "irsa", "does not pin the audience to sts.amazonaws.com (StringEquals on aud: [example.com])",
			role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringEquals", sa, "example.com"))))),
		edgeFail("two audiences", "irsa", "does not pin the audience",
			role(edgeTrust(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", edgeCondition("StringEquals", sa, []string{"sts.amazonaws.com", "example.com"}))))),
		edgeFail("sts:* grants web identity", "irsa", "sets no sub condition", role(edgeTrust(edgeWebIdentity("sts:*", "{}")))),
		edgeFail("* grants web identity", "irsa", "sets no sub condition", role(edgeTrust(edgeWebIdentity("*", "{}")))),
		edgeFail("the action in another case", "irsa", "sets no sub condition", role(edgeTrust(edgeWebIdentity("STS:AssumeRoleWithWebIdentity", "{}")))),
		edgeFail("a Sid names the statement", "irsa", `statement "FromSA" sets no sub condition`,
			role(edgeTrust(strings.Replace(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", "{}"), `{"Effect"`, `{"Sid":"FromSA","Effect"`, 1)))),
		edgeFail("an empty Sid does not name the statement", "irsa", "statement 1 sets no sub condition",
			role(edgeTrust(strings.Replace(edgeWebIdentity("sts:AssumeRoleWithWebIdentity", "{}"), `{"Effect"`, `{"Sid":"","Effect"`, 1)))),
		edgeFail("the second statement", "irsa", "statement 2 sets no sub condition", role(edgeTrust(service, edgeWebIdentity("sts:AssumeRoleWithWebIdentity", "{}")))),
	})
}

func TestPolicyEdgesNoSecretInConfigMap(t *testing.T) {
	cm := func(field string, data map[string]any) rules.Resource {
		return edgeResource("kubernetes:core/v1:ConfigMap", "config", map[string]any{"metadata": map[string]any{"namespace": "auth"}, field: data})
	}
	const literal = "looks like a credential given as a literal value"
	var cases []edgeCase
	for _, k := range []string{"DB_PASSWORD", "password", "PASSWD", "db-pwd", "CLIENT_SECRET", "SESSION_TOKEN", "API_KEY", "apikey", "API-KEY", "PRIVATE_KEY",
		"AWS_CREDENTIALS", "credential", "AUTH_KEY", "ACCESS_KEY", "CONNECTION_STRING", "redis.auth-key"} {
		cases = append(cases, edgeFail("literal "+k, "config", fmt.Sprintf("data key %q %s", k, literal), cm("data", map[string]any{k: "s3cr3t-value"})))
	}
	for _, k := range []string{"DB_SECRET_ARN", "TOKEN_NAME", "PASSWORD_FILE", "SECRET_ID", "API_KEY_PATH", "TOKEN_URL", "SECRET_REF", "DB_PASSWORD_HOST",
		"SECRETS_ARNS", "TOKEN_URI", "TOKEN_ENDPOINT", "MYTOKEN", "TOKENIZER", "PORT"} {
		cases = append(cases, edgePass("reference or setting "+k, cm("data", map[string]any{k: "s3cr3t-value"})))
	}
	cases = append(cases,
		edgePass("an ARN value", cm("data", map[string]any{"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"})),
		edgePass("a number", cm("data", map[string]any{"SESSION_TOKEN_TTL": "3600", "TOKEN": "3600"})),
		edgePass("a boolean", cm("data", map[string]any{"TOKEN": "true"})),
		edgePass("an empty value", cm("data", map[string]any{"PASSWORD": ""})),
		edgePass("a value not known yet", cm("data", map[string]any{"PASSWORD": rules.Unknown})),
		edgeFail("a Pulumi secret under any name", "config", `data key "REDIS_URL" holds a Pulumi secret, written to the object in clear text`,
			cm("data", map[string]any{"REDIS_URL": rules.Secret})),
		edgeFail("binaryData", "config", `binaryData key "TOKEN" `+literal, cm("binaryData", map[string]any{"TOKEN": "c2VjcmV0"})),
		edgeFail("binaryData secret", "config", `binaryData key "cert" holds a Pulumi secret`, cm("binaryData", map[string]any{"cert": rules.Secret})),
	)
	checkEdges(t, "no-secret-in-configmap", cases)
}

func TestPolicyEdgesNoPlainSecretEnv(t *testing.T) {
	env := func(e ...any) map[string]any {
		return map[string]any{"containers": []any{map[string]any{"name": "app", "env": e}}}
	}
	secret := map[string]any{"name": "API_KEY", "value": "sk-live-0123456789"}
	workload := func(typ string, spec map[string]any) rules.Resource {
		switch typ {
		case "kubernetes:core/v1:Pod":
			return edgeResource(typ, "w", map[string]any{"spec": spec})
		case "kubernetes:batch/v1:CronJob":
			return edgeResource(typ, "w", map[string]any{"spec": map[string]any{"jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": spec}}}}})
		}
		return edgeResource(typ, "w", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": spec}}})
	}
	var cases []edgeCase
	for _, typ := range []string{"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:ReplicaSet",
		"kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod"} {
		kind := typ[strings.LastIndex(typ, ":")+1:]
		cases = append(cases,
			edgeFail(kind+" with a literal key", "w", `container "app" env API_KEY looks like a credential`, workload(typ, env(secret))),
			edgePass(kind+" with valueFrom", workload(typ, env(map[string]any{"name": "API_KEY", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "k", "key": "k"}}}))),
		)
	}
	cases = append(cases,
		edgeFail("a Pulumi secret", "w", `container "app" env REDIS_AUTH holds a Pulumi secret`, workload("kubernetes:apps/v1:Deployment", env(map[string]any{"name": "REDIS_AUTH", "value": rules.Secret}))),
		edgeFail("an init container", "w", `container "migrate" env DB_PASSWORD looks like a credential`,
			workload("kubernetes:apps/v1:Deployment", map[string]any{"initContainers": []any{map[string]any{"name": "migrate", "env": []any{map[string]any{"name": "DB_PASSWORD", "value": "hunter2"}}}}})),
		edgeFail("an init container without a name", "w", `container "init#0" env`,
			workload("kubernetes:apps/v1:Deployment", map[string]any{"initContainers": []any{map[string]any{"env": []any{secret}}}})),
		edgeFail("an env entry without a name holding a secret", "w", "env #0 holds a Pulumi secret", workload("kubernetes:apps/v1:Deployment", env(map[string]any{"value": rules.Secret}))),
		edgePass("settings", workload("kubernetes:apps/v1:Deployment", env(map[string]any{"name": "LOG_LEVEL", "value": "info"}, map[string]any{"name": "TOKEN_TTL", "value": "3600"}))),
		edgePass("a Service is no workload", edgeResource("kubernetes:core/v1:Service", "w", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": env(secret)}}})),
	)
	checkEdges(t, "no-plain-secret-env", cases)
}

// Production defenses.

func edgeProd(edits ...edgeEdit) edgeEdit {
	return func(props map[string]any) {
		eSet("tags", map[string]any{"Environment": "prod", "Name": "demo"})(props)
		for _, e := range edits {
			e(props)
		}
	}
}

func edgeProdLB(edits ...edgeEdit) rules.Resource {
	return edgeLB("alb", edgeProd(eSet("accessLogs", map[string]any{"bucket": "demo-alb-logs", "prefix": "demo", "enabled": true})), func(p map[string]any) {
		for _, e := range edits {
			e(p)
		}
	})
}

func TestPolicyEdgesProdALBWAF(t *testing.T) {
	assoc := func(arn any) rules.Resource {
		return edgeResource("aws:wafv2/webAclAssociation:WebAclAssociation", "waf", map[string]any{"resourceArn": arn, "webAclArn": edgeRef("acl")})
	}
	const missing = "this production load balancer has no web ACL"
	aliasLB := edgeProdLB()
	aliasLB.Type, aliasLB.URN = "aws:alb/loadBalancer:LoadBalancer", edgeURN("aws:alb/loadBalancer:LoadBalancer", "alb")
	checkEdges(t, "prod-alb-waf", []edgeCase{
		edgePass("associated by ARN", edgeProdLB(), assoc("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/alb/0123456789abcdef")),
		edgePass("associated by ID", edgeProdLB(), assoc(edgeRef("alb"))),
		edgePass("association not known yet, from the load balancer", edgeProdLB(), withDeps(assoc(rules.Unknown), "resourceArn", edgeURN(edgeLBType, "alb"))),
		edgePass("not production", edgeLB("alb")),
		edgePass("another environment", edgeLB("alb", eSet("tags", map[string]any{"Environment": "staging"}))),
		edgePass("a network load balancer", edgeProdLB(eSet("loadBalancerType", "network"))),
		edgeFail("no association", "alb", missing, edgeProdLB()),
		edgeFail("an association with another load balancer", "alb", missing, edgeProdLB(), assoc("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other/1")),
		edgeFail("an association not known yet, from nothing", "alb", missing, edgeProdLB(), assoc(rules.Unknown)),
		edgeFail("the alb alias type", "alb", missing, aliasLB),
		edgeFail("loadBalancerType unset is application", "alb", missing, edgeProdLB(eDel("loadBalancerType"))),
	})
}

func TestPolicyEdgesProdALBAccessLogs(t *testing.T) {
	logs := func(v any) rules.Resource { return edgeProdLB(eSet("accessLogs", v)) }
	checkEdges(t, "prod-alb-access-logs", []edgeCase{
		edgePass("enabled with a bucket", edgeProdLB()),
		edgePass("enabled as text", logs(map[string]any{"bucket": "b", "enabled": "true"})),
		edgePass("not production", edgeLB("alb")),
		edgePass("a network load balancer", edgeProdLB(eSet("loadBalancerType", "network"), eDel("accessLogs"))),
		edgePass("not known yet", logs(rules.Unknown)),
		edgePass("enabled not known yet", logs(map[string]any{"bucket": "b", "enabled": rules.Unknown})),
		edgePass("bucket not known yet", logs(map[string]any{"bucket": rules.Unknown, "enabled": true})),
		edgeFail("no access logs", "alb", "this production load balancer keeps no access logs", edgeProdLB(eDel("accessLogs"))),
		edgeFail("disabled", "alb", "accessLogs.enabled is false: the ALB writes no access logs", logs(map[string]any{"bucket": "b", "enabled": false})),
		edgeFail("enabled unset is off", "alb", "accessLogs.enabled is unset", logs(map[string]any{"bucket": "b"})),
		edgeFail("enabled as a word", "alb", `accessLogs.enabled is "yes"`, logs(map[string]any{"bucket": "b", "enabled": "yes"})),
		edgeFail("no bucket", "alb", "accessLogs names no bucket", logs(map[string]any{"enabled": true})),
		edgeFail("a blank bucket", "alb", "accessLogs names no bucket", logs(map[string]any{"bucket": "  ", "enabled": true})),
	})
}

func TestPolicyEdgesProdVPCFlowLogs(t *testing.T) {
	vpc := func(edits ...edgeEdit) rules.Resource {
		return edit(edgeResource("aws:ec2/vpc:Vpc", "vpc", map[string]any{"cidrBlock": "10.0.0.0/16"}), edgeProd(edits...))
	}
	flow := func(v any) rules.Resource {
		return edgeResource("aws:ec2/flowLog:FlowLog", "flow", map[string]any{"vpcId": v, "trafficType": "ALL"})
	}
	const missing = "no flow log records this production VPC"
	checkEdges(t, "prod-vpc-flow-logs", []edgeCase{
		edgePass("a flow log", vpc(), flow(edgeRef("vpc"))),
		edgePass("a flow log not known yet, from the VPC", vpc(), withDeps(flow(rules.Unknown), "vpcId", edgeURN("aws:ec2/vpc:Vpc", "vpc"))),
		edgePass("not production", edgeResource("aws:ec2/vpc:Vpc", "vpc", map[string]any{})),
		edgePass("Environment is exact", vpc(eSet("tags.Environment", "Prod"))),
		edgeFail("no flow log", "vpc", missing, vpc()),
		edgeFail("a flow log of another VPC", "vpc", missing, vpc(), flow("vpc-0123")),
	})
}

func TestPolicyEdgesProdEKSAuditLog(t *testing.T) {
	cluster := func(typ string, types any) rules.Resource {
		return edit(edgeResource(typ, "eks", map[string]any{"enabledClusterLogTypes": types}), edgeProd())
	}
	const off = "the control plane's audit log is off"
	checkEdges(t, "prod-eks-audit-log", []edgeCase{
		edgePass("audit on", cluster("aws:eks/cluster:Cluster", []any{"api", "audit"})),
		edgePass("audit on in the component", cluster("eks:index:Cluster", []any{"audit"})),
		edgePass("not known yet", cluster("aws:eks/cluster:Cluster", rules.Unknown)),
		edgePass("not production", edgeResource("aws:eks/cluster:Cluster", "eks", map[string]any{})),
		edgeFail("audit off", "eks", off+` (["api","authenticator"])`, cluster("aws:eks/cluster:Cluster", []any{"api", "authenticator"})),
		edgeFail("audit off in the component", "eks", off, cluster("eks:index:Cluster", []any{"api"})),
		edgeFail("no log types", "eks", off+" (unset)", cluster("aws:eks/cluster:Cluster", nil)),
		edgeFail("Audit in capitals is another type", "eks", off, cluster("aws:eks/cluster:Cluster", []any{"Audit"})),
	})
}

// TestPolicyEdgesTableHelpers: scopes print as the README names them,
// Lookup knows only the table's names, and HasMandatory tells a plan that
// must fail.
func TestPolicyEdgesTableHelpers(t *testing.T) {
	assert.Equal(t, "stack", rules.StackScope.String())
	assert.Equal(t, "resource", rules.ResourceScope.String())
	_, ok := rules.Lookup("no-such-policy")
	assert.False(t, ok)
	p, ok := rules.Lookup("pdb-allows-disruption")
	require.True(t, ok)
	assert.Equal(t, "pdb-allows-disruption", p.Name)
	assert.False(t, rules.HasMandatory(nil))
	assert.False(t, rules.HasMandatory([]rules.Violation{{Policy: "a", Level: rules.Advisory}}))
	assert.True(t, rules.HasMandatory([]rules.Violation{{Policy: "a", Level: rules.Advisory}, {Policy: "b", Level: rules.Mandatory}}))
}
