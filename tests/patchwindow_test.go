package tests

// Issue 27 items 4 and 5: the patch-window job's configuration keys, what
// the planned job and its RBAC are made of, and the control-plane version
// on the auth pod template.

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

const (
	keyPatchWindow = "auth-platform:patchWindow"
	keyPatchMaxAge = "auth-platform:patchMaxPodAgeDays"
	keyPatchImage  = "auth-platform:patchWindowImage"
)

func TestPatchWindowKeysAreCheckedBeforeAnythingIsCreated(t *testing.T) {
	base, _ := stackConfig(t, "dev")
	for _, tc := range []struct {
		name, key, value, msg string
	}{
		{"not a window", keyPatchWindow, "6-8", "want hh24:mi-hh24:mi in UTC"},
		{"empty window", keyPatchWindow, "06:00-06:00", "the window is empty"},
		{"shorter than a zone's roll", keyPatchWindow, "06:00-06:15", "the window is 15m0s long; one zone's roll may take 20m0s"},
		{"weekly, unknown day", keyPatchWindow, "sun:06:00-sux:07:00", "days are sun, mon"},
		{"weekly, too short", keyPatchWindow, "sat:23:50-sun:00:05", "the window is 15m0s long"},
		{"no age", keyPatchMaxAge, "0", "must be a positive number of days within a month"},
		{"beyond any notice", keyPatchMaxAge, "31", "must be a positive number of days within a month"},
		{"latest", keyPatchImage, "ghcr.io/authplatform/patch-window:latest", "not a pinned image reference"},
		{"untagged", keyPatchImage, "ghcr.io/authplatform/patch-window", "not a pinned image reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, withConfig(base, map[string]string{tc.key: tc.value}), tc.key, tc.msg)
		})
	}

	t.Run("every mistake at once", func(t *testing.T) {
		_, err := stacks.Load(project, "dev", stacks.MapSource(withConfig(base, map[string]string{
			keyPatchWindow: "daily", keyPatchMaxAge: "-1", keyPatchImage: "patch-window:latest",
		})))
		var cerr *stacks.ConfigError
		require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
		var keys []string
		for _, p := range cerr.Problems {
			keys = append(keys, p.Key)
		}
		assert.Subset(t, keys, []string{keyPatchWindow, keyPatchMaxAge, keyPatchImage})
	})
}

func TestPatchWindowDefaults(t *testing.T) {
	cfg, err := stacks.Load(project, "test", stacks.MapSource(map[string]string{
		"aws:region": "us-east-1", "auth-platform:authImage": "ghcr.io/authplatform/auth-service:1.0.0",
	}))
	require.NoError(t, err)
	assert.Equal(t, "06:00-08:00", cfg.Operations.PatchWindow)
	assert.Equal(t, 7, cfg.Operations.PatchMaxPodAgeDays)
	assert.Equal(t, "", cfg.Operations.PatchWindowImage, "the stack builds cmd/patch-window")
}

// cronJobArgs returns the patch-window CronJob of a plan and its
// container's flags by name.
func cronJobArgs(t *testing.T, res *mocks.Result) (*mocks.Resource, map[string]string) {
	t.Helper()
	cron := kubeObject(t, res, "kubernetes:batch/v1:CronJob", "auth-patching", "-patch-cron")
	flags := map[string]string{}
	for _, a := range stringList(t, cron, "spec.jobTemplate.spec.template.spec.containers.0.args") {
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		require.True(t, ok, "flag %q", a)
		flags[k] = v
	}
	return cron, flags
}

