package tests

// The dependency state is alarmed (issue 22 item 1): the service's
// dependency_down log lines become a metric per dependency and shard, and
// an alarm per dependency notifies the stack's topic.

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

const metricFilterType = "aws:cloudwatch/logMetricFilter:LogMetricFilter"

// jsonFilterMatches evaluates a CloudWatch Logs JSON filter pattern made
// of string comparisons joined by && (the subset these filters use;
// CloudWatch Logs User Guide, "Filter pattern syntax", JSON log events):
// a selector on a missing field matches neither = nor !=.
func jsonFilterMatches(t *testing.T, pattern string, event map[string]string) bool {
	t.Helper()
	body := strings.TrimSpace(pattern)
	require.True(t, strings.HasPrefix(body, "{") && strings.HasSuffix(body, "}"), "a JSON pattern: %s", pattern)
	body = strings.TrimSuffix(strings.TrimPrefix(body, "{"), "}")
	cond := regexp.MustCompile(`^\(?\s*\$\.([A-Za-z0-9_-]+)\s*(=|!=)\s*"([^"]*)"\s*\)?$`)
	for _, part := range strings.Split(body, "&&") {
		m := cond.FindStringSubmatch(strings.TrimSpace(part))
		require.NotNil(t, m, "condition %q of %s", part, pattern)
		v, ok := event[m[1]]
		if !ok || (m[2] == "=") != (v == m[3]) {
			return false
		}
	}
	return true
}

func TestDependencyEventsBecomeMetricsAndAlarms(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)
			group := one(t, c.res, "aws:cloudwatch/logGroup:LogGroup", "-service-logs")
			prefix := strings.TrimSuffix(group.Name, "-service-logs")
			namespace := "AuthPlatform/" + prefix
			filters := nonEmpty(t, ofType(c.res, metricFilterType), "metric filter")
			var depFilters []*mocks.Resource
			for _, f := range filters {
				if strings.Contains(f.Name, "-dependency-down-") {
					depFilters = append(depFilters, f)
				}
			}
			require.Len(t, depFilters, 2, "one filter for Redis (with its shard), one for PostgreSQL")
			for _, f := range depFilters {
				assert.Equal(t, str(t, group, "name"), str(t, f, "logGroupName"), f.Name)
				assert.Contains(t, f.Dependencies, group.URN, "%s waits for its log group", f.Name)
				mt := value(f.Inputs, "metricTransformation").(map[string]interface{})
				assert.Equal(t, "DependencyDown", mt["name"])
				assert.Equal(t, namespace, mt["namespace"])
				assert.Equal(t, "1", mt["value"])
				assert.Nil(t, mt["defaultValue"], "CloudWatch refuses a default value with dimensions")
			}

			// What each event of the service's contract publishes.
			for _, tc := range []struct {
				event map[string]string
				dims  map[string]string // nil: no metric
			}{
				{map[string]string{"event": "dependency_down", "dependency": "redis", "shard": "0-5460"},
					map[string]string{"Dependency": "redis", "Shard": "0-5460"}},
				{map[string]string{"event": "dependency_down", "dependency": "redis", "shard": "5461-10922"},
					map[string]string{"Dependency": "redis", "Shard": "5461-10922"}},
				{map[string]string{"event": "dependency_down", "dependency": "postgres-writer", "shard": ""},
					map[string]string{"Dependency": "postgres-writer"}},
				{map[string]string{"event": "dependency_down", "dependency": "postgres-reader", "shard": ""},
					map[string]string{"Dependency": "postgres-reader"}},
				{map[string]string{"event": "dependency_up", "dependency": "redis", "shard": "0-5460"}, nil},
				{map[string]string{"event": "dependency_up", "dependency": "postgres-writer", "shard": ""}, nil},
				{map[string]string{"msg": "listening", "port": "8080"}, nil},
			} {
				var published []map[string]string
				for _, f := range depFilters {
					if !jsonFilterMatches(t, str(t, f, "pattern"), tc.event) {
						continue
					}
					dims := map[string]string{}
					for name, sel := range value(f.Inputs, "metricTransformation.dimensions").(map[string]interface{}) {
						dims[name] = tc.event[strings.TrimPrefix(sel.(string), "$.")]
						// CloudWatch API reference, Dimension: a value has
						// a non-whitespace character.
						assert.NotEmpty(t, strings.TrimSpace(dims[name]), "%s: dimension %s of %v", f.Name, name, tc.event)
					}
					published = append(published, dims)
				}
				if tc.dims == nil {
					assert.Empty(t, published, "%v publishes nothing", tc.event)
				} else {
					assert.Equal(t, []map[string]string{tc.dims}, published, "%v", tc.event)
				}
			}

			// One alarm per dependency, summing its metric over every shard.
			topic := one(t, c.res, "aws:sns/topic:Topic", "-alarms").Outputs["arn"].StringValue()
			for _, dep := range []string{"postgres-writer", "postgres-reader", "redis"} {
				a := one(t, c.res, alarmType, "-dependency-down-"+dep)
				q := value(a.Inputs, "metricQueries").([]interface{})
				require.Len(t, q, 1)
				query := q[0].(map[string]interface{})
				assert.Equal(t, `SELECT SUM(DependencyDown) FROM "`+namespace+`" WHERE Dependency = '`+dep+`'`, query["expression"])
				assert.Equal(t, float64(60), query["period"])
				assert.Equal(t, true, query["returnData"])
				assert.Nil(t, value(a.Inputs, "period"), "the period is the query's")
				assert.Equal(t, "GreaterThanOrEqualToThreshold", str(t, a, "comparisonOperator"))
				assert.Equal(t, float64(1), value(a.Inputs, "threshold"))
				assert.Equal(t, float64(2), value(a.Inputs, "evaluationPeriods"))
				assert.Equal(t, float64(2), value(a.Inputs, "datapointsToAlarm"))
				assert.Equal(t, "notBreaching", str(t, a, "treatMissingData"), "no line means nothing is down")
				assert.Equal(t, []interface{}{topic}, value(a.Inputs, "alarmActions"))
				assert.Equal(t, []interface{}{topic}, value(a.Inputs, "okActions"))
				for _, f := range depFilters {
					assert.Contains(t, a.DependsOn, f.URN, "%s waits for the filters", a.Name)
				}
			}
		})
	}
}

func TestJSONFilterMatcherFollowsCloudWatch(t *testing.T) {
	ev := map[string]string{"eventType": "UpdateTrail", "user": "a"}
	assert.True(t, jsonFilterMatches(t, `{ $.eventType = "UpdateTrail" }`, ev))
	assert.False(t, jsonFilterMatches(t, `{ $.eventType = "Update" }`, ev))
	assert.True(t, jsonFilterMatches(t, `{ ($.eventType = "UpdateTrail") && ($.user != "b") }`, ev))
	assert.False(t, jsonFilterMatches(t, `{ ($.eventType = "UpdateTrail") && ($.missing != "b") }`, ev))
}
