package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strconv"
	"strings"
)

// The mutation operators, in report order.
const (
	opBool      = "bool"
	opInt       = "int"
	opString    = "string"
	opCmp       = "cmp"
	opLogic     = "logic"
	opDropField = "drop-field"
	opDropCheck = "drop-check"
)

var operators = []string{opBool, opInt, opString, opCmp, opLogic, opDropField, opDropCheck}

// stringSuffix is appended to a mutated string literal.
const stringSuffix = "-mutant"

// Mutant is one small break of one source file: the bytes [Start, End) of
// the file are replaced by Repl.
type Mutant struct {
	ID    string `json:"id"`   // file:line:col:operator, unique
	File  string `json:"file"` // slash path relative to the repository root
	Dir   string `json:"dir"`  // top-level directory: components, stacks or policies
	Line  int    `json:"line"`
	Col   int    `json:"col"`
	Op    string `json:"operator"`
	Desc  string `json:"change"` // what changed, e.g. `true → false`
	Start int    `json:"-"`
	End   int    `json:"-"`
	Repl  string `json:"-"`
}

// Exclusion is a source line marked `// mutation: equivalent — <reason>`,
// with the number of mutants it removed.
type Exclusion struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Reason  string `json:"reason"`
	Mutants int    `json:"mutants"`
}

// Apply returns the mutated source.
func (m Mutant) Apply(src []byte) []byte {
	out := make([]byte, 0, len(src)-(m.End-m.Start)+len(m.Repl))
	out = append(out, src[:m.Start]...)
	out = append(out, m.Repl...)
	return append(out, src[m.End:]...)
}

// Diff is a one-line diff of the mutant: the original line, an arrow and
// the mutated line, both trimmed (the first line of each when the change
// spans several).
func (m Mutant) Diff(src []byte) string {
	before := lineAt(src, m.Line)
	after := lineAt(m.Apply(src), m.Line)
	if m.Repl == "" && (m.Start == 0 || src[m.Start-1] == '\n') && m.End > m.Start && src[m.End-1] == '\n' {
		// Whole lines went; show the first of them.
		return fmt.Sprintf("- %s", strings.TrimSpace(before))
	}
	return fmt.Sprintf("%s  →  %s", strings.TrimSpace(before), strings.TrimSpace(after))
}

func lineAt(src []byte, line int) string {
	for i := 1; i < line; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return string(src)
}

// equivalentRE matches the marker comment that excludes a line's mutants.
var equivalentRE = regexp.MustCompile(`^//\s*mutation:\s*equivalent\b\s*(?:—|–|--|-|:)?\s*(.*)$`)

// Generate enumerates the mutants of one Go source file, in source order.
// file is the slash path recorded in each mutant (and whose first element
// is its directory). Lines marked as equivalent are left out and returned as
// exclusions.
func Generate(file string, src []byte) ([]Mutant, []Exclusion, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return nil, nil, err
	}
	g := &generator{fset: fset, file: f, src: src, name: file}
	g.countUses()
	g.walk()

	// Equivalent-marked lines.
	marked := map[int]*Exclusion{}
	var excl []*Exclusion
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if mm := equivalentRE.FindStringSubmatch(c.Text); mm != nil {
				line := fset.Position(c.Slash).Line
				if marked[line] == nil {
					e := &Exclusion{File: file, Line: line, Reason: strings.TrimSpace(mm[1])}
					marked[line] = e
					excl = append(excl, e)
				}
			}
		}
	}
	seen := map[string]bool{}
	var out []Mutant
	for _, m := range g.mutants {
		if e := marked[m.Line]; e != nil {
			e.Mutants++
			continue
		}
		key := fmt.Sprintf("%d:%d:%s", m.Start, m.End, m.Op)
		if seen[key] {
			continue
		}
		seen[key] = true
		// A safety net: a mutant that is not valid Go syntax is never run.
		if _, err := parser.ParseFile(token.NewFileSet(), file, m.Apply(src), parser.SkipObjectResolution); err != nil {
			continue
		}
		out = append(out, m)
	}
	// IDs are unique: a second mutant at the same place and operator gets a
	// suffix.
	ids := map[string]int{}
	for i := range out {
		id := fmt.Sprintf("%s:%d:%d:%s", out[i].File, out[i].Line, out[i].Col, out[i].Op)
		ids[id]++
		if n := ids[id]; n > 1 {
			id = fmt.Sprintf("%s#%d", id, n)
		}
		out[i].ID = id
	}
	exclusions := make([]Exclusion, len(excl))
	for i, e := range excl {
		exclusions[i] = *e
	}
	return out, exclusions, nil
}

