package tests

// pulumi-eks v2.8.1 refuses to run, in preview and in up, without kubectl
// >= 1.24 and aws CLI >= 2.7 (v1: >= 1.24) on PATH
// (pulumi/pulumi-eks@v2.8.1 nodejs/eks/dependencies.ts). The workflows
// check that first with .ci/check-deploy-prerequisites, and README says so.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const workflowPrereqScript = ".ci/check-deploy-prerequisites"

// TestWorkflowChecksDeployPrerequisitesFirst: every job that runs the
// program for real (preview, up) checks the tools right after checkout.
func TestWorkflowChecksDeployPrerequisitesFirst(t *testing.T) {
	jobs := map[string]workflowJob{
		"delivery.yml preview": workflowLoad(t, workflowDelivery).Jobs["preview"],
	}
	for name, j := range workflowLoad(t, workflowDeployStack).Jobs {
		jobs["deploy-stack.yml "+name] = j
	}
	require.Len(t, jobs, 2)
	for name, job := range jobs {
		t.Run(name, func(t *testing.T) {
			require.NotEmpty(t, job.Steps)
			check, _ := workflowStepRunning(t, job, workflowPrereqScript)
			checkout, _ := workflowStepUsing(t, job, "actions/checkout")
			pulumiStep, _ := workflowStepUsing(t, job, "pulumi/actions")
			assert.Equal(t, checkout+1, check, "the tools are checked right after checkout")
			assert.Less(t, check, pulumiStep)
		})
	}
}

// TestDeployPrerequisitesScript runs the script against stub tools that
// print what real ones print, at the boundaries pulumi-eks v2.8.1 uses.
func TestDeployPrerequisitesScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	require.NoError(t, err)
	kubectlJSON := func(v string) string {
		return `{"clientVersion": {"major": "1", "minor": "x", "gitVersion": "` + v + `", "platform": "linux/amd64"}, "kustomizeVersion": "v5.0.4"}`
	}
	cases := []struct {
		name       string
		kubectl    string // stdout of `kubectl version --client=true --output=json`; "" = not installed
		aws        string // output of `aws --version`; "" = not installed
		ok         bool
		wantOutput string
	}{
		{"both current", kubectlJSON("v1.34.1"), "aws-cli/2.27.0 Python/3.13.2 Linux/6.8 exe/x86_64", true, "kubectl 1.34.1"},
		{"exact minimums", kubectlJSON("v1.24.0"), "aws-cli/2.7.0 Python/3.9.11 Linux/5.15 exe/x86_64", true, "aws CLI 2.7.0"},
		{"EKS kubectl build suffix", kubectlJSON("v1.32.4-eks-1-32-5"), "aws-cli/2.7.0 Python/3.9.11", true, "kubectl 1.32.4"},
		{"aws CLI v1 at its minimum", kubectlJSON("v1.24.0"), "aws-cli/1.24.0 Python/3.8.10 Linux/5.15 botocore/1.26.0", true, "aws CLI 1.24.0"},
		{"kubectl missing", "", "aws-cli/2.27.0 Python/3.13.2", false, "kubectl is missing"},
		{"kubectl too old", kubectlJSON("v1.23.17"), "aws-cli/2.27.0 Python/3.13.2", false, "kubectl 1.23.17 is too old"},
		{"aws CLI missing", kubectlJSON("v1.34.1"), "", false, "aws CLI is missing"},
		{"aws CLI v2 too old", kubectlJSON("v1.34.1"), "aws-cli/2.6.4 Python/3.9.11", false, "aws CLI 2.6.4 is too old"},
		{"aws CLI v1 too old", kubectlJSON("v1.34.1"), "aws-cli/1.23.9 Python/3.8.10", false, "aws CLI 1.23.9 is too old"},
		{"minor compared as a number", kubectlJSON("v1.100.0"), "aws-cli/2.10.0 Python/3.9.11", true, "aws CLI 2.10.0"},
	}
	script := filepath.Join(workflowRepoRoot(t), workflowPrereqScript)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin := t.TempDir()
			// Only the tools the script needs, so the host's kubectl and
			// aws stay out of sight.
			for _, tool := range []string{"sed", "sort", "head"} {
				p, err := exec.LookPath(tool)
				require.NoError(t, err)
				require.NoError(t, os.Symlink(p, filepath.Join(bin, tool)))
			}
			stub := func(name, out string) {
				if out == "" {
					return
				}
				body := "#!" + bash + "\nprintf '%s\\n' '" + out + "'\n"
				require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755))
			}
			stub("kubectl", c.kubectl)
			stub("aws", c.aws)
			cmd := exec.Command(bash, script)
			cmd.Env = []string{"PATH=" + bin}
			out, err := cmd.CombinedOutput()
			if c.ok {
				assert.NoError(t, err, "%s", out)
			} else {
				var exit *exec.ExitError
				require.ErrorAs(t, err, &exit, "%s", out)
				assert.Equal(t, 1, exit.ExitCode())
			}
			assert.Contains(t, string(out), c.wantOutput)
		})
	}
}

// TestREADMENamesDeployPrerequisites: README's prerequisites name the
// minimums the script enforces, and no longer say kubectl is not needed.
func TestREADMENamesDeployPrerequisites(t *testing.T) {
	root := workflowRepoRoot(t)
	script, err := os.ReadFile(filepath.Join(root, workflowPrereqScript))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	minimum := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `=(\d+\.\d+)\.0$`).FindStringSubmatch(string(script))
		require.NotNil(t, m, "%s in %s", name, workflowPrereqScript)
		return m[1]
	}
	assert.Equal(t, "1.24", minimum("min_kubectl"), "pulumi-eks v2.8.1 minKubectlVersion")
	assert.Equal(t, "2.7", minimum("min_aws_v2"), "pulumi-eks v2.8.1 minAWSCLIV2Version")
	text := string(readme)
	assert.Contains(t, text, "kubectl ≥ "+minimum("min_kubectl"))
	assert.Contains(t, text, "AWS CLI ≥ "+minimum("min_aws_v2"))
	assert.Contains(t, text, workflowPrereqScript)
	assert.NotContains(t, strings.ToLower(text), "kubectl is not needed")
}
