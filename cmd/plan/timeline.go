package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Timeline is what the resource graph says about how long a first deploy
// and a destroy take, from the typical durations in Durations.
type Timeline struct {
	// CriticalPathSeconds is the first deploy's length: the longest chain of
	// the program's dependencies, the engine running everything else in
	// parallel.
	CriticalPathSeconds int `json:"criticalPathSeconds"`
	// SumSeconds is what the same deploy would take one resource at a time.
	SumSeconds int `json:"sumSeconds"`
	// LowerBoundSeconds is the longest chain over only the edges that an
	// Ordering rule covers: what no reordering of the program can beat.
	LowerBoundSeconds int `json:"lowerBoundSeconds"`
	// CriticalPath lists the URNs of the longest chain, first to last.
	CriticalPath   []string `json:"criticalPath"`
	LowerBoundPath []string `json:"lowerBoundPath"`
	// Destroy is the same walk over the reversed graph with delete times.
	Destroy DestroyTimeline `json:"destroy"`
	// Steps are every timed resource with its start in the first deploy.
	Steps []Step `json:"steps"`
	// Unrequired lists the program's edges no Ordering covers: where the
	// graph waits by choice.
	Unrequired []Edge `json:"unrequired"`
}

// DestroyTimeline is the critical path of `pulumi destroy`.
type DestroyTimeline struct {
	CriticalPathSeconds int      `json:"criticalPathSeconds"`
	CriticalPath        []string `json:"criticalPath"`
}

// Step is one resource in the deploy's schedule.
type Step struct {
	URN      string `json:"urn"`
	Type     string `json:"type"`
	Start    int    `json:"start"`
	Duration int    `json:"duration"`
}

// Edge is one dependency: From waits for To.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// graphNode is a timed resource. Components other than remote ones
// (pulumi-eks) are not timed: a dependency on one is a dependency on its
// children, which the SDK already expands.
type graphNode struct {
	urn, typ       string
	create, delete int
	deps           []string
}

// ComputeTimeline walks the plan's dependency graph.
func ComputeTimeline(resources []Resource) (*Timeline, error) {
	nodes, err := timedGraph(resources)
	if err != nil {
		return nil, err
	}
	t := &Timeline{Steps: []Step{}, Unrequired: []Edge{}}
	for _, n := range nodes {
		t.SumSeconds += n.create
		for _, d := range n.deps {
			if _, ok := Required(n.typ, nodes[d].typ); !ok {
				t.Unrequired = append(t.Unrequired, Edge{From: n.urn, To: d})
			}
		}
	}
	sort.Slice(t.Unrequired, func(i, j int) bool {
		if t.Unrequired[i].From != t.Unrequired[j].From {
			return t.Unrequired[i].From < t.Unrequired[j].From
		}
		return t.Unrequired[i].To < t.Unrequired[j].To
	})

	all := func(n *graphNode) []string { return n.deps }
	required := func(n *graphNode) []string {
		var out []string
		for _, d := range n.deps {
			if _, ok := Required(n.typ, nodes[d].typ); ok {
				out = append(out, d)
			}
		}
		return out
	}
	finish, path := longest(nodes, all, func(n *graphNode) int { return n.create })
	t.CriticalPathSeconds, t.CriticalPath = finishOf(finish, path)
	lbFinish, lbPath := longest(nodes, required, func(n *graphNode) int { return n.create })
	t.LowerBoundSeconds, t.LowerBoundPath = finishOf(lbFinish, lbPath)
	for _, n := range nodes {
		t.Steps = append(t.Steps, Step{URN: n.urn, Type: n.typ, Start: finish[n.urn] - n.create, Duration: n.create})
	}
	sort.Slice(t.Steps, func(i, j int) bool {
		if t.Steps[i].Start != t.Steps[j].Start {
			return t.Steps[i].Start < t.Steps[j].Start
		}
		return t.Steps[i].URN < t.Steps[j].URN
	})

	// Destroy: a resource goes only after everything that depends on it.
	dependents := map[string][]string{}
	for _, n := range nodes {
		for _, d := range n.deps {
			dependents[d] = append(dependents[d], n.urn)
		}
	}
	dFinish, dPath := longest(nodes, func(n *graphNode) []string { return dependents[n.urn] }, func(n *graphNode) int { return n.delete })
	t.Destroy.CriticalPathSeconds, t.Destroy.CriticalPath = finishOf(dFinish, dPath)
	return t, nil
}