type generator struct {
	fset    *token.FileSet
	file    *ast.File
	src     []byte
	name    string
	mutants []Mutant

	// uses counts the identifiers referring to each local object, and
	// selectorUses the unresolved X of selectors (package names) by name,
	// so a dropped field that holds the only use of a variable or import is
	// not generated (it would not compile).
	uses         map[*ast.Object]int
	selectorUses map[string]int
	iotaSpecs    map[*ast.ValueSpec]bool
}

func (g *generator) off(p token.Pos) int { return g.fset.Position(p).Offset }

func (g *generator) add(op string, start, end token.Pos, repl, desc string) {
	pos := g.fset.Position(start)
	g.mutants = append(g.mutants, Mutant{
		File: g.name, Dir: topDir(g.name), Line: pos.Line, Col: pos.Column, Op: op, Desc: desc,
		Start: pos.Offset, End: g.off(end), Repl: repl,
	})
}

func (g *generator) addOffsets(op string, start, end int, repl, desc string) {
	pos := g.fset.File(g.file.Pos()).Position(g.fset.File(g.file.Pos()).Pos(start))
	g.mutants = append(g.mutants, Mutant{
		File: g.name, Dir: topDir(g.name), Line: pos.Line, Col: pos.Column, Op: op, Desc: desc,
		Start: start, End: end, Repl: repl,
	})
}

func topDir(file string) string {
	if i := strings.IndexByte(file, '/'); i >= 0 {
		return file[:i]
	}
	return "."
}

func (g *generator) text(n ast.Node) string { return string(g.src[g.off(n.Pos()):g.off(n.End())]) }

func (g *generator) countUses() {
	g.uses = map[*ast.Object]int{}
	g.selectorUses = map[string]int{}
	ast.Inspect(g.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if n.Obj != nil {
				g.uses[n.Obj]++
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Obj == nil {
				g.selectorUses[x.Name]++
			}
		}
		return true
	})
	g.iotaSpecs = map[*ast.ValueSpec]bool{}
	for _, d := range g.file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		hasIota := false
		ast.Inspect(gd, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && id.Name == "iota" {
				hasIota = true
			}
			return !hasIota
		})
		if hasIota {
			for _, s := range gd.Specs {
				g.iotaSpecs[s.(*ast.ValueSpec)] = true
			}
		}
	}
}

func (g *generator) walk() {
	ast.Inspect(g.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GenDecl:
			if n.Tok == token.IMPORT {
				return false
			}
		case *ast.Ident:
			g.boolIdent(n)
		case *ast.CompositeLit:
			g.compositeLit(n)
		case *ast.CallExpr:
			g.callExpr(n)
		case *ast.BinaryExpr:
			g.binaryExpr(n)
		case *ast.AssignStmt:
			for _, r := range n.Rhs {
				g.intLit(r)
			}
		case *ast.ValueSpec:
			if !g.iotaSpecs[n] {
				for _, v := range n.Values {
					g.intLit(v)
				}
			}
		case *ast.IfStmt:
			g.ifStmt(n)
		}
		return true
	})
}

// bool: true ↔ false (the predeclared identifiers, not a shadowing name).
func (g *generator) boolIdent(id *ast.Ident) {
	if id.Obj != nil {
		return
	}
	switch id.Name {
	case "true":
		g.add(opBool, id.Pos(), id.End(), "false", "true → false")
	case "false":
		g.add(opBool, id.Pos(), id.End(), "true", "false → true")
	}
}

