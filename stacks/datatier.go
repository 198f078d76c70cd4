package stacks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cache"
	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/components/timewindow"
)

// readDataTier reads the cache* and db* keys.
func (c *Config) readDataTier(r *reader) {
	c.Cache = CacheConfig{
		Engine:                r.str("cacheEngine"),
		EngineVersion:         r.str("cacheEngineVersion"),
		NodeType:              r.str("cacheNodeType"),
		Shards:                r.integer("cacheShards"),
		ReplicasPerShard:      r.integer("cacheReplicasPerShard"),
		MultiAZ:               r.boolean("cacheMultiAz"),
		AtRestEncryption:      r.boolean("cacheAtRestEncryption"),
		KmsKeyArn:             r.str("cacheKmsKeyArn"),
		SnapshotRetentionDays: r.integer("cacheSnapshotRetentionDays"),
		SnapshotWindow:        r.str("cacheSnapshotWindow"),
		MaintenanceWindow:     r.str("cacheMaintenanceWindow"),
		AuthTokenGenerations:  r.integers("cacheAuthTokenGenerations"),
	}
	c.Database = DatabaseConfig{
		EngineVersion:       r.str("dbEngineVersion"),
		Serverless:          r.boolean("dbServerless"),
		InstanceClass:       r.str("dbInstanceClass"),
		Readers:             r.integer("dbReaders"),
		Name:                r.str("dbName"),
		MasterUsername:      r.str("dbMasterUsername"),
		BackupRetentionDays: r.integer("dbBackupRetentionDays"),
		BackupWindow:        r.str("dbBackupWindow"),
		MaintenanceWindow:   r.str("dbMaintenanceWindow"),
		PIRetentionDays:     r.integer("dbPerformanceInsightsRetentionDays"),
	}
	// Capacities are read only when used, so a stray value in a
	// provisioned stack does not fail it.
	if c.Database.Serverless {
		c.Database.ServerlessMinACU = r.decimal("dbServerlessMinAcu")
		c.Database.ServerlessMaxACU = r.decimal("dbServerlessMaxAcu")
	}
}

// validateDataTier rejects every combination AWS would reject later (see
// shared/notes/data-tier-and-multi-region.md), naming the key to change.
func (c *Config) validateDataTier(p *problems) {
	c.validateCache(p)
	c.validateDatabase(p)
}

