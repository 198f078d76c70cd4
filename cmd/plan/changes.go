package plan

// The change analysis (issue 24 item 4): `plan --stack NAME --change
// KEY=VALUE` plans the stack as deployed, then plans it again with the
// changed configuration against that state (the --second-run machinery),
// and says what the change would replace, update, create and delete, what
// each carries, and whether a replacement would stop serving or lose data.
//
// Replacements follow the providers (replacement.go): a resource is
// replaced when an input its provider forces new on differs, or one its
// replaceOnChanges names. A replaced resource gets a new ID, name and ARN,
// so what reads them changes too; the analysis plans again with the
// replaced resources renewed until no new replacement appears (what
// `pulumi preview` shows as unknown outputs of a replacement).
//
// Exit codes: ExitOK when every replacement keeps serving and keeps data;
// ExitUnsafeChange (1) when one does not; ExitConfigError (2) for a bad
// --change or a configuration the change makes invalid; ExitFailure (3).

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

// ExitUnsafeChange is --change's exit code when a replacement would
// interrupt serving or lose data without a safe path.
const ExitUnsafeChange = 1

// maxReplacementRounds bounds the renew-and-plan-again loop; a chain of
// replacements in this stack is a few resources long.
const maxReplacementRounds = 12

// Setting is one --change KEY=VALUE.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ParseSetting reads KEY=VALUE; a key without a namespace is the
// project's.
func ParseSetting(project, s string) (Setting, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return Setting{}, fmt.Errorf("--change %q: write KEY=VALUE, e.g. --change authReplicas=6", s)
	}
	key := strings.TrimSpace(k)
	if !strings.Contains(key, ":") {
		key = project + ":" + key
	}
	return Setting{Key: key, Value: v}, nil
}

// ResourceChange is one resource the change touches.
type ResourceChange struct {
	Op   string `json:"op"` // create, delete, update, replace
	URN  string `json:"urn"`
	Type string `json:"type"`
	Name string `json:"name"`
	// Inputs are the top-level inputs that differ; Forcing the provider's
	// replace-on-change inputs among them.
	Inputs  []string `json:"inputs"`
	Forcing []string `json:"forcing"`
	// Carries is "traffic", "data" or "".
	Carries string `json:"carries"`
	// DeleteFirst: the replacement deletes the old resource before the
	// new one exists.
	DeleteFirst bool `json:"deleteFirst,omitempty"`
	// Rolls: an update of a Deployment's pod template, which replaces its
	// pods one surge at a time.
	Rolls bool `json:"rolls,omitempty"`
	// Safe: this change of the resource keeps serving and keeps data;
	// Why says how, or what breaks.
	Safe bool   `json:"safe"`
	Why  string `json:"why,omitempty"`
}

// ChangeReport is the analysis of one set of --change settings.
type ChangeReport struct {
	Project  string           `json:"project"`
	Stack    string           `json:"stack"`
	Settings []Setting        `json:"settings"`
	Changes  []ResourceChange `json:"changes"`
	// Warnings of the preflight (stderr, not in the JSON).
	Warnings []string `json:"-"`
}

// Unsafe lists the changes that would stop serving or lose data.
func (r *ChangeReport) Unsafe() []ResourceChange {
	var out []ResourceChange
	for _, c := range r.Changes {
		if !c.Safe {
			out = append(out, c)
		}
	}
	return out
}

// ExitCode is ExitUnsafeChange when a change is unsafe, else ExitOK.
func (r *ChangeReport) ExitCode() int {
	if len(r.Unsafe()) > 0 {
		return ExitUnsafeChange
	}
	return ExitOK
}

// Replaced lists the replaced resources as "type name", sorted.
func (r *ChangeReport) Replaced() []string {
	var out []string
	for _, c := range r.Changes {
		if c.Op == OpReplace {
			out = append(out, c.Type+" "+c.Name)
		}
	}
	sort.Strings(out)
	return out
}

