package tests

// Issue 18.3 (stacks part), continued: what the reader adds to a problem
// (the characters a value hides, an encrypted value kept hidden) and the
// preflight's warning for a version EKS offers that the calendar lacks.

import (
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

func TestProblemsPointOutWhatAValueHides(t *testing.T) {
	runChecks(t, []checkCase{
		{name: "an invisible character without a name", set: set("natGateways", "perAz\u2062"), key: "natGateways", message: "U+2062 invisible at position 6"},
		{name: "a look-alike capital letter", set: set("natGateways", "per\u0410z"), key: "natGateways", message: `U+0410 looks like 'A' at position 4`},
		{name: "a trailing space", set: set("natGateways", "perAz "), key: "natGateways", message: "(the value has leading or trailing space)"},
		{name: "a synonym in another case", set: set("DBInstanceType", "db.r7g.large"), key: "DBInstanceType", message: "did you mean dbInstanceClass?"},
	})

	t.Run("a letter that is merely not ASCII gets no note", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(validBase, set("natGateways", "perAzé"))))
		require.Len(t, ps, 1, problemText(ps))
		assert.Equal(t, "unknown NAT gateway layout", ps[0].Message)
	})
	t.Run("an encrypted value of an unknown key stays hidden", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(validBase, set("dbPassword", stacks.EncryptedPlaceholder))))
		require.Len(t, ps, 1, problemText(ps))
		assert.Equal(t, q("dbPassword"), ps[0].Key)
		assert.Equal(t, "(encrypted)", ps[0].Value)
		assert.NotContains(t, ps[0].String(), "not decrypted")
	})
	t.Run("an encrypted value stands in with its key's shape", func(t *testing.T) {
		for _, name := range []string{"dbReaders", "authReplicas", "vpcCidr", "certificateArn", "cacheKmsKeyArn", "alarmEmail", "authImage", "albAccessLogsBucket", "dbMasterUsername"} {
			cfg, err := stacks.Load(project, "test", stacks.MapSource(withConfig(validBase, set(name, stacks.EncryptedPlaceholder))))
			require.NoError(t, err, name)
			assert.Equal(t, []string{q(name)}, cfg.Encrypted, name)
		}
		cfg, err := stacks.Load(project, "test", stacks.MapSource(withConfig(validBase, set(
			"authHostname", stacks.EncryptedPlaceholder, "hostedZoneId", stacks.EncryptedPlaceholder))))
		require.NoError(t, err)
		assert.Equal(t, []string{q("authHostname"), q("hostedZoneId")}, cfg.Encrypted)
		for _, region := range []string{"cn-north-1", "us-gov-west-1"} {
			_, err := stacks.Load(project, "test", stacks.MapSource(withConfig(validBase, set(
				"aws:region", region, "certificateArn", stacks.EncryptedPlaceholder, "cacheKmsKeyArn", stacks.EncryptedPlaceholder))))
			require.NoError(t, err, "the placeholders are ARNs of %s's partition", region)
		}
	})
	t.Run("an encrypted value where the region is unknown is not checked against it", func(t *testing.T) {
		ps := loadProblems(t, stacks.MapSource(withConfig(validBase, set("aws:region", "", "certificateArn", stacks.EncryptedPlaceholder))))
		assert.Equal(t, []string{"aws:region"}, problemKeys(ps), problemText(ps))
	})
}

// extraEKSVersion answers DescribeClusterVersions with one more version
// in standard support than the catalogue holds.
type extraEKSVersion struct {
	*mocks.Mocks
	version string

	mu    sync.Mutex
	calls int
}

func (m *extraEKSVersion) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	out, err := m.Mocks.Call(args)
	if err != nil || args.Token != "aws:eks/getClusterVersions:getClusterVersions" {
		return out, err
	}
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
	versions := append(out["clusterVersions"].ArrayValue(), resource.NewObjectProperty(resource.NewPropertyMapFromMap(map[string]interface{}{
		"clusterType": "eks", "clusterVersion": m.version, "versionStatus": "STANDARD_SUPPORT",
		"defaultPlatformVersion": "eks.1", "kubernetesPatchVersion": m.version + ".0",
	})))
	out["clusterVersions"] = resource.NewArrayProperty(versions)
	return out, nil
}

func TestAVersionEKSOffersWithoutACalendarRowIsWarnedAbout(t *testing.T) {
	const minor = "1.37" // a minor EKS might offer before its row is added
	m := &extraEKSVersion{Mocks: mocks.New(project, "test", "us-east-1"), version: minor}
	cfg := withConfig(validBase, set("kubernetesVersion", minor))
	var warnings []string
	var runErr error
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, warnings, runErr = stacks.RunReport(ctx)
		return nil
	}, pulumi.WithMocks(project, "test", m), func(info *pulumi.RunInfo) { info.Config = cfg })
	require.NoError(t, err)
	require.Equal(t, 1, m.calls, "the preflight asked EKS")
	require.NoError(t, runErr)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "kubernetesVersion 1.37: EKS offers it (STANDARD_SUPPORT) but components/cluster/versions.go has no calendar row for it")
}
