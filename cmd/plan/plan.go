// Package plan renders the stack offline: it runs the very program that
// `pulumi up` runs, under the mocks of cmd/plan/mocks, with one stack's
// configuration, and prints the resources it would register.
package plan

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

// Exit codes. Pipelines branch on them.
const (
	ExitOK          = 0
	ExitViolations  = 1 // a mandatory policy is violated
	ExitConfigError = 2 // bad flags or a bad stack configuration
	ExitFailure     = 3 // the program itself failed
)

// DefaultStack is planned when neither --stack nor --config-file is given.
const DefaultStack = "dev"

// Document is the JSON shape of a plan. Fields may be added, never changed.
type Document struct {
	Project    string                 `json:"project"`
	Stack      string                 `json:"stack"`
	Resources  []Resource             `json:"resources"`
	Outputs    map[string]interface{} `json:"outputs"`
	Violations []Violation            `json:"violations"`
	// Warnings of the preflight (printed on stderr, not part of the JSON).
	Warnings []string `json:"-"`
}

// Resource is one planned resource.
type Resource struct {
	URN       string                 `json:"urn"`
	Type      string                 `json:"type"`
	Name      string                 `json:"name"`
	ID        string                 `json:"id"`
	Parent    string                 `json:"parent"`
	Provider  string                 `json:"provider"`
	DependsOn []string               `json:"dependsOn"`
	Protect   bool                   `json:"protect"`
	Inputs    map[string]interface{} `json:"inputs"`
}

// Violation is a policy finding.
type Violation struct {
	Policy  string `json:"policy"`
	Level   string `json:"level"`
	URN     string `json:"urn"`
	Message string `json:"message"`
}

// Main runs `plan` with its arguments and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "stack to plan, read from stacks/Pulumi.<stack>.yaml (default "+DefaultStack+")")
	configFile := fs.String("config-file", "", "plan this stack configuration file instead of a named stack")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run . plan [--stack NAME | --config-file FILE] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return ExitConfigError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "plan: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return ExitConfigError
	}
	if *stack != "" && *configFile != "" {
		fmt.Fprintln(stderr, "plan: give --stack or --config-file, not both")
		return ExitConfigError
	}

	root, err := ProjectRoot()
	if err != nil {
		fmt.Fprintln(stderr, "plan:", err)
		return ExitFailure
	}
	project, err := LoadProject(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		fmt.Fprintln(stderr, "plan:", err)
		return ExitFailure
	}
	path, stackName := *configFile, *stack
	if path == "" {
		if stackName == "" {
			stackName = DefaultStack
		}
		path = filepath.Join(root, project.StackConfigDir, "Pulumi."+stackName+".yaml")
	} else {
		stackName = StackNameOf(path)
	}
	cfg, secretKeys, err := LoadStackConfig(path, project)
	if err != nil {
		fmt.Fprintln(stderr, "plan:", err)
		return ExitConfigError
	}

	doc, err := Plan(project.Name, stackName, cfg, secretKeys)
	if err != nil {
		var cerr *stacks.ConfigError
		if errors.As(err, &cerr) {
			fmt.Fprintln(stderr, cerr.Error())
			return ExitConfigError
		}
		fmt.Fprintln(stderr, "plan:", err)
		return ExitFailure
	}
	for _, w := range doc.Warnings {
		fmt.Fprintln(stderr, "plan: warning:", w)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			fmt.Fprintln(stderr, "plan:", err)
			return ExitFailure
		}
	} else {
		WriteTree(stdout, doc)
	}
	for _, v := range doc.Violations {
		if v.Level == "mandatory" {
			return ExitViolations
		}
	}
	return ExitOK
}

