// Package network builds the VPC the platform runs in: public and private
// subnets in each availability zone, an internet gateway, NAT gateways and
// the route tables, tagged so that EKS and the AWS Load Balancer Controller
// discover them.
package network

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// Subnet discovery tags read by EKS and the AWS Load Balancer Controller.
const (
	TagPublicELB   = "kubernetes.io/role/elb"
	TagInternalELB = "kubernetes.io/role/internal-elb"
)

// ClusterTag is the key that marks a subnet as usable by an EKS cluster.
func ClusterTag(clusterName string) string { return "kubernetes.io/cluster/" + clusterName }

// Args configures a Network.
type Args struct {
	// CIDR is the VPC's IPv4 block, /16 to /20 inside RFC 1918. Required.
	CIDR string
	// AvailabilityZones are the zones to span, at least two. Required.
	AvailabilityZones []string
	// SingleNatGateway puts one NAT gateway in the first zone instead of one
	// per zone. Cheaper, but private subnets lose egress when that zone
	// fails. Default false (one NAT gateway per zone).
	SingleNatGateway bool
	// ClusterName is written into the kubernetes.io/cluster/<name> subnet
	// tag. Required.
	ClusterName string
	// Protect guards the VPC against `pulumi destroy`; everything else in it
	// can be recreated. Default false.
	Protect bool
	// Namer names the AWS objects. Required.
	Namer naming.Namer
	// Tags go on every taggable resource. Default none.
	Tags naming.Tags
}

// Network is the VPC component.
type Network struct {
	pulumi.ResourceState

	VpcID            pulumi.StringOutput      `pulumi:"vpcId"`
	VpcCIDR          pulumi.StringOutput      `pulumi:"vpcCidr"`
	PublicSubnetIDs  pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	PrivateSubnetIDs pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	NatGatewayIDs    pulumi.StringArrayOutput `pulumi:"natGatewayIds"`
	// AvailabilityZones are the zones the subnets are in, in subnet order.
	AvailabilityZones []string
}

