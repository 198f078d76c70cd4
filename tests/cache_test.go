package tests

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/cache"
	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/stacks"
)

const (
	cacheRGType      = "aws:elasticache/replicationGroup:ReplicationGroup"
	cachePGType      = "aws:elasticache/parameterGroup:ParameterGroup"
	cacheSubnetType  = "aws:elasticache/subnetGroup:SubnetGroup"
	cacheSecretType  = "aws:secretsmanager/secret:Secret"
	cacheVersionType = "aws:secretsmanager/secretVersion:SecretVersion"
	cachePasswdType  = "random:index/randomPassword:RandomPassword"
	dataTierSGType   = "aws:ec2/securityGroup:SecurityGroup"
	dataTierRuleType = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	dataTierKeyType  = "aws:kms/key:Key"
)

// dataTierRun is one run of the regional platform with the values the data
// tier is wired to.
type dataTierRun struct {
	res            *mocks.Result
	clientSG       string
	privateSubnets []string
	zones          []string
}

// dataTierPlan runs a shipped stack (with overrides) through NewRegion and
// captures the auth pods' security group and subnets the data tier must use.
func dataTierPlan(t *testing.T, stack string, overrides map[string]string) *dataTierRun {
	t.Helper()
	cfg, secrets := stackConfig(t, stack)
	cfg = withConfig(cfg, overrides)
	var zones []string
	res, err := mocks.Run(project, stack, cfg, secrets, func(ctx *pulumi.Context) (map[string]pulumi.Output, error) {
		c, err := stacks.Load(ctx.Project(), ctx.Stack(), stacks.ContextSource(ctx))
		if err != nil {
			return nil, err
		}
		r, err := stacks.NewRegion(ctx, c, nil)
		if err != nil {
			return nil, err
		}
		zones = r.Network.AvailabilityZones
		return map[string]pulumi.Output{
			"clientSg":       r.PodSecurity.ID,
			"privateSubnets": r.Network.PrivateSubnetIDs,
		}, nil
	})
	require.NoError(t, err)
	run := &dataTierRun{res: res, zones: zones}
	run.clientSG, _ = res.Outputs["clientSg"].(string)
	require.True(t, strings.HasPrefix(run.clientSG, "sg-"), "client SG %v", res.Outputs["clientSg"])
	for _, s := range res.Outputs["privateSubnets"].([]interface{}) {
		run.privateSubnets = append(run.privateSubnets, s.(string))
	}
	require.NotEmpty(t, run.privateSubnets)
	return run
}

// dataTierOut reads a plain output of a resource.
func dataTierOut(t *testing.T, r *mocks.Resource, key string) interface{} {
	t.Helper()
	v, ok := r.Outputs[resource.PropertyKey(key)]
	require.True(t, ok, "%s %s has no output %s", r.Type, r.Name, key)
	return mocks.Plain(v)
}

// dataTierChildren returns the resources parented by the component of type
// typ.
func dataTierChildren(t *testing.T, res *mocks.Result, typ string) (*mocks.Resource, []*mocks.Resource) {
	t.Helper()
	comps := ofType(res, typ)
	require.Len(t, comps, 1, "want one %s", typ)
	var kids []*mocks.Resource
	for _, r := range res.Resources {
		if r.Parent == comps[0].URN {
			kids = append(kids, r)
		}
	}
	return comps[0], kids
}

