package stacks

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/authplatform/auth-platform/components/cache"
	"github.com/authplatform/auth-platform/components/database"
)

// KeyClass says where a key may be written in a multi-region stack. Every
// key of Keys has one (a test holds the table to Keys).
type KeyClass int

// Key classes.
const (
	// Global keys are the same in every region: written once at the top
	// level, never inside an entry of regions (Global Datastore and Aurora
	// Global Database members share engine, version, node type and shard
	// count; one image, one DNS name and one timing budget serve all
	// regions).
	Global KeyClass = iota + 1
	// PerRegion keys may differ between regions: a top-level value is
	// every region's default, and an entry of regions overrides it.
	PerRegion
	// RegionOnly keys name something that exists in one region only (a
	// zone, an ARN with its region, a detector, a bucket a regional
	// service must write to). At the top level of a multi-region stack
	// the value would apply to every region, where it is wrong in all but
	// one: such a key is written inside its region's entry. A
	// single-region stack writes it at the top level, as always.
	RegionOnly
)

func (c KeyClass) String() string {
	switch c {
	case Global:
		return "global"
	case PerRegion:
		return "per-region"
	case RegionOnly:
		return "region-only"
	}
	return "unclassified"
}

// regionOnly says, for each RegionOnly key, why its value belongs to one
// region (the sources are cited where the rule is checked).
var regionOnly = map[string]string{
	"availabilityZones":   "a zone name is a zone of one region",
	"availabilityZoneIds": "a zone ID is a zone of one region",
	"cacheKmsKeyArn":      "a KMS key lives in one region, and ElastiCache encrypts with a key of its own region",
	"certificateArn":      "an ACM certificate lives in one region, and an ALB only uses certificates of its own region",
	// ELB User Guide, bucket requirements of load balancer logs: "The
	// bucket must be located in the same Region as the load balancer."
	// (read on the Network Load Balancer access-log page and the
	// Application Load Balancer health-check-log page,
	// docs.aws.amazon.com/elasticloadbalancing/latest/{network/enable-access-logs,
	// application/enable-health-check-logging}).
	"albAccessLogsBucket": "ELB delivers access logs only to a bucket in the load balancer's own region",
	"guardDutyDetectorId": "a GuardDuty detector belongs to one account and region",
}

// perRegion are the keys a region may override. albMtlsCaBundle is one:
// the trust store reads the bundle when it is created, and AWS states no
// region for its bucket, so one bundle may serve every region.
var perRegion = []string{
	"vpcCidr", "azCount", "natGateways",
	"kubernetesVersion", "endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs", "clusterLogTypes",
	"cacheReplicasPerShard", "cacheSnapshotWindow", "cacheMaintenanceWindow",
	"dbInstanceClass", "dbServerless", "dbServerlessMinAcu", "dbServerlessMaxAcu",
	"dbReaders", "dbBackupWindow", "dbMaintenanceWindow",
	"authReplicas", "authFargateCpu", "authFargateMemoryGb", "alarmEmail",
	// GuardDuty is per account and region: a region may leave its
	// detector to another stack (stacks/Pulumi.prod-global.yaml).
	"guardDutyEnabled", "albMtlsCaBundle",
}

// global are the keys written once for every region.
var global = []string{
	"appName", "environment", "authNamespace", "protectStatefulResources", "decommission",
	"cacheEngine", "cacheEngineVersion", "cacheNodeType", "cacheShards", "cacheMultiAz", "cacheAtRestEncryption",
	"cacheSnapshotRetentionDays", "cacheAuthTokenGenerations",
	"dbEngineVersion", "dbName", "dbMasterUsername", "dbBackupRetentionDays", "dbPerformanceInsightsRetentionDays",
	"authImage", "sessionTtlSeconds", "sessionIdleSeconds",
	"drainPropagationSeconds", "maxRequestSeconds", "shutdownSeconds",
	"deregistrationDelaySeconds", "preStopSleepSeconds", "terminationGracePeriodSeconds",
	"authLogRetentionDays",
	"regions", "authHostname", "hostedZoneId", "dnsRoutingPolicy",
	"healthCheckIntervalSeconds", "healthCheckFailureThreshold", "healthCheckRegions", "globalPrimaryRegion",
	// IAM is global: one principal administers every region's cluster.
	"clusterAdminPrincipalArns", "clusterViewerPrincipalArns",
	"wafEnabled", "wafMode", "wafRuleGroups", "wafLoginRateLimit", "wafRateWindowSeconds",
	"wafLogRetentionDays", "wafBlockedRequestsAlarmThreshold",
	"albAccessLogs", "albAccessLogsRetentionDays", "flowLogsEnabled", "flowLogsRetentionDays",
	"podEvictionAlarmThreshold",
	// Issue 27's patch window: one window and one job image everywhere, as
	// it was written (a window per region would be PerRegion).
	"patchWindow", "patchMaxPodAgeDays", "patchWindowImage",
}

