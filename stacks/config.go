package stacks

import (
	"encoding/json"
	"fmt"
	"math"
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

	// AvailabilityZoneIDs pin the zones by ID (issue 11); at most one of
	// AvailabilityZoneIDs and AvailabilityZones is set.
	AvailabilityZoneIDs []string
	// ClusterAccess are the principals besides the cluster's creator that
	// get an EKS access entry (issue 11), admins first.
	ClusterAccess []cluster.Grant
	// entry is this region's element of `regions` in a multi-region
	// stack, so that a problem found at deploy time names the key the user
	// wrote (regions[i].<key>); nil otherwise.
	entry      *regionEntry
	entryIndex int

	KubernetesVersion     string
	EndpointPublicAccess  bool
	EndpointPrivateAccess bool
	PublicAccessCIDRs     []string
	ClusterLogTypes       []string

	AuthNamespace            string
	ProtectStatefulResources bool
	// Decommission lifts every protection that would refuse `pulumi
	// destroy` (stacks/decommission.go).
	Decommission bool
	// Teardown is derived from the three keys above during validation.
	Teardown Teardown

	Cache    CacheConfig
	Database DatabaseConfig
	Service  ServiceConfig
	DNS      DNSConfig
	Defense  DefenseConfig
	// Operations: the patch window (issue 27).
	Operations OperationsConfig

	// Role is this region's part in a multi-region stack.
	Role Role
	// GlobalWriter marks the region of a multi-region stack whose Aurora
	// cluster is the global writer now (globalPrimaryRegion).
	GlobalWriter bool
	// Regions holds every region's Config, primary first, in a
	// multi-region stack (on the primary's Config); nil otherwise.
	Regions []*Config

	// AWS is what the stack's explicit AWS providers are given besides
	// the region (aws:profile, aws:allowedAccountIds, ...).
	AWS AWSSettings
	// Encrypted lists the keys whose values the offline plan could not
	// decrypt: it checked a placeholder of each key's shape instead.
	Encrypted []string
	// Warnings are what the preflight found acceptable but worth telling
	// (on the primary's Config).
	Warnings []string
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
	// AuthTokenGenerations are the AUTH token generations the session
	// store accepts (a rotation walks [N] -> [N, N+1] -> [N+1]).
	AuthTokenGenerations []int
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
	accountKeys(src, &p)
	awsSettings := readAWSSettings(src, &p)
	entries := readRegionEntries(src, &p)
	var cfg *Config
	if len(entries) == 0 {
		var ps problems
		cfg, ps = loadOne(project, stack, src)
		p = append(p, ps...)
		if w := cfg.DNS.WriterRegion; w != "" {
			p.add(q("globalPrimaryRegion"), w, "remove it: a single-region stack has no global database",
				"globalPrimaryRegion applies only to a stack with regions")
		}
	} else {
		cfg = loadMultiRegion(project, stack, src, entries, &p)
	}
	if err := completeProblems(src, entries, p.unique()).err(); err != nil {
		return nil, err
	}
	cfg.Encrypted = encryptedKeys(src, entries)
	if cfg.Decommission {
		cfg.Warnings = append(cfg.Warnings, cfg.decommissionWarning())
	}
	cfg.AWS = awsSettings
	for _, rc := range cfg.Regions {
		rc.AWS = awsSettings
	}
	return cfg, nil
}

// loadOne reads and validates one region's configuration. It returns what
// it read even when there are problems, so that the checks between regions
// still run.
func loadOne(project, stack string, src Source) (*Config, problems) {
	r := reader{src: src}
	c := &Config{Project: project, Stack: stack}

	c.Region = r.region()
	c.App = r.str("appName")
	c.Environment = r.str("environment")
	c.VpcCIDR = r.str("vpcCidr")
	c.AvailabilityZones = r.list("availabilityZones")
	c.AvailabilityZoneIDs = r.list("availabilityZoneIds")
	c.AZCount = r.integer("azCount")
	nat := r.str("natGateways")
	c.KubernetesVersion = r.str("kubernetesVersion")
	c.EndpointPublicAccess = r.boolean("endpointPublicAccess")
	c.EndpointPrivateAccess = r.boolean("endpointPrivateAccess")
	c.PublicAccessCIDRs = r.list("publicAccessCidrs")
	c.ClusterLogTypes = r.list("clusterLogTypes")
	c.AuthNamespace = r.str("authNamespace")
	c.ProtectStatefulResources = r.boolean("protectStatefulResources")
	c.Decommission = r.boolean("decommission")
	c.readDataTier(&r)
	c.readService(&r)
	c.readDNS(&r)
	c.readAccess(&r)
	c.readDefense(&r)
	c.readOperations(&r)

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
	c.validateZoneIDs(p)
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
	c.validateAccess(p)
	c.validateDefense(p)
	c.validateOperations(p)
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
		if c.Service.AlarmEmail == "" {
			p.add(q("alarmEmail"), "", "set alarmEmail to the on-call address in production stacks, e.g. auth-oncall@example.com",
				"production alarms need a destination: without a subscription nobody hears them")
		}
	}
	c.validateDecommission(p)
	c.Teardown = c.deriveTeardown()
	checkAccountPinned(r.src, c, p)
	return c, r.problems
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