// NewNetwork creates the VPC and everything in it.
func NewNetwork(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Network, error) {
	if args == nil {
		return nil, fmt.Errorf("network %s: args are required", name)
	}
	if len(args.AvailabilityZones) < 2 {
		return nil, fmt.Errorf("network %s: need at least 2 availability zones, got %d", name, len(args.AvailabilityZones))
	}
	if args.ClusterName == "" {
		return nil, fmt.Errorf("network %s: ClusterName is required for the subnet discovery tags", name)
	}
	plan, err := PlanSubnets(args.CIDR, args.AvailabilityZones)
	if err != nil {
		return nil, fmt.Errorf("network %s: vpc CIDR %q: %w", name, args.CIDR, err)
	}

	n := &Network{AvailabilityZones: append([]string(nil), args.AvailabilityZones...)}
	if err := ctx.RegisterComponentResource("authplatform:network:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)
	tags := func(objName string, extra map[string]string) pulumi.StringMap {
		return pulumi.ToStringMap(args.Tags.WithName(objName).With(extra))
	}
	clusterTag := map[string]string{ClusterTag(args.ClusterName): "shared"}

	vpc, err := ec2.NewVpc(ctx, name+"-vpc", &ec2.VpcArgs{
		CidrBlock: pulumi.String(args.CIDR),
		// EKS private endpoint access and Fargate need both.
		EnableDnsSupport:   pulumi.Bool(true),
		EnableDnsHostnames: pulumi.Bool(true),
		Tags:               tags(args.Namer.Name("vpc"), nil),
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}

	igw, err := ec2.NewInternetGateway(ctx, name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  tags(args.Namer.Name("igw"), nil),
	}, parent)
	if err != nil {
		return nil, err
	}

	publicRT, err := ec2.NewRouteTable(ctx, name+"-public-rt", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  tags(args.Namer.Name("public"), nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewRoute(ctx, name+"-public-default", &ec2.RouteArgs{
		RouteTableId:         publicRT.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, parent); err != nil {
		return nil, err
	}

	var publicIDs, privateIDs, natIDs pulumi.StringArray
	var nats []*ec2.NatGateway
	for i, p := range plan {
		pub, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-public-%s", name, p.AZ), &ec2.SubnetArgs{
			VpcId:            vpc.ID(),
			CidrBlock:        pulumi.String(p.Public.String()),
			AvailabilityZone: pulumi.String(p.AZ),
			// Only load balancers and NAT gateways live here; they get their
			// own addresses, so instances never get a public IP by accident.
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                tags(args.Namer.Name("public", p.AZ), naming.Tags(clusterTag).With(map[string]string{TagPublicELB: "1"})),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-public-%s", name, p.AZ), &ec2.RouteTableAssociationArgs{
			SubnetId:     pub.ID(),
			RouteTableId: publicRT.ID(),
		}, parent); err != nil {
			return nil, err
		}
		publicIDs = append(publicIDs, pub.ID().ToStringOutput())

		if i == 0 || !args.SingleNatGateway {
			eip, err := ec2.NewEip(ctx, fmt.Sprintf("%s-nat-%s", name, p.AZ), &ec2.EipArgs{
				Domain: pulumi.String("vpc"),
				Tags:   tags(args.Namer.Name("nat", p.AZ), nil),
			}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
			if err != nil {
				return nil, err
			}
			nat, err := ec2.NewNatGateway(ctx, fmt.Sprintf("%s-nat-%s", name, p.AZ), &ec2.NatGatewayArgs{
				AllocationId:     eip.ID(),
				SubnetId:         pub.ID(),
				ConnectivityType: pulumi.String("public"),
				Tags:             tags(args.Namer.Name("nat", p.AZ), nil),
			}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
			if err != nil {
				return nil, err
			}
			nats = append(nats, nat)
			natIDs = append(natIDs, nat.ID().ToStringOutput())
		}

		priv, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-private-%s", name, p.AZ), &ec2.SubnetArgs{
			VpcId:               vpc.ID(),
			CidrBlock:           pulumi.String(p.Private.String()),
			AvailabilityZone:    pulumi.String(p.AZ),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                tags(args.Namer.Name("private", p.AZ), naming.Tags(clusterTag).With(map[string]string{TagInternalELB: "1"})),
		}, parent)
		if err != nil {
			return nil, err
		}
		// One route table per private subnet even with a single NAT gateway,
		// so switching to a NAT per zone changes only routes.
		privateRT, err := ec2.NewRouteTable(ctx, fmt.Sprintf("%s-private-%s", name, p.AZ), &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  tags(args.Namer.Name("private", p.AZ), nil),
		}, parent)
		if err != nil {
			return nil, err
		}
		nat := nats[len(nats)-1]
		if _, err := ec2.NewRoute(ctx, fmt.Sprintf("%s-private-%s-default", name, p.AZ), &ec2.RouteArgs{
			RouteTableId:         privateRT.ID(),
			DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
			NatGatewayId:         nat.ID(),
		}, parent); err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-private-%s", name, p.AZ), &ec2.RouteTableAssociationArgs{
			SubnetId:     priv.ID(),
			RouteTableId: privateRT.ID(),
		}, parent); err != nil {
			return nil, err
		}
		privateIDs = append(privateIDs, priv.ID().ToStringOutput())
	}

	n.VpcID = vpc.ID().ToStringOutput()
	n.VpcCIDR = vpc.CidrBlock
	n.PublicSubnetIDs = publicIDs.ToStringArrayOutput()
	n.PrivateSubnetIDs = privateIDs.ToStringArrayOutput()
	n.NatGatewayIDs = natIDs.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":            n.VpcID,
		"vpcCidr":          n.VpcCIDR,
		"publicSubnetIds":  n.PublicSubnetIDs,
		"privateSubnetIds": n.PrivateSubnetIDs,
		"natGatewayIds":    n.NatGatewayIDs,
	}); err != nil {
		return nil, err
	}
	return n, nil
}