// keyClasses is the three lists above as one table.
var keyClasses = func() map[string]KeyClass {
	m := map[string]KeyClass{}
	put := func(k string, c KeyClass) {
		if m[k] != 0 {
			panic("stacks: key " + k + " is classified " + m[k].String() + " and " + c.String())
		}
		m[k] = c
	}
	for _, k := range global {
		put(k, Global)
	}
	for _, k := range perRegion {
		put(k, PerRegion)
	}
	for k := range regionOnly {
		put(k, RegionOnly)
	}
	return m
}()

// ClassOf is a key's class; 0 (unclassified) for a name that is not a key
// or that nobody classified.
func ClassOf(name string) KeyClass { return keyClasses[name] }

// KeyClasses is a copy of the whole table, for the test that holds it to
// Keys both ways.
func KeyClasses() map[string]KeyClass {
	out := make(map[string]KeyClass, len(keyClasses))
	for k, c := range keyClasses {
		out[k] = c
	}
	return out
}

// RegionalKeys may be set per region in `regions` (PerRegion and
// RegionOnly); every other key is the same in all regions.
var RegionalKeys = func() map[string]bool {
	m := map[string]bool{}
	for k, c := range keyClasses {
		if c != Global {
			m[k] = true
		}
	}
	return m
}()

// Limits of the global data tier.
const (
	// MaxRegions: a Global Datastore has a primary and at most two
	// secondaries.
	MaxRegions = 3
)

// Routing policies across regions.
const (
	RoutingFailover = "failover"
	RoutingLatency  = "latency"
)

var (
	hostnamePattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	zoneIDPattern   = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
	// Global Datastore runs on these families, large and up (read:
	// globalNodeFamilyAsOf).
	globalNodeFamily = regexp.MustCompile(`^cache\.(m5|m6g|m7g|r5|r6g|r6gd|r7g|c7gn)\.(large|[0-9]*xlarge)$`)
	// Aurora global databases need memory-optimized (or Serverless v2) instances.
	globalDBClass = regexp.MustCompile(`^db\.(r[0-9][a-z]*|x[0-9][a-z]*)\.`)
)

// Role of a region in a multi-region stack.
type Role string

// Roles. A single-region stack's Config has RoleSingle.
const (
	RoleSingle    Role = ""
	RolePrimary   Role = "primary"
	RoleSecondary Role = "secondary"
)

// DNSConfig routes the auth hostname to the regions' ALBs.
type DNSConfig struct {
	Hostname         string
	ZoneID           string
	Policy           string
	IntervalSeconds  int
	FailureThreshold int
	CheckerRegions   []string
	// WriterRegion is globalPrimaryRegion as written: the region whose
	// Aurora cluster is the global writer now ("" for the first region).
	WriterRegion string
}

// regionEntry is one element of the `regions` key.
type regionEntry struct {
	Region    string
	hasRegion bool
	Values    map[string]string // unqualified regional key -> encoded value
}

func (c *Config) readDNS(r *reader) {
	c.DNS = DNSConfig{
		Hostname:         r.str("authHostname"),
		ZoneID:           r.str("hostedZoneId"),
		Policy:           r.str("dnsRoutingPolicy"),
		IntervalSeconds:  r.integer("healthCheckIntervalSeconds"),
		FailureThreshold: r.integer("healthCheckFailureThreshold"),
		CheckerRegions:   r.list("healthCheckRegions"),
		WriterRegion:     r.str("globalPrimaryRegion"),
	}
}

