package kubeapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/authplatform/auth-platform/tests/kubeapi"
)

// The check can fail: each object below breaks one rule of a valid
// baseline, and the API server rejects it with a message naming the rule.
// The baselines are accepted first, so each rejection is the defect's.
func TestTheAPIServerRejectsBrokenObjects(t *testing.T) {
	checker := newChecker(t)
	ctx := testContext(t)
	_, err := checker.Create(ctx, namespace(), "")
	require.NoError(t, err)

	baselines := map[string]*unstructured.Unstructured{
		"Deployment":          deployment(),
		"PodDisruptionBudget": podDisruptionBudget(),
		"TargetGroupBinding":  targetGroupBinding(),
		"SecurityGroupPolicy": securityGroupPolicy(),
	}
	for kind, object := range baselines {
		warnings, err := checker.DryRun(ctx, object, "")
		require.NoError(t, err, "the baseline %s must be accepted", kind)
		require.Empty(t, warnings, "the baseline %s must draw no warning", kind)
	}

	cases := []struct {
		name   string
		object *unstructured.Unstructured
		// reason is the Status reason: BadRequest for a body that does not
		// decode (strict), Invalid for one that fails validation.
		reason metav1.StatusReason
		want   string
	}{
		{
			name:   "a field unknown to a built-in kind",
			object: with(deployment(), set("spec.replicaz", int64(3))),
			reason: metav1.StatusReasonBadRequest,
			want:   `unknown field "spec.replicaz"`,
		},
		{
			name:   "a field unknown to the TargetGroupBinding CRD",
			object: with(targetGroupBinding(), set("spec.targetGroupArn", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/auth/0123456789abcdef")),
			reason: metav1.StatusReasonBadRequest,
			want:   `unknown field "spec.targetGroupArn"`,
		},
		{
			name:   "a Deployment whose selector does not match its template labels",
			object: with(deployment(), set("spec.template.metadata.labels", map[string]any{"app.kubernetes.io/name": "other"})),
			reason: metav1.StatusReasonInvalid,
			want:   "`selector` does not match template `labels`",
		},
		{
			name:   "a PodDisruptionBudget with both minAvailable and maxUnavailable",
			object: with(podDisruptionBudget(), set("spec.minAvailable", int64(1))),
			reason: metav1.StatusReasonInvalid,
			want:   "minAvailable and maxUnavailable cannot be both set",
		},
		{
			name:   "a TargetGroupBinding with a nodeSelector and targetType ip",
			object: with(targetGroupBinding(), set("spec.nodeSelector", map[string]any{"matchLabels": map[string]any{"eks.amazonaws.com/compute-type": "fargate"}})),
			reason: metav1.StatusReasonInvalid,
			want:   "TargetGroupBinding cannot set NodeSelector when TargetType is ip",
		},
		{
			name:   "a TargetGroupBinding without serviceRef",
			object: with(targetGroupBinding(), remove("spec.serviceRef")),
			reason: metav1.StatusReasonInvalid,
			want:   "spec.serviceRef: Required value",
		},
		{
			name:   "a TargetGroupBinding whose serviceRef has no port",
			object: with(targetGroupBinding(), remove("spec.serviceRef.port")),
			reason: metav1.StatusReasonInvalid,
			want:   "spec.serviceRef.port: Required value",
		},
		{
			name:   "a TargetGroupBinding with a targetType outside instance|ip",
			object: with(targetGroupBinding(), set("spec.targetType", "pod")),
			reason: metav1.StatusReasonInvalid,
			want:   `spec.targetType: Unsupported value: "pod": supported values: "instance", "ip"`,
		},
		{
			name:   "a TargetGroupBinding with an ipAddressType outside ipv4|ipv6",
			object: with(targetGroupBinding(), set("spec.ipAddressType", "dualstack")),
			reason: metav1.StatusReasonInvalid,
			want:   `spec.ipAddressType: Unsupported value: "dualstack": supported values: "ipv4", "ipv6"`,
		},
		{
			name:   "a TargetGroupBinding with neither targetGroupARN nor targetGroupName",
			object: with(targetGroupBinding(), remove("spec.targetGroupARN")),
			reason: metav1.StatusReasonInvalid,
			want:   "TargetGroupBinding must specify these fields: either TargetGroupARN or TargetGroupName",
		},
		{
			name:   "a TargetGroupBinding bound to a load balancer's ARN instead of a target group's",
			object: with(targetGroupBinding(), set("spec.targetGroupARN", "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/auth/0123456789abcdef")),
			reason: metav1.StatusReasonInvalid,
			want:   "targetGroupARN must be an ELBv2 target group ARN",
		},
		{
			name: "a TargetGroupBinding port with a protocol outside TCP|UDP",
			object: with(targetGroupBinding(), set("spec.networking.ingress", []any{map[string]any{
				"from":  []any{map[string]any{"securityGroup": map[string]any{"groupID": "sg-0123456789abcdef0"}}},
				"ports": []any{map[string]any{"protocol": "HTTP", "port": int64(8080)}},
			}})),
			reason: metav1.StatusReasonInvalid,
			want:   `spec.networking.ingress[0].ports[0].protocol: Unsupported value: "HTTP"`,
		},
		{
			name:   "a SecurityGroupPolicy without a group",
			object: with(securityGroupPolicy(), set("spec.securityGroups.groupIds", []any{})),
			reason: metav1.StatusReasonInvalid,
			want:   "spec.securityGroups.groupIds",
		},
		{
			name:   "a SecurityGroupPolicy field misspelt",
			object: with(securityGroupPolicy(), set("spec.securityGroups.groupIDs", []any{"sg-0123456789abcdef0"})),
			reason: metav1.StatusReasonBadRequest,
			want:   `unknown field "spec.securityGroups.groupIDs"`,
		},
		{
			name: "a TargetGroupBinding peer that is both an ipBlock and a securityGroup",
			object: with(targetGroupBinding(), set("spec.networking.ingress", []any{map[string]any{
				"from": []any{map[string]any{
					"securityGroup": map[string]any{"groupID": "sg-0123456789abcdef0"},
					"ipBlock":       map[string]any{"cidr": "10.0.0.0/16"},
				}},
				"ports": []any{map[string]any{"protocol": "TCP", "port": int64(8080)}},
			}})),
			reason: metav1.StatusReasonInvalid,
			want:   "a networking peer sets ipBlock or securityGroup, not both",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checker.DryRun(ctx, tc.object, "")
			require.Error(t, err, "the API server accepted it")
			t.Logf("server: %v", err)
			assert.Equal(t, tc.reason, apierrors.ReasonForError(err))
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	// Pod Security admission only warns about a workload whose pods it
	// will refuse; the stack check fails on any warning, so this is a
	// failure too.
	t.Run("a Deployment whose pods the namespace's Pod Security level refuses draws a warning", func(t *testing.T) {
		_, err := checker.Create(ctx, with(namespace(), set("metadata.name", "kubeapi-restricted"),
			set("metadata.labels", map[string]any{"pod-security.kubernetes.io/enforce": "restricted"})), "")
		require.NoError(t, err)
		warnings, err := checker.DryRun(ctx, with(deployment(), set("metadata.namespace", "kubeapi-restricted")), "")
		require.NoError(t, err)
		t.Logf("server: %v", warnings)
		require.Len(t, warnings, 1)
		assert.Contains(t, warnings[0], `would violate PodSecurity "restricted:latest"`)
		assert.Contains(t, warnings[0], "allowPrivilegeEscalation != false")
	})
}

const testNamespace = "kubeapi-rejects"

func namespace() *unstructured.Unstructured {
	return mustYAML(`
apiVersion: v1
kind: Namespace
metadata:
  name: ` + testNamespace)
}

func deployment() *unstructured.Unstructured {
	return mustYAML(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: auth
  namespace: ` + testNamespace + `
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: auth
  template:
    metadata:
      labels:
        app.kubernetes.io/name: auth
    spec:
      containers:
        - name: auth
          image: ghcr.io/authplatform/auth-service:1.0.0
          ports:
            - name: http
              containerPort: 8080
`)
}

func podDisruptionBudget() *unstructured.Unstructured {
	return mustYAML(`
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: auth
  namespace: ` + testNamespace + `
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: auth
`)
}

func targetGroupBinding() *unstructured.Unstructured {
	return mustYAML(`
apiVersion: elbv2.k8s.aws/v1beta1
kind: TargetGroupBinding
metadata:
  name: auth
  namespace: ` + testNamespace + `
spec:
  targetGroupARN: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/auth-dev-use1-tg/0123456789abcdef
  targetType: ip
  ipAddressType: ipv4
  serviceRef:
    name: auth
    port: 80
  networking:
    ingress:
      - from:
          - securityGroup:
              groupID: sg-0123456789abcdef0
        ports:
          - protocol: TCP
            port: 8080
`)
}

// securityGroupPolicy is shaped as the auth service registers it: the pods'
// own group and the cluster's.
func securityGroupPolicy() *unstructured.Unstructured {
	return mustYAML(`
apiVersion: vpcresources.k8s.aws/v1beta1
kind: SecurityGroupPolicy
metadata:
  name: auth
  namespace: ` + testNamespace + `
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: auth
  securityGroups:
    groupIds: [sg-0123456789abcdef0, sg-0fedcba9876543210]
`)
}

func mustYAML(s string) *unstructured.Unstructured {
	objs, err := kubeapi.DecodeYAML([]byte(s))
	if err != nil || len(objs) != 1 {
		panic("bad test manifest: " + s)
	}
	return objs[0]
}

type mutation func(*unstructured.Unstructured)

func with(o *unstructured.Unstructured, mutations ...mutation) *unstructured.Unstructured {
	for _, m := range mutations {
		m(o)
	}
	return o
}

// set sets the field at a dotted path (map keys only).
func set(path string, value any) mutation {
	return func(o *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(o.Object, value, strings.Split(path, ".")...); err != nil {
			panic(err)
		}
	}
}

func remove(path string) mutation {
	return func(o *unstructured.Unstructured) {
		unstructured.RemoveNestedField(o.Object, strings.Split(path, ".")...)
	}
}
