// Package signals carries the operational signals Fargate patching gives
// before and while it evicts the auth pods into the alarm topic:
//
//   - AWS Health events of EKS and Fargate naming this cluster ("patch announced"),
//   - EKS' own "EKS Fargate Pod Scheduled Termination" event, sent when an
//     eviction for patching failed and the pod will be deleted at a set time,
//   - the rate of pod eviction requests in the control plane's audit log,
//     with the HighPodEvictionRate alarm.
package signals

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// AWS Health events matched (issue 23, D-9). AWS Health delivers an
// account's events of a regional service such as EKS to EventBridge in the
// region they concern, with source "aws.health" and detail-type "AWS Health
// Event" (AWS Health User Guide, "Monitoring AWS Health events with Amazon
// EventBridge"); public events also go to a backup region, us-west-2 for
// every region ("choosing-a-region.html"), marked detail.backupEvent.
//
// Scoped to what concerns this stack: its account (the event's "account"),
// its cluster where the event names it (the cluster's ARN, or an ARN below
// it such as a Fargate profile's, in "resources" or in
// detail.affectedEntities[].entityValue, or the cluster's name there), and
// no backup copy (detail.backupEvent false or absent). A public event with
// no affected entity of the account is left out: it is the same for every
// stack of the region.
//
// Every category: the Fargate OS patching notice ("Amazon EKS will send you
// a notification that includes your affected resources and the date of
// upcoming pod evictions", EKS User Guide, "Set actions for AWS Fargate OS
// patching events") is matched whatever eventTypeCategory and event type
// code AWS gives it. Verified: the service code EKS (DescribeEventTypes
// lists AWS_EKS_* codes, e.g. AWS_EKS_PLANNED_LIFECYCLE_EVENT). Not verified
// offline: whether Health also uses a service code FARGATE for EKS pods
// (kept, harmless), which event type code and category the patch notice
// has, and which entity values it lists (`aws health describe-event-types
// --filter services=EKS,FARGATE --region us-east-1` and the notice itself
// settle it).
var HealthServices = []string{"EKS", "FARGATE"}

// ClusterScope is what names one EKS cluster in events: its ARN, ARNs of
// what lives under it (Fargate profiles, node groups, add-ons:
// "arn:…:eks:<region>:<account>:fargateprofile/<cluster>/…"), and its name.
type ClusterScope struct {
	Partition, Region, Account, Name string
}

// ParseClusterArn reads arn:<partition>:eks:<region>:<account>:cluster/<name>.
func ParseClusterArn(arn string) (ClusterScope, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "eks" || !strings.HasPrefix(parts[5], "cluster/") {
		return ClusterScope{}, fmt.Errorf("%q is not an EKS cluster ARN", arn)
	}
	return ClusterScope{Partition: parts[1], Region: parts[3], Account: parts[4], Name: strings.TrimPrefix(parts[5], "cluster/")}, nil
}

// Arn is the cluster's ARN.
func (c ClusterScope) Arn() string {
	return fmt.Sprintf("arn:%s:eks:%s:%s:cluster/%s", c.Partition, c.Region, c.Account, c.Name)
}

// entities are the pattern values naming the cluster or what is under it.
func (c ClusterScope) entities() []any {
	out := []any{c.Arn()}
	for _, kind := range []string{"fargateprofile", "nodegroup", "addon"} {
		out = append(out, map[string]any{"prefix": fmt.Sprintf("arn:%s:eks:%s:%s:%s/%s/", c.Partition, c.Region, c.Account, kind, c.Name)})
	}
	return out
}

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
	// ClusterArn scopes the event rules to the cluster and its account.
	// Required.
	ClusterArn pulumi.StringInput
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

// HealthPattern is the EventBridge pattern of the AWS Health rule of one
// cluster.
func HealthPattern(c ClusterScope) string {
	names := append(c.entities(), c.Name)
	return mustJSON(map[string]any{
		"source":      []string{"aws.health"},
		"detail-type": []string{"AWS Health Event"},
		"account":     []string{c.Account},
		"detail": map[string]any{
			"service": HealthServices,
			"$or": []any{
				map[string]any{"backupEvent": []any{false}},
				map[string]any{"backupEvent": []any{map[string]any{"exists": false}}},
			},
		},
		"$or": []any{
			map[string]any{"resources": c.entities()},
			map[string]any{"detail": map[string]any{"affectedEntities": map[string]any{"entityValue": names}}},
		},
	})
}

// FargateTerminationPattern matches EKS' failed-eviction events of one
// cluster of the account (the EKS User Guide's sample event carries
// "account" and detail.clusterName).
func FargateTerminationPattern(c ClusterScope) string {
	return mustJSON(map[string]any{
		"source":      []string{"aws.eks"},
		"detail-type": []string{FargateTerminationDetailType},
		"account":     []string{c.Account},
		"detail":      map[string]any{"clusterName": []string{c.Name}},
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
	if args == nil || args.ClusterName == nil || args.ClusterArn == nil || args.AlarmTopicArn == nil {
		return nil, fmt.Errorf("signals %s: ClusterName, ClusterArn and AlarmTopicArn are required", name)
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
	scoped := func(pattern func(ClusterScope) string) pulumi.StringOutput {
		return a.ClusterArn.ToStringOutput().ApplyT(func(arn string) (string, error) {
			c, err := ParseClusterArn(arn)
			if err != nil {
				return "", err
			}
			return pattern(c), nil
		}).(pulumi.StringOutput)
	}
	health, err := rule("health-eks-fargate", "AWS Health events of this EKS cluster and its Fargate pods (patching announced), any category", scoped(HealthPattern))
	if err != nil {
		return nil, err
	}
	terminationPattern := scoped(FargateTerminationPattern)
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
