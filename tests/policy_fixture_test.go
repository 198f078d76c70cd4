package tests

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

// policyFixture is a small stack that satisfies every policy, registered as
// raw resources with the shapes the auth service, the ingress and the data
// tier register (type tokens and inputs), so a test can break one shape and
// run it under the mocks like the real program.
type policyFixture struct {
	order []string
	res   map[string]*fixtureResource
}

// fixtureResource is one raw resource of a fixture.
type fixtureResource struct {
	Type      string
	Name      string
	Inputs    map[string]any
	DependsOn []string // fixture keys
	Protect   bool
}

// fixtureRef stands for the ID of an earlier fixture resource, as a real
// program passes resource.ID() or an ARN output.
type fixtureRef string

// fixtureSecret wraps a value the program marks secret.
type fixtureSecret struct{ value any }

const fixtureIssuer = "oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"

// irsaTrust is an IRSA trust policy; subject and audience conditions are
// given as JSON fragments so tests can break them.
func irsaTrust(condition string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"AssumeFromServiceAccount","Effect":"Allow",` +
		`"Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/` + fixtureIssuer + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + condition + `}]}`
}

func irsaCondition(op, sub string) string {
	if op == "StringEquals" {
		return fmt.Sprintf(`{"StringEquals":{%q:%q,%q:"sts.amazonaws.com"}}`, fixtureIssuer+":sub", sub, fixtureIssuer+":aud")
	}
	return fmt.Sprintf(`{%q:{%q:%q},"StringEquals":{%q:"sts.amazonaws.com"}}`,
		op, fixtureIssuer+":sub", sub, fixtureIssuer+":aud")
}

func authContainer() map[string]any {
	return map[string]any{
		"name":  "auth",
		"image": "ghcr.io/authplatform/auth-service:1.0.0",
		"ports": []any{map[string]any{"name": "http", "containerPort": 8080, "protocol": "TCP"}},
		"env": []any{
			map[string]any{"name": "LOG_LEVEL", "value": "info"},
			map[string]any{"name": "DB_PASSWORD", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "db", "key": "password"}}},
		},
		"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/health", "port": 8080}, "periodSeconds": 5},
		"livenessProbe":  map[string]any{"httpGet": map[string]any{"path": "/health/live", "port": 8080}, "periodSeconds": 10},
		"lifecycle":      map[string]any{"preStop": map[string]any{"sleep": map[string]any{"seconds": 60}}},
	}
}

var podLabelsFixture = map[string]any{"app.kubernetes.io/name": "auth", "app.kubernetes.io/instance": "demo"}

func labelsCopy() map[string]any {
	out := map[string]any{}
	for k, v := range podLabelsFixture {
		out[k] = v
	}
	return out
}

// zoneLabels are the labels of the auth pods of one zone: the service's
// plus the zone label their Fargate profile selects.
func zoneLabels(zone string) map[string]any {
	out := labelsCopy()
	out["auth-platform/zone"] = zone
	return out
}

// fixtureClusterSG stands for the EKS-created cluster security group: not a
// resource of the stack (the program looks it up).
const fixtureClusterSG = "sg-0c1a55e7c1a55e7c1"

// addZoneDeployment adds the auth Deployment of one zone, as the auth
// service registers one per zone.
func (f *policyFixture) addZoneDeployment(key, zone string, replicas int, profile string) {
	meta := map[string]any{"name": "auth-" + zone, "namespace": "auth", "labels": zoneLabels(zone)}
	f.add(key, "kubernetes:apps/v1:Deployment", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
		"spec": map[string]any{
			"replicas": replicas,
			"selector": map[string]any{"matchLabels": zoneLabels(zone)},
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxUnavailable": 0, "maxSurge": 1}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": zoneLabels(zone)},
				"spec": map[string]any{
					"serviceAccountName":            "auth",
					"terminationGracePeriodSeconds": 90,
					"containers":                    []any{authContainer()},
				}}}})
	f.r(key).DependsOn = []string{"tgb", "svc", "sgp", profile}
}

