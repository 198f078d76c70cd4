package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/components/naming"
)

const (
	dbClusterType  = "aws:rds/cluster:Cluster"
	dbInstanceType = "aws:rds/clusterInstance:ClusterInstance"
	dbSubnetType   = "aws:rds/subnetGroup:SubnetGroup"
	dbParamsType   = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
)

// dbInstances returns the cluster's instances, writer first.
func dbInstances(t *testing.T, res *mocks.Result) []*mocks.Resource {
	t.Helper()
	all := ofType(res, dbInstanceType)
	require.NotEmpty(t, all)
	var writer []*mocks.Resource
	var readers []*mocks.Resource
	for _, r := range all {
		if strings.HasSuffix(r.Name, "-writer") {
			writer = append(writer, r)
		} else {
			readers = append(readers, r)
		}
	}
	require.Len(t, writer, 1)
	return append(writer, readers...)
}

func TestDatabaseIsAnEncryptedAuroraPostgresClusterOverThreeAZs(t *testing.T) {
	for _, stack := range []string{"dev", "prod-us-east-1"} {
		t.Run(stack, func(t *testing.T) {
			run := dataTierPlan(t, stack, nil)
			cl := one(t, run.res, dbClusterType, "-aurora")
			in := mocks.PlainMap(cl.Inputs)
			assert.Equal(t, "aurora-postgresql", in["engine"])
			// The default major "16" resolved by the preflight to the newest
			// 16.x of cmd/plan/mocks/catalogue.json.
			assert.Equal(t, "16.11", in["engineVersion"])
			assert.Equal(t, "provisioned", in["engineMode"])

			// Exactly three AZs: the first three of the stack.
			require.GreaterOrEqual(t, len(run.zones), 3)
			assert.Equal(t, run.zones[:3], stringList(t, cl, "availabilityZones"))

			key := one(t, run.res, dataTierKeyType, "-db")
			keyArn := dataTierOut(t, key, "arn")
			assert.Equal(t, true, in["storageEncrypted"])
			assert.Equal(t, keyArn, in["kmsKeyId"])
			assert.Equal(t, true, in["manageMasterUserPassword"])
			assert.Equal(t, keyArn, in["masterUserSecretKmsKeyId"])
			assert.NotContains(t, in, "masterPassword")
			assert.Equal(t, false, in["iamDatabaseAuthenticationEnabled"], "the service uses the secret")
			assert.GreaterOrEqual(t, in["backupRetentionPeriod"], float64(7))
			assert.Equal(t, "03:00-04:00", in["preferredBackupWindow"])
			assert.Equal(t, "sun:05:00-sun:06:00", in["preferredMaintenanceWindow"])
			assert.Equal(t, float64(5432), in["port"])
			assert.Equal(t, "auth", in["databaseName"])
			assert.Equal(t, "authadmin", in["masterUsername"])

			sn := one(t, run.res, dbSubnetType, "-db")
			assert.ElementsMatch(t, run.privateSubnets, stringList(t, sn, "subnetIds"))
			assert.Equal(t, sn.ID, in["dbSubnetGroupName"])

			pg := one(t, run.res, dbParamsType, "-db-aurora-postgresql16")
			assert.Equal(t, "aurora-postgresql16", str(t, pg, "family"))
			assert.Equal(t, pg.ID, in["dbClusterParameterGroupName"])
			assert.Contains(t, value(pg.Inputs, "parameters"), map[string]interface{}{"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"})

			// 5432 only from the auth pods' security group.
			sg := one(t, run.res, dataTierSGType, "-db")
			assert.Equal(t, []interface{}{sg.ID}, in["vpcSecurityGroupIds"])
			var rules []*mocks.Resource
			for _, r := range ofType(run.res, dataTierRuleType) {
				if value(r.Inputs, "securityGroupId") == sg.ID {
					rules = append(rules, r)
				}
			}
			require.Len(t, rules, 1)
			rule := mocks.PlainMap(rules[0].Inputs)
			assert.Equal(t, run.clientSG, rule["referencedSecurityGroupId"])
			assert.Equal(t, float64(5432), rule["fromPort"])
			assert.Equal(t, float64(5432), rule["toPort"])
			assert.Equal(t, "tcp", rule["ipProtocol"])

			// Writer and readers in distinct AZs of the cluster, tiered.
			insts := dbInstances(t, run.res)
			assert.GreaterOrEqual(t, len(insts), 2, "a writer and at least one reader")
			seenAZ, seenTier := map[string]bool{}, map[float64]bool{}
			for i, inst := range insts {
				ii := mocks.PlainMap(inst.Inputs)
				az := ii["availabilityZone"].(string)
				assert.Contains(t, run.zones[:3], az)
				assert.False(t, seenAZ[az], "%s shares AZ %s", inst.Name, az)
				seenAZ[az] = true
				tier := ii["promotionTier"].(float64)
				assert.False(t, seenTier[tier], "promotion tiers are distinct")
				seenTier[tier] = true
				assert.Equal(t, cl.ID, ii["clusterIdentifier"])
				assert.Equal(t, "aurora-postgresql", ii["engine"])
				assert.Equal(t, sn.ID, ii["dbSubnetGroupName"], "instances must use the cluster's subnet group")
				assert.Equal(t, false, ii["publiclyAccessible"])
				assert.Equal(t, true, ii["performanceInsightsEnabled"])
				assert.Equal(t, keyArn, ii["performanceInsightsKmsKeyId"])
				assert.Equal(t, float64(7), ii["performanceInsightsRetentionPeriod"])
				if i == 0 {
					assert.Equal(t, float64(0), tier, "the writer is tier 0")
					assert.Equal(t, true, dataTierOut(t, inst, "writer"))
				} else {
					assert.Equal(t, false, dataTierOut(t, inst, "writer"))
					assert.Contains(t, inst.DependsOn, insts[0].URN, "readers wait for the writer")
				}
			}
		})
	}
}

