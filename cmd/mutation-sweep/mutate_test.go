package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mutantsOf generates the mutants of a snippet (wrapped in a package
// clause) and keeps the given operator's.
func mutantsOf(t *testing.T, body, op string) ([]Mutant, []byte) {
	t.Helper()
	src := []byte("package p\n\n" + body + "\n")
	ms, _, err := Generate("components/x/x.go", src)
	require.NoError(t, err)
	var out []Mutant
	for _, m := range ms {
		if m.Op == op {
			out = append(out, m)
		}
	}
	return out, src
}

func TestOperators(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   string
		body string
		// want holds, for each expected mutant in source order, a fragment of
		// the mutated source and the change description.
		want [][2]string
	}{
		{"bool in a call", opBool,
			`var v = pulumi.Bool(true)`,
			[][2]string{{"pulumi.Bool(false)", "true → false"}}},
		{"bool in a struct literal", opBool,
			`var v = Opts{Public: false}`,
			[][2]string{{"Opts{Public: true}", "false → true"}}},
		{"bool shadowed is left alone", opBool,
			`func f() { true := 1; _ = true }`, nil},
		{"int in a composite literal element", opInt,
			`var v = Opts{Port: 443, Ports: []int{0}}`,
			[][2]string{{"Port: 444", "443 → 444"}, {"[]int{1}", "0 → 1"}}},
		{"int as a call argument and hex kept hex", opInt,
			`var v = f(7, 0x10)`,
			[][2]string{{"f(8, 0x10)", "7 → 8"}, {"f(7, 0x11)", "0x10 → 0x11"}}},
		{"int in a comparison and an assignment", opInt,
			`func f(n int) { if n > 3 { n = -1 } }`,
			[][2]string{{"n > 4", "3 → 4"}, {"n = -2", "1 → 2"}}},
		{"int in an index or an iota const is left alone", opInt,
			"const (\n\tA = iota + 1\n\tB\n)\n\nfunc f(a []int) int { return a[2] + 5 }", nil},
		{"int in a plain const is mutated", opInt,
			`const MaxShards = 5`,
			[][2]string{{"MaxShards = 6", "5 → 6"}}},
		{"string in pulumi.String and pulumi.StringPtr", opString,
			"var v = pulumi.String(\"AES256\")\nvar w = pulumi.StringPtr(`raw`)",
			[][2]string{{`pulumi.String("AES256-mutant")`, `"AES256" → "AES256-mutant"`}, {"pulumi.StringPtr(`raw-mutant`)", "`raw` → `raw-mutant`"}}},
		{"string value of an Args literal", opString,
			`var v = &s3.BucketArgs{Acl: "private"}`,
			[][2]string{{`Acl: "private-mutant"`, `"private" → "private-mutant"`}}},
		{"format strings, messages and other literals are left alone", opString,
			`func f() error { _ = Opts{Name: "n"}; _ = fmt.Sprintf("%s", "a"); return fmt.Errorf("bad %d", 1) }`, nil},
		{"cmp", opCmp,
			`func f(a, b int) bool { return a < b || a >= b || a == b }`,
			[][2]string{{"a <= b ||", "< → <="}, {"a > b ||", ">= → >"}, {"a != b }", "== → !="}}},
		{"logic", opLogic,
			`func f(a, b bool) bool { return a && b }`,
			[][2]string{{"a || b", "&& → ||"}}},
		{"drop-field removes an element line of an Args literal", opDropField,
			"var v = &ec2.VpcArgs{\n\tCidrBlock:        pulumi.String(\"10.0.0.0/16\"),\n\tEnableDnsSupport: pulumi.Bool(true),\n}",
			[][2]string{
				{"&ec2.VpcArgs{\n\tEnableDnsSupport: pulumi.Bool(true),\n}", `drop CidrBlock: pulumi.String("10.0.0.0/16")`},
				{"&ec2.VpcArgs{\n\tCidrBlock:        pulumi.String(\"10.0.0.0/16\"),\n}", "drop EnableDnsSupport: pulumi.Bool(true)"},
			}},
		{"drop-field on one line keeps it valid", opDropField,
			`var v = ClusterArgs{A: 1, B: 2}`,
			[][2]string{{"ClusterArgs{ B: 2}", "drop A: 1"}, {"ClusterArgs{A: 1, }", "drop B: 2"}}},
		{"drop-field: a local used twice, other types left alone", opDropField,
			`func f() { name := g(); _ = BucketArgs{Bucket: name, Tags: tags(), Region: name}; _ = Opts{A: 1} }`,
			[][2]string{
				{"BucketArgs{ Tags: tags(), Region: name}", "drop Bucket: name"},
				{"BucketArgs{Bucket: name,  Region: name}", "drop Tags: tags()"},
				{"BucketArgs{Bucket: name, Tags: tags(), }", "drop Region: name"},
			}},
		{"drop-field skips the only use of a local", opDropField,
			`func f() { name, zone := g(); _ = BucketArgs{Bucket: name, Tags: tags()}; _ = zone }`,
			[][2]string{{"BucketArgs{Bucket: name, }", "drop Tags: tags()"}}},
		{"drop-field skips the only use of an import", opDropField,
			`func f() { _ = BucketArgs{Tags: strings.ToLower(x), Region: r} }`,
			[][2]string{{"BucketArgs{Tags: strings.ToLower(x), }", "drop Region: r"}}},
		{"drop-check: p.add, append and a returned error", opDropCheck,
			"func f(p *problems, n int) error {\n\tif n < 0 {\n\t\tp.add(\"n\", \"negative\")\n\t}\n" +
				"\tif n > 9 {\n\t\tout = append(out, n)\n\t}\n" +
				"\tif err := g(); err != nil {\n\t\treturn fmt.Errorf(\"g: %w\", err)\n\t}\n" +
				"\tif n == 3 {\n\t\tn = 4\n\t}\n\treturn nil\n}",
			[][2]string{
				{"if false && (n < 0) {", "drop check if n < 0"},
				{"if false && (n > 9) {", "drop check if n > 9"},
				{"if err := g(); false && (err != nil) {", "drop check if err != nil"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, src := mutantsOf(t, tc.body, tc.op)
			require.Len(t, ms, len(tc.want), "mutants: %+v", ms)
			for i, w := range tc.want {
				assert.Contains(t, string(ms[i].Apply(src)), w[0])
				assert.Equal(t, w[1], ms[i].Desc)
				assert.Equal(t, tc.op, ms[i].Op)
				assert.Equal(t, "components", ms[i].Dir)
			}
		})
	}
}

func TestMutantPositionsAndIDs(t *testing.T) {
	src := []byte("package p\n\nvar v = &ec2.VpcArgs{\n\tA: pulumi.Bool(true),\n\tB: pulumi.Bool(true),\n}\n")
	ms, _, err := Generate("stacks/x.go", src)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, m := range ms {
		assert.False(t, ids[m.ID], "duplicate id %s", m.ID)
		ids[m.ID] = true
		assert.Equal(t, "stacks", m.Dir)
	}
	var drop Mutant
	for _, m := range ms {
		if m.Op == opDropField && strings.HasPrefix(m.Desc, "drop B") {
			drop = m
		}
	}
	assert.Equal(t, 5, drop.Line)
	assert.Equal(t, 2, drop.Col)
	assert.Equal(t, "stacks/x.go:5:2:drop-field", drop.ID)
	assert.Equal(t, "- B: pulumi.Bool(true),", drop.Diff(src))
	one := []byte("package p\n\nvar v = PortArgs{Name: n, Protocol: tcp}\n")
	ms1, _, err := Generate("stacks/y.go", one)
	require.NoError(t, err)
	var dropped []string
	for _, m := range ms1 {
		if m.Op == opDropField {
			dropped = append(dropped, m.Diff(one))
		}
	}
	assert.Equal(t, []string{
		`var v = PortArgs{Name: n, Protocol: tcp}  →  var v = PortArgs{ Protocol: tcp}`,
		`var v = PortArgs{Name: n, Protocol: tcp}  →  var v = PortArgs{Name: n, }`,
	}, dropped, "an element dropped from a one-line literal shows the line before and after")
	for _, m := range ms {
		if m.Op == opBool && m.Line == 4 {
			assert.Equal(t, "A: pulumi.Bool(true),  →  A: pulumi.Bool(false),", m.Diff(src))
		}
	}
}

func TestEquivalentCommentExcludesTheLine(t *testing.T) {
	src := []byte(`package p

var a = pulumi.Bool(true) // mutation: equivalent — only the description reads it
var b = pulumi.Bool(true)
var c = f(1, 2) // mutation: equivalent - the count is capped below anyway
`)
	ms, excl, err := Generate("policies/x.go", src)
	require.NoError(t, err)
	for _, m := range ms {
		assert.Equal(t, 4, m.Line, "only line 4 is mutated: %+v", m)
	}
	require.Len(t, ms, 1)
	assert.Equal(t, []Exclusion{
		{File: "policies/x.go", Line: 3, Reason: "only the description reads it", Mutants: 1},
		{File: "policies/x.go", Line: 5, Reason: "the count is capped below anyway", Mutants: 2},
	}, excl)
}

func TestOverlayShape(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(string(filepath.Separator), "repo", "components", "x", "x.go")
	ov, err := WriteOverlay(filepath.Join(dir, "m0001"), abs, []byte("package x // mutated\n"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "m0001", "overlay.json"), ov)

	b, err := os.ReadFile(ov)
	require.NoError(t, err)
	var raw map[string]map[string]string
	require.NoError(t, json.Unmarshal(b, &raw))
	require.Equal(t, []string{"Replace"}, keys(raw), "go build -overlay wants one Replace object")
	repl := raw["Replace"][abs]
	require.NotEmpty(t, repl, "the original absolute path maps to the mutant")
	require.Len(t, raw["Replace"], 1)
	assert.True(t, filepath.IsAbs(repl))
	got, err := os.ReadFile(repl)
	require.NoError(t, err)
	assert.Equal(t, "package x // mutated\n", string(got))
	assert.Equal(t, "x.go", filepath.Base(repl))
}

func keys[V any](m map[string]V) []string { return sortedKeys(m) }

func TestTestCommand(t *testing.T) {
	tt := tester{pkgs: []string{"./tests/"}}
	assert.Equal(t, []string{"test", "-count=1", "-failfast", "./tests/"}, tt.args(""))
	assert.Equal(t, []string{"test", "-count=1", "-failfast", "-overlay", "/tmp/o.json", "./tests/"}, tt.args("/tmp/o.json"))
}

func TestBuildFailedTellsCompileErrorsFromFailures(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want bool
	}{
		{"# github.com/a/b/components/x\ncomponents/x/x.go:3:2: declared and not used: y\nFAIL\tgithub.com/a/b/tests [build failed]\nFAIL\n", true},
		{"--- FAIL: TestX (0.01s)\n    x_test.go:9: boom\nFAIL\nFAIL\tgithub.com/a/b/tests\t3.2s\nFAIL\n", false},
		{"panic: runtime error\nFAIL\tgithub.com/a/b/tests\t1.0s\n", false},
	} {
		assert.Equal(t, tc.want, buildFailed([]byte(tc.out)), tc.out)
	}
}

