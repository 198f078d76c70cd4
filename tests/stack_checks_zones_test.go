package tests

// Issue 18.3 (stacks part), continued: the checks made when the zones are
// resolved at deploy time, on both sides of the count the account offers
// and in the regions[i] form, and the YAML number check of the reader,
// which needs a source that knows how a value was written.

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/stacks"
)

func TestAzCountIsHeldToTheZonesTheAccountOffers(t *testing.T) {
	// The mocked account's us-east-1 has six regular zones; EKS refuses
	// use1-az3, so five remain.
	_, ids, err := zonesIn(t, "us-east-1", set("azCount", "5", "authReplicas", "5"))
	require.NoError(t, err, "as many zones as the account offers")
	assert.Equal(t, []string{"use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"}, ids)

	_, _, err = zonesIn(t, "us-east-1", set("azCount", "6", "authReplicas", "6"))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
	require.Len(t, cerr.Problems, 1, cerr.Error())
	p := cerr.Problems[0]
	assert.Equal(t, q("azCount"), p.Key)
	assert.Equal(t, "6", p.Value)
	assert.Contains(t, p.Message, "region us-east-1 offers this account only 5 zones that EKS supports")
	assert.Equal(t, "set azCount to at most 5", p.Fix)
}

func TestDeployTimeZoneProblemsNameTheRegionsEntry(t *testing.T) {
	west := func(kv ...string) map[string]string {
		return set("regions", regionList(eastEntry(), westEntry(kv...)))
	}
	for _, tc := range []struct {
		name    string
		set     map[string]string
		key     string
		message string
	}{
		// us-west-2 offers this account four zones, all EKS-capable.
		{"regions[1].azCount above what the account offers", west("azCount", "5", "authReplicas", "5"), "regions[1].azCount",
			"in us-west-2: region us-west-2 offers this account only 4 zones"},
		{"regions[1].availabilityZoneIds not in the account", west("availabilityZoneIds", `["usw2-az1","usw2-az2","usw2-az9"]`), "regions[1].availabilityZoneIds",
			"in us-west-2: zone usw2-az9 is not an available zone of this account in us-west-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withConfig(twoRegions, tc.set)
			_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
			require.NoError(t, err, "the shape checks pass: only the account can tell")
			_, err = runProgram(t, "test", cfg, nil)
			var cerr *stacks.ConfigError
			require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
			require.Len(t, cerr.Problems, 1, cerr.Error())
			assert.Equal(t, q(tc.key), cerr.Problems[0].Key)
			assert.Contains(t, cerr.Problems[0].Message, tc.message)
		})
	}
	t.Run("four zones of us-west-2 are fine", func(t *testing.T) {
		_, err := runProgram(t, "test", withConfig(twoRegions, west("azCount", "4", "authReplicas", "4")), nil)
		require.NoError(t, err)
	})
}

func TestAnUnquotedYAMLNumberInAStringKeyIsOneProblem(t *testing.T) {
	src := stacks.FileSource{
		Values:   withConfig(validBase, set("kubernetesVersion", "1.3")),
		Literals: map[string]stacks.Literal{q("kubernetesVersion"): {Tag: "!!float", Text: "1.30"}},
	}
	ps := loadProblems(t, src)
	require.Len(t, ps, 1, problemText(ps))
	assert.Equal(t, q("kubernetesVersion"), ps[0].Key)
	assert.Equal(t, "1.30", ps[0].Value, "the value as written")
	assert.Contains(t, ps[0].Message, "YAML reads the unquoted 1.30 as the number 1.3")
	assert.Equal(t, `quote it: kubernetesVersion: "1.30"`, ps[0].Fix)

	// Written as it reads, the number is the string: no problem.
	src.Values = withConfig(validBase, set("dbEngineVersion", "16"))
	src.Literals = map[string]stacks.Literal{q("dbEngineVersion"): {Tag: "!!int", Text: "16"}}
	assert.Empty(t, loadProblems(t, src))
}
