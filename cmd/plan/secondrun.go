package plan

// The second-run check (issue 23 item 11): `plan --stack NAME --second-run`
// plans the stack, keeps what that first run created as the account's
// state (cmd/plan/mocks.Account: a lookup on the second run finds the
// stack's GuardDuty detector and EKS cluster, as on a second `pulumi up`),
// plans again against that account and the first run's state, and lists
// what the second run would create, delete or change. A stack whose second
// `up` is not a no-op has a bug: D-1's GuardDuty detector was deleted by
// every second `up`.
//
// The comparison follows the engine's step generation for what the offline
// plan knows:
//   - a URN only in the second run is a create, one only in the first a
//     delete (protected: the engine refuses it and the update fails;
//     retainOnDelete: it leaves state but stays in AWS);
//   - inputs are compared after the new registration's ignoreChanges are
//     reset to their old values, with resource.PropertyPath.Reset, which is
//     how the engine applies ignoreChanges (pulumi/pulumi
//     sdk/go/common/resource/properties_path.go, used by
//     pkg/resource/deploy/step_generator.go); secrets compare by value;
//   - a provider's own diff rule the plan knows: docker-build v0.0.15
//     ignores registry password changes (pulumi/pulumi-docker-build v0.0.15
//     provider/internal/image.go, Diff, "we ignore "password" changes"),
//     and ECR hands out a new token on every run;
//   - changed inputs are an update, or a replace when a changed input is in
//     replaceOnChanges or the provider changed. Whether the provider itself
//     replaces (a ForceNew property) is its schema's call, which the offline
//     plan does not have: every change counts either way;
//   - changed resource options (protect, retainOnDelete, ignoreChanges, …)
//     are listed too: the engine records them without a provider call, but
//     two runs of one configuration must agree on them;
//   - what a multi-language component creates inside (remoteChildren) is
//     compared by type and name;
//   - an import option is no change when its ID is the one the state holds
//     for the URN (the ID the first run imported it with, else its ID): the
//     engine imports only a resource whose import ID differs
//     (pkg/resource/deploy/step_generator.go, generateSteps: isImport).
//     A new URN with an import option is an import; a different import ID
//     for a URN in the state is an import replacement, listed as a
//     replace with the option "import".
// Dependencies are not compared: the engine does not diff them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

// Operations of a second-run change.
const (
	OpCreate  = "create"
	OpImport  = "import"
	OpDelete  = "delete"
	OpUpdate  = "update"
	OpReplace = "replace"
)

// Change is one resource the second run would not leave as it is.
type Change struct {
	Op   string `json:"op"`
	URN  string `json:"urn"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Inputs are the top-level inputs whose values differ.
	Inputs []string `json:"inputs"`
	// Options are the resource options that differ, and "provider".
	Options []string `json:"options"`
	// Component is set for a child a multi-language component creates
	// inside (remoteChildren): the component's URN.
	Component string `json:"component,omitempty"`
	// Protected: the engine refuses this delete and the update fails.
	Protected bool `json:"protected,omitempty"`
	// Retained: retainOnDelete, so the delete leaves the resource in AWS.
	Retained bool `json:"retained,omitempty"`
}

// SecondRunReport is what the second-run check found.
type SecondRunReport struct {
	Project   string   `json:"project"`
	Stack     string   `json:"stack"`
	FirstRun  int      `json:"firstRun"`  // resources the first run registered
	SecondRun int      `json:"secondRun"` // resources the second run registered
	Changes   []Change `json:"changes"`
	// Warnings of the first run's preflight (stderr, not in the JSON).
	Warnings []string `json:"-"`
	// Account is the account both runs deployed into, as the second left
	// it.
	Account *mocks.Account `json:"-"`
}

// ExitCode is --second-run's exit code: ExitSecondRunChanges when the
// second run would change anything, else ExitOK.
func (r *SecondRunReport) ExitCode() int {
	if len(r.Changes) > 0 {
		return ExitSecondRunChanges
	}
	return ExitOK
}

// providerIgnores are input paths a provider's own Diff ignores.
var providerIgnores = map[string][]string{
	"docker-build:index:Image": {"registries[*].password"},
}

// SecondRunFile validates a stack file, then runs the program twice
// against one account (nil: a fresh mocks.NewAccount(), as `plan
// --second-run` does).
func SecondRunFile(account *mocks.Account, project, stack string, file *StackFile) (*SecondRunReport, error) {
	if _, err := stacks.Load(project, stack, file.Source()); err != nil {
		return nil, err
	}
	var warnings []string
	report, err := SecondRun(account, project, stack, file.Config, file.SecretKeys, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		exports, w, err := stacks.RunReport(ctx)
		if warnings == nil {
			warnings = w
		}
		return exports, err
	})
	if err != nil {
		return nil, err
	}
	report.Warnings = warnings
	return report, nil
}