func (c *Config) validateDNS(p *problems) {
	d := c.DNS
	if d.Hostname != "" && (!hostnamePattern.MatchString(d.Hostname) || len(d.Hostname) > 253) {
		p.add(q("authHostname"), d.Hostname, "use a lowercase DNS name such as auth.example.com", "not a DNS name")
	}
	if d.ZoneID != "" && !zoneIDPattern.MatchString(d.ZoneID) {
		p.add(q("hostedZoneId"), d.ZoneID, "use the ID of a public hosted zone, e.g. Z0123456789ABCDEFGHIJ", "not a Route 53 hosted zone ID")
	}
	if (d.Hostname == "") != (d.ZoneID == "") {
		key, value := "hostedZoneId", d.ZoneID
		if d.Hostname == "" {
			key, value = "authHostname", ""
		}
		p.add(q(key), value, "set both authHostname and hostedZoneId, or neither", "a DNS record needs a name and the zone that holds it")
	}
	switch d.Policy {
	case RoutingFailover, RoutingLatency:
	default:
		p.add(q("dnsRoutingPolicy"), d.Policy, "set failover or latency", "unknown routing policy")
	}
	if d.IntervalSeconds != 10 && d.IntervalSeconds != 30 {
		p.add(q("healthCheckIntervalSeconds"), strconv.Itoa(d.IntervalSeconds), "set 10 or 30", "Route 53 checks every 10 or 30 seconds, nothing else")
	}
	if d.FailureThreshold < 1 {
		p.add(q("healthCheckFailureThreshold"), strconv.Itoa(d.FailureThreshold), "set 1 to 10", "a region counts as down after at least one failed check")
	} else if d.FailureThreshold > 10 {
		p.add(q("healthCheckFailureThreshold"), strconv.Itoa(d.FailureThreshold), "set 1 to 10", "Route 53 counts at most 10 consecutive failures")
	}
	if n := len(d.CheckerRegions); n > 0 && n < 3 {
		p.add(q("healthCheckRegions"), strings.Join(d.CheckerRegions, ","), "list at least 3 checker regions, or none for AWS's default",
			"Route 53 needs at least 3 checker regions")
	}
	for _, r := range d.CheckerRegions {
		if !healthCheckerRegions[r] {
			p.add(q("healthCheckRegions"), r, "use us-east-1, us-west-1, us-west-2, eu-west-1, ap-southeast-1, ap-southeast-2, ap-northeast-1 or sa-east-1",
				"not a Route 53 health checker region")
		}
	}
}

// healthCheckerRegions are the regions Route 53 runs health checkers in
// (read: healthCheckerRegionsAsOf).
var healthCheckerRegions = map[string]bool{
	"us-east-1": true, "us-west-1": true, "us-west-2": true, "eu-west-1": true,
	"ap-southeast-1": true, "ap-southeast-2": true, "ap-northeast-1": true, "sa-east-1": true,
}

// readRegionEntries parses `regions`, recording malformed entries.
func readRegionEntries(src Source, p *problems) []regionEntry {
	raw, ok := src.Get(q("regions"))
	if !ok || strings.TrimSpace(raw) == "" || strings.TrimSpace(raw) == "[]" {
		return nil
	}
	var list []map[string]interface{}
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		p.add(q("regions"), raw, "set a list of objects, e.g. [{region: us-east-1, vpcCidr: 10.40.0.0/16}, {region: us-west-2, vpcCidr: 10.50.0.0/16}]",
			"not a list of region objects")
		return nil
	}
	var out []regionEntry
	for i, m := range list {
		e := regionEntry{Values: map[string]string{}}
		at := func(k string) string { return fmt.Sprintf("%s[%d].%s", q("regions"), i, k) }
		region, _ := m["region"].(string)
		_, e.hasRegion = m["region"]
		if region == "" {
			p.add(at("region"), encodeValue(m["region"]), "give every entry its region, e.g. region: us-west-2", "the region is required")
		}
		e.Region = region
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "region" {
				continue
			}
			v := encodeValue(m[k])
			name, prefixed := strings.CutPrefix(k, Namespace+":")
			switch {
			case k == RegionKey:
				p.add(at(k), v, "write it as region: inside the entry", "an entry names its region with region:, not aws:region")
			case prefixed && isKey(name):
				p.add(at(k), v, fmt.Sprintf("drop the prefix: write %s: inside regions[%d]", name, i),
					"keys inside a region entry are written without the %s: prefix", Namespace)
			case RegionalKeys[k]:
				e.Values[k] = v
			case isKey(k):
				p.add(at(k), v, "set it once at the top level of the stack",
					"%s is the same in every region and cannot be set per region", k)
			default:
				p.add(at(k), v, unknownKeyFix(k, ""), "unknown configuration key")
			}
		}
		out = append(out, e)
	}
	return out
}

