package stacks

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cluster"
)

// Issue 11 item 5: the cluster admits the principals the stack names, not
// only the one that created it.

// readAccess reads the principals that get cluster access, admins first.
func (c *Config) readAccess(r *reader) {
	c.ClusterAccess = nil
	for _, k := range []struct{ key, policy string }{
		{"clusterAdminPrincipalArns", cluster.AdminPolicy},
		{"clusterViewerPrincipalArns", cluster.ViewPolicy},
	} {
		for _, arn := range r.list(k.key) {
			c.ClusterAccess = append(c.ClusterAccess, cluster.Grant{PrincipalArn: arn, Policy: k.policy})
		}
	}
}

// validateAccess: IAM role or user ARNs of the stack's partition, each
// listed once in both lists together (EKS gives a principal one access
// entry per cluster; admin includes view).
func (c *Config) validateAccess(p *problems) {
	keyOf := map[string]string{cluster.AdminPolicy: "clusterAdminPrincipalArns", cluster.ViewPolicy: "clusterViewerPrincipalArns"}
	want := partitionOf(c.Region)
	seen := map[string]string{}
	for _, g := range c.ClusterAccess {
		key := q(keyOf[g.Policy])
		partition, _, err := cluster.ParsePrincipal(g.PrincipalArn)
		switch {
		case err != nil:
			p.add(key, g.PrincipalArn, "use an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/auth-platform-deploy", "%v", err)
		case want != "" && partition != want:
			p.add(key, g.PrincipalArn, fmt.Sprintf("use an ARN of partition %s, arn:%s:iam::<account>:role/<name>", want, want),
				"the principal is in partition %s, the cluster's region %s in %s", partition, c.Region, want)
		}
		if other, dup := seen[g.PrincipalArn]; dup {
			fix := "list it once"
			if other != key {
				fix = "list it in clusterAdminPrincipalArns only (admin includes view)"
			}
			p.add(key, g.PrincipalArn, fix, "the principal is already listed in %s; EKS gives a principal one access entry per cluster", other)
		}
		seen[g.PrincipalArn] = key
	}
	c.validateEndpointExposure(p)
}

// validateEndpointExposure (issue 23, D-8): a production cluster's
// Kubernetes API is not open to the whole internet. Its public endpoint,
// when on, admits the networks of the hosts that run Pulumi; the pods use
// the private endpoint (config.go refuses a narrow public endpoint without
// it). EKS User Guide, "Cluster API server endpoint".
func (c *Config) validateEndpointExposure(p *problems) {
	if !c.Production() || !c.EndpointPublicAccess {
		return
	}
	for _, s := range c.PublicAccessCIDRs {
		if pfx, err := netip.ParsePrefix(s); err == nil && pfx.Bits() == 0 {
			p.add(q("publicAccessCidrs"), s,
				`list the egress CIDR blocks of the hosts that run pulumi preview and up (CI runners with fixed addresses, a VPN), e.g. ["203.0.113.0/24"], or set endpointPublicAccess: false and run Pulumi from inside the VPC`,
				"a production cluster's Kubernetes API must not be open to the whole internet (0.0.0.0/0 is the key's default, for dev)")
		}
	}
}

// partitionOf is the AWS partition of a known region, "" otherwise.
func partitionOf(region string) string {
	for partition, rs := range regions {
		for _, r := range rs {
			if r == region {
				return partition
			}
		}
	}
	return ""
}

// warnIfCreatorListed: EKS gives the principal that creates the cluster
// an access entry of its own, and CreateAccessEntry for it again fails
// with ResourceInUseException. The program cannot tell whether this run
// creates the cluster, so it warns when the principal running it is listed.
func warnIfCreatorListed(ctx *pulumi.Context, cfg *Config, provider *aws.Provider) error {
	if len(cfg.ClusterAccess) == 0 {
		return nil
	}
	me, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{}, pulumi.Provider(provider))
	if err != nil {
		return err
	}
	if w := CreatorListedWarning(me.Arn, me.AccountId, cfg.ClusterAccess); w != "" {
		return ctx.Log.Warn(w, nil)
	}
	return nil
}

// CreatorListedWarning is the warning for a caller (its STS or IAM ARN and
// account) that the access lists name, or "" when they do not.
func CreatorListedWarning(callerArn, accountID string, access []cluster.Grant) string {
	// arn:<p>:sts::<account>:assumed-role/<role>/<session> or an IAM ARN.
	parts := strings.Split(callerArn, ":")
	if len(parts) < 6 {
		return ""
	}
	kind := strings.Split(parts[5], "/")
	for _, g := range access {
		_, name, err := cluster.ParsePrincipal(g.PrincipalArn)
		if err != nil || !strings.Contains(g.PrincipalArn, ":"+accountID+":") || len(kind) < 2 || kind[1] != name {
			continue
		}
		return fmt.Sprintf("%s: %s is running this deployment; if this run creates the cluster, EKS already gives it an access entry and creating another fails (ResourceInUseException). Run the first `pulumi up` as another principal (README: Cluster access).",
			Namespace+":"+"clusterAdminPrincipalArns/clusterViewerPrincipalArns", g.PrincipalArn)
	}
	return ""
}
