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
	// Timeline is present with --timeline.
	Timeline *Timeline `json:"timeline,omitempty"`
	// ElasticIPs counts the Elastic IPs the stack allocates per region,
	// against the default quota of DefaultElasticIPQuota per account and
	// region that all stacks in one account share.
	ElasticIPs map[string]int `json:"elasticIps"`
	// Notes are what the plan could not check, e.g. encrypted values.
	Notes []string `json:"notes,omitempty"`
	// Warnings of the preflight (printed on stderr, not part of the JSON).
	Warnings []string `json:"-"`
}

// DefaultElasticIPQuota is EC2's default "EC2-VPC Elastic IPs" quota per
// account and region (adjustable in Service Quotas, code L-0263D0A3).
const DefaultElasticIPQuota = 5

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
	// Dependencies are all the resources the engine waits for: DependsOn
	// and those whose outputs the inputs use; PropertyDependencies say
	// which input brought which.
	Dependencies         []string            `json:"dependencies"`
	PropertyDependencies map[string][]string `json:"propertyDependencies"`

	// Resource options that decide how a change rolls out (added after the
	// fields above; those keep their shape).
	ReplaceOnChanges        []string        `json:"replaceOnChanges"`
	DeleteBeforeReplace     bool            `json:"deleteBeforeReplace"`
	IgnoreChanges           []string        `json:"ignoreChanges"`
	CustomTimeouts          *CustomTimeouts `json:"customTimeouts"`
	RetainOnDelete          bool            `json:"retainOnDelete"`
	Aliases                 []string        `json:"aliases"`
	AdditionalSecretOutputs []string        `json:"additionalSecretOutputs"`

	// RemoteChildren are what a multi-language component (pulumi-eks)
	// creates inside its provider, which the program never registers and
	// the policy pack never sees, listed from a model of its source
	// (mocks.EKSClusterModel). [] for every other resource.
	RemoteChildren []Child `json:"remoteChildren"`
}