// TestPatchWindowJobRollsTheZonesDeployments: in every stack region the
// job starts at the window's opening (UTC), is bounded by the window, rolls
// exactly the region's auth Deployments, and may touch nothing else: list
// pods and get/patch those Deployments by name in the auth namespace, get
// the one notice ConfigMap in its own; it runs on Fargate (a profile
// selects its namespace) with the control-plane version on its pods.
func TestPatchWindowJobRollsTheZonesDeployments(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			cron, flags := cronJobArgs(t, rp.res)
			assert.Equal(t, "0 6 * * *", str(t, cron, "spec.schedule"), "the default window opens at 06:00")
			assert.Equal(t, "Etc/UTC", str(t, cron, "spec.timeZone"))
			assert.Equal(t, "Forbid", str(t, cron, "spec.concurrencyPolicy"))
			assert.EqualValues(t, 7200, value(cron.Inputs, "spec.jobTemplate.spec.activeDeadlineSeconds"), "a run ends with the window")
			assert.Equal(t, "168h0m0s", flags["max-age"])
			assert.Equal(t, "360", flags["window-start"])
			assert.Equal(t, "480", flags["window-end"])
			assert.Equal(t, rp.cfg.AuthNamespace, flags["namespace"])
			assert.Equal(t, rp.cfg.KubernetesVersion,
				value(cron.Inputs, "spec.jobTemplate.spec.template.metadata.annotations.auth-platform/kubernetes-version"))

			// The Deployments it rolls are the region's auth Deployments.
			var deployments []string
			for _, d := range ofType(rp.res, "kubernetes:apps/v1:Deployment") {
				if value(d.Inputs, "metadata.namespace") == rp.cfg.AuthNamespace {
					deployments = append(deployments, str(t, d, "metadata.name"))
					// Item 5: the control-plane version is on every auth
					// pod template, so an upgrade rolls the pods.
					annotations, _ := value(d.Inputs, "spec.template.metadata.annotations").(map[string]interface{})
					assert.Equal(t, rp.cfg.KubernetesVersion, annotations["auth-platform/kubernetes-version"], d.Name)
				}
			}
			require.NotEmpty(t, deployments)
			var rolled []string
			for _, pair := range strings.Split(flags["deployments"], ",") {
				_, name, ok := strings.Cut(pair, "=")
				require.True(t, ok, pair)
				rolled = append(rolled, name)
			}
			assert.ElementsMatch(t, deployments, rolled)

			role := kubeObject(t, rp.res, "kubernetes:rbac.authorization.k8s.io/v1:Role", rp.cfg.AuthNamespace, "-patch-role-auth")
			sort.Strings(deployments)
			assert.Equal(t, []interface{}{
				map[string]interface{}{"apiGroups": []interface{}{""}, "resources": []interface{}{"pods"}, "verbs": []interface{}{"list"}},
				map[string]interface{}{"apiGroups": []interface{}{"apps"}, "resources": []interface{}{"deployments"},
					"resourceNames": toInterfaces(deployments), "verbs": []interface{}{"get", "patch"}},
			}, value(role.Inputs, "rules"))
			notice := kubeObject(t, rp.res, "kubernetes:rbac.authorization.k8s.io/v1:Role", "auth-patching", "-patch-role-notice")
			assert.Equal(t, []interface{}{
				map[string]interface{}{"apiGroups": []interface{}{""}, "resources": []interface{}{"configmaps"},
					"resourceNames": []interface{}{"fargate-patch-notice"}, "verbs": []interface{}{"get"}},
			}, value(notice.Inputs, "rules"))

			selected := false
			for _, p := range ofType(rp.res, "aws:eks/fargateProfile:FargateProfile") {
				sels, _ := value(p.Inputs, "selectors").([]interface{})
				for _, s := range sels {
					selected = selected || s.(map[string]interface{})["namespace"] == "auth-patching"
				}
			}
			assert.True(t, selected, "a Fargate profile runs the job's pods")
		})
	}
}

// TestPatchWindowWeekly: a weekly window opens on its day.
func TestPatchWindowWeekly(t *testing.T) {
	base, secrets := stackConfig(t, "dev")
	res, err := runProgram(t, "dev", withConfig(base, map[string]string{keyPatchWindow: "sat:22:00-sun:02:00", keyPatchMaxAge: "3"}), secrets)
	require.NoError(t, err)
	cron, flags := cronJobArgs(t, res)
	assert.Equal(t, "0 22 * * 6", str(t, cron, "spec.schedule"))
	assert.EqualValues(t, 4*3600, value(cron.Inputs, "spec.jobTemplate.spec.activeDeadlineSeconds"))
	assert.Equal(t, "weekly", flags["window-period"])
	assert.Equal(t, "72h0m0s", flags["max-age"])
}

func toInterfaces(s []string) []interface{} {
	out := make([]interface{}, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