// Plan validates the configuration, then runs the program under mocks.
func Plan(project, stack string, config map[string]string, secretKeys []string) (*Document, error) {
	// Validate first, so that a configuration error registers nothing.
	if _, err := stacks.Load(project, stack, stacks.MapSource(config)); err != nil {
		return nil, err
	}
	var cfgErr *stacks.ConfigError
	var warnings []string
	res, err := mocks.Run(project, stack, config, secretKeys, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		exports, w, err := stacks.RunReport(ctx)
		warnings = w
		errors.As(err, &cfgErr)
		return exports, err
	})
	if cfgErr != nil {
		return nil, cfgErr
	}
	if err != nil {
		return nil, err
	}
	doc := &Document{Project: project, Stack: stack, Outputs: res.Outputs, Resources: ResourcesOf(res), Warnings: warnings}
	doc.Violations = Evaluate(doc.Resources)
	return doc, nil
}

// ResourcesOf turns the resources one mocked run recorded into plan
// resources, sorted by URN.
func ResourcesOf(res *mocks.Result) []Resource {
	out := []Resource{}
	for _, r := range res.Resources {
		deps := r.DependsOn
		if deps == nil {
			deps = []string{}
		}
		out = append(out, Resource{
			URN: r.URN, Type: r.Type, Name: r.Name, ID: r.ID, Parent: r.Parent, Provider: r.Provider,
			DependsOn: deps, Protect: r.Protect, Inputs: mocks.PlainMap(r.Inputs),
		})
	}
	return out
}

// ProjectRoot finds the directory holding Pulumi.yaml, from the working
// directory upwards.
func ProjectRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no Pulumi.yaml in the working directory or above it")
		}
		dir = parent
	}
}

// StackNameOf derives the stack name from a file name Pulumi.<stack>.yaml,
// or uses the base name without extension.
func StackNameOf(path string) string {
	base := filepath.Base(path)
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	return strings.TrimPrefix(base, "Pulumi.")
}

// Project is the part of Pulumi.yaml the plan needs.
type Project struct {
	Name           string                   `yaml:"name"`
	Runtime        interface{}              `yaml:"runtime"`
	Description    string                   `yaml:"description"`
	StackConfigDir string                   `yaml:"stackConfigDir"`
	Config         map[string]ProjectConfig `yaml:"config"`
}

// ProjectConfig is one key of the project-level config schema.
type ProjectConfig struct {
	Type        string      `yaml:"type"`
	Description string      `yaml:"description"`
	Default     interface{} `yaml:"default"`
	Items       *struct {
		Type string `yaml:"type"`
	} `yaml:"items"`
}

// LoadProject reads Pulumi.yaml.
func LoadProject(path string) (*Project, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Project
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("%s: no project name", path)
	}
	if p.StackConfigDir == "" {
		p.StackConfigDir = "."
	}
	return &p, nil
}

// placeholderSecret stands in for encrypted values, which the plan cannot
// decrypt: long enough and plain enough to pass any password rule.
const placeholderSecret = "PlanPlaceholderSecret0123456789"

// LoadStackConfig reads a stack file and merges the project defaults, the
// way the Pulumi CLI prepares configuration for the program. Values come
// out as the engine passes them: scalars as text, lists and maps as JSON.
func LoadStackConfig(path string, project *Project) (map[string]string, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading stack configuration: %w", err)
	}
	var file struct {
		Config map[string]interface{} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		return nil, nil, fmt.Errorf("%s: not valid YAML: %w", path, err)
	}
	cfg := map[string]string{}
	var secretKeys []string
	for name, pc := range project.Config {
		if pc.Default == nil {
			continue
		}
		v, err := encode(pc.Default)
		if err != nil {
			return nil, nil, fmt.Errorf("Pulumi.yaml config %s: %w", name, err)
		}
		cfg[qualify(project.Name, name)] = v
	}
	for key, raw := range file.Config {
		full := qualify(project.Name, key)
		if m, ok := raw.(map[string]interface{}); ok {
			if _, secure := m["secure"]; secure && len(m) == 1 {
				cfg[full] = placeholderSecret
				secretKeys = append(secretKeys, full)
				continue
			}
		}
		v, err := encode(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: key %s: %w", path, key, err)
		}
		cfg[full] = v
	}
	sort.Strings(secretKeys)
	return cfg, secretKeys, nil
}

func qualify(project, key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return project + ":" + key
}

func encode(v interface{}) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case nil:
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}