// Child is one resource a component creates outside the program.
type Child struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// CustomTimeouts of a resource; "" is the provider's default.
type CustomTimeouts struct {
	Create string `json:"create"`
	Update string `json:"update"`
	Delete string `json:"delete"`
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
	timeline := fs.Bool("timeline", false, "print the critical path of a first deploy and a destroy (with --json: add \"timeline\")")
	diagram := fs.Bool("diagram", false, "print the platform as a Graphviz DOT picture")
	svg := fs.String("svg", "", "with --diagram: also render the picture to this SVG file (needs Graphviz's dot)")
	secondRun := fs.Bool("second-run", false, "plan twice against one account and list what the second run would create, delete or change (exit 1 if anything)")
	var changes []string
	fs.Func("change", "KEY=VALUE (repeatable): plan the stack before and after this configuration change and list what it replaces and updates (exit 1 if a replacement would interrupt serving or lose data)", func(s string) error {
		changes = append(changes, s)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run . plan [--stack NAME | --config-file FILE] [--json] [--timeline | --diagram [--svg FILE] | --second-run | --change KEY=VALUE ...]")
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
	if *secondRun && (*timeline || *diagram || *svg != "") {
		fmt.Fprintln(stderr, "plan: --second-run goes alone (with --json at most), not with --timeline, --diagram or --svg")
		return ExitConfigError
	}

	if len(changes) > 0 && (*secondRun || *timeline || *diagram || *svg != "") {
		fmt.Fprintln(stderr, "plan: --change goes alone (with --json at most), not with --second-run, --timeline, --diagram or --svg")
		return ExitConfigError
	}

	root, err := stacks.ProjectRoot()
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
	file, err := LoadStackFile(path, project)
	if err != nil {
		var cerr *stacks.ConfigError
		if errors.As(err, &cerr) {
			fmt.Fprintln(stderr, cerr.Error())
		} else {
			fmt.Fprintln(stderr, "plan:", err)
		}
		return ExitConfigError
	}

	if len(changes) > 0 {
		var settings []Setting
		for _, c := range changes {
			s, err := ParseSetting(project.Name, c)
			if err != nil {
				fmt.Fprintln(stderr, "plan:", err)
				return ExitConfigError
			}
			settings = append(settings, s)
		}
		return changeMain(project.Name, stackName, file, settings, *asJSON, stdout, stderr)
	}
	if *secondRun {
		return secondRunMain(project.Name, stackName, file, *asJSON, stdout, stderr)
	}

	doc, err := PlanFile(project.Name, stackName, file)
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
	for _, n := range doc.Notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	if *timeline && *diagram {
		fmt.Fprintln(stderr, "plan: give --timeline or --diagram, not both")
		return ExitConfigError
	}
	if *svg != "" && !*diagram {
		fmt.Fprintln(stderr, "plan: --svg goes with --diagram")
		return ExitConfigError
	}
	if *timeline {
		t, err := ComputeTimeline(doc.Resources)
		if err != nil {
			fmt.Fprintln(stderr, "plan:", err)
			return ExitFailure
		}
		doc.Timeline = t
		if !*asJSON {
			WriteTimeline(stdout, t, doc.Resources)
			return exitFor(doc)
		}
	}
	if *diagram {
		dot := Diagram(doc)
		if *svg != "" {
			if err := RenderSVG(dot, *svg); err != nil {
				fmt.Fprintln(stderr, "plan:", err)
				return ExitFailure
			}
		}
		fmt.Fprint(stdout, dot)
		return exitFor(doc)
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
	return exitFor(doc)
}

// ExitSecondRunChanges is --second-run's exit code when the second run would
// change anything (the same code as ExitViolations: the check failed).
const ExitSecondRunChanges = 1

// secondRunMain runs the second-run check and prints its report.
func secondRunMain(project, stack string, file *StackFile, asJSON bool, stdout, stderr io.Writer) int {
	report, err := SecondRunFile(nil, project, stack, file)
	if err != nil {
		var cerr *stacks.ConfigError
		if errors.As(err, &cerr) {
			fmt.Fprintln(stderr, cerr.Error())
			return ExitConfigError
		}
		fmt.Fprintln(stderr, "plan:", err)
		return ExitFailure
	}
	for _, w := range report.Warnings {
		fmt.Fprintln(stderr, "plan: warning:", w)
	}
	if asJSON {
		if err := writeSecondRunJSON(stdout, report); err != nil {
			fmt.Fprintln(stderr, "plan:", err)
			return ExitFailure
		}
	} else {
		WriteSecondRun(stdout, report)
	}
	return report.ExitCode()
}

// exitFor is ExitViolations when a mandatory policy is violated.
func exitFor(doc *Document) int {
	for _, v := range doc.Violations {
		if v.Level == "mandatory" {
			return ExitViolations
		}
	}
	return ExitOK
}

// Plan validates the configuration, then runs the program under mocks.
func Plan(project, stack string, config map[string]string, secretKeys []string) (*Document, error) {
	return PlanFile(project, stack, &StackFile{Config: config, SecretKeys: secretKeys})
}

// PlanFile is Plan for a stack file: the file's literals let the
// validation tell what YAML did to a value.
func PlanFile(project, stack string, file *StackFile) (*Document, error) {
	config, secretKeys := file.Config, file.SecretKeys
	// Validate first, so that a configuration error registers nothing.
	loaded, err := stacks.Load(project, stack, file.Source())
	if err != nil {
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
	doc := &Document{Project: project, Stack: stack, Outputs: res.Outputs, Resources: ResourcesOf(res),
		ElasticIPs: ElasticIPsOf(res), Warnings: warnings}
	for _, k := range loaded.Encrypted {
		doc.Notes = append(doc.Notes, fmt.Sprintf("%s is encrypted: the plan checked a placeholder of its shape, not its value (pulumi preview checks the value)", k))
	}
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
		o := r.Options
		var timeouts *CustomTimeouts
		if t := o.CustomTimeouts; t != nil {
			timeouts = &CustomTimeouts{Create: t.Create, Update: t.Update, Delete: t.Delete}
		}
		out = append(out, Resource{
			URN: r.URN, Type: r.Type, Name: r.Name, ID: r.ID, Parent: r.Parent, Provider: r.Provider,
			DependsOn: deps, Protect: r.Protect, Inputs: mocks.PlainMap(r.Inputs),
			Dependencies: orEmpty(r.Dependencies), PropertyDependencies: r.PropertyDependencies,
			ReplaceOnChanges: orEmpty(o.ReplaceOnChanges), DeleteBeforeReplace: o.DeleteBeforeReplace,
			IgnoreChanges: orEmpty(o.IgnoreChanges), CustomTimeouts: timeouts, RetainOnDelete: o.RetainOnDelete,
			Aliases: orEmpty(o.Aliases), AdditionalSecretOutputs: orEmpty(o.AdditionalSecretOutputs),
			RemoteChildren: childrenOf(r.RemoteChildren),
		})
	}
	return out
}

// ElasticIPsOf counts the aws:ec2/eip:Eip resources of a run per region.
func ElasticIPsOf(res *mocks.Result) map[string]int {
	out := map[string]int{}
	for _, r := range res.Resources {
		if r.Type == "aws:ec2/eip:Eip" {
			out[r.Region]++
		}
	}
	return out
}

func childrenOf(cs []mocks.Child) []Child {
	out := []Child{}
	for _, c := range cs {
		out = append(out, Child{Type: c.Type, Name: c.Name})
	}
	return out
}

// orEmpty keeps the JSON shape fixed: [] rather than null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
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

// StackFile is a stack file read the way the Pulumi CLI reads it, plus
// what only the file tells: which values were encrypted and how scalars
// were written (YAML turns an unquoted 1.30 into the number 1.3).
type StackFile struct {
	Config     map[string]string
	SecretKeys []string
	Literals   map[string]stacks.Literal
	// Written are the keys the file sets itself.
	Written map[string]bool
}

// Source is the file as the configuration reader sees it.
func (f *StackFile) Source() stacks.FileSource {
	secrets := map[string]bool{}
	for _, k := range f.SecretKeys {
		secrets[k] = true
	}
	return stacks.FileSource{Values: f.Config, Secrets: secrets, Literals: f.Literals, Written: f.Written}
}

// LoadStackConfig reads a stack file and merges the project defaults, the
// way the Pulumi CLI prepares configuration for the program. Values come
// out as the engine passes them: scalars as text, lists and maps as JSON.
// Encrypted values, which the plan cannot decrypt, come out as
// stacks.EncryptedPlaceholder.
func LoadStackConfig(path string, project *Project) (map[string]string, []string, error) {
	f, err := LoadStackFile(path, project)
	if err != nil {
		return nil, nil, err
	}
	return f.Config, f.SecretKeys, nil
}

// fileProblem is a stack file that is not a mapping with config:, told in
// words as a configuration error.
func fileProblem(path, message, fix string) error {
	return &stacks.ConfigError{Problems: []stacks.Problem{{Key: filepath.Base(path), Message: message, Fix: fix, File: true}}}
}

// yamlKinds names YAML node kinds in words.
var yamlKinds = map[yaml.Kind]string{
	yaml.SequenceNode: "a list", yaml.ScalarNode: "a single value", yaml.MappingNode: "a mapping", yaml.AliasNode: "an alias",
}

// LoadStackFile reads a stack file like LoadStackConfig and keeps what the
// file alone tells.
func LoadStackFile(path string, project *Project) (*StackFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading stack configuration: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fileProblem(path, "not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "),
			"fix the YAML syntax; a stack file is a mapping with a config: section")
	}
	const shape = "write a mapping with a config: section, e.g.\n      config:\n        aws:region: us-east-1\n        auth-platform:authImage: ghcr.io/authplatform/auth-service:1.0.0"
	var configNode *yaml.Node
	if len(doc.Content) > 0 {
		top := doc.Content[0]
		if top.Kind != yaml.MappingNode {
			return nil, fileProblem(path, fmt.Sprintf("the file holds %s, not a mapping with a config: section", yamlKinds[top.Kind]), shape)
		}
		var stray []string
		for i := 0; i+1 < len(top.Content); i += 2 {
			k, v := top.Content[i], top.Content[i+1]
			if k.Value == "config" {
				configNode = v
			} else if strings.Contains(k.Value, ":") {
				stray = append(stray, k.Value)
			}
		}
		if len(stray) > 0 {
			return nil, fileProblem(path, fmt.Sprintf("%s at the top level of the file: configuration keys outside config: are not configuration", strings.Join(stray, ", ")),
				"indent them under config:")
		}
	}
	f := &StackFile{Config: map[string]string{}, Literals: map[string]stacks.Literal{}, Written: map[string]bool{}}
	for name, pc := range project.Config {
		if pc.Default == nil {
			continue
		}
		v, err := encode(pc.Default)
		if err != nil {
			return nil, fmt.Errorf("Pulumi.yaml config %s: %w", name, err)
		}
		f.Config[qualify(project.Name, name)] = v
	}
	if configNode == nil || configNode.Tag == "!!null" {
		return f, nil
	}
	if configNode.Kind != yaml.MappingNode {
		return nil, fileProblem(path, fmt.Sprintf("config: holds %s, not a mapping of keys to values", yamlKinds[configNode.Kind]),
			"write each setting as key: value under config:, without a leading '- '")
	}
	for i := 0; i+1 < len(configNode.Content); i += 2 {
		keyNode, valueNode := configNode.Content[i], configNode.Content[i+1]
		full := qualify(project.Name, keyNode.Value)
		var raw interface{}
		if err := valueNode.Decode(&raw); err != nil {
			return nil, fileProblem(path, fmt.Sprintf("%s: %v", keyNode.Value, err), "fix the value's YAML")
		}
		recordLiterals(f.Literals, full, valueNode)
		f.Written[full] = true
		if isSecure(raw) {
			f.Config[full] = stacks.EncryptedPlaceholder
			f.SecretKeys = append(f.SecretKeys, full)
			continue
		}
		raw = hideNestedSecrets(raw)
		v, err := encode(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: key %s: %w", path, keyNode.Value, err)
		}
		f.Config[full] = v
	}
	sort.Strings(f.SecretKeys)
	return f, nil
}

// isSecure reports a `{secure: ...}` value.
func isSecure(v interface{}) bool {
	m, ok := v.(map[string]interface{})
	if !ok || len(m) != 1 {
		return false
	}
	_, secure := m["secure"]
	return secure
}

// hideNestedSecrets replaces secure values inside lists and maps (a region
// entry's certificateArn, say) by the placeholder.
func hideNestedSecrets(v interface{}) interface{} {
	if isSecure(v) {
		return stacks.EncryptedPlaceholder
	}
	switch t := v.(type) {
	case []interface{}:
		for i := range t {
			t[i] = hideNestedSecrets(t[i])
		}
	case map[string]interface{}:
		for k := range t {
			t[k] = hideNestedSecrets(t[k])
		}
	}
	return v
}

// recordLiterals keeps how non-string scalars were written: for the key
// itself, and for the keys of `regions` entries as key[i].name.
func recordLiterals(out map[string]stacks.Literal, full string, n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!str" {
			out[full] = stacks.Literal{Tag: n.Tag, Text: n.Value}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if item.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(item.Content); j += 2 {
				recordLiterals(out, fmt.Sprintf("%s[%d].%s", full, i, item.Content[j].Value), item.Content[j+1])
			}
		}
	}
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
