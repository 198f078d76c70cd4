package tests

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

const globalStack = "prod-global"

// globalPlan is the planned prod-global stack, by role.
type globalPlan struct {
	res                        *mocks.Result
	cfg                        *stacks.Config
	primary, secondary         regionPlan
	pCluster, sCluster         *mocks.Resource
	pCache, sCache             *mocks.Resource
	globalCluster, globalCache *mocks.Resource
}

func planGlobal(t *testing.T) globalPlan {
	t.Helper()
	var rps []regionPlan
	for _, rp := range regionPlans(t) {
		if strings.HasPrefix(rp.name, globalStack+"/") {
			rps = append(rps, rp)
		}
	}
	require.Len(t, rps, 2)
	res := planStack(t, globalStack)
	raw, _ := stackConfig(t, globalStack)
	cfg, err := stacks.Load(project, globalStack, stacks.MapSource(raw))
	require.NoError(t, err)
	const rds, rg = "aws:rds/cluster:Cluster", "aws:elasticache/replicationGroup:ReplicationGroup"
	return globalPlan{
		res: res, cfg: cfg, primary: rps[0], secondary: rps[1],
		pCluster: one(t, rps[0].res, rds, "-aurora"), sCluster: one(t, rps[1].res, rds, "-aurora"),
		pCache: one(t, rps[0].res, rg, "-sessions"), sCache: one(t, rps[1].res, rg, "-sessions"),
		globalCluster: one(t, res, "aws:rds/globalCluster:GlobalCluster", "-global-aurora"),
		globalCache:   one(t, res, "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", "-global-sessions"),
	}
}

func TestGlobalStackHasAPrimaryAndASecondaryRegion(t *testing.T) {
	g := planGlobal(t)
	assert.True(t, g.cfg.MultiRegion())
	assert.Equal(t, "us-east-1", g.primary.cfg.Region)
	assert.Equal(t, stacks.RolePrimary, g.primary.cfg.Role)
	assert.Equal(t, "us-west-2", g.secondary.cfg.Region)
	assert.Equal(t, stacks.RoleSecondary, g.secondary.cfg.Role)
	assert.NotEqual(t, g.primary.cfg.VpcCIDR, g.secondary.cfg.VpcCIDR)

	// Each region is a whole platform on its own providers.
	for _, rp := range []regionPlan{g.primary, g.secondary} {
		aws := one(t, rp.res, "pulumi:providers:aws", "-aws")
		assert.Equal(t, rp.cfg.Region, aws.Region)
		k8s := one(t, rp.res, "pulumi:providers:kubernetes", "-k8s")
		for _, r := range rp.res.Resources {
			switch {
			case strings.HasPrefix(r.Type, "aws:"):
				assert.Equal(t, aws.URN, r.Provider, "%s %s", r.Type, r.Name)
			case strings.HasPrefix(r.Type, "kubernetes:"):
				assert.Equal(t, k8s.URN, r.Provider, "%s %s", r.Type, r.Name)
			}
		}
		for _, typ := range []string{eksType, deploymentType, tgbType, targetGroupTyp, albType, alarmType} {
			assert.NotEmpty(t, ofType(rp.res, typ), "%s has no %s", rp.name, typ)
		}
	}
}

func TestAuroraGlobalDatabase(t *testing.T) {
	g := planGlobal(t)
	gcID := g.globalCluster.ID
	assert.Equal(t, "aurora-postgresql", str(t, g.globalCluster, "engine"))
	assert.Equal(t, true, value(g.globalCluster.Inputs, "storageEncrypted"))
	assert.Equal(t, g.primary.res.Resources[0].Region, g.globalCluster.Region)

	// The primary carries the database and credentials, with an explicit
	// password that stays secret.
	assert.Equal(t, gcID, str(t, g.pCluster, "globalClusterIdentifier"))
	assert.Equal(t, g.cfg.Database.Name, str(t, g.pCluster, "databaseName"))
	assert.Equal(t, g.cfg.Database.MasterUsername, str(t, g.pCluster, "masterUsername"))
	assert.Equal(t, "[secret]", value(g.pCluster.Inputs, "masterPassword"))
	assert.Nil(t, value(g.pCluster.Inputs, "manageMasterUserPassword"), "managed passwords are not supported in global databases")

	// The secondary omits everything AWS rejects on a cross-region replica.
	assert.Equal(t, gcID, str(t, g.sCluster, "globalClusterIdentifier"))
	for _, key := range []string{"masterUsername", "masterPassword", "databaseName", "manageMasterUserPassword",
		"snapshotIdentifier", "masterUserSecretKmsKeyId", "replicationSourceIdentifier"} {
		assert.Nil(t, value(g.sCluster.Inputs, key), "the secondary must not set %s", key)
	}
	assert.Equal(t, true, value(g.sCluster.Inputs, "storageEncrypted"))
	sKey := one(t, g.secondary.res, "aws:kms/key:Key", "-db")
	assert.Equal(t, sKey.Outputs["arn"].StringValue(), str(t, g.sCluster, "kmsKeyId"), "a key of the secondary's own region")
	assert.Equal(t, "us-west-2", sKey.Region)
	assert.Equal(t, true, value(g.sCluster.Inputs, "enableGlobalWriteForwarding"))

	// The secondary waits for the primary's writer instance, not only its cluster.
	writer := one(t, g.primary.res, "aws:rds/clusterInstance:ClusterInstance", "-aurora-writer")
	assert.Contains(t, g.sCluster.DependsOn, writer.URN)
}

