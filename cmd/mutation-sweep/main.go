// Command mutation-sweep measures how much of the infrastructure code the
// specification tests guard: it applies one small break (a mutant) at a
// time to the Go sources under components/, stacks/ and policies/, runs the
// tests with the mutated file swapped in through go test -overlay (the
// working tree is never written), and reports the share of mutants the
// tests catch. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	n       int
	seed    uint64
	all     bool
	only    string
	ops     string
	list    bool
	jobs    int
	test    string
	flags   string
	timeout time.Duration
	json    string
	min     float64
	dirs    string
	root    string
	nSet    bool // -n was given
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100, "number of mutants to run (a stratified sample)")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the sample")
	flag.BoolVar(&o.all, "all", false, "run every candidate mutant")
	flag.StringVar(&o.only, "only", "", "only files whose repository-relative path matches this regular expression")
	flag.StringVar(&o.ops, "ops", "", "only these operators (comma-separated; default all: "+strings.Join(operators, ",")+")")
	flag.BoolVar(&o.list, "list", false, "print the candidate mutants (with -n: the sample) and exit without running anything")
	flag.IntVar(&o.jobs, "j", 1, "mutants run in parallel (keep 1 on a small machine)")
	flag.StringVar(&o.test, "test", "./tests/", "package patterns go test runs for each mutant (space-separated)")
	flag.StringVar(&o.flags, "testflags", "", "more go test flags, space-separated (e.g. -run=TestConfig)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "time limit per mutant; a mutant over it counts as caught (timeout)")
	flag.StringVar(&o.json, "json", "", "also write the report as JSON to this file")
	flag.Float64Var(&o.min, "min", -1, "exit 1 when the share caught is below this percentage")
	flag.StringVar(&o.dirs, "dirs", "components,stacks,policies", "top-level directories to mutate (comma-separated)")
	flag.StringVar(&o.root, "root", "", "repository root (default: the nearest directory with go.mod)")
	flag.Parse()
	flag.Visit(func(f *flag.Flag) { o.nSet = o.nSet || f.Name == "n" })
	os.Exit(run(o, os.Stdout))
}

func run(o options, w io.Writer) int {
	root, err := findRoot(o.root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutation-sweep:", err)
		return 2
	}
	var only *regexp.Regexp
	if o.only != "" {
		if only, err = regexp.Compile(o.only); err != nil {
			fmt.Fprintln(os.Stderr, "mutation-sweep: -only:", err)
			return 2
		}
	}
	t := tester{root: root, pkgs: strings.Fields(o.test), extra: strings.Fields(o.flags), timeout: o.timeout}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	en, err := enumerate(root, strings.Split(o.dirs, ","), t.pkgs, only, o.ops)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutation-sweep:", err)
		return 2
	}
	chosen := en.cands
	if !o.all {
		chosen = Sample(en.cands, o.n, o.seed)
	}
	if o.list {
		if o.nSet && !o.all {
			// -list -n N shows the sample that would run.
			en.sampledFrom, en.cands = len(en.cands), chosen
		}
		printList(w, en)
		return 0
	}
	rep := &Report{
		Commit:     treeCommit(root),
		Started:    time.Now().UTC().Format(time.RFC3339),
		Command:    "go " + strings.Join(t.args(""), " "),
		Seed:       o.seed,
		Candidates: len(en.cands),
		Exclusions: en.exclusions,
		Unreached:  en.unreached,
	}
	fmt.Fprintf(w, "mutation-sweep: %d candidates in %d files; running %d (seed %d) at %s\n", len(en.cands), en.files, len(chosen), o.seed, rep.Commit)

	fmt.Fprintf(w, "baseline: %s ... ", rep.Command)
	outcome, out, took, err := t.run(ctx, "")
	if err != nil || outcome != outSurvived {
		fmt.Fprintf(w, "FAILED (%.1fs)\n%s\nmutation-sweep: the tests fail unmutated; fix them first\n", took.Seconds(), out)
		return 2
	}
	rep.BaselineSeconds = took.Seconds()
	fmt.Fprintf(w, "ok (%.1fs)\n", took.Seconds())

	tmp, err := os.MkdirTemp("", "mutation-sweep-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutation-sweep:", err)
		return 2
	}
	defer os.RemoveAll(tmp)

	rep.Results = runAll(ctx, w, t, root, tmp, chosen, en.src, o.jobs)
	rep.Interrupted = ctx.Err() != nil
	rep.summarize()
	rep.print(w, en.src)
	if o.json != "" {
		if err := rep.writeJSON(o.json); err != nil {
			fmt.Fprintln(os.Stderr, "mutation-sweep:", err)
			return 2
		}
	}
	if rep.Interrupted {
		return 130
	}
	if o.min >= 0 && rep.Total.Share < o.min {
		fmt.Fprintf(w, "share caught %.1f%% is below -min %.1f%%\n", rep.Total.Share, o.min)
		return 1
	}
	return 0
}

