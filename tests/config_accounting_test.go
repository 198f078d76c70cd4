package tests

// Issue 12 items 1-4, 6-8 and issue 11 item 9: what the configuration
// reader refuses and accepts, class by class.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/network"
	"github.com/authplatform/auth-platform/stacks"
)

// loadProblems loads src and returns its problems (nil when valid).
func loadProblems(t *testing.T, src stacks.Source) []stacks.Problem {
	t.Helper()
	_, err := stacks.Load(project, "test", src)
	if err == nil {
		return nil
	}
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
	return cerr.Problems
}

func problemKeys(ps []stacks.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return out
}

func problemText(ps []stacks.Problem) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, "\n")
}

// refusedCase is one configuration and the one problem it must produce.
type refusedCase struct {
	name      string
	overrides map[string]string
	key       string   // the key the problem names
	fragments []string // in the problem's text
}

func checkRefused(t *testing.T, base map[string]string, cases []refusedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := loadProblems(t, stacks.MapSource(withConfig(base, tc.overrides)))
			require.Len(t, ps, 1, "exactly one problem:\n%s", problemText(ps))
			assert.Equal(t, tc.key, ps[0].Key)
			assert.NotEmpty(t, ps[0].Fix, "every problem says how to fix it")
			for _, f := range tc.fragments {
				assert.Contains(t, ps[0].String(), f)
			}
		})
	}
}

// TestEveryKeyIsAccountedFor: a key nothing reads is an error with a
// suggestion, whatever its namespace (issue 12 item 1).
func TestEveryKeyIsAccountedFor(t *testing.T) {
	checkRefused(t, validBase, []refusedCase{
		{"project name without dash", map[string]string{"authplatform:dbReaders": "2"}, "authplatform:dbReaders",
			[]string{`= "2"`, "did you mean auth-platform:dbReaders?"}},
		{"project name capitalized", map[string]string{"Auth-Platform:vpcCidr": "10.9.0.0/16"}, "Auth-Platform:vpcCidr",
			[]string{"did you mean auth-platform:vpcCidr?"}},
		{"project name with underscore and a misspelt key", map[string]string{"auth_platform:dbReader": "2"}, "auth_platform:dbReader",
			[]string{"did you mean auth-platform:dbReaders?"}},
		{"project key under aws:", map[string]string{"aws:vpcCidr": "10.9.0.0/16"}, "aws:vpcCidr",
			[]string{"did you mean auth-platform:vpcCidr?"}},
		{"regions under aws:", map[string]string{"aws:regions": `[{"region":"us-east-1"},{"region":"us-west-2"}]`}, "aws:regions",
			[]string{"did you mean auth-platform:regions?"}},
		{"aws setting not passed on", map[string]string{"aws:defaultTags": `{"tags":{"team":"auth"}}`}, "aws:defaultTags",
			[]string{"not passed on", "aws:profile"}},
		{"misspelt aws setting", map[string]string{"aws:profle": "prod"}, "aws:profle", []string{"did you mean aws:profile?"}},
		{"another namespace", map[string]string{"kubernetes:context": "prod"}, "kubernetes:context",
			[]string{"nothing reads the kubernetes: namespace"}},
		{"synonym", map[string]string{"auth-platform:dbInstanceType": "db.r7g.large"}, "auth-platform:dbInstanceType",
			[]string{"did you mean dbInstanceClass?"}},
		{"another synonym", map[string]string{"auth-platform:redisNodeType": "cache.r7g.large"}, "auth-platform:redisNodeType",
			[]string{"did you mean cacheNodeType?"}},
		{"a password the stack never takes", map[string]string{"auth-platform:dbPassword": "hunter2hunter2"}, "auth-platform:dbPassword",
			[]string{"no password is configured", "pulumi config set --secret"}},
		{"look-alike letter in a key", map[string]string{"auth-platform:\u0430ppName": "auth"}, "auth-platform:\u0430ppName",
			[]string{"did you mean appName?", "U+0430"}},
		{"plaintext AWS secret key", map[string]string{"aws:secretKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, "aws:secretKey",
			[]string{"pulumi config set --secret aws:secretKey", "not shown"}},
	})
	t.Run("the engine's own keys and the passed-on aws: settings are accepted", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(validBase, map[string]string{
			"pulumi:disable-default-providers": `["aws"]`, "aws:profile": "auth-dev", "aws:maxRetries": "10",
			"aws:assumeRole": `{"roleArn":"arn:aws:iam::123456789012:role/deploy","sessionName":"auth"}`,
		})))
		assert.Empty(t, problemText(ps))
	})
	t.Run("the plaintext secret is not echoed", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(validBase, map[string]string{"aws:secretKey": "wJalrXUtnFEMI"})))
		assert.NotContains(t, problemText(ps), "wJalrXUtnFEMI")
	})
}