// Withchanged returns a copy of the stack file with the settings applied.
func withChanged(file *StackFile, settings []Setting) *StackFile {
	next := &StackFile{Config: map[string]string{}, Literals: map[string]stacks.Literal{}, Written: map[string]bool{}}
	for k, v := range file.Config {
		next.Config[k] = v
	}
	for k, v := range file.Literals {
		next.Literals[k] = v
	}
	for k, v := range file.Written {
		next.Written[k] = v
	}
	changed := map[string]bool{}
	for _, s := range settings {
		next.Config[s.Key] = s.Value
		next.Written[s.Key] = true
		delete(next.Literals, s.Key)
		changed[s.Key] = true
	}
	for _, k := range file.SecretKeys {
		if !changed[k] {
			next.SecretKeys = append(next.SecretKeys, k)
		}
	}
	return next
}

// AnalyzeChangeFile validates the stack file before and after the
// settings, then analyses the change.
func AnalyzeChangeFile(project, stack string, file *StackFile, settings []Setting) (*ChangeReport, error) {
	if _, err := stacks.Load(project, stack, file.Source()); err != nil {
		return nil, err
	}
	next := withChanged(file, settings)
	if _, err := stacks.Load(project, stack, next.Source()); err != nil {
		return nil, err
	}
	var warnings []string
	program := func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		exports, w, err := stacks.RunReport(ctx)
		if warnings == nil {
			warnings = w
		}
		return exports, err
	}
	report, err := AnalyzeChange(project, stack, file, next, program)
	if err != nil {
		return nil, err
	}
	report.Settings = settings
	report.Warnings = warnings
	return report, nil
}

// AnalyzeChange plans before into a fresh account, then after against
// that state, renewing replaced resources until the set of replacements
// is stable, and judges each change.
func AnalyzeChange(project, stack string, before, after *StackFile, program mocks.Program) (*ChangeReport, error) {
	account := mocks.NewAccount()
	first, err := runUnwrapped(mocks.RunOptions{Account: account}, project, stack, before.Config, before.SecretKeys, program)
	if err != nil {
		return nil, fmt.Errorf("plan before the change: %w", err)
	}
	return analyzeAgainst(first, nil, func(replaced map[string]bool) (*mocks.Result, error) {
		// Each round plans against a copy of the account the first run
		// left, so that rounds do not see each other's creations.
		return runUnwrapped(mocks.RunOptions{Account: account.Clone(), Prior: first, Replaced: replaced},
			project, stack, after.Config, after.SecretKeys, program)
	}, project, stack)
}

// AnalyzeReplaceFile is `pulumi up --replace` for the resources of the
// stack that replace selects, with the configuration unchanged: what
// their replacement does to the rest, and whether it keeps serving (how
// the tests replay a target group or Fargate profile replacement, which
// no common configuration change causes).
func AnalyzeReplaceFile(project, stack string, file *StackFile, replace func(r *mocks.Resource) bool) (*ChangeReport, error) {
	if _, err := stacks.Load(project, stack, file.Source()); err != nil {
		return nil, err
	}
	program := func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		exports, _, err := stacks.RunReport(ctx)
		return exports, err
	}
	account := mocks.NewAccount()
	first, err := runUnwrapped(mocks.RunOptions{Account: account}, project, stack, file.Config, file.SecretKeys, program)
	if err != nil {
		return nil, fmt.Errorf("plan before the replacement: %w", err)
	}
	seeds := map[string]bool{}
	for _, r := range first.Resources {
		if replace(r) {
			seeds[r.URN] = true
		}
	}
	if len(seeds) == 0 {
		return nil, fmt.Errorf("no resource of %s to replace", stack)
	}
	return analyzeAgainst(first, seeds, func(replaced map[string]bool) (*mocks.Result, error) {
		return runUnwrapped(mocks.RunOptions{Account: account.Clone(), Prior: first, Replaced: replaced},
			project, stack, file.Config, file.SecretKeys, program)
	}, project, stack)
}

