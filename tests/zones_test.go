package tests

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/zones"
	"github.com/authplatform/auth-platform/stacks"
)

// Issue 11 item 1: zones by ID, never one EKS refuses.

// The EKS user guide (networking requirements) names these; restated here
// so that the package's list cannot drift from the source unnoticed.
var eksRefused = []string{"cac1-az3", "use1-az3", "usw1-az2"}

func TestEKSRefusedZonesAreTheUserGuidesThree(t *testing.T) {
	assert.Equal(t, eksRefused, zones.UnsupportedIDs())
	for _, id := range eksRefused {
		assert.False(t, zones.Supported(id), id)
	}
	assert.True(t, zones.Supported("use1-az1"))
	assert.True(t, zones.OfRegion("use1-az4", "us-east-1"))
	assert.True(t, zones.OfRegion("apse2-az1", "ap-southeast-2"))
	assert.True(t, zones.OfRegion("usgw1-az1", "us-gov-west-1"))
	assert.False(t, zones.OfRegion("usw2-az1", "us-east-1"))
	assert.False(t, zones.OfRegion("us-east-1a", "us-east-1"))
}

// zonesIn plans dev moved to region (one NAT, no certificate) and returns
// the zone names and IDs its subnets are in, in plan order, or the error.
func zonesIn(t *testing.T, region string, overrides map[string]string) ([]string, []string, error) {
	t.Helper()
	base, _ := stackConfig(t, "dev")
	cfg := withConfig(base, map[string]string{"aws:region": region})
	res, err := runProgram(t, "test", withConfig(cfg, overrides), nil)
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	require.NoError(t, json.Unmarshal(mustJSON(t, res.Outputs["availabilityZoneIds"]), &ids))
	var names []string
	for _, s := range ofType(res, "aws:ec2/subnet:Subnet") {
		if tags := s.Inputs["tags"]; tags.IsObject() && tags.ObjectValue().HasValue("kubernetes.io/role/internal-elb") {
			names = append(names, str(t, s, "availabilityZone"))
			assert.Contains(t, ids, s.Outputs["availabilityZoneId"].StringValue(), "subnet %s", s.Name)
		}
	}
	return names, ids, nil
}

func mustJSON(t *testing.T, v interface{}) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestUnpinnedStacksTakeTheFirstEKSCapableZonesByID(t *testing.T) {
	for _, tc := range []struct {
		region string
		want   []string
	}{
		// Six zones; use1-az3 is refused (in the mocked account it is us-east-1c).
		{"us-east-1", []string{"use1-az1", "use1-az2", "use1-az4"}},
		{"us-west-2", []string{"usw2-az1", "usw2-az2", "usw2-az3"}},
		{"eu-west-1", []string{"euw1-az1", "euw1-az2", "euw1-az3"}},
		// cac1-az3 is refused; the account still sees it.
		{"ca-central-1", []string{"cac1-az1", "cac1-az2", "cac1-az4"}},
	} {
		t.Run(tc.region, func(t *testing.T) {
			names, ids, err := zonesIn(t, tc.region, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids)
			require.Len(t, names, 3)
			for _, id := range ids {
				assert.NotContains(t, eksRefused, id)
			}
		})
	}
}

func TestARegionWithTwoEKSCapableZonesIsRefused(t *testing.T) {
	// us-west-1 offers an account two zones: Aurora is given three.
	_, _, err := zonesIn(t, "us-west-1", nil)
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
	require.Len(t, cerr.Problems, 1)
	p := cerr.Problems[0]
	assert.Equal(t, "auth-platform:azCount", p.Key)
	assert.Equal(t, "3", p.Value)
	assert.Contains(t, p.Message, "only 2 zones that EKS supports")
	assert.Contains(t, p.Message, "us-west-1c (usw1-az1), us-west-1b (usw1-az3)")
	assert.Contains(t, p.Fix, "at least 3 zones")
}