// SecondRun runs program as the first `pulumi up` into account (nil: a
// fresh one), then again against what that run left (account and state),
// and compares the two runs.
func SecondRun(account *mocks.Account, project, stack string, config map[string]string, secretKeys []string, program mocks.Program) (*SecondRunReport, error) {
	if account == nil {
		account = mocks.NewAccount()
	}
	first, err := runUnwrapped(mocks.RunOptions{Account: account}, project, stack, config, secretKeys, program)
	if err != nil {
		return nil, fmt.Errorf("first run: %w", err)
	}
	second, err := runUnwrapped(mocks.RunOptions{Account: account, Prior: first}, project, stack, config, secretKeys, program)
	if err != nil {
		return nil, fmt.Errorf("second run: %w", err)
	}
	return &SecondRunReport{Project: project, Stack: stack, FirstRun: len(first.Resources), SecondRun: len(second.Resources),
		Changes: Compare(first, second), Account: account}, nil
}

// runUnwrapped runs the program and returns a configuration error as
// itself, so that the caller can tell it from a failure.
func runUnwrapped(opts mocks.RunOptions, project, stack string, config map[string]string, secretKeys []string, program mocks.Program) (*mocks.Result, error) {
	var cfgErr *stacks.ConfigError
	res, err := mocks.RunWith(opts, project, stack, config, secretKeys, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		exports, err := program(ctx)
		errors.As(err, &cfgErr)
		return exports, err
	})
	if cfgErr != nil {
		return nil, cfgErr
	}
	return res, err
}

