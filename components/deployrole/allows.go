package deployrole

import (
	"path"
	"strings"

	"github.com/authplatform/auth-platform/components/iamdoc"
)

// Allows evaluates the document as IAM would for one request: some Allow
// statement names the action (exactly or with wildcards) and a resource
// that matches resourceARN, and every condition of that statement holds
// for context (the request's condition keys and their values). It knows
// the operators this package writes: StringEquals, StringLike, ArnLike,
// ArnEquals and Bool; a condition key missing from context fails (IAM
// User Guide, "IAM JSON policy elements: Condition operators"). The
// document has no Deny statements, so the first matching Allow decides.
func Allows(d iamdoc.Document, action, resourceARN string, context map[string]string) bool {
	for _, st := range d.Statement {
		if st.Effect != "Allow" || !anyMatch(st.Action, action, true) || !anyMatch(st.Resource, resourceARN, false) {
			continue
		}
		if conditionsHold(st.Condition, context) {
			return true
		}
	}
	return false
}

// anyMatch reports whether some pattern matches value with IAM's
// wildcards (* any run, ? one character); actions compare without case.
func anyMatch(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			p, value = strings.ToLower(p), strings.ToLower(value)
		}
		if wildcard(p, value) {
			return true
		}
	}
	return false
}

// wildcard matches IAM's * and ? (path.Match's other syntax, [ and \,
// does not occur in ARNs or actions; * there stops at /, so / is
// swapped out first).
func wildcard(pattern, value string) bool {
	const slash = "\x00"
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", slash), strings.ReplaceAll(value, "/", slash))
	return err == nil && ok
}

func conditionsHold(c iamdoc.Conditions, context map[string]string) bool {
	for op, keys := range c {
		for key, values := range keys {
			got, ok := context[key]
			if !ok {
				return false
			}
			held := false
			for _, v := range values {
				switch op {
				case "StringEquals", "ArnEquals":
					held = held || got == v
				case "StringLike", "ArnLike":
					held = held || wildcard(v, got)
				case "Bool":
					held = held || strings.EqualFold(got, v)
				}
			}
			if !held {
				return false
			}
		}
	}
	return true
}
