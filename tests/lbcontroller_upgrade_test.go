package tests

// The LB controller survives its own upgrades and chart bumps (issue 11.7):
// a stable webhook certificate, the chart's CRDs applied by the program at
// the pinned version, and a least-privilege controller container.

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/authplatform/auth-platform/components/lbcontroller"
)

const crdFileType = "kubernetes:yaml/v2:ConfigFile"

// TestControllerUpgradesKeepTheWebhookCertificate: the chart generates a
// new CA and caBundle on every render unless keepTLSSecret reuses the
// Secret (aws/eks-charts stable/aws-load-balancer-controller
// templates/_helpers.tpl, webhookCerts; values.yaml default false). With
// the Fail webhooks, a new certificate refuses pods until the pods reload.
func TestControllerUpgradesKeepTheWebhookCertificate(t *testing.T) {
	for _, rp := range regionPlans(t) {
		rel := one(t, rp.res, releaseType, "-lbc")
		assert.Equal(t, true, value(rel.Inputs, "values.keepTLSSecret"), rp.name)
		assert.Equal(t, "Fail", value(rel.Inputs, "values.podMutatorWebhookConfig.failurePolicy"),
			"%s: why the certificate must not change under running pods", rp.name)
	}
}

// TestControllerContainerIsLeastPrivilege: all capabilities dropped and the
// runtime's default seccomp profile, on top of the chart's non-root,
// read-only defaults (values.yaml at 3.5.0: securityContext
// readOnlyRootFilesystem, runAsNonRoot, allowPrivilegeEscalation false;
// capabilities commented out; no seccompProfile).
func TestControllerContainerIsLeastPrivilege(t *testing.T) {
	for _, rp := range regionPlans(t) {
		rel := one(t, rp.res, releaseType, "-lbc")
		sc, ok := value(rel.Inputs, "values.securityContext").(map[string]interface{})
		require.True(t, ok, "%s: securityContext values", rp.name)
		assert.Equal(t, map[string]interface{}{"drop": []interface{}{"ALL"}}, sc["capabilities"], rp.name)
		assert.Equal(t, map[string]interface{}{"type": "RuntimeDefault"}, sc["seccompProfile"], rp.name)
		assert.Equal(t, false, sc["allowPrivilegeEscalation"], rp.name)
		assert.Equal(t, true, sc["runAsNonRoot"], rp.name)
		assert.Equal(t, true, sc["readOnlyRootFilesystem"], rp.name)
		assert.Equal(t, map[string]interface{}{"type": "RuntimeDefault"},
			value(rel.Inputs, "values.podSecurityContext.seccompProfile"), rp.name)
		assert.Equal(t, float64(65534), value(rel.Inputs, "values.podSecurityContext.fsGroup"),
			"%s: the chart's default fsGroup stays", rp.name)
	}
}

