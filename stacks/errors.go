package stacks

import (
	"fmt"
	"strings"
)

// Problem is one configuration mistake: which key, what it held, what is
// wrong and how to fix it.
type Problem struct {
	Key     string
	Value   string
	Message string
	Fix     string
	// Set marks a key that is set to the empty string: it is shown as
	// `= ""`, while "(unset)" is said only of keys that are not set.
	Set bool
	// File marks a problem of the stack file as a whole; Key names the
	// file and there is no value.
	File bool
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Key)
	switch {
	case p.File: // a problem of the whole file has no value to show
	case p.Value != "" || p.Set:
		fmt.Fprintf(&b, " = %q", p.Value)
	default:
		b.WriteString(" (unset)")
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	if p.Fix != "" {
		b.WriteString(". Fix: ")
		b.WriteString(p.Fix)
	}
	return b.String()
}

// ConfigError carries every problem found in one configuration, so that a
// user fixes them in one round instead of one `pulumi up` per mistake.
type ConfigError struct {
	Problems []Problem
}

func (e *ConfigError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("invalid stack configuration (%d problem%s):", len(e.Problems), plural(len(e.Problems))))
	for _, p := range e.Problems {
		lines = append(lines, "  - "+p.String())
	}
	return strings.Join(lines, "\n")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// problems accumulates Problems while a configuration is read.
type problems []Problem

func (ps *problems) add(key, value, fix, format string, args ...interface{}) {
	*ps = append(*ps, Problem{Key: key, Value: value, Message: fmt.Sprintf(format, args...), Fix: fix})
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ConfigError{Problems: ps}
}

// unique drops repeated problems: a top-level mistake shows up once per
// region of a multi-region stack.
func (ps problems) unique() problems {
	seen := map[Problem]bool{}
	var out problems
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