// int: n → n+1 for an integer literal (possibly negated or parenthesised)
// that is a composite-literal element, a call argument, a comparison
// operand or an assigned value.
func (g *generator) intLit(e ast.Expr) {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
			continue
		case *ast.UnaryExpr:
			if x.Op == token.SUB || x.Op == token.ADD {
				e = x.X
				continue
			}
			return
		}
		break
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return
	}
	s := strings.ReplaceAll(lit.Value, "_", "")
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil || n == ^uint64(0) {
		return
	}
	var repl string
	low := strings.ToLower(s)
	switch {
	case strings.HasPrefix(low, "0x"):
		repl = "0x" + strconv.FormatUint(n+1, 16)
	case strings.HasPrefix(low, "0b"):
		repl = "0b" + strconv.FormatUint(n+1, 2)
	case strings.HasPrefix(low, "0o"), len(s) > 1 && s[0] == '0':
		repl = "0o" + strconv.FormatUint(n+1, 8)
	default:
		repl = strconv.FormatUint(n+1, 10)
	}
	g.add(opInt, lit.Pos(), lit.End(), repl, fmt.Sprintf("%s → %s", lit.Value, repl))
}

// string: a literal becomes visibly different (suffix -mutant).
func (g *generator) stringLit(e ast.Expr) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING || len(lit.Value) < 2 {
		return
	}
	v := lit.Value
	repl := v[:len(v)-1] + stringSuffix + v[len(v)-1:]
	g.add(opString, lit.Pos(), lit.End(), repl, fmt.Sprintf("%s → %s", short(v), short(repl)))
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:28]) + "…" + string(r[len(r)-28:])
	}
	return s
}

// typeName is the name of a composite literal's type: Foo, pkg.Foo, or for
// generic types the base name.
func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.IndexExpr:
		return typeName(t.X)
	case *ast.IndexListExpr:
		return typeName(t.X)
	}
	return ""
}

func (g *generator) compositeLit(cl *ast.CompositeLit) {
	isArgs := strings.HasSuffix(typeName(cl.Type), "Args")
	for _, elt := range cl.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			g.intLit(kv.Value)
			if isArgs {
				g.stringLit(kv.Value)
			}
		} else {
			g.intLit(elt)
		}
	}
	if !isArgs {
		return
	}
	for _, elt := range cl.Elts {
		if kv, ok := elt.(*ast.KeyValueExpr); ok {
			g.dropField(kv)
		}
	}
}

// drop-field: one key-value element of an ...Args literal goes, unless it
// held the only use of a local variable or an import.
func (g *generator) dropField(kv *ast.KeyValueExpr) {
	start, end := g.off(kv.Pos()), g.off(kv.End())
	if g.onlyUses(kv, start, end) {
		return
	}
	src := g.src
	// Take the element's comma, and the whole line when it stood alone.
	e := end
	for e < len(src) && (src[e] == ' ' || src[e] == '\t') {
		e++
	}
	if e < len(src) && src[e] == ',' {
		end = e + 1
	}
	ls := start
	for ls > 0 && (src[ls-1] == ' ' || src[ls-1] == '\t') {
		ls--
	}
	le := end
	for le < len(src) && (src[le] == ' ' || src[le] == '\t') {
		le++
	}
	if (ls == 0 || src[ls-1] == '\n') && le < len(src) && src[le] == '\n' {
		start, end = ls, le+1
		// Report the element's own position, not the line start.
		g.addOffsets(opDropField, start, end, "", "drop "+short(g.text(kv)))
		m := &g.mutants[len(g.mutants)-1]
		p := g.fset.Position(kv.Pos())
		m.Line, m.Col = p.Line, p.Column
		return
	}
	g.addOffsets(opDropField, start, end, "", "drop "+short(g.text(kv)))
}