// MinAZs is the fewest availability zones a stack uses: Aurora is given
// exactly three, and the platform must keep serving when one fails. It and
// network.MaxAZs are the zone rule Pulumi.yaml and README state.
const MinAZs = 3

func (c *Config) validateZones(p *problems) {
	if len(c.AvailabilityZoneIDs) > 0 {
		return // validateZoneIDs
	}
	if len(c.AvailabilityZones) == 0 {
		if c.AZCount < MinAZs {
			p.add(q("azCount"), strconv.Itoa(c.AZCount), fmt.Sprintf("set azCount between %d and %d", MinAZs, network.MaxAZs),
				"the stack needs at least %d AZs: Aurora is given exactly three, and the platform must survive losing one", MinAZs)
		} else if c.AZCount > network.MaxAZs {
			p.add(q("azCount"), strconv.Itoa(c.AZCount), fmt.Sprintf("set azCount between %d and %d", MinAZs, network.MaxAZs),
				"the VPC layout has room for at most %d zones (each takes an eighth of the VPC for its private subnet)", network.MaxAZs)
		}
		return
	}
	value := strings.Join(c.AvailabilityZones, ",")
	if len(c.AvailabilityZones) < MinAZs {
		p.add(q("availabilityZones"), value, fmt.Sprintf("list at least %d zones, e.g. [us-east-1a, us-east-1b, us-east-1c]", MinAZs),
			"fewer than %d availability zones: Aurora is given exactly 3 AZs, and the platform must survive losing one", MinAZs)
	}
	if len(c.AvailabilityZones) > network.MaxAZs {
		p.add(q("availabilityZones"), value, fmt.Sprintf("list at most %d zones", network.MaxAZs),
			"the VPC layout has room for at most %d zones (each takes an eighth of the VPC for its private subnet)", network.MaxAZs)
	}
	seen := map[string]bool{}
	for _, az := range c.AvailabilityZones {
		if seen[az] {
			p.add(q("availabilityZones"), value, "list each zone once", "zone %s is listed twice", az)
		}
		seen[az] = true
		if c.regionKnown() && !regexp.MustCompile(`^`+regexp.QuoteMeta(c.Region)+`[a-z]$`).MatchString(az) {
			p.add(q("availabilityZones"), value, fmt.Sprintf("use zones of %s, e.g. %sa", c.Region, c.Region),
				"zone %s is not a zone of region %s", az, c.Region)
		}
	}
}

