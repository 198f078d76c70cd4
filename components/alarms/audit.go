package alarms

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The service's audit events (cmd/auth-service/internal/audit, issue 25
// M7): one JSON line per login decision, {"event":"audit","action":"login",
// "outcome":"failure"|"refused"|…}. A metric filter counts the failed and
// refused logins; an alarm on a surge notifies the stack's topic.
const (
	AuditLoginFailurePattern = `{ $.event = "audit" && $.action = "login" && ($.outcome = "failure" || $.outcome = "refused") }`
	LoginFailureMetric       = "LoginFailures"
	// LoginFailureSurge failed or refused logins within five minutes raise
	// the alarm: three times what one address can send through the WAF's
	// login rate rule (100 per 5 minutes), so a surge means many addresses.
	LoginFailureSurge = 300
)

// loginFailures creates the audit metric filter and its surge alarm.
func (b *builder) loginFailures(a *Args) error {
	namespace := MetricNamespace(a.Namer)
	filter, err := cloudwatch.NewLogMetricFilter(b.ctx, b.namer.Name("login-failures"), &cloudwatch.LogMetricFilterArgs{
		LogGroupName: a.ServiceLogGroup,
		Pattern:      pulumi.String(AuditLoginFailurePattern),
		MetricTransformation: &cloudwatch.LogMetricFilterMetricTransformationArgs{
			Name:         pulumi.String(LoginFailureMetric),
			Namespace:    pulumi.String(namespace),
			Value:        pulumi.String("1"),
			DefaultValue: pulumi.String("0"),
			Unit:         pulumi.String("Count"),
		},
	}, b.parent)
	if err != nil {
		return err
	}
	b.add(spec{
		name: "login-failure-surge",
		desc: fmt.Sprintf("At least %d failed or refused logins in 5 minutes (the auth service's audit events in /%s/auth-service): a guessing campaign from many addresses. The lockout bounds each account (cmd/auth-service README: threat model); the events' source and user_tag fields say who and which.",
			LoginFailureSurge, a.Namer.Prefix()),
		namespace: namespace, metric: LoginFailureMetric, stat: "Sum",
		op: "GreaterThanOrEqualToThreshold", threshold: LoginFailureSurge, periods: 1, period: 300, missing: "notBreaching",
		after: []pulumi.Resource{filter},
	})
	return b.err
}
