package tests

// Issue 23, D-2: after an Aurora Global Database switchover or failover the
// stack follows with one configuration change, globalPrimaryRegion, and a
// `pulumi up`: the promoted region's pods move to its writer endpoint, the
// demoted region's to its reader endpoint (write forwarding), through a new
// immutable ConfigMap and a rolling update, and nothing stateful changes.

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/naming"
)

const (
	auroraType    = "aws:rds/cluster:Cluster"
	metricAlarmTy = "aws:cloudwatch/metricAlarm:MetricAlarm"
)

// regionResource is the one resource of a type and name suffix in a region.
func regionResource(t *testing.T, res *mocks.Result, region, typ, suffix string) *mocks.Resource {
	t.Helper()
	var found []*mocks.Resource
	for _, r := range ofType(res, typ) {
		if strings.Contains(r.Name, "-"+naming.RegionCode(region)+"-") && strings.HasSuffix(r.Name, suffix) {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "want one %s *%s in %s", typ, suffix, region)
	return found[0]
}

// writerAlarmRegions lists the regions with an alarm on a WRITER instance.
func writerAlarmRegions(res *mocks.Result) []string {
	var out []string
	for _, a := range ofType(res, metricAlarmTy) {
		if dims, _ := value(a.Inputs, "dimensions").(map[string]interface{}); dims["Role"] == "WRITER" {
			out = append(out, a.Region) // an AWS resource: its provider's region
		}
	}
	sort.Strings(out)
	return out
}

func TestGlobalPrimaryRegionMovesDBHostAndNothingStateful(t *testing.T) {
	before := planStack(t, "prod-global")
	after := planWith(t, "prod-global", "globalPrimaryRegion", "us-west-2", nil)

	for _, tc := range []struct {
		res    *mocks.Result
		writer string
		reader string
	}{{before, "us-east-1", "us-west-2"}, {after, "us-west-2", "us-east-1"}} {
		w := regionResource(t, tc.res, tc.writer, auroraType, "-aurora")
		r := regionResource(t, tc.res, tc.reader, auroraType, "-aurora")
		assert.Equal(t, w.Outputs["endpoint"].StringValue(),
			value(regionResource(t, tc.res, tc.writer, configMapType, "-auth-config").Inputs, "data.DB_HOST"),
			"the writer region writes to its cluster's writer endpoint")
		assert.Equal(t, r.Outputs["readerEndpoint"].StringValue(),
			value(regionResource(t, tc.res, tc.reader, configMapType, "-auth-config").Inputs, "data.DB_HOST"),
			"the other region writes through its reader endpoint, its writer endpoint being inactive")
		for _, c := range []*mocks.Resource{w, r} {
			assert.Equal(t, true, value(c.Inputs, "enableGlobalWriteForwarding"),
				"%s forwards writes whenever it is a secondary, the demoted primary too", c.Name)
		}
		assert.Equal(t, []string{tc.writer}, writerAlarmRegions(tc.res), "the writer's alarm follows the writer")
	}

	// What the switch changes: the ConfigMaps' data, the alarms on the
	// writer and the dashboards (their database widget reads the writer's
	// role where the writer is; issue 27). Nothing else, and no stateful resource, is created, deleted
	// or given other inputs. A ConfigMap is immutable and auto-named, so the
	// Kubernetes provider replaces it with a new name and every Deployment
	// that names it rolls onto it (maxUnavailable 0); under the mocks the
	// name is the same in both plans, so the Deployments show no change.
	b, a := byURN(before), byURN(after)
	changedTypes := map[string]bool{}
	for urn, r := range b {
		other, ok := a[urn]
		switch {
		case !ok:
			changedTypes[r.Type+" (deleted)"] = true
		case !reflect.DeepEqual(r.Inputs, other.Inputs):
			changedTypes[r.Type] = true
		}
	}
	for urn, r := range a {
		if _, ok := b[urn]; !ok {
			changedTypes[r.Type+" (created)"] = true
		}
	}
	var changed []string
	for typ := range changedTypes {
		changed = append(changed, typ)
	}
	sort.Strings(changed)
	assert.Equal(t, []string{"aws:cloudwatch/dashboard:Dashboard", metricAlarmTy + " (created)", metricAlarmTy + " (deleted)", configMapType}, changed)
	for _, region := range []string{"us-east-1", "us-west-2"} {
		cm := regionResource(t, after, region, configMapType, "-auth-config")
		assert.Equal(t, true, value(cm.Inputs, "immutable"), "a changed ConfigMap is replaced, not patched")
		assert.Nil(t, value(cm.Inputs, "metadata.name"), "auto-named: the replacement gets a new name")
		name := cm.Outputs["metadata"].ObjectValue()["name"].StringValue()
		deployments := 0
		for _, d := range ofType(after, "kubernetes:apps/v1:Deployment") {
			if strings.Contains(d.Name, "-"+naming.RegionCode(region)+"-") {
				deployments++
				from := value(d.Inputs, "spec.template.spec.containers.0.envFrom.0.configMapRef.name")
				assert.Equal(t, name, from, "%s rolls onto the new ConfigMap", d.Name)
			}
		}
		assert.Equal(t, 3, deployments, region)
	}
}

// TestGlobalMembersIgnoreWhatAPromotionRewrites: after a switchover or
// failover, DescribeDBClusters reports the demoted cluster's
// ReplicationSourceIdentifier (the new writer's ARN), and the provider reads
// it back (terraform-provider-aws internal/service/rds/cluster.go,
// resourceClusterRead). Not ignored, the next `up` would see the program's
// empty value as a change and resourceClusterUpdate would call
// PromoteReadReplicaDBCluster, taking the cluster out of the global
// database; a changed globalClusterIdentifier would call
// RemoveFromGlobalCluster. So every member ignores both, and engineVersion
// (the global cluster upgrades members).
func TestGlobalMembersIgnoreWhatAPromotionRewrites(t *testing.T) {
	res := planStack(t, "prod-global")
	clusters := ofType(res, auroraType)
	require.Len(t, clusters, 2)
	for _, c := range clusters {
		assert.Subset(t, c.Options.IgnoreChanges,
			[]string{"replicationSourceIdentifier", "globalClusterIdentifier", "engineVersion"}, c.Name)
	}
	global := ofType(res, "aws:rds/globalCluster:GlobalCluster")
	require.Len(t, global, 1)
	assert.Nil(t, value(global[0].Inputs, "sourceDbClusterIdentifier"),
		"the global cluster names no source member a promotion would contradict")
}

func TestGlobalPrimaryRegionMustBeOneOfTheRegions(t *testing.T) {
	global, _ := stackConfig(t, "prod-global")
	dev, _ := stackConfig(t, "dev")
	for _, tc := range []struct {
		name    string
		cfg     map[string]string
		message string
	}{
		{"a region the stack does not have", withConfig(global, map[string]string{q("globalPrimaryRegion"): "eu-west-1"}),
			"the global database's writer must be one of its members"},
		{"a single-region stack", withConfig(dev, map[string]string{q("globalPrimaryRegion"): "us-east-1"}),
			"globalPrimaryRegion applies only to a stack with regions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, tc.cfg, q("globalPrimaryRegion"), tc.message)
		})
	}
}