// TestRegionEntriesAreAccountedFor: inside regions[i], a prefixed key is
// told to drop the prefix (issue 12 item 1).
func TestRegionEntriesAreAccountedFor(t *testing.T) {
	base := withConfig(validBase, map[string]string{
		"auth-platform:authHostname": "auth.example.com", "auth-platform:hostedZoneId": "Z0123456789ABCDEFGHIJ",
	})
	entries := func(second string) string {
		return `[{"region":"us-east-1","vpcCidr":"10.60.0.0/16"},{"region":"us-west-2","vpcCidr":"10.70.0.0/16",` + second + `}]`
	}
	checkRefused(t, base, []refusedCase{
		{"prefixed key", map[string]string{"auth-platform:regions": entries(`"auth-platform:dbReaders":2`)}, "auth-platform:regions[1].auth-platform:dbReaders",
			[]string{"drop the prefix: write dbReaders: inside regions[1]"}},
		{"aws:region inside an entry", map[string]string{"auth-platform:regions": entries(`"aws:region":"us-west-2"`)}, "auth-platform:regions[1].aws:region",
			[]string{"region:"}},
		{"synonym inside an entry", map[string]string{"auth-platform:regions": entries(`"dbInstanceType":"db.r7g.large"`)}, "auth-platform:regions[1].dbInstanceType",
			[]string{"did you mean dbInstanceClass?"}},
	})
}

// TestTypesAsTheCLIEnforcesThem: booleans are true/false only, integers
// what the CLI parses, and a type error is one problem (issue 12 item 2).
func TestTypesAsTheCLIEnforcesThem(t *testing.T) {
	checkRefused(t, validBase, []refusedCase{
		{"boolean 1", map[string]string{"auth-platform:cacheMultiAz": "1"}, "auth-platform:cacheMultiAz", []string{`= "1"`, "not a boolean"}},
		{"boolean yes", map[string]string{"auth-platform:endpointPublicAccess": "yes"}, "auth-platform:endpointPublicAccess", []string{"true and false"}},
		{"boolean capitalized string", map[string]string{"auth-platform:dbServerless": "True"}, "auth-platform:dbServerless", []string{"not a boolean"}},
		{"integer with a space", map[string]string{"auth-platform:authReplicas": " 3"}, "auth-platform:authReplicas", []string{"not an integer"}},
		// One message, nothing about the 0 or nil a failed parse left.
		{"integer word", map[string]string{"auth-platform:dbReaders": "two"}, "auth-platform:dbReaders", []string{"not an integer"}},
		{"list that is a string", map[string]string{"auth-platform:publicAccessCidrs": "203.0.113.0/24"}, "auth-platform:publicAccessCidrs", []string{"not a list of strings"}},
		{"decimal word", map[string]string{"auth-platform:authFargateCpu": "half"}, "auth-platform:authFargateCpu", []string{"not a number"}},
		// The engine passes what YAML made of an unquoted version.
		{"kubernetes version YAML shortened", map[string]string{"auth-platform:kubernetesVersion": "1.3"}, "auth-platform:kubernetesVersion",
			[]string{`if the stack file says 1.30 unquoted, YAML read it as the number 1.3: quote it`}},
		{"cache version YAML shortened", map[string]string{"auth-platform:cacheEngineVersion": "8"}, "auth-platform:cacheEngineVersion",
			[]string{`if the stack file says 8.0 unquoted, YAML read it as the number 8: quote it`}},
		{"integer 2^63", map[string]string{"auth-platform:preStopSleepSeconds": "9223372036854775808"}, "auth-platform:preStopSleepSeconds", []string{"not an integer"}},
	})
	t.Run("true and false are accepted", func(t *testing.T) {
		assert.Empty(t, loadProblems(t, stacks.MapSource(withConfig(validBase, map[string]string{
			"auth-platform:cacheMultiAz": "true", "auth-platform:dbServerless": "false",
		}))))
	})
}

