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
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

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
	for _, w := range file.Warnings {
		fmt.Fprintln(stderr, "plan: warning:", w)
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
		return reportPlanError(stderr, err)
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

// reportPlanError prints a failed run's error: a configuration mistake as
// the check words it (ExitConfigError), anything else as the plan's own
// failure (ExitFailure).
func reportPlanError(stderr io.Writer, err error) int {
	var cerr *stacks.ConfigError
	if errors.As(err, &cerr) {
		fmt.Fprintln(stderr, cerr.Error())
		return ExitConfigError
	}
	fmt.Fprintln(stderr, "plan:", err)
	return ExitFailure
}

// ExitSecondRunChanges is --second-run's exit code when the second run would
// change anything (the same code as ExitViolations: the check failed).
const ExitSecondRunChanges = 1

// secondRunMain runs the second-run check and prints its report.
func secondRunMain(project, stack string, file *StackFile, asJSON bool, stdout, stderr io.Writer) int {
	report, err := SecondRunFile(nil, project, stack, file)
	if err != nil {
		return reportPlanError(stderr, err)
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