func (c *Config) validateCache(p *problems) {
	cc := c.Cache
	switch cc.Engine {
	case cache.EngineValkey, cache.EngineRedis:
		if _, err := cache.ParameterFamily(cc.Engine, cc.EngineVersion); err != nil {
			fix := "set 8.0 (or 7.2) for valkey"
			if cc.Engine == cache.EngineRedis {
				fix = "set 7.1 (or 7.0) for redis"
			}
			if !strings.Contains(cc.EngineVersion, ".") {
				// The engine passes what YAML made of an unquoted 8.0.
				fix = fmt.Sprintf("if the stack file says %s.0 unquoted, YAML read it as the number %s: quote it, \"%s.0\"; otherwise %s", cc.EngineVersion, cc.EngineVersion, cc.EngineVersion, fix)
			}
			p.add(q("cacheEngineVersion"), cc.EngineVersion, fix, "not a version of %s this stack deploys: %v", cc.Engine, err)
		}
	default:
		p.add(q("cacheEngine"), cc.Engine, "set valkey or redis", "unknown ElastiCache engine")
	}
	if err := cache.CheckNodeType(cc.NodeType); err != nil {
		p.add(q("cacheNodeType"), cc.NodeType, "set a current-generation type such as cache.r7g.large or cache.t4g.small", "%v", err)
	} else if c.Production() && strings.HasPrefix(cc.NodeType, "cache.t") {
		p.add(q("cacheNodeType"), cc.NodeType, "set a non-burstable type such as cache.r7g.large in production stacks",
			"burstable nodes throttle when CPU credits run out and cannot join a Global Datastore")
	}
	if cc.Shards < 1 {
		p.add(q("cacheShards"), strconv.Itoa(cc.Shards), fmt.Sprintf("set 1 to %d (3 recommended)", cache.MaxShards),
			"a cluster-mode replication group needs at least one shard")
	} else if cc.Shards > cache.MaxShards {
		p.add(q("cacheShards"), strconv.Itoa(cc.Shards), fmt.Sprintf("set 1 to %d (3 recommended)", cache.MaxShards),
			"ElastiCache's default quota is %d shards per cluster", cache.MaxShards)
	}
	replicasOK := cc.ReplicasPerShard >= 0 && cc.ReplicasPerShard <= cache.MaxReplicasPerShard
	if !replicasOK {
		p.add(q("cacheReplicasPerShard"), strconv.Itoa(cc.ReplicasPerShard), fmt.Sprintf("set 0 to %d", cache.MaxReplicasPerShard),
			"ElastiCache allows at most %d replicas per shard", cache.MaxReplicasPerShard)
	} else if cc.ReplicasPerShard == 0 && cc.MultiAZ {
		p.add(q("cacheReplicasPerShard"), "0", "set cacheReplicasPerShard to at least 1, or cacheMultiAz: false outside prod",
			"Multi-AZ (cacheMultiAz) needs a replica in another AZ to fail over to")
	} else if cc.ReplicasPerShard == 0 && c.Production() {
		p.add(q("cacheReplicasPerShard"), "0", "set cacheReplicasPerShard to at least 1 in production stacks",
			"a shard without a replica loses its data when its node fails")
	}
	if n := cc.Shards * (cc.ReplicasPerShard + 1); replicasOK && cc.Shards >= 1 && cc.Shards <= cache.MaxShards && n > cache.MaxNodes {
		p.add(q("cacheShards"), strconv.Itoa(cc.Shards), "lower cacheShards or cacheReplicasPerShard",
			"%d shards of %d nodes make %d nodes, above the default quota of %d per cluster", cc.Shards, cc.ReplicasPerShard+1, n, cache.MaxNodes)
	}
	if !cc.MultiAZ && c.Production() {
		p.add(q("cacheMultiAz"), "false", "set cacheMultiAz: true in production stacks", "a single-AZ session store goes down with its AZ")
	}
	if !cc.AtRestEncryption && c.Production() {
		p.add(q("cacheAtRestEncryption"), "false", "set cacheAtRestEncryption: true in production stacks",
			"production session data must be encrypted at rest")
	}
	if cc.KmsKeyArn != "" {
		if region, err := cache.KmsKeyRegion(cc.KmsKeyArn); err != nil {
			p.add(q("cacheKmsKeyArn"), cc.KmsKeyArn, "set the ARN of a KMS key, or leave it empty to let the stack create one", "%v", err)
		} else if c.regionKnown() && region != c.Region {
			p.add(q("cacheKmsKeyArn"), cc.KmsKeyArn, fmt.Sprintf("use a key of %s", c.Region),
				"the key is in %s; ElastiCache only uses keys of its own region", region)
		}
		if !cc.AtRestEncryption {
			p.add(q("cacheKmsKeyArn"), cc.KmsKeyArn, "set cacheAtRestEncryption: true, or remove cacheKmsKeyArn",
				"a KMS key needs at-rest encryption (cacheAtRestEncryption is false); AWS rejects the pair")
		}
	}
	if d := cc.SnapshotRetentionDays; d < 0 {
		p.add(q("cacheSnapshotRetentionDays"), strconv.Itoa(d), fmt.Sprintf("set 0 to %d", cache.MaxSnapshotRetention), "a retention cannot be negative (0 turns snapshots off)")
	} else if d > cache.MaxSnapshotRetention {
		p.add(q("cacheSnapshotRetentionDays"), strconv.Itoa(d), fmt.Sprintf("set 0 to %d", cache.MaxSnapshotRetention),
			"ElastiCache keeps automatic snapshots for at most %d days", cache.MaxSnapshotRetention)
	} else if d == 0 && c.Production() {
		p.add(q("cacheSnapshotRetentionDays"), "0", "keep at least 1 day of snapshots in production stacks", "snapshots are off")
	}
	if err := cache.CheckAuthTokenGenerations(cc.AuthTokenGenerations); err != nil {
		p.add(q("cacheAuthTokenGenerations"), encodeValue(cc.AuthTokenGenerations),
			"rotate in two `pulumi up`s: [N, N+1] (ROTATE: both tokens work), then [N+1] (SET: only the new one); see README, \"Rotating the session store's AUTH token\"", "%v", err)
	}
	snap, okSnap := dailyWindow(p, "cacheSnapshotWindow", cc.SnapshotWindow, cache.MinSnapshotWindowMinutes)
	maint, okMaint := weeklyWindow(p, "cacheMaintenanceWindow", cc.MaintenanceWindow, cache.MinMaintenanceWindowMinutes)
	if okSnap && okMaint && timewindow.Overlaps(snap, maint) {
		p.add(q("cacheSnapshotWindow"), cc.SnapshotWindow, "move it clear of cacheMaintenanceWindow "+cc.MaintenanceWindow,
			"the snapshot window overlaps the maintenance window")
	}
}