func TestCacheIsAClusterModeReplicationGroupWithFailoverOverAZs(t *testing.T) {
	for _, stack := range []string{"dev", "prod-us-east-1"} {
		t.Run(stack, func(t *testing.T) {
			run := dataTierPlan(t, stack, nil)
			rg := one(t, run.res, cacheRGType, "-sessions")
			in := mocks.PlainMap(rg.Inputs)
			assert.Equal(t, "enabled", in["clusterMode"])
			assert.Equal(t, float64(3), in["numNodeGroups"])
			assert.Equal(t, float64(1), in["replicasPerNodeGroup"])
			assert.Nil(t, in["numCacheClusters"], "numCacheClusters is for cluster mode disabled")
			assert.Equal(t, true, in["automaticFailoverEnabled"])
			assert.Equal(t, true, in["multiAzEnabled"])
			assert.Equal(t, "valkey", in["engine"])
			assert.Equal(t, "8.0", in["engineVersion"])
			assert.Equal(t, float64(6379), in["port"])
			assert.Equal(t, true, in["transitEncryptionEnabled"])
			assert.Equal(t, true, in["atRestEncryptionEnabled"])
			assert.Equal(t, false, in["dataTieringEnabled"])
			assert.NotEmpty(t, in["description"])
			assert.Nil(t, in["userGroupIds"], "AUTH token conflicts with user groups")
			assert.Nil(t, in["globalReplicationGroupId"])

			// At rest with the component's own KMS key.
			key := one(t, run.res, dataTierKeyType, "-cache")
			assert.Equal(t, dataTierOut(t, key, "arn"), in["kmsKeyId"])
			assert.Equal(t, true, value(key.Inputs, "enableKeyRotation"))

			// Its own parameter group, cluster mode on, family from the engine.
			pg := one(t, run.res, cachePGType, "-cache-valkey8")
			assert.Equal(t, "valkey8", str(t, pg, "family"))
			// Cluster mode, and a lost shard fails only its own keys: with
			// full coverage required every shard would answer CLUSTERDOWN.
			assert.ElementsMatch(t, []interface{}{
				map[string]interface{}{"name": "cluster-enabled", "value": "yes"},
				map[string]interface{}{"name": "cluster-require-full-coverage", "value": "no"},
			}, value(pg.Inputs, "parameters"))
			assert.Equal(t, pg.ID, in["parameterGroupName"])

			// Private subnets only.
			sn := one(t, run.res, cacheSubnetType, "-cache")
			assert.ElementsMatch(t, run.privateSubnets, stringList(t, sn, "subnetIds"))
			assert.ElementsMatch(t, privateSubnetIDs(run.res), run.privateSubnets)
			assert.Equal(t, sn.ID, in["subnetGroupName"])

			// Snapshots and windows from the configuration.
			assert.Equal(t, "02:00-03:00", in["snapshotWindow"])
			assert.Equal(t, "sun:04:00-sun:05:00", in["maintenanceWindow"])
			assert.GreaterOrEqual(t, in["snapshotRetentionLimit"], float64(1))

			// The security group admits 6379 from the auth pods' SG, nothing else.
			sg := one(t, run.res, dataTierSGType, "-cache")
			assert.Equal(t, []interface{}{sg.ID}, in["securityGroupIds"])
			assert.Nil(t, value(sg.Inputs, "ingress"), "no inline rules")
			var rules []*mocks.Resource
			for _, r := range ofType(run.res, dataTierRuleType) {
				if value(r.Inputs, "securityGroupId") == sg.ID {
					rules = append(rules, r)
				}
			}
			require.Len(t, rules, 1)
			rule := mocks.PlainMap(rules[0].Inputs)
			assert.Equal(t, run.clientSG, rule["referencedSecurityGroupId"])
			assert.Equal(t, "tcp", rule["ipProtocol"])
			assert.Equal(t, float64(6379), rule["fromPort"])
			assert.Equal(t, float64(6379), rule["toPort"])
			assert.Nil(t, rule["cidrIpv4"])
		})
	}
}

func TestCacheNodeTypeFollowsTheStack(t *testing.T) {
	assert.Equal(t, "cache.t4g.small", str(t, one(t, dataTierPlan(t, "dev", nil).res, cacheRGType, "-sessions"), "nodeType"))
	assert.Equal(t, "cache.r7g.large", str(t, one(t, dataTierPlan(t, "prod-us-east-1", nil).res, cacheRGType, "-sessions"), "nodeType"))
}

