package tests

// Values that exist (issue 12 item 5, issue 11 item 6): version defaults
// chosen from sourced calendars, and the preflight that looks up in AWS,
// before any resource but the providers registers, what the shape checks
// cannot know.

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/stacks"
)

// day parses a calendar day.
func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return d
}

// atDay runs f with the preflight's clock on a fixed day.
func atDay(t *testing.T, s string, f func()) {
	t.Helper()
	saved := stacks.Now
	stacks.Now = func() time.Time { return day(t, s) }
	defer func() { stacks.Now = saved }()
	f()
}

// Dates from the EKS user guide's release calendar
// (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html),
// endoflife.date/amazon-eks for 1.35 and cluster.CalendarSources for 1.36.
func TestKubernetesDefaultIsTheNewestVersionInEKSStandardSupport(t *testing.T) {
	// The rule, on the day the tests run: this fails when a newer minor's
	// row is added (move the default) or when the default leaves standard
	// support with no newer row (the calendar went stale: add the row).
	today, err := cluster.NewestInStandardSupport(time.Now())
	require.NoError(t, err, "the calendar has no minor in standard support today: add EKS's newest row")
	assert.Equal(t, today, cluster.DefaultVersion, "the default is the newest minor in EKS standard support today")
	assert.Equal(t, cluster.DefaultVersion, keyDefault(t, "kubernetesVersion"))

	newest, err := cluster.NewestInStandardSupport(day(t, cluster.CalendarAsOf))
	require.NoError(t, err)
	assert.Equal(t, "1.36", newest, "on 2026-12-07: 1.36 and 1.35 in standard support; 1.34's ended 2026-12-02")
	assert.Equal(t, "1.36, 1.35", cluster.StandardSupportMinors(day(t, cluster.CalendarAsOf)))

	for _, tc := range []struct {
		minor, day string
		want       cluster.Support
	}{
		{"1.33", "2026-07-29", cluster.StandardSupport}, // last day of standard support
		{"1.33", "2026-07-30", cluster.ExtendedSupport}, // billed as extended from here
		{"1.33", "2026-12-01", cluster.ExtendedSupport},
		{"1.34", "2026-12-02", cluster.StandardSupport},
		{"1.34", "2026-12-03", cluster.ExtendedSupport},
		{"1.31", "2026-12-01", cluster.Unsupported}, // extended support ended 2026-11-26
		{"1.35", "2026-12-01", cluster.StandardSupport},
		{"1.36", "2027-08-02", cluster.StandardSupport}, // 14 months after 2026-06-02
		{"1.36", "2027-08-03", cluster.ExtendedSupport},
	} {
		rel, ok := cluster.Release(tc.minor)
		require.True(t, ok, tc.minor)
		assert.Equal(t, tc.want, rel.SupportOn(day(t, tc.day)), "%s on %s", tc.minor, tc.day)
	}

	// A minor counts from its EKS release day, not before.
	for _, tc := range []struct {
		day, newest, minors string
	}{
		{"2026-01-27", "1.34", "1.34, 1.33, 1.32"},
		{"2026-01-28", "1.35", "1.35, 1.34, 1.33, 1.32"}, // 1.35's EKS release day
		{"2026-03-23", "1.35", "1.35, 1.34, 1.33, 1.32"},
		{"2026-03-24", "1.35", "1.35, 1.34, 1.33"},
		{"2026-06-01", "1.35", "1.35, 1.34, 1.33"},
		{"2026-06-02", "1.36", "1.36, 1.35, 1.34, 1.33"}, // 1.36's EKS release day
		{"2026-12-02", "1.36", "1.36, 1.35, 1.34"},
		{"2026-12-03", "1.36", "1.36, 1.35"},
	} {
		got, err := cluster.NewestInStandardSupport(day(t, tc.day))
		require.NoError(t, err)
		assert.Equal(t, tc.newest, got, tc.day)
		assert.Equal(t, tc.minors, cluster.StandardSupportMinors(day(t, tc.day)), tc.day)
	}
	_, err = cluster.NewestInStandardSupport(day(t, "2029-01-01"))
	assert.ErrorContains(t, err, "no calendar version is in standard support on 2029-01-01")

	// The calendar is newest first, each row in date order, extended
	// support 12 months past standard (the EKS lifecycle).
	for i, r := range cluster.Calendar {
		if i > 0 {
			assert.Less(t, r.EKSRelease, cluster.Calendar[i-1].EKSRelease, "newest first")
		}
		assert.Less(t, r.EKSRelease, r.EndOfStandardSupport, r.Minor)
		assert.Equal(t, day(t, r.EndOfStandardSupport).AddDate(1, 0, 0).Format(time.DateOnly), r.EndOfExtendedSupport, r.Minor)
	}
	assert.Equal(t, "2026-12-07", cluster.CalendarAsOf)
	assert.NotEmpty(t, cluster.CalendarSources)
}