// analyzeAgainst runs plan (the program after the change, against first's
// state, with the given URNs renewed) until the replacements are stable,
// and judges the result. seeds are replaced whatever their inputs.
func analyzeAgainst(first *mocks.Result, seeds map[string]bool, plan func(replaced map[string]bool) (*mocks.Result, error), project, stack string) (*ChangeReport, error) {
	replaced := map[string]bool{}
	for u := range seeds {
		replaced[u] = true
	}
	var second *mocks.Result
	var changes []ResourceChange
	for round := 0; ; round++ {
		if round == maxReplacementRounds {
			return nil, fmt.Errorf("the replacements did not settle after %d rounds", maxReplacementRounds)
		}
		var err error
		second, err = plan(replaced)
		if err != nil {
			return nil, fmt.Errorf("plan after the change: %w", err)
		}
		changes = classify(first, second, seeds)
		grew := false
		for _, c := range changes {
			if c.Op == OpReplace && !replaced[c.URN] {
				replaced[c.URN] = true
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	judge(changes, first, second)
	return &ChangeReport{Project: project, Stack: stack, Changes: changes}, nil
}

// classify turns the engine-level comparison into resource changes, with
// the providers' replacement rules applied.
func classify(first, second *mocks.Result, seeds map[string]bool) []ResourceChange {
	before, after := byURN(first), byURN(second)
	out := []ResourceChange{}
	compared := Compare(first, second)
	listed := map[string]bool{}
	for _, c := range compared {
		listed[c.URN] = true
	}
	for u := range seeds {
		if r, ok := after[u]; ok && !listed[u] {
			compared = append(compared, Change{Op: OpUpdate, URN: u, Type: r.Type, Name: r.Name, Inputs: []string{}, Options: []string{}})
		}
	}
	sort.SliceStable(compared, func(i, j int) bool { return compared[i].URN < compared[j].URN })
	for _, c := range compared {
		if c.Component != "" {
			// Inside a multi-language component: listed under it.
			continue
		}
		rule := RuleFor(c.Type)
		rc := ResourceChange{Op: c.Op, URN: c.URN, Type: c.Type, Name: c.Name, Inputs: c.Inputs, Forcing: []string{}, Carries: rule.Carries}
		if c.Op == OpUpdate || c.Op == OpReplace {
			old, next := before[c.URN], after[c.URN]
			for _, p := range rule.ForceNew {
				if pathDiffers(old.Inputs, next.Inputs, p) {
					rc.Forcing = append(rc.Forcing, p)
				}
			}
			if seeds[c.URN] {
				rc.Forcing = append(rc.Forcing, "--replace")
			}
			if len(rc.Forcing) > 0 {
				rc.Op = OpReplace
			}
			if rc.Op == OpReplace {
				rc.DeleteFirst = next.Options.DeleteBeforeReplace || namedAndKept(old, next, rule.NameInput)
			}
			rc.Rolls = rc.Op == OpUpdate && c.Type == deploymentType && pathDiffers(old.Inputs, next.Inputs, "spec.template")
			if rc.Op == OpUpdate && len(c.Inputs) == 0 {
				// Only resource options changed: no provider call.
				continue
			}
		}
		out = append(out, rc)
	}
	return out
}

// namedAndKept: the program names the resource and keeps the name, so a
// replacement must delete the old one first (see replacement.go).
func namedAndKept(old, next *mocks.Resource, nameInput string) bool {
	if nameInput == "" {
		return false
	}
	o, n := valueAt(old.Inputs, nameInput), valueAt(next.Inputs, nameInput)
	if n == nil || o == nil || !plainValue(*o).DeepEquals(plainValue(*n)) {
		return false
	}
	// pulumi-kubernetes also needs the same namespace (provider.go:1656):
	// an object moving to another namespace is created there first.
	return !strings.HasPrefix(next.Type, "kubernetes:") || !pathDiffers(old.Inputs, next.Inputs, "metadata.namespace")
}

// valueAt resolves a dotted input path; nil when absent.
func valueAt(m resource.PropertyMap, path string) *resource.PropertyValue {
	v := resource.NewObjectProperty(m)
	for _, part := range strings.Split(path, ".") {
		v = plainValue(v)
		if !v.IsObject() {
			return nil
		}
		next, ok := v.ObjectValue()[resource.PropertyKey(part)]
		if !ok || next.IsNull() {
			return nil
		}
		v = next
	}
	return &v
}

// pathDiffers compares one dotted input path of two input maps.
func pathDiffers(old, next resource.PropertyMap, path string) bool {
	o, n := valueAt(old, path), valueAt(next, path)
	if o == nil || n == nil {
		return (o == nil) != (n == nil)
	}
	return !plainValue(*o).DeepEquals(plainValue(*n))
}

func byURN(res *mocks.Result) map[string]*mocks.Resource {
	out := map[string]*mocks.Resource{}
	for _, r := range res.Resources {
		out[r.URN] = r
	}
	return out
}

// judge decides, for each change, whether it keeps serving and keeps
// data.
func judge(changes []ResourceChange, first, second *mocks.Result) {
	ops := map[string]string{}
	for _, c := range changes {
		ops[c.URN] = c.Op
		if c.Rolls {
			ops[c.URN] = opRoll
		}
	}
	after := byURN(second)
	before := byURN(first)
	for i := range changes {
		c := &changes[i]
		c.Safe, c.Why = true, ""
		switch c.Op {
		case OpCreate:
			c.Why = "new"
		case OpUpdate:
			c.Why = "updated in place"
			if c.Rolls {
				c.Why = "rolls its pods through the zero-downtime path (surge, readiness gate, preStop drain)"
			}
		case OpDelete:
			old := before[c.URN]
			switch {
			case c.Carries == CarriesData && !old.Options.RetainOnDelete:
				c.Safe, c.Why = false, "deleted with its data"
			case c.Carries == CarriesData:
				c.Why = "retainOnDelete: left in AWS with its data"
			default:
				c.Why = "no longer part of the stack; deleted after the creates and updates"
			}
		case OpReplace:
			judgeReplacement(c, before, after, ops)
		}
	}
}

// judgeReplacement: a replacement of what carries data loses it; of what
// carries traffic it keeps serving only create-before-delete and on a
// safe path.
func judgeReplacement(c *ResourceChange, before, after map[string]*mocks.Resource, ops map[string]string) {
	switch {
	case c.Carries == CarriesData:
		c.Safe, c.Why = false, "a new, empty resource replaces it: its data is lost"
		return
	case c.Carries == CarriesNothing:
		c.Why = "carries neither traffic nor data"
		if c.DeleteFirst {
			c.Why += "; deleted before its replacement exists"
		}
		return
	case c.DeleteFirst:
		c.Safe, c.Why = false, "deleted before its replacement exists: serving stops until the new one is ready"
		return
	}
	if path, ok := safePaths[c.Type]; ok {
		c.Safe, c.Why = path(c.URN, before, after, ops)
		return
	}
	c.Safe, c.Why = false, "no safe path for replacing this resource while it serves"
}

// safePath says whether a create-before-delete replacement of urn keeps
// serving, given the plans before and after and every resource's op.
type safePath func(urn string, before, after map[string]*mocks.Resource, ops map[string]string) (bool, string)

// safePaths are the replacements of traffic-carrying types that keep
// serving when the stack is wired for them.
var safePaths = map[string]safePath{
	"aws:lb/targetGroup:TargetGroup":                      targetGroupPath,
	"kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding": bindingPath,
	"aws:eks/fargateProfile:FargateProfile":               profilePath,
	"aws:ec2/securityGroup:SecurityGroup": func(string, map[string]*mocks.Resource, map[string]*mocks.Resource, map[string]string) (bool, string) {
		return true, "the new group is created and attached before the old one is deleted"
	},
	deploymentType: func(string, map[string]*mocks.Resource, map[string]*mocks.Resource, map[string]string) (bool, string) {
		return true, "the new Deployment's pods are Ready (pulumi-kubernetes awaits the rollout) before the old one is deleted"
	},
	"kubernetes:core/v1:Service": func(string, map[string]*mocks.Resource, map[string]*mocks.Resource, map[string]string) (bool, string) {
		return true, "the new Service exists before the old one is deleted"
	},
	"kubernetes:core/v1:Namespace": namespacePath,
}

// dependents are the resources of a plan whose dependencies include urn.
func dependents(urn string, plan map[string]*mocks.Resource, typ string) []*mocks.Resource {
	var out []*mocks.Resource
	for _, r := range plan {
		if r.Type == typ && contains(r.Dependencies, urn) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// opRoll marks, for the safe paths, an update that rolls a Deployment's
// pods.
const opRoll = "roll"

// deploymentType is the zone Deployments' type.
const deploymentType = "kubernetes:apps/v1:Deployment"

// targetGroupPath (issue 24 item 1): the new group serves before the
// listener points at it when (a) a binding of the new group is created
// before the old binding goes, (b) every zone Deployment rolls, so that
// its new pods carry the new binding's readiness gate and are Ready only
// once healthy in the new group, and (c) every listener rule forwarding
// to the group waits for those rollouts.
func targetGroupPath(urn string, before, after map[string]*mocks.Resource, ops map[string]string) (bool, string) {
	bindings := dependents(urn, after, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
	if len(bindings) == 0 {
		return false, "no TargetGroupBinding registers pods in the new group"
	}
	for _, b := range bindings {
		if ops[b.URN] != OpCreate && !(ops[b.URN] == OpReplace && !b.Options.DeleteBeforeReplace) {
			return false, fmt.Sprintf("the binding %s is not created beside the old one (deleted first): the group is empty while the listener points at it", b.Name)
		}
	}
	deployments := dependents(urn, after, "kubernetes:apps/v1:Deployment")
	if len(deployments) == 0 {
		return false, "no Deployment rolls onto the new group: the running pods never get its readiness gate"
	}
	for _, d := range deployments {
		if ops[d.URN] != opRoll && ops[d.URN] != OpCreate && ops[d.URN] != OpReplace {
			return false, fmt.Sprintf("the Deployment %s does not roll", d.Name)
		}
	}
	for _, r := range after {
		if r.Type != "aws:lb/listenerRule:ListenerRule" && r.Type != "aws:lb/listener:Listener" {
			continue
		}
		if !contains(r.Dependencies, urn) {
			continue
		}
		for _, d := range deployments {
			if !contains(r.Dependencies, d.URN) {
				return false, fmt.Sprintf("the %s %s may point at the new group before %s has rolled onto it", shortType(r.Type), r.Name, d.Name)
			}
		}
	}
	return true, "the new group's binding and rolled pods are healthy before the listener rules point at it; the old group goes last"
}

// bindingPath: a binding replaced create-before-delete needs a new target
// group (the webhook refuses two bindings of one group) and then follows
// the group's path.
func bindingPath(urn string, before, after map[string]*mocks.Resource, ops map[string]string) (bool, string) {
	old, next := before[urn], after[urn]
	if !pathDiffers(old.Inputs, next.Inputs, "spec.targetGroupARN") {
		return false, "a second binding of the same target group is refused by the controller's webhook (checkExistingTargetGroups)"
	}
	return true, "created for the new target group beside the old binding, which goes with the old group"
}

// profilePath (issue 24 item 2): a Fargate profile goes with its pods, so
// its replacement keeps serving only when every Deployment whose pods run
// on it rolls onto the new profile first.
func profilePath(urn string, before, after map[string]*mocks.Resource, ops map[string]string) (bool, string) {
	// The Deployments whose pod template names the profile run on it;
	// those that only wait for it run on the profile they name.
	var onIt []*mocks.Resource
	for _, d := range dependents(urn, after, deploymentType) {
		if contains(d.PropertyDependencies["spec"], urn) {
			onIt = append(onIt, d)
		}
	}
	if len(onIt) == 0 {
		return false, "the pods on it are deleted with it, bypassing their PodDisruptionBudget and preStop drain (no pod template names the profile, so nothing rolls onto the new one first)"
	}
	for _, d := range onIt {
		if ops[d.URN] != opRoll && ops[d.URN] != OpReplace {
			return false, fmt.Sprintf("the Deployment %s does not roll onto the new profile before the old one deletes its pods", d.Name)
		}
	}
	return true, "the zone's pods roll onto the new profile, which their template names, before the old profile is deleted"
}

// namespacePath: deleting the old namespace deletes what is still in it,
// so its replacement keeps serving only when every object that serves
// from it is replaced into the new one.
func namespacePath(urn string, before, after map[string]*mocks.Resource, ops map[string]string) (bool, string) {
	for _, r := range before {
		if RuleFor(r.Type).Carries == CarriesTraffic && contains(r.Dependencies, urn) && ops[r.URN] != OpReplace && ops[r.URN] != OpDelete {
			return false, fmt.Sprintf("deleting the old namespace deletes %s, which stays in it", r.Name)
		}
	}
	return true, "every serving object is replaced into the new namespace before the old one is deleted"
}

// changeMain runs the change analysis and prints its report.
func changeMain(project, stack string, file *StackFile, settings []Setting, asJSON bool, stdout, stderr io.Writer) int {
	report, err := AnalyzeChangeFile(project, stack, file, settings)
	if err != nil {
		return reportPlanError(stderr, err)
	}
	for _, w := range report.Warnings {
		fmt.Fprintln(stderr, "plan: warning:", w)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(report); err != nil {
			fmt.Fprintln(stderr, "plan:", err)
			return ExitFailure
		}
	} else {
		WriteChange(stdout, report)
	}
	return report.ExitCode()
}

// WriteChange prints the report: the replacements first, then updates,
// creates and deletes, and a verdict.
func WriteChange(w io.Writer, r *ChangeReport) {
	var set []string
	for _, s := range r.Settings {
		set = append(set, s.Key+"="+s.Value)
	}
	fmt.Fprintf(w, "change of %s: %s\n", r.Stack, strings.Join(set, " "))
	if len(r.Changes) == 0 {
		fmt.Fprintln(w, "  no resource changes")
	}
	for _, op := range []string{OpReplace, OpUpdate, OpCreate, OpDelete} {
		for _, c := range r.Changes {
			if c.Op != op {
				continue
			}
			carries := c.Carries
			if carries == "" {
				carries = "-"
			}
			verdict := "ok"
			if !c.Safe {
				verdict = "UNSAFE"
			}
			detail := c.Why
			if len(c.Forcing) > 0 {
				detail = "forced by " + strings.Join(c.Forcing, ", ") + "; " + detail
			} else if op == OpUpdate && len(c.Inputs) > 0 {
				detail = strings.Join(c.Inputs, ", ") + "; " + detail
			}
			fmt.Fprintf(w, "  %-7s %-6s %-7s %s %s (%s)\n", c.Op, verdict, carries, c.Type, c.Name, detail)
		}
	}
	if n := len(r.Unsafe()); n > 0 {
		fmt.Fprintf(w, "%d change(s) would interrupt serving or lose data without a safe path (exit %d)\n", n, ExitUnsafeChange)
	} else {
		fmt.Fprintln(w, "every change keeps serving and keeps data")
	}
}
