package tests

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/timewindow"
	"github.com/authplatform/auth-platform/stacks"
)

// dataTierProd is a valid production configuration to break one key at a
// time.
var dataTierProd = withConfig(validBase, map[string]string{
	"auth-platform:environment":              "prod",
	"auth-platform:protectStatefulResources": "true",
	"auth-platform:certificateArn":           testCertificateArn,
	"auth-platform:alarmEmail":               "auth-oncall@example.com",
	"aws:allowedAccountIds":                  `["123456789012"]`,
	"auth-platform:publicAccessCidrs":        `["203.0.113.0/24"]`,
})

const testCertificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/0f6d3c0e-8a54-4c2b-9a5e-2f1e6b7c9d10"

func TestDataTierInvalidConfigurationsAreRejectedNamingTheKey(t *testing.T) {
	const ns = "auth-platform:"
	dev := validBase
	for _, tc := range []struct {
		name      string
		base      map[string]string
		overrides map[string]string
		key       string
		message   string
	}{
		// ElastiCache.
		{"zero replicas with Multi-AZ", dev, map[string]string{ns + "cacheReplicasPerShard": "0"}, "cacheReplicasPerShard", "Multi-AZ (cacheMultiAz) needs a replica"},
		{"zero replicas in prod", dataTierProd, map[string]string{ns + "cacheReplicasPerShard": "0", ns + "cacheMultiAz": "false"}, "cacheReplicasPerShard", "loses its data"},
		{"single AZ in prod", dataTierProd, map[string]string{ns + "cacheMultiAz": "false"}, "cacheMultiAz", "goes down with its AZ"},
		{"six replicas", dev, map[string]string{ns + "cacheReplicasPerShard": "6"}, "cacheReplicasPerShard", "at most 5 replicas"},
		{"negative replicas", dev, map[string]string{ns + "cacheReplicasPerShard": "-1"}, "cacheReplicasPerShard", "at most 5 replicas"},
		{"KMS key without at-rest encryption", dev, map[string]string{
			ns + "cacheAtRestEncryption": "false",
			ns + "cacheKmsKeyArn":        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		}, "cacheKmsKeyArn", "needs at-rest encryption"},
		{"KMS key of another region", dev, map[string]string{ns + "cacheKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, "cacheKmsKeyArn", "only uses keys of its own region"},
		{"KMS alias instead of key", dev, map[string]string{ns + "cacheKmsKeyArn": "alias/cache"}, "cacheKmsKeyArn", "not a KMS key ARN"},
		{"no at-rest in prod", dataTierProd, map[string]string{ns + "cacheAtRestEncryption": "false"}, "cacheAtRestEncryption", "encrypted at rest"},
		{"zero shards", dev, map[string]string{ns + "cacheShards": "0"}, "cacheShards", "needs at least one shard"},
		{"91 shards", dev, map[string]string{ns + "cacheShards": "91"}, "cacheShards", "default quota is 90 shards"},
		{"node quota", dev, map[string]string{ns + "cacheShards": "31", ns + "cacheReplicasPerShard": "2"}, "cacheShards", "above the default quota of 90"},
		{"engine", dev, map[string]string{ns + "cacheEngine": "memcached"}, "cacheEngine", "unknown ElastiCache engine"},
		{"redis 6", dev, map[string]string{ns + "cacheEngine": "redis", ns + "cacheEngineVersion": "6.2"}, "cacheEngineVersion", "not a version of redis"},
		{"valkey with a redis version", dev, map[string]string{ns + "cacheEngineVersion": "7.1"}, "cacheEngineVersion", "not a version of valkey"},
		{"node type", dev, map[string]string{ns + "cacheNodeType": "r7g.large"}, "cacheNodeType", "not a node type"},
		{"previous generation", dev, map[string]string{ns + "cacheNodeType": "cache.t2.micro"}, "cacheNodeType", "previous-generation"},
		{"burstable in prod", dataTierProd, map[string]string{ns + "cacheNodeType": "cache.t4g.medium"}, "cacheNodeType", "Global Datastore"},
		{"snapshot retention", dev, map[string]string{ns + "cacheSnapshotRetentionDays": "36"}, "cacheSnapshotRetentionDays", "at most 35 days"},
		{"no snapshots in prod", dataTierProd, map[string]string{ns + "cacheSnapshotRetentionDays": "0"}, "cacheSnapshotRetentionDays", "snapshots are off"},
		{"snapshot window format", dev, map[string]string{ns + "cacheSnapshotWindow": "2am-3am"}, "cacheSnapshotWindow", "want hh24:mi-hh24:mi"},
		{"snapshot window short", dev, map[string]string{ns + "cacheSnapshotWindow": "02:00-02:59"}, "cacheSnapshotWindow", "at least 60 minutes"},
		{"maintenance window format", dev, map[string]string{ns + "cacheMaintenanceWindow": "sunday:04:00-sunday:05:00"}, "cacheMaintenanceWindow", "want ddd:hh24:mi-ddd:hh24:mi"},
		{"maintenance window day", dev, map[string]string{ns + "cacheMaintenanceWindow": "sun:04:00-sux:05:00"}, "cacheMaintenanceWindow", "days are sun"},
		{"maintenance window short", dev, map[string]string{ns + "cacheMaintenanceWindow": "sun:04:00-sun:04:30"}, "cacheMaintenanceWindow", "at least 60 minutes"},
		{"cache windows overlap", dev, map[string]string{ns + "cacheSnapshotWindow": "23:30-04:30"}, "cacheSnapshotWindow", "overlaps the maintenance window"},
		// Aurora.
		{"two AZs for Aurora (explicit)", dev, map[string]string{ns + "availabilityZones": `["us-east-1a","us-east-1b"]`}, "availabilityZones", "Aurora is given exactly 3 AZs"},
		{"two AZs for Aurora (count)", dev, map[string]string{ns + "azCount": "2"}, "azCount", "Aurora is given exactly three"},
		{"no readers", dev, map[string]string{ns + "dbReaders": "0"}, "dbReaders", "at least one reader"},
		{"16 readers", dev, map[string]string{ns + "dbReaders": "16"}, "dbReaders", "at most 15 readers"},
		{"short backups", dev, map[string]string{ns + "dbBackupRetentionDays": "1"}, "dbBackupRetentionDays", "at least 7 days"},
		{"long backups", dev, map[string]string{ns + "dbBackupRetentionDays": "36"}, "dbBackupRetentionDays", "at most 35 days"},
		{"engine version", dev, map[string]string{ns + "dbEngineVersion": "16.x"}, "dbEngineVersion", "want a major such as 16"},
		{"old major", dev, map[string]string{ns + "dbEngineVersion": "12.22"}, "dbEngineVersion", "majors 13 and later"},
		{"instance class", dev, map[string]string{ns + "dbInstanceClass": "r7g.large"}, "dbInstanceClass", "not a DB instance class"},
		{"burstable DB in prod", dataTierProd, map[string]string{ns + "dbInstanceClass": "db.t4g.medium"}, "dbInstanceClass", "CPU credits"},
		{"serverless min 0", dev, map[string]string{ns + "dbServerless": "true", ns + "dbServerlessMinAcu": "0"}, "dbServerlessMinAcu", "auto-pause"},
		{"serverless min step", dev, map[string]string{ns + "dbServerless": "true", ns + "dbServerlessMinAcu": "0.7"}, "dbServerlessMinAcu", "not a Serverless v2 capacity"},
		{"serverless min text", dev, map[string]string{ns + "dbServerless": "true", ns + "dbServerlessMinAcu": "half"}, "dbServerlessMinAcu", "not a number"},
		{"serverless max below min", dev, map[string]string{ns + "dbServerless": "true", ns + "dbServerlessMinAcu": "8", ns + "dbServerlessMaxAcu": "4"}, "dbServerlessMaxAcu", "maximum capacity"},
		{"serverless max 257", dev, map[string]string{ns + "dbServerless": "true", ns + "dbServerlessMaxAcu": "257"}, "dbServerlessMaxAcu", "maximum capacity"},
		{"database name", dev, map[string]string{ns + "dbName": "auth-db"}, "dbName", "letters, digits or _"},
		{"reserved database name", dev, map[string]string{ns + "dbName": "postgres"}, "dbName", "reserved"},
		{"master username", dev, map[string]string{ns + "dbMasterUsername": "rdsadmin"}, "dbMasterUsername", "reserved"},
		{"PI retention", dev, map[string]string{ns + "dbPerformanceInsightsRetentionDays": "30"}, "dbPerformanceInsightsRetentionDays", "only for these periods"},
		{"PI retention too long", dev, map[string]string{ns + "dbPerformanceInsightsRetentionDays": "744"}, "dbPerformanceInsightsRetentionDays", "only for these periods"},
		{"backup window short", dev, map[string]string{ns + "dbBackupWindow": "03:00-03:20"}, "dbBackupWindow", "at least 30 minutes"},
		{"backup window format", dev, map[string]string{ns + "dbBackupWindow": "25:00-26:00"}, "dbBackupWindow", "want hh24:mi-hh24:mi"},
		{"db maintenance window format", dev, map[string]string{ns + "dbMaintenanceWindow": "sun 05:00"}, "dbMaintenanceWindow", "want ddd:hh24:mi"},
		{"db windows overlap", dev, map[string]string{ns + "dbMaintenanceWindow": "sun:03:30-sun:04:30"}, "dbBackupWindow", "overlaps the maintenance window"},
		{"data tier key typo", dev, map[string]string{ns + "cacheShard": "3"}, "cacheShard", "did you mean cacheShards?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, withConfig(tc.base, tc.overrides), ns+tc.key, tc.message)
		})
	}
}

func TestDataTierProblemsAreReportedAtOnce(t *testing.T) {
	cfg := withConfig(dataTierProd, map[string]string{
		"auth-platform:cacheShards":           "100",
		"auth-platform:cacheReplicasPerShard": "0",
		"auth-platform:cacheAtRestEncryption": "false",
		"auth-platform:cacheKmsKeyArn":        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"auth-platform:dbReaders":             "0",
		"auth-platform:dbBackupRetentionDays": "1",
		"auth-platform:azCount":               "2",
	})
	_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr))
	var keys []string
	for _, p := range cerr.Problems {
		keys = append(keys, strings.TrimPrefix(p.Key, "auth-platform:"))
	}
	for _, k := range []string{"cacheShards", "cacheReplicasPerShard", "cacheAtRestEncryption", "cacheKmsKeyArn", "dbReaders", "dbBackupRetentionDays", "azCount"} {
		assert.Contains(t, keys, k)
	}
}