func keyDefault(t *testing.T, name string) interface{} {
	t.Helper()
	for _, k := range stacks.Keys {
		if k.Name == name {
			return k.Default
		}
	}
	t.Fatalf("no key %s", name)
	return nil
}

// The Kubernetes API check (tests/kubeapi) runs a minor EKS supports in
// standard support today, the default or the one before it, so that a
// field it accepts is one EKS accepts. It stays on 1.35 while the default
// is 1.36 (issue 28): the objects it checks use no field 1.36 added, and
// moving it is a cold build of k8s.io/kubernetes inside CI's 60 minutes.
func TestKubeAPICheckRunsAKubernetesMinorInStandardSupport(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "tests", "kubeapi", "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/kubernetes v1\.(\d+)\.\d+`).FindSubmatch(b)
	require.NotNil(t, m, "tests/kubeapi/go.mod requires k8s.io/kubernetes")
	minor := "1." + string(m[1])
	rel, ok := cluster.Release(minor)
	require.True(t, ok, "kube-apiserver %s is in the EKS calendar", minor)
	assert.Equal(t, cluster.StandardSupport, rel.SupportOn(time.Now()), "kube-apiserver %s is in EKS standard support today", minor)
	standard := strings.Split(cluster.StandardSupportMinors(time.Now()), ", ")
	require.NotEmpty(t, standard)
	assert.Contains(t, standard[:min(2, len(standard))], minor, "the default minor or the one before it")
	staging := regexp.MustCompile(`(?m)^\s*k8s\.io/[a-z-]+ => k8s\.io/[a-z-]+ v0\.(\d+)\.\d+$`).FindAllSubmatch(b, -1)
	require.NotEmpty(t, staging)
	for _, s := range staging {
		assert.Equal(t, string(m[1]), string(s[1]), "staging replace %s", s[0])
	}
}

func TestCatalogueStatesItsDateAndSources(t *testing.T) {
	c, err := mocks.LoadCatalogue()
	require.NoError(t, err)
	_, err = time.Parse(time.DateOnly, c.AsOf)
	require.NoError(t, err, "asOf is a date")
	assert.Equal(t, cluster.CalendarAsOf, c.AsOf, "the catalogue and the calendar are one snapshot")
	assert.NotEmpty(t, c.Note)
	for name, s := range map[string]mocks.Section{
		"eksClusterVersions":              c.EKSClusterVersions.Section,
		"auroraPostgresqlVersions":        c.AuroraVersions.Section,
		"auroraPostgresqlInstanceClasses": c.AuroraClasses.Section,
		"auroraPostgresqlStorageTypes":    c.AuroraStorage.Section,
		"elasticacheNodeTypes":            c.CacheNodeTypes.Section,
	} {
		require.NotEmpty(t, s.Sources, "%s has sources", name)
		for _, src := range s.Sources {
			assert.Regexp(t, `^(https://|shared/notes/)`, src, name)
		}
		assert.True(t, strings.HasPrefix(s.CLI, "aws "), "%s says how to refresh it: %q", name, s.CLI)
	}
	assert.NotEmpty(t, c.EKSClusterVersions.Versions)
	assert.NotEmpty(t, c.AuroraVersions.Versions)
	assert.Contains(t, c.AuroraClasses.Types("db."), "db.serverless")
	assert.Contains(t, c.CacheNodeTypes.Types("cache."), "cache.r7g.large")
}

