package kubeapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/authplatform/auth-platform/tests/kubeapi"
)

// The patch-window job and the metrics collector (issue 27) get, from the
// real API server's RBAC authorizer, exactly the rights their package
// comments claim: the dev plan's namespaces, service accounts, Roles and
// RoleBindings are created for real, then SubjectAccessReviews ask what
// each service account may do.
func TestOperationsServiceAccountsHaveLeastPrivilege(t *testing.T) {
	root := repoRoot(t)
	plan := runPlan(t, buildProgram(t, root), root, "dev")
	objects, _, err := kubeapi.Objects(plan)
	require.NoError(t, err)
	cluster := startCluster(t)
	checker, err := kubeapi.NewChecker(cluster.Config)
	require.NoError(t, err)
	ctx := testContext(t)

	// Namespaces first, then the RBAC objects and service accounts.
	var deployments []string
	for pass := 0; pass < 2; pass++ {
		for _, o := range objects {
			kind := o.Manifest.GetKind()
			if kind == "Deployment" && pass == 0 && o.Manifest.GetNamespace() == "auth" {
				deployments = append(deployments, o.Manifest.GetName())
			}
			want := kind == "Namespace"
			if pass == 1 {
				want = kind == "ServiceAccount" || kind == "Role" || kind == "RoleBinding"
			}
			if !want {
				continue
			}
			_, err := checker.Create(ctx, o.Manifest, o.DefaultNamespace)
			require.NoError(t, err, "creating %s", o.URN)
		}
	}
	require.Len(t, deployments, 3, "dev has one auth Deployment per zone")

	client, err := dynamic.NewForConfig(cluster.Config)
	require.NoError(t, err)
	reviews := client.Resource(schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "subjectaccessreviews"})
	allowed := func(t *testing.T, user, verb, group, resource, namespace, name string) bool {
		t.Helper()
		review := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
			"spec": map[string]any{
				"user":   user,
				"groups": []any{"system:serviceaccounts", "system:serviceaccounts:" + strings.Split(user, ":")[2], "system:authenticated"},
				"resourceAttributes": map[string]any{
					"verb": verb, "group": group, "resource": resource, "namespace": namespace, "name": name,
				},
			},
		}}
		out, err := reviews.Create(ctx, review, metav1.CreateOptions{})
		require.NoError(t, err)
		ok, _, _ := unstructured.NestedBool(out.Object, "status", "allowed")
		return ok
	}

	type access struct {
		verb, group, resource, namespace, name string
		allowed                                bool
	}
	const job = "system:serviceaccount:auth-patching:patch-window"
	const collector = "system:serviceaccount:auth-metrics:collector"
	cases := map[string][]access{job: {
		{"list", "", "pods", "auth", "", true},
		{"get", "", "configmaps", "auth-patching", "fargate-patch-notice", true},
		{"get", "", "configmaps", "auth-patching", "other", false},
		{"list", "", "configmaps", "auth-patching", "", false},
		{"patch", "apps", "deployments", "auth", "not-an-auth-deployment", false},
		{"list", "apps", "deployments", "auth", "", false},
		{"delete", "", "pods", "auth", "", false},
		{"create", "", "pods/eviction", "auth", "", false},
		{"get", "", "secrets", "auth", "", false},
		{"list", "", "pods", "kube-system", "", false},
		{"patch", "apps", "deployments", "kube-system", deployments[0], false},
	}, collector: {
		{"list", "", "pods", "auth", "", true},
		{"watch", "", "pods", "auth", "", true},
		{"get", "", "pods", "auth", "", false},
		{"list", "", "pods", "kube-system", "", false},
		{"list", "", "pods", "auth-patching", "", false},
		{"list", "", "services", "auth", "", false},
		{"get", "", "secrets", "auth", "", false},
		{"list", "", "nodes", "", "", false},
	}}
	for _, d := range deployments {
		cases[job] = append(cases[job],
			access{"get", "apps", "deployments", "auth", d, true},
			access{"patch", "apps", "deployments", "auth", d, true},
			access{"delete", "apps", "deployments", "auth", d, false},
			access{"update", "apps", "deployments", "auth", d, false})
	}
	for user, want := range cases {
		t.Run(strings.Split(user, ":")[3], func(t *testing.T) {
			for _, a := range want {
				assert.Equal(t, a.allowed, allowed(t, user, a.verb, a.group, a.resource, a.namespace, a.name),
					"%s %s.%s %s/%s", a.verb, a.resource, a.group, a.namespace, a.name)
			}
		})
	}
}