// timedGraph keeps the timed resources and resolves each one's
// dependencies to timed resources (through untimed components).
func timedGraph(resources []Resource) (map[string]*graphNode, error) {
	byURN := map[string]Resource{}
	children := map[string][]string{}
	for _, r := range resources {
		byURN[r.URN] = r
		if r.Parent != "" {
			children[r.Parent] = append(children[r.Parent], r.URN)
		}
	}
	timed := func(r Resource) bool {
		if strings.HasPrefix(r.Type, "pulumi:providers:") {
			return true
		}
		_, remoteEntry := Durations[r.Type]
		// Components have no ID; pulumi-eks' cluster is timed as a whole.
		return r.ID != "" || remoteEntry
	}
	var expand func(urn string, seen map[string]bool) []string
	expand = func(urn string, seen map[string]bool) []string {
		if seen[urn] {
			return nil
		}
		seen[urn] = true
		r, ok := byURN[urn]
		if !ok {
			return nil
		}
		if timed(r) {
			return []string{urn}
		}
		var out []string
		for _, c := range children[urn] {
			out = append(out, expand(c, seen)...)
		}
		return out
	}
	nodes := map[string]*graphNode{}
	for _, r := range resources {
		if !timed(r) {
			continue
		}
		d := DurationOf(r.Type)
		if strings.HasPrefix(r.Type, "pulumi:providers:") {
			d = Duration{}
		}
		n := &graphNode{urn: r.URN, typ: r.Type, create: d.Create, delete: d.Delete}
		seen := map[string]bool{r.URN: true}
		uniq := map[string]bool{}
		deps := r.Dependencies
		if deps == nil {
			deps = r.DependsOn
		}
		for _, dep := range deps {
			if _, ok := byURN[dep]; !ok {
				return nil, fmt.Errorf("%s depends on %s, which the plan does not hold", r.URN, dep)
			}
			for _, e := range expand(dep, seen) {
				if !uniq[e] {
					uniq[e] = true
					n.deps = append(n.deps, e)
				}
			}
		}
		sort.Strings(n.deps)
		nodes[r.URN] = n
	}
	return nodes, nil
}

// longest computes, for every node, when it finishes if it starts as soon
// as its predecessors (as given by preds) finish, and the predecessor on its
// longest chain. A cycle is impossible in a plan the engine accepted.
func longest(nodes map[string]*graphNode, preds func(*graphNode) []string, dur func(*graphNode) int) (map[string]int, map[string]string) {
	finish := map[string]int{}
	via := map[string]string{}
	var visit func(urn string) int
	visiting := map[string]bool{}
	visit = func(urn string) int {
		if f, ok := finish[urn]; ok {
			return f
		}
		if visiting[urn] {
			return 0
		}
		visiting[urn] = true
		n := nodes[urn]
		start, best := 0, -1
		ps := append([]string(nil), preds(n)...)
		sort.Strings(ps)
		for _, p := range ps {
			if f := visit(p); f > best {
				start, best, via[urn] = f, f, p
			}
		}
		finish[urn] = start + dur(n)
		return finish[urn]
	}
	keys := make([]string, 0, len(nodes))
	for k := range nodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		visit(k)
	}
	return finish, via
}

// finishOf returns the latest finish and the chain that leads to it.
func finishOf(finish map[string]int, via map[string]string) (int, []string) {
	last, max := "", -1
	keys := make([]string, 0, len(finish))
	for k := range finish {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if finish[k] > max {
			last, max = k, finish[k]
		}
	}
	if last == "" {
		return 0, []string{}
	}
	var path []string
	for u := last; u != ""; u = via[u] {
		path = append([]string{u}, path...)
	}
	return max, path
}

// WriteTimeline prints the critical path as a text Gantt chart.
func WriteTimeline(w io.Writer, t *Timeline, resources []Resource) {
	names := map[string]string{}
	for _, r := range resources {
		names[r.URN] = r.Name
	}
	const width = 60
	scale := float64(width) / float64(max(t.CriticalPathSeconds, 1))
	fmt.Fprintf(w, "First deploy: critical path %s (lower bound %s, one at a time %s)\n",
		minutes(t.CriticalPathSeconds), minutes(t.LowerBoundSeconds), minutes(t.SumSeconds))
	fmt.Fprintf(w, "Slowest chain: %s\n\n", chainSummary(t.CriticalPath, resources))
	start := map[string]Step{}
	for _, s := range t.Steps {
		start[s.URN] = s
	}
	for _, u := range t.CriticalPath {
		s := start[u]
		bar := strings.Repeat(" ", int(float64(s.Start)*scale)) + strings.Repeat("#", max(1, int(float64(s.Duration)*scale)))
		fmt.Fprintf(w, "%-62s %6s +%-6s %s\n", bar, minutes(s.Start), minutes(s.Duration), names[u])
	}
	fmt.Fprintf(w, "\nDestroy: critical path %s\n", minutes(t.Destroy.CriticalPathSeconds))
	fmt.Fprintf(w, "Slowest chain: %s\n", chainSummary(t.Destroy.CriticalPath, resources))
	if len(t.Unrequired) > 0 {
		fmt.Fprintf(w, "\n%d dependencies no AWS or Kubernetes ordering requires (the program's choice).\n", len(t.Unrequired))
	}
}

// chainSummary names a chain by its timed steps' types, slow ones only.
func chainSummary(path []string, resources []Resource) string {
	typ := map[string]string{}
	for _, r := range resources {
		typ[r.URN] = r.Type
	}
	var parts []string
	for _, u := range path {
		d := DurationOf(typ[u])
		if d.Create >= 60 || d.Delete >= 60 {
			parts = append(parts, shortType(typ[u]))
		}
	}
	if len(parts) == 0 {
		return "(no slow resource)"
	}
	return strings.Join(parts, " → ")
}

func shortType(t string) string {
	if i := strings.LastIndex(t, ":"); i >= 0 {
		return t[i+1:]
	}
	return t
}

func minutes(s int) string { return fmt.Sprintf("%dm%02ds", s/60, s%60) }