func isKey(name string) bool {
	for _, k := range Keys {
		if k.Name == name {
			return true
		}
	}
	return false
}

// encodeValue renders a YAML value the way Pulumi hands config to programs.
func encodeValue(v interface{}) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// regionSource is the stack's configuration seen from one region: its
// overrides over the top-level values, its region as aws:region.
type regionSource struct {
	base  Source
	entry regionEntry
	index int
}

func (s regionSource) Get(key string) (string, bool) {
	if key == RegionKey {
		return s.entry.Region, s.entry.Region != ""
	}
	if key == q("regions") {
		return "", false
	}
	if name, ok := strings.CutPrefix(key, Namespace+":"); ok {
		if v, ok := s.entry.Values[name]; ok {
			return v, true
		}
		// A region-only key at the top level is refused once
		// (refuseRegionOnlyAtTop); no region reads it, so no region
		// reports it again.
		if ClassOf(name) == RegionOnly {
			return "", false
		}
	}
	return s.base.Get(key)
}

// Literal maps an overridden key to how the entry wrote it.
func (s regionSource) Literal(key string) (Literal, bool) {
	ls, ok := s.base.(literalSource)
	if !ok {
		return Literal{}, false
	}
	if name, ok := strings.CutPrefix(key, Namespace+":"); ok {
		if _, overridden := s.entry.Values[name]; overridden {
			return ls.Literal(fmt.Sprintf("%s[%d].%s", q("regions"), s.index, name))
		}
	}
	return ls.Literal(key)
}

// IsSecret passes through to the stack's source.
func (s regionSource) IsSecret(key string) bool { return isSecret(s.base, key) }

func (s regionSource) Keys() []string {
	keys := s.base.Keys()
	if keys == nil {
		return nil
	}
	var out []string
	for _, k := range keys {
		if k != q("regions") {
			out = append(out, k)
		}
	}
	for k := range s.entry.Values {
		out = append(out, q(k))
	}
	sort.Strings(out)
	return out
}

