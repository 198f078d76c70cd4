package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Result is the outcome of one mutant.
type Result struct {
	Mutant
	Outcome  string  `json:"outcome"` // killed, SURVIVED, timeout, not built
	Seconds  float64 `json:"seconds"`
	Diff     string  `json:"diff"`                // one line: before → after
	FailedBy string  `json:"failed_by,omitempty"` // first failing test, or the compile error
}

// Tally counts outcomes. Share is (killed+timeout)/(built) in percent, built
// being every mutant except the ones that did not compile.
type Tally struct {
	Total    int     `json:"total"`
	Killed   int     `json:"killed"`
	Timeout  int     `json:"timeout"`
	Survived int     `json:"survived"`
	NotBuilt int     `json:"not_built"`
	Share    float64 `json:"share_caught_pct"`
}

func (t *Tally) add(outcome string) {
	t.Total++
	switch outcome {
	case outKilled:
		t.Killed++
	case outTimeout:
		t.Timeout++
	case outSurvived:
		t.Survived++
	case outNotBuilt:
		t.NotBuilt++
	}
	if built := t.Total - t.NotBuilt; built > 0 {
		t.Share = 100 * float64(t.Killed+t.Timeout) / float64(built)
	}
}

// Report is everything the sweep prints, and what -json writes.
type Report struct {
	// Commit is the tree the sweep measured (git HEAD, "+changes" when the
	// working tree differed from it), Started when it began (UTC).
	Commit          string            `json:"commit"`
	Started         string            `json:"started"`
	Command         string            `json:"command"`
	Seed            uint64            `json:"seed"`
	Candidates      int               `json:"candidates"`
	BaselineSeconds float64           `json:"baseline_seconds"`
	Interrupted     bool              `json:"interrupted,omitempty"`
	Total           Tally             `json:"total"`
	ByOperator      map[string]*Tally `json:"by_operator"`
	ByDir           map[string]*Tally `json:"by_directory"`
	Survivors       []Result          `json:"survivors"`
	Results         []Result          `json:"results"`
	Exclusions      []Exclusion       `json:"equivalent_exclusions"`
	Unreached       []string          `json:"unreached_files,omitempty"`
}

func (r *Report) summarize() {
	r.Total = Tally{}
	r.ByOperator = map[string]*Tally{}
	r.ByDir = map[string]*Tally{}
	r.Survivors = nil
	for _, res := range r.Results {
		r.Total.add(res.Outcome)
		for _, m := range []struct {
			tallies map[string]*Tally
			key     string
		}{{r.ByOperator, res.Op}, {r.ByDir, res.Dir}} {
			if m.tallies[m.key] == nil {
				m.tallies[m.key] = &Tally{}
			}
			m.tallies[m.key].add(res.Outcome)
		}
		if res.Outcome == outSurvived {
			r.Survivors = append(r.Survivors, res)
		}
	}
}

func (r *Report) print(w io.Writer, _ map[string][]byte) {
	t := r.Total
	fmt.Fprintf(w, "\nsummary (%s, seed %d, %d of %d candidates run)\n", r.Command, r.Seed, t.Total, r.Candidates)
	if r.Interrupted {
		fmt.Fprintln(w, "  INTERRUPTED: the figures cover the mutants that finished")
	}
	fmt.Fprintf(w, "  total %d: killed %d, timeout %d, survived %d, not built %d\n", t.Total, t.Killed, t.Timeout, t.Survived, t.NotBuilt)
	fmt.Fprintf(w, "  share caught: %.1f%% ((killed+timeout) of %d built)\n", t.Share, t.Total-t.NotBuilt)
	row := func(name string, t *Tally) {
		fmt.Fprintf(w, "  %-11s %4d run  %4d killed  %3d timeout  %4d survived  %3d not built  %5.1f%%\n",
			name, t.Total, t.Killed, t.Timeout, t.Survived, t.NotBuilt, t.Share)
	}
	fmt.Fprintln(w, "per operator:")
	for _, op := range operators {
		if t := r.ByOperator[op]; t != nil {
			row(op, t)
		}
	}
	fmt.Fprintln(w, "per directory:")
	for _, d := range sortedKeys(r.ByDir) {
		row(d, r.ByDir[d])
	}
	fmt.Fprintf(w, "survivors (%d):\n", len(r.Survivors))
	for _, s := range r.Survivors {
		fmt.Fprintf(w, "  %s:%d  %s  %s\n      %s\n", s.File, s.Line, s.Op, s.Desc, s.Diff)
	}
	var nb []Result
	for _, res := range r.Results {
		if res.Outcome == outNotBuilt {
			nb = append(nb, res)
		}
	}
	if len(nb) > 0 {
		fmt.Fprintf(w, "not built (%d, excluded from the share):\n", len(nb))
		for _, s := range nb {
			fmt.Fprintf(w, "  %s:%d  %s  %s  (%s)\n", s.File, s.Line, s.Op, s.Desc, s.FailedBy)
		}
	}
	printExclusions(w, r.Exclusions, r.Unreached)
}

func printExclusions(w io.Writer, excl []Exclusion, unreached []string) {
	n := 0
	for _, e := range excl {
		n += e.Mutants
	}
	fmt.Fprintf(w, "excluded as equivalent (`// mutation: equivalent — reason`): %d lines, %d mutants\n", len(excl), n)
	for _, e := range excl {
		fmt.Fprintf(w, "  %s:%d  %d mutants  %s\n", e.File, e.Line, e.Mutants, e.Reason)
	}
	if len(unreached) > 0 {
		fmt.Fprintf(w, "not compiled into the tested packages, not mutated: %s\n", strings.Join(unreached, ", "))
	}
}

func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
