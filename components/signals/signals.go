// Package signals carries the operational signals Fargate patching gives
// before and while it evicts the auth pods into the alarm topic:
//
//   - AWS Health scheduled changes for EKS and Fargate ("patch announced"),
//   - EKS' own "EKS Fargate Pod Scheduled Termination" event, sent when an
//     eviction for patching failed and the pod will be deleted at a set time,
//   - the rate of pod eviction requests in the control plane's audit log,
//     with the HighPodEvictionRate alarm.
package signals

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// AWS Health events matched. AWS Health delivers an event to EventBridge in
// the region it concerns (account-specific events of a regional service
// such as EKS), with source "aws.health" and detail-type "AWS Health Event"
// (AWS Health User Guide, "Monitoring AWS Health events with Amazon
// EventBridge"). The event type codes are not pinned: AWS adds codes over
// time, and the authoritative list is the AWS Health API's
// DescribeEventTypes for the services below (`aws health
// describe-event-types --filter services=EKS,FARGATE --region us-east-1`).
// Known scheduled-change codes of EKS include AWS_EKS_PLANNED_LIFECYCLE_EVENT
// (version end of support); Fargate OS patching of EKS pods is announced by
// EKS ("Amazon EKS sends you a notification that includes the affected
// resources and the date of the upcoming pod eviction", EKS User Guide,
// "Set actions for AWS Fargate OS patching events").
var (
	HealthServices   = []string{"EKS", "FARGATE"}
	HealthCategories = []string{"scheduledChange"}
)

// FargateTerminationDetailType is the event EKS sends directly to
// EventBridge when a patching eviction failed (EventBridge reference,
// "Amazon Elastic Kubernetes Service events").
const FargateTerminationDetailType = "EKS Fargate Pod Scheduled Termination"

// Eviction metric and alarm defaults.
const (
	// EvictionMetric counts eviction requests (allowed or refused by a PDB)
	// per cluster.
	EvictionMetric = "PodEvictionRequests"
	// MetricNamespace of the metrics this package derives from logs.
	MetricNamespace = "AuthPlatform/EKS"
	// HighPodEvictionRate is the alarm's name suffix, as the seeds call it.
	HighPodEvictionRate = "HighPodEvictionRate"
	// DefaultMaxEvictionsPer5Min: a Fargate patch round of this stack
	// evicts about seven pods (3 auth, 2 controller, 2 CoreDNS), each
	// retried while its PDB refuses; well above that means something is
	// draining the cluster.
	DefaultMaxEvictionsPer5Min = 30
)

// EvictionFilterPattern matches audit events of eviction requests: a create
// on the pods/eviction subresource, counted once at ResponseComplete (the
// EKS audit policy also logs other stages of some requests).
const EvictionFilterPattern = `{ ($.objectRef.resource = "pods") && ($.objectRef.subresource = "eviction") && ($.verb = "create") && ($.stage = "ResponseComplete") }`

