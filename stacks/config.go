package stacks

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/network"
)

// Source is where configuration values come from: the Pulumi engine, or a
// stack file read by the offline plan.
type Source interface {
	// Get returns the value of a fully qualified key ("ns:name").
	Get(key string) (string, bool)
	// Keys lists every key that is set, or nil when the source cannot tell.
	Keys() []string
}

// MapSource is a Source over a map of fully qualified keys.
type MapSource map[string]string

// Get implements Source.
func (m MapSource) Get(key string) (string, bool) { v, ok := m[key]; return v, ok }

// Keys implements Source.
func (m MapSource) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type contextSource struct{ ctx *pulumi.Context }

// ContextSource reads configuration from a running Pulumi program.
func ContextSource(ctx *pulumi.Context) Source { return contextSource{ctx} }

func (c contextSource) Get(key string) (string, bool) { return c.ctx.GetConfig(key) }

// Keys reads the key list from the environment the engine hands the program,
// which the SDK offers no accessor for.
func (c contextSource) Keys() []string {
	var all map[string]string
	if err := json.Unmarshal([]byte(os.Getenv(pulumi.EnvConfig)), &all); err != nil {
		return nil
	}
	return MapSource(all).Keys()
}

// Config is the validated configuration of one stack.
type Config struct {
	Project string
	Stack   string

	Region            string
	App               string
	Environment       string
	VpcCIDR           string
	AvailabilityZones []string // empty: resolve AZCount zones at deploy time
	AZCount           int
	SingleNatGateway  bool

	KubernetesVersion     string
	EndpointPublicAccess  bool
	EndpointPrivateAccess bool
	PublicAccessCIDRs     []string
	ClusterLogTypes       []string

	AuthNamespace            string
	ProtectStatefulResources bool

	Cache    CacheConfig
	Database DatabaseConfig
	Service  ServiceConfig
	DNS      DNSConfig

	// Role is this region's part in a multi-region stack.
	Role Role
	// Regions holds every region's Config, primary first, in a
	// multi-region stack (on the primary's Config); nil otherwise.
	Regions []*Config
}

// MultiRegion reports whether the stack spans several regions.
func (c *Config) MultiRegion() bool { return len(c.Regions) > 1 }

// CacheConfig is the ElastiCache part of Config.
type CacheConfig struct {
	Engine                string
	EngineVersion         string
	NodeType              string
	Shards                int
	ReplicasPerShard      int
	MultiAZ               bool
	AtRestEncryption      bool
	KmsKeyArn             string
	SnapshotRetentionDays int
	SnapshotWindow        string
	MaintenanceWindow     string
}

// DatabaseConfig is the Aurora part of Config.
type DatabaseConfig struct {
	EngineVersion       string
	Serverless          bool
	InstanceClass       string
	ServerlessMinACU    float64
	ServerlessMaxACU    float64
	Readers             int
	Name                string
	MasterUsername      string
	BackupRetentionDays int
	BackupWindow        string
	MaintenanceWindow   string
	PIRetentionDays     int
}

// Production reports whether the stack holds production data.
func (c *Config) Production() bool { return c.Environment == "prod" }