func TestMasterSecretIsReplicatedToEveryRegion(t *testing.T) {
	g := planGlobal(t)
	secret := one(t, g.res, "aws:secretsmanager/secret:Secret", "-global-db-master")
	pKey := one(t, g.primary.res, "aws:kms/key:Key", "-db")
	sKey := one(t, g.secondary.res, "aws:kms/key:Key", "-db")
	assert.Equal(t, pKey.Outputs["arn"].StringValue(), str(t, secret, "kmsKeyId"))
	replicas := value(secret.Inputs, "replicas").([]interface{})
	require.Len(t, replicas, 1)
	replica := replicas[0].(map[string]interface{})
	assert.Equal(t, "us-west-2", replica["region"])
	assert.Equal(t, sKey.Outputs["arn"].StringValue(), replica["kmsKeyId"])

	version := one(t, g.res, "aws:secretsmanager/secretVersion:SecretVersion", "-global-db-master")
	assert.Equal(t, "[secret]", value(version.Inputs, "secretString"))

	// Each region's pods read their own region's copy.
	primaryArn := secret.Outputs["arn"].StringValue()
	for _, rp := range []regionPlan{g.primary, g.secondary} {
		want := strings.Replace(primaryArn, ":us-east-1:", ":"+rp.cfg.Region+":", 1)
		cm := one(t, rp.res, configMapType, "-auth-config")
		assert.Equal(t, want, value(cm.Inputs, "data.DB_SECRET_ARN"), rp.name)
		policy := policyDoc(t, one(t, rp.res, "aws:iam/rolePolicy:RolePolicy", "-auth-irsa"), "policy")
		read := policy["Statement"].([]interface{})[0].(map[string]interface{})
		assert.Contains(t, read["Resource"], want, "%s may read its copy", rp.name)
	}
}

func TestElastiCacheGlobalDatastore(t *testing.T) {
	g := planGlobal(t)
	assert.Equal(t, g.pCache.ID, str(t, g.globalCache, "primaryReplicationGroupId"))
	assert.Equal(t, "us-east-1", g.globalCache.Region)
	globalID := g.globalCache.Outputs["globalReplicationGroupId"].StringValue()
	require.NotEmpty(t, globalID)

	assert.Equal(t, globalID, str(t, g.sCache, "globalReplicationGroupId"))
	for _, key := range []string{"engine", "engineVersion", "nodeType", "numNodeGroups", "parameterGroupName",
		"transitEncryptionEnabled", "atRestEncryptionEnabled"} {
		assert.NotNil(t, value(g.pCache.Inputs, key), "the primary sets %s", key)
		assert.Nil(t, value(g.sCache.Inputs, key), "the secondary must not set %s: it inherits it", key)
	}
	for _, key := range []string{"transitEncryptionMode", "snapshotArns", "snapshotName", "securityGroupNames"} {
		assert.Nil(t, value(g.sCache.Inputs, key), "the secondary must not set %s", key)
	}
	assert.Nil(t, value(g.pCache.Inputs, "globalReplicationGroupId"), "the primary is the source, not a member that joins")
	assert.Equal(t, "cache.r7g.large", str(t, g.pCache, "nodeType"))
	// Both answer to the same AUTH token, kept secret.
	assert.Equal(t, "[secret]", value(g.sCache.Inputs, "authToken"))
	assert.Equal(t, "[secret]", value(g.pCache.Inputs, "authToken"))
	assert.Empty(t, ofType(g.secondary.res, "random:index/randomPassword:RandomPassword"), "the secondary generates no token of its own")
}

