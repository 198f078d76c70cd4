package stacks

import (
	"fmt"
	"net/netip"

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

// creatorWarning (issue 23, L-4 and C-4) says, on the run that creates the
// cluster only, that the principal running it is listed: EKS gives the
// creator an access entry with cluster admin, which the cluster component
// adopts rather than creating a second (that would fail with
// ResourceInUseException). A creator listed as viewer keeps the admin
// policy EKS associated, which the stack does not manage.
func creatorWarning(r *Region, cfg *Config, clusterName string) string {
	c, g := r.Cluster, r.Cluster.CreatorGrant
	if g == nil {
		return ""
	}
	in := ""
	if r.member != nil { // one region of several
		in = cfg.Region + ": "
	}
	if g.Policy == cluster.ViewPolicy {
		return fmt.Sprintf("%s%s: %s runs the deployment that creates cluster %s, and EKS gives its creator an access entry with %s. The stack adopts the entry and adds %s, but the admin policy stays: if it should only read, run `aws eks disassociate-access-policy --cluster-name %s --principal-arn %s --policy-arn arn:%s:eks::aws:cluster-access-policy/%s` (README: Cluster access)",
			in, q("clusterViewerPrincipalArns"), g.PrincipalArn, clusterName, cluster.AdminPolicy, cluster.ViewPolicy, clusterName, g.PrincipalArn, c.Partition, cluster.AdminPolicy)
	}
	return fmt.Sprintf("%s%s: %s runs the deployment that creates cluster %s; EKS gives its creator an access entry, which the stack adopts (imports) instead of creating a second one (README: Cluster access)",
		in, q("clusterAdminPrincipalArns"), g.PrincipalArn, clusterName)
}
