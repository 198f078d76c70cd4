package tests

// The session store's AUTH token rotates without downtime (issue 22 item
// 5): cacheAuthTokenGenerations walks [N] -> [N, N+1] (ROTATE) -> [N+1]
// (SET), the secret follows the group, and the pods are not touched.

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

// tokenOf is a generated token's plain value.
func tokenOf(r *mocks.Resource) string {
	return r.Outputs["result"].SecretValue().Element.StringValue()
}

// generationTokens are the plan's AUTH tokens by logical-name suffix.
func generationTokens(res *mocks.Result) map[string]*mocks.Resource {
	out := map[string]*mocks.Resource{}
	for _, r := range ofType(res, cachePasswdType) {
		if i := strings.Index(r.Name, "-cache-auth"); i >= 0 {
			out[r.Name[i:]] = r
		}
	}
	return out
}

func TestAuthTokenRotationStepsAsPlanned(t *testing.T) {
	base := planStack(t, "dev")
	baseCM := mocks.PlainMap(one(t, base, configMapType, "-auth-config").Inputs)
	for _, tc := range []struct {
		generations string
		tokens      []string // suffixes of the generated tokens
		newest      string
		strategy    interface{}
	}{
		{"[1]", []string{"-cache-auth"}, "-cache-auth", nil},
		{"[1,2]", []string{"-cache-auth", "-cache-auth-g2"}, "-cache-auth-g2", "ROTATE"},
		{"[2]", []string{"-cache-auth-g2"}, "-cache-auth-g2", "SET"},
		{"[2,3]", []string{"-cache-auth-g2", "-cache-auth-g3"}, "-cache-auth-g3", "ROTATE"},
		{"[3]", []string{"-cache-auth-g3"}, "-cache-auth-g3", "SET"},
	} {
		t.Run(tc.generations, func(t *testing.T) {
			res := base
			if tc.generations != "[1]" {
				res = planWith(t, "dev", "cacheAuthTokenGenerations", tc.generations, nil)
			}
			tokens := generationTokens(res)
			assert.ElementsMatch(t, tc.tokens, keysOfResources(tokens), "one token per accepted generation")
			newest := tokenOf(tokens[tc.newest])

			rg := one(t, res, cacheRGType, "-sessions")
			assert.Equal(t, newest, rg.Inputs["authToken"].SecretValue().Element.StringValue(), "the group's token is the newest generation's")
			assert.Equal(t, tc.strategy, value(rg.Inputs, "authTokenUpdateStrategy"))
			assert.Equal(t, true, value(rg.Inputs, "applyImmediately"))

			// The secret holds the newest token and changes only after the
			// group's modification.
			version := one(t, res, cacheVersionType, "-cache-auth")
			var stored map[string]interface{}
			require.NoError(t, json.Unmarshal([]byte(version.Inputs["secretString"].SecretValue().Element.StringValue()), &stored))
			assert.Equal(t, newest, stored["authToken"])
			assert.Contains(t, version.Dependencies, rg.URN)

			// The pods are not touched: same ConfigMap, same pod templates.
			assert.Equal(t, baseCM, mocks.PlainMap(one(t, res, configMapType, "-auth-config").Inputs))
			for _, d := range ofType(base, deploymentType) {
				after := one(t, res, deploymentType, d.Name)
				assert.True(t, reflect.DeepEqual(mocks.PlainMap(d.Inputs), mocks.PlainMap(after.Inputs)), "%s changes", d.Name)
			}
		})
	}
}

func TestAuthTokenGenerationOneKeepsItsToken(t *testing.T) {
	// Stacks created before rotation existed keep their token: generation 1
	// is the same resource, and a never-rotated group is sent no strategy.
	a := generationTokens(planStack(t, "dev"))["-cache-auth"]
	b := generationTokens(planWith(t, "dev", "cacheAuthTokenGenerations", "[1,2]", nil))["-cache-auth"]
	require.NotNil(t, a)
	require.NotNil(t, b)
	assert.Equal(t, a.URN, b.URN)
	assert.Equal(t, mocks.PlainMap(a.Inputs), mocks.PlainMap(b.Inputs))
	assert.Equal(t, tokenOf(a), tokenOf(b))
}

func TestOnlyTheNewestAuthTokenIsProtected(t *testing.T) {
	res := planWith(t, "prod-us-east-1", "cacheAuthTokenGenerations", "[1,2]", nil)
	tokens := generationTokens(res)
	assert.False(t, tokens["-cache-auth"].Protect, "the SET step retires generation 1: it must be deletable")
	assert.True(t, tokens["-cache-auth-g2"].Protect)
	assert.True(t, one(t, res, cacheRGType, "-sessions").Protect)
}

func TestGlobalSecondaryFollowsThePrimarysRotation(t *testing.T) {
	res := planWith(t, "prod-global", "cacheAuthTokenGenerations", "[1,2]", nil)
	var primary, secondary *mocks.Resource
	for _, rg := range ofType(res, cacheRGType) {
		if value(rg.Inputs, "globalReplicationGroupId") == nil {
			primary = rg
		} else {
			secondary = rg
		}
	}
	require.NotNil(t, primary)
	require.NotNil(t, secondary)
	for _, rg := range []*mocks.Resource{primary, secondary} {
		assert.Equal(t, "ROTATE", value(rg.Inputs, "authTokenUpdateStrategy"), rg.Name)
	}
	assert.Equal(t, primary.Inputs["authToken"].SecretValue().Element.StringValue(),
		secondary.Inputs["authToken"].SecretValue().Element.StringValue(), "members of one datastore share the token")
	assert.Contains(t, secondary.Dependencies, primary.URN, "the secondary takes the token after the primary's modification")
	assert.Len(t, generationTokens(res), 2, "tokens are generated once, in the primary's region")
}

func TestAuthTokenGenerationsInTheWrongOrderAreRefused(t *testing.T) {
	cfg, _ := stackConfig(t, "dev")
	for _, tc := range []struct{ value, message string }{
		{"[2,1]", "wrong order"},
		{"[1,3]", "skips one"},
		{"[1,1]", "listed twice"},
		{"[1,2,3]", "at most 2 AUTH tokens"},
		{"[]", "list the generation in use"},
		{"[0]", "numbered from 1"},
		{`["a"]`, "not a list of whole numbers"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			assertRejected(t, withConfig(cfg, map[string]string{"auth-platform:cacheAuthTokenGenerations": tc.value}),
				"auth-platform:cacheAuthTokenGenerations", tc.message)
		})
	}
}

func keysOfResources(m map[string]*mocks.Resource) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
