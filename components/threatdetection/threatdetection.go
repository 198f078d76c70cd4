// Package threatdetection turns on Amazon GuardDuty's EKS audit-log
// monitoring for the region and sends high-severity findings to the alarm
// topic.
//
// Who owns the detector is configuration, never a lookup (issue 23, D-1).
// A GuardDuty detector is one per account and region and is often a
// security team's. Args.DetectorID set: the stack adopts that detector. It
// turns on its EKS_AUDIT_LOGS feature and neither creates nor deletes a
// detector (terraform-provider-aws' aws_guardduty_detector_feature deletes
// nothing: its Delete is a no-op, so `pulumi destroy` leaves the adopted
// detector and its feature as they are). Args.DetectorID empty: the stack
// creates the region's detector and owns it. Every run registers the same
// resources whatever exists in the account. The old "look up, else create"
// did not: its second `up` found the stack's own detector, stopped declaring
// it, and the engine deleted it.
//
// Deleting an owned detector, by `pulumi destroy` or by switching to
// adoption, is GuardDuty's DeleteDetector: monitoring stops in the region,
// and the existing findings and configuration "are lost and can't be
// recovered" (GuardDuty User Guide, "Suspending or disabling GuardDuty";
// export findings first). Args.Protect, on in production, makes the engine
// refuse that delete.
//
// Runtime Monitoring is not turned on: "GuardDuty doesn't support Amazon EKS
// clusters running on AWS Fargate" (GuardDuty User Guide, "GuardDuty Runtime
// Monitoring"; Fargate is covered for Amazon ECS only). On an all-Fargate
// cluster it would cost nothing and see nothing.
package threatdetection

import (
	"fmt"

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

// DetectorName is the name (and Name tag) of the detector a stack creates
// in a region. The tag tells the stack's own detector from anyone else's.
func DetectorName(n naming.Namer) string { return n.Name("guardduty") }

// Args configures ThreatDetection.
type Args struct {
	// DetectorID adopts this existing detector: the stack turns on its EKS
	// audit-log feature and never creates or deletes a detector. Default
	// (empty): the stack creates the region's detector and owns it.
	DetectorID string
	// Protect makes the engine refuse to delete a detector the stack
	// created (deleting it deletes its findings). Default false.
	Protect bool
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
	// Adopted reports whether the detector is one the stack adopted
	// (Args.DetectorID) rather than created.
	Adopted bool
}

// NewThreatDetection creates or adopts the detector as Args say, turns on
// EKS audit-log monitoring and routes findings. Pass the regional AWS
// provider.
func NewThreatDetection(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*ThreatDetection, error) {
	if args == nil || args.AlarmTopicArn == nil {
		return nil, fmt.Errorf("threatdetection %s: AlarmTopicArn is required", name)
	}
	a := *args
	if a.MinSeverity == 0 {
		a.MinSeverity = DefaultMinSeverity
	}
	td := &ThreatDetection{Adopted: a.DetectorID != ""}
	if err := ctx.RegisterComponentResource("authplatform:threatdetection:ThreatDetection", name, td, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(td)

	var id pulumi.StringOutput
	if td.Adopted {
		id = pulumi.String(a.DetectorID).ToStringOutput()
	} else {
		detectorName := DetectorName(a.Namer)
		detector, err := guardduty.NewDetector(ctx, detectorName, &guardduty.DetectorArgs{
			Enable:                     pulumi.Bool(true),
			FindingPublishingFrequency: pulumi.String("FIFTEEN_MINUTES"),
			Tags:                       pulumi.ToStringMap(a.Tags.WithName(detectorName)),
		}, parent, pulumi.Protect(a.Protect))
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
