package plan

import (
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// Diagram draws the planned platform as Graphviz DOT: per region the VPC
// and its zones, the cluster and its Fargate profiles, the ALB → target
// group → TargetGroupBinding → pods chain, the data stores, and what may
// talk to what (security group rules); across regions the DNS records and
// the global data stores. Deterministic: the same plan gives the same text.
func Diagram(doc *Document) string {
	g := newDiagramGraph(doc)
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n", doc.Project+"-"+doc.Stack)
	b.WriteString("  graph [rankdir=LR, fontname=Helvetica, fontsize=11, compound=true, newrank=true];\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=Helvetica, fontsize=10];\n")
	b.WriteString("  edge [fontname=Helvetica, fontsize=9];\n")
	fmt.Fprintf(&b, "  label=%q; labelloc=t;\n", fmt.Sprintf("%s / %s", doc.Project, doc.Stack))

	for ri, region := range g.regions {
		fmt.Fprintf(&b, "  subgraph cluster_r%d {\n    label=%q; style=rounded; color=gray40;\n", ri, "Region "+region)
		rs := g.in(region)
		if vpc := first(rs, "aws:ec2/vpc:Vpc"); vpc != nil {
			fmt.Fprintf(&b, "    subgraph cluster_r%d_vpc {\n      label=%q; style=dashed; color=gray60;\n", ri, "VPC "+inputString(*vpc, "cidrBlock"))
			zones := map[string][]Resource{}
			for _, s := range all(rs, "aws:ec2/subnet:Subnet") {
				az := inputString(s, "availabilityZone")
				if az == "" {
					az = inputString(s, "availabilityZoneId")
				}
				zones[az] = append(zones[az], s)
			}
			for zi, az := range sortedKeys(zones) {
				fmt.Fprintf(&b, "      subgraph cluster_r%d_z%d {\n        label=%q; style=dotted;\n", ri, zi, "zone "+az)
				for _, s := range zones[az] {
					kind := "private"
					if strings.Contains(s.Name, "public") {
						kind = "public"
					}
					fmt.Fprintf(&b, "        %s [label=%q, shape=note, fillcolor=%q];\n", g.id(s), kind+" "+inputString(s, "cidrBlock"), map[string]string{"public": "#e8f4ff", "private": "#f2f2f2"}[kind])
				}
				b.WriteString("      }\n")
			}
			b.WriteString("    }\n")
		}
		for _, r := range rs {
			if label, color, ok := nodeStyle(r); ok {
				fmt.Fprintf(&b, "    %s [label=%q, fillcolor=%q];\n", g.id(r), label, color)
			}
		}
		b.WriteString("  }\n")
	}
	for _, r := range g.global {
		if label, color, ok := nodeStyle(r); ok {
			fmt.Fprintf(&b, "  %s [label=%q, fillcolor=%q];\n", g.id(r), label, color)
		}
	}
	b.WriteString("  internet [label=\"clients (Internet)\", shape=ellipse];\n")
	for _, e := range g.edges() {
		fmt.Fprintf(&b, "  %s -> %s%s;\n", e.from, e.to, e.attrs)
	}
	b.WriteString("}\n")
	return b.String()
}

// RenderSVG runs Graphviz's dot on the picture.
func RenderSVG(dot, path string) error {
	bin, err := exec.LookPath("dot")
	if err != nil {
		return fmt.Errorf("rendering SVG needs Graphviz (apt-get install graphviz): %w", err)
	}
	cmd := exec.Command(bin, "-Tsvg", "-o", path)
	cmd.Stdin = strings.NewReader(dot)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dot: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// nodeStyle is how a drawn resource looks; types not listed are not drawn.
func nodeStyle(r Resource) (label, color string, ok bool) {
	switch r.Type {
	case "eks:index:Cluster":
		return "EKS cluster " + inputString(r, "name") + "\nKubernetes " + inputString(r, "version"), "#fff4d6", true
	case "aws:eks/fargateProfile:FargateProfile":
		return "Fargate profile\n" + r.Name, "#fffbe8", true
	case "kubernetes:helm.sh/v3:Release":
		return "AWS Load Balancer Controller\n(Helm " + inputString(r, "version") + ")", "#fffbe8", true
	case "aws:lb/loadBalancer:LoadBalancer":
		return "ALB " + r.Name, "#e3f2e1", true
	case "aws:lb/targetGroup:TargetGroup":
		return fmt.Sprintf("target group (ip, :%v)\nderegistration %vs", r.Inputs["port"], r.Inputs["deregistrationDelay"]), "#e3f2e1", true
	case "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding":
		return "TargetGroupBinding", "#e3f2e1", true
	case "kubernetes:apps/v1:Deployment":
		spec, _ := r.Inputs["spec"].(map[string]interface{})
		return fmt.Sprintf("auth pods\n%v replicas", spec["replicas"]), "#d9ecff", true
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		return fmt.Sprintf("ElastiCache %s (cluster mode)\n%v shards × (1+%v)", inputString(r, "engine"), r.Inputs["numNodeGroups"], r.Inputs["replicasPerNodeGroup"]), "#fde2e2", true
	case "aws:rds/cluster:Cluster":
		return "Aurora PostgreSQL " + inputString(r, "engineVersion"), "#fde2e2", true
	case "aws:rds/clusterInstance:ClusterInstance":
		return "Aurora instance\n" + inputString(r, "instanceClass"), "#fdeeee", true
	case "aws:ec2/natGateway:NatGateway":
		return "NAT gateway", "#f2f2f2", true
	case "aws:route53/record:Record":
		return "Route 53 " + inputString(r, "name"), "#efe6ff", true
	case "aws:rds/globalCluster:GlobalCluster":
		return "Aurora Global Database", "#fde2e2", true
	case "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup":
		return "ElastiCache Global Datastore", "#fde2e2", true
	case "aws:ecr/repository:Repository":
		return "ECR " + inputString(r, "name"), "#f2f2f2", true
	}
	return "", "", false
}

type diagramEdge struct{ from, to, attrs string }

type diagramGraph struct {
	doc     *Document
	byURN   map[string]Resource
	region  map[string]string // URN -> region ("" global)
	regions []string
	global  []Resource
	ids     map[string]string
}

func newDiagramGraph(doc *Document) *diagramGraph {
	g := &diagramGraph{doc: doc, byURN: map[string]Resource{}, region: map[string]string{}, ids: map[string]string{}}
	children := map[string][]string{}
	for _, r := range doc.Resources {
		g.byURN[r.URN] = r
		children[r.Parent] = append(children[r.Parent], r.URN)
	}
	// A resource is in its AWS provider's region; a component in the region
	// of its first child that has one; anything else (Kubernetes objects)
	// in the region of its provider's or its parent's component.
	known := map[string]string{}
	for _, r := range doc.Resources {
		if p, ok := g.byURN[r.Provider]; ok && strings.HasPrefix(p.Type, "pulumi:providers:aws") {
			known[r.URN] = inputString(p, "region")
		}
		if strings.HasPrefix(r.Type, "pulumi:providers:aws") {
			known[r.URN] = inputString(r, "region")
		}
	}
	var componentRegion func(urn string, depth int) string
	componentRegion = func(urn string, depth int) string {
		if reg, ok := known[urn]; ok || depth > 20 {
			return reg
		}
		for _, c := range children[urn] {
			if reg := componentRegion(c, depth+1); reg != "" {
				known[urn] = reg
				return reg
			}
		}
		return ""
	}
	var regionOf func(urn string, depth int) string
	regionOf = func(urn string, depth int) string {
		r, ok := g.byURN[urn]
		if !ok || depth > 20 {
			return ""
		}
		if reg := componentRegion(urn, 0); reg != "" {
			return reg
		}
		if reg := regionOf(r.Provider, depth+1); reg != "" {
			return reg
		}
		return regionOf(r.Parent, depth+1)
	}
	seen := map[string]bool{}
	for _, r := range doc.Resources {
		reg := regionOf(r.URN, 0)
		// The global data stores and DNS span the regions.
		switch r.Type {
		case "aws:route53/record:Record", "aws:rds/globalCluster:GlobalCluster", "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup":
			reg = ""
		}
		g.region[r.URN] = reg
		if reg == "" {
			g.global = append(g.global, r)
		} else if !seen[reg] {
			seen[reg] = true
			g.regions = append(g.regions, reg)
		}
	}
	sort.Strings(g.regions)
	return g
}

func (g *diagramGraph) in(region string) []Resource {
	var out []Resource
	for _, r := range g.doc.Resources {
		if g.region[r.URN] == region {
			out = append(out, r)
		}
	}
	return out
}

func (g *diagramGraph) id(r Resource) string {
	if id, ok := g.ids[r.URN]; ok {
		return id
	}
	id := fmt.Sprintf("n%d", len(g.ids))
	g.ids[r.URN] = id
	return id
}

// edges: the request path, the data paths the security groups allow, and
// the global links.
func (g *diagramGraph) edges() []diagramEdge {
	var out []diagramEdge
	drawn := func(r Resource) bool { _, _, ok := nodeStyle(r); return ok }
	byType := func(region, typ string) []Resource { return all(g.in(region), typ) }
	for _, region := range g.regions {
		link := func(fromTyp, toTyp, attrs string) {
			for _, f := range byType(region, fromTyp) {
				for _, t := range byType(region, toTyp) {
					out = append(out, diagramEdge{g.id(f), g.id(t), attrs})
				}
			}
		}
		link("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", " [label=\"HTTP(S)\"]")
		link("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "aws:lb/targetGroup:TargetGroup", " [label=\"registers pod IPs\", style=dashed]")
		link("aws:lb/targetGroup:TargetGroup", "kubernetes:apps/v1:Deployment", " [label=\":8080\"]")
		link("aws:rds/clusterInstance:ClusterInstance", "aws:rds/cluster:Cluster", " [arrowhead=none, style=dotted]")
		link("aws:eks/fargateProfile:FargateProfile", "eks:index:Cluster", " [arrowhead=none, style=dotted]")
		link("kubernetes:helm.sh/v3:Release", "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", " [label=\"reconciles\", style=dashed]")
		link("kubernetes:apps/v1:Deployment", "aws:ecr/repository:Repository", " [label=\"pulls\", style=dashed]")
		// What may talk to what: ingress rules between security groups,
		// drawn between what the groups guard.
		guards := g.guards(region)
		for _, rule := range byType(region, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
			to := guards[inputString(rule, "securityGroupId")]
			if cidr := inputString(rule, "cidrIpv4"); cidr != "" {
				for _, t := range to {
					if drawn(t) {
						out = append(out, diagramEdge{"internet", g.id(t), fmt.Sprintf(" [label=\"%s :%v\", color=firebrick, fontcolor=firebrick]", cidr, rule.Inputs["fromPort"])})
					}
				}
				continue
			}
			from := guards[inputString(rule, "referencedSecurityGroupId")]
			if from == nil {
				from = byType(region, "kubernetes:apps/v1:Deployment")
			}
			for _, f := range from {
				for _, t := range to {
					if drawn(f) && drawn(t) && f.URN != t.URN {
						out = append(out, diagramEdge{g.id(f), g.id(t), fmt.Sprintf(" [label=\"may connect :%v\", color=firebrick, fontcolor=firebrick]", rule.Inputs["fromPort"])})
					}
				}
			}
		}
	}
	for _, r := range g.global {
		switch r.Type {
		case "aws:route53/record:Record":
			for _, lb := range g.allRegions("aws:lb/loadBalancer:LoadBalancer") {
				if strings.Contains(fmt.Sprint(r.Inputs["aliases"]), lb.ID) || strings.Contains(fmt.Sprint(r.Inputs["aliases"]), lb.Name) {
					out = append(out, diagramEdge{g.id(r), g.id(lb), " [label=\"alias\"]"})
				}
			}
		case "aws:rds/globalCluster:GlobalCluster":
			for _, c := range g.allRegions("aws:rds/cluster:Cluster") {
				out = append(out, diagramEdge{g.id(r), g.id(c), " [label=\"member\", style=dashed]"})
			}
		case "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup":
			for _, c := range g.allRegions("aws:elasticache/replicationGroup:ReplicationGroup") {
				out = append(out, diagramEdge{g.id(r), g.id(c), " [label=\"member\", style=dashed]"})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].from != out[j].from {
			return out[i].from < out[j].from
		}
		return out[i].to < out[j].to
	})
	uniq := out[:0]
	for i, e := range out {
		if i == 0 || e != out[i-1] {
			uniq = append(uniq, e)
		}
	}
	return uniq
}

// guards maps a security group ID to the drawn resources that carry it.
func (g *diagramGraph) guards(region string) map[string][]Resource {
	out := map[string][]Resource{}
	for _, r := range g.in(region) {
		for _, field := range []string{"securityGroups", "securityGroupIds", "vpcSecurityGroupIds"} {
			list, _ := r.Inputs[field].([]interface{})
			for _, v := range list {
				if id, ok := v.(string); ok {
					out[id] = append(out[id], r)
				}
			}
		}
	}
	return out
}

func (g *diagramGraph) allRegions(typ string) []Resource {
	var out []Resource
	for _, region := range g.regions {
		out = append(out, all(g.in(region), typ)...)
	}
	return out
}

func first(rs []Resource, typ string) *Resource {
	for i := range rs {
		if rs[i].Type == typ {
			return &rs[i]
		}
	}
	return nil
}

func all(rs []Resource, typ string) []Resource {
	var out []Resource
	for _, r := range rs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func inputString(r Resource, key string) string {
	v, _ := r.Inputs[key].(string)
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
