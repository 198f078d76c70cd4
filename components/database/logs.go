package database

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// DefaultLogRetentionDays is how long the exported PostgreSQL log is kept
// unless Args.LogRetentionDays says otherwise.
const DefaultLogRetentionDays = 90

// FinalSnapshotSuffixBytes of randomness end the final snapshot's name
// (hex, twice as many characters).
const FinalSnapshotSuffixBytes = 4

// ClusterIdentifier is the cluster's physical identifier (RDS allows 63
// characters).
func ClusterIdentifier(n naming.Namer) string {
	return n.Limited(63, "aurora") // mutation: equivalent — the prefix is at most 35 characters (appName 12, MaxStackCode 16), so 63 never cuts
}

// PostgresLogGroupName is where RDS exports a cluster's "postgresql" log
// (Aurora User Guide, "Publishing Aurora PostgreSQL logs to Amazon
// CloudWatch Logs": /aws/rds/cluster/<cluster-name>/postgresql).
func PostgresLogGroupName(clusterID string) string {
	return fmt.Sprintf("/aws/rds/cluster/%s/postgresql", clusterID)
}

func postgresLogGroup(ctx *pulumi.Context, a *Args, clusterID string, opts ...pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	days := a.LogRetentionDays
	if days == 0 {
		days = DefaultLogRetentionDays
	}
	return cloudwatch.NewLogGroup(ctx, a.Namer.Name("db-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(PostgresLogGroupName(clusterID)),
		RetentionInDays: pulumi.Int(days),
		Tags:            pulumi.ToStringMap(a.Tags.WithName(PostgresLogGroupName(clusterID))),
	}, opts...)
}
