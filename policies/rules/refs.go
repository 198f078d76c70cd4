package rules

import (
	"sort"
	"strings"
)

// Resource references. A property that refers to another resource holds its
// ID or ARN: in the offline plan the mocks' IDs (cmd/plan/mocks), under the
// CLI the real ones once known. While a value is unknown (a preview of
// resources not created yet), the engine's property dependencies say which
// resources it came from.

// nameProperties are the properties that hold a resource's physical name,
// which other resources use as its ID.
var nameProperties = map[string][]string{
	"aws:elasticache/replicationGroup:ReplicationGroup":             {"replicationGroupId"},
	"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": {"globalReplicationGroupId"},
	"aws:rds/cluster:Cluster":                                       {"clusterIdentifier"},
}

// identities are the strings other resources use to refer to r: its ID
// (in the plan, and as the "id" output under the CLI), its ARN and its
// physical name where that is its ID.
func (r *Resource) identities() []string {
	var out []string
	for _, v := range []any{r.ID, r.get("id"), r.get("arn")} {
		if s, ok := asString(v); ok && s != "" {
			out = append(out, s)
		}
	}
	for _, p := range nameProperties[r.Type] {
		if s, ok := asString(r.get(p)); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// refersTo reports whether the string ref names r.
func (r *Resource) refersTo(ref string) bool {
	for _, id := range r.identities() {
		if id == ref {
			return true
		}
	}
	return false
}

// resolution is what a reference property resolved to.
type resolution struct {
	// Found are the resources of the wanted types it refers to.
	Found []*Resource
	// Unresolved are the references that name no resource of the wanted
	// types in the stack (literal IDs of resources outside the stack, or
	// unknown values no property dependency explains).
	Unresolved []string
}

// resolve resolves value, a reference or a list of references held by
// property prop (top-level key, for property dependencies) of r, to
// resources of the given types.
//
// A known reference matches a resource by identity (ID, "id" or "arn"
// output, physical name). References left over, and unknown ones, are
// explained by the property's dependencies on resources of those types:
// under the CLI a resource's properties do not always carry the ID other
// resources hold, but the engine always records where an input came from.
// A literal that no dependency explains stays unresolved.
func (s *Stack) resolve(r *Resource, prop string, value any, types ...string) resolution {
	var res resolution
	seen := map[string]bool{}
	found := func(t *Resource) {
		if !seen[t.URN] {
			seen[t.URN] = true
			res.Found = append(res.Found, t)
		}
	}
	var refs []any
	if l, ok := value.([]any); ok {
		refs = l
	} else if value != nil {
		refs = []any{value}
	}
	var unmatched []string
	unknown := 0
	for _, v := range refs {
		ref, known := asString(v)
		if !known {
			unknown++
			continue
		}
		matched := false
		for _, t := range s.OfType(types...) {
			if t.refersTo(ref) {
				found(t)
				matched = true
			}
		}
		if !matched {
			unmatched = append(unmatched, ref)
		}
	}
	// Dependencies not matched by identity explain the rest.
	var candidates []*Resource
	explained := false
	for _, urn := range r.PropertyDependencies[prop] {
		if t := s.Get(urn); t != nil && typeIn(t.Type, types) {
			explained = true
			if !seen[t.URN] {
				candidates = append(candidates, t)
			}
		}
	}
	if unknown > 0 && !explained {
		res.Unresolved = append(res.Unresolved, Unknown)
	}
	for _, c := range candidates {
		found(c)
	}
	if extra := len(unmatched) + unknown - len(candidates); extra > 0 && len(unmatched) > 0 {
		if len(candidates) == 0 {
			res.Unresolved = append(res.Unresolved, unmatched...)
		} else {
			// Which literal is the stranger is not known; name them all.
			res.Unresolved = append(res.Unresolved, "one of "+strings.Join(unmatched, ", "))
		}
	}
	sort.Slice(res.Found, func(i, j int) bool { return res.Found[i].URN < res.Found[j].URN })
	return res
}

func typeIn(t string, types []string) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// dependencies are every URN r waits for: explicit ones and the ones its
// inputs come from.
func (r *Resource) dependencies() []string {
	out := append([]string(nil), r.DependsOn...)
	keys := make([]string, 0, len(r.PropertyDependencies))
	for k := range r.PropertyDependencies {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, r.PropertyDependencies[k]...)
	}
	return out
}

// waitsFor reports whether from transitively depends on to.
func (s *Stack) waitsFor(from, to *Resource) bool {
	seen := map[string]bool{}
	var walk func(urn string) bool
	walk = func(urn string) bool {
		if seen[urn] {
			return false
		}
		seen[urn] = true
		r := s.Get(urn)
		if r == nil {
			return false
		}
		for _, d := range r.dependencies() {
			if d == to.URN || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(from.URN)
}
