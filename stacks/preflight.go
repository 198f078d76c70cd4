package stacks

// Preflight (issue 12 item 5, issue 11 item 6, issue 23): values the shape
// checks pass but AWS may not offer are looked up in AWS before the first
// resource other than the regions' providers registers, so that `pulumi
// preview`/`up` (and the offline plan, answered by cmd/plan/mocks)
// refuses them as configuration errors instead of failing 15 minutes into
// an update.
//
// Looked up, per region, through the region's provider (plain-value invokes,
// which return before the program goes on):
//   - kubernetesVersion: eks.GetClusterVersions (DescribeClusterVersions);
//   - dbEngineVersion: rds.GetEngineVersion, which also resolves a major to
//     its newest minor;
//   - dbInstanceClass (or db.serverless): rds.GetOrderableDbInstance for the
//     resolved version, Aurora Standard storage, the class as the preferred
//     one (see auroraInstanceClass: AWS lists a class once per storage type);
//   - cacheNodeType for cacheEngine: elasticache.GetReservedCacheNodeOffering
//     over the reserved offerings ElastiCache sells; none at all is a
//     warning, not an error (see cacheNodeType);
//   - guardDutyEnabled/guardDutyDetectorId: guardduty.LookupDetector, which
//     only checks the configured ownership; it never decides what the stack
//     registers (see guardDuty).
//
// Not looked up: the ElastiCache engine version (no lookup in pulumi-aws v6;
// cache.ValkeyVersions is the check) and zones (stacks/program.go).

import (
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/guardduty"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/components/threatdetection"
)

// Now is the clock the preflight judges support dates by.
var Now = func() time.Time { return time.Now().UTC() }

// reservedProbes are the reserved-node offerings asked for, in order, until
// one exists: the offering types ElastiCache sells (No, Partial and All
// Upfront for the latest generations; Heavy Utilization only for T2, M3, M4,
// R3 and R4: pulumi-aws v6.83.4 sdk/go/aws/elasticache/
// getReservedCacheNodeOffering.go, offeringType) for each term. The data
// source needs all four of node type, engine, offering type and duration,
// and fails unless exactly one offering matches.
var reservedProbes = []struct{ offering, duration string }{
	{"No Upfront", "P1Y"}, {"Partial Upfront", "P1Y"}, {"All Upfront", "P1Y"}, {"Heavy Utilization", "P1Y"},
	{"No Upfront", "P3Y"}, {"Partial Upfront", "P3Y"}, {"All Upfront", "P3Y"}, {"Heavy Utilization", "P3Y"},
}

// auroraStorage is the cluster storage type the Aurora instance class is
// checked for: Aurora Standard, what an rds.Cluster without storageType
// gets (components/database sets none; RDS API reference, CreateDBCluster,
// StorageType: "aurora" is the default for Aurora DB clusters).
const auroraStorage = "aurora"

// preflight checks cfgs (one per region, primary first) against AWS through
// providers (same order). It resolves a configured Aurora major to a minor
// in every Config, records warnings on cfgs[0], and returns every miss as
// one ConfigError.
func preflight(ctx *pulumi.Context, cfgs []*Config, providers []*aws.Provider) error {
	var p problems
	multi := len(cfgs) > 1
	for i, c := range cfgs {
		f := finder{ctx: ctx, cfg: c, provider: providers[i], problems: &p, index: i, multi: multi}
		cfgs[0].Warnings = append(cfgs[0].Warnings, f.kubernetes()...)
		cfgs[0].Warnings = append(cfgs[0].Warnings, f.cacheNodeType()...)
		f.guardDuty()
	}

	// Aurora: the primary resolves the version; every region (a global
	// database's members share it) must offer it and its instance class.
	// Without a version the class is checked against any version, so that
	// a bad class is reported in the same round.
	version, ok := finder{ctx: ctx, cfg: cfgs[0], provider: providers[0], problems: &p, multi: multi}.auroraVersion()
	for i, c := range cfgs {
		f := finder{ctx: ctx, cfg: c, provider: providers[i], problems: &p, index: i, multi: multi}
		if ok && i > 0 && !f.auroraVersionOffered(version) {
			continue
		}
		f.auroraInstanceClass(version)
	}
	if ok {
		for _, c := range cfgs {
			c.Database.EngineVersion = version
		}
	}
	return p.firstPerValue().err()
}

