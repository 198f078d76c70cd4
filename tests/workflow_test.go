package tests

// Specifications of the delivery workflows in .github/workflows: pull
// requests test, plan and preview every stack with the policy pack; merges
// to main run `pulumi up` stack by stack, in order, one concurrency group
// per stack, watched by the downtime probe. Every identifier here starts
// with "workflow" to stay clear of the rest of the package.

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

const (
	workflowDelivery    = ".github/workflows/delivery.yml"
	workflowDeployStack = ".github/workflows/deploy-stack.yml"
)

// workflowDeployOrder is the order of `pulumi up` on main: dev, the primary
// region, then the global stack (added by a later change; its job is
// skipped while stacks/Pulumi.prod-global.yaml does not exist).
var workflowDeployOrder = []string{"dev", "prod-us-east-1", "prod-global"}

type workflowDoc struct {
	Name        string                     `yaml:"name"`
	On          map[string]workflowTrigger `yaml:"on"`
	Permissions map[string]string          `yaml:"permissions"`
	Jobs        map[string]workflowJob     `yaml:"jobs"`
}

type workflowTrigger struct {
	Branches []string                 `yaml:"branches"`
	Inputs   map[string]workflowInput `yaml:"inputs"`
}

type workflowInput struct {
	Type     string `yaml:"type"`
	Required bool   `yaml:"required"`
}

type workflowJob struct {
	Name        string               `yaml:"name"`
	RunsOn      string               `yaml:"runs-on"`
	Needs       workflowStrings      `yaml:"needs"`
	If          string               `yaml:"if"`
	Permissions map[string]string    `yaml:"permissions"`
	Concurrency *workflowConcurrency `yaml:"concurrency"`
	Strategy    struct {
		FailFast *bool          `yaml:"fail-fast"`
		Matrix   map[string]any `yaml:"matrix"`
	} `yaml:"strategy"`
	Environment yaml.Node         `yaml:"environment"`
	Uses        string            `yaml:"uses"`
	With        map[string]string `yaml:"with"`
	Secrets     string            `yaml:"secrets"`
	Env         map[string]string `yaml:"env"`
	Outputs     map[string]string `yaml:"outputs"`
	Steps       []workflowStep    `yaml:"steps"`
}

type workflowConcurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress string `yaml:"cancel-in-progress"` // a bool or an expression
}

type workflowStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

// workflowStrings accepts a scalar or a sequence, as `needs:` does.
type workflowStrings []string

func (s *workflowStrings) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*s = list
	return nil
}

// workflowRepoRoot walks up from the working directory to Pulumi.yaml.
func workflowRepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no Pulumi.yaml above the working directory")
		dir = parent
	}
}

func workflowLoad(t *testing.T, rel string) workflowDoc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workflowRepoRoot(t), rel))
	require.NoError(t, err)
	var doc workflowDoc
	require.NoError(t, yaml.Unmarshal(data, &doc), rel)
	require.NotEmpty(t, doc.Jobs, "%s has no jobs", rel)
	return doc
}

// workflowStacks maps every stacks/Pulumi.<stack>.yaml to its aws:region.
func workflowStacks(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(workflowRepoRoot(t), "stacks", "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	stacks := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var doc struct {
			Config map[string]any `yaml:"config"`
		}
		require.NoError(t, yaml.Unmarshal(data, &doc), f)
		region, _ := doc.Config["aws:region"].(string)
		require.NotEmpty(t, region, "%s sets no aws:region", f)
		stacks[strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")] = region
	}
	return stacks
}

// workflowStepUsing finds the single step using action (owner/repo, any
// version) and its index.
func workflowStepUsing(t *testing.T, job workflowJob, action string) (int, workflowStep) {
	t.Helper()
	index, found := -1, workflowStep{}
	for i, s := range job.Steps {
		if strings.HasPrefix(s.Uses, action+"@") {
			require.Equal(t, -1, index, "%s used twice", action)
			index, found = i, s
		}
	}
	require.NotEqual(t, -1, index, "no step uses %s", action)
	return index, found
}

// workflowStepRunning finds the first step whose script contains command.
func workflowStepRunning(t *testing.T, job workflowJob, command string) (int, workflowStep) {
	t.Helper()
	for i, s := range job.Steps {
		if strings.Contains(s.Run, command) {
			return i, s
		}
	}
	require.Failf(t, "missing step", "no step runs %q", command)
	return -1, workflowStep{}
}

var workflowPinned = regexp.MustCompile(`^[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$`)