// Args configures Signals.
type Args struct {
	// ClusterName resolves once the control plane exists (EKS creates the
	// log group then, unless the stack already has). Required.
	ClusterName pulumi.StringInput
	// LogGroupDependsOn are the resources that create the control-plane
	// log group, when the stack creates it itself. Default none.
	LogGroupDependsOn []pulumi.Resource
	// AlarmTopicArn receives the events and the alarm; its policy must
	// admit events.amazonaws.com. Required.
	AlarmTopicArn pulumi.StringInput
	// MaxEvictionsPer5Min before HighPodEvictionRate fires. Default
	// DefaultMaxEvictionsPer5Min.
	MaxEvictionsPer5Min int
	// Namer and Tags name and tag everything. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// Signals is the component.
type Signals struct {
	pulumi.ResourceState

	HealthRuleArn pulumi.StringOutput `pulumi:"healthRuleArn"`
	// AlarmName of HighPodEvictionRate, known before deployment.
	AlarmName string
}

// HealthPattern is the EventBridge pattern of the AWS Health rule.
func HealthPattern() string {
	return mustJSON(map[string]any{
		"source":      []string{"aws.health"},
		"detail-type": []string{"AWS Health Event"},
		"detail": map[string]any{
			"service":           HealthServices,
			"eventTypeCategory": HealthCategories,
		},
	})
}

// FargateTerminationPattern matches EKS' failed-eviction events of one
// cluster.
func FargateTerminationPattern(clusterName string) string {
	return mustJSON(map[string]any{
		"source":      []string{"aws.eks"},
		"detail-type": []string{FargateTerminationDetailType},
		"detail":      map[string]any{"clusterName": []string{clusterName}},
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// NewSignals creates the rules, their targets, the metric filter and the
// alarm. Pass the regional AWS provider.
func NewSignals(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Signals, error) {
	if args == nil || args.ClusterName == nil || args.AlarmTopicArn == nil {
		return nil, fmt.Errorf("signals %s: ClusterName and AlarmTopicArn are required", name)
	}
	a := *args
	if a.MaxEvictionsPer5Min == 0 {
		a.MaxEvictionsPer5Min = DefaultMaxEvictionsPer5Min
	}
	s := &Signals{AlarmName: a.Namer.Name(HighPodEvictionRate)}
	if err := ctx.RegisterComponentResource("authplatform:signals:Signals", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)

	rule := func(suffix, desc string, pattern pulumi.StringInput) (*cloudwatch.EventRule, error) {
		ruleName := a.Namer.Name(suffix)
		r, err := cloudwatch.NewEventRule(ctx, ruleName, &cloudwatch.EventRuleArgs{
			Name:         pulumi.String(ruleName),
			Description:  pulumi.String(desc), // mutation: equivalent — an EventBridge rule description is read by people and updated in place
			EventPattern: pattern,
			Tags:         pulumi.ToStringMap(a.Tags.WithName(ruleName)),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := cloudwatch.NewEventTarget(ctx, ruleName, &cloudwatch.EventTargetArgs{
			Rule: r.Name,
			Arn:  a.AlarmTopicArn,
		}, parent); err != nil {
			return nil, err
		}
		return r, nil
	}
	health, err := rule("health-eks-fargate", "AWS Health scheduled changes of EKS and Fargate (patching announced)", pulumi.String(HealthPattern()))
	if err != nil {
		return nil, err
	}
	terminationPattern := a.ClusterName.ToStringOutput().ApplyT(FargateTerminationPattern).(pulumi.StringOutput)
	if _, err := rule("fargate-scheduled-termination", "An eviction for Fargate patching failed; EKS deletes the pod at the scheduled time", terminationPattern); err != nil {
		return nil, err
	}

	logGroup := a.ClusterName.ToStringOutput().ApplyT(naming.ControlPlaneLogGroup).(pulumi.StringOutput)
	filterName := a.Namer.Name("pod-evictions")
	if _, err := cloudwatch.NewLogMetricFilter(ctx, filterName, &cloudwatch.LogMetricFilterArgs{
		Name:         pulumi.String(filterName),
		LogGroupName: logGroup,
		Pattern:      pulumi.String(EvictionFilterPattern),
		MetricTransformation: &cloudwatch.LogMetricFilterMetricTransformationArgs{
			Name:      pulumi.String(EvictionMetric),
			Namespace: pulumi.String(MetricNamespace + "/" + a.Namer.Prefix()),
			Value:     pulumi.String("1"),
			// No datapoint while nothing is evicted: the alarm treats
			// missing data as fine.
			Unit: pulumi.String("Count"),
		},
	}, parent, pulumi.DependsOn(a.LogGroupDependsOn)); err != nil {
		return nil, err
	}
	if _, err := cloudwatch.NewMetricAlarm(ctx, s.AlarmName, &cloudwatch.MetricAlarmArgs{
		Name:               pulumi.String(s.AlarmName),
		AlarmDescription:   pulumi.String(fmt.Sprintf("More than %d pod eviction requests in 5 minutes: Fargate patching or a drain is evicting faster than the PDB lets pods come back. Check the auth-healthy-targets alarm and the pods.", a.MaxEvictionsPer5Min)),
		Namespace:          pulumi.String(MetricNamespace + "/" + a.Namer.Prefix()),
		MetricName:         pulumi.String(EvictionMetric),
		Statistic:          pulumi.String("Sum"),
		Period:             pulumi.Int(300),
		EvaluationPeriods:  pulumi.Int(1),
		DatapointsToAlarm:  pulumi.Int(1),
		Threshold:          pulumi.Float64(float64(a.MaxEvictionsPer5Min)),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"),
		TreatMissingData:   pulumi.String("notBreaching"),
		AlarmActions:       pulumi.Array{a.AlarmTopicArn},
		OkActions:          pulumi.Array{a.AlarmTopicArn},
		Tags:               pulumi.ToStringMap(a.Tags.WithName(s.AlarmName)),
	}, parent); err != nil {
		return nil, err
	}

	s.HealthRuleArn = health.Arn
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{"healthRuleArn": s.HealthRuleArn}); err != nil {
		return nil, err
	}
	return s, nil
}