// What the mocks answer for EKS is what the calendar says on the
// catalogue's day: a version past extended support is not offered.
func TestCatalogueAgreesWithTheCalendar(t *testing.T) {
	c, err := mocks.LoadCatalogue()
	require.NoError(t, err)
	asOf := day(t, c.AsOf)
	offered := map[string]bool{}
	for _, v := range c.EKSClusterVersions.Versions {
		minor := v["clusterVersion"].(string)
		offered[minor] = true
		rel, ok := cluster.Release(minor)
		require.True(t, ok, "calendar row for %s", minor)
		assert.Equal(t, string(rel.SupportOn(asOf)), v["status"], minor)
		assert.Equal(t, rel.EndOfStandardSupport, v["endOfStandardSupportDate"], minor)
		assert.Equal(t, rel.EndOfExtendedSupport, v["endOfExtendedSupportDate"], minor)
	}
	for _, rel := range cluster.Calendar {
		assert.True(t, offered[rel.Minor], "the catalogue answers for %s", rel.Minor)
	}
}

// runUntilError runs the program and keeps what it registered even when
// it fails.
func runUntilError(t *testing.T, stack string, cfg map[string]string) (*mocks.Result, error) {
	t.Helper()
	var runErr error
	res, err := mocks.Run(project, stack, cfg, nil, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		_, runErr = stacks.Run(ctx)
		return nil, nil
	})
	require.NoError(t, err)
	return res, runErr
}

func TestPreflightRefusesWhatAWSDoesNotOfferBeforeAnyResource(t *testing.T) {
	for _, tc := range []struct {
		name      string
		base      map[string]string
		overrides map[string]string
		key       string
		message   string
		fix       string
	}{
		{"no such Aurora minor", validBase, map[string]string{"auth-platform:dbEngineVersion": "16.99"},
			"auth-platform:dbEngineVersion", "RDS in us-east-1 offers no Aurora PostgreSQL 16.99", "aws rds describe-db-engine-versions"},
		{"retired Aurora minor", validBase, map[string]string{"auth-platform:dbEngineVersion": "16.6"},
			"auth-platform:dbEngineVersion", "offers no Aurora PostgreSQL 16.6", "major alone"},
		{"Aurora major without minors", validBase, map[string]string{"auth-platform:dbEngineVersion": "13"},
			"auth-platform:dbEngineVersion", "offers no Aurora PostgreSQL 13", "major alone"},
		{"class Aurora cannot order", validBase, map[string]string{"auth-platform:dbInstanceClass": "db.t3.micro"},
			"auth-platform:dbInstanceClass", "Aurora PostgreSQL 16.11 in us-east-1 cannot be ordered as db.t3.micro", "db.r7g.large"},
		{"no such Kubernetes", validBase, map[string]string{"auth-platform:kubernetesVersion": "1.99"},
			"auth-platform:kubernetesVersion", "EKS does not offer Kubernetes 1.99", "default 1.36"},
		{"Kubernetes past extended support", validBase, map[string]string{"auth-platform:kubernetesVersion": "1.30"},
			"auth-platform:kubernetesVersion", "EKS does not offer Kubernetes 1.30 (it offers 1.36, 1.35, 1.34, 1.33, 1.32; its extended support ended 2026-07-23)", "1.36"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := runUntilError(t, "test", withConfig(tc.base, tc.overrides))
			var cerr *stacks.ConfigError
			require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
			require.Len(t, cerr.Problems, 1, cerr.Error())
			p := cerr.Problems[0]
			assert.Equal(t, tc.key, p.Key)
			assert.Equal(t, tc.overrides[tc.key], p.Value, "the value the user wrote")
			assert.Contains(t, p.Message, tc.message)
			assert.Contains(t, p.Fix, tc.fix)
			assert.NotContains(t, p.Fix, "regions[", "a single-region stack has no regions to override in")
			for _, r := range res.Resources {
				assert.Equal(t, "pulumi:providers:aws", r.Type, "nothing but the provider registers before the preflight passes: %s", r.URN)
			}
		})
	}
}

func TestPreflightMissesExitTwoWithTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Pulumi.test.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`config:
  aws:region: eu-west-1
  auth-platform:authImage: ghcr.io/authplatform/auth-service:1.0.0
  auth-platform:cacheEngine: redis
  auth-platform:cacheEngineVersion: "7.1"
  auth-platform:cacheNodeType: cache.m7g.medium
  auth-platform:dbServerless: true
  auth-platform:dbEngineVersion: "17.1"
`), 0o600))
	code, out, stderr := runPlan("--config-file", path)
	require.Equal(t, plan.ExitConfigError, code, stderr)
	assert.Empty(t, out)
	assert.Contains(t, stderr, `auth-platform:dbEngineVersion = "17.1": RDS in eu-west-1 offers no Aurora PostgreSQL 17.1`)
	// Without a version, the class (here db.serverless) is still checked
	// against every version: it exists, so no second problem. A node type
	// without a reserved offering is not refused (C-3; see
	// TestCacheNodeTypeWithoutReservedOfferingIsAWarning).
	assert.Contains(t, stderr, "(1 problem)")
	assert.NotContains(t, stderr, "auth-platform:cacheNodeType")
}

