// Package naming is the one place that decides how resources are named and
// tagged, so that every component agrees and AWS length limits are respected.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Namer builds logical and physical names from the application, the stack
// (or, without one, the environment) and the region.
type Namer struct {
	// App is the short application name, e.g. "auth".
	App string
	// Env is the environment, e.g. "dev" or "prod".
	Env string
	// Region is the AWS region the names are for, e.g. "us-east-1".
	Region string
	// Stack is the Pulumi stack the names belong to, e.g. "prod-global".
	// Two stacks may share an account and a region, so the stack, not the
	// environment, goes into the prefix: "prod-us-east-1" and "prod-global"
	// are both env prod in us-east-1. Default "": the prefix uses Env.
	Stack string
}

// MaxStackCode is the longest stack part of a prefix. With a 12-character
// app and a 7-character region code the prefix stays at most 37
// characters, so "<prefix>-eks-instanceRole-<7>" (pulumi-eks) fits IAM's
// 64 and "<prefix>-sessions" is only cut, never refused, at ElastiCache's 40.
const MaxStackCode = 16

// StackCode is the stack name as it goes into physical names: lowercase
// letters, digits and single hyphens. It differs for every two stack
// names: a name it has to change (case, '_', '.', length) is shortened and
// given a hash of the original.
func StackCode(stack string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(stack) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	code := strings.TrimRight(b.String(), "-")
	if code == stack && len(code) <= MaxStackCode {
		return code
	}
	sum := sha256.Sum256([]byte(stack))
	suffix := hex.EncodeToString(sum[:])[:6]
	keep := MaxStackCode - len(suffix) - 1
	head := strings.TrimRight(code[:min(len(code), keep)], "-")
	if head == "" {
		return "s" + suffix
	}
	return head + "-" + suffix
}

// RegionCode shortens a region name: "us-east-1" -> "use1",
// "ap-southeast-2" -> "apse2". IAM is global, so names of IAM objects carry
// it to stay unique across the regions of one account.
func RegionCode(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) < 3 {
		return strings.ReplaceAll(region, "-", "")
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1 : len(parts)-1] {
		switch p {
		case "east", "west", "north", "south", "central":
			b.WriteByte(p[0])
		case "northeast":
			b.WriteString("ne")
		case "northwest":
			b.WriteString("nw")
		case "southeast":
			b.WriteString("se")
		case "southwest":
			b.WriteString("sw")
		default:
			b.WriteString(p)
		}
	}
	b.WriteString(parts[len(parts)-1])
	return b.String()
}

// Prefix is "<app>-<stack code>-<regioncode>", the stem of every name:
// "auth-dev-use1", "auth-prod-global-usw2". A stack named after its region
// is not told its region twice: "prod-us-east-1" gives "auth-prod-us-east-1"
// (the full region name, so that it never equals the prefix of a stack
// "prod" in us-east-1, "auth-prod-use1"). Without Stack it is
// "<app>-<env>-<regioncode>".
func (n Namer) Prefix() string {
	if n.Stack == "" {
		return n.App + "-" + n.Env + "-" + RegionCode(n.Region)
	}
	code, region := StackCode(n.Stack), RegionCode(n.Region)
	// Only a real region name ("us-east-1", never equal to its code) may
	// stand in for the code: "prod-global" + "global" stays
	// "auth-prod-global-global", apart from a stack "prod"'s "auth-prod-global".
	if region != n.Region && strings.HasSuffix(code, "-"+n.Region) {
		return n.App + "-" + code
	}
	return n.App + "-" + code + "-" + region
}

// Name joins the prefix and the parts with "-".
func (n Namer) Name(parts ...string) string {
	return strings.Join(append([]string{n.Prefix()}, parts...), "-")
}

// Limited is Name cut to at most max characters. A cut name keeps a short
// hash of the full name so that two long names stay distinct. With a
// Stack, the stack code is cut first (to its head and a hash of the stack
// name), so that the region code and the parts still say where and what:
// "auth-prod-g-9c1e2a-usw2-alb".
func (n Namer) Limited(max int, parts ...string) string {
	full := n.Name(parts...)
	if len(full) <= max || n.Stack == "" {
		return Truncate(full, max)
	}
	rest := "-" + strings.Join(append([]string{RegionCode(n.Region)}, parts...), "-")
	room := max - len(n.App) - 1 - len(rest)
	const hashLen = 6
	if room < hashLen+2 {
		return Truncate(full, max)
	}
	sum := sha256.Sum256([]byte(n.Stack))
	code := StackCode(n.Stack)
	head := strings.TrimRight(code[:min(len(code), room-hashLen-1)], "-")
	return n.App + "-" + head + "-" + hex.EncodeToString(sum[:])[:hashLen] + rest
}

// Truncate shortens s to max characters, replacing the tail with a 6-char
// hash of s when it has to cut, and never ends on "-".
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	suffix := hex.EncodeToString(sum[:])[:6]
	keep := max - len(suffix) - 1
	if keep < 1 {
		return suffix[:max]
	}
	head := strings.TrimRight(s[:keep], "-")
	return head + "-" + suffix
}

// Tags is the one tag set every taggable AWS resource carries.
type Tags map[string]string

// BaseTags returns the tags that identify the stack that owns a resource.
func BaseTags(project, stack string, n Namer) Tags {
	return Tags{
		"app.kubernetes.io/part-of": n.App,
		"Project":                   project,
		"Stack":                     stack,
		"Environment":               n.Env,
		"ManagedBy":                 "pulumi",
	}
}

// With returns a copy of t with extra added (extra wins on conflicts).
func (t Tags) With(extra map[string]string) Tags {
	out := make(Tags, len(t)+len(extra))
	for k, v := range t {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// WithName returns a copy of t with the AWS console "Name" tag.
func (t Tags) WithName(name string) Tags {
	return t.With(map[string]string{"Name": name})
}