func TestDatabaseDevIsDestroyableAndProdKeepsAFinalSnapshot(t *testing.T) {
	dev := mocks.PlainMap(one(t, planStack(t, "dev"), dbClusterType, "-aurora").Inputs)
	assert.Equal(t, true, dev["skipFinalSnapshot"], "RDS refuses to delete without a snapshot identifier otherwise")
	assert.Equal(t, false, dev["deletionProtection"])
	assert.NotContains(t, dev, "finalSnapshotIdentifier")

	prod := mocks.PlainMap(one(t, planStack(t, "prod-us-east-1"), dbClusterType, "-aurora").Inputs)
	assert.Equal(t, false, prod["skipFinalSnapshot"])
	assert.Regexp(t, `^auth-prod-us-east-1-aurora-final-[0-9a-f]{8}$`, prod["finalSnapshotIdentifier"], "a random suffix per creation")
	assert.Equal(t, true, prod["deletionProtection"])
	assert.Equal(t, true, prod["applyImmediately"], "deletion protection is lifted on destroy only when applied immediately")
}

func TestDatabaseServerlessInDevProvisionedInProd(t *testing.T) {
	dev := planStack(t, "dev")
	assert.Equal(t, map[string]interface{}{"minCapacity": 0.5, "maxCapacity": float64(4)},
		value(one(t, dev, dbClusterType, "-aurora").Inputs, "serverlessv2ScalingConfiguration"))
	for _, inst := range nonEmpty(t, ofType(dev, dbInstanceType), "Aurora instance") {
		assert.Equal(t, "db.serverless", str(t, inst, "instanceClass"))
	}

	prod := planStack(t, "prod-us-east-1")
	assert.Nil(t, value(one(t, prod, dbClusterType, "-aurora").Inputs, "serverlessv2ScalingConfiguration"))
	insts := ofType(prod, dbInstanceType)
	assert.Len(t, insts, 3, "a writer and two readers, one per AZ")
	for _, inst := range insts {
		assert.Equal(t, "db.r7g.large", str(t, inst, "instanceClass"))
	}
}

func TestDatabaseOutputsAreExported(t *testing.T) {
	res := planStack(t, "dev")
	cl := one(t, res, dbClusterType, "-aurora")
	assert.Equal(t, dataTierOut(t, cl, "endpoint"), res.Outputs["dbWriterEndpoint"])
	assert.Equal(t, dataTierOut(t, cl, "readerEndpoint"), res.Outputs["dbReaderEndpoint"])
	assert.Contains(t, res.Outputs["dbReaderEndpoint"], ".cluster-ro-")
	assert.Equal(t, float64(5432), res.Outputs["dbPort"])
	secrets := dataTierOut(t, cl, "masterUserSecrets").([]interface{})
	require.Len(t, secrets, 1)
	assert.Equal(t, secrets[0].(map[string]interface{})["secretArn"], res.Outputs["dbSecretArn"])
	assert.Regexp(t, `^arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-`, res.Outputs["dbSecretArn"])
}

