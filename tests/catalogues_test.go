package tests

// The tables the code keeps of what AWS accepts, restated here from their
// sources: a wrong entry in the code's copy fails against these.

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/waf"
	"github.com/authplatform/auth-platform/stacks"
)

func TestLogRetentionsAreExactlyTheOnesCloudWatchAccepts(t *testing.T) {
	// CloudWatch Logs API reference, PutRetentionPolicy, retentionInDays.
	accepted := []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	ok := map[int]bool{}
	for _, d := range accepted {
		ok[d] = true
	}
	for _, key := range []string{"wafLogRetentionDays", "flowLogsRetentionDays"} {
		for _, d := range accepted {
			for _, n := range []int{d - 1, d, d + 1} {
				if n < 1 {
					continue
				}
				_, err := stacks.Load(project, "test", stacks.MapSource(withConfig(validBase, map[string]string{"auth-platform:" + key: strconv.Itoa(n)})))
				if ok[n] {
					assert.NoError(t, err, "%s=%d is a period CloudWatch Logs accepts", key, n)
				} else {
					require.Error(t, err, "%s=%d is not a CloudWatch Logs period", key, n)
					assert.Contains(t, err.Error(), "CloudWatch Logs does not accept a retention of "+strconv.Itoa(n)+" days")
				}
			}
		}
	}
}

func TestWAFRuleGroupCapacitiesAreAWSs(t *testing.T) {
	// AWS WAF Developer Guide, "AWS Managed Rules rule groups list": the
	// capacity (WCU) of each group without a subscription fee.
	assert.Equal(t, map[string]int{
		"AWSManagedRulesCommonRuleSet":          700,
		"AWSManagedRulesKnownBadInputsRuleSet":  200,
		"AWSManagedRulesAmazonIpReputationList": 25,
		"AWSManagedRulesAnonymousIpList":        50,
		"AWSManagedRulesAdminProtectionRuleSet": 100,
		"AWSManagedRulesSQLiRuleSet":            200,
		"AWSManagedRulesLinuxRuleSet":           200,
		"AWSManagedRulesUnixRuleSet":            100,
		"AWSManagedRulesWindowsRuleSet":         200,
		"AWSManagedRulesPHPRuleSet":             100,
		"AWSManagedRulesWordPressRuleSet":       100,
	}, waf.ManagedRuleGroupCapacity)
	// A web ACL's base price covers 1500 WCU (AWS WAF pricing).
	assert.Equal(t, 1500, waf.MaxCapacity)
}