func TestPodsUseTheirRegionsEndpoints(t *testing.T) {
	g := planGlobal(t)
	for _, tc := range []struct {
		rp      regionPlan
		cluster *mocks.Resource
		cache   *mocks.Resource
	}{{g.primary, g.pCluster, g.pCache}, {g.secondary, g.sCluster, g.sCache}} {
		cm := one(t, tc.rp.res, configMapType, "-auth-config")
		assert.Equal(t, appEndpoint(t, tc.cluster), value(cm.Inputs, "data.DB_HOST"), tc.rp.name)
		assert.Equal(t, tc.cluster.Outputs["readerEndpoint"].StringValue(), value(cm.Inputs, "data.DB_READER_HOST"), tc.rp.name)
		assert.True(t, strings.HasPrefix(value(cm.Inputs, "data.REDIS_HOSTS").(string),
			tc.cache.Outputs["configurationEndpointAddress"].StringValue()), tc.rp.name)
		assert.Equal(t, tc.rp.cfg.Region, value(cm.Inputs, "data.AWS_REGION"))
	}
}

func TestRoute53HasARecordAndHealthCheckPerRegion(t *testing.T) {
	g := planGlobal(t)
	records := ofType(g.res, "aws:route53/record:Record")
	checks := ofType(g.res, "aws:route53/healthCheck:HealthCheck")
	require.Len(t, records, 2)
	require.Len(t, checks, 2)
	checkByID := map[string]*mocks.Resource{}
	for _, c := range checks {
		checkByID[c.ID] = c
	}
	roles := map[string]string{}
	for _, rp := range []regionPlan{g.primary, g.secondary} {
		alb := one(t, rp.res, albType, "-alb")
		var rec *mocks.Resource
		for _, r := range records {
			if str(t, r, "setIdentifier") == rp.cfg.Region {
				rec = r
			}
		}
		require.NotNil(t, rec, "no record for %s", rp.cfg.Region)
		assert.Equal(t, g.cfg.DNS.Hostname, str(t, rec, "name"))
		assert.Equal(t, g.cfg.DNS.ZoneID, str(t, rec, "zoneId"))
		assert.Equal(t, "A", str(t, rec, "type"))
		alias := value(rec.Inputs, "aliases").([]interface{})[0].(map[string]interface{})
		assert.Equal(t, alb.Outputs["dnsName"].StringValue(), alias["name"])
		assert.Equal(t, alb.Outputs["zoneId"].StringValue(), alias["zoneId"])
		assert.Equal(t, true, alias["evaluateTargetHealth"])
		roles[value(rec.Inputs, "failoverRoutingPolicies").([]interface{})[0].(map[string]interface{})["type"].(string)] = rp.cfg.Region

		hc := checkByID[str(t, rec, "healthCheckId")]
		require.NotNil(t, hc, "record %s has its region's health check", rp.cfg.Region)
		assert.Equal(t, alb.Outputs["dnsName"].StringValue(), str(t, hc, "fqdn"))
		assert.Equal(t, "/health", str(t, hc, "resourcePath"))
		assert.Equal(t, "HTTPS", str(t, hc, "type"))
		assert.Equal(t, float64(443), value(hc.Inputs, "port"))
		assert.Equal(t, float64(g.cfg.DNS.IntervalSeconds), value(hc.Inputs, "requestInterval"))
		assert.Equal(t, float64(g.cfg.DNS.FailureThreshold), value(hc.Inputs, "failureThreshold"))
	}
	assert.Equal(t, map[string]string{"PRIMARY": "us-east-1", "SECONDARY": "us-west-2"}, roles)
}

