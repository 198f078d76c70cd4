package stacks

// Preflight (issue 12 item 5, issue 11 item 6): values the shape checks pass
// but AWS may not offer are looked up in AWS before the first resource other
// than the regions' providers registers, so that `pulumi preview`/`up` (and
// the offline plan, answered by cmd/plan/mocks/catalogue.json) refuses them
// as configuration errors instead of failing 15 minutes into an update.
//
// Looked up, per region, through the region's provider (plain-value invokes,
// which return before the program goes on):
//   - kubernetesVersion: eks.GetClusterVersions (DescribeClusterVersions);
//   - dbEngineVersion: rds.GetEngineVersion, which also resolves a major to
//     its newest minor;
//   - dbInstanceClass (or db.serverless): rds.GetOrderableDbInstance for the
//     resolved version;
//   - cacheNodeType for cacheEngine: elasticache.GetReservedCacheNodeOffering
//     (pulumi-aws v6 has no other ElastiCache lookup that knows node types).
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
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/database"
)

// Now is the clock the preflight judges support dates by.
var Now = func() time.Time { return time.Now().UTC() }

// Reserved-node offering every current-generation node type has; the
// lookup only asks whether the node type exists for the engine.
const (
	probeOfferingType = "No Upfront"
	probeDuration     = "P1Y"
)

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
		f.cacheNodeType()
	}

	// Aurora: the primary resolves the version; every region (a global
	// database's members share it) must offer it and its instance class.
	// Without a version the class is checked against RDS' default one, so
	// that a bad class is reported in the same round.
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

func (f finder) cacheNodeType() {
	c := f.cfg.Cache
	_, err := elasticache.GetReservedCacheNodeOffering(f.ctx, &elasticache.GetReservedCacheNodeOfferingArgs{
		CacheNodeType:      c.NodeType,
		ProductDescription: c.Engine,
		OfferingType:       probeOfferingType,
		Duration:           probeDuration,
	}, pulumi.Provider(f.provider))
	if err != nil {
		f.problems.add(f.key("cacheNodeType"), c.NodeType, "set a node type ElastiCache offers there, e.g. cache.r7g.large or cache.t4g.small",
			"ElastiCache in %s offers no %s node of this type (lookup: %s)", f.cfg.Region, c.Engine, oneLine(err))
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
	args := &rds.GetOrderableDbInstanceArgs{Engine: database.Engine, InstanceClass: pulumi.StringRef(class)}
	shown := version
	if version != "" {
		args.EngineVersion = pulumi.StringRef(version)
	} else {
		shown = "(RDS' default version)"
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
