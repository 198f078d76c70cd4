// Package prometheus is the stack's Amazon Managed Service for Prometheus
// workspace, one per region: the rules of rules.yaml.tmpl (the seeds'
// AuthenticationPodCount and HighPodEvictionRate, and what the auth service
// measures) as a rule groups namespace, and an alert manager that sends
// every alert to the stack's SNS topic, where the CloudWatch alarms go.
//
// The collector (components/collector) writes into the workspace through
// its remote-write endpoint; the rules run in the workspace, so an alert
// does not depend on the collector's pod beyond the data it sends.
//
// The alert manager's only receiver type is SNS, with a sigv4 region
// (AMP User Guide, "Configure alert manager to send messages to your
// Amazon SNS topic", AMP-alertmanager-receiver-config.html); the topic's
// policy must let aps.amazonaws.com publish ("Giving Amazon Managed
// Service for Prometheus permission to send messages to your Amazon SNS
// topic", AMP-alertmanager-receiver-AMPpermission.html; without it the
// workspace logs "AMP is not authorized to perform: SNS:Publish …",
// Troubleshooting-alerting-no-policy.html). alarms.TopicPolicy has that
// statement, scoped to this account's workspaces in the region.
package prometheus

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/amp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// Args configures a Workspace.
type Args struct {
	// Region of the workspace and of the topic (the SNS receiver's sigv4
	// region). Required.
	Region string
	// AlarmTopicArn receives every alert. Required.
	AlarmTopicArn pulumi.StringInput
	// Rules render the rule groups. Required (Replicas).
	Rules RuleParams

	Namer naming.Namer
	Tags  naming.Tags
}

// Workspace is the AMP workspace component.
type Workspace struct {
	pulumi.ResourceState

	WorkspaceID  pulumi.StringOutput `pulumi:"workspaceId"`
	WorkspaceArn pulumi.StringOutput `pulumi:"workspaceArn"`
	// RemoteWriteURL is where the collector sends samples.
	RemoteWriteURL pulumi.StringOutput `pulumi:"remoteWriteUrl"`
	// Rules is the rendered rule file, as the workspace evaluates it.
	Rules string
}

// NewWorkspace creates the workspace, its rules and its alert manager.
// Pass the regional AWS provider.
func NewWorkspace(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Workspace, error) {
	if args == nil || args.Region == "" || args.AlarmTopicArn == nil {
		return nil, fmt.Errorf("prometheus %s: Region and AlarmTopicArn are required", name)
	}
	rules, err := Render(args.Rules)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", name, err)
	}
	w := &Workspace{Rules: rules}
	if err := ctx.RegisterComponentResource("authplatform:prometheus:Workspace", name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)
	alias := args.Namer.Name("metrics")
	ws, err := amp.NewWorkspace(ctx, alias, &amp.WorkspaceArgs{
		Alias: pulumi.String(alias),
		Tags:  pulumi.ToStringMap(args.Tags.WithName(alias)),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := amp.NewRuleGroupNamespace(ctx, args.Namer.Name("metrics", "rules"), &amp.RuleGroupNamespaceArgs{
		// Unique within a workspace only, but named after the stack like
		// every physical name, so two stacks never share one.
		Name:        pulumi.String(args.Namer.Name("rules")),
		WorkspaceId: ws.ID().ToStringOutput(),
		Data:        pulumi.String(rules),
		Tags:        pulumi.ToStringMap(args.Tags.WithName(args.Namer.Name("metrics", "rules"))),
	}, parent); err != nil {
		return nil, err
	}
	definition := args.AlarmTopicArn.ToStringOutput().ApplyT(func(topic string) string {
		return AlertManagerConfig(topic, args.Region)
	}).(pulumi.StringOutput)
	if _, err := amp.NewAlertManagerDefinition(ctx, args.Namer.Name("metrics", "alerts"), &amp.AlertManagerDefinitionArgs{
		WorkspaceId: ws.ID().ToStringOutput(),
		Definition:  definition,
	}, parent); err != nil {
		return nil, err
	}

	w.WorkspaceID = ws.ID().ToStringOutput()
	w.WorkspaceArn = ws.Arn
	w.RemoteWriteURL = ws.PrometheusEndpoint.ApplyT(RemoteWriteURL).(pulumi.StringOutput)
	if err := ctx.RegisterResourceOutputs(w, pulumi.Map{
		"workspaceId":    w.WorkspaceID,
		"workspaceArn":   w.WorkspaceArn,
		"remoteWriteUrl": w.RemoteWriteURL,
	}); err != nil {
		return nil, err
	}
	return w, nil
}

// RemoteWriteURL is the remote-write endpoint under a workspace's
// Prometheus endpoint ("https://aps-workspaces.<region>.amazonaws.com/
// workspaces/<id>/", which ends in a slash).
func RemoteWriteURL(prometheusEndpoint string) string {
	return strings.TrimSuffix(prometheusEndpoint, "/") + "/api/v1/remote_write"
}

// AlertManagerConfig is the workspace's alert manager definition: every
// alert to the topic, grouped by alert and by what it names (dependency
// and shard), resent every 4 hours while it fires. Subject and message are
// short and plain: SNS takes at most 100 characters of subject, and the
// default subject template (every label) may exceed it.
func AlertManagerConfig(topicArn, region string) string {
	return fmt.Sprintf(`alertmanager_config: |
  route:
    receiver: sns
    group_by: [alertname, dependency, shard]
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 4h
  receivers:
    - name: sns
      sns_configs:
        - topic_arn: %s
          sigv4:
            region: %s
          subject: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}'
          message: |
            {{ range .Alerts }}{{ .Annotations.summary }}
            {{ .Annotations.description }}
            {{ end }}
          attributes:
            source: amp-alert-manager
`, topicArn, region)
}
