package rules

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
)

// AWS type tokens the security policies read.
const (
	typeSecurityGroup    = "aws:ec2/securityGroup:SecurityGroup"
	typeSGRule           = "aws:ec2/securityGroupRule:SecurityGroupRule"
	typeSGIngressRule    = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	typeSubnet           = "aws:ec2/subnet:Subnet"
	typeRouteTable       = "aws:ec2/routeTable:RouteTable"
	typeRoute            = "aws:ec2/route:Route"
	typeRouteTableAssoc  = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	typeInternetGateway  = "aws:ec2/internetGateway:InternetGateway"
	typeFargateProfile   = "aws:eks/fargateProfile:FargateProfile"
	typeIAMRole          = "aws:iam/role:Role"
	irsaAudience         = "sts.amazonaws.com"
	serviceAccountPrefix = "system:serviceaccount:"
)

var loadBalancerTypes = []string{"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}

// ALBPorts are the only ports the ALB's security group may open to the
// world.
var ALBPorts = []int{80, 443}

// isWorld reports whether a CIDR block is the whole address space
// (0.0.0.0/0, ::/0, or any /0).
func isWorld(cidr string) bool {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	return err == nil && p.Bits() == 0
}

// albSecurityGroups are the security groups of the stack's internet-facing
// application load balancers.
func (s *Stack) albSecurityGroups() map[string]bool {
	out := map[string]bool{}
	for _, lb := range s.OfType(loadBalancerTypes...) {
		if t, ok := asString(lb.get("loadBalancerType")); ok && t != "application" {
			continue
		}
		for _, sg := range s.resolve(lb, "securityGroups", lb.get("securityGroups"), typeSecurityGroup).Found {
			out[sg.URN] = true
		}
	}
	return out
}

// worldRule is one rule of a security group open to the world.
type worldRule struct {
	cidr     string
	protocol string
	from, to float64
	fromOK   bool
	toOK     bool
}

// allowedForALB reports whether the rule opens exactly TCP 80 or 443.
func (w worldRule) allowedForALB() bool {
	if !w.fromOK || !w.toOK || w.from != w.to {
		return false
	}
	if p := strings.ToLower(w.protocol); p != "tcp" && p != "6" {
		return false
	}
	for _, port := range ALBPorts {
		if w.from == float64(port) {
			return true
		}
	}
	return false
}

func (w worldRule) String() string {
	ports := "all ports"
	switch {
	case w.fromOK && w.toOK && w.from == w.to:
		ports = "port " + formatNumber(w.from)
	case w.fromOK && w.toOK:
		ports = "ports " + formatNumber(w.from) + "-" + formatNumber(w.to)
	}
	proto := w.protocol
	if proto == "-1" || proto == "" {
		proto = "all protocols"
	}
	return fmt.Sprintf("%s %s from %s", proto, ports, w.cidr)
}

func newWorldRule(cidr string, protocol, from, to any) worldRule {
	w := worldRule{cidr: cidr}
	w.protocol, _ = asString(protocol)
	w.from, w.fromOK = asNumber(from)
	w.to, w.toOK = asNumber(to)
	return w
}

func checkWorldIngress(s *Stack) []Finding {
	albs := s.albSecurityGroups()
	var out []Finding
	judge := func(r *Resource, sgs []*Resource, rules []worldRule) {
		isALB := len(sgs) > 0
		for _, sg := range sgs {
			if !albs[sg.URN] {
				isALB = false
			}
		}
		for _, w := range rules {
			if isALB && w.allowedForALB() {
				continue
			}
			why := "this security group belongs to no internet-facing ALB of the stack"
			if isALB {
				why = "even the ALB's group may open only TCP 80 and 443 to the world"
			}
			out = append(out, Finding{URN: r.URN, Message: problem(r,
				"admit traffic from a security group (referencedSecurityGroupId, e.g. the ALB's) or a narrow CIDR instead",
				"admits %s; %s", w, why)})
		}
	}
	// Standalone ingress rules (the vpc module).
	for _, r := range s.OfType(typeSGIngressRule) {
		var rules []worldRule
		for _, k := range []string{"cidrIpv4", "cidrIpv6"} {
			if c, ok := asString(r.get(k)); ok && isWorld(c) {
				rules = append(rules, newWorldRule(c, r.get("ipProtocol"), r.get("fromPort"), r.get("toPort")))
			}
		}
		if len(rules) > 0 {
			judge(r, s.resolve(r, "securityGroupId", r.get("securityGroupId"), typeSecurityGroup).Found, rules)
		}
	}
	// Legacy rules (ec2.SecurityGroupRule of type ingress).
	for _, r := range s.OfType(typeSGRule) {
		if t, _ := asString(r.get("type")); t != "ingress" {
			continue
		}
		var rules []worldRule
		for _, k := range []string{"cidrBlocks", "ipv6CidrBlocks"} {
			for _, c := range oneOrMany(r.get(k)) {
				if isWorld(c) {
					rules = append(rules, newWorldRule(c, r.get("protocol"), r.get("fromPort"), r.get("toPort")))
				}
			}
		}
		if len(rules) > 0 {
			judge(r, s.resolve(r, "securityGroupId", r.get("securityGroupId"), typeSecurityGroup).Found, rules)
		}
	}
	// Inline ingress blocks of a security group.
	for _, sg := range s.OfType(typeSecurityGroup) {
		var rules []worldRule
		for _, in := range asMaps(sg.get("ingress")) {
			for _, k := range []string{"cidrBlocks", "ipv6CidrBlocks"} {
				for _, c := range oneOrMany(in[k]) {
					if isWorld(c) {
						rules = append(rules, newWorldRule(c, in["protocol"], in["fromPort"], in["toPort"]))
					}
				}
			}
		}
		if len(rules) > 0 {
			judge(sg, []*Resource{sg}, rules)
		}
	}
	return out
}

func checkPublicDataStore(s *Stack) []Finding {
	return eachOf(s, []string{typeRDSInstance, typeDBInstance}, func(r *Resource) []string {
		if b, ok := asBool(r.get("publiclyAccessible")); ok && b {
			return []string{problem(r, "set publiclyAccessible: false; clients reach the database from the cluster's security group inside the VPC",
				"is publicly accessible: the database gets a public address")}
		}
		return nil
	})
}

// subnetIsPublic reports whether a subnet of the stack is public, and why.
func (s *Stack) subnetIsPublic(sn *Resource) (bool, string) {
	tags := asStringMap(sn.get("tags"))
	if _, ok := tags["kubernetes.io/role/elb"]; ok {
		return true, "it carries the public load-balancer tag kubernetes.io/role/elb"
	}
	if b, ok := asBool(sn.get("mapPublicIpOnLaunch")); ok && b {
		return true, "it maps public IPs on launch"
	}
	// A route to an internet gateway makes a subnet public.
	for _, assoc := range s.OfType(typeRouteTableAssoc) {
		if !s.resolvesTo(assoc, "subnetId", sn) {
			continue
		}
		tables := s.resolve(assoc, "routeTableId", assoc.get("routeTableId"), typeRouteTable).Found
		for _, rt := range tables {
			for _, route := range asMaps(rt.get("routes")) {
				if s.isInternetRoute(rt, "routes", route["cidrBlock"], route["ipv6CidrBlock"], route["gatewayId"]) {
					return true, "its route table " + rt.Name + " routes to an internet gateway"
				}
			}
			for _, route := range s.OfType(typeRoute) {
				if s.resolvesTo(route, "routeTableId", rt) &&
					s.isInternetRoute(route, "gatewayId", route.get("destinationCidrBlock"), route.get("destinationIpv6CidrBlock"), route.get("gatewayId")) {
					return true, "its route table " + rt.Name + " routes to an internet gateway"
				}
			}
		}
	}
	return false, ""
}

// resolvesTo reports whether property prop of r refers to target.
func (s *Stack) resolvesTo(r *Resource, prop string, target *Resource) bool {
	for _, t := range s.resolve(r, prop, r.get(prop), target.Type).Found {
		if t.URN == target.URN {
			return true
		}
	}
	return false
}

// isInternetRoute reports whether a default route of r goes to an internet
// gateway; gatewayProp is the top-level property holding the gateway, for
// property dependencies while it is not known.
func (s *Stack) isInternetRoute(r *Resource, gatewayProp string, cidr, cidr6, gateway any) bool {
	c, _ := asString(cidr)
	c6, _ := asString(cidr6)
	if !isWorld(c) && !isWorld(c6) {
		return false
	}
	g, ok := asString(gateway)
	if ok && strings.HasPrefix(g, "igw-") {
		return true
	}
	if gateway == nil {
		return false
	}
	return len(s.resolve(r, gatewayProp, gateway, typeInternetGateway).Found) > 0
}

func checkFargateSubnets(s *Stack) []Finding {
	return eachOf(s, []string{typeFargateProfile}, func(p *Resource) []string {
		const fix = "pass the stack's private subnets (tag kubernetes.io/role/internal-elb, routed through NAT) as subnetIds"
		v := p.get("subnetIds")
		if v == nil || (asList(v) != nil && len(asList(v)) == 0) {
			return []string{problem(p, fix, "names no subnets: the profile's pods would land wherever EKS or a component falls back to")}
		}
		res := s.resolve(p, "subnetIds", v, typeSubnet)
		var out []string
		for _, ref := range res.Unresolved {
			if ref == Unknown {
				continue
			}
			out = append(out, problem(p, fix, "uses subnet %s, which is not a subnet of this stack, so it cannot be proven private", ref))
		}
		for _, sn := range res.Found {
			if public, why := s.subnetIsPublic(sn); public {
				out = append(out, problem(p, fix, "uses %s, which is public (%s): Fargate refuses public subnets and pods there would be exposed", sn.describe(), why))
			}
		}
		return out
	})
}

// statement is one IAM policy statement.
type statement map[string]any

// parsePolicy reads an IAM policy document given as JSON text or as an
// object; ok is false when it is not known yet.
func parsePolicy(v any) (stmts []statement, ok bool, err error) {
	var doc map[string]any
	switch t := v.(type) {
	case string:
		if t == Unknown || t == Secret {
			return nil, false, nil
		}
		if err := json.Unmarshal([]byte(t), &doc); err != nil {
			return nil, true, err
		}
	case map[string]any:
		doc = t
	case nil:
		return nil, true, nil // mutation: equivalent — no document has no statements, so "known" or not, nothing is judged
	default:
		return nil, true, fmt.Errorf("a %T, not a policy document", v)
	}
	switch st := doc["Statement"].(type) {
	case map[string]any:
		stmts = append(stmts, st)
	case []any:
		for _, e := range st {
			if m, ok := e.(map[string]any); ok {
				stmts = append(stmts, m)
			}
		}
	}
	return stmts, true, nil
}

// isWebIdentity reports whether a statement lets web identities assume the
// role.
func (st statement) isWebIdentity() bool {
	if e, _ := asString(st["Effect"]); e != "Allow" {
		return false
	}
	for _, a := range oneOrMany(st["Action"]) {
		switch strings.ToLower(a) {
		case "sts:assumerolewithwebidentity", "sts:*", "*":
			return true
		}
	}
	return false
}

// conditionValues collects the values of condition keys with a suffix,
// per operator.
func (st statement) conditionValues(suffix string) map[string][]string {
	out := map[string][]string{}
	for op, block := range asMap(st["Condition"]) {
		for k, v := range asMap(block) {
			if strings.HasSuffix(k, suffix) {
				out[op] = append(out[op], oneOrMany(v)...)
			}
		}
	}
	return out
}

var serviceAccountSubject = regexp.MustCompile(`^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func checkIRSATrust(s *Stack) []Finding {
	return eachOf(s, []string{typeIAMRole}, func(r *Resource) []string {
		stmts, known, err := parsePolicy(r.get("assumeRolePolicy"))
		if !known {
			return nil
		}
		const fix = "trust one service account: Condition StringEquals {\"<issuer>:sub\": \"system:serviceaccount:<namespace>:<name>\", \"<issuer>:aud\": \"sts.amazonaws.com\"}"
		if err != nil {
			return []string{problem(r, fix, "assumeRolePolicy is not a readable policy document (%v)", err)}
		}
		var out []string
		for i, st := range stmts {
			if !st.isWebIdentity() {
				continue
			}
			label := fmt.Sprintf("statement %d", i+1)
			if sid, ok := asString(st["Sid"]); ok && sid != "" {
				label = fmt.Sprintf("statement %q", sid)
			}
			subs := st.conditionValues(":sub")
			exact := subs["StringEquals"]
			var loose []string
			for op, vs := range subs {
				if op != "StringEquals" {
					loose = append(loose, fmt.Sprintf("%s %v", op, vs))
				}
			}
			sort.Strings(loose)
			switch {
			case len(loose) > 0:
				out = append(out, problem(r, fix, "%s matches the subject with %s: any service account matching the pattern may assume the role", label, strings.Join(loose, ", ")))
			case len(exact) == 0:
				out = append(out, problem(r, fix, "%s sets no sub condition: every service account of the cluster (and of any cluster trusted by this OIDC provider) may assume the role", label))
			case len(exact) > 1:
				out = append(out, problem(r, fix, "%s trusts %d service accounts (%s); give each its own role", label, len(exact), strings.Join(exact, ", ")))
			case !serviceAccountSubject.MatchString(exact[0]):
				out = append(out, problem(r, fix, "%s trusts subject %q, which is not one service account", label, exact[0]))
			}
			auds := st.conditionValues(":aud")
			if a := auds["StringEquals"]; len(a) != 1 || a[0] != irsaAudience {
				out = append(out, problem(r, fix, "%s does not pin the audience to %s (StringEquals on aud: %v)", label, irsaAudience, a))
			}
		}
		return out
	})
}

// secretName matches names of settings that hold secrets.
var secretName = regexp.MustCompile(`(?i)(^|[_.-])(password|passwd|pwd|secret|token|api[_-]?key|private[_-]?key|credentials?|auth[_-]?key|access[_-]?key|connection[_-]?string)([_.-]|$)`)

// referenceSuffix marks names that point at a secret instead of holding it.
var referenceSuffix = regexp.MustCompile(`(?i)[_.-](arn|arns|id|name|file|path|ref|url|uri|endpoint|host)$`)

// secretValue says why a named value holds a secret, or "".
func secretValue(name string, v any) string {
	if isSecret(v) {
		return "holds a Pulumi secret, written to the object in clear text"
	}
	s, ok := asString(v)
	if !ok || s == "" || !secretName.MatchString(name) || referenceSuffix.MatchString(name) || strings.HasPrefix(s, "arn:") {
		return ""
	}
	// Numbers and booleans (TOKEN_TTL_SECONDS: "3600") are settings.
	if _, isNum := asNumber(s); isNum {
		return ""
	}
	if _, isBool := asBool(s); isBool {
		return ""
	}
	return "looks like a credential given as a literal value"
}

func checkConfigMapSecrets(s *Stack) []Finding {
	return eachOf(s, []string{typeConfigMap}, func(r *Resource) []string {
		var out []string
		for _, field := range []string{"data", "binaryData"} {
			m := asMap(r.get(field))
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if why := secretValue(k, m[k]); why != "" {
					out = append(out, problem(r,
						"keep the value in Secrets Manager (the pod reads it with IRSA) or a Kubernetes Secret, and put only its ARN or name in the ConfigMap",
						"%s key %q %s: ConfigMaps are readable by anyone who can read the namespace", field, k, why))
				}
			}
		}
		return out
	})
}

func checkEnvSecrets(s *Stack) []Finding {
	return eachOf(s, workloads, func(r *Resource) []string {
		var out []string
		for _, c := range allContainers(podSpec(r)) {
			for i, e := range asMaps(c.spec["env"]) {
				name, ok := asString(e["name"])
				if !ok {
					name = fmt.Sprintf("#%d", i)
				}
				if e["valueFrom"] != nil {
					continue
				}
				if why := secretValue(name, e["value"]); why != "" {
					out = append(out, problem(r,
						"use env[].valueFrom.secretKeyRef, or have the service read Secrets Manager with its IRSA role",
						"container %q env %s %s: it shows in the pod spec to anyone who can read Deployments", c.name, name, why))
				}
			}
		}
		return out
	})
}
