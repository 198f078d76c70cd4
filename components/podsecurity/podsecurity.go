// Package podsecurity gives the auth pods a security group of their own, so
// that the data stores can admit exactly them and not every pod of the
// cluster. On Fargate every pod carries the EKS cluster security group
// (CoreDNS and the LB controller included); a SecurityGroupPolicy (created by
// the authservice component) puts this group on the auth pods' ENIs instead,
// together with the cluster group that Fargate pods still need.
package podsecurity

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// TargetENITagKey marks the one security group on a target ENI that the LB
// controller may add the ALB's ingress rule to. The auth pods' ENIs carry two
// groups that both have the kubernetes.io/cluster/<name> tag (this one and
// the EKS cluster group); the controller then needs one more tag that only
// one of them has (its --service-target-eni-security-group-tags flag, chart
// value serviceTargetENISGTags), or it refuses with "expect exactly one
// securityGroup tagged".
const TargetENITagKey = "auth-platform/target-eni"

// Args configures a Group.
type Args struct {
	// VpcID is the cluster's VPC. Required.
	VpcID pulumi.StringInput
	// ClusterName goes into the kubernetes.io/cluster/<name> tag the LB
	// controller looks for on a target ENI's groups. Required.
	ClusterName string
	// Namer and Tags name and tag the group. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// Group is the auth pods' security group.
type Group struct {
	pulumi.ResourceState

	// ID of the group: the only source the data stores admit, the target of
	// the ALB's egress rule and the group of the TargetGroupBinding's
	// networking rules.
	ID pulumi.StringOutput `pulumi:"id"`
	// TargetENITag is the key=value the LB controller is given so that it
	// picks this group (and not the cluster group) for the ALB's rule.
	TargetENITag string
}

// ClusterTag is the tag key the LB controller requires on a target ENI's
// security group.
func ClusterTag(clusterName string) string { return "kubernetes.io/cluster/" + clusterName }

// NewGroup creates the group. It has no rules of its own: ingress from the
// ALB is written by the LB controller (TargetGroupBinding networking), and
// egress, DNS to CoreDNS and the control plane come from the cluster security
// group the pods keep.
func NewGroup(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Group, error) {
	if args == nil || args.VpcID == nil || args.ClusterName == "" {
		return nil, fmt.Errorf("podsecurity %s: VpcID and ClusterName are required", name)
	}
	g := &Group{TargetENITag: TargetENITagKey + "=" + args.Namer.Prefix()}
	if err := ctx.RegisterComponentResource("authplatform:podsecurity:Group", name, g, opts...); err != nil {
		return nil, err
	}
	sgName := args.Namer.Name("auth-pods")
	sg, err := ec2.NewSecurityGroup(ctx, sgName, &ec2.SecurityGroupArgs{
		Description: pulumi.String("Auth service pods (SecurityGroupPolicy): the only client of Redis and Aurora"),
		VpcId:       args.VpcID,
		Tags: pulumi.ToStringMap(args.Tags.WithName(sgName).With(map[string]string{
			ClusterTag(args.ClusterName): "owned",
			TargetENITagKey:              args.Namer.Prefix(),
		})),
	}, pulumi.Parent(g))
	if err != nil {
		return nil, err
	}
	g.ID = sg.ID().ToStringOutput()
	if err := ctx.RegisterResourceOutputs(g, pulumi.Map{"id": g.ID}); err != nil {
		return nil, err
	}
	return g, nil
}