// finder runs the lookups of one region.
type finder struct {
	ctx      *pulumi.Context
	cfg      *Config
	provider *aws.Provider
	problems *problems
	index    int
	multi    bool
}

// in prefixes messages with the region in a multi-region stack.
func (f finder) in() string {
	if !f.multi {
		return ""
	}
	return "in " + f.cfg.Region + ": "
}

// key names a key the way the user wrote it: regions[i].name when this
// region's entry overrides it, else the top-level key.
func (f finder) key(name string) string {
	if f.cfg.entry == nil {
		return q(name)
	}
	return regionalKey(f.cfg.entryIndex, *f.cfg.entry, q(name))
}

// override tells how to set a regional key for this region only (nothing
// when this region already overrides it).
func (f finder) override(name string) string {
	if !f.multi || !RegionalKeys[name] || f.key(name) != q(name) {
		return ""
	}
	return fmt.Sprintf(", or override %s in regions[%d]", name, f.index)
}

func (f finder) kubernetes() []string {
	v := f.cfg.KubernetesVersion
	// includeAll: whatever DescribeClusterVersions leaves out by default,
	// a retired version then comes back as UNSUPPORTED and is refused here.
	res, err := eks.GetClusterVersions(f.ctx, &eks.GetClusterVersionsArgs{
		ClusterType: pulumi.StringRef("eks"), IncludeAll: pulumi.BoolRef(true),
	}, pulumi.Provider(f.provider))
	if err != nil {
		f.problems.add(f.key("kubernetesVersion"), v, "check the deploy role may call eks:DescribeClusterVersions",
			"%scould not look up the Kubernetes versions EKS offers: %s", f.in(), oneLine(err))
		return nil
	}
	var offered []string
	status, ended := "", ""
	for _, cv := range res.ClusterVersions {
		if cv.VersionStatus != string(cluster.Unsupported) {
			offered = append(offered, cv.ClusterVersion)
		}
		if cv.ClusterVersion == v {
			status, ended = cv.VersionStatus, cv.EndOfExtendedSupportDate
		}
	}
	today := Now()
	if status == "" || status == string(cluster.Unsupported) {
		why := ""
		if status != "" {
			why = fmt.Sprintf("; its extended support ended %s", ended)
		}
		f.problems.add(f.key("kubernetesVersion"), v,
			fmt.Sprintf("set one EKS offers, preferably in standard support (%s; default %s)%s", cluster.StandardSupportMinors(today), cluster.DefaultVersion, f.override("kubernetesVersion")),
			"%sEKS does not offer Kubernetes %s (it offers %s%s)", f.in(), v, strings.Join(offered, ", "), why)
		return nil
	}
	var warnings []string
	rel, known := cluster.Release(v)
	switch {
	case !known:
		warnings = append(warnings, fmt.Sprintf("%skubernetesVersion %s: EKS offers it (%s) but components/cluster/versions.go has no calendar row for it: add its dates", f.in(), v, status))
	case status == string(cluster.ExtendedSupport) || rel.SupportOn(today) != cluster.StandardSupport:
		warnings = append(warnings, fmt.Sprintf("%skubernetesVersion %s left EKS standard support on %s: the cluster bills extended support (6x the hourly price) until %s. Fix: set %s",
			f.in(), v, rel.EndOfStandardSupport, rel.EndOfExtendedSupport, cluster.DefaultVersion))
	}
	return warnings
}