func TestSampleIsStratifiedAndDeterministic(t *testing.T) {
	var cands []Mutant
	add := func(op, dir string, n int) {
		for i := range n {
			cands = append(cands, Mutant{ID: op + dir + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Op: op, Dir: dir})
		}
	}
	add(opCmp, "components", 300)
	add(opCmp, "stacks", 100)
	add(opBool, "components", 60)
	add(opDropCheck, "policies", 30)
	add(opString, "stacks", 5)
	add(opLogic, "policies", 3)

	s1 := Sample(cands, 20, 1)
	s2 := Sample(cands, 20, 1)
	require.Len(t, s1, 20)
	assert.Equal(t, s1, s2, "same seed, same sample")
	assert.NotEqual(t, s1, Sample(cands, 20, 2), "another seed, another sample")

	byOp, byDir := map[string]int{}, map[string]int{}
	for _, m := range s1 {
		byOp[m.Op]++
		byDir[m.Dir]++
	}
	for _, op := range []string{opCmp, opBool, opDropCheck, opString, opLogic} {
		assert.Positive(t, byOp[op], "operator %s represented", op)
	}
	for _, d := range []string{"components", "stacks", "policies"} {
		assert.Positive(t, byDir[d], "directory %s represented", d)
	}
	assert.InDelta(t, 20*400/498.0, byOp[opCmp], 2.5, "roughly in proportion")

	assert.Len(t, Sample(cands, 1000, 1), len(cands))
	assert.Empty(t, Sample(cands, 0, 1))
}

func TestTally(t *testing.T) {
	var tl Tally
	for _, o := range []string{outKilled, outKilled, outTimeout, outSurvived, outNotBuilt} {
		tl.add(o)
	}
	assert.Equal(t, Tally{Total: 5, Killed: 2, Timeout: 1, Survived: 1, NotBuilt: 1, Share: 75}, tl)
}

func TestFirstFailureNamesTheTest(t *testing.T) {
	out := "=== RUN TestA\n--- FAIL: TestA/sub_case (0.04s)\n    a_test.go:3: no\nFAIL\n"
	assert.Equal(t, "TestA/sub_case", firstFailure([]byte(out)))
	assert.Equal(t, "panic: boom", firstFailure([]byte("panic: boom\n")))
	assert.Empty(t, firstFailure([]byte("ok\n")))
}