// onlyUses reports whether node n holds every use of some local variable or
// of some package name in the file.
func (g *generator) onlyUses(n ast.Node, start, end int) bool {
	local := map[*ast.Object]int{}
	pkgs := map[string]int{}
	ast.Inspect(n, func(x ast.Node) bool {
		switch x := x.(type) {
		case *ast.Ident:
			if x.Obj != nil && x.Obj.Kind == ast.Var {
				if _, param := x.Obj.Decl.(*ast.Field); !param && g.file.Scope.Lookup(x.Obj.Name) != x.Obj {
					local[x.Obj]++
				}
			}
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Obj == nil {
				pkgs[id.Name]++
			}
		}
		return true
	})
	for o, k := range local {
		// One identifier is the declaration itself.
		if g.uses[o]-1 <= k {
			return true
		}
	}
	for name, k := range pkgs {
		if g.selectorUses[name] <= k {
			return true
		}
	}
	return false
}

func (g *generator) callExpr(call *ast.CallExpr) {
	for _, a := range call.Args {
		g.intLit(a)
	}
	if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == "pulumi" && x.Obj == nil &&
			(sel.Sel.Name == "String" || sel.Sel.Name == "StringPtr") && len(call.Args) == 1 {
			g.stringLit(call.Args[0])
		}
	}
}

var cmpSwap = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
}

func (g *generator) binaryExpr(b *ast.BinaryExpr) {
	opEnd := b.OpPos + token.Pos(len(b.Op.String()))
	if to, ok := cmpSwap[b.Op]; ok {
		g.add(opCmp, b.OpPos, opEnd, to.String(), fmt.Sprintf("%s → %s", b.Op, to))
		g.intLit(b.X)
		g.intLit(b.Y)
	}
	switch b.Op {
	case token.LAND:
		g.add(opLogic, b.OpPos, opEnd, "||", "&& → ||")
	case token.LOR:
		g.add(opLogic, b.OpPos, opEnd, "&&", "|| → &&")
	}
}

// drop-check: an if whose body records a problem (append, add, .add) or
// returns an error built by fmt.Errorf or errors.New never fires. The
// condition becomes `false && (cond)`, which keeps every variable used so
// the mutant compiles; an else branch then always runs.
func (g *generator) ifStmt(s *ast.IfStmt) {
	if !reportsProblem(s.Body) {
		return
	}
	cond := g.text(s.Cond)
	g.add(opDropCheck, s.Cond.Pos(), s.Cond.End(), "false && ("+cond+")", "drop check if "+short(cond))
	// Report the if keyword's position.
	m := &g.mutants[len(g.mutants)-1]
	p := g.fset.Position(s.If)
	m.Line, m.Col = p.Line, p.Column
}

// reportsProblem reports whether a statement directly in body records a
// problem or returns a new error.
func reportsProblem(body *ast.BlockStmt) bool {
	for _, st := range body.List {
		switch st := st.(type) {
		case *ast.ExprStmt:
			if c, ok := st.X.(*ast.CallExpr); ok && isAddCall(c) {
				return true
			}
		case *ast.AssignStmt:
			for _, r := range st.Rhs {
				if c, ok := r.(*ast.CallExpr); ok && isAppend(c) {
					return true
				}
			}
		case *ast.ReturnStmt:
			for _, r := range st.Results {
				if c, ok := r.(*ast.CallExpr); ok && isNewError(c) {
					return true
				}
			}
		}
	}
	return false
}

func isAppend(c *ast.CallExpr) bool {
	id, ok := c.Fun.(*ast.Ident)
	return ok && id.Name == "append"
}

func isAddCall(c *ast.CallExpr) bool {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f.Name == "add" || f.Name == "append"
	case *ast.SelectorExpr:
		return f.Sel.Name == "add"
	}
	return false
}

func isNewError(c *ast.CallExpr) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	return (x.Name == "fmt" && sel.Sel.Name == "Errorf") || (x.Name == "errors" && sel.Sel.Name == "New")
}
