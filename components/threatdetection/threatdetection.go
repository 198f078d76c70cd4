// Package threatdetection turns on Amazon GuardDuty's EKS audit-log
// monitoring for the region and sends high-severity findings to the alarm
// topic. A GuardDuty detector is one per account and region, often owned by
// a security team: an existing one is adopted (its EKS audit-log feature is
// turned on), never duplicated.
//
// Runtime Monitoring is not turned on: "GuardDuty doesn't support Amazon EKS
// clusters running on AWS Fargate" (GuardDuty User Guide, "GuardDuty Runtime
// Monitoring"; Fargate is covered for Amazon ECS only). On an all-Fargate
// cluster it would cost nothing and see nothing.
package threatdetection

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/guardduty"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// Features and defaults.
const (
	// EKSAuditLogs is the GuardDuty feature that reads the EKS control
	// plane's audit log (GuardDuty keeps its own copy: the cluster's audit
	// log type need not be on for it).
	EKSAuditLogs = "EKS_AUDIT_LOGS"
	// DefaultMinSeverity of findings sent to the alarm topic: High (7.0-8.9)
	// and Critical (9.0-10.0) in GuardDuty's scale.
	DefaultMinSeverity = 7
)

// noDetector recognises the lookup's answer for an account and region
// without a detector (terraform-provider-aws data source aws_guardduty_
// detector: "no GuardDuty Detectors found", and in later versions an
// "empty result" error from FindDetector).
func noDetector(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no GuardDuty Detectors found") || strings.Contains(msg, "empty result")
}

// Args configures ThreatDetection.
type Args struct {
	// DetectorID adopts this detector without a lookup. Default: look the
	// region's detector up, and create one when there is none.
	DetectorID string
	// AlarmTopicArn receives high-severity findings. Required.
	AlarmTopicArn pulumi.StringInput
	// MinSeverity of the findings sent. Default DefaultMinSeverity.
	MinSeverity int
	// Namer and Tags name and tag everything. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// ThreatDetection is the GuardDuty component.
type ThreatDetection struct {
	pulumi.ResourceState

	DetectorID pulumi.StringOutput `pulumi:"detectorId"`
	// Adopted reports whether the detector existed before the stack.
	Adopted bool
}

// NewThreatDetection adopts or creates the detector, turns on EKS audit-log
// monitoring and routes findings. Pass the regional AWS provider.
func NewThreatDetection(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*ThreatDetection, error) {
	if args == nil || args.AlarmTopicArn == nil {
		return nil, fmt.Errorf("threatdetection %s: AlarmTopicArn is required", name)
	}
	a := *args
	if a.MinSeverity == 0 {
		a.MinSeverity = DefaultMinSeverity
	}
	td := &ThreatDetection{}
	if err := ctx.RegisterComponentResource("authplatform:threatdetection:ThreatDetection", name, td, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(td)

	detectorID := a.DetectorID
	if detectorID == "" {
		found, err := guardduty.LookupDetector(ctx, &guardduty.LookupDetectorArgs{}, parent)
		switch {
		case err == nil:
			detectorID = found.Id
		case !noDetector(err):
			return nil, fmt.Errorf("threatdetection %s: looking up the region's GuardDuty detector: %w", name, err)
		}
	}
	var id pulumi.StringOutput
	if detectorID != "" {
		td.Adopted = true
		id = pulumi.String(detectorID).ToStringOutput()
	} else {
		// Not protected: destroying it stops paid monitoring with the
		// stack; findings are exported to the topic as they come.
		detector, err := guardduty.NewDetector(ctx, a.Namer.Name("guardduty"), &guardduty.DetectorArgs{
			Enable:                     pulumi.Bool(true),
			FindingPublishingFrequency: pulumi.String("FIFTEEN_MINUTES"),
			Tags:                       pulumi.ToStringMap(a.Tags.WithName(a.Namer.Name("guardduty"))),
		}, parent)
		if err != nil {
			return nil, err
		}
		id = detector.ID().ToStringOutput()
	}
	if _, err := guardduty.NewDetectorFeature(ctx, a.Namer.Name("guardduty", "eks-audit"), &guardduty.DetectorFeatureArgs{
		DetectorId: id,
		Name:       pulumi.String(EKSAuditLogs),
		Status:     pulumi.String("ENABLED"),
	}, parent); err != nil {
		return nil, err
	}

	// GuardDuty publishes every finding to EventBridge in its region
	// (source aws.guardduty, detail-type "GuardDuty Finding").
	ruleName := a.Namer.Name("guardduty-findings")
	rule, err := cloudwatch.NewEventRule(ctx, ruleName, &cloudwatch.EventRuleArgs{
		Name:         pulumi.String(ruleName),
		Description:  pulumi.String(fmt.Sprintf("GuardDuty findings of severity %d and above", a.MinSeverity)),
		EventPattern: pulumi.String(FindingsPattern(a.MinSeverity)),
		Tags:         pulumi.ToStringMap(a.Tags.WithName(ruleName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := cloudwatch.NewEventTarget(ctx, ruleName, &cloudwatch.EventTargetArgs{
		Rule: rule.Name,
		Arn:  a.AlarmTopicArn,
	}, parent); err != nil {
		return nil, err
	}

	td.DetectorID = id
	if err := ctx.RegisterResourceOutputs(td, pulumi.Map{"detectorId": td.DetectorID}); err != nil {
		return nil, err
	}
	return td, nil
}

// FindingsPattern matches GuardDuty findings at or above a severity.
func FindingsPattern(minSeverity int) string {
	return fmt.Sprintf(`{"source":["aws.guardduty"],"detail-type":["GuardDuty Finding"],"detail":{"severity":[{"numeric":[">=",%d]}]}}`, minSeverity)
}