func TestWorkflowFilesAreValidAndActionsPinned(t *testing.T) {
	root := workflowRepoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.y*ml"))
	require.NoError(t, err)
	require.Len(t, files, 2, "delivery.yml and deploy-stack.yml")
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		doc := workflowLoad(t, rel)
		assert.NotEmpty(t, doc.Name, rel)
		for id, job := range doc.Jobs {
			if job.Uses != "" {
				assert.Equal(t, "./"+workflowDeployStack, job.Uses, "%s: job %s calls an unexpected workflow", rel, id)
				continue
			}
			assert.NotEmpty(t, job.Steps, "%s: job %s has no steps", rel, id)
			for _, s := range job.Steps {
				if s.Uses != "" {
					assert.Regexp(t, workflowPinned, s.Uses, "%s: job %s: actions are pinned to a major version or a commit", rel, id)
				}
				assert.True(t, (s.Uses == "") != (s.Run == ""), "%s: job %s: a step either uses an action or runs a script", rel, id)
			}
		}
	}
}

func TestWorkflowTriggersAndPermissions(t *testing.T) {
	doc := workflowLoad(t, workflowDelivery)
	require.Contains(t, doc.On, "pull_request")
	require.Contains(t, doc.On, "push")
	assert.Equal(t, []string{"main"}, doc.On["pull_request"].Branches)
	assert.Equal(t, []string{"main"}, doc.On["push"].Branches, "deploys only from main")
	assert.Equal(t, map[string]string{"id-token": "write", "contents": "read"}, doc.Permissions,
		"an OIDC token for AWS and read-only contents, nothing else by default")
}

func TestWorkflowTestAndPlanJobs(t *testing.T) {
	doc := workflowLoad(t, workflowDelivery)

	test := doc.Jobs["test"]
	setup, s := workflowStepUsing(t, test, "actions/setup-go")
	assert.Equal(t, "go.mod", s.With["go-version-file"])
	run, _ := workflowStepRunning(t, test, "go test ./...")
	assert.Less(t, setup, run)

	plan := doc.Jobs["plan"]
	assert.Contains(t, plan.Needs, "stacks")
	require.NotNil(t, plan.Strategy.FailFast)
	assert.False(t, *plan.Strategy.FailFast, "one stack's failure must not hide another's")
	assert.Equal(t, "${{ fromJSON(needs.stacks.outputs.matrix) }}", plan.Strategy.Matrix["include"])
	_, s = workflowStepUsing(t, plan, "actions/setup-go")
	assert.Equal(t, "go.mod", s.With["go-version-file"])
	_, s = workflowStepRunning(t, plan, "go run . plan --stack")
	assert.Contains(t, s.Run, "--json")
	assert.Equal(t, "${{ matrix.stack }}", s.Env["STACK"])
}

// TestWorkflowStackMatrix runs the stack-listing script of the workflow
// against the repository and checks that the matrix holds every stack with
// its region, so a new stack file is planned and previewed automatically.
func TestWorkflowStackMatrix(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	job := workflowLoad(t, workflowDelivery).Jobs["stacks"]
	assert.Equal(t, "${{ steps.list.outputs.matrix }}", job.Outputs["matrix"])
	assert.Equal(t, "${{ steps.list.outputs.names }}", job.Outputs["names"])
	var script string
	for _, s := range job.Steps {
		if s.ID == "list" {
			script = s.Run
		}
	}
	require.NotEmpty(t, script)

	output := filepath.Join(t.TempDir(), "output")
	cmd := exec.Command(bash, "-e", "-c", script)
	cmd.Dir = workflowRepoRoot(t)
	cmd.Env = append(os.Environ(), "GITHUB_OUTPUT="+output)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(output)
	require.NoError(t, err)

	outputs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		outputs[k] = v
	}
	var matrix []struct{ Stack, Region string }
	require.NoError(t, json.Unmarshal([]byte(outputs["matrix"]), &matrix), outputs["matrix"])
	var names []string
	require.NoError(t, json.Unmarshal([]byte(outputs["names"]), &names), outputs["names"])

	got := map[string]string{}
	for _, m := range matrix {
		got[m.Stack] = m.Region
	}
	want := workflowStacks(t)
	assert.Equal(t, want, got)
	var wantNames []string
	for stack := range want {
		wantNames = append(wantNames, stack)
	}
	sort.Strings(wantNames)
	sort.Strings(names)
	assert.Equal(t, wantNames, names)
}

