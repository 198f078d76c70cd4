package tests

// The kubeconfig signs as the AWS provider authenticates (issue 23, L-3):
// every aws: setting that decides which IAM principal the explicit AWS
// providers are reaches the exec block of `aws eks get-token` in the
// Kubernetes provider's kubeconfig, or is refused by name.

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

type kubeExec struct {
	Command string              `json:"command"`
	Args    []string            `json:"args"`
	Env     []map[string]string `json:"env"`
}

// envOf is the exec block's environment as a map.
func (e kubeExec) envOf() map[string]string {
	out := map[string]string{}
	for _, kv := range e.Env {
		out[kv["name"]] = kv["value"]
	}
	return out
}

// plainString unwraps a secret or output input to its string.
func plainString(t *testing.T, v resource.PropertyValue) string {
	t.Helper()
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			v = v.OutputValue().Element
		default:
			require.True(t, v.IsString(), "not a string: %v", v)
			return v.StringValue()
		}
	}
}

// kubeExecs reads the exec block of every Kubernetes provider's kubeconfig
// in a plan, by the region of the cluster it signs for.
func kubeExecs(t *testing.T, res *mocks.Result) map[string]kubeExec {
	t.Helper()
	out := map[string]kubeExec{}
	for _, p := range nonEmpty(t, ofType(res, "pulumi:providers:kubernetes"), "Kubernetes provider") {
		var cfg struct {
			Users []struct {
				User struct {
					Exec kubeExec `json:"exec"`
				} `json:"user"`
			} `json:"users"`
		}
		require.NoError(t, json.Unmarshal([]byte(plainString(t, p.Inputs["kubeconfig"])), &cfg), p.Name)
		require.Len(t, cfg.Users, 1, p.Name)
		exec := cfg.Users[0].User.Exec
		require.Equal(t, "aws", exec.Command)
		require.GreaterOrEqual(t, len(exec.Args), 8, p.Name)
		out[exec.Args[5]] = exec // eks get-token --cluster-name <name> --region <region> ...
	}
	return out
}

const deployerRole = "arn:aws:iam::123456789012:role/platform-deployer"

// kubeconfigSigningKeys are the aws: keys that decide which principal the
// AWS providers are; each reaches the kubeconfig.
var kubeconfigSigningKeys = []string{"aws:region", "aws:profile", "aws:assumeRole", "aws:assumeRoleWithWebIdentity",
	"aws:sharedConfigFiles", "aws:sharedCredentialsFiles", "aws:accessKey", "aws:secretKey", "aws:token"}

