package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// keyInputs are the inputs worth a glance in the tree view, in order.
var keyInputs = []string{
	"region", "cidrBlock", "availabilityZone", "name", "version", "chart", "namespace",
	"addonName", "clusterName", "destinationCidrBlock", "connectivityType", "url",
}

// WriteTree prints the plan as an indented tree of type, name and key inputs.
func WriteTree(w io.Writer, doc *Document) {
	children := map[string][]Resource{}
	known := map[string]bool{}
	for _, r := range doc.Resources {
		known[r.URN] = true
	}
	var roots []Resource
	for _, r := range doc.Resources {
		if known[r.Parent] {
			children[r.Parent] = append(children[r.Parent], r)
		} else {
			roots = append(roots, r)
		}
	}
	fmt.Fprintf(w, "Plan of %s/%s: %d resources\n", doc.Project, doc.Stack, len(doc.Resources))
	var walk func(rs []Resource, depth int)
	walk = func(rs []Resource, depth int) {
		for _, r := range rs {
			line := fmt.Sprintf("%s%s  %s", strings.Repeat("  ", depth+1), r.Type, r.Name)
			if s := summary(r); s != "" {
				line += "  " + s
			}
			if r.Protect {
				line += "  [protected]"
			}
			fmt.Fprintln(w, line)
			for _, c := range r.RemoteChildren {
				fmt.Fprintf(w, "%s%s  %s  (created by the component, not by this program)\n",
					strings.Repeat("  ", depth+2), c.Type, c.Name)
			}
			walk(children[r.URN], depth+1)
		}
	}
	walk(roots, 0)

	if len(doc.Outputs) > 0 {
		fmt.Fprintln(w, "Outputs:")
		names := make([]string, 0, len(doc.Outputs))
		for n := range doc.Outputs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %s: %s\n", n, short(doc.Outputs[n]))
		}
	}
	if len(doc.ElasticIPs) > 0 {
		fmt.Fprintf(w, "Elastic IPs (default quota %d per account and region, shared by every stack there):\n", DefaultElasticIPQuota)
		regions := make([]string, 0, len(doc.ElasticIPs))
		for r := range doc.ElasticIPs {
			regions = append(regions, r)
		}
		sort.Strings(regions)
		for _, r := range regions {
			fmt.Fprintf(w, "  %s: %d\n", r, doc.ElasticIPs[r])
		}
	}
	if len(doc.Violations) > 0 {
		fmt.Fprintln(w, "Policy violations:")
		for _, v := range doc.Violations {
			fmt.Fprintf(w, "  [%s] %s: %s\n    %s\n", v.Level, v.Policy, v.URN, v.Message)
		}
	}
}

func summary(r Resource) string {
	var parts []string
	for _, k := range keyInputs {
		if v, ok := r.Inputs[k]; ok {
			if s, ok := v.(string); ok && s != "" {
				parts = append(parts, k+"="+s)
			}
		}
	}
	if sel, ok := r.Inputs["selectors"].([]interface{}); ok {
		var ns []string
		for _, s := range sel {
			if m, ok := s.(map[string]interface{}); ok {
				ns = append(ns, fmt.Sprint(m["namespace"]))
			}
		}
		parts = append(parts, "selectors="+strings.Join(ns, ","))
	}
	return strings.Join(parts, " ")
}

func short(v interface{}) string {
	s := fmt.Sprint(v)
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}