// loadMultiRegion loads one Config per region and checks what must hold
// between them. The primary's Config is returned, holding all of them.
// Every region is read even when another has problems, and the checks
// between regions run on what was read, so that one round shows every
// mistake.
func loadMultiRegion(project, stack string, src Source, entries []regionEntry, p *problems) *Config {
	// A misspelt aws:region is reported too: nothing else reads it in a
	// multi-region stack, so it would pass in silence.
	if v, ok := src.Get(RegionKey); ok && v != "" && KnownRegion(entries[0].Region) && v != entries[0].Region {
		p.add(RegionKey, v, fmt.Sprintf("set aws:region to %s, the first (primary) region", entries[0].Region),
			"aws:region must name the primary region of a multi-region stack")
	}
	if len(entries) < 2 {
		p.add(q("regions"), fmt.Sprint(len(entries)), "list at least two regions, or remove regions for a single-region stack",
			"a multi-region stack needs a primary and at least one secondary")
	}
	if len(entries) > MaxRegions {
		p.add(q("regions"), fmt.Sprint(len(entries)), fmt.Sprintf("list at most %d regions", MaxRegions),
			"a Global Datastore has one primary and at most two secondaries")
	}
	refuseRegionOnlyAtTop(src, entries, p)
	type inheritedProblem struct {
		region int
		name   string
		prob   Problem
	}
	var inherited []inheritedProblem
	failing := map[string]map[int]bool{} // inherited regional key -> regions where it fails
	cfgs := make([]*Config, len(entries))
	seen := map[string]int{}
	for i, e := range entries {
		if j, dup := seen[e.Region]; dup && e.Region != "" {
			p.add(fmt.Sprintf("%s[%d].region", q("regions"), i), e.Region, "list each region once",
				"%s is already regions[%d]", e.Region, j)
		}
		seen[e.Region] = i
		cfg, ps := loadOne(project, stack, regionSource{base: src, entry: e, index: i})
		cfg.entry, cfg.entryIndex = &entries[i], i
		cfg.Role = RoleSecondary
		if i == 0 {
			cfg.Role = RolePrimary
		}
		cfgs[i] = cfg
		for _, prob := range ps {
			name, ours := strings.CutPrefix(prob.Key, Namespace+":")
			_, overridden := e.Values[name]
			switch {
			case prob.Key == RegionKey && e.Region == "":
				// readRegionEntries reported the missing region already;
				// "the AWS region is required" would say it twice.
			case prob.Key == RegionKey:
				p.add(regionalKey(i, e, prob.Key), prob.Value, prob.Fix, "%s", prob.Message)
			case ours && overridden:
				p.add(regionalKey(i, e, prob.Key), prob.Value, prob.Fix, "%s%s", regionLabel(e), prob.Message)
			case ours && RegionalKeys[name]:
				inherited = append(inherited, inheritedProblem{i, name, prob})
				if failing[name] == nil {
					failing[name] = map[int]bool{}
				}
				failing[name][i] = true
			default:
				// The same in every region: reported once (unique).
				p.add(prob.Key, prob.Value, prob.Fix, "%s", prob.Message)
			}
		}
	}
	// A top-level value of a regional key that fails in every region is the
	// top-level value's problem; one that fails in some regions only is
	// named by its place in regions, with how to override it there.
	for _, ip := range inherited {
		e := entries[ip.region]
		if len(failing[ip.name]) == len(entries) {
			p.add(ip.prob.Key, ip.prob.Value, ip.prob.Fix, "%s", ip.prob.Message)
			continue
		}
		p.add(fmt.Sprintf("%s[%d].%s", q("regions"), ip.region, ip.name), ip.prob.Value,
			fmt.Sprintf("%s; to change it for %s only, set %s under regions[%d], which overrides the top-level %s", ip.prob.Fix, e.Region, ip.name, ip.region, ip.name),
			"%s%s (the top-level value, which regions[%d] inherits)", regionLabel(e), ip.prob.Message, ip.region)
	}
	if len(entries) < 2 {
		return nil
	}
	checkGlobalTier(cfgs, entries, p)
	assignWriter(cfgs, entries, p)
	primary := cfgs[0]
	if primary.DNS.Policy == RoutingFailover && len(cfgs) != 2 {
		p.add(q("dnsRoutingPolicy"), primary.DNS.Policy, "use latency routing for three regions, or list two",
			"failover routing has exactly one primary and one secondary record")
	}
	if primary.DNS.Hostname == "" {
		p.add(q("authHostname"), "", "set authHostname and hostedZoneId: clients reach the regions through one name",
			"a multi-region stack needs a DNS name to fail over")
	}
	primary.Regions = cfgs
	return primary
}

// refuseRegionOnlyAtTop records a problem for each RegionOnly key written
// with a value at the top level of a multi-region stack: the value would
// apply to every region. An empty value (the key's "none") applies
// nowhere and stands.
func refuseRegionOnlyAtTop(src Source, entries []regionEntry, p *problems) {
	for _, k := range Keys {
		why, ok := regionOnly[k.Name]
		if !ok {
			continue
		}
		v, set := src.Get(q(k.Name))
		if t := strings.TrimSpace(v); !set || t == "" || t == "[]" {
			continue
		}
		p.add(q(k.Name), v, moveUnderRegion(k.Name, v, entries),
			"%s belongs to one region (%s): at the top level of a multi-region stack it would apply to every region", k.Name, why)
	}
}