func TestEveryCredentialSettingReachesTheKubeconfig(t *testing.T) {
	base, _ := stackConfig(t, "dev")
	covered := map[string]bool{"aws:region": true} // every case checks --region
	webIdentity := `{"roleArn":"` + deployerRole + `","webIdentityTokenFile":"/var/run/secrets/token","sessionName":"ci"}`
	for _, tc := range []struct {
		name    string
		set     map[string]string
		secrets []string
		args    []string          // after `--output json`
		env     map[string]string // nil: no env at all
	}{
		{"no setting: the host's default chain", nil, nil, nil, nil},
		{"aws:profile", map[string]string{"aws:profile": "platform-admin"}, nil, []string{"--profile", "platform-admin"}, nil},
		{"aws:assumeRole", map[string]string{"aws:assumeRole": `{"roleArn":"` + deployerRole + `","sessionName":"pulumi","duration":"1h"}`}, nil,
			[]string{"--role-arn", deployerRole}, nil},
		{"aws:assumeRole on top of aws:profile", map[string]string{"aws:profile": "sso", "aws:assumeRole": `{"roleArn":"` + deployerRole + `"}`}, nil,
			[]string{"--profile", "sso", "--role-arn", deployerRole}, nil},
		{"aws:assumeRoleWithWebIdentity", map[string]string{"aws:assumeRoleWithWebIdentity": webIdentity}, nil, nil, map[string]string{
			"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
			"AWS_ROLE_ARN": deployerRole, "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/token", "AWS_ROLE_SESSION_NAME": "ci"}},
		{"aws:assumeRoleWithWebIdentity wins over aws:profile", map[string]string{"aws:profile": "sso", "aws:assumeRoleWithWebIdentity": `{"roleArn":"` + deployerRole + `"}`}, nil,
			nil, map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_ROLE_ARN": deployerRole}},
		{"aws:sharedConfigFiles", map[string]string{"aws:sharedConfigFiles": `["/etc/aws/config"]`}, nil, nil, map[string]string{"AWS_CONFIG_FILE": "/etc/aws/config"}},
		{"aws:sharedCredentialsFiles", map[string]string{"aws:sharedCredentialsFiles": `["/etc/aws/credentials"]`}, nil, nil,
			map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials"}},
		{"aws:accessKey, aws:secretKey and aws:token win over aws:profile",
			map[string]string{"aws:profile": "sso", "aws:accessKey": "AKIAEXAMPLEKEY", "aws:secretKey": "example-secret", "aws:token": "example-token"},
			[]string{"aws:accessKey", "aws:secretKey", "aws:token"}, nil,
			map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY": "example-secret", "AWS_SESSION_TOKEN": "example-token"}},
	} {
		for k := range tc.set {
			covered[k] = true
		}
		t.Run(tc.name, func(t *testing.T) {
			res, err := runProgram(t, "dev", withConfig(base, tc.set), tc.secrets)
			require.NoError(t, err)
			execs := kubeExecs(t, res)
			require.Len(t, execs, 1)
			exec := execs["us-east-1"]
			assert.Equal(t, append([]string{"eks", "get-token", "--cluster-name", "auth-dev-use1", "--region", "us-east-1", "--output", "json"}, tc.args...), exec.Args)
			if tc.env == nil {
				assert.Empty(t, exec.Env)
			} else {
				assert.Equal(t, tc.env, exec.envOf())
			}
		})
	}
	for _, k := range kubeconfigSigningKeys {
		assert.True(t, covered[k], "no case sets %s", k)
	}
}

func TestEveryRegionsKubeconfigSignsAsItsProvider(t *testing.T) {
	base, secrets := stackConfig(t, "prod-global")
	res, err := runProgram(t, "prod-global", withConfig(base, map[string]string{
		"aws:profile": "prod-admin", "aws:assumeRole": `{"roleArn":"` + deployerRole + `"}`}), secrets)
	require.NoError(t, err)
	execs := kubeExecs(t, res)
	require.Len(t, execs, 2)
	for _, region := range []string{"us-east-1", "us-west-2"} {
		assert.Contains(t, execs, region)
		assert.Subset(t, execs[region].Args, []string{"--profile", "prod-admin", "--role-arn", deployerRole}, region)
	}
}

// TestEveryPassedOnAWSKeyIsSortedForTheKubeconfig: a key the providers
// receive either decides the principal (and a case above shows it in the
// kubeconfig) or only shapes the session, which EKS does not see.
func TestEveryPassedOnAWSKeyIsSortedForTheKubeconfig(t *testing.T) {
	sessionOnly := map[string]string{
		"aws:allowedAccountIds":   "a check of the provider's account, not a credential",
		"aws:forbiddenAccountIds": "a check of the provider's account, not a credential",
		"aws:stsRegion":           "where STS is called; the token is presigned for --region's STS",
		"aws:maxRetries":          "retries, not identity",
		"aws:retryMode":           "retries, not identity",
	}
	for _, k := range stacks.PassedOnAWSKeys() {
		_, other := sessionOnly[k]
		assert.True(t, other || contains(kubeconfigSigningKeys, k), "%s reaches the AWS providers: say whether it decides the principal (and make it reach the kubeconfig) or not", k)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func TestCredentialSettingsTheKubeconfigCannotUseAreRefused(t *testing.T) {
	base, _ := stackConfig(t, "dev")
	role := func(extra string) string { return `{"roleArn":"` + deployerRole + `",` + extra + `}` }
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		key, msg  string
	}{
		{"an external ID", map[string]string{"aws:assumeRole": role(`"externalId":"x-123"`)}, "aws:assumeRole", "--role-arn and no externalId"},
		{"a source identity", map[string]string{"aws:assumeRole": role(`"sourceIdentity":"alice"`)}, "aws:assumeRole", "no sourceIdentity"},
		{"session tags", map[string]string{"aws:assumeRole": role(`"tags":{"team":"auth"}`)}, "aws:assumeRole", "no tags"},
		{"transitive tag keys", map[string]string{"aws:assumeRole": role(`"transitiveTagKeys":["team"]`)}, "aws:assumeRole", "no transitiveTagKeys"},
		{"an inline web identity token", map[string]string{"aws:assumeRoleWithWebIdentity": role(`"webIdentityToken":"eyJ"`)}, "aws:assumeRoleWithWebIdentity", "only from a file"},
		{"a web identity and static keys", map[string]string{"aws:assumeRoleWithWebIdentity": role(`"sessionName":"ci"`), "aws:accessKey": "AKIAEXAMPLEKEY", "aws:secretKey": "s"},
			"aws:assumeRoleWithWebIdentity", "would not pick the same one"},
		{"two config files", map[string]string{"aws:sharedConfigFiles": `["/a","/b"]`}, "aws:sharedConfigFiles", "reads one such file (AWS_CONFIG_FILE)"},
		{"two credentials files", map[string]string{"aws:sharedCredentialsFiles": `["/a","/b"]`}, "aws:sharedCredentialsFiles", "reads one such file (AWS_SHARED_CREDENTIALS_FILE)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, withConfig(base, tc.overrides), tc.key, tc.msg)
		})
	}
	// What shapes only the session passes.
	_, err := stacks.Load(project, "test", stacks.MapSource(withConfig(base, map[string]string{
		"aws:assumeRole": role(`"sessionName":"pulumi","duration":"1h","policyArns":["arn:aws:iam::aws:policy/ReadOnlyAccess"]`)})))
	assert.NoError(t, err)
}
