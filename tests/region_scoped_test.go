package tests

// Issue 28 item 4: every configuration key has a class for a multi-region
// stack (global, per-region with a top-level default, region-only), and a
// region-only value at the top level, where it would apply to every
// region, is refused with the key, its value and where to move it.

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/stacks"
)

func TestEveryKeyHasARegionClass(t *testing.T) {
	classes := stacks.KeyClasses()
	keys := map[string]bool{}
	for _, k := range stacks.Keys {
		keys[k.Name] = true
		c := stacks.ClassOf(k.Name)
		assert.Contains(t, []stacks.KeyClass{stacks.Global, stacks.PerRegion, stacks.RegionOnly}, c,
			"%s has no class: add it to global, perRegion or regionOnly in stacks/multiregion.go", k.Name)
		assert.Equal(t, c != stacks.Global, stacks.RegionalKeys[k.Name], "%s: a region may set it exactly when it is not global", k.Name)
	}
	var stray []string
	for name := range classes {
		if !keys[name] {
			stray = append(stray, name)
		}
	}
	sort.Strings(stray)
	assert.Empty(t, stray, "classified names that are no key")
	assert.Len(t, classes, len(stacks.Keys))
}

// regionOnlyAtTop is a value of each region-only key, of us-east-1 where
// the value names a region.
var regionOnlyAtTop = map[string]string{
	"availabilityZones":   jsonList("us-east-1a", "us-east-1b", "us-east-1d"),
	"availabilityZoneIds": jsonList("use1-az1", "use1-az2", "use1-az4"),
	"cacheKmsKeyArn":      kmsKeyEast,
	"certificateArn":      testCertificateArn,
	"albAccessLogsBucket": "auth-access-logs-east",
	"guardDutyDetectorId": detector,
}

func TestARegionOnlyKeyAtTheTopOfAMultiRegionStackIsRefused(t *testing.T) {
	var cases []checkCase
	for _, k := range stacks.Keys {
		if stacks.ClassOf(k.Name) != stacks.RegionOnly {
			continue
		}
		v, ok := regionOnlyAtTop[k.Name]
		require.True(t, ok, "give the region-only key %s a value in regionOnlyAtTop", k.Name)
		cases = append(cases, checkCase{name: k.Name, base: twoRegions, set: set(k.Name, v), key: k.Name,
			message: k.Name + " belongs to one region"})
	}
	require.Len(t, cases, len(regionOnlyAtTop))
	runChecks(t, cases)

	for name, v := range regionOnlyAtTop {
		t.Run(name+" says where it goes", func(t *testing.T) {
			p := onlyProblem(t, withConfig(twoRegions, set(name, v)))
			assert.Equal(t, v, p.Value, "the value as written")
			assert.Contains(t, p.Message, "it would apply to every region")
			if strings.HasPrefix(v, "arn:") {
				assert.Contains(t, p.Fix, "write "+name+" inside regions[0] (us-east-1)", "an ARN names its region's entry")
			} else {
				assert.Contains(t, p.Fix, "write "+name+" inside that region's entry of regions[0] (us-east-1), regions[1] (us-west-2)")
			}
		})
	}
}

func onlyProblem(t *testing.T, cfg map[string]string) stacks.Problem {
	t.Helper()
	_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
	var cerr *stacks.ConfigError
	require.ErrorAs(t, err, &cerr)
	require.Len(t, cerr.Problems, 1, "%v", err)
	return cerr.Problems[0]
}

func TestARegionOnlyKeyAtTheTopIsReportedWithEveryOtherMistake(t *testing.T) {
	cfg := withConfig(twoRegions, set("certificateArn", testCertificateArn, "cacheShards", "0",
		"regions", regionList(eastEntry(), westEntry("dbReaders", "0"))))
	_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
	var cerr *stacks.ConfigError
	require.ErrorAs(t, err, &cerr)
	assert.ElementsMatch(t, []string{q("certificateArn"), q("cacheShards"), q("regions") + "[1].dbReaders"}, problemKeys(cerr.Problems), err.Error())
}

func TestARegionOnlyKeyStandsWhereItBelongs(t *testing.T) {
	kmsKeyWest := strings.Replace(kmsKeyEast, "us-east-1", "us-west-2", 1)
	certWest := strings.Replace(testCertificateArn, "us-east-1", "us-west-2", 1)
	quoted := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	runAccepted(t, []acceptCase{
		{name: "each region's own values in its entry", base: twoRegions, set: set("regions", regionList(
			eastEntry("availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az4"), "cacheKmsKeyArn", quoted(kmsKeyEast),
				"certificateArn", quoted(testCertificateArn), "albAccessLogsBucket", `"auth-access-logs-east"`,
				"guardDutyEnabled", "true", "guardDutyDetectorId", quoted(detector)),
			westEntry("availabilityZones", jsonList("us-west-2a", "us-west-2b", "us-west-2c"), "cacheKmsKeyArn", quoted(kmsKeyWest),
				"certificateArn", quoted(certWest), "albAccessLogsBucket", `"auth-access-logs-west"`)))},
		{name: "empty at the top: none, in every region", base: twoRegions, set: set("certificateArn", "", "availabilityZones", "[]", "guardDutyDetectorId", "")},
		{name: "a single-region stack writes them at the top", set: set("cacheKmsKeyArn", kmsKeyEast, "certificateArn", testCertificateArn,
			"availabilityZoneIds", jsonList("use1-az1", "use1-az2", "use1-az4"), "guardDutyEnabled", "true", "guardDutyDetectorId", detector)},
		{name: "a per-region key at the top is every region's default", base: twoRegions, set: set("alarmEmail", "oncall@example.com", "guardDutyEnabled", "true", "dbReaders", "2")},
	})
}

// TestAGlobalKeyInsideARegionIsRefused: each global key, written inside an
// entry of regions with its default, is refused there.
func TestAGlobalKeyInsideARegionIsRefused(t *testing.T) {
	var cases []checkCase
	for _, k := range stacks.Keys {
		if stacks.ClassOf(k.Name) != stacks.Global {
			continue
		}
		v, err := json.Marshal(k.Default)
		require.NoError(t, err)
		cases = append(cases, checkCase{name: k.Name, base: twoRegions, set: set("regions", regionList(eastEntry(), westEntry(k.Name, string(v)))),
			key: q("regions") + "[1]." + k.Name, message: k.Name + " is the same in every region"})
	}
	runChecks(t, cases)
}