// moveUnderRegion says where a region-only value goes: the entry of the
// region an ARN names, else every entry.
func moveUnderRegion(name, value string, entries []regionEntry) string {
	if parts := strings.Split(value, ":"); len(parts) > 3 && parts[0] == "arn" {
		for i, e := range entries {
			if e.Region == parts[3] {
				return fmt.Sprintf("move it under its region: write %s inside regions[%d] (%s), and give each other region its own %s there",
					name, i, e.Region, name)
			}
		}
	}
	listed := make([]string, 0, len(entries))
	for i, e := range entries {
		listed = append(listed, fmt.Sprintf("regions[%d] (%s)", i, e.Region))
	}
	return fmt.Sprintf("move it under the region it belongs to: write %s inside that region's entry of %s, one value per region", name, strings.Join(listed, ", "))
}

// assignWriter marks the region whose Aurora cluster is the global
// database's writer: globalPrimaryRegion, by default the first region
// (the one the global database was created from, which regions[0] stays
// for good: its cluster carries the database name and master user).
// After a switchover or failover only this key moves; no cluster's
// arguments change (see components/database, GlobalMember.Writer).
func assignWriter(cfgs []*Config, entries []regionEntry, p *problems) {
	writer := cfgs[0].DNS.WriterRegion
	if writer == "" {
		writer = entries[0].Region
	}
	var listed []string
	found := false
	for _, e := range entries {
		listed = append(listed, e.Region)
		found = found || e.Region == writer
	}
	if !found {
		p.add(q("globalPrimaryRegion"), writer, "name one of the stack's regions: "+strings.Join(listed, ", "),
			"the global database's writer must be one of its members")
		return
	}
	for _, c := range cfgs {
		c.GlobalWriter = c.Region == writer
	}
}

// regionalKey names an overridden key by its place in `regions`.
func regionalKey(i int, e regionEntry, key string) string {
	if key == RegionKey {
		return fmt.Sprintf("%s[%d].region", q("regions"), i)
	}
	if name, ok := strings.CutPrefix(key, Namespace+":"); ok {
		if _, overridden := e.Values[name]; overridden {
			return fmt.Sprintf("%s[%d].%s", q("regions"), i, name)
		}
	}
	return key
}

func regionLabel(e regionEntry) string {
	if e.Region == "" {
		return ""
	}
	return "in " + e.Region + ": "
}

// checkGlobalTier holds the regions to what the global data tier and the
// network between them need.
func checkGlobalTier(cfgs []*Config, entries []regionEntry, p *problems) {
	key := func(i int, name string) string { return regionalKey(i, entries[i], q(name)) }
	for i, a := range cfgs {
		pa, errA := netip.ParsePrefix(a.VpcCIDR)
		for j := i + 1; j < len(cfgs); j++ {
			b := cfgs[j]
			pb, errB := netip.ParsePrefix(b.VpcCIDR)
			if errA == nil && errB == nil && pa.Overlaps(pb) {
				p.add(key(j, "vpcCidr"), b.VpcCIDR,
					fmt.Sprintf("give %s a block that does not overlap %s's %s", b.Region, a.Region, a.VpcCIDR),
					"regional VPCs must not overlap, or they can never be peered or routed to each other")
			}
		}
	}
	nodeType := cfgs[0].Cache.NodeType
	if cache.CheckNodeType(nodeType) == nil && !globalNodeFamily.MatchString(nodeType) {
		p.add(q("cacheNodeType"), nodeType, "use an m5, m6g, m7g, r5, r6g, r6gd, r7g or c7gn node of size large or bigger, e.g. cache.r7g.large",
			"Global Datastore does not accept this node type")
	}
	for i, c := range cfgs {
		if !c.Database.Serverless && database.ValidInstanceClass(c.Database.InstanceClass) && !globalDBClass.MatchString(c.Database.InstanceClass) {
			p.add(key(i, "dbInstanceClass"), c.Database.InstanceClass, "use a memory-optimized class such as db.r7g.large, or dbServerless: true",
				"in %s: Aurora global databases need memory-optimized instances", c.Region)
		}
	}
}