func (c *Config) validateCluster(p *problems) {
	if m := k8sVersion.FindStringSubmatch(c.KubernetesVersion); m == nil {
		p.add(q("kubernetesVersion"), c.KubernetesVersion, "set a version like "+cluster.DefaultVersion+" (quoted in YAML)", "not a Kubernetes minor version")
	} else if minor, _ := strconv.Atoi(m[1]); minor < MinKubernetesMinor {
		fix := fmt.Sprintf("set 1.%d or later", MinKubernetesMinor)
		if len(m[1]) == 1 {
			// The engine passes what YAML made of an unquoted 1.30.
			fix = fmt.Sprintf("if the stack file says %s0 unquoted, YAML read it as the number %s: quote it, \"%s0\"; otherwise %s", c.KubernetesVersion, c.KubernetesVersion, c.KubernetesVersion, fix)
		}
		p.add(q("kubernetesVersion"), c.KubernetesVersion, fix,
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
	everywhere, allValid := false, true
	for _, s := range c.PublicAccessCIDRs {
		pfx, err := netip.ParsePrefix(s)
		if err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx {
			p.add(q("publicAccessCidrs"), s, "use IPv4 network blocks such as 203.0.113.0/24", "not an IPv4 CIDR block")
			allValid = false
			continue
		}
		everywhere = everywhere || pfx.Bits() == 0
	}
	// Without the private endpoint, Fargate's kubelets reach the API from
	// the private subnets through the NAT gateways, whose Elastic IPs this
	// stack creates: no block listed in advance is known to hold them, and
	// pods that cannot reach the API never register.
	if c.EndpointPublicAccess && !c.EndpointPrivateAccess && allValid && len(c.PublicAccessCIDRs) > 0 && !everywhere {
		p.add(q("endpointPrivateAccess"), "false",
			"set endpointPrivateAccess: true (the nodes then use the private endpoint, and publicAccessCidrs may stay narrow), or open publicAccessCidrs to 0.0.0.0/0",
			"with the private endpoint off, Fargate pods reach the Kubernetes API through the NAT gateways, whose addresses this stack creates and %s does not admit; the pods would never register",
			strings.Join(c.PublicAccessCIDRs, ","))
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

// reader reads typed values and records problems instead of stopping. A
// value of the wrong type is one problem, and the key's default stands in
// for it so that no second problem is reported about a value the user never
// wrote.
type reader struct {
	src      Source
	problems problems
	// validRegion is the region being read once it is known to be valid; it
	// shapes the placeholders of encrypted values.
	validRegion string
}

// raw returns a key's value as the engine passes it. An encrypted value the
// offline plan cannot see becomes a placeholder of the key's own shape.
func (r *reader) raw(name string) (string, bool) {
	v, ok := r.src.Get(q(name))
	if ok && v == EncryptedPlaceholder {
		return placeholderFor(name, r.validRegion), true
	}
	return v, ok
}

func (r *reader) str(name string) string {
	v, ok := r.raw(name)
	if !ok {
		return keyByName(name).Default.(string)
	}
	if lit, isNumber := numberLiteral(r.src, q(name)); isNumber && lit != v {
		r.problems.add(q(name), lit, fmt.Sprintf("quote it: %s: \"%s\"", name, lit),
			"YAML reads the unquoted %s as the number %s, and that is what Pulumi passes to the program", lit, v)
		return keyByName(name).Default.(string)
	}
	return v
}

func (r *reader) integer(name string) int {
	v, ok := r.raw(name)
	if !ok {
		return keyByName(name).Default.(int)
	}
	// The Pulumi CLI accepts exactly what strconv.Atoi accepts.
	n, err := strconv.Atoi(v)
	if err != nil {
		r.problems.add(q(name), v, "set a whole number, e.g. "+strconv.Itoa(keyByName(name).Default.(int)),
			"not an integer (the Pulumi CLI refuses it for an integer key)")
		return keyByName(name).Default.(int)
	}
	return n
}

// decimal reads a string-typed key holding a decimal number (Pulumi's
// config schema has no non-integer number type). An unquoted YAML number
// is fine here: 0.50 and 0.5 are the same capacity.
func (r *reader) decimal(name string) float64 {
	def := keyByName(name).Default.(string)
	v, ok := r.raw(name)
	if !ok {
		v = def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		r.problems.add(q(name), v, fmt.Sprintf("set a number such as %s, quoted in YAML", def), "not a number")
		f, _ = strconv.ParseFloat(def, 64)
	}
	return f
}

func (r *reader) boolean(name string) bool {
	v, ok := r.raw(name)
	if !ok {
		return keyByName(name).Default.(bool)
	}
	// The Pulumi CLI takes true and false only (1, yes, on are refused).
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	r.problems.add(q(name), v, "set true or false", "not a boolean (the Pulumi CLI accepts only true and false)")
	return keyByName(name).Default.(bool)
}

func (r *reader) list(name string) []string {
	def := append([]string(nil), keyByName(name).Default.([]string)...)
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		r.problems.add(q(name), v, "set a YAML list of strings, e.g. [a, b]", "not a list of strings")
		return def
	}
	return out
}

// integers reads an array key of whole numbers.
func (r *reader) integers(name string) []int {
	def := append([]int(nil), keyByName(name).Default.([]int)...)
	v, ok := r.raw(name)
	if !ok {
		return def
	}
	var out []int
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		r.problems.add(q(name), v, "set a YAML list of whole numbers, e.g. [1, 2]", "not a list of whole numbers")
		return def
	}
	return out
}

func (r *reader) region() string {
	v, ok := r.src.Get(RegionKey)
	switch {
	case !ok || v == "":
		r.problems.add(RegionKey, "", "run `pulumi config set aws:region us-east-1` (or your region)", "the AWS region is required")
	case !KnownRegion(v):
		fix := "use a region code such as us-east-1, eu-west-1 or ap-southeast-2"
		if s := closestRegion(v); s != "" {
			fix = fmt.Sprintf("did you mean %s?", s)
		}
		r.problems.add(RegionKey, v, fix, "unknown AWS region")
	default:
		r.validRegion = v
	}
	return v
}

// regionKnown reports whether the region is valid, so that checks against
// it are worth making: a misspelt region is one problem, not one per zone,
// certificate and key that cannot match it.
func (c *Config) regionKnown() bool { return KnownRegion(c.Region) }

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