func TestCacheConfigurationReachesTheReplicationGroup(t *testing.T) {
	run := dataTierPlan(t, "dev", map[string]string{
		"auth-platform:cacheEngine":                "redis",
		"auth-platform:cacheEngineVersion":         "7.1",
		"auth-platform:cacheShards":                "5",
		"auth-platform:cacheReplicasPerShard":      "2",
		"auth-platform:cacheNodeType":              "cache.r6gd.xlarge",
		"auth-platform:cacheSnapshotRetentionDays": "0",
	})
	rg := one(t, run.res, cacheRGType, "-sessions")
	in := mocks.PlainMap(rg.Inputs)
	assert.Equal(t, "redis", in["engine"])
	assert.Equal(t, "7.1", in["engineVersion"])
	assert.Equal(t, float64(5), in["numNodeGroups"])
	assert.Equal(t, float64(2), in["replicasPerNodeGroup"])
	assert.Equal(t, true, in["dataTieringEnabled"], "r6gd nodes require data tiering")
	assert.Equal(t, float64(0), in["snapshotRetentionLimit"])
	pg := one(t, run.res, cachePGType, "-cache-redis7")
	assert.Equal(t, "redis7", str(t, pg, "family"))
	assert.Len(t, dataTierOut(t, rg, "memberClusters"), 15)

	// Single-AZ outside prod: no Multi-AZ, but cluster mode keeps failover.
	in = mocks.PlainMap(one(t, dataTierPlan(t, "dev", map[string]string{
		"auth-platform:cacheReplicasPerShard": "0", "auth-platform:cacheMultiAz": "false",
	}).res, cacheRGType, "-sessions").Inputs)
	assert.Equal(t, false, in["multiAzEnabled"])
	assert.Equal(t, true, in["automaticFailoverEnabled"])
}

func TestCacheUsesAGivenKMSKeyInsteadOfItsOwn(t *testing.T) {
	arn := "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
	run := dataTierPlan(t, "dev", map[string]string{"auth-platform:cacheKmsKeyArn": arn})
	assert.Equal(t, arn, str(t, one(t, run.res, cacheRGType, "-sessions"), "kmsKeyId"))
	assert.Equal(t, arn, str(t, one(t, run.res, cacheSecretType, "-cache-auth"), "kmsKeyId"))
	for _, k := range ofType(run.res, dataTierKeyType) {
		assert.False(t, strings.HasSuffix(k.Name, "-cache"), "no cache key is created when one is given")
	}
}

func TestCacheAuthTokenIsGeneratedSecretAndStoredEncrypted(t *testing.T) {
	run := dataTierPlan(t, "dev", nil)
	pw := one(t, run.res, cachePasswdType, "-cache-auth")
	length := value(pw.Inputs, "length").(float64)
	assert.True(t, length >= 16 && length <= 128, "AWS takes 16-128 characters, got %v", length)
	specials := str(t, pw, "overrideSpecial")
	for _, c := range specials {
		assert.Contains(t, cache.AuthTokenSpecials, string(c), "AWS rejects %q in an AUTH token", c)
	}
	token := pw.Outputs["result"]
	require.True(t, token.IsSecret(), "the provider marks result secret")
	plainToken := token.SecretValue().Element.StringValue()
	assert.Regexp(t, `^[A-Za-z0-9`+regexp.QuoteMeta(cache.AuthTokenSpecials)+`]{16,128}$`, plainToken)

	rg := one(t, run.res, cacheRGType, "-sessions")
	assert.True(t, rg.Inputs["authToken"].IsSecret(), "authToken must reach the provider as a secret")
	assert.Equal(t, mocks.Secret, mocks.Plain(rg.Inputs["authToken"]))
	assert.Equal(t, plainToken, rg.Inputs["authToken"].SecretValue().Element.StringValue(), "the group uses the generated token")

	secret := one(t, run.res, cacheSecretType, "-cache-auth")
	assert.Equal(t, dataTierOut(t, one(t, run.res, dataTierKeyType, "-cache"), "arn"), str(t, secret, "kmsKeyId"))
	version := one(t, run.res, cacheVersionType, "-cache-auth")
	assert.Equal(t, secret.ID, str(t, version, "secretId"))
	sv := version.Inputs["secretString"]
	require.True(t, sv.IsSecret(), "secretString must be a secret")
	var stored map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(sv.SecretValue().Element.StringValue()), &stored))
	assert.Equal(t, plainToken, stored["authToken"])
	assert.Equal(t, dataTierOut(t, rg, "configurationEndpointAddress"), stored["host"])
	assert.Equal(t, float64(6379), stored["port"])
}

