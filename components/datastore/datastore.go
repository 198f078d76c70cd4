// Package datastore holds what every data store of the platform shares: a
// customer-managed KMS key of its own, and a security group that admits one
// port from one client security group (the auth pods') and nothing else.
package datastore

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// NewKey creates a rotating KMS key named name with the alias
// "alias/<name>". Only the key is protected: an alias can be recreated.
func NewKey(ctx *pulumi.Context, parent pulumi.Resource, name, description string, tags naming.Tags, protect bool, opts ...pulumi.ResourceOption) (*kms.Key, error) {
	return newKey(ctx, parent, name, description, tags, protect, false, opts)
}

// NewKeptKey is NewKey for a key that must outlive the stack because data
// encrypted with it does (an Aurora final snapshot): `pulumi destroy`
// leaves the key, and deletes only its alias, which a new stack of the
// same name creates again.
func NewKeptKey(ctx *pulumi.Context, parent pulumi.Resource, name, description string, tags naming.Tags, protect bool, opts ...pulumi.ResourceOption) (*kms.Key, error) {
	return newKey(ctx, parent, name, description, tags, protect, true, opts)
}

func newKey(ctx *pulumi.Context, parent pulumi.Resource, name, description string, tags naming.Tags, protect, keep bool, opts []pulumi.ResourceOption) (*kms.Key, error) {
	opts = append([]pulumi.ResourceOption{pulumi.Parent(parent)}, opts...)
	keyOpts := append(append([]pulumi.ResourceOption{}, opts...), pulumi.Protect(protect))
	if keep {
		keyOpts = append(keyOpts, pulumi.RetainOnDelete(true))
	}
	key, err := kms.NewKey(ctx, name, &kms.KeyArgs{
		Description:       pulumi.String(description),
		EnableKeyRotation: pulumi.Bool(true),
		// 30 days leaves time to notice a mistaken destroy.
		DeletionWindowInDays: pulumi.Int(30),
		Tags:                 pulumi.ToStringMap(tags.WithName(name)),
	}, keyOpts...)
	if err != nil {
		return nil, err
	}
	if _, err := kms.NewAlias(ctx, name, &kms.AliasArgs{
		Name:        pulumi.String("alias/" + name),
		TargetKeyId: key.KeyId,
	}, opts...); err != nil {
		return nil, err
	}
	return key, nil
}

// KeyArn returns existing when given, or creates a key with NewKey and
// returns its ARN: every data store takes a caller's key or makes its own.
func KeyArn(ctx *pulumi.Context, parent pulumi.Resource, existing pulumi.StringInput, name, description string, tags naming.Tags, protect bool) (pulumi.StringOutput, error) {
	if existing != nil {
		return existing.ToStringOutput(), nil
	}
	key, err := NewKey(ctx, parent, name, description, tags, protect)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return key.Arn, nil
}

// ClientOnlyArgs describes a security group for a data store.
type ClientOnlyArgs struct {
	// Description of the group and of its one ingress rule.
	Description     string
	RuleDescription string
	VpcID           pulumi.StringInput
	// ClientSecurityGroupID is the only source admitted: the auth pods' own
	// group (podsecurity), never the EKS cluster security group, which every
	// Fargate pod of the cluster carries.
	ClientSecurityGroupID pulumi.StringInput
	Port                  int
	Tags                  naming.Tags
}

// NewClientOnlySecurityGroup creates the group named name and its ingress
// rule "<name>-from-clients". It has no egress rule: a data store never
// opens connections.
func NewClientOnlySecurityGroup(ctx *pulumi.Context, parent pulumi.Resource, name string, args ClientOnlyArgs) (*ec2.SecurityGroup, error) {
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		Description: pulumi.String(args.Description),
		VpcId:       args.VpcID,
		Tags:        pulumi.ToStringMap(args.Tags.WithName(name)),
	}, pulumi.Parent(parent))
	if err != nil {
		return nil, err
	}
	rule := name + "-from-clients"
	if _, err := vpc.NewSecurityGroupIngressRule(ctx, rule, &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId:           sg.ID(),
		ReferencedSecurityGroupId: args.ClientSecurityGroupID,
		IpProtocol:                pulumi.String("tcp"),
		FromPort:                  pulumi.Int(args.Port),
		ToPort:                    pulumi.Int(args.Port),
		Description:               pulumi.String(args.RuleDescription),
		Tags:                      pulumi.ToStringMap(args.Tags.WithName(rule)),
	}, pulumi.Parent(parent)); err != nil {
		return nil, err
	}
	return sg, nil
}