func TestDatabaseInstanceZonesSpreadReadersAwayFromTheWriter(t *testing.T) {
	zones := []string{"a", "b", "c"}
	assert.Equal(t, []string{"a", "b"}, database.InstanceZones(zones, 1))
	assert.Equal(t, []string{"a", "b", "c"}, database.InstanceZones(zones, 2))
	assert.Equal(t, []string{"a", "b", "c", "a"}, database.InstanceZones(zones, 3))
}

// dbArgs are valid component args with fixed inputs.
func dbArgs() *database.Args {
	return &database.Args{
		EngineVersion:         "16.9",
		AvailabilityZones:     []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		VpcID:                 pulumi.String("vpc-0123456789abcdef0"),
		SubnetIDs:             pulumi.ToStringArray([]string{"subnet-a", "subnet-b", "subnet-c"}),
		ClientSecurityGroupID: pulumi.String("sg-0cluster0000000000"),
		Namer:                 naming.Namer{App: "auth", Env: "unit", Region: "us-east-1"},
		Tags:                  naming.Tags{"Stack": "unit"},
	}
}

func TestDatabaseComponentDefaults(t *testing.T) {
	res, err := dataTierComponentRun(func(ctx *pulumi.Context) error {
		_, err := database.NewDatabase(ctx, "d", dbArgs())
		return err
	})
	require.NoError(t, err)
	in := mocks.PlainMap(one(t, res, dbClusterType, "-aurora").Inputs)
	assert.Equal(t, "16.9", in["engineVersion"], "given as is")
	assert.Equal(t, float64(7), in["backupRetentionPeriod"])
	assert.Equal(t, true, in["skipFinalSnapshot"], "destroyable unless FinalSnapshot is asked for")
	assert.Len(t, ofType(res, dbInstanceType), 2)
	for _, inst := range nonEmpty(t, ofType(res, dbInstanceType), "Aurora instance") {
		assert.Equal(t, "db.r7g.large", str(t, inst, "instanceClass"))
		assert.False(t, inst.Protect)
	}
}

func TestDatabaseComponentRejectsInvalidArgs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(a *database.Args)
		want   string
	}{
		{"two AZs", func(a *database.Args) { a.AvailabilityZones = a.AvailabilityZones[:2] }, "AvailabilityZones has 2 zones, want exactly 3"},
		{"four AZs", func(a *database.Args) { a.AvailabilityZones = append(a.AvailabilityZones, "us-east-1d") }, "want exactly 3"},
		{"no readers", func(a *database.Args) { a.Readers = -1 }, "Readers is -1"},
		{"short backups", func(a *database.Args) { a.BackupRetentionDays = 3 }, "BackupRetentionDays is 3"},
		{"PI retention", func(a *database.Args) { a.PerformanceInsightsRetentionDays = 30 }, "PerformanceInsightsRetentionDays is 30"},
		{"version", func(a *database.Args) { a.EngineVersion = "16" }, "EngineVersion \"16\""},
		{"no version", func(a *database.Args) { a.EngineVersion = "" }, "EngineVersion is required"},
		{"old major", func(a *database.Args) { a.EngineVersion = "11.9" }, "majors 13 and later"},
		{"serverless min", func(a *database.Args) { a.Serverless = &database.Serverless{MinACU: 0, MaxACU: 4} }, "Serverless.MinACU 0"},
		{"serverless max", func(a *database.Args) { a.Serverless = &database.Serverless{MinACU: 2, MaxACU: 1} }, "Serverless.MaxACU 1"},
		{"reserved user", func(a *database.Args) { a.MasterUsername = "rdsadmin" }, "reserved"},
		{"overlap", func(a *database.Args) {
			a.BackupWindow = "05:30-06:30"
			a.MaintenanceWindow = "sun:05:00-sun:06:00"
		}, "overlaps MaintenanceWindow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := dbArgs()
			tc.mutate(a)
			res, err := dataTierComponentRun(func(ctx *pulumi.Context) error {
				_, err := database.NewDatabase(ctx, "d", a)
				return err
			})
			require.Error(t, err)
			assert.Nil(t, res)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