func TestPinnedZoneIDsAreUsedInOrder(t *testing.T) {
	names, ids, err := zonesIn(t, "us-east-1", map[string]string{"auth-platform:availabilityZoneIds": `["use1-az6","use1-az2","use1-az5"]`})
	require.NoError(t, err)
	assert.Equal(t, []string{"use1-az6", "use1-az2", "use1-az5"}, ids)
	// The mocked account's names of those IDs.
	assert.ElementsMatch(t, []string{"us-east-1b", "us-east-1e", "us-east-1f"}, names)
}

func TestAPinnedNameThatIsARefusedZoneInTheAccountIsRefused(t *testing.T) {
	// The old prod stacks' [a, b, c]: us-east-1c is use1-az3 in this account.
	_, _, err := zonesIn(t, "us-east-1", map[string]string{"auth-platform:availabilityZones": `["us-east-1a","us-east-1b","us-east-1c"]`})
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
	require.Len(t, cerr.Problems, 1)
	p := cerr.Problems[0]
	assert.Equal(t, "auth-platform:availabilityZones", p.Key)
	assert.Equal(t, "us-east-1a,us-east-1b,us-east-1c", p.Value)
	assert.Contains(t, p.Message, "zone us-east-1c is use1-az3 in this account, and EKS does not support use1-az3")
	assert.Contains(t, p.Fix, "availabilityZoneIds: [use1-az1, use1-az2, use1-az4]")

	// Names the account maps to capable zones are fine.
	names, ids, err := zonesIn(t, "us-east-1", map[string]string{"auth-platform:availabilityZones": `["us-east-1a","us-east-1b","us-east-1d"]`})
	require.NoError(t, err)
	assert.Equal(t, []string{"use1-az4", "use1-az6", "use1-az1"}, ids)
	assert.ElementsMatch(t, []string{"us-east-1a", "us-east-1b", "us-east-1d"}, names)
}

func TestPinnedZoneIDsAreCheckedBeforeAnythingIsCreated(t *testing.T) {
	base, _ := stackConfig(t, "dev")
	const key = "auth-platform:availabilityZoneIds"
	for _, tc := range []struct {
		name, ids, message string
	}{
		{"refused by EKS", `["use1-az1","use1-az2","use1-az3"]`, "EKS does not support zone use1-az3"},
		{"another region", `["use1-az1","use1-az2","usw2-az1"]`, "usw2-az1 is not a zone ID of region us-east-1"},
		{"a name, not an ID", `["use1-az1","use1-az2","us-east-1d"]`, "us-east-1d is not a zone ID of region us-east-1"},
		{"twice", `["use1-az1","use1-az1","use1-az2"]`, "listed twice"},
		{"two, Aurora needs three", `["use1-az1","use1-az2"]`, "Aurora is given exactly 3 AZs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, withConfig(base, map[string]string{key: tc.ids}), key, tc.message)
		})
	}
	t.Run("with names too", func(t *testing.T) {
		assertRejected(t, withConfig(base, map[string]string{key: `["use1-az1","use1-az2","use1-az4"]`,
			"auth-platform:availabilityZones": `["us-east-1a","us-east-1b","us-east-1d"]`}), key, "availabilityZones is set too")
	})
}

func TestShippedStacksPinZoneIDsEKSSupports(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			if rp.cfg.Production() {
				assert.Empty(t, rp.cfg.AvailabilityZones, "prod pins zones by ID, not by name")
				assert.Len(t, rp.cfg.AvailabilityZoneIDs, 3)
			}
			var ids []string
			require.NoError(t, json.Unmarshal(mustJSON(t, rp.res.Outputs["availabilityZoneIds"]), &ids))
			require.Len(t, ids, 3)
			if len(rp.cfg.AvailabilityZoneIDs) > 0 {
				assert.Equal(t, rp.cfg.AvailabilityZoneIDs, ids)
			}
			for _, s := range nonEmpty(t, ofType(rp.res, "aws:ec2/subnet:Subnet"), "subnet") {
				id := s.Outputs["availabilityZoneId"].StringValue()
				assert.Contains(t, ids, id, s.Name)
				assert.NotContains(t, eksRefused, id, s.Name)
			}
		})
	}
}

