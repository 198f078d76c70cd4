package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Data-store type tokens.
const (
	typeReplicationGroup = "aws:elasticache/replicationGroup:ReplicationGroup"
	typeGlobalCacheGroup = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
	typeRDSCluster       = "aws:rds/cluster:Cluster"
	typeRDSGlobalCluster = "aws:rds/globalCluster:GlobalCluster"
	typeRDSInstance      = "aws:rds/clusterInstance:ClusterInstance"
	typeDBInstance       = "aws:rds/instance:Instance"
)

// MinBackupRetentionDays is the least Aurora backup retention.
const MinBackupRetentionDays = 7

// requireTrue judges a boolean property that must be true and whose
// provider default, when unset, is false (every one the policies judge). It
// returns "" when the value is true or not known yet, else how it reads.
func requireTrue(r *Resource, prop string) string {
	v := r.get(prop)
	if isUnknown(v) {
		return ""
	}
	b, ok := asBool(v)
	switch {
	case v == nil:
		return "unset (false)"
	case !ok:
		return show(v)
	case !b:
		return "false"
	}
	return ""
}

// globalPrimary tells whether a replication group is a secondary member of
// a Global Datastore (globalReplicationGroupId set), and then returns the
// primary it inherits engine, cluster mode and encryption from, when the
// stack holds it.
func (s *Stack) globalPrimary(r *Resource) (member bool, primary *Resource, global string) {
	g := r.get("globalReplicationGroupId")
	if g == nil {
		return false, nil, ""
	}
	global, ok := asString(g)
	if !ok {
		global = "(not known yet)"
	}
	for _, grp := range s.resolve(r, "globalReplicationGroupId", g, typeGlobalCacheGroup).Found {
		for _, p := range s.resolve(grp, "primaryReplicationGroupId", grp.get("primaryReplicationGroupId"), typeReplicationGroup).Found {
			if p.URN != r.URN {
				return true, p, global
			}
		}
	}
	return true, nil, global
}

// inherited judges a setting a Global Datastore secondary takes from its
// primary: done is true when there is nothing more to check on r itself
// (the primary is judged on its own), and msg reports a primary outside
// the stack.
func (s *Stack) inherited(r *Resource, prop, fix string) (done bool, msg string) {
	member, primary, global := s.globalPrimary(r)
	if !member || r.get(prop) != nil {
		return false, ""
	}
	if primary != nil {
		return true, ""
	}
	return true, problem(r, fix, "joins Global Datastore %s, whose primary is not in this stack, so its inherited %s cannot be proven", global, prop)
}

func checkCacheClusterMode(s *Stack) []Finding {
	return eachOf(s, []string{typeReplicationGroup}, func(r *Resource) []string {
		var out []string
		const fix = `set clusterMode: "enabled" and automaticFailoverEnabled: true (the cache component does)`
		if done, msg := s.inherited(r, "clusterMode", fix); done {
			if msg != "" {
				out = append(out, msg)
			}
		} else if v := r.get("clusterMode"); !isUnknown(v) {
			if m, _ := asString(v); m != "enabled" {
				shown := show(v)
				if v == nil {
					shown = `unset ("disabled")`
				}
				out = append(out, problem(r, fix, "clusterMode is %s: one primary holds every session and a failover moves them all", shown))
			}
		}
		if got := requireTrue(r, "automaticFailoverEnabled"); got != "" {
			out = append(out, problem(r, fix, "automaticFailoverEnabled is %s: a failed primary stays down until someone promotes a replica", got))
		}
		return out
	})
}

func checkCacheMultiAZ(s *Stack) []Finding {
	return eachOf(s, []string{typeReplicationGroup}, func(r *Resource) []string {
		if got := requireTrue(r, "multiAzEnabled"); got != "" {
			return []string{problem(r, "set multiAzEnabled: true (config cacheMultiAz)", "multiAzEnabled is %s: a shard's replicas may share its primary's AZ and go down with it", got)}
		}
		return nil
	})
}

func checkCacheReplicas(s *Stack) []Finding {
	return eachOf(s, []string{typeReplicationGroup}, func(r *Resource) []string {
		const fix = "set replicasPerNodeGroup to at least 1 (config cacheReplicasPerShard)"
		if v := r.get("replicasPerNodeGroup"); v != nil {
			if isUnknown(v) {
				return nil
			}
			if n, ok := asNumber(v); ok && n >= 1 {
				return nil
			}
			return []string{problem(r, fix, "replicasPerNodeGroup is %s: a shard without a replica loses its sessions with its node", show(v))}
		}
		if v := r.get("numCacheClusters"); v != nil {
			if isUnknown(v) {
				return nil
			}
			if n, ok := asNumber(v); ok && n >= 2 {
				return nil
			}
			return []string{problem(r, fix, "numCacheClusters is %s: no replica to fail over to", show(v))}
		}
		return []string{problem(r, fix, "sets no replicas (replicasPerNodeGroup unset, 0): a shard without a replica loses its sessions with its node")}
	})
}