func TestDataTierDefaultsAreValidAndMatchTheKeys(t *testing.T) {
	for _, base := range []map[string]string{validBase, dataTierProd} {
		cfg, err := stacks.Load(project, "test", stacks.MapSource(base))
		require.NoError(t, err)
		assert.Equal(t, stacks.CacheConfig{
			Engine: "valkey", EngineVersion: "8.0", NodeType: "cache.r7g.large", Shards: 3, ReplicasPerShard: 1,
			MultiAZ: true, AtRestEncryption: true, SnapshotRetentionDays: 7,
			SnapshotWindow: "02:00-03:00", MaintenanceWindow: "sun:04:00-sun:05:00",
			AuthTokenGenerations: []int{1},
		}, cfg.Cache)
		assert.Equal(t, stacks.DatabaseConfig{
			EngineVersion: "16", InstanceClass: "db.r7g.large", Readers: 1, Name: "auth", MasterUsername: "authadmin",
			BackupRetentionDays: 7, BackupWindow: "03:00-04:00", MaintenanceWindow: "sun:05:00-sun:06:00", PIRetentionDays: 7,
		}, cfg.Database)
	}
	for _, stack := range []string{"dev", "prod-us-east-1"} {
		cfg, _ := stackConfig(t, stack)
		_, err := stacks.Load(project, stack, stacks.MapSource(cfg))
		require.NoError(t, err, stack)
	}
	// Serverless capacities are read as decimals.
	cfg, err := stacks.Load(project, "test", stacks.MapSource(withConfig(validBase, map[string]string{
		"auth-platform:dbServerless":       "true",
		"auth-platform:dbServerlessMinAcu": "1.5", "auth-platform:dbServerlessMaxAcu": "64",
	})))
	require.NoError(t, err)
	assert.Equal(t, 1.5, cfg.Database.ServerlessMinACU)
	assert.Equal(t, 64.0, cfg.Database.ServerlessMaxACU)
}