// TestUnsetEmptyAndInvisibleValuesAreToldApart (issue 12 item 2).
func TestUnsetEmptyAndInvisibleValuesAreToldApart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		want      string
	}{
		{"unset region", map[string]string{"aws:region": ""}, "aws:region (unset): the AWS region is required"},
		{"empty region", map[string]string{"aws:region": "\x00"}, ""}, // placeholder, replaced below
		{"zero-width space in a value", map[string]string{"aws:region": "us-east-1\u200b"}, "U+200B ZERO WIDTH SPACE at position 10"},
		{"en dash in a value", map[string]string{"aws:region": "us\u2013east-1"}, "U+2013 EN DASH at position 3"},
		{"trailing space", map[string]string{"auth-platform:natGateways": "single "}, "leading or trailing space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withConfig(validBase, tc.overrides)
			want := tc.want
			if tc.name == "empty region" {
				cfg["aws:region"] = "" // withConfig deletes empty overrides
				want = `aws:region = "": the AWS region is required`
			}
			ps := loadProblems(t, stacks.MapSource(cfg))
			assert.Contains(t, problemText(ps), want)
		})
	}
}

// writeStack writes a stack file for the plan.
func writeStack(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.case.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

const stackHead = "config:\n  aws:region: us-east-1\n  auth-platform:authImage: ghcr.io/authplatform/auth-service:1.0.0\n"

// TestStackFilesAsYAMLWritesThem: what only the YAML tells (issue 12
// item 2): numbers that were meant as versions, and files of the wrong shape.
func TestStackFilesAsYAMLWritesThem(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string // empty: plans with exit 0
	}{
		{"kubernetes version as a number", stackHead + "  auth-platform:kubernetesVersion: 1.30\n",
			[]string{`auth-platform:kubernetesVersion = "1.30": YAML reads the unquoted 1.30 as the number 1.3`, `quote it: kubernetesVersion: "1.30"`}},
		{"cache version as a number", stackHead + "  auth-platform:cacheEngineVersion: 8.0\n",
			[]string{`YAML reads the unquoted 8.0 as the number 8`}},
		{"version as a number inside a region", "config:\n  aws:region: us-east-1\n  auth-platform:authImage: ghcr.io/authplatform/auth-service:1.0.0\n" +
			"  auth-platform:authHostname: auth.example.com\n  auth-platform:hostedZoneId: Z0123456789ABCDEFGHIJ\n" +
			"  auth-platform:regions:\n    - region: us-east-1\n      vpcCidr: 10.60.0.0/16\n    - region: us-west-2\n      vpcCidr: 10.70.0.0/16\n      kubernetesVersion: 1.30\n",
			[]string{`auth-platform:regions[1].kubernetesVersion = "1.30"`, "quote it"}},
		{"a list instead of a mapping", "- aws:region: us-east-1\n", []string{"the file holds a list, not a mapping with a config: section"}},
		{"config as a list", "config:\n  - aws:region: us-east-1\n", []string{"config: holds a list, not a mapping"}},
		{"keys outside config", "aws:region: us-east-1\nauth-platform:authImage: ghcr.io/authplatform/auth-service:1.0.0\n",
			[]string{"at the top level of the file", "indent them under config:"}},
		{"not YAML", "config: [\n", []string{"not valid YAML"}},
		{"an unquoted integer-looking decimal is fine", stackHead + "  auth-platform:authFargateCpu: 1\n  auth-platform:authFargateMemoryGb: 2\n", nil},
		{"an unquoted capacity is the same number", stackHead + "  auth-platform:dbServerless: true\n  auth-platform:dbServerlessMinAcu: 0.50\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runPlan("--config-file", writeStack(t, tc.body))
			if len(tc.want) == 0 {
				require.Equal(t, plan.ExitOK, code, stderr)
				return
			}
			require.Equal(t, plan.ExitConfigError, code, stderr)
			assert.Equal(t, 1, strings.Count(stderr, "\n  - "), "one problem: %s", stderr)
			assert.NotContains(t, stderr, "map[", "no Go types in messages")
			assert.NotContains(t, stderr, "!!", "no YAML tags in messages")
			for _, w := range tc.want {
				assert.Contains(t, stderr, w)
			}
		})
	}
}