// TestControllerCRDsComeFromThePinnedModule (issue 23, D-5): Helm installs
// crds/ once and never upgrades it, so the release skips them and depends
// on the CRDs the program applies: the chart's own crds/crds.yaml, read from
// the controller's Go module at the chart's version, whose content is pinned
// twice (the module's go.sum hash, the file's sha256). The module's
// Chart.yaml says it is the chart the release installs.
func TestControllerCRDsComeFromThePinnedModule(t *testing.T) {
	assert.Equal(t, "v"+lbcontroller.ChartVersion, lbcontroller.AppVersion, "chart 3.x ships the controller of the same version")
	assert.Equal(t, lbcontroller.AppVersion, lbcontroller.ControllerModule.Version, "the module at the controller's tag")
	assert.Equal(t, lbcontroller.ControllerModule, lbcontroller.CRDs.Module)
	assert.Equal(t, "helm/aws-load-balancer-controller/crds/crds.yaml", lbcontroller.CRDs.Name)

	mod := fetchControllerModule(t)
	var chart struct {
		Name       string `yaml:"name"`
		Version    string `yaml:"version"`
		AppVersion string `yaml:"appVersion"`
	}
	require.NoError(t, yaml.Unmarshal(moduleFile(t, mod, lbcontroller.ChartDir+"/Chart.yaml"), &chart))
	assert.Equal(t, lbcontroller.ChartName, chart.Name)
	assert.Equal(t, lbcontroller.ChartVersion, chart.Version, "the module carries the chart the release installs")
	assert.Equal(t, lbcontroller.AppVersion, chart.AppVersion)

	want := moduleFile(t, mod, lbcontroller.CRDs.Name)
	assert.Equal(t, lbcontroller.CRDs.SHA256, lbcontroller.SHA256(want), "the pin is the chart's file")
	for _, crd := range []string{"targetgroupbindings.elbv2.k8s.aws", "ingressclassparams.elbv2.k8s.aws"} {
		assert.Contains(t, string(want), "name: "+crd)
	}

	plans := regionPlans(t)
	require.NotEmpty(t, plans)
	for _, rp := range plans {
		t.Run(rp.name, func(t *testing.T) {
			rel := one(t, rp.res, releaseType, "-lbc")
			assert.Equal(t, true, value(rel.Inputs, "skipCrds"), "Helm must not own the CRDs")
			files := ofType(rp.res, crdFileType)
			require.Len(t, files, 1)
			crds := files[0]
			applied, err := os.ReadFile(str(t, crds, "file"))
			require.NoError(t, err)
			assert.Equal(t, string(want), string(applied), "the CRDs applied are the chart's, byte for byte")
			assert.NotContains(t, str(t, crds, "file"), "://", "nothing is fetched at deploy time")
			assert.Contains(t, rel.DependsOn, crds.URN, "the release waits for the CRDs")
			assert.Equal(t, rel.Parent, crds.Parent)
			assert.Equal(t, rel.Providers["kubernetes"], crds.Providers["kubernetes"], "the CRDs go to the release's cluster")
			tgb := one(t, rp.res, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "-tgb")
			assert.Contains(t, tgb.DependsOn, rel.URN, "bindings wait for the controller (and so for its CRDs)")
		})
	}
}

// TestControllerCRDPinsRefuseWhatTheyDoNotPin: a module whose content is not
// the pinned one, or a CRD file changed in the module cache, is refused;
// a failed download says what failed.
func TestControllerCRDPinsRefuseWhatTheyDoNotPin(t *testing.T) {
	real := fetchControllerModule(t)
	realDownload, err := lbcontroller.GoModDownload(context.Background(), lbcontroller.ControllerModule)
	require.NoError(t, err)

	// A copy of the module's zip with one byte of crds.yaml changed.
	tamperedZip := filepath.Join(t.TempDir(), "tampered.zip")
	rewriteZip(t, realDownload.Zip, tamperedZip, real.Module.String()+"/"+lbcontroller.CRDs.Name)
	// A module cache whose extracted crds.yaml was changed after the
	// download (the zip still verifies).
	tamperedDir := t.TempDir()
	target := filepath.Join(tamperedDir, filepath.FromSlash(lbcontroller.CRDs.Name))
	require.NoError(t, os.MkdirAll(filepath.Dir(target), 0o755))
	crds := moduleFile(t, real, lbcontroller.CRDs.Name)
	require.NoError(t, os.WriteFile(target, append([]byte("# changed\n"), crds...), 0o644))

	fixed := func(d lbcontroller.Download, err error) lbcontroller.Downloader {
		return func(context.Context, lbcontroller.Module) (lbcontroller.Download, error) { return d, err }
	}
	for _, tc := range []struct {
		name     string
		download lbcontroller.Downloader
		refusal  string // "" when accepted
	}{
		{"the module as pinned", fixed(realDownload, nil), ""},
		{"other content for the pinned version", fixed(lbcontroller.Download{Zip: tamperedZip, Dir: realDownload.Dir}, nil),
			"but " + lbcontroller.ControllerModule.Sum + " is pinned: refusing it"},
		{"a changed CRD file in the module cache", fixed(lbcontroller.Download{Zip: realDownload.Zip, Dir: tamperedDir}, nil),
			"but " + lbcontroller.CRDs.SHA256 + " is pinned: refusing it"},
		{"no proxy answers", fixed(lbcontroller.Download{}, errors.New("dial tcp: lookup proxy.golang.org: no such host")),
			"fetching sigs.k8s.io/aws-load-balancer-controller/v3@" + lbcontroller.AppVersion + " through the Go module proxy (go env GOPROXY) failed: dial tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, content, err := lbcontroller.Resolve(context.Background(), lbcontroller.CRDs, tc.download)
			if tc.refusal == "" {
				require.NoError(t, err)
				assert.Equal(t, crds, content)
				assert.FileExists(t, path)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.refusal)
			assert.Empty(t, path)
		})
	}
}