func TestNoPlaintextSecretAppearsInThePlan(t *testing.T) {
	for _, stack := range []string{"dev", "prod-us-east-1"} {
		t.Run(stack, func(t *testing.T) {
			cfg, secrets := stackConfig(t, stack)
			doc, err := plan.Plan(project, stack, cfg, secrets)
			require.NoError(t, err)
			b, err := json.Marshal(doc)
			require.NoError(t, err)
			rendered := string(b)

			// The mocked token is deterministic: a second run yields it again.
			run := dataTierPlan(t, stack, nil)
			token := one(t, run.res, cachePasswdType, "-cache-auth").Outputs["result"].SecretValue().Element.StringValue()
			require.NotEmpty(t, token)
			assert.NotContains(t, rendered, token, "the AUTH token leaks into the plan")
			esc, _ := json.Marshal(token)
			assert.NotContains(t, rendered, strings.Trim(string(esc), `"`))

			for _, r := range doc.Resources {
				switch r.Type {
				case cacheRGType:
					assert.Equal(t, mocks.Secret, r.Inputs["authToken"])
				case cacheVersionType:
					assert.Equal(t, mocks.Secret, r.Inputs["secretString"])
				case "aws:rds/cluster:Cluster":
					assert.NotContains(t, r.Inputs, "masterPassword", "RDS manages the master password")
				}
			}
			for _, name := range []string{"cacheConfigurationEndpoint", "cachePort", "cacheAuthSecretArn", "dbWriterEndpoint", "dbReaderEndpoint", "dbPort", "dbSecretArn"} {
				assert.Contains(t, doc.Outputs, name)
			}
		})
	}
}

func TestCacheOutputsAreExported(t *testing.T) {
	res := planStack(t, "dev")
	rg := one(t, res, cacheRGType, "-sessions")
	assert.Equal(t, dataTierOut(t, rg, "configurationEndpointAddress"), res.Outputs["cacheConfigurationEndpoint"])
	assert.Regexp(t, `^clustercfg\.auth-dev-use1-sessions\.[0-9a-f]+\.use1\.cache\.amazonaws\.com$`, res.Outputs["cacheConfigurationEndpoint"])
	assert.Equal(t, float64(6379), res.Outputs["cachePort"])
	assert.Equal(t, dataTierOut(t, one(t, res, cacheSecretType, "-cache-auth"), "arn"), res.Outputs["cacheAuthSecretArn"])
}

func TestCacheReplicationGroupIDFitsAWSLimits(t *testing.T) {
	pattern := regexp.MustCompile(`^[a-z]([a-z0-9]|-[a-z0-9])*$`)
	for _, n := range []naming.Namer{
		{App: "auth", Env: "dev", Region: "us-east-1"},
		{App: "authplatform", Env: "staging", Region: "ap-southeast-2"},
		{App: "abcdefghijkl", Env: "integrationtesting", Region: "ap-northeast-3"},
	} {
		id := cache.ReplicationGroupID(n)
		assert.LessOrEqual(t, len(id), 40, id)
		assert.Regexp(t, pattern, id)
		assert.NotContains(t, id, "--")
	}
	long := naming.Namer{App: "abcdefghijkl", Env: "integrationtesting", Region: "ap-northeast-3"}
	other := naming.Namer{App: "abcdefghijkl", Env: "integrationtestinh", Region: "ap-northeast-3"}
	assert.NotEqual(t, cache.ReplicationGroupID(long), cache.ReplicationGroupID(other), "cut IDs stay distinct")
	assert.Equal(t, "auth-dev-use1-sessions", cache.ReplicationGroupID(naming.Namer{App: "auth", Env: "dev", Region: "us-east-1"}))
}