func TestMultiRegionConfigurationMistakesNameTheKey(t *testing.T) {
	const ns = "auth-platform:"
	base := withConfig(validBase, map[string]string{
		ns + "environment": "prod", ns + "protectStatefulResources": "true",
		ns + "authHostname": "auth.example.com", ns + "hostedZoneId": "Z0123456789ABCDEFGHIJ",
		ns + "alarmEmail": "auth-oncall@example.com", "aws:allowedAccountIds": `["123456789012"]`,
		ns + "publicAccessCidrs": `["203.0.113.0/24"]`,
	})
	regions := func(entries ...map[string]interface{}) string {
		b, err := json.Marshal(entries)
		require.NoError(t, err)
		return string(b)
	}
	east := func(extra ...string) map[string]interface{} {
		m := map[string]interface{}{"region": "us-east-1", "vpcCidr": "10.60.0.0/16", "certificateArn": testCertificateArn}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	west := func(extra ...string) map[string]interface{} {
		m := map[string]interface{}{"region": "us-west-2", "vpcCidr": "10.70.0.0/16",
			"certificateArn": strings.Replace(testCertificateArn, "us-east-1", "us-west-2", 1)}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	valid := withConfig(base, map[string]string{ns + "regions": regions(east(), west())})
	_, err := stacks.Load(project, "test", stacks.MapSource(valid))
	require.NoError(t, err, "the base of the table is valid")

	for _, tc := range []struct {
		name      string
		overrides map[string]string
		key       string
		message   string
	}{
		{"overlapping CIDRs", map[string]string{ns + "regions": regions(east(), west("vpcCidr", "10.60.128.0/17"))}, "regions[1].vpcCidr", "must not overlap"},
		{"same region twice", map[string]string{ns + "regions": regions(east(), east("vpcCidr", "10.70.0.0/16"))}, "regions[1].region", "already regions[0]"},
		{"one region", map[string]string{ns + "regions": regions(east())}, "regions", "at least one secondary"},
		{"four regions", map[string]string{ns + "regions": regions(east(), west(),
			map[string]interface{}{"region": "eu-west-1", "vpcCidr": "10.80.0.0/16"},
			map[string]interface{}{"region": "us-east-2", "vpcCidr": "10.90.0.0/16"}), ns + "dnsRoutingPolicy": "latency"}, "regions", "at most two secondaries"},
		{"global key per region", map[string]string{ns + "regions": regions(east(), west("cacheNodeType", "cache.r7g.xlarge"))}, "regions[1].cacheNodeType", "same in every region"},
		{"unknown key per region", map[string]string{ns + "regions": regions(east(), west("vpcCidrs", "10.70.0.0/16"))}, "regions[1].vpcCidrs", "did you mean vpcCidr?"},
		{"entry without region", map[string]string{ns + "regions": regions(east(), map[string]interface{}{"vpcCidr": "10.70.0.0/16"})}, "regions[1].region", "the region is required"},
		{"bad regional value", map[string]string{ns + "regions": regions(east(), west("vpcCidr", "10.70.0.0/8"))}, "regions[1].vpcCidr", "in us-west-2"},
		{"certificate of another region", map[string]string{ns + "regions": regions(east(), west("certificateArn", testCertificateArn))}, "regions[1].certificateArn", "own region"},
		{"aws:region not the primary", map[string]string{"aws:region": "us-west-2", ns + "regions": regions(east(), west())}, "aws:region", "primary region"},
		{"burstable cache node", map[string]string{ns + "regions": regions(east(), west()), ns + "environment": "staging", ns + "cacheNodeType": "cache.t4g.medium"}, "cacheNodeType", "Global Datastore does not accept"},
		{"burstable DB class", map[string]string{ns + "regions": regions(east(), west("dbInstanceClass", "db.t4g.large"))}, "regions[1].dbInstanceClass", "memory-optimized"},
		{"failover with three regions", map[string]string{ns + "regions": regions(east(), west(),
			map[string]interface{}{"region": "eu-west-1", "vpcCidr": "10.80.0.0/16",
				"certificateArn": strings.Replace(testCertificateArn, "us-east-1", "eu-west-1", 1)})}, "dnsRoutingPolicy", "exactly one primary and one secondary"},
		{"no hostname", map[string]string{ns + "regions": regions(east(), west()), ns + "authHostname": "", ns + "hostedZoneId": ""}, "authHostname", "needs a DNS name"},
		{"zone without hostname", map[string]string{ns + "authHostname": ""}, "authHostname", "needs a name and the zone"},
		{"bad zone ID", map[string]string{ns + "hostedZoneId": "example.com"}, "hostedZoneId", "not a Route 53 hosted zone ID"},
		{"bad hostname", map[string]string{ns + "authHostname": "Auth_Service"}, "authHostname", "not a DNS name"},
		{"health check interval", map[string]string{ns + "healthCheckIntervalSeconds": "20"}, "healthCheckIntervalSeconds", "10 or 30"},
		{"failure threshold", map[string]string{ns + "healthCheckFailureThreshold": "11"}, "healthCheckFailureThreshold", "at most 10 consecutive"},
		{"two checker regions", map[string]string{ns + "healthCheckRegions": `["us-east-1","us-west-2"]`}, "healthCheckRegions", "at least 3"},
		{"unknown checker region", map[string]string{ns + "healthCheckRegions": `["us-east-1","us-west-2","eu-central-1"]`}, "healthCheckRegions", "not a Route 53 health checker region"},
		{"routing policy", map[string]string{ns + "dnsRoutingPolicy": "geo"}, "dnsRoutingPolicy", "unknown routing policy"},
		{"regions not objects", map[string]string{ns + "regions": `["us-east-1","us-west-2"]`}, "regions", "not a list of region objects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := ns + tc.key
			if strings.Contains(tc.key, ":") {
				key = tc.key
			}
			assertRejected(t, withConfig(valid, tc.overrides), key, tc.message)
		})
	}
}