// TestControllerPolicyIsTheModulesIAMPolicy: Policy() is, statement for
// statement, docs/install/iam_policy.json of the controller's module at
// AppVersion, so a chart bump without a policy update fails here.
func TestControllerPolicyIsTheModulesIAMPolicy(t *testing.T) {
	mod := fetchControllerModule(t)
	var upstream map[string]interface{}
	require.NoError(t, json.Unmarshal(moduleFile(t, mod, "docs/install/iam_policy.json"), &upstream))
	var ours map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(lbcontroller.Policy("aws").MustJSON()), &ours))
	assert.ElementsMatch(t, normalStatements(t, upstream), normalStatements(t, ours))
}

// TestControllerValuesAreTheChartsValues: every value the release sets is
// one the chart declares (values.yaml of the module's chart), so a renamed
// value cannot be ignored in silence.
func TestControllerValuesAreTheChartsValues(t *testing.T) {
	mod := fetchControllerModule(t)
	var declared map[string]interface{}
	require.NoError(t, yaml.Unmarshal(moduleFile(t, mod, lbcontroller.ChartDir+"/values.yaml"), &declared))
	for _, rp := range regionPlans(t) {
		rel := one(t, rp.res, releaseType, "-lbc")
		values, ok := value(rel.Inputs, "values").(map[string]interface{})
		require.True(t, ok, rp.name)
		for key := range values {
			assert.Contains(t, declared, key, "%s: the chart declares %s", rp.name, key)
		}
	}
}

// fetchControllerModule fetches the pinned module the way the program does.
func fetchControllerModule(t *testing.T) *lbcontroller.Verified {
	t.Helper()
	v, err := lbcontroller.Fetch(context.Background(), lbcontroller.ControllerModule, lbcontroller.GoModDownload)
	require.NoError(t, err)
	return v
}

func moduleFile(t *testing.T, v *lbcontroller.Verified, name string) []byte {
	t.Helper()
	b, err := v.ReadFile(name)
	require.NoError(t, err)
	return b
}

// rewriteZip copies a zip, changing the first byte of one entry.
func rewriteZip(t *testing.T, from, to, entry string) {
	t.Helper()
	r, err := zip.OpenReader(from)
	require.NoError(t, err)
	defer r.Close()
	out, err := os.Create(to)
	require.NoError(t, err)
	w := zip.NewWriter(out)
	changed := false
	for _, f := range r.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		if f.Name == entry {
			b[0] ^= 1
			changed = true
		}
		fw, err := w.Create(f.Name)
		require.NoError(t, err)
		_, err = fw.Write(b)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	require.NoError(t, out.Close())
	require.True(t, changed, "the zip has %s", entry)
}

// normalStatements renders each statement of an IAM policy with every
// string-or-list field as a sorted list, for comparing as a set.
func normalStatements(t *testing.T, doc map[string]interface{}) []string {
	t.Helper()
	var out []string
	for _, raw := range doc["Statement"].([]interface{}) {
		st := map[string]interface{}{}
		for k, v := range raw.(map[string]interface{}) {
			if k == "Sid" {
				continue
			}
			st[k] = normalValue(v)
		}
		b, err := json.Marshal(st)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	return out
}

func normalValue(v interface{}) interface{} {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []interface{}:
		var s []string
		for _, e := range x {
			s = append(s, e.(string))
		}
		sort.Strings(s)
		return s
	case map[string]interface{}:
		m := map[string]interface{}{}
		for k, e := range x {
			m[k] = normalValue(e)
		}
		return m
	}
	return v
}