func TestDataTierProtectionOnlyOnStatefulResourcesInProd(t *testing.T) {
	stateful := map[string]bool{
		cacheRGType: true, dataTierKeyType: true, cacheSecretType: true, cachePasswdType: true,
		"aws:rds/cluster:Cluster": true, "aws:rds/clusterInstance:ClusterInstance": true,
	}
	for _, tc := range []struct {
		stack string
		want  bool
	}{{"dev", false}, {"prod-us-east-1", true}} {
		t.Run(tc.stack, func(t *testing.T) {
			res := planStack(t, tc.stack)
			for _, comp := range []string{"authplatform:cache:Cache", "authplatform:database:Database"} {
				c, kids := dataTierChildren(t, res, comp)
				assert.False(t, c.Protect, "%s itself is not protected: children would inherit it", comp)
				require.NotEmpty(t, kids)
				for _, r := range kids {
					assert.Equal(t, tc.want && stateful[r.Type], r.Protect, "%s %s", r.Type, r.Name)
				}
			}
		})
	}
}

func TestDataTierChildrenUseTheRegionalProviderAndCarryTags(t *testing.T) {
	res := planStack(t, "prod-us-east-1")
	providers := ofType(res, "pulumi:providers:aws")
	require.Len(t, providers, 1)
	untaggable := map[string]bool{"aws:kms/alias:Alias": true, cacheVersionType: true, cachePasswdType: true,
		"random:index/randomId:RandomId": true} // not an AWS resource: the final snapshot's suffix
	for _, comp := range []string{"authplatform:cache:Cache", "authplatform:database:Database"} {
		_, kids := dataTierChildren(t, res, comp)
		for _, r := range kids {
			if strings.HasPrefix(r.Type, "aws:") {
				assert.Equal(t, providers[0].URN, r.Provider, "%s %s", r.Type, r.Name)
			}
			if untaggable[r.Type] {
				continue
			}
			tags, ok := value(r.Inputs, "tags").(map[string]interface{})
			require.True(t, ok, "%s %s has no tags", r.Type, r.Name)
			assert.Equal(t, "prod-us-east-1", tags["Stack"], "%s %s", r.Type, r.Name)
			assert.Equal(t, "pulumi", tags["ManagedBy"])
			assert.NotEmpty(t, tags["Name"])
		}
	}
}

// dataTierComponentRun runs a single component under the mocks.
func dataTierComponentRun(build func(ctx *pulumi.Context) error) (*mocks.Result, error) {
	return mocks.Run(project, "unit", map[string]string{"aws:region": "us-east-1"}, nil,
		func(ctx *pulumi.Context) (map[string]pulumi.Output, error) { return nil, build(ctx) })
}

// cacheArgs are valid component args with fixed inputs.
func cacheArgs() *cache.Args {
	return &cache.Args{
		NodeType:              "cache.r7g.large",
		VpcID:                 pulumi.String("vpc-0123456789abcdef0"),
		SubnetIDs:             pulumi.ToStringArray([]string{"subnet-a", "subnet-b", "subnet-c"}),
		ClientSecurityGroupID: pulumi.String("sg-0cluster0000000000"),
		Namer:                 naming.Namer{App: "auth", Env: "unit", Region: "us-east-1"},
		Tags:                  naming.Tags{"Stack": "unit"},
	}
}

func TestCacheComponentDefaultsAndInputs(t *testing.T) {
	res, err := dataTierComponentRun(func(ctx *pulumi.Context) error {
		_, err := cache.NewCache(ctx, "c", cacheArgs())
		return err
	})
	require.NoError(t, err)
	in := mocks.PlainMap(one(t, res, cacheRGType, "-sessions").Inputs)
	assert.Equal(t, "valkey", in["engine"])
	assert.Equal(t, float64(3), in["numNodeGroups"])
	assert.Equal(t, float64(1), in["replicasPerNodeGroup"])
	assert.Equal(t, true, in["multiAzEnabled"])
	assert.Equal(t, true, in["atRestEncryptionEnabled"])
	assert.Equal(t, float64(7), in["snapshotRetentionLimit"])
	assert.Equal(t, []interface{}{"subnet-a", "subnet-b", "subnet-c"}, value(one(t, res, cacheSubnetType, "-cache").Inputs, "subnetIds"))
	assert.Equal(t, "sg-0cluster0000000000", str(t, one(t, res, dataTierRuleType, "-cache-from-clients"), "referencedSecurityGroupId"))
}

