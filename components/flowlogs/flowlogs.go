// Package flowlogs records every VPC's IP traffic (accepted and rejected)
// in CloudWatch Logs with a retention: the network view an intrusion
// detection starts from, and what GuardDuty reads on its own.
package flowlogs

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/naming"
)

// Defaults of Args.
const (
	DefaultRetentionDays = 30
	// AggregationIntervalSeconds: 60 s (the shortest) so a scan shows up
	// within a minute; the price is per GB ingested, not per record.
	AggregationIntervalSeconds = 60
)

// Args configures FlowLogs.
type Args struct {
	// VpcID is the VPC whose traffic is recorded. Required.
	VpcID pulumi.StringInput
	// Region, Partition and AccountID scope the delivery role's trust.
	// Required.
	Region    string
	Partition string
	AccountID string
	// RetentionDays of the log group. Default DefaultRetentionDays.
	RetentionDays int
	// Namer and Tags name and tag everything. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// FlowLogs is the flow-log component.
type FlowLogs struct {
	pulumi.ResourceState

	FlowLogID   pulumi.StringOutput `pulumi:"flowLogId"`
	LogGroupArn pulumi.StringOutput `pulumi:"logGroupArn"`
	// LogGroupName is known before deployment.
	LogGroupName string
}

// DeliveryTrust lets only VPC Flow Logs of this account and region assume
// the delivery role (VPC User Guide, "IAM role for publishing flow logs to
// CloudWatch Logs": the confused-deputy conditions).
func DeliveryTrust(partition, region, accountID string) iamdoc.Document {
	st := iamdoc.Statement{
		Sid: "VPCFlowLogs", Effect: "Allow",
		Principal: &iamdoc.Principal{Service: []string{"vpc-flow-logs.amazonaws.com"}},
		Action:    []string{"sts:AssumeRole"},
	}.
		When("StringEquals", "aws:SourceAccount", accountID).
		When("ArnLike", "aws:SourceArn", fmt.Sprintf("arn:%s:ec2:%s:%s:vpc-flow-log/*", partition, region, accountID))
	return iamdoc.New(st)
}

// DeliveryPolicy lets the role write into one log group only.
func DeliveryPolicy(logGroupArn string) iamdoc.Document {
	return iamdoc.New(
		iamdoc.Allow("WriteFlowLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, logGroupArn+":*"),
		iamdoc.Allow("FindGroup", []string{"logs:DescribeLogGroups"}, "*"),
	)
}

// NewFlowLogs creates the log group, the delivery role and the flow log.
// Pass the regional AWS provider.
func NewFlowLogs(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*FlowLogs, error) {
	if args == nil || args.VpcID == nil || args.Region == "" || args.AccountID == "" {
		return nil, fmt.Errorf("flowlogs %s: VpcID, Region and AccountID are required", name)
	}
	a := *args
	if a.RetentionDays == 0 {
		a.RetentionDays = DefaultRetentionDays
	}
	f := &FlowLogs{LogGroupName: a.Namer.FlowLogGroup()}
	if err := ctx.RegisterComponentResource("authplatform:flowlogs:FlowLogs", name, f, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(f)

	group, err := cloudwatch.NewLogGroup(ctx, a.Namer.Name("flow-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(f.LogGroupName),
		RetentionInDays: pulumi.Int(a.RetentionDays),
		Tags:            pulumi.ToStringMap(a.Tags.WithName(f.LogGroupName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	// IAM is global: the region code in the name keeps regions apart.
	roleName := naming.Truncate(a.Namer.Name("flow-logs"), 64)
	role, err := iam.NewRole(ctx, roleName, &iam.RoleArgs{
		Name:             pulumi.String(roleName),
		Description:      pulumi.String("VPC flow logs of " + a.Namer.Prefix() + " into CloudWatch Logs"),
		AssumeRolePolicy: pulumi.String(DeliveryTrust(a.Partition, a.Region, a.AccountID).MustJSON()),
		Tags:             pulumi.ToStringMap(a.Tags.WithName(roleName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	policy := group.Arn.ApplyT(func(arn string) (string, error) { return DeliveryPolicy(arn).JSON() }).(pulumi.StringOutput)
	rolePolicy, err := iam.NewRolePolicy(ctx, roleName, &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policy,
	}, parent)
	if err != nil {
		return nil, err
	}
	flowLog, err := ec2.NewFlowLog(ctx, a.Namer.Name("vpc-flow-log"), &ec2.FlowLogArgs{
		VpcId:                  a.VpcID,
		TrafficType:            pulumi.String("ALL"),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(AggregationIntervalSeconds),
		Tags:                   pulumi.ToStringMap(a.Tags.WithName(a.Namer.Name("vpc-flow-log"))),
	}, parent, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))
	if err != nil {
		return nil, err
	}

	f.FlowLogID = flowLog.ID().ToStringOutput()
	f.LogGroupArn = group.Arn
	if err := ctx.RegisterResourceOutputs(f, pulumi.Map{
		"flowLogId":   f.FlowLogID,
		"logGroupArn": f.LogGroupArn,
	}); err != nil {
		return nil, err
	}
	return f, nil
}
