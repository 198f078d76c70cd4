package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/alarms"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/stacks"
)

// The session's absolute lifetime has one stated bound: the range of
// SESSION_TTL_SECONDS in the service's environment.txt. The stack's
// sessionTtlSeconds validation refuses past the same number (issue 25,
// M8); its lower bound is the stack's own (a minute).
func TestSessionLifetimeBoundIsTheServices(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd", "auth-service", "internal", "config", "environment.txt"))
	require.NoError(t, err)
	re := regexp.MustCompile(`(?m)^SESSION_TTL_SECONDS\s.*\[(\d+)-(\d+)\]$`)
	m := re.FindStringSubmatch(string(b))
	require.NotNil(t, m, "environment.txt states SESSION_TTL_SECONDS's range")
	hi, _ := strconv.Atoi(m[2])
	assert.Equal(t, hi, stacks.MaxSessionTTL)
	lo, _ := strconv.Atoi(m[1])
	assert.LessOrEqual(t, lo, stacks.MinSessionTTL)
}

// Review M5 on the platform: the pods read the application role's secret
// and may read nothing else of the database's; a migration Job, with a
// service account of its own, holds the master secret, runs `migrate`
// before any Deployment, and its pods are never the Service's.
func TestServiceReadsTheAppSecretAndTheJobAloneTheMaster(t *testing.T) {
	res := planStack(t, "dev")
	appSecret := one(t, res, "aws:secretsmanager/secret:Secret", "-db-app")
	appArn := appSecret.Outputs["arn"].StringValue()
	require.NotEmpty(t, appArn)
	// Its first version names the role only (Pulumi marks it secret, so
	// the plan shows no value): the migrate step makes the password.
	one(t, res, "aws:secretsmanager/secretVersion:SecretVersion", "-db-app")
	assert.Equal(t, "auth_app", database.AppRoleName)

	var cm map[string]interface{}
	for _, c := range ofType(res, "kubernetes:core/v1:ConfigMap") {
		if d, ok := value(c.Inputs, "data").(map[string]interface{}); ok && d["DB_SECRET_ARN"] != nil {
			cm = d
		}
	}
	require.NotNil(t, cm)
	assert.Equal(t, appArn, cm["DB_SECRET_ARN"], "the pods read the application role's secret")
	assert.Equal(t, "1800", cm["SESSION_IDLE_SECONDS"])

	jobs := ofType(res, "kubernetes:batch/v1:Job")
	require.Len(t, jobs, 1)
	job := jobs[0]
	c := value(job.Inputs, "spec.template.spec.containers.0").(map[string]interface{})
	assert.Equal(t, []interface{}{"migrate"}, c["args"])
	env := map[string]string{}
	for _, e := range c["env"].([]interface{}) {
		m := e.(map[string]interface{})
		env[m["name"].(string)], _ = m["value"].(string)
	}
	master := env["DB_SECRET_ARN"]
	assert.NotEmpty(t, master)
	assert.NotEqual(t, appArn, master)
	assert.Equal(t, appArn, env["APP_DB_SECRET_ARN"])
	assert.Equal(t, authservice.MigrateName, str(t, job, "spec.template.spec.serviceAccountName"))
	labels := value(job.Inputs, "spec.template.metadata.labels").(map[string]interface{})
	assert.Equal(t, authservice.MigrateName, labels["app.kubernetes.io/name"], "never selected by the Service")
	assert.NotEmpty(t, labels[authservice.ZoneLabel], "a zone's Fargate profile takes it")

	// Every Deployment waits for the Job.
	for _, d := range ofType(res, "kubernetes:apps/v1:Deployment") {
		assert.Contains(t, d.DependsOn, job.URN, d.Name)
	}
	// The serving role's policy names the app secret and not the master's;
	// the Job's role names both and may write only the app secret.
	for _, p := range ofType(res, "aws:iam/rolePolicy:RolePolicy") {
		doc := str(t, p, "policy")
		switch {
		case strings.HasSuffix(p.Name, "-auth-irsa"):
			assert.Contains(t, doc, appArn)
			assert.NotContains(t, doc, master, "the pods cannot read the master secret")
		case strings.HasSuffix(p.Name, "-auth-migrate-irsa"):
			assert.Contains(t, doc, master)
			assert.Contains(t, doc, `"secretsmanager:PutSecretValue"`)
		}
	}
}

// Review M7 on the platform: the audit events' failed and refused logins
// are counted by a metric filter on the service's log group, and a surge
// raises an alarm to the stack's topic.
func TestLoginFailuresAreCountedAndASurgeAlarms(t *testing.T) {
	res := planStack(t, "dev")
	filter := one(t, res, "aws:cloudwatch/logMetricFilter:LogMetricFilter", "-login-failures")
	assert.Equal(t, alarms.AuditLoginFailurePattern, str(t, filter, "pattern"))
	assert.Contains(t, str(t, filter, "logGroupName"), "auth-service")
	assert.Equal(t, alarms.LoginFailureMetric, str(t, filter, "metricTransformation.name"))
	alarm := one(t, res, "aws:cloudwatch/metricAlarm:MetricAlarm", "-login-failure-surge")
	assert.Equal(t, alarms.LoginFailureMetric, str(t, alarm, "metricName"))
	assert.Equal(t, float64(alarms.LoginFailureSurge), value(alarm.Inputs, "threshold"))
	topic := one(t, res, "aws:sns/topic:Topic", "-alarms")
	assert.Equal(t, []interface{}{topic.Outputs["arn"].StringValue()}, value(alarm.Inputs, "alarmActions"))
	assert.Contains(t, alarm.DependsOn, filter.URN)
}