// C-3: ElastiCache has no API that lists the node types it sells on demand,
// and a reserved offering is only evidence that it does. A type with a
// reserved offering of any type and term plans in silence; a type with
// none plans with a warning naming the key, since some types are sold on
// demand only.
func TestCacheNodeTypeWithoutReservedOfferingIsAWarning(t *testing.T) {
	for _, tc := range []struct {
		name, engine, nodeType string
		warned                 bool
	}{
		{"Heavy Utilization only (R4)", "redis", "cache.r4.large", false},
		{"No Upfront for one year", "valkey", "cache.r7g.large", false},
		{"no reserved offering at all", "valkey", "cache.r7g.medium", true},
		{"none for the engine", "valkey", "cache.r4.large", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			overrides := map[string]string{"auth-platform:cacheNodeType": tc.nodeType, "auth-platform:cacheEngine": tc.engine}
			if tc.engine == "redis" {
				overrides["auth-platform:cacheEngineVersion"] = "7.1"
			}
			var warnings []string
			res, err := mocks.Run(project, "test", withConfig(validBase, overrides), nil, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
				exports, w, err := stacks.RunReport(ctx)
				warnings = w
				return exports, err
			})
			require.NoError(t, err, "a node type is never refused for want of a reserved offering")
			assert.Len(t, ofType(res, "aws:elasticache/replicationGroup:ReplicationGroup"), 1)
			if !tc.warned {
				assert.Empty(t, warnings)
				return
			}
			require.Len(t, warnings, 1)
			assert.Contains(t, warnings[0], "cacheNodeType "+tc.nodeType+": ElastiCache in us-east-1 sells no reserved "+tc.engine+" node of this type")
			assert.Contains(t, warnings[0], "No Upfront/P1Y, Partial Upfront/P1Y, All Upfront/P1Y, Heavy Utilization/P1Y, No Upfront/P3Y")
			assert.Contains(t, warnings[0], "fails when the replication group is created")
		})
	}
}

func TestPreflightResolvesTheAuroraVersion(t *testing.T) {
	for _, tc := range []struct {
		configured, want, family string
	}{
		{"", "16.11", "aurora-postgresql16"}, // the default major: newest 16.x of the catalogue
		{"17", "17.7", "aurora-postgresql17"},
		{"16.9", "16.9", "aurora-postgresql16"}, // a pinned minor is kept
	} {
		t.Run("dbEngineVersion="+tc.configured, func(t *testing.T) {
			res, err := runProgram(t, "test", withConfig(validBase, map[string]string{"auth-platform:dbEngineVersion": tc.configured}), nil)
			require.NoError(t, err)
			cl := one(t, res, dbClusterType, "-aurora")
			assert.Equal(t, tc.want, mocks.PlainMap(cl.Inputs)["engineVersion"])
			params := one(t, res, dbParamsType, "")
			assert.Equal(t, tc.family, mocks.PlainMap(params.Inputs)["family"])
		})
	}
	// The global cluster and both members of prod-global get the one
	// resolved version.
	res := planStack(t, "prod-global")
	versions := map[string]bool{}
	for _, r := range res.Resources {
		if r.Type == dbClusterType || r.Type == "aws:rds/globalCluster:GlobalCluster" {
			versions[mocks.PlainMap(r.Inputs)["engineVersion"].(string)] = true
		}
	}
	assert.Equal(t, map[string]bool{"16.11": true}, versions)
}

// RDS upgrades minors itself and a major resolves to newer minors over
// time: the cluster's engineVersion must never become a diff.
func TestAuroraClustersIgnoreEngineVersionChanges(t *testing.T) {
	for _, stack := range stackFiles(t) {
		res := planStack(t, stack)
		clusters := ofType(res, dbClusterType)
		require.NotEmpty(t, clusters, stack)
		for _, cl := range clusters {
			assert.Contains(t, cl.Options.IgnoreChanges, "engineVersion", "%s %s", stack, cl.Name)
		}
	}
}

