package kubeapi_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/authplatform/auth-platform/tests/kubeapi"
)

func TestTypeTokensMapToTheirGroupVersionKind(t *testing.T) {
	cases := []struct {
		token string
		want  schema.GroupVersionKind
	}{
		{"kubernetes:core/v1:Namespace", schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}},
		{"kubernetes:core/v1:ConfigMap", schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}},
		{"kubernetes:apps/v1:Deployment", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}},
		{"kubernetes:policy/v1:PodDisruptionBudget", schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}},
		{"kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", schema.GroupVersionKind{Group: "elbv2.k8s.aws", Version: "v1beta1", Kind: "TargetGroupBinding"}},
	}
	for _, tc := range cases {
		t.Run(tc.token, func(t *testing.T) {
			got, err := kubeapi.GroupVersionKind(tc.token)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	for _, bad := range []string{"aws:iam/role:Role", "kubernetes:Namespace", "kubernetes:v1:Namespace", "kubernetes:core/v1:"} {
		_, err := kubeapi.GroupVersionKind(bad)
		assert.Error(t, err, bad)
	}
}

// The fixture holds every kind the auth service creates, a Secret, the
// LB controller's Helm release, a Kubernetes provider and an AWS resource.
func TestObjectsTakesEveryKubernetesObjectAndNamesWhatItLeavesOut(t *testing.T) {
	objects, skipped, err := kubeapi.Objects(fixturePlan(t))
	require.NoError(t, err)

	var kinds []string
	for _, o := range objects {
		kinds = append(kinds, o.Manifest.GetAPIVersion()+" "+o.Manifest.GetKind())
	}
	assert.Equal(t, []string{
		"apps/v1 Deployment",
		"v1 ConfigMap",
		"v1 Namespace",
		"v1 Service",
		"v1 ServiceAccount",
		"v1 Secret",
		"elbv2.k8s.aws/v1beta1 TargetGroupBinding",
		"policy/v1 PodDisruptionBudget",
	}, kinds, "plan order, providers and non-Kubernetes resources left out")

	require.Len(t, skipped, 1)
	assert.Equal(t, "kubernetes:helm.sh/v3:Release", skipped[0].Type)
	assert.Contains(t, skipped[0].Reason, "out of scope")
}

// Values the plan cannot know offline get stand-ins shaped like the real
// thing, and each one is listed, so nothing is filled in silently.
func TestUnknownValuesGetRealisticPlaceholders(t *testing.T) {
	objects, _, err := kubeapi.Objects(fixturePlan(t))
	require.NoError(t, err)
	byKind := map[string]kubeapi.Object{}
	for _, o := range objects {
		byKind[o.Manifest.GetKind()] = o
	}

	cases := []struct {
		name, kind string
		path       []string
		want       any
	}{
		{"an auto-named object takes the name in the plan's ID", "ConfigMap", []string{"metadata", "name"}, "auth-fix-use1-auth-config-ac5b1c59"},
		{"an unknown string becomes a plain placeholder", "ConfigMap", []string{"data", "DB_HOST"}, "kubeapi-placeholder"},
		{"a secret in a ConfigMap stays a string", "ConfigMap", []string{"data", "SESSION_SIGNING_KEY"}, "[secret]"},
		{"a secret in Secret.data is base64-encoded", "Secret", []string{"data", "signing-key"}, "W3NlY3JldF0="},
		{"a secret in Secret.stringData stays a string", "Secret", []string{"stringData", "redis-auth"}, "[secret]"},
		{"an unknown role ARN becomes an IAM role ARN", "ServiceAccount", []string{"metadata", "annotations", "eks.amazonaws.com/role-arn"}, "arn:aws:iam::123456789012:role/kubeapi-placeholder"},
		{"an unknown target group ARN becomes a target group ARN", "TargetGroupBinding", []string{"spec", "targetGroupARN"}, "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/kubeapi-placeholder/0123456789abcdef"},
		{"integers stay integers", "Service", []string{"spec", "ports"}, []any{map[string]any{"name": "http", "port": int64(80), "protocol": "TCP", "targetPort": int64(8080)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := byKind[tc.kind]
			require.True(t, ok, "no %s in the fixture", tc.kind)
			got, found, err := unstructured.NestedFieldNoCopy(o.Manifest.Object, tc.path...)
			require.NoError(t, err)
			require.True(t, found)
			assert.Equal(t, tc.want, got)
		})
	}

	assert.Contains(t, byKind["TargetGroupBinding"].Placeholders,
		"spec.networking.ingress[0].from[0].securityGroup.groupID: [unknown] -> sg-0123456789abcdef0 (unknown offline)")
	assert.Len(t, byKind["Deployment"].Placeholders, 0, "a fully known object needs no placeholder")
}

func TestAnAPIVersionThatContradictsTheTypeTokenIsAnError(t *testing.T) {
	_, err := kubeapi.ObjectOf(kubeapi.Resource{
		URN:    "urn:pulumi:fixture::auth-platform::kubernetes:apps/v1:Deployment::x",
		Type:   "kubernetes:apps/v1:Deployment",
		Inputs: map[string]any{"apiVersion": "extensions/v1beta1", "kind": "Deployment"},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "inputs say apiVersion extensions/v1beta1")
}

// The fixture plan, made for this check, is accepted as a whole: the
// server-side half of the pipeline works before the shipped stacks are
// checked.
func TestTheFixturePlanIsAcceptedByTheAPIServer(t *testing.T) {
	objects, _, err := kubeapi.Objects(fixturePlan(t))
	require.NoError(t, err)
	checker := newChecker(t)
	for _, result := range checker.Check(testContext(t), objects) {
		assert.NoError(t, result.Err, "fixture: the API server rejected %s", result.Object.URN)
		assert.Empty(t, result.Warnings, "fixture: the API server warned about %s", result.Object.URN)
	}
}

func fixturePlan(t *testing.T) *kubeapi.Plan {
	t.Helper()
	b, err := os.ReadFile("testdata/plan.json")
	require.NoError(t, err)
	plan, err := kubeapi.ParsePlan(b)
	require.NoError(t, err)
	return plan
}