// cacheNodeType asks whether ElastiCache sells the node type for the
// engine in the region. No ElastiCache API lists the node types orderable
// on demand (the API reference's Describe actions know reserved offerings,
// engine versions and existing clusters; ListAllowedNodeTypeModifications
// needs a cluster), and pulumi-aws v6.83.4's ElastiCache functions are
// getCluster, getReplicationGroup, getReservedCacheNodeOffering,
// getServerlessCache, getSubnetGroup and getUser. The Price List API
// (pricing.GetProduct) lists on-demand products, but it answers only from
// us-east-1, eu-central-1 and ap-south-1, needs pricing:GetProducts, and
// fails unless exactly one product matches, a count that cannot be checked
// offline (B-1 was that trap). So a reserved offering of any type and
// term proves the type; a type without any is a warning, not an error:
// ElastiCache sells some types on demand only (a new family, a smaller
// region), and one it does not sell at all fails when the replication
// group is created. Other lookup failures (permissions) are errors.
func (f finder) cacheNodeType() []string {
	c := f.cfg.Cache
	var tried []string
	for _, probe := range reservedProbes {
		_, err := elasticache.GetReservedCacheNodeOffering(f.ctx, &elasticache.GetReservedCacheNodeOfferingArgs{
			CacheNodeType:      c.NodeType,
			ProductDescription: c.Engine,
			OfferingType:       probe.offering,
			Duration:           probe.duration,
		}, pulumi.Provider(f.provider))
		if err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "empty result") {
			f.problems.add(f.key("cacheNodeType"), c.NodeType, "check the deploy role may call elasticache:DescribeReservedCacheNodesOfferings",
				"%scould not look up ElastiCache's %s offerings of this node type: %s", f.in(), c.Engine, oneLine(err))
			return nil
		}
		tried = append(tried, probe.offering+"/"+probe.duration)
	}
	return []string{fmt.Sprintf("%scacheNodeType %s: ElastiCache in %s sells no reserved %s node of this type (tried %s). "+
		"Some types are sold on demand only, so the plan goes on; a type ElastiCache does not offer there fails when the replication group is created. "+
		"Check it against https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html, e.g. cache.r7g.large or cache.t4g.small",
		f.in(), c.NodeType, f.cfg.Region, c.Engine, strings.Join(tried, ", "))}
}

// guardDuty checks the configured ownership of the region's GuardDuty
// detector before anything is created; what the stack registers never
// depends on it (components/threatdetection). An adopted detector
// (guardDutyDetectorId) must exist in the region. A stack that creates the
// region's detector must find none there, or its own on a later run (the
// detector carries the stack's Name tag): GuardDuty allows one detector per
// account and region, so creating a second fails mid-update.
func (f finder) guardDuty() {
	d := f.cfg.Defense
	if !d.GuardDuty {
		return
	}
	region := f.cfg.Region
	if id := d.GuardDutyDetectorID; id != "" {
		if _, err := guardduty.LookupDetector(f.ctx, &guardduty.LookupDetectorArgs{Id: pulumi.StringRef(id)}, pulumi.Provider(f.provider)); err != nil {
			f.problems.add(f.key("guardDutyDetectorId"), id,
				fmt.Sprintf("set the ID `aws guardduty list-detectors --region %s` prints, or remove guardDutyDetectorId to have the stack create the region's detector", region),
				"GuardDuty in %s has no detector %s in this account (lookup: %s)", region, id, oneLine(err))
		}
		return
	}
	found, err := guardduty.LookupDetector(f.ctx, &guardduty.LookupDetectorArgs{}, pulumi.Provider(f.provider))
	switch {
	case err != nil && strings.Contains(err.Error(), "empty result"):
		// No detector: the stack creates it.
	case err != nil:
		f.problems.add(f.key("guardDutyEnabled"), "true", "check the deploy role may call guardduty:ListDetectors and guardduty:GetDetector",
			"%scould not look up the region's GuardDuty detector: %s", f.in(), oneLine(err))
	case found.Tags["Name"] != threatdetection.DetectorName(RegionNamer(f.cfg, region)):
		f.problems.add(f.key("guardDutyEnabled"), "true",
			fmt.Sprintf("set guardDutyDetectorId: %s to adopt it (the stack then never creates or deletes a detector there)%s, or leave guardDutyEnabled off where another stack or team manages GuardDuty",
				found.Id, f.override("guardDutyDetectorId")),
			"GuardDuty in %s already has detector %s, which this stack did not create (Name tag %q); GuardDuty allows one per account and region, so creating the stack's own would fail",
			region, found.Id, found.Tags["Name"])
	}
}

