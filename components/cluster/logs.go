package cluster

import (
	"github.com/authplatform/auth-platform/components/naming"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DefaultLogRetentionDays is how long control-plane logs are kept unless
// Args.LogRetentionDays says otherwise. EKS itself creates the group with
// "never expire", and leaves it behind after the cluster is gone.
const DefaultLogRetentionDays = 90

// ControlPlaneLogGroupName is the group EKS writes control-plane logs to
// (EKS User Guide, "Send control plane logs to CloudWatch Logs"): EKS
// creates it on first use unless it exists, so the program creates it
// first, with a retention.
func ControlPlaneLogGroupName(clusterName string) string {
	return naming.ControlPlaneLogGroup(clusterName)
}

// controlPlaneLogGroup creates the control-plane log group; the control
// plane must depend on it.
func controlPlaneLogGroup(ctx *pulumi.Context, args *Args, tags pulumi.StringMap, opts ...pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	days := args.LogRetentionDays
	if days == 0 {
		days = DefaultLogRetentionDays
	}
	return cloudwatch.NewLogGroup(ctx, args.Namer.Name("eks-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(ControlPlaneLogGroupName(args.Name)),
		RetentionInDays: pulumi.Int(days),
		Tags:            tags,
	}, opts...)
}
