// Package naming is the one place that decides how resources are named and
// tagged, so that every component agrees and AWS length limits are respected.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Namer builds logical and physical names from the application, the
// environment and the region.
type Namer struct {
	// App is the short application name, e.g. "auth".
	App string
	// Env is the environment, e.g. "dev" or "prod".
	Env string
	// Region is the AWS region the names are for, e.g. "us-east-1".
	Region string
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

// Prefix is "<app>-<env>-<regioncode>", the stem of every name.
func (n Namer) Prefix() string {
	return n.App + "-" + n.Env + "-" + RegionCode(n.Region)
}

// Name joins the prefix and the parts with "-".
func (n Namer) Name(parts ...string) string {
	return strings.Join(append([]string{n.Prefix()}, parts...), "-")
}

// Limited is Name cut to at most max characters. A cut name keeps a short
// hash of the full name so that two long names stay distinct.
func (n Namer) Limited(max int, parts ...string) string {
	return Truncate(n.Name(parts...), max)
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