func TestCacheComponentRejectsInvalidArgs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(a *cache.Args)
		want   string
	}{
		{"zero replicas with Multi-AZ", func(a *cache.Args) { a.ReplicasPerShard = pulumi.IntRef(0) }, "MultiAZ needs at least 1 replica"},
		{"KMS key without at-rest encryption", func(a *cache.Args) {
			a.AtRestEncryption = pulumi.BoolRef(false)
			a.KmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		}, "KmsKeyArn needs AtRestEncryption"},
		{"too many shards", func(a *cache.Args) { a.Shards = 91 }, "Shards is 91"},
		{"too many replicas", func(a *cache.Args) { a.ReplicasPerShard = pulumi.IntRef(6) }, "ReplicasPerShard is 6"},
		{"node quota", func(a *cache.Args) { a.Shards = 40; a.ReplicasPerShard = pulumi.IntRef(2) }, "above the 90-node quota"},
		{"redis 6", func(a *cache.Args) { a.Engine = "redis"; a.EngineVersion = "6.2" }, "EngineVersion \"6.2\""},
		{"memcached", func(a *cache.Args) { a.Engine = "memcached" }, "engine must be valkey or redis"},
		{"old node", func(a *cache.Args) { a.NodeType = "cache.t2.micro" }, "previous-generation"},
		{"short snapshot window", func(a *cache.Args) { a.SnapshotWindow = "02:00-02:30" }, "shorter than 60 minutes"},
		{"overlapping windows", func(a *cache.Args) {
			a.SnapshotWindow = "03:00-05:00"
			a.MaintenanceWindow = "tue:04:00-tue:05:00"
		}, "overlaps MaintenanceWindow"},
		{"snapshot retention", func(a *cache.Args) { a.SnapshotRetentionDays = pulumi.IntRef(36) }, "SnapshotRetentionDays is 36"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := cacheArgs()
			tc.mutate(a)
			_, err := dataTierComponentRun(func(ctx *pulumi.Context) error {
				_, err := cache.NewCache(ctx, "c", a)
				return err
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	// Every problem at once.
	a := cacheArgs()
	a.Shards, a.ReplicasPerShard, a.Engine = 0, pulumi.IntRef(9), "memcached"
	_, err := dataTierComponentRun(func(ctx *pulumi.Context) error { _, err := cache.NewCache(ctx, "c", a); return err })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ReplicasPerShard is 9")
	assert.Contains(t, err.Error(), "engine must be valkey or redis")
}

// TestValkeyParameterFamilies: each offered version has the family AWS
// names for it (ParameterGroups.Engine.html: valkey7 for 7.2, one family
// per major since 8), and a version ElastiCache does not offer has none.
func TestValkeyParameterFamilies(t *testing.T) {
	for _, tc := range []struct{ engine, version, family string }{
		{"valkey", "7.2", "valkey7"},
		{"valkey", "8.0", "valkey8"},
		{"valkey", "8.2", "valkey8"},
		{"valkey", "9.0", "valkey9"},
		{"valkey", "9.1", "valkey9"},
		{"redis", "7.1", "redis7"},
	} {
		got, err := cache.ParameterFamily(tc.engine, tc.version)
		require.NoError(t, err, "%s %s", tc.engine, tc.version)
		assert.Equal(t, tc.family, got, "%s %s", tc.engine, tc.version)
	}
	for _, v := range []string{"7.1", "8.3", "9.2", "10.0"} {
		_, err := cache.ParameterFamily("valkey", v)
		assert.ErrorContains(t, err, "ElastiCache offers Valkey 7.2, 8.0, 8.1, 8.2, 9.0, 9.1", v)
	}
}