func TestTimeWindows(t *testing.T) {
	d, err := timewindow.ParseDaily("23:30-00:30")
	require.NoError(t, err)
	assert.Equal(t, 60, d.Minutes(), "windows may run past midnight")
	w, err := timewindow.ParseWeekly("sat:23:00-sun:01:00")
	require.NoError(t, err)
	assert.Equal(t, 120, w.Minutes(), "and past the end of the week")

	for _, tc := range []struct {
		daily, weekly string
		overlap       bool
	}{
		{"02:00-03:00", "sun:04:00-sun:05:00", false},
		{"03:00-04:00", "sun:05:00-sun:06:00", false},
		{"04:00-05:00", "sun:04:00-sun:05:00", true},
		{"04:30-05:30", "wed:04:00-wed:05:00", true},
		{"03:00-04:00", "mon:04:00-mon:05:00", false}, // touching is not overlapping
		{"23:30-00:30", "sun:00:00-sun:01:00", true},  // the window from saturday night
		{"22:00-23:00", "sat:23:30-sun:00:30", false},
		{"23:45-00:45", "sat:23:30-sun:00:30", true},
	} {
		d, err := timewindow.ParseDaily(tc.daily)
		require.NoError(t, err)
		w, err := timewindow.ParseWeekly(tc.weekly)
		require.NoError(t, err)
		assert.Equal(t, tc.overlap, timewindow.Overlaps(d, w), "%s vs %s", tc.daily, tc.weekly)
	}
	for _, bad := range []string{"", "3:00-4:00", "03:00-03:00", "24:00-01:00", "03:00/04:00"} {
		_, err := timewindow.ParseDaily(bad)
		assert.Error(t, err, bad)
	}
	for _, bad := range []string{"", "sun:03:00", "sun:03:00-sun:03:00", "xyz:01:00-xyz:02:00"} {
		_, err := timewindow.ParseWeekly(bad)
		assert.Error(t, err, bad)
	}
}