func TestPreflightNamesTheRegionOfAMultiRegionMiss(t *testing.T) {
	cfg, _ := stackConfig(t, "prod-global")
	regions := strings.Replace(cfg["auth-platform:regions"], `"dbReaders":1`, `"dbReaders":1,"dbInstanceClass":"db.r7g.medium"`, 1)
	require.NotEqual(t, cfg["auth-platform:regions"], regions, "the override went into regions[1]")
	_, err := runUntilError(t, "prod-global", withConfig(cfg, map[string]string{"auth-platform:regions": regions}))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "%v", err)
	require.Len(t, cerr.Problems, 1, cerr.Error())
	p := cerr.Problems[0]
	assert.Equal(t, "auth-platform:regions[1].dbInstanceClass", p.Key, "the key the user wrote")
	assert.Equal(t, "db.r7g.medium", p.Value)
	assert.Contains(t, p.Message, "Aurora PostgreSQL 16.11 in us-west-2 cannot be ordered as db.r7g.medium")
	assert.NotContains(t, p.Fix, "override dbInstanceClass in regions[1]", "it is already overridden there")
}

// A top-level value no region offers is one mistake, said once.
func TestPreflightReportsATopLevelMissOnceInAMultiRegionStack(t *testing.T) {
	cfg, _ := stackConfig(t, "prod-global")
	_, err := runUntilError(t, "prod-global", withConfig(cfg, map[string]string{"auth-platform:kubernetesVersion": "1.99"}))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "%v", err)
	require.Len(t, cerr.Problems, 1, cerr.Error())
	assert.Equal(t, "auth-platform:kubernetesVersion", cerr.Problems[0].Key)
	assert.Contains(t, cerr.Problems[0].Message, "in us-east-1: EKS does not offer Kubernetes 1.99")
}

// A regional key set at the top level can be fixed for one region alone.
func TestPreflightOffersARegionalOverrideForARegionalKey(t *testing.T) {
	cfg, _ := stackConfig(t, "prod-global")
	_, err := runUntilError(t, "prod-global", withConfig(cfg, map[string]string{"auth-platform:dbInstanceClass": "db.r7g.medium"}))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "%v", err)
	require.NotEmpty(t, cerr.Problems)
	p := cerr.Problems[0]
	assert.Equal(t, "auth-platform:dbInstanceClass", p.Key)
	assert.Regexp(t, `or override dbInstanceClass in regions\[[01]\]`, p.Fix)
}

func TestKubernetesInExtendedSupportPlansWithAWarning(t *testing.T) {
	atDay(t, "2026-12-01", func() {
		var warnings []string
		_, err := mocks.Run(project, "test", withConfig(validBase, map[string]string{"auth-platform:kubernetesVersion": "1.33"}), nil,
			func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
				exports, w, err := stacks.RunReport(ctx)
				warnings = w
				return exports, err
			})
		require.NoError(t, err, "EKS still creates 1.33: not an error")
		require.Len(t, warnings, 1)
		assert.Contains(t, warnings[0], "kubernetesVersion 1.33 left EKS standard support on 2026-07-29")
		assert.Contains(t, warnings[0], "until 2027-07-29. Fix: set 1.36")
	})
	atDay(t, "2026-12-01", func() {
		for _, stack := range stackFiles(t) {
			cfg, secrets := stackConfig(t, stack)
			var warnings []string
			_, err := mocks.Run(project, stack, cfg, secrets, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
				exports, w, err := stacks.RunReport(ctx)
				warnings = w
				return exports, err
			})
			require.NoError(t, err, stack)
			assert.Empty(t, warnings, "shipped stack %s runs versions in standard support", stack)
		}
	})
}

func TestREADMESaysWhichLookupsThePreflightUses(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	readme := string(b)
	for _, fn := range []string{"eks.GetClusterVersions", "rds.GetEngineVersion", "rds.GetOrderableDbInstance",
		"elasticache.GetReservedCacheNodeOffering", "guardduty.LookupDetector", "cmd/plan/mocks/catalogue.json", "components/cluster/versions.go"} {
		assert.Contains(t, readme, fn)
	}
}