func findRoot(root string) (string, error) {
	if root != "" {
		return filepath.Abs(root)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; pass -root")
		}
		dir = parent
	}
}

type enumeration struct {
	cands      []Mutant
	exclusions []Exclusion
	unreached  []string
	files      int
	// sampledFrom is the number of candidates when cands is a sample (-list -n).
	sampledFrom int
	src         map[string][]byte // by repository-relative slash path
}

// enumerate lists every candidate mutant of the non-test Go files under
// dirs that the test packages compile, in a fixed order.
func enumerate(root string, dirs, pkgs []string, only *regexp.Regexp, ops string) (*enumeration, error) {
	compiled, err := compiledFiles(root, pkgs)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, op := range strings.Split(ops, ",") {
		if op = strings.TrimSpace(op); op != "" {
			keep[op] = true
		}
	}
	en := &enumeration{src: map[string][]byte{}}
	for _, d := range dirs {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := e.Name()
			if e.IsDir() {
				if path != filepath.Join(root, d) && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if only != nil && !only.MatchString(rel) {
				return nil
			}
			if !compiled[filepath.Clean(path)] {
				en.unreached = append(en.unreached, rel)
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			ms, excl, err := Generate(rel, src)
			if err != nil {
				return err
			}
			en.files++
			en.src[rel] = src
			for _, m := range ms {
				if len(keep) == 0 || keep[m.Op] {
					en.cands = append(en.cands, m)
				}
			}
			en.exclusions = append(en.exclusions, excl...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return en, nil
}

func printList(w io.Writer, en *enumeration) {
	for _, m := range en.cands {
		fmt.Fprintf(w, "%s:%d:%d\t%s\t%s\n", m.File, m.Line, m.Col, m.Op, m.Desc)
	}
	if en.sampledFrom > 0 {
		fmt.Fprintf(w, "\nsample of %d of %d candidates in %d files\n", len(en.cands), en.sampledFrom, en.files)
	} else {
		fmt.Fprintf(w, "\n%d candidates in %d files\n", len(en.cands), en.files)
	}
	count := func(key func(Mutant) string) map[string]int {
		c := map[string]int{}
		for _, m := range en.cands {
			c[key(m)]++
		}
		return c
	}
	byOp := count(func(m Mutant) string { return m.Op })
	fmt.Fprint(w, "per operator:")
	for _, op := range operators {
		fmt.Fprintf(w, " %s %d", op, byOp[op])
	}
	byDir := count(func(m Mutant) string { return m.Dir })
	fmt.Fprint(w, "\nper directory:")
	for _, d := range sortedKeys(byDir) {
		fmt.Fprintf(w, " %s %d", d, byDir[d])
	}
	fmt.Fprintln(w)
	printExclusions(w, en.exclusions, en.unreached)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// runAll runs the chosen mutants with jobs workers, printing a progress line
// for each as it finishes. Mutants not run because of an interrupt are left
// out.
func runAll(ctx context.Context, w io.Writer, t tester, root, tmp string, chosen []Mutant, src map[string][]byte, jobs int) []Result {
	if jobs < 1 {
		jobs = 1
	}
	results := make([]*Result, len(chosen))
	next := make(chan int)
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				m := chosen[i]
				r := Result{Mutant: m, Diff: m.Diff(src[m.File])}
				abs := filepath.Join(root, filepath.FromSlash(m.File))
				ov, err := WriteOverlay(filepath.Join(tmp, fmt.Sprintf("m%04d", i)), abs, m.Apply(src[m.File]))
				if err != nil {
					fmt.Fprintln(os.Stderr, "mutation-sweep:", err)
					continue
				}
				outcome, out, took, err := t.run(ctx, ov)
				if err != nil {
					continue // interrupted
				}
				r.Outcome, r.Seconds = outcome, took.Seconds()
				if outcome == outKilled {
					r.FailedBy = firstFailure(out)
				}
				if outcome == outNotBuilt {
					r.FailedBy = firstCompileError(out)
				}
				mu.Lock()
				done++
				results[i] = &r
				fmt.Fprintf(w, "[%*d/%d] %-9s %s:%d  %s  %s  %.1fs%s\n", len(fmt.Sprint(len(chosen))), done, len(chosen),
					outcome, m.File, m.Line, m.Op, m.Desc, r.Seconds, suffix(r.FailedBy))
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range chosen {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	var out []Result
	for _, r := range results {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	if r := []rune(s); len(r) > 100 {
		s = string(r[:99]) + "…"
	}
	return "  (" + s + ")"
}

func firstCompileError(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, ".go:") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// treeCommit names the tree being measured: git HEAD, with "+changes" when
// the working tree differs from it ("unknown" outside git).
func treeCommit(root string) string {
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(head))
	if status, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(status))) > 0 {
		commit += "+changes"
	}
	return commit
}