// Compare lists what the second run would create, delete or change,
// sorted by URN.
func Compare(first, second *mocks.Result) []Change {
	before := map[string]*mocks.Resource{}
	for _, r := range first.Resources {
		before[r.URN] = r
	}
	after := map[string]bool{}
	out := []Change{}
	for _, r := range second.Resources {
		after[r.URN] = true
		old, ok := before[r.URN]
		if !ok {
			op := OpCreate
			if r.Custom && r.Options.Import != "" {
				op = OpImport
			}
			out = append(out, changeOf(op, r))
			out = append(out, childChanges(nil, r)...)
			continue
		}
		if c, changed := diffResource(old, r); changed {
			out = append(out, c)
		}
		out = append(out, childChanges(old, r)...)
	}
	for _, r := range first.Resources {
		if !after[r.URN] {
			c := changeOf(OpDelete, r)
			c.Protected, c.Retained = r.Protect, r.Options.RetainOnDelete
			out = append(out, c)
			out = append(out, childChanges(r, nil)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].URN != out[j].URN {
			return out[i].URN < out[j].URN
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func changeOf(op string, r *mocks.Resource) Change {
	return Change{Op: op, URN: r.URN, Type: r.Type, Name: r.Name, Inputs: []string{}, Options: []string{}}
}

// diffResource compares one URN's two registrations as the engine would.
func diffResource(old, next *mocks.Resource) (Change, bool) {
	c := changeOf(OpUpdate, next)
	if next.Custom || next.Remote {
		c.Inputs = changedInputs(old, next)
	}
	if old.Provider != next.Provider {
		c.Options = append(c.Options, "provider")
	}
	importing := next.Custom && next.Options.Import != "" && next.Options.Import != old.ImportID()
	if importing {
		c.Options = append(c.Options, "import")
	}
	o, n := old.Options, next.Options
	for _, opt := range []struct {
		name     string
		old, new interface{}
	}{
		{"protect", old.Protect, next.Protect},
		{"retainOnDelete", o.RetainOnDelete, n.RetainOnDelete},
		{"deleteBeforeReplace", o.DeleteBeforeReplace, n.DeleteBeforeReplace},
		{"replaceOnChanges", o.ReplaceOnChanges, n.ReplaceOnChanges},
		{"ignoreChanges", o.IgnoreChanges, n.IgnoreChanges},
		{"customTimeouts", o.CustomTimeouts, n.CustomTimeouts},
		{"additionalSecretOutputs", o.AdditionalSecretOutputs, n.AdditionalSecretOutputs},
		{"aliases", o.Aliases, n.Aliases},
	} {
		if !reflect.DeepEqual(opt.old, opt.new) {
			c.Options = append(c.Options, opt.name)
		}
	}
	if len(c.Inputs) == 0 && len(c.Options) == 0 {
		return c, false
	}
	if importing || contains(c.Options, "provider") || replacing(n.ReplaceOnChanges, c.Inputs) {
		c.Op = OpReplace
	}
	return c, true
}

// changedInputs lists the top-level inputs that differ once the new
// registration's ignoreChanges (and the provider's own ignores) are reset
// to the old values.
func changedInputs(old, next *mocks.Resource) []string {
	olds, news := old.Inputs.Copy(), next.Inputs.Copy()
	for _, p := range append(append([]string{}, next.Options.IgnoreChanges...), providerIgnores[next.Type]...) {
		if path, err := resource.ParsePropertyPath(p); err == nil {
			path.Reset(olds, news)
		}
	}
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	changed := []string{}
	for k := range keys {
		if !plainValue(olds[k]).DeepEquals(plainValue(news[k])) {
			changed = append(changed, string(k))
		}
	}
	sort.Strings(changed)
	return changed
}

// plainValue drops secret and output wrappers: a secret that keeps its
// value is no change.
func plainValue(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plainValue(v.SecretValue().Element)
	case v.IsOutput():
		return plainValue(v.OutputValue().Element)
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = plainValue(e)
		}
		return resource.NewArrayProperty(arr)
	case v.IsObject():
		obj := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			obj[k] = plainValue(e)
		}
		return resource.NewObjectProperty(obj)
	}
	return v
}

// replacing reports whether a changed input is one replaceOnChanges names
// (a top-level key, a path below one, or "*").
func replacing(replaceOnChanges, changed []string) bool {
	for _, r := range replaceOnChanges {
		for _, c := range changed {
			if r == "*" || r == c || strings.HasPrefix(r, c+".") || strings.HasPrefix(r, c+"[") {
				return true
			}
		}
	}
	return false
}

// childChanges compares what a multi-language component creates inside.
func childChanges(old, next *mocks.Resource) []Change {
	key := func(c mocks.Child) string { return c.Type + " " + c.Name }
	had, has := map[string]mocks.Child{}, map[string]mocks.Child{}
	component := ""
	if old != nil {
		component = old.URN
		for _, c := range old.RemoteChildren {
			had[key(c)] = c
		}
	}
	if next != nil {
		component = next.URN
		for _, c := range next.RemoteChildren {
			has[key(c)] = c
		}
	}
	var out []Change
	for k, c := range has {
		if _, ok := had[k]; !ok {
			out = append(out, Change{Op: OpCreate, URN: component, Type: c.Type, Name: c.Name, Inputs: []string{}, Options: []string{}, Component: component})
		}
	}
	for k, c := range had {
		if _, ok := has[k]; !ok {
			out = append(out, Change{Op: OpDelete, URN: component, Type: c.Type, Name: c.Name, Inputs: []string{}, Options: []string{}, Component: component})
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// WriteSecondRun prints the report: one line when nothing changes, else a
// line per change.
func WriteSecondRun(w io.Writer, r *SecondRunReport) {
	if len(r.Changes) == 0 {
		fmt.Fprintf(w, "second run of %s: no change (%d resources: the same URNs, inputs and options as the first run)\n", r.Stack, r.SecondRun)
		return
	}
	noun := "changes"
	if len(r.Changes) == 1 {
		noun = "change"
	}
	fmt.Fprintf(w, "second run of %s: %d %s (first run %d resources, second run %d)\n", r.Stack, len(r.Changes), noun, r.FirstRun, r.SecondRun)
	for _, c := range r.Changes {
		var notes []string
		if len(c.Inputs) > 0 {
			notes = append(notes, "inputs: "+strings.Join(c.Inputs, ", "))
		}
		if len(c.Options) > 0 {
			notes = append(notes, "options: "+strings.Join(c.Options, ", "))
		}
		if c.Component != "" {
			notes = append(notes, "created by the component "+c.Component)
		}
		if c.Protected {
			notes = append(notes, "protected: the engine refuses the delete and the update fails")
		}
		if c.Retained {
			notes = append(notes, "retainOnDelete: it stays in AWS")
		}
		line := fmt.Sprintf("  %-7s %s %s", c.Op, c.Type, c.Name)
		if len(notes) > 0 {
			line += " (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintln(w, line)
		if c.Component == "" {
			fmt.Fprintf(w, "          %s\n", c.URN)
		}
	}
}

// writeSecondRunJSON prints the report as JSON.
func writeSecondRunJSON(w io.Writer, r *SecondRunReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