// auroraVersion resolves dbEngineVersion in the primary region: a major to
// its newest available minor, a pinned minor to itself if RDS offers it.
func (f finder) auroraVersion() (string, bool) {
	v := f.cfg.Database.EngineVersion
	major, err := database.ConfigMajor(v)
	if err != nil {
		return "", false // reported by the shape checks already
	}
	args := &rds.GetEngineVersionArgs{Engine: database.Engine}
	if database.IsMajorOnly(v) {
		args.ParameterGroupFamily = pulumi.StringRef(database.ParameterFamily(major))
		args.Latest = pulumi.BoolRef(true)
	} else {
		args.PreferredVersions = []string{v}
	}
	res, err := rds.GetEngineVersion(f.ctx, args, pulumi.Provider(f.provider))
	if err != nil {
		f.problems.add(f.key("dbEngineVersion"), v,
			fmt.Sprintf("set the major alone (e.g. %s, quoted) to take its newest minor, or a minor listed by `aws rds describe-db-engine-versions --engine %s`", database.DefaultMajor, database.Engine),
			"RDS in %s offers no Aurora PostgreSQL %s (lookup: %s)", f.cfg.Region, v, oneLine(err))
		return "", false
	}
	return res.Version, true
}

// auroraVersionOffered checks a secondary region offers the primary's
// version: Global Database members run one version.
func (f finder) auroraVersionOffered(version string) bool {
	_, err := rds.GetEngineVersion(f.ctx, &rds.GetEngineVersionArgs{
		Engine: database.Engine, PreferredVersions: []string{version},
	}, pulumi.Provider(f.provider))
	if err != nil {
		f.problems.add(f.key("dbEngineVersion"), f.cfg.Database.EngineVersion,
			"pin a minor that every region offers",
			"RDS in %s offers no Aurora PostgreSQL %s, the version of the primary region (lookup: %s)", f.cfg.Region, version, oneLine(err))
		return false
	}
	return true
}

func (f finder) auroraInstanceClass(version string) {
	d := f.cfg.Database
	class, key := d.InstanceClass, "dbInstanceClass"
	if d.Serverless {
		class, key = database.ServerlessClass, "dbServerless"
	}
	// AWS lists every class once per storage type (Aurora PostgreSQL 16.1
	// and later: aurora and aurora-iopt1), and without a version once per
	// version too; the data source accepts exactly one option unless a
	// preferred class picks the first (terraform-provider-aws
	// internal/service/rds/orderable_instance_data_source.go). Asking for
	// engine, version and class alone failed every shipped stack (B-1).
	args := &rds.GetOrderableDbInstanceArgs{
		Engine:                   database.Engine,
		InstanceClass:            pulumi.StringRef(class),
		StorageType:              pulumi.StringRef(auroraStorage),
		PreferredInstanceClasses: []string{class},
	}
	shown := version
	if version != "" {
		args.EngineVersion = pulumi.StringRef(version)
	} else {
		shown = "(any version)"
	}
	_, err := rds.GetOrderableDbInstance(f.ctx, args, pulumi.Provider(f.provider))
	if err == nil {
		return
	}
	value := class
	fix := "set a class Aurora PostgreSQL offers, such as db.r7g.large (or db.t4g.medium outside prod), or dbServerless: true" + f.override(key)
	if d.Serverless {
		value = "true"
		fix = "set dbServerless: false with a dbInstanceClass, or a dbEngineVersion that offers Serverless v2"
	}
	f.problems.add(f.key(key), value, fix, "Aurora PostgreSQL %s in %s cannot be ordered as %s (lookup: %s)", shown, f.cfg.Region, class, oneLine(err))
}

// oneLine keeps a provider's error on the problem's line.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// firstPerValue keeps one problem per key and value: a top-level value that
// no region offers is one mistake, reported for the first region only.
func (ps problems) firstPerValue() problems {
	seen := map[[2]string]bool{}
	var out problems
	for _, p := range ps {
		k := [2]string{p.Key, p.Value}
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}