// TestFailoverRunbookGoesThroughTheStack holds README's runbook to what
// works: the key and `pulumi up`, no patch of the immutable ConfigMap, no
// whole-stack refresh, and the cluster identifier the plan gives the
// secondary's Aurora cluster.
func TestFailoverRunbookGoesThroughTheStack(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	text := string(readme)
	start := strings.Index(text, "### Failover runbook")
	end := strings.Index(text, "### What an AZ outage does to each tier")
	require.True(t, start >= 0 && end > start, "README has the runbook section")
	runbook := text[start:end]

	assert.Contains(t, runbook, "pulumi config set -s $S auth-platform:globalPrimaryRegion $W")
	assert.Contains(t, runbook, "pulumi up -s $S")
	assert.NotContains(t, runbook, "patch configmap", "the ConfigMap is immutable")
	for i := strings.Index(runbook, "pulumi refresh"); i >= 0; {
		line := runbook[i:]
		if j := strings.IndexAny(line, "`\n"); j >= 0 {
			line = line[:j]
		}
		assert.Contains(t, line, "--target", "a refresh in the runbook is targeted: %q", line)
		next := strings.Index(runbook[i+1:], "pulumi refresh")
		if next < 0 {
			break
		}
		i += 1 + next
	}
	secondary := regionResource(t, planStack(t, "prod-global"), "us-west-2", auroraType, "-aurora")
	assert.Contains(t, runbook, "--db-cluster-identifier "+str(t, secondary, "clusterIdentifier"))
}
