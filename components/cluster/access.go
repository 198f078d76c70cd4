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
// Kubernetes API through EKS access entries. Issue 23 L-4: a listed
// principal that already has an entry, the creator's included, has it
// adopted, so the first `up` may run as a listed principal (CI's deploy
// role) and any later one as anybody.

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

// callerPattern is what sts:GetCallerIdentity returns for a role session
// (arn:<p>:sts::<account>:assumed-role/<role>/<session>) or an IAM user
// (arn:<p>:iam::<account>:user/<path><name>).
var callerPattern = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):(?:sts::(\d{12}):assumed-role/([\w+=,.@-]{1,64})/[^/]+|iam::(\d{12}):user/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64}))$`)

// IsCaller reports whether principalArn (an IAM role or user ARN) is the
// principal behind callerArn (what sts:GetCallerIdentity returns). A role
// session's ARN drops the role's path, but a role name is unique in its
// account, so partition, account, kind and name decide.
func IsCaller(callerArn, principalArn string) bool {
	c := callerPattern.FindStringSubmatch(callerArn)
	p := principalPattern.FindStringSubmatch(principalArn)
	if c == nil || p == nil || c[1] != p[1] {
		return false
	}
	if c[3] != "" {
		return p[3] == "role" && c[2] == p[2] && c[3] == p[5]
	}
	return p[3] == "user" && c[4] == p[2] && c[5] == p[5]
}

// adoption says whether a grant's access entry exists already, so that it
// is imported instead of created (CreateAccessEntry for a principal that
// has an entry fails with ResourceInUseException).
type adoption int

const (
	// create: nobody has made the entry.
	create adoption = iota
	// adoptExisting: the entry exists before this run (created by an
	// earlier run, which may have failed before recording it, or by EKS for
	// the cluster's creator, or by hand).
	adoptExisting
	// adoptCreators: this run creates the cluster as this principal, and
	// EKS gives the creator an entry (pulumi-eks v2.8.1 sets
	// bootstrapClusterCreatorAdminPermissions: true, nodejs/eks/cluster.ts:617).
	adoptCreators
)

// adoptions looks up, before anything is registered, whether the cluster
// exists (eks.GetClusters: ListClusters) and, if it does, which grants
// already have an entry (eks.LookupAccessEntry: DescribeAccessEntry).
// Importing a resource that is already in the state under the same ID is
// a no-op (pulumi/pulumi developer-docs/architecture/import.md), so every
// run may adopt what exists, whoever runs it.
func adoptions(ctx *pulumi.Context, args *Args, callerArn string, parent pulumi.ResourceOrInvokeOption) (map[string]adoption, error) {
	out := map[string]adoption{}
	if len(args.Access) == 0 {
		return out, nil
	}
	clusters, err := awseks.GetClusters(ctx, parent)
	if err != nil {
		return nil, fmt.Errorf("listing the region's EKS clusters: %w", err)
	}
	exists := false
	for _, n := range clusters.Names {
		exists = exists || n == args.Name
	}
	for _, g := range args.Access {
		if !exists {
			if IsCaller(callerArn, g.PrincipalArn) {
				out[g.PrincipalArn] = adoptCreators
			}
			continue
		}
		_, err := awseks.LookupAccessEntry(ctx, &awseks.LookupAccessEntryArgs{ClusterName: args.Name, PrincipalArn: g.PrincipalArn}, parent)
		switch {
		case err == nil:
			out[g.PrincipalArn] = adoptExisting
		case !strings.Contains(err.Error(), "couldn't find resource"):
			// terraform-provider-aws access_entry_datasource.go: "reading EKS
			// Access Entry (<id>): couldn't find resource" when there is none.
			return nil, fmt.Errorf("looking up the access entry of %s: %w", g.PrincipalArn, err)
		}
	}
	return out, nil
}

// entryID is an access entry's ID, "<cluster>:<principal ARN>"
// (terraform-provider-aws internal/service/eks/access_entry.go).
func entryID(clusterName, principalArn string) pulumi.ID {
	return pulumi.ID(clusterName + ":" + principalArn)
}

// grantAccess creates an access entry and a cluster-wide policy
// association per grant. The Kubernetes provider waits for the returned
// associations, so no Kubernetes resource is created before the principals
// that deploy it can reach the cluster.
func (c *Cluster) grantAccess(ctx *pulumi.Context, args *Args, clusterName pulumi.StringOutput, adopt map[string]adoption, tags pulumi.StringMap, parent pulumi.ResourceOption) ([]pulumi.Resource, error) {
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
		// An adopted entry keeps the tags it has (EKS makes the creator's
		// untagged): an import fails on any input that differs, unless it is
		// ignored. Every entry ignores them, so no run differs from another.
		opts := []pulumi.ResourceOption{parent, pulumi.IgnoreChanges([]string{"tags"})}
		switch arn := g.PrincipalArn; adopt[arn] {
		case adoptExisting:
			opts = append(opts, pulumi.Import(entryID(args.Name, arn)))
		case adoptCreators:
			// Known once the cluster exists: a preview of the first run shows
			// a create, the update imports what EKS made.
			opts = append(opts, pulumi.Import(clusterName.ApplyT(func(name string) pulumi.ID { return entryID(name, arn) }).(pulumi.IDOutput)))
		}
		entry, err := awseks.NewAccessEntry(ctx, args.Namer.Name("access", short), &awseks.AccessEntryArgs{
			ClusterName:  clusterName,
			PrincipalArn: pulumi.String(g.PrincipalArn),
			Type:         pulumi.String("STANDARD"),
			Tags:         tags,
		}, opts...)
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