func checkCacheTLS(s *Stack) []Finding {
	return eachOf(s, []string{typeReplicationGroup}, func(r *Resource) []string {
		const fix = `set transitEncryptionEnabled: true (and transitEncryptionMode "required" if set)`
		if done, msg := s.inherited(r, "transitEncryptionEnabled", fix); done {
			if msg != "" {
				return []string{msg}
			}
			return nil
		}
		if got := requireTrue(r, "transitEncryptionEnabled"); got != "" {
			return []string{problem(r, fix, "transitEncryptionEnabled is %s: session tokens and the AUTH token cross the VPC in clear", got)}
		}
		if m, ok := asString(r.get("transitEncryptionMode")); ok && m != "required" {
			return []string{problem(r, fix, "transitEncryptionMode is %q: clients may still connect without TLS", m)}
		}
		return nil
	})
}

func checkCacheAtRest(s *Stack) []Finding {
	return eachOf(s, []string{typeReplicationGroup}, func(r *Resource) []string {
		const fix = "set atRestEncryptionEnabled: true (config cacheAtRestEncryption)"
		if done, msg := s.inherited(r, "atRestEncryptionEnabled", fix); done {
			if msg != "" {
				return []string{msg}
			}
			return nil
		}
		if got := requireTrue(r, "atRestEncryptionEnabled"); got != "" {
			return []string{problem(r, fix, "atRestEncryptionEnabled is %s: sessions and their snapshots are stored unencrypted", got)}
		}
		return nil
	})
}

func checkAuroraEncrypted(s *Stack) []Finding {
	return eachOf(s, []string{typeRDSCluster}, func(r *Resource) []string {
		if got := requireTrue(r, "storageEncrypted"); got != "" {
			return []string{problem(r, "set storageEncrypted: true with the stack's KMS key (kmsKeyId); an existing cluster must be restored from a snapshot to encrypt it",
				"storageEncrypted is %s: user data, its backups and snapshots are stored unencrypted", got)}
		}
		return nil
	})
}

func checkAuroraBackups(s *Stack) []Finding {
	return eachOf(s, []string{typeRDSCluster}, func(r *Resource) []string {
		v := r.get("backupRetentionPeriod")
		if isUnknown(v) {
			return nil
		}
		days := 1.0 // the RDS default
		if f, ok := asNumber(v); ok {
			days = f
		}
		if days >= MinBackupRetentionDays {
			return nil
		}
		shown := formatNumber(days) + " day(s)"
		if v == nil {
			shown += " (unset: the RDS default)"
		}
		return []string{problem(r, fmt.Sprintf("set backupRetentionPeriod to at least %d (config dbBackupRetentionDays)", MinBackupRetentionDays),
			"keeps automated backups %s: a bad migration noticed after a weekend cannot be undone", shown)}
	})
}

// instancesOf returns the cluster instances of an Aurora cluster.
func (s *Stack) instancesOf(cluster *Resource) []*Resource {
	var out []*Resource
	for _, in := range s.OfType(typeRDSInstance) {
		if s.resolvesTo(in, "clusterIdentifier", cluster) {
			out = append(out, in)
		}
	}
	return out
}

func checkAuroraInstances(s *Stack) []Finding {
	return eachOf(s, []string{typeRDSCluster}, func(c *Resource) []string {
		if mode, _ := asString(c.get("engineMode")); mode == "serverless" {
			return []string{problem(c, "use engineMode provisioned with Serverless v2 instances (db.serverless) in distinct AZs",
				"uses Aurora Serverless v1, which runs in one AZ and has no instances to spread")}
		}
		ins := s.instancesOf(c)
		const fix = "add a reader (config dbReaders) and give every instance an availabilityZone of its own"
		if len(ins) < 2 {
			return []string{problem(c, fix, "has %d instance(s): a failed writer leaves nothing to fail over to", len(ins))}
		}
		zones := map[string][]string{}
		var unpinned []string
		for _, in := range ins {
			v := in.get("availabilityZone")
			if isUnknown(v) {
				return nil
			}
			az, ok := asString(v)
			if !ok || az == "" {
				unpinned = append(unpinned, in.Name)
				continue
			}
			zones[az] = append(zones[az], in.Name)
		}
		if len(unpinned) > 0 {
			return []string{problem(c, fix, "instance(s) %s have no availabilityZone: RDS may place them in the writer's zone", strings.Join(unpinned, ", "))}
		}
		if len(zones) < 2 {
			var names []string
			for az := range zones {
				names = append(names, az)
			}
			sort.Strings(names)
			return []string{problem(c, fix, "all %d instances are in %s: the database goes down with that zone", len(ins), strings.Join(names, ", "))}
		}
		return nil
	})
}

func checkAuroraDeletionProtection(s *Stack) []Finding {
	var protected *Resource
	for _, r := range s.Resources {
		if r.Protect {
			protected = r
			break
		}
	}
	var out []Finding
	// A global cluster is deleted by one API call too (after its members
	// leave it), and with it the identity the regions replicate under.
	for _, c := range s.OfType(typeRDSCluster, typeRDSGlobalCluster) {
		if !c.Protect && protected == nil {
			continue
		}
		why := "the stack protects its stateful resources (" + protected.describe() + " is protected)"
		if c.Protect {
			why = "the stack protects it (protect: true)"
		}
		if got := requireTrue(c, "deletionProtection"); got != "" {
			out = append(out, Finding{URN: c.URN, Message: problem(c,
				"set deletionProtection: true in every stack with protectStatefulResources: true",
				"deletionProtection is %s although %s: outside Pulumi, one API call deletes the database", got, why)})
		}
	}
	return out
}
