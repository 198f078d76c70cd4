package tests

// The tables the code keeps of what AWS accepts, restated here from their
// sources: a wrong entry in the code's copy fails against these.

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/database"
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

func TestFargateSizesAreTheDocumentedTable(t *testing.T) {
	// EKS user guide, "Fargate pod configuration": vCPU and memory values,
	// memory in 1 GB steps within each vCPU's range.
	table := map[float64][2]float64{0.25: {0.5, 2}, 0.5: {1, 4}, 1: {2, 8}, 2: {4, 16}, 4: {8, 30}}
	for vcpu, r := range table {
		assert.True(t, authservice.ValidFargateCPU(vcpu), "%v vCPU", vcpu)
		if vcpu == 0.25 {
			for _, m := range []float64{0.5, 1, 2} {
				assert.NoError(t, authservice.FargateSize{VCPU: vcpu, MemoryGiB: m}.Check(), "%v vCPU %v GB", vcpu, m)
			}
			assert.Error(t, authservice.FargateSize{VCPU: vcpu, MemoryGiB: 3}.Check())
			continue
		}
		for m := r[0]; m <= r[1]; m++ {
			assert.NoError(t, authservice.FargateSize{VCPU: vcpu, MemoryGiB: m}.Check(), "%v vCPU %v GB", vcpu, m)
		}
		assert.Error(t, authservice.FargateSize{VCPU: vcpu, MemoryGiB: r[0] - 1}.Check(), "%v vCPU %v GB", vcpu, r[0]-1)
		assert.Error(t, authservice.FargateSize{VCPU: vcpu, MemoryGiB: r[1] + 1}.Check(), "%v vCPU %v GB", vcpu, r[1]+1)
		assert.Error(t, authservice.FargateSize{VCPU: vcpu, MemoryGiB: r[0] + 0.5}.Check(), "whole GB steps")
	}
	for _, vcpu := range []float64{0.125, 0.75, 3, 8} {
		assert.False(t, authservice.ValidFargateCPU(vcpu), "%v vCPU", vcpu)
	}
}

func TestPostgresReservedNamesAreRefused(t *testing.T) {
	// RDS user guide, "Naming constraints" for Aurora PostgreSQL, and the
	// built-in roles and databases of PostgreSQL and RDS.
	for _, name := range []string{"postgres", "template0", "template1", "rdsadmin", "POSTGRES"} {
		assert.ErrorContains(t, database.CheckIdentifier("database name", name), "reserved", name)
	}
	for _, name := range []string{"rdsadmin", "rdsrepladmin", "rds_superuser", "rds_iam", "user", "public", "Public"} {
		assert.ErrorContains(t, database.CheckIdentifier("master username", name), "reserved", name)
	}
	for _, tc := range []struct{ kind, name string }{
		{"database name", "auth"}, {"database name", "rds_iam"}, {"master username", "postgres"}, {"master username", "authadmin"},
	} {
		assert.NoError(t, database.CheckIdentifier(tc.kind, tc.name), "%s %s", tc.kind, tc.name)
	}
}

func TestEveryAWSProviderSettingNotPassedOnIsRefusedByName(t *testing.T) {
	// pulumi-aws v6 ProviderArgs the stacks do not give to their explicit
	// providers: set in a stack, each would silently do nothing.
	for _, name := range []string{
		"customCaBundle", "defaultTags", "ec2MetadataServiceEndpoint", "ec2MetadataServiceEndpointMode",
		"endpoints", "httpProxy", "httpsProxy", "ignoreTags", "insecure", "noProxy",
		"s3UsEast1RegionalEndpoint", "s3UsePathStyle", "skipCredentialsValidation",
		"skipMetadataApiCheck", "skipRegionValidation", "skipRequestingAccountId",
		"tokenBucketRateLimiterCapacity", "useDualstackEndpoint", "useFipsEndpoint",
		"assumeRoles", "sharedCredentialsFile",
	} {
		_, err := stacks.Load(project, "test", stacks.MapSource(withConfig(validBase, map[string]string{"aws:" + name: "x"})))
		var cerr *stacks.ConfigError
		if assert.ErrorAs(t, err, &cerr, "aws:%s", name) {
			assert.Contains(t, problemKeys(cerr.Problems), "aws:"+name)
		}
	}
}

func TestGuardDutyFindingsFromHighSeverityReachTheTopic(t *testing.T) {
	res := planStack(t, "prod-global")
	var rules []string
	for _, r := range ofType(res, "aws:cloudwatch/eventRule:EventRule") {
		if strings.HasSuffix(r.Name, "-guardduty-findings") {
			rules = append(rules, str(t, r, "eventPattern"))
		}
	}
	require.NotEmpty(t, rules, "GuardDuty is on in one region of prod-global")
	for _, p := range rules {
		// GuardDuty severities: High is 7.0-8.9, Critical 9.0-10.0
		// (GuardDuty user guide, "Severity levels of GuardDuty findings").
		assert.JSONEq(t, `{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"],"detail":{"severity":[{"numeric":[">=",7]}]}}`, p)
	}
}