// TestMessagesNameTheKeyTheUserSet (issue 12 item 3).
func TestMessagesNameTheKeyTheUserSet(t *testing.T) {
	checkRefused(t, validBase, []refusedCase{
		{"preStop sleep above the cap", map[string]string{"auth-platform:preStopSleepSeconds": "2000"}, "auth-platform:preStopSleepSeconds",
			[]string{`= "2000"`, "set 0 (derived) to 870"}},
		{"preStop sleep that makes the grace too long", map[string]string{"auth-platform:preStopSleepSeconds": "880"}, "auth-platform:preStopSleepSeconds",
			[]string{"grace period of 910 s, above the 900 s cap", "set at most 870"}},
		{"deregistration delay that makes the grace too long", map[string]string{"auth-platform:deregistrationDelaySeconds": "860"}, "auth-platform:deregistrationDelaySeconds",
			[]string{"above the 900 s cap"}},
		{"budget that makes the grace too long", map[string]string{"auth-platform:drainPropagationSeconds": "600", "auth-platform:maxRequestSeconds": "300"}, "auth-platform:drainPropagationSeconds",
			[]string{"make a grace period of 935 s"}},
		{"huge override does not overflow", map[string]string{"auth-platform:preStopSleepSeconds": "9223372036854775807"}, "auth-platform:preStopSleepSeconds",
			[]string{"capped at 900 s"}},
		{"huge budget does not overflow", map[string]string{"auth-platform:maxRequestSeconds": "9223372036854775807"}, "auth-platform:maxRequestSeconds",
			[]string{"set 1 to 600"}},
		{"negative override", map[string]string{"auth-platform:terminationGracePeriodSeconds": "-1"}, "auth-platform:terminationGracePeriodSeconds",
			[]string{"set 0 (derived) to 900"}},
		{"replicas upper bound has its own reason", map[string]string{"auth-platform:authReplicas": "100"}, "auth-platform:authReplicas",
			[]string{"more than 50 pods"}},
		{"a CPU that is no Fargate size blames the CPU", map[string]string{"auth-platform:authFargateCpu": "3", "auth-platform:authFargateMemoryGb": "6"}, "auth-platform:authFargateCpu",
			[]string{`= "3"`, "not a Fargate vCPU size"}},
		{"memory that does not go with the CPU blames the memory", map[string]string{"auth-platform:authFargateCpu": "1", "auth-platform:authFargateMemoryGb": "1"}, "auth-platform:authFargateMemoryGb",
			[]string{`= "1"`, "does not go with 1 vCPU"}},
		{"shards upper bound", map[string]string{"auth-platform:cacheShards": "91", "auth-platform:cacheReplicasPerShard": "0", "auth-platform:cacheMultiAz": "false"}, "auth-platform:cacheShards",
			[]string{"default quota is 90 shards"}},
		{"session lifetime upper bound", map[string]string{"auth-platform:sessionTtlSeconds": "604801"}, "auth-platform:sessionTtlSeconds",
			[]string{"longer than a week"}},
	})
}