func TestMultiRegionZonesAreResolvedForEveryRegionFirst(t *testing.T) {
	raw, _ := stackConfig(t, globalStack)
	var regions []map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(raw["auth-platform:regions"]), &regions))
	// The secondary pinned by name to a zone the account has not got.
	delete(regions[1], "availabilityZoneIds")
	regions[1]["availabilityZones"] = []string{"us-west-2a", "us-west-2b", "us-west-2e"}
	b, err := json.Marshal(regions)
	require.NoError(t, err)
	config := withConfig(raw, map[string]string{"auth-platform:regions": string(b)})
	encoded, err := json.Marshal(config)
	require.NoError(t, err)
	t.Setenv(pulumi.EnvConfig, string(encoded))
	m := mocks.New(project, globalStack, "us-east-1")
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := stacks.Run(ctx)
		return err
	}, pulumi.WithMocks(project, globalStack, m), func(info *pulumi.RunInfo) { info.Config = config })
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
	require.Len(t, cerr.Problems, 1)
	assert.Equal(t, "auth-platform:regions[1].availabilityZones", cerr.Problems[0].Key, "the key the stack file sets")
	assert.Contains(t, cerr.Error(), "in us-west-2: zone us-west-2e is not an available zone of this account in us-west-2")
	// Nothing of the primary region was registered: only the providers the
	// zone lookups need.
	for _, r := range m.Resources() {
		assert.Equal(t, "pulumi:providers:aws", r.Type, "%s %s registered before the zones were checked", r.Type, r.Name)
	}
}

func TestTheZoneMockAnswersAsTheProviderDoes(t *testing.T) {
	lookup := func(args *aws.GetAvailabilityZonesArgs) *aws.GetAvailabilityZonesResult {
		var out *aws.GetAvailabilityZonesResult
		_, err := mocks.Run(project, "unit", map[string]string{"aws:region": "us-east-1"}, nil,
			func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
				var err error
				out, err = aws.GetAvailabilityZones(ctx, args)
				return nil, err
			})
		require.NoError(t, err)
		return out
	}
	// Opted-in Local Zones are listed by default; not-opted-in ones only with
	// AllAvailabilityZones. Names are sorted and aligned with their IDs.
	all := lookup(&aws.GetAvailabilityZonesArgs{})
	assert.Equal(t, []string{"us-east-1-bos-1a", "us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}, all.Names)
	assert.Equal(t, []string{"use1-bos1-az1", "use1-az4", "use1-az6", "use1-az3", "use1-az1", "use1-az2", "use1-az5"}, all.ZoneIds)
	assert.Len(t, lookup(&aws.GetAvailabilityZonesArgs{AllAvailabilityZones: pulumi.BoolRef(true)}).Names, 8)

	regular := lookup(&aws.GetAvailabilityZonesArgs{
		State:          pulumi.StringRef("available"),
		Filters:        []aws.GetAvailabilityZonesFilter{{Name: "opt-in-status", Values: []string{"opt-in-not-required"}}},
		ExcludeZoneIds: eksRefused,
	})
	assert.Equal(t, []string{"us-east-1a", "us-east-1b", "us-east-1d", "us-east-1e", "us-east-1f"}, regular.Names)
	assert.Equal(t, []string{"use1-az4", "use1-az6", "use1-az1", "use1-az2", "use1-az5"}, regular.ZoneIds)
	assert.Equal(t, []string{"us-east-1"}, regular.GroupNames)

	byName := lookup(&aws.GetAvailabilityZonesArgs{ExcludeNames: []string{"us-east-1a", "us-east-1-bos-1a"}})
	assert.NotContains(t, byName.Names, "us-east-1a")
	assert.Empty(t, lookup(&aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("impaired")}).Names)
}
