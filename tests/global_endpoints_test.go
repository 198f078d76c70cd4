package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

// Issue 11 item 3: every region becomes Ready.

// isGlobalSecondary tells an Aurora global secondary by what AWS makes it
// one: a member of a global cluster created without a master user (it
// replicates the primary's).
func isGlobalSecondary(cluster *mocks.Resource) bool {
	return value(cluster.Inputs, "globalClusterIdentifier") != nil && value(cluster.Inputs, "masterUsername") == nil
}

// appEndpoint is the endpoint that takes the application's writes for the
// cluster's role. RDS DescribeDBClusterEndpoints: the writer endpoint of a
// read-only secondary cluster is "inactive" (it does not resolve); the
// secondary's reader endpoint forwards writes when write forwarding is on
// (Aurora User Guide, "Using write forwarding in an Aurora PostgreSQL
// global database").
func appEndpoint(t *testing.T, cluster *mocks.Resource) string {
	t.Helper()
	if isGlobalSecondary(cluster) {
		require.Equal(t, true, value(cluster.Inputs, "enableGlobalWriteForwarding"), "a secondary's reader endpoint takes writes only with write forwarding")
		return cluster.Outputs["readerEndpoint"].StringValue()
	}
	return cluster.Outputs["endpoint"].StringValue()
}

func TestEveryRegionsDBHostIsAnEndpointActiveForItsRole(t *testing.T) {
	secondaries := 0
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			cluster := one(t, rp.res, "aws:rds/cluster:Cluster", "-aurora")
			cm := one(t, rp.res, configMapType, "-auth-config")
			host := value(cm.Inputs, "data.DB_HOST")
			if isGlobalSecondary(cluster) {
				secondaries++
				assert.NotEqual(t, cluster.Outputs["endpoint"].StringValue(), host, "the secondary's writer endpoint is inactive")
			}
			assert.Equal(t, appEndpoint(t, cluster), host)
			// Reads stay local in every region.
			assert.Equal(t, cluster.Outputs["readerEndpoint"].StringValue(), value(cm.Inputs, "data.DB_READER_HOST"))
		})
	}
	assert.Equal(t, 1, secondaries, "prod-global has one secondary region")
}

func TestASecondarysAlarmsFitAClusterWithoutAWriter(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			cluster := one(t, rp.res, "aws:rds/cluster:Cluster", "-aurora")
			secondary := isGlobalSecondary(cluster)
			alarms := ofType(rp.res, "aws:cloudwatch/metricAlarm:MetricAlarm")
			require.NotEmpty(t, alarms)
			writerAlarms := 0
			for _, a := range alarms {
				dims, _ := value(a.Inputs, "dimensions").(map[string]interface{})
				if dims["Role"] == "WRITER" {
					writerAlarms++
					// A secondary has no WRITER instance: no data, ever.
					assert.False(t, secondary, "%s watches a writer the secondary does not have", a.Name)
				}
			}
			if secondary {
				reader := one(t, rp.res, "aws:cloudwatch/metricAlarm:MetricAlarm", "-db-reader-cpu")
				assert.Equal(t, "READER", value(reader.Inputs, "dimensions.Role"))
				lag := one(t, rp.res, "aws:cloudwatch/metricAlarm:MetricAlarm", "-db-global-replication-lag")
				assert.Equal(t, "AuroraGlobalDBReplicationLag", str(t, lag, "metricName"))
				assert.Equal(t, "notBreaching", str(t, lag, "treatMissingData"))
			} else {
				assert.Equal(t, 1, writerAlarms, "the writer is watched where there is one")
			}
		})
	}
}
