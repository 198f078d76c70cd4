package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Issue 11 item 5: principals besides the cluster's creator reach the
// Kubernetes API through EKS access entries.

// The EKS access policies a Grant may name (EKS user guide, "Review access
// policy permissions"); their ARNs are
// arn:<partition>:eks::aws:cluster-access-policy/<name>.
const (
	AdminPolicy = "AmazonEKSClusterAdminPolicy"
	ViewPolicy  = "AmazonEKSViewPolicy"
)

// Grant gives one IAM role or user an access policy on the whole cluster.
type Grant struct {
	// PrincipalArn is an IAM role or user ARN (a role's path included), of
	// this or another account. Not an STS session ARN: EKS refuses them.
	PrincipalArn string
	// Policy is AdminPolicy or ViewPolicy.
	Policy string
}

// principalPattern is an IAM role or user ARN: partition, account, kind,
// optional path, name.
var principalPattern = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|user)/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)

// ParsePrincipal splits an IAM role or user ARN into its partition and
// name, or says what is wrong with it.
func ParsePrincipal(arn string) (partition, name string, err error) {
	m := principalPattern.FindStringSubmatch(arn)
	if m == nil {
		if strings.Contains(arn, ":sts::") && strings.Contains(arn, ":assumed-role/") {
			return "", "", fmt.Errorf("an STS session, not a role: EKS access entries take the role's IAM ARN, arn:<partition>:iam::<account>:role/<name>")
		}
		return "", "", fmt.Errorf("not an IAM role or user ARN (arn:<partition>:iam::<account>:role/<name> or :user/<name>)")
	}
	return m[1], m[5], nil
}

// grantAccess creates an access entry and a cluster-wide policy
// association per grant. The Kubernetes provider waits for the returned
// associations, so no Kubernetes resource is created before the principals
// that deploy it can reach the cluster.
func (c *Cluster) grantAccess(ctx *pulumi.Context, args *Args, clusterName pulumi.StringOutput, tags pulumi.StringMap, parent pulumi.ResourceOption) ([]pulumi.Resource, error) {
	names := map[string]int{}
	for _, g := range args.Access {
		_, n, _ := ParsePrincipal(g.PrincipalArn)
		names[n]++
	}
	var out []pulumi.Resource
	for _, g := range args.Access {
		_, short, err := ParsePrincipal(g.PrincipalArn)
		if err != nil { // mutation: equivalent — checkAccess has already refused every ARN ParsePrincipal refuses
			return nil, fmt.Errorf("access for %q: %w", g.PrincipalArn, err)
		}
		if names[short] > 1 {
			// Two principals of one name (other paths or accounts).
			sum := sha256.Sum256([]byte(g.PrincipalArn))
			short += "-" + hex.EncodeToString(sum[:])[:6]
		}
		entry, err := awseks.NewAccessEntry(ctx, args.Namer.Name("access", short), &awseks.AccessEntryArgs{
			ClusterName:  clusterName,
			PrincipalArn: pulumi.String(g.PrincipalArn),
			Type:         pulumi.String("STANDARD"),
			Tags:         tags,
		}, parent)
		if err != nil {
			return nil, err
		}
		assoc, err := awseks.NewAccessPolicyAssociation(ctx, args.Namer.Name("access", short, policyShortName(g.Policy)), &awseks.AccessPolicyAssociationArgs{
			ClusterName: clusterName,
			// From the entry, so the association waits for it.
			PrincipalArn: entry.PrincipalArn,
			PolicyArn:    pulumi.Sprintf("arn:%s:eks::aws:cluster-access-policy/%s", c.Partition, g.Policy),
			AccessScope:  awseks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
		}, parent)
		if err != nil {
			return nil, err
		}
		out = append(out, assoc)
	}
	return out, nil
}

func policyShortName(policy string) string {
	switch policy {
	case AdminPolicy:
		return "admin"
	case ViewPolicy:
		return "view"
	}
	return strings.ToLower(policy)
}

// checkAccess: every grant names a valid principal once, with a known
// policy (an IAM principal can be in only one access entry per cluster).
func checkAccess(grants []Grant) []string {
	var problems []string
	seen := map[string]bool{}
	for _, g := range grants {
		if _, _, err := ParsePrincipal(g.PrincipalArn); err != nil {
			problems = append(problems, fmt.Sprintf("access principal %q: %v", g.PrincipalArn, err))
		}
		if seen[g.PrincipalArn] {
			problems = append(problems, fmt.Sprintf("access principal %q is granted twice", g.PrincipalArn))
		}
		seen[g.PrincipalArn] = true
		if g.Policy != AdminPolicy && g.Policy != ViewPolicy {
			problems = append(problems, fmt.Sprintf("access principal %q: policy %q is neither %s nor %s", g.PrincipalArn, g.Policy, AdminPolicy, ViewPolicy))
		}
	}
	return problems
}