// multiBase is a valid two-region stack without its regions.
var multiBase = withConfig(validBase, map[string]string{
	"auth-platform:authHostname": "auth.example.com", "auth-platform:hostedZoneId": "Z0123456789ABCDEFGHIJ",
})

// TestMultiRegionShowsEveryMistakeOnce (issue 12 item 4).
func TestMultiRegionShowsEveryMistakeOnce(t *testing.T) {
	t.Run("a misspelt region is one message", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(multiBase, map[string]string{"auth-platform:regions": `[` +
			`{"region":"us-east-1","vpcCidr":"10.60.0.0/16"},` +
			`{"region":"us-west2","vpcCidr":"10.70.0.0/16","availabilityZones":["us-west-2a","us-west-2b","us-west-2c"],` +
			`"certificateArn":"arn:aws:acm:us-west-2:123456789012:certificate/6b1e2c9d-3f4a-4d5e-8a7b-9c0d1e2f3a4b"}]`})))
		require.Len(t, ps, 1, problemText(ps))
		assert.Equal(t, "auth-platform:regions[1].region", ps[0].Key)
		assert.Contains(t, ps[0].String(), "did you mean us-west-2?")
	})
	t.Run("a problem in one region does not hide the checks between regions", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(multiBase, map[string]string{
			"auth-platform:authHostname": "", "auth-platform:hostedZoneId": "",
			"auth-platform:regions": `[{"region":"us-east-1","vpcCidr":"10.60.0.0/16"},` +
				`{"region":"us-west-2","vpcCidr":"10.60.0.0/17","dbReaders":0},{"region":"eu-west-1","vpcCidr":"10.80.0.0/16"}]`,
		})))
		keys := problemKeys(ps)
		assert.Contains(t, keys, "auth-platform:regions[1].dbReaders")
		assert.Contains(t, keys, "auth-platform:regions[1].vpcCidr", "the overlap is still found")
		assert.Contains(t, keys, "auth-platform:dnsRoutingPolicy", "failover with three regions is still found")
		assert.Contains(t, keys, "auth-platform:authHostname", "the missing hostname is still found")
	})
	t.Run("a top-level value failing in one region is named there, with the override", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(multiBase, map[string]string{
			// A per-region key: 3 pods leave a zone of us-west-2's 4 empty.
			"auth-platform:authReplicas": "3",
			"auth-platform:regions":      `[{"region":"us-east-1","vpcCidr":"10.60.0.0/16"},{"region":"us-west-2","vpcCidr":"10.70.0.0/16","azCount":4}]`,
		})))
		require.Len(t, ps, 1, problemText(ps))
		assert.Equal(t, "auth-platform:regions[1].authReplicas", ps[0].Key)
		assert.Contains(t, ps[0].Fix, "set authReplicas under regions[1]")
	})
	t.Run("a top-level value failing everywhere is named once at the top level", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(multiBase, map[string]string{
			"auth-platform:dbInstanceClass": "db.huge",
			"auth-platform:regions":         `[{"region":"us-east-1","vpcCidr":"10.60.0.0/16"},{"region":"us-west-2","vpcCidr":"10.70.0.0/16"}]`,
		})))
		require.Len(t, ps, 1, problemText(ps))
		assert.Equal(t, "auth-platform:dbInstanceClass", ps[0].Key)
	})
}