func (c *Config) validateDatabase(p *problems) {
	d := c.Database
	if _, err := database.ConfigMajor(d.EngineVersion); err != nil {
		p.add(q("dbEngineVersion"), d.EngineVersion, "set a major such as "+database.DefaultMajor+" (quoted in YAML), or a minor RDS offers such as 16.9", "%v", err)
	}
	if d.Serverless {
		if !database.ValidACU(d.ServerlessMinACU) {
			p.add(q("dbServerlessMinAcu"), fmt.Sprint(d.ServerlessMinACU), "set 0.5 to 256 in steps of 0.5",
				"not a Serverless v2 capacity (0 would auto-pause the database and stall logins on resume)")
		}
		if !database.ValidACU(d.ServerlessMaxACU) || d.ServerlessMaxACU < 1 || d.ServerlessMaxACU < d.ServerlessMinACU {
			p.add(q("dbServerlessMaxAcu"), fmt.Sprint(d.ServerlessMaxACU), "set 1 to 256 in steps of 0.5, at least dbServerlessMinAcu",
				"not a usable Serverless v2 maximum capacity")
		}
	} else if !database.ValidInstanceClass(d.InstanceClass) {
		p.add(q("dbInstanceClass"), d.InstanceClass, "set a class such as db.r7g.large, or dbServerless: true", "not a DB instance class")
	} else if c.Production() && strings.HasPrefix(d.InstanceClass, "db.t") {
		p.add(q("dbInstanceClass"), d.InstanceClass, "set a memory-optimized class such as db.r7g.large in production stacks",
			"burstable classes throttle when CPU credits run out")
	}
	if d.Readers < 1 {
		p.add(q("dbReaders"), strconv.Itoa(d.Readers), fmt.Sprintf("set 1 to %d", database.MaxReaders),
			"the cluster needs at least one reader in another AZ to fail over to")
	} else if d.Readers > database.MaxReaders {
		p.add(q("dbReaders"), strconv.Itoa(d.Readers), fmt.Sprintf("set 1 to %d", database.MaxReaders),
			"an Aurora cluster takes at most %d readers", database.MaxReaders)
	}
	if err := database.CheckIdentifier("database name", d.Name); err != nil {
		p.add(q("dbName"), d.Name, "use letters, digits and _, starting with a letter, e.g. auth", "%v", err)
	}
	if err := database.CheckIdentifier("master username", d.MasterUsername); err != nil {
		p.add(q("dbMasterUsername"), d.MasterUsername, "use letters, digits and _, starting with a letter, e.g. authadmin", "%v", err)
	}
	backupFix := fmt.Sprintf("set %d to %d", database.MinBackupRetention, database.MaxBackupRetention)
	if d.BackupRetentionDays < database.MinBackupRetention {
		p.add(q("dbBackupRetentionDays"), strconv.Itoa(d.BackupRetentionDays), backupFix,
			"the platform keeps at least %d days of point-in-time recovery for its users", database.MinBackupRetention)
	} else if d.BackupRetentionDays > database.MaxBackupRetention {
		p.add(q("dbBackupRetentionDays"), strconv.Itoa(d.BackupRetentionDays), backupFix,
			"Aurora keeps automated backups for at most %d days", database.MaxBackupRetention)
	}
	if !database.ValidPIRetention(d.PIRetentionDays) {
		p.add(q("dbPerformanceInsightsRetentionDays"), strconv.Itoa(d.PIRetentionDays), "set 7, 731 or a multiple of 31 (31-713)",
			"Performance Insights keeps data only for these periods")
	}
	backup, okB := dailyWindow(p, "dbBackupWindow", d.BackupWindow, database.MinWindowMinutes)
	maint, okM := weeklyWindow(p, "dbMaintenanceWindow", d.MaintenanceWindow, database.MinWindowMinutes)
	if okB && okM && timewindow.Overlaps(backup, maint) {
		p.add(q("dbBackupWindow"), d.BackupWindow, "move it clear of dbMaintenanceWindow "+d.MaintenanceWindow,
			"RDS rejects a backup window that overlaps the maintenance window")
	}
}

func dailyWindow(p *problems, key, v string, minMinutes int) (timewindow.Daily, bool) {
	return window(p, key, v, "set hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00", minMinutes, timewindow.ParseDaily)
}

func weeklyWindow(p *problems, key, v string, minMinutes int) (timewindow.Weekly, bool) {
	return window(p, key, v, "set ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00", minMinutes, timewindow.ParseWeekly)
}