// Load reads and validates the whole configuration. It reports every problem
// at once and touches no resource. With `regions` set it loads every region
// (its overrides over the top-level values) and checks them against each
// other; the primary's Config is returned and holds them all.
func Load(project, stack string, src Source) (*Config, error) {
	var p problems
	entries := readRegionEntries(src, &p)
	if len(entries) == 0 {
		cfg, err := loadOne(project, stack, src)
		if len(p) == 0 {
			return cfg, err
		}
		if cerr, ok := err.(*ConfigError); ok {
			p = append(p, cerr.Problems...)
		}
		return nil, p.err()
	}
	cfg := loadMultiRegion(project, stack, src, entries, &p)
	if err := p.unique().err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadOne reads and validates one region's configuration.
func loadOne(project, stack string, src Source) (*Config, error) {
	r := reader{src: src}
	c := &Config{Project: project, Stack: stack}

	c.Region = r.region()
	c.App = r.str("appName")
	c.Environment = r.str("environment")
	c.VpcCIDR = r.str("vpcCidr")
	c.AvailabilityZones = r.list("availabilityZones")
	c.AZCount = r.integer("azCount")
	nat := r.str("natGateways")
	c.KubernetesVersion = r.str("kubernetesVersion")
	c.EndpointPublicAccess = r.boolean("endpointPublicAccess")
	c.EndpointPrivateAccess = r.boolean("endpointPrivateAccess")
	c.PublicAccessCIDRs = r.list("publicAccessCidrs")
	c.ClusterLogTypes = r.list("clusterLogTypes")
	c.AuthNamespace = r.str("authNamespace")
	c.ProtectStatefulResources = r.boolean("protectStatefulResources")
	c.readDataTier(&r)
	c.readService(&r)
	c.readDNS(&r)
	r.unknownKeys()

	p := &r.problems
	if !appNamePattern.MatchString(c.App) {
		p.add(q("appName"), c.App, "use 2-12 lowercase letters and digits starting with a letter, e.g. auth",
			"must be short and DNS-safe: it prefixes every resource name and AWS caps some names at 32 characters")
	}
	switch c.Environment {
	case "dev", "staging", "prod":
	default:
		p.add(q("environment"), c.Environment, "set dev, staging or prod", "unknown environment")
	}
	if _, err := network.ParseVPCCIDR(c.VpcCIDR); err != nil {
		p.add(q("vpcCidr"), c.VpcCIDR, "set a /16 to /20 block in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, e.g. 10.0.0.0/16", "%v", err)
	}
	c.validateZones(p)
	switch nat {
	case "perAz":
	case "single":
		c.SingleNatGateway = true
	default:
		p.add(q("natGateways"), nat, "set perAz or single", "unknown NAT gateway layout")
	}
	c.validateCluster(p)
	c.validateDataTier(p)
	c.validateService(p)
	c.validateDNS(p)
	c.validateZonePlacement(p) // issue 15
	if !dnsLabel.MatchString(c.AuthNamespace) || len(c.AuthNamespace) > 63 {
		p.add(q("authNamespace"), c.AuthNamespace, "use a DNS label: lowercase letters, digits and '-', e.g. auth", "not a valid Kubernetes namespace name")
	} else if c.AuthNamespace == "kube-system" || c.AuthNamespace == "default" || strings.HasPrefix(c.AuthNamespace, "kube-") {
		p.add(q("authNamespace"), c.AuthNamespace, "use a namespace of its own, e.g. auth", "system namespaces are reserved")
	}
	if c.Production() {
		if c.SingleNatGateway {
			p.add(q("natGateways"), nat, "set natGateways: perAz in production stacks",
				"a single NAT gateway cuts egress for every AZ when its own AZ fails")
		}
		if !c.ProtectStatefulResources {
			p.add(q("protectStatefulResources"), "false", "set protectStatefulResources: true in production stacks",
				"production data stores must be protected from `pulumi destroy`")
		}
	}
	if err := r.problems.err(); err != nil {
		return nil, err
	}
	return c, nil
}

var (
	appNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]{1,11}$`)
	dnsLabel       = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	k8sVersion     = regexp.MustCompile(`^1\.(\d+)$`)
)

// MinKubernetesMinor is the oldest EKS version we deploy: the preStop
// `sleep` handler is beta and on by default from 1.30, and EKS serves no
// alpha features.
const MinKubernetesMinor = 30

func (c *Config) validateZones(p *problems) {
	if len(c.AvailabilityZones) == 0 {
		if c.AZCount < 2 || c.AZCount > network.MaxAZs {
			p.add(q("azCount"), strconv.Itoa(c.AZCount), fmt.Sprintf("set azCount between 3 and %d (Aurora is given exactly three zones)", network.MaxAZs),
				"the platform needs at least 2 AZs to survive a zone outage")
		}
		return
	}
	value := strings.Join(c.AvailabilityZones, ",")
	if len(c.AvailabilityZones) < 2 {
		p.add(q("availabilityZones"), value, "list at least 2 zones, e.g. [us-east-1a, us-east-1b, us-east-1c]",
			"fewer than 2 availability zones cannot survive a zone outage")
	}
	if len(c.AvailabilityZones) > network.MaxAZs {
		p.add(q("availabilityZones"), value, fmt.Sprintf("list at most %d zones", network.MaxAZs), "too many availability zones")
	}
	seen := map[string]bool{}
	for _, az := range c.AvailabilityZones {
		if seen[az] {
			p.add(q("availabilityZones"), value, "list each zone once", "zone %s is listed twice", az)
		}
		seen[az] = true
		if c.Region != "" && !regexp.MustCompile(`^`+regexp.QuoteMeta(c.Region)+`[a-z]$`).MatchString(az) {
			p.add(q("availabilityZones"), value, fmt.Sprintf("use zones of %s, e.g. %sa", c.Region, c.Region),
				"zone %s is not a zone of region %s", az, c.Region)
		}
	}
}

func (c *Config) validateCluster(p *problems) {
	if m := k8sVersion.FindStringSubmatch(c.KubernetesVersion); m == nil {
		p.add(q("kubernetesVersion"), c.KubernetesVersion, "set a version like 1.33", "not a Kubernetes minor version")
	} else if minor, _ := strconv.Atoi(m[1]); minor < MinKubernetesMinor {
		p.add(q("kubernetesVersion"), c.KubernetesVersion, fmt.Sprintf("set 1.%d or later", MinKubernetesMinor),
			"the preStop sleep handler the auth service relies on is not available before 1.%d on EKS", MinKubernetesMinor)
	}
	if !c.EndpointPublicAccess && !c.EndpointPrivateAccess {
		p.add(q("endpointPublicAccess"), "false", "enable endpointPrivateAccess, endpointPublicAccess or both",
			"with both endpoint accesses off nothing can reach the Kubernetes API")
	}
	if c.EndpointPublicAccess && len(c.PublicAccessCIDRs) == 0 {
		p.add(q("publicAccessCidrs"), "[]", "list the CIDR blocks of your deploy hosts, or turn endpointPublicAccess off",
			"a public endpoint needs at least one allowed CIDR block")
	}
	for _, s := range c.PublicAccessCIDRs {
		pfx, err := netip.ParsePrefix(s)
		if err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx {
			p.add(q("publicAccessCidrs"), s, "use IPv4 network blocks such as 203.0.113.0/24", "not an IPv4 CIDR block")
		}
	}
	valid := map[string]bool{}
	for _, t := range cluster.LogTypes {
		valid[t] = true
	}
	for _, t := range c.ClusterLogTypes {
		if !valid[t] {
			p.add(q("clusterLogTypes"), t, "use any of "+strings.Join(cluster.LogTypes, ", "), "unknown control-plane log type")
		}
	}
}

// q qualifies a project key with the namespace.
func q(name string) string { return Namespace + ":" + name }

// reader reads typed values and records problems instead of stopping.
type reader struct {
	src      Source
	problems problems
}

func (r *reader) raw(name string) (string, bool) { return r.src.Get(q(name)) }

func (r *reader) str(name string) string {
	if v, ok := r.raw(name); ok {
		return v
	}
	return keyByName(name).Default.(string)
}

func (r *reader) integer(name string) int {
	v, ok := r.raw(name)
	if !ok {
		return keyByName(name).Default.(int)
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.problems.add(q(name), v, "set a whole number", "not an integer")
	}
	return n
}

// decimal reads a string-typed key holding a decimal number (Pulumi's
// config schema has no non-integer number type).
func (r *reader) decimal(name string) float64 {
	v := r.str(name)
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		r.problems.add(q(name), v, "set a number such as 0.5 or 16, quoted in YAML", "not a number")
	}
	return f
}

func (r *reader) boolean(name string) bool {
	v, ok := r.raw(name)
	if !ok {
		return keyByName(name).Default.(bool)
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		r.problems.add(q(name), v, "set true or false", "not a boolean")
	}
	return b
}

func (r *reader) list(name string) []string {
	v, ok := r.raw(name)
	if !ok {
		return append([]string(nil), keyByName(name).Default.([]string)...)
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		r.problems.add(q(name), v, "set a YAML list of strings, e.g. [a, b]", "not a list of strings")
		return nil
	}
	return out
}

func (r *reader) region() string {
	v, ok := r.src.Get(RegionKey)
	switch {
	case !ok || v == "":
		r.problems.add(RegionKey, "", "run `pulumi config set aws:region us-east-1` (or your region)", "the AWS region is required")
	case !KnownRegion(v):
		r.problems.add(RegionKey, v, "use a region code such as us-east-1, eu-west-1 or ap-southeast-2", "unknown AWS region")
	}
	return v
}

// unknownKeys flags keys in our namespace that the program does not read:
// almost always a typo that would otherwise silently fall back to a default.
func (r *reader) unknownKeys() {
	known := map[string]bool{}
	for _, k := range Keys {
		known[k.Name] = true
	}
	for _, full := range r.src.Keys() {
		name, ok := strings.CutPrefix(full, Namespace+":")
		if !ok || known[name] {
			continue
		}
		fix := "remove it"
		if s := closest(name); s != "" {
			fix = fmt.Sprintf("did you mean %s?", s)
		}
		r.problems.add(full, "", fix, "unknown configuration key")
	}
}

// closest suggests the registered key nearest to a misspelt one.
func closest(name string) string {
	best, bestDist := "", 4
	for _, k := range Keys {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k.Name)); d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