// TestPodsCanReachTheAPI (issue 12 item 6).
func TestPodsCanReachTheAPI(t *testing.T) {
	checkRefused(t, validBase, []refusedCase{
		{"private endpoint off, narrow public CIDRs", map[string]string{
			"auth-platform:endpointPrivateAccess": "false", "auth-platform:publicAccessCidrs": `["203.0.113.0/24"]`,
		}, "auth-platform:endpointPrivateAccess", []string{"NAT gateways", "never register", "set endpointPrivateAccess: true"}},
	})
	for name, cidrs := range map[string]string{
		"private endpoint on, narrow public CIDRs": `["203.0.113.0/24"]`,
		"private endpoint off, open public CIDRs":  `["0.0.0.0/0"]`,
	} {
		t.Run(name, func(t *testing.T) {
			private := "true"
			if strings.HasPrefix(name, "private endpoint off") {
				private = "false"
			}
			assert.Empty(t, loadProblems(t, stacks.MapSource(withConfig(validBase, map[string]string{
				"auth-platform:endpointPrivateAccess": private, "auth-platform:publicAccessCidrs": cidrs,
			}))))
		})
	}
}

// TestEncryptedValuesPlanAndPlaintextCredentialsDoNot (issue 12 item 7).
func TestEncryptedValuesPlanAndPlaintextCredentialsDoNot(t *testing.T) {
	// A Pulumi Cloud ciphertext is base64 (the service secrets manager
	// decodes it before asking the service), so the fake one is too.
	const secure = "{secure: AAABAFakeCipherTextForThePlanOnlyA==}"
	t.Run("encrypted values of any shape plan, and the plan says what it did not check", func(t *testing.T) {
		body := "config:\n  aws:region: eu-west-1\n  aws:allowedAccountIds: [\"123456789012\"]\n" +
			"  auth-platform:environment: prod\n  auth-platform:protectStatefulResources: true\n" +
			"  auth-platform:publicAccessCidrs: [\"203.0.113.0/24\"]\n" +
			"  auth-platform:authImage: " + secure + "\n  auth-platform:alarmEmail: " + secure + "\n" +
			"  auth-platform:certificateArn: " + secure + "\n  auth-platform:cacheKmsKeyArn: " + secure + "\n" +
			"  aws:secretKey: " + secure + "\n  aws:accessKey: " + secure + "\n"
		code, _, stderr := runPlan("--config-file", writeStack(t, body))
		require.Equal(t, plan.ExitOK, code, stderr)
		for _, k := range []string{"auth-platform:alarmEmail", "auth-platform:certificateArn", "auth-platform:authImage", "auth-platform:cacheKmsKeyArn"} {
			assert.Contains(t, stderr, "note: "+k+" is encrypted")
		}
	})
	t.Run("an encrypted value inside a region plans", func(t *testing.T) {
		body := stackHead + "  auth-platform:authHostname: auth.example.com\n  auth-platform:hostedZoneId: Z0123456789ABCDEFGHIJ\n" +
			"  auth-platform:regions:\n    - region: us-east-1\n      vpcCidr: 10.60.0.0/16\n      certificateArn: " + secure + "\n" +
			"    - region: us-west-2\n      vpcCidr: 10.70.0.0/16\n      certificateArn: " + secure + "\n"
		code, _, stderr := runPlan("--config-file", writeStack(t, body))
		require.Equal(t, plan.ExitOK, code, stderr)
		assert.Contains(t, stderr, "note: auth-platform:regions[1].certificateArn is encrypted")
	})
	t.Run("plaintext credentials are refused with the command", func(t *testing.T) {
		code, _, stderr := runPlan("--config-file", writeStack(t, stackHead+"  aws:accessKey: AKIAIOSFODNN7EXAMPLE\n"))
		require.Equal(t, plan.ExitConfigError, code, stderr)
		assert.Contains(t, stderr, "pulumi config set --secret aws:accessKey")
		assert.NotContains(t, stderr, "AKIAIOSFODNN7EXAMPLE")
	})
}