// newPolicyFixture returns the compliant base stack.
func newPolicyFixture() *policyFixture {
	f := &policyFixture{res: map[string]*fixtureResource{}}
	subnet := func(az, cidr string, public bool) map[string]any {
		tags := map[string]any{"kubernetes.io/cluster/demo": "shared"}
		if public {
			tags["kubernetes.io/role/elb"] = "1"
		} else {
			tags["kubernetes.io/role/internal-elb"] = "1"
		}
		return map[string]any{"vpcId": fixtureRef("vpc"), "availabilityZone": az, "cidrBlock": cidr, "mapPublicIpOnLaunch": false, "tags": tags}
	}
	ingress := func(sg string, port int) map[string]any {
		return map[string]any{"securityGroupId": fixtureRef(sg), "cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": port, "toPort": port}
	}
	fargateExec := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},` +
		`"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:eks:us-east-1:123456789012:fargateprofile/demo/*"}}}]}`

	f.add("vpc", "aws:ec2/vpc:Vpc", map[string]any{"cidrBlock": "10.0.0.0/16"})
	f.add("igw", "aws:ec2/internetGateway:InternetGateway", map[string]any{"vpcId": fixtureRef("vpc")})
	f.add("private-a", "aws:ec2/subnet:Subnet", subnet("us-east-1a", "10.0.0.0/19", false))
	f.add("private-b", "aws:ec2/subnet:Subnet", subnet("us-east-1b", "10.0.32.0/19", false))
	f.add("public-a", "aws:ec2/subnet:Subnet", subnet("us-east-1a", "10.0.224.0/22", true))
	f.add("public-b", "aws:ec2/subnet:Subnet", subnet("us-east-1b", "10.0.228.0/22", true))
	f.add("public-rt", "aws:ec2/routeTable:RouteTable", map[string]any{"vpcId": fixtureRef("vpc")})
	f.add("public-default", "aws:ec2/route:Route", map[string]any{"routeTableId": fixtureRef("public-rt"), "destinationCidrBlock": "0.0.0.0/0", "gatewayId": fixtureRef("igw")})
	f.add("public-a-rt", "aws:ec2/routeTableAssociation:RouteTableAssociation", map[string]any{"subnetId": fixtureRef("public-a"), "routeTableId": fixtureRef("public-rt")})
	f.add("private-rt", "aws:ec2/routeTable:RouteTable", map[string]any{"vpcId": fixtureRef("vpc")})
	f.add("private-a-rt", "aws:ec2/routeTableAssociation:RouteTableAssociation", map[string]any{"subnetId": fixtureRef("private-a"), "routeTableId": fixtureRef("private-rt")})

	f.add("alb-sg", "aws:ec2/securityGroup:SecurityGroup", map[string]any{"vpcId": fixtureRef("vpc"), "description": "ALB"})
	f.add("alb-in-80", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", ingress("alb-sg", 80))
	f.add("alb-in-443", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", ingress("alb-sg", 443))
	f.add("pods-sg", "aws:ec2/securityGroup:SecurityGroup", map[string]any{"vpcId": fixtureRef("vpc"), "description": "pods"})
	f.add("pods-from-alb", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", map[string]any{
		"securityGroupId": fixtureRef("pods-sg"), "referencedSecurityGroupId": fixtureRef("alb-sg"), "ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080})
	// The data store's group admits the auth pods' group only.
	f.add("cache-sg", "aws:ec2/securityGroup:SecurityGroup", map[string]any{"vpcId": fixtureRef("vpc"), "description": "sessions"})
	f.add("cache-from-pods", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", map[string]any{
		"securityGroupId": fixtureRef("cache-sg"), "referencedSecurityGroupId": fixtureRef("pods-sg"), "ipProtocol": "tcp", "fromPort": 6379, "toPort": 6379})
	f.add("alb", "aws:lb/loadBalancer:LoadBalancer", map[string]any{
		"loadBalancerType": "application", "internal": false,
		"securityGroups": []any{fixtureRef("alb-sg")}, "subnets": []any{fixtureRef("public-a"), fixtureRef("public-b")}})
	f.add("tg", "aws:lb/targetGroup:TargetGroup", map[string]any{
		"targetType": "ip", "port": 8080, "protocol": "HTTP", "vpcId": fixtureRef("vpc"), "deregistrationDelay": 30,
		"healthCheck": map[string]any{"path": "/health", "port": "8080"}})
	f.add("http", "aws:lb/listener:Listener", map[string]any{
		"loadBalancerArn": fixtureRef("alb"), "port": 80, "protocol": "HTTP",
		"defaultActions": []any{map[string]any{"type": "forward", "targetGroupArn": fixtureRef("tg")}}})

	f.add("pod-exec", "aws:iam/role:Role", map[string]any{"assumeRolePolicy": fargateExec})
	f.add("irsa", "aws:iam/role:Role", map[string]any{"assumeRolePolicy": irsaTrust(irsaCondition("StringEquals", "system:serviceaccount:auth:auth"))})
	profile := func(selectors []any, subnets ...string) map[string]any {
		var ids []any
		for _, sn := range subnets {
			ids = append(ids, fixtureRef(sn))
		}
		return map[string]any{"clusterName": "demo", "podExecutionRoleArn": fixtureRef("pod-exec"), "selectors": selectors, "subnetIds": ids}
	}
	f.add("fp-coredns", "aws:eks/fargateProfile:FargateProfile", profile([]any{map[string]any{"namespace": "kube-system", "labels": map[string]any{"k8s-app": "kube-dns"}}},
		"private-a", "private-b"))
	// One auth profile per zone, each on that zone's one subnet.
	zoneSelector := func(zone string) []any {
		return []any{map[string]any{"namespace": "auth", "labels": map[string]any{"auth-platform/zone": zone}}}
	}
	f.add("fp-auth", "aws:eks/fargateProfile:FargateProfile", profile(zoneSelector("us-east-1a"), "private-a"))
	f.r("fp-auth").DependsOn = []string{"fp-coredns"}
	f.add("fp-auth-b", "aws:eks/fargateProfile:FargateProfile", profile(zoneSelector("us-east-1b"), "private-b"))
	f.r("fp-auth-b").DependsOn = []string{"fp-auth"}

	f.add("sessions", "aws:elasticache/replicationGroup:ReplicationGroup", map[string]any{
		"replicationGroupId": "demo-sessions", "description": "sessions", "engine": "valkey", "engineVersion": "8.0", "nodeType": "cache.r7g.large",
		"clusterMode": "enabled", "automaticFailoverEnabled": true, "multiAzEnabled": true, "numNodeGroups": 2, "replicasPerNodeGroup": 1,
		"transitEncryptionEnabled": true, "atRestEncryptionEnabled": true, "authToken": fixtureSecret{"not-a-real-token"},
		"securityGroupIds": []any{fixtureRef("cache-sg")}})
	f.add("aurora", "aws:rds/cluster:Cluster", map[string]any{
		"clusterIdentifier": "demo-aurora", "engine": "aurora-postgresql", "engineVersion": "16.6", "engineMode": "provisioned",
		"storageEncrypted": true, "backupRetentionPeriod": 7, "deletionProtection": false, "manageMasterUserPassword": true,
		"availabilityZones": []any{"us-east-1a", "us-east-1b", "us-east-1c"}})
	instance := func(az string) map[string]any {
		return map[string]any{"clusterIdentifier": fixtureRef("aurora"), "availabilityZone": az, "instanceClass": "db.r7g.large",
			"engine": "aurora-postgresql", "publiclyAccessible": false}
	}
	f.add("aurora-writer", "aws:rds/clusterInstance:ClusterInstance", instance("us-east-1a"))
	f.add("aurora-reader", "aws:rds/clusterInstance:ClusterInstance", instance("us-east-1b"))
	f.r("aurora-reader").DependsOn = []string{"aurora-writer"}

	meta := func(name string) map[string]any {
		return map[string]any{"name": name, "namespace": "auth", "labels": labelsCopy()}
	}
	f.add("ns", "kubernetes:core/v1:Namespace", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
		"name": "auth", "labels": map[string]any{"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}}})
	f.add("sa", "kubernetes:core/v1:ServiceAccount", map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{
		"name": "auth", "namespace": "auth", "annotations": map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/demo-irsa"}}})
	f.add("config", "kubernetes:core/v1:ConfigMap", map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"namespace": "auth"},
		"data": map[string]any{"PORT": "8080", "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-demo-AbCdEf",
			"SESSION_TOKEN_TTL": "3600"}})
	f.add("svc", "kubernetes:core/v1:Service", map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": meta("auth"),
		"spec": map[string]any{"type": "ClusterIP", "selector": labelsCopy(),
			"ports": []any{map[string]any{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}}}})
	f.add("tgb", "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", map[string]any{"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
		"metadata": meta("auth"),
		"spec": map[string]any{"targetGroupARN": fixtureRef("tg"), "targetType": "ip", "serviceRef": map[string]any{"name": "auth", "port": 80},
			"networking": map[string]any{"ingress": []any{map[string]any{
				"from":  []any{map[string]any{"securityGroup": map[string]any{"groupID": fixtureRef("alb-sg")}}},
				"ports": []any{map[string]any{"port": 8080, "protocol": "TCP"}}}}}}})
	f.add("sgp", "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy", map[string]any{"apiVersion": "vpcresources.k8s.aws/v1beta1",
		"kind": "SecurityGroupPolicy", "metadata": meta("auth"),
		"spec": map[string]any{"podSelector": map[string]any{"matchLabels": labelsCopy()},
			"securityGroups": map[string]any{"groupIds": []any{fixtureRef("pods-sg"), fixtureClusterSG}}}})
	// Three pods over two zones, one Deployment per zone.
	f.addZoneDeployment("deploy", "us-east-1a", 2, "fp-auth")
	f.addZoneDeployment("deploy-b", "us-east-1b", 1, "fp-auth-b")
	f.add("pdb", "kubernetes:policy/v1:PodDisruptionBudget", map[string]any{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("auth"),
		"spec": map[string]any{"maxUnavailable": 1, "selector": map[string]any{"matchLabels": labelsCopy()}, "unhealthyPodEvictionPolicy": "AlwaysAllow"}})
	return f
}

// add appends a resource named "demo-<key>".
func (f *policyFixture) add(key, typ string, inputs map[string]any) *fixtureResource {
	r := &fixtureResource{Type: typ, Name: "demo-" + key, Inputs: inputs}
	if _, dup := f.res[key]; !dup {
		f.order = append(f.order, key)
	}
	f.res[key] = r
	return r
}

// r returns a resource by key.
func (f *policyFixture) r(key string) *fixtureResource {
	r, ok := f.res[key]
	if !ok {
		panic("policy fixture: no resource " + key)
	}
	return r
}

// remove drops a resource.
func (f *policyFixture) remove(key string) {
	delete(f.res, key)
	for i, k := range f.order {
		if k == key {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
	for _, r := range f.res {
		var deps []string
		for _, d := range r.DependsOn {
			if d != key {
				deps = append(deps, d)
			}
		}
		r.DependsOn = deps
	}
}

// set puts value at a dotted path of a resource's inputs ("spec.template.
// spec.containers.0.lifecycle"), creating objects on the way.
func (f *policyFixture) set(key, path string, value any) { setPath(f.r(key).Inputs, path, value) }

// del removes the value at a dotted path.
func (f *policyFixture) del(key, path string) { delPath(f.r(key).Inputs, path) }

// setPath puts v at a dotted path of m, creating objects on the way; a
// numeric part indexes a list.
func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	var cur any = m
	for i, p := range parts {
		last := i == len(parts)-1
		switch t := cur.(type) {
		case map[string]any:
			if last {
				t[p] = v
				return
			}
			if _, ok := t[p].(map[string]any); !ok {
				if _, ok := t[p].([]any); !ok {
					t[p] = map[string]any{}
				}
			}
			cur = t[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n >= len(t) {
				panic("bad index " + p + " in " + path)
			}
			if last {
				t[n] = v
				return
			}
			cur = t[n]
		default:
			panic(path + " crosses a scalar")
		}
	}
}

// delPath removes the value at a dotted path of m.
func delPath(m map[string]any, path string) {
	parts := strings.Split(path, ".")
	var cur any = m
	for _, p := range parts[:len(parts)-1] {
		switch t := cur.(type) {
		case map[string]any:
			cur = t[p]
		case []any:
			n, _ := strconv.Atoi(p)
			cur = t[n]
		}
	}
	parent, ok := cur.(map[string]any)
	if !ok {
		panic("cannot delete " + path)
	}
	delete(parent, parts[len(parts)-1])
}

// program registers the fixture's resources in order.
func (f *policyFixture) program(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
	ids := map[string]pulumi.IDOutput{}
	registered := map[string]pulumi.Resource{}
	for _, key := range f.order {
		r := f.res[key]
		inputs, err := fixtureInput(r.Inputs, ids)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		var opts []pulumi.ResourceOption
		if r.Protect {
			opts = append(opts, pulumi.Protect(true))
		}
		var deps []pulumi.Resource
		for _, d := range r.DependsOn {
			deps = append(deps, registered[d])
		}
		if len(deps) > 0 {
			opts = append(opts, pulumi.DependsOn(deps))
		}
		state := &pulumi.CustomResourceState{}
		if err := ctx.RegisterResource(r.Type, r.Name, inputs, state, opts...); err != nil {
			return nil, err
		}
		ids[key] = state.ID()
		registered[key] = state
	}
	return nil, nil
}

// fixtureInput turns plain values into program inputs.
func fixtureInput(v any, ids map[string]pulumi.IDOutput) (pulumi.Input, error) {
	switch t := v.(type) {
	case fixtureRef:
		id, ok := ids[string(t)]
		if !ok {
			return nil, fmt.Errorf("reference to %q before it is registered", string(t))
		}
		return id.ToStringOutput(), nil
	case fixtureSecret:
		in, err := fixtureInput(t.value, ids)
		if err != nil {
			return nil, err
		}
		return pulumi.ToSecret(in), nil
	case map[string]any:
		m := pulumi.Map{}
		for k, e := range t {
			if e == nil {
				continue
			}
			in, err := fixtureInput(e, ids)
			if err != nil {
				return nil, err
			}
			m[k] = in
		}
		return m, nil
	case []any:
		a := pulumi.Array{}
		for _, e := range t {
			in, err := fixtureInput(e, ids)
			if err != nil {
				return nil, err
			}
			a = append(a, in)
		}
		return a, nil
	case string:
		return pulumi.String(t), nil
	case int:
		return pulumi.Int(t), nil
	case float64:
		return pulumi.Float64(t), nil
	case bool:
		return pulumi.Bool(t), nil
	}
	return nil, fmt.Errorf("unsupported fixture value %T", v)
}

// run registers the fixture under the mocks and returns what was recorded.
func (f *policyFixture) run(t *testing.T) *mocks.Result {
	t.Helper()
	res, err := mocks.Run(project, "policy", map[string]string{"aws:region": "us-east-1"}, nil, f.program)
	require.NoError(t, err)
	return res
}

// violations runs the fixture and evaluates the policies the way the
// offline plan does.
func (f *policyFixture) violations(t *testing.T) []plan.Violation {
	t.Helper()
	return evaluateResult(f.run(t))
}

// evaluateResult evaluates the policies over a recorded run, as the plan
// does.
func evaluateResult(res *mocks.Result) []plan.Violation {
	return plan.Evaluate(plan.ResourcesOf(res))
}

// urnOf returns the URN of a fixture resource in a result.
func urnOf(t *testing.T, res *mocks.Result, name string) string {
	t.Helper()
	for _, r := range res.Resources {
		if r.Name == name {
			return r.URN
		}
	}
	require.Failf(t, "no such resource", "%s was not registered", name)
	return ""
}

// byPolicy groups violations by policy name.
func byPolicy(vs []plan.Violation) map[string][]plan.Violation {
	out := map[string][]plan.Violation{}
	for _, v := range vs {
		out[v.Policy] = append(out[v.Policy], v)
	}
	return out
}

// policyNames lists the policies that fired.
func policyNames(vs []plan.Violation) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range vs {
		if !seen[v.Policy] {
			seen[v.Policy] = true
			out = append(out, v.Policy)
		}
	}
	sort.Strings(out)
	return out
}