// window parses a maintenance, backup or snapshot window and checks its
// length, recording a problem for the key when either fails.
func window[W interface{ Minutes() int }](p *problems, key, v, formatFix string, minMinutes int, parse func(string) (W, error)) (W, bool) {
	w, err := parse(v)
	if err != nil {
		p.add(q(key), v, formatFix, "%v", err)
		return w, false
	}
	if w.Minutes() < minMinutes {
		p.add(q(key), v, fmt.Sprintf("make it at least %d minutes long", minMinutes), "the window is %d minutes", w.Minutes())
		return w, false
	}
	return w, true
}

// buildDataTier creates the cache and the database on the region's private
// subnets, admitting only the auth pods' security group.
func (r *Region) buildDataTier(ctx *pulumi.Context, cfg *Config) error {
	if len(r.Network.AvailabilityZones) < database.ZoneCount {
		return &ConfigError{Problems: []Problem{{
			Key: q("availabilityZones"), Value: strings.Join(r.Network.AvailabilityZones, ","),
			Message: "Aurora needs 3 AZs", Fix: "use 3 or more availability zones",
		}}}
	}
	awsOnly := pulumi.Providers(r.Provider)
	cc, dc := cfg.Cache, cfg.Database
	var err error
	r.Cache, err = cache.NewCache(ctx, r.Namer.Name("cache"), &cache.Args{
		Engine:                cc.Engine,
		EngineVersion:         cc.EngineVersion,
		NodeType:              cc.NodeType,
		Shards:                cc.Shards,
		ReplicasPerShard:      pulumi.IntRef(cc.ReplicasPerShard),
		MultiAZ:               pulumi.BoolRef(cc.MultiAZ),
		AtRestEncryption:      pulumi.BoolRef(cc.AtRestEncryption),
		KmsKeyArn:             cc.KmsKeyArn,
		SnapshotRetentionDays: pulumi.IntRef(cc.SnapshotRetentionDays),
		SnapshotWindow:        cc.SnapshotWindow,
		MaintenanceWindow:     cc.MaintenanceWindow,
		AuthTokenGenerations:  cc.AuthTokenGenerations,
		VpcID:                 r.Network.VpcID,
		SubnetIDs:             r.Network.PrivateSubnetIDs,
		ClientSecurityGroupID: r.PodSecurity.ID,
		GlobalPrimary:         r.member != nil && r.member.CachePrimary,
		GlobalSecondary:       r.cacheSecondary(),
		Protect:               cfg.Teardown.Protect,
		Namer:                 r.Namer,
		Tags:                  r.Tags,
	}, awsOnly)
	if err != nil {
		return err
	}

	var serverless *database.Serverless
	if dc.Serverless {
		serverless = &database.Serverless{MinACU: dc.ServerlessMinACU, MaxACU: dc.ServerlessMaxACU}
	}
	r.Database, err = database.NewDatabase(ctx, r.Namer.Name("db"), &database.Args{
		EngineVersion:                    dc.EngineVersion,
		InstanceClass:                    dc.InstanceClass,
		Serverless:                       serverless,
		Readers:                          dc.Readers,
		AvailabilityZones:                r.Network.AvailabilityZones[:database.ZoneCount],
		DatabaseName:                     dc.Name,
		MasterUsername:                   dc.MasterUsername,
		BackupRetentionDays:              dc.BackupRetentionDays,
		BackupWindow:                     dc.BackupWindow,
		MaintenanceWindow:                dc.MaintenanceWindow,
		PerformanceInsightsRetentionDays: dc.PIRetentionDays,
		// Where the stack protects its stateful resources from `pulumi
		// destroy`, AWS protects the cluster from any other deletion too.
		DeletionProtection: cfg.Teardown.DeletionProtection,
		// dev must stay removable by `pulumi destroy`; other stacks keep a
		// last snapshot.
		FinalSnapshot:         cfg.Teardown.FinalSnapshot,
		VpcID:                 r.Network.VpcID,
		SubnetIDs:             r.Network.PrivateSubnetIDs,
		ClientSecurityGroupID: r.PodSecurity.ID,
		Global:                r.databaseMember(),
		Protect:               cfg.Teardown.Protect,
		Namer:                 r.Namer,
		Tags:                  r.Tags,
	}, awsOnly)
	return err
}

func (r *Region) cacheSecondary() *cache.GlobalSecondary {
	if r.member == nil {
		return nil
	}
	return r.member.CacheSecondary
}

func (r *Region) databaseMember() *database.GlobalMember {
	if r.member == nil {
		return nil
	}
	return r.member.Database
}