// TestZoneAndNATRulesAreStatedOnce: the rule is MinAZs..MaxAZs zones and
// no single NAT in prod; Pulumi.yaml, README and the code say the same
// (issue 12 item 8).
func TestZoneAndNATRulesAreStatedOnce(t *testing.T) {
	proj, err := plan.LoadProject(filepath.Join(repoRoot(t), "Pulumi.yaml"))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	row := func(key string) string {
		m := regexp.MustCompile("(?m)^\\| `" + key + "` \\|.*$").FindString(string(readme))
		require.NotEmpty(t, m, "README has a row for %s", key)
		return m
	}
	desc := func(key string) string {
		for _, k := range stacks.Keys {
			if k.Name == key {
				assert.Equal(t, k.Description, proj.Config[key].Description, "Pulumi.yaml and stacks/keys.go describe %s alike", key)
				return k.Description
			}
		}
		t.Fatalf("no key %s", key)
		return ""
	}
	require.Equal(t, 3, stacks.MinAZs, "Aurora is given exactly three AZs")
	rangeText := fmt.Sprintf("%d-%d", stacks.MinAZs, network.MaxAZs)
	assert.Contains(t, desc("azCount"), rangeText)
	assert.Contains(t, row("azCount"), fmt.Sprintf("%d–%d", stacks.MinAZs, network.MaxAZs))
	assert.Contains(t, desc("availabilityZones"), fmt.Sprintf("at least %d", stacks.MinAZs))
	assert.Contains(t, row("availabilityZones"), fmt.Sprintf("at least %d", stacks.MinAZs))
	assert.Contains(t, desc("natGateways"), "not allowed in prod")
	assert.Contains(t, row("natGateways"), "not allowed in `prod`")

	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f", "us-east-1g", "us-east-1h"}
	list := func(n int) string { return `["` + strings.Join(zones[:n], `","`) + `"]` }
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		ok        bool
	}{
		{"azCount below the rule", map[string]string{"auth-platform:azCount": fmt.Sprint(stacks.MinAZs - 1)}, false},
		{"azCount at the lower bound", map[string]string{"auth-platform:azCount": fmt.Sprint(stacks.MinAZs)}, true},
		{"azCount above the rule", map[string]string{"auth-platform:azCount": fmt.Sprint(network.MaxAZs + 1)}, false},
		{"zones below the rule", map[string]string{"auth-platform:availabilityZones": list(stacks.MinAZs - 1)}, false},
		{"zones at the lower bound", map[string]string{"auth-platform:availabilityZones": list(stacks.MinAZs)}, true},
		{"zones above the rule", map[string]string{"auth-platform:availabilityZones": list(network.MaxAZs + 1)}, false},
		{"single NAT in staging", map[string]string{"auth-platform:environment": "staging", "auth-platform:natGateways": "single"}, true},
		{"single NAT in prod", withConfig(dataTierProd, map[string]string{"auth-platform:natGateways": "single"}), false},
		{"prod without an alarm destination", withConfig(dataTierProd, map[string]string{"auth-platform:alarmEmail": ""}), false},
		{"prod without its account", withConfig(dataTierProd, map[string]string{"aws:allowedAccountIds": ""}), false},
		{"prod as shipped in the tests", dataTierProd, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := validBase
			if tc.overrides["auth-platform:environment"] == "prod" {
				base = map[string]string{}
			}
			ps := loadProblems(t, stacks.MapSource(withConfig(base, tc.overrides)))
			if tc.ok {
				assert.Empty(t, problemText(ps))
			} else {
				assert.Len(t, ps, 1, problemText(ps))
			}
		})
	}
}