func TestWorkflowPreview(t *testing.T) {
	doc := workflowLoad(t, workflowDelivery)
	job, ok := doc.Jobs["preview"]
	require.True(t, ok, "a preview job")
	assert.Contains(t, job.If, "github.event_name == 'pull_request'")
	assert.Contains(t, job.Needs, "stacks")
	require.NotNil(t, job.Strategy.FailFast)
	assert.False(t, *job.Strategy.FailFast)
	assert.Equal(t, "${{ fromJSON(needs.stacks.outputs.matrix) }}", job.Strategy.Matrix["include"])
	assert.Equal(t, "write", job.Permissions["id-token"], "job permissions replace the workflow's")
	assert.Equal(t, "read", job.Permissions["contents"])
	assert.Equal(t, "${{ secrets.PULUMI_ACCESS_TOKEN }}", job.Env["PULUMI_ACCESS_TOKEN"])

	goStep, s := workflowStepUsing(t, job, "actions/setup-go")
	assert.Equal(t, "go.mod", s.With["go-version-file"], "the Pulumi Go program is built by the preview")
	awsStep, s := workflowStepUsing(t, job, "aws-actions/configure-aws-credentials")
	assert.Contains(t, s.With["role-to-assume"], "vars.")
	assert.Equal(t, "${{ matrix.region }}", s.With["aws-region"])
	pulumiStep, s := workflowStepUsing(t, job, "pulumi/actions")
	assert.Equal(t, "preview", s.With["command"])
	assert.Equal(t, "policies", s.With["policyPacks"])
	assert.Contains(t, s.With["stack-name"], "matrix.stack")
	assert.Equal(t, ".", s.With["work-dir"])
	assert.Less(t, goStep, pulumiStep)
	assert.Less(t, awsStep, pulumiStep)
}

// TestWorkflowDeployChain: on main, `pulumi up` of every stack, one job per
// stack, each after the previous one in workflowDeployOrder, each in its
// own never-cancelled concurrency group, with its stack's region.
func TestWorkflowDeployChain(t *testing.T) {
	doc := workflowLoad(t, workflowDelivery)
	stacks := workflowStacks(t)
	for stack := range stacks {
		assert.Contains(t, workflowDeployOrder, stack, "stacks/Pulumi.%s.yaml has no place in the deploy order", stack)
	}

	deployJobs := map[string]string{} // stack → job id
	for id, job := range doc.Jobs {
		if job.Uses != "" {
			deployJobs[job.With["stack"]] = id
		}
	}
	previous := ""
	for _, stack := range workflowDeployOrder {
		id, ok := deployJobs[stack]
		require.True(t, ok, "no deploy job for %s", stack)
		job := doc.Jobs[id]
		t.Run(stack, func(t *testing.T) {
			assert.Equal(t, "./"+workflowDeployStack, job.Uses)
			assert.Equal(t, "inherit", job.Secrets)
			assert.Contains(t, job.If, "github.event_name == 'push'")
			assert.Contains(t, job.If, "github.ref == 'refs/heads/main'")
			assert.Contains(t, job.If, "contains(fromJSON(needs.stacks.outputs.names), '"+stack+"')",
				"skipped while the stack file does not exist")
			assert.Contains(t, job.Needs, "stacks")
			if previous == "" {
				assert.Contains(t, job.Needs, "test", "the first update waits for the tests")
				assert.Contains(t, job.Needs, "plan", "and for the offline plan of every stack")
			} else {
				assert.Contains(t, job.Needs, deployJobs[previous], "%s deploys after %s", stack, previous)
			}
			require.NotNil(t, job.Concurrency, "a concurrency group")
			assert.Equal(t, "pulumi-"+stack, job.Concurrency.Group)
			assert.Equal(t, "false", job.Concurrency.CancelInProgress, "an update is never cancelled half way")
			assert.Equal(t, stack, job.With["environment"], "a GitHub environment per stack")
			assert.Equal(t, "${{ vars.AUTH_HEALTH_URL_"+strings.ToUpper(strings.ReplaceAll(stack, "-", "_"))+" }}", job.With["health-url"])
			if region, ok := stacks[stack]; ok {
				assert.Equal(t, region, job.With["aws-region"], "the region of stacks/Pulumi.%s.yaml", stack)
			} else {
				assert.Equal(t, "us-east-1", job.With["aws-region"], "the primary region")
			}
		})
		previous = stack
	}
	assert.Len(t, deployJobs, len(workflowDeployOrder), "a deploy job per stack, no more")
}