// TestEveryAWSProviderCarriesTheStacksAWSSettings: the explicit providers
// get the stack's aws: settings, in every region and stack (issue 11
// item 9).
func TestEveryAWSProviderCarriesTheStacksAWSSettings(t *testing.T) {
	check := func(t *testing.T, res []map[string]interface{}, want map[string]interface{}) {
		t.Helper()
		require.NotEmpty(t, res, "the plan has explicit AWS providers")
		for _, inputs := range res {
			for k, v := range want {
				assert.Equal(t, v, inputs[k], "provider input %s", k)
			}
		}
	}
	providers := func(t *testing.T, stack string, cfg map[string]string) []map[string]interface{} {
		res, err := runProgram(t, stack, cfg, nil)
		require.NoError(t, err)
		var out []map[string]interface{}
		for _, r := range ofType(res, "pulumi:providers:aws") {
			out = append(out, plainInputs(r))
		}
		return out
	}
	for _, stack := range []string{"prod-us-east-1", "prod-global"} {
		t.Run(stack, func(t *testing.T) {
			cfg, _ := stackConfig(t, stack)
			check(t, providers(t, stack, cfg), map[string]interface{}{"allowedAccountIds": []interface{}{"123456789012"}})
		})
	}
	t.Run("profile and assumed role reach every region's provider", func(t *testing.T) {
		cfg := withConfig(multiBase, map[string]string{
			"aws:profile":           "auth-deploy",
			"aws:assumeRole":        `{"roleArn":"arn:aws:iam::123456789012:role/deploy","sessionName":"auth"}`,
			"auth-platform:regions": `[{"region":"us-east-1","vpcCidr":"10.60.0.0/16"},{"region":"us-west-2","vpcCidr":"10.70.0.0/16"}]`,
		})
		ps := providers(t, "test", cfg)
		require.Len(t, ps, 2)
		check(t, ps, map[string]interface{}{
			"profile":    "auth-deploy",
			"assumeRole": map[string]interface{}{"roleArn": "arn:aws:iam::123456789012:role/deploy", "sessionName": "auth"},
		})
	})
}

// plainInputs are a provider's inputs as plain values; the SDK may send a
// provider's structured inputs as JSON text, which is decoded here.
func plainInputs(r *mocks.Resource) map[string]interface{} {
	out := mocks.PlainMap(r.Inputs)
	for k, v := range out {
		if s, ok := v.(string); ok && (strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{")) {
			var decoded interface{}
			if json.Unmarshal([]byte(s), &decoded) == nil {
				out[k] = decoded
			}
		}
	}
	return out
}

// TestREADMEListsThePassedOnAWSKeys holds README's list of the aws: keys
// every explicit provider receives to the code's.
func TestREADMEListsThePassedOnAWSKeys(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "#### AWS account and credentials")
	require.True(t, ok, "README has the section")
	section, _, _ = strings.Cut(section, "\n#")
	for _, k := range stacks.PassedOnAWSKeys() {
		assert.Contains(t, section, "`"+k+"`")
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`(aws:[A-Za-z]+)`").FindAllStringSubmatch(section, -1) {
		named[m[1]] = true
	}
	assert.Len(t, named, len(stacks.PassedOnAWSKeys()), "README lists no key the code does not pass on: %v", named)
}

// A misspelt key gets a suggestion within three edits, and none beyond:
// a far guess would mislead more than it helps.
func TestMisspeltKeysAreSuggestedOnlyWhenClose(t *testing.T) {
	for _, tc := range []struct {
		key     string
		suggest bool
	}{
		{"auth-platform:dbReadersXYZ", true},   // three edits from dbReaders
		{"auth-platform:dbReadersWXYZ", false}, // four
	} {
		_, err := stacks.Load(project, "test", stacks.MapSource(withConfig(validBase, map[string]string{tc.key: "2"})))
		var cerr *stacks.ConfigError
		require.ErrorAs(t, err, &cerr, tc.key)
		var fix string
		for _, p := range cerr.Problems {
			if p.Key == tc.key {
				fix = p.Fix
			}
		}
		require.NotEmpty(t, fix, "%s is refused with a fix", tc.key)
		if tc.suggest {
			assert.Contains(t, fix, "did you mean dbReaders?", tc.key)
		} else {
			assert.NotContains(t, fix, "did you mean", tc.key)
		}
	}
}