// TestWorkflowDeployStack: the reusable workflow runs `pulumi up` with the
// policy pack under OIDC credentials in the stack's environment, with the
// downtime probe started before and stopped after, whatever the outcome.
func TestWorkflowDeployStack(t *testing.T) {
	doc := workflowLoad(t, workflowDeployStack)
	call, ok := doc.On["workflow_call"]
	require.True(t, ok, "a reusable workflow")
	assert.Len(t, doc.On, 1)
	for _, input := range []string{"stack", "aws-region", "environment"} {
		assert.True(t, call.Inputs[input].Required, "input %s", input)
		assert.Equal(t, "string", call.Inputs[input].Type)
	}
	assert.Contains(t, call.Inputs, "health-url")
	assert.False(t, call.Inputs["health-url"].Required)
	assert.Equal(t, map[string]string{"id-token": "write", "contents": "read"}, doc.Permissions)

	require.Len(t, doc.Jobs, 1)
	var job workflowJob
	for _, j := range doc.Jobs {
		job = j
	}
	var env struct {
		Name string `yaml:"name"`
	}
	require.NoError(t, job.Environment.Decode(&env))
	assert.Equal(t, "${{ inputs.environment }}", env.Name)
	assert.Equal(t, "${{ secrets.PULUMI_ACCESS_TOKEN }}", job.Env["PULUMI_ACCESS_TOKEN"])
	assert.Equal(t, "${{ inputs.health-url || vars.AUTH_HEALTH_URL }}", job.Env["PROBE_URL"])

	goStep, s := workflowStepUsing(t, job, "actions/setup-go")
	assert.Equal(t, "go.mod", s.With["go-version-file"])
	awsStep, s := workflowStepUsing(t, job, "aws-actions/configure-aws-credentials")
	assert.Equal(t, "${{ vars.AWS_DEPLOY_ROLE_ARN }}", s.With["role-to-assume"])
	assert.Equal(t, "${{ inputs.aws-region }}", s.With["aws-region"])
	upStep, s := workflowStepUsing(t, job, "pulumi/actions")
	assert.Equal(t, "up", s.With["command"])
	assert.Equal(t, "policies", s.With["policyPacks"])
	assert.Contains(t, s.With["stack-name"], "inputs.stack")
	assert.Less(t, goStep, upStep)
	assert.Less(t, awsStep, upStep)

	startStep, s := workflowStepRunning(t, job, "go build -o \"$RUNNER_TEMP/downtime-probe\" ./cmd/downtime-probe")
	assert.Equal(t, "env.PROBE_URL != ''", s.If, "no health URL, no probe")
	assert.Contains(t, s.Run, `-budget "$PROBE_BUDGET"`)
	assert.Contains(t, s.Run, `-json "$RUNNER_TEMP/probe.json"`)
	stopStep, s := workflowStepRunning(t, job, `kill -TERM "$(cat "$RUNNER_TEMP/probe.pid")"`)
	assert.Equal(t, "always() && env.PROBE_URL != ''", s.If, "the probe is stopped and judged even when up fails")
	assert.Contains(t, s.Run, `exit "$(cat "$RUNNER_TEMP/probe.rc"`, "the probe's verdict is the step's")
	assert.Less(t, startStep, upStep)
	assert.Less(t, upStep, stopStep)
}

// TestWorkflowSettingsAreDocumented: every secret and variable the
// workflows read is explained in README.md.
func TestWorkflowSettingsAreDocumented(t *testing.T) {
	root := workflowRepoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if errors.Is(err, os.ErrNotExist) {
		require.Fail(t, "README.md is missing; it documents the workflow's secrets and variables")
	}
	require.NoError(t, err)
	ref := regexp.MustCompile(`\b(?:vars|secrets)\.([A-Z][A-Z0-9_]+)`)
	seen := map[string]bool{}
	for _, rel := range []string{workflowDelivery, workflowDeployStack} {
		data, err := os.ReadFile(filepath.Join(root, rel))
		require.NoError(t, err)
		for _, m := range ref.FindAllStringSubmatch(string(data), -1) {
			seen[m[1]] = true
		}
	}
	delete(seen, "GITHUB_TOKEN") // provided by GitHub
	require.NotEmpty(t, seen)
	var missing []string
	for name := range seen {
		if !strings.Contains(string(readme), "`"+name+"`") {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "secrets and variables of the workflows that README.md does not document")
}

// TestWorkflowJobsThatReachTheKubernetesAPIRunWhereItAdmitsThem (issue 23,
// D-8): previews and updates talk to the EKS API, which production stacks
// open only to publicAccessCidrs; GitHub-hosted runners have no fixed
// address, so those jobs run on the runner KUBE_API_RUNNER names.
func TestWorkflowJobsThatReachTheKubernetesAPIRunWhereItAdmitsThem(t *testing.T) {
	const runner = "${{ vars.KUBE_API_RUNNER || 'ubuntu-latest' }}"
	assert.Equal(t, runner, workflowLoad(t, workflowDelivery).Jobs["preview"].RunsOn, "preview")
	for id, job := range workflowLoad(t, workflowDeployStack).Jobs {
		assert.Equal(t, runner, job.RunsOn, "deploy-stack job %s", id)
	}
	// The jobs that do not reach the cluster stay on GitHub's runners.
	for _, id := range []string{"test", "stacks", "plan"} {
		assert.Equal(t, "ubuntu-latest", workflowLoad(t, workflowDelivery).Jobs[id].RunsOn, id)
	}
}
