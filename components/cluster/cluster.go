// Package cluster builds the EKS control plane through pulumi-eks, with every
// pod on Fargate: serialized Fargate profiles on private subnets, a pod
// execution role bound to this cluster, the managed CoreDNS addon moved onto
// Fargate, an OIDC provider for IRSA, and a Kubernetes provider for the
// components that deploy into the cluster. That provider's kubeconfig signs
// as the stack's AWS provider authenticates (kubeconfig.go), and the access
// entries of the listed principals are created, or adopted when they exist
// (access.go).
package cluster

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/naming"
)

// FargatePodsService is the service principal that Fargate uses to assume
// the pod execution role.
const FargatePodsService = "eks-fargate-pods.amazonaws.com"

// DefaultAddonsToRemove are the add-ons EKS installs on a new cluster that
// do nothing on Fargate (their DaemonSets get no pods); CoreDNS stays and
// becomes the managed addon.
var DefaultAddonsToRemove = []string{"kube-proxy", "vpc-cni"}

// LogTypes are the control-plane log types EKS accepts.
var LogTypes = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}

// Selector picks the pods a Fargate profile runs.
type Selector struct {
	Namespace string
	Labels    map[string]string
}

// ProfileSpec describes one Fargate profile.
type ProfileSpec struct {
	// Name is the short name of the profile ("eks-" is reserved by AWS).
	Name      string
	Selectors []Selector
	// SubnetIDs are the profile's subnets. Default: every private subnet of
	// the cluster. Fargate places a pod in one subnet of its profile and
	// ignores topology spread constraints, so a profile with exactly one
	// subnet is how a pod is pinned to a zone.
	SubnetIDs pulumi.StringArrayInput
}

// MaxFargateProfiles is the EKS quota of Fargate profiles per cluster
// (Service Quotas "Fargate profiles per cluster", default 10), counting the
// CoreDNS profile this component adds.
const MaxFargateProfiles = 10

// ProfileCount is how many profiles a cluster with these workload profiles
// has: the workload ones plus the CoreDNS one.
func ProfileCount(profiles []ProfileSpec) int { return len(profiles) + 1 }

// CoreDNSProfile selects only the CoreDNS pods of kube-system, so that no
// other kube-system pod lands on Fargate by accident.
var CoreDNSProfile = ProfileSpec{
	Name:      "coredns",
	Selectors: []Selector{{Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}}},
}

// Args configures a Cluster.
type Args struct {
	// Name is the physical EKS cluster name. Required.
	Name string
	// Version is the Kubernetes minor version, e.g. "1.35". Required.
	Version string
	// Region is the cluster's AWS region; it goes into the Fargate trust
	// condition and the kubeconfig. Required.
	Region string
	// VpcID and the subnets come from the network component. Required.
	VpcID            pulumi.StringInput
	PrivateSubnetIDs pulumi.StringArrayInput
	PublicSubnetIDs  pulumi.StringArrayInput
	// EndpointPrivateAccess lets pods and in-VPC tooling reach the API
	// server privately. Default: as given (stacks default it to true).
	EndpointPrivateAccess bool
	// EndpointPublicAccess exposes the API server endpoint to
	// PublicAccessCIDRs. The deploying host must reach the endpoint one way
	// or the other, since this program installs into the cluster.
	EndpointPublicAccess bool
	PublicAccessCIDRs    []string
	// LogTypes are the control-plane logs sent to CloudWatch. Default none.
	LogTypes []string
	// Profiles are the workload Fargate profiles created, one after another,
	// after the CoreDNS profile. Default none.
	Profiles []ProfileSpec
	// Provider is the AWS provider of Region. The pulumi-eks component is a
	// multi-language component and does not inherit providers from its
	// parent, so it is handed this one explicitly. Required.
	Provider *aws.Provider
	// Signer is how the kubeconfig's `aws eks get-token` finds
	// credentials: as the AWS provider that creates the cluster and its
	// access entries does, so that Kubernetes sees the same principal.
	// Default: the host's default credential chain.
	Signer Signer
	// Access grants IAM principals an access policy: the CI deploy and
	// preview roles. A listed principal's existing entry, the one EKS gives
	// the cluster's creator included, is adopted (access.go). Default none.
	Access []Grant
	// Protect guards the control plane and its secrets key against
	// `pulumi destroy`. Profiles and roles stay unprotected: they are
	// replaced on change. Default false.
	Protect bool
	// Namer and Tags name and tag the AWS objects. Required.
	Namer naming.Namer
	Tags  naming.Tags
	// LogRetentionDays of the control-plane log group. Default
	// DefaultLogRetentionDays (90).
	LogRetentionDays int
}

// Cluster is the EKS-on-Fargate component.
type Cluster struct {
	pulumi.ResourceState

	// ClusterName resolves once the control plane exists.
	ClusterName     pulumi.StringOutput `pulumi:"clusterName"`
	ClusterArn      pulumi.StringOutput `pulumi:"clusterArn"`
	Endpoint        pulumi.StringOutput `pulumi:"endpoint"`
	OIDCProviderARN pulumi.StringOutput `pulumi:"oidcProviderArn"`
	OIDCIssuerURL   pulumi.StringOutput `pulumi:"oidcIssuerUrl"`
	// ClusterSecurityGroupID is the EKS-created primary security group that
	// every Fargate pod gets; data stores admit traffic from it.
	ClusterSecurityGroupID pulumi.StringOutput `pulumi:"clusterSecurityGroupId"`
	PodExecutionRoleARN    pulumi.StringOutput `pulumi:"podExecutionRoleArn"`
	Kubeconfig             pulumi.StringOutput `pulumi:"kubeconfig"`

	// Provider deploys into this cluster.
	Provider *kubernetes.Provider
	// FargateProfiles are in creation order; CoreDNS's is first.
	FargateProfiles []*awseks.FargateProfile
	// CoreDNS is the managed addon; workloads that need DNS depend on it.
	CoreDNS *awseks.Addon
	// Partition and AccountID of the deployment, for building ARNs.
	Partition string
	AccountID string
	// CreatorGrant is the grant of the principal running this deployment
	// when this run creates the cluster: EKS gives it an entry, which the
	// component adopts. Nil otherwise.
	CreatorGrant *Grant

	profilesByName map[string]*awseks.FargateProfile
}

// NewCluster creates the control plane, its Fargate data plane and a
// Kubernetes provider for it.
func NewCluster(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	c := &Cluster{profilesByName: map[string]*awseks.FargateProfile{}}
	opts = append(opts, pulumi.Providers(args.Provider))
	if err := ctx.RegisterComponentResource("authplatform:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	tags := pulumi.ToStringMap(args.Tags)

	partition, err := aws.GetPartition(ctx, &aws.GetPartitionArgs{}, parent)
	if err != nil {
		return nil, err
	}
	identity, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{}, parent)
	if err != nil {
		return nil, err
	}
	c.Partition, c.AccountID = partition.Partition, identity.AccountId
	adopt, err := adoptions(ctx, args, identity.Arn, parent)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	for _, g := range args.Access {
		if adopt[g.PrincipalArn] == adoptCreators {
			c.CreatorGrant = &Grant{PrincipalArn: g.PrincipalArn, Policy: g.Policy}
		}
	}

	// Envelope encryption of Kubernetes Secrets with a key of our own.
	secretsKey, err := kms.NewKey(ctx, args.Namer.Name("eks-secrets"), &kms.KeyArgs{
		Description:       pulumi.Sprintf("EKS secrets encryption for %s", args.Name),
		EnableKeyRotation: pulumi.Bool(true),
		// 30 days leaves time to notice a mistaken destroy.
		DeletionWindowInDays: pulumi.Int(30),
		Tags:                 tags,
	}, parent, pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}

	logs, err := controlPlaneLogGroup(ctx, args, tags, parent)
	if err != nil {
		return nil, err
	}

	skip, useDefaultCni, authMode := true, true, eks.AuthenticationModeApi
	k8s, err := eks.NewCluster(ctx, args.Namer.Name("eks"), &eks.ClusterArgs{
		Name:                   pulumi.StringPtr(args.Name),
		Version:                pulumi.StringPtr(args.Version),
		VpcId:                  args.VpcID,
		PrivateSubnetIds:       args.PrivateSubnetIDs,
		PublicSubnetIds:        args.PublicSubnetIDs,
		EndpointPrivateAccess:  pulumi.BoolPtr(args.EndpointPrivateAccess),
		EndpointPublicAccess:   pulumi.BoolPtr(args.EndpointPublicAccess),
		PublicAccessCidrs:      pulumi.ToStringArray(args.PublicAccessCIDRs),
		EnabledClusterLogTypes: pulumi.ToStringArray(args.LogTypes),
		EncryptionConfigKeyArn: secretsKey.Arn,
		// Fargate only: no EC2 node group, and not eks' own `fargate`
		// option (it patches CoreDNS with a local kubectl and may fall back
		// to public subnets). Our profiles follow below.
		SkipDefaultNodeGroup: &skip,
		// Our own OIDC provider below, so its ARN is a typed output.
		CreateOidcProvider: pulumi.BoolPtr(false),
		// Access entries, not the aws-auth ConfigMap.
		AuthenticationMode: &authMode,
		// Leave EKS' default VPC CNI alone: Fargate pods do not use it.
		UseDefaultVpcCni: &useDefaultCni,
		// No EC2 nodes: an empty list stops pulumi-eks v2.8.1 from creating
		// its default instance role (three worker policies) and that role's
		// EC2_LINUX access entry (nodejs/eks/cluster.ts:753-866).
		InstanceRoles: iam.RoleArray{},
		// DaemonSets never run on Fargate, so EKS' self-managed kube-proxy
		// and aws-node would stay at 0 pods; Fargate brings its own.
		DefaultAddonsToRemove: pulumi.ToStringArray(DefaultAddonsToRemove),
		Tags:                  tags,
		ClusterTags:           tags,
	}, parent, pulumi.Providers(args.Provider), pulumi.Protect(args.Protect),
		// EKS would create the log group itself, never expiring.
		pulumi.DependsOn([]pulumi.Resource{logs}))
	if err != nil {
		return nil, err
	}

	// The name is ours, but carrying it through the component's output makes
	// everything that uses it wait for the control plane.
	clusterName := k8s.KubeconfigJson.ApplyT(func(string) string { return args.Name }).(pulumi.StringOutput)
	info := awseks.LookupClusterOutput(ctx, awseks.LookupClusterOutputArgs{Name: clusterName}, parent)
	issuer := info.Identities().Index(pulumi.Int(0)).Oidcs().Index(pulumi.Int(0)).Issuer()

	oidc, err := iam.NewOpenIdConnectProvider(ctx, args.Namer.Name("oidc"), &iam.OpenIdConnectProviderArgs{
		Url:           issuer,
		ClientIdLists: pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
		Tags:          tags,
	}, parent)
	if err != nil {
		return nil, err
	}

	execRole, err := iam.NewRole(ctx, args.Namer.Name("fargate-pod-exec"), &iam.RoleArgs{
		Description:      pulumi.Sprintf("Fargate pod execution role for EKS cluster %s", args.Name),
		AssumeRolePolicy: pulumi.String(PodExecutionTrust(partition.Partition, args.Region, identity.AccountId, args.Name).MustJSON()),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	execAttach, err := iam.NewRolePolicyAttachment(ctx, args.Namer.Name("fargate-pod-exec"), &iam.RolePolicyAttachmentArgs{
		Role:      execRole.Name,
		PolicyArn: pulumi.Sprintf("arn:%s:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy", partition.Partition),
	}, parent)
	if err != nil {
		return nil, err
	}

	// AWS refuses concurrent profile changes on one cluster, so each profile
	// waits for the one before it.
	var previous pulumi.Resource = execAttach
	for _, spec := range append([]ProfileSpec{CoreDNSProfile}, args.Profiles...) {
		var selectors awseks.FargateProfileSelectorArray
		for _, s := range spec.Selectors {
			sel := awseks.FargateProfileSelectorArgs{Namespace: pulumi.String(s.Namespace)}
			if len(s.Labels) > 0 {
				sel.Labels = pulumi.ToStringMap(s.Labels)
			}
			selectors = append(selectors, sel)
		}
		subnets := spec.SubnetIDs
		if subnets == nil {
			subnets = args.PrivateSubnetIDs
		}
		profile, err := awseks.NewFargateProfile(ctx, args.Namer.Name("fp", spec.Name), &awseks.FargateProfileArgs{
			ClusterName:         clusterName,
			PodExecutionRoleArn: execRole.Arn,
			SubnetIds:           subnets,
			Selectors:           selectors,
			Tags:                tags,
		}, parent, pulumi.DependsOn([]pulumi.Resource{previous}))
		if err != nil {
			return nil, err
		}
		c.FargateProfiles = append(c.FargateProfiles, profile)
		c.profilesByName[spec.Name] = profile
		previous = profile
	}

	corednsConfig, err := json.Marshal(map[string]interface{}{
		"computeType": "Fargate",
		// 0.25 vCPU / 256 MiB fits the smallest Fargate size.
		"resources": map[string]interface{}{
			"limits":   map[string]string{"cpu": "0.25", "memory": "256M"},
			"requests": map[string]string{"cpu": "0.25", "memory": "256M"},
		},
	})
	if err != nil {
		return nil, err
	}
	c.CoreDNS, err = awseks.NewAddon(ctx, args.Namer.Name("coredns"), &awseks.AddonArgs{
		ClusterName:         clusterName,
		AddonName:           pulumi.String("coredns"),
		ConfigurationValues: pulumi.String(string(corednsConfig)),
		// EKS pre-installs a self-managed CoreDNS pinned to EC2; take it over.
		ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
		ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
		Tags:                     tags,
	}, parent, pulumi.DependsOn([]pulumi.Resource{c.FargateProfiles[0]}))
	if err != nil {
		return nil, err
	}

	ca := info.CertificateAuthorities().Index(pulumi.Int(0)).Data()
	c.Kubeconfig = pulumi.ToSecret(pulumi.All(clusterName, info.Endpoint(), ca).ApplyT(func(v []interface{}) (string, error) {
		return Kubeconfig(v[0].(string), args.Region, v[1].(string), v[2].(string), args.Signer)
	})).(pulumi.StringOutput)

	access, err := c.grantAccess(ctx, args, clusterName, adopt, tags, parent)
	if err != nil {
		return nil, err
	}
	c.Provider, err = kubernetes.NewProvider(ctx, args.Namer.Name("k8s"), &kubernetes.ProviderArgs{
		Kubeconfig: c.Kubeconfig,
		// Apply the way kubectl --server-side does, so fields owned by
		// controllers (e.g. the LB controller's webhooks) are not fought over.
		EnableServerSideApply: pulumi.BoolPtr(true),
	}, parent, pulumi.DependsOn(access))
	if err != nil {
		return nil, err
	}

	c.ClusterName = clusterName
	c.ClusterArn = info.Arn()
	c.Endpoint = info.Endpoint()
	c.OIDCProviderARN = oidc.Arn
	c.OIDCIssuerURL = issuer
	c.ClusterSecurityGroupID = info.VpcConfig().ClusterSecurityGroupId()
	c.PodExecutionRoleARN = execRole.Arn
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName":            c.ClusterName,
		"clusterArn":             c.ClusterArn,
		"endpoint":               c.Endpoint,
		"oidcProviderArn":        c.OIDCProviderARN,
		"oidcIssuerUrl":          c.OIDCIssuerURL,
		"clusterSecurityGroupId": c.ClusterSecurityGroupID,
		"podExecutionRoleArn":    c.PodExecutionRoleARN,
		"kubeconfig":             c.Kubeconfig,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Profile returns the Fargate profile created for the spec of that name, or
// nil. Workloads depend on their profile so no pod is created before Fargate
// can schedule it.
func (c *Cluster) Profile(specName string) *awseks.FargateProfile {
	return c.profilesByName[specName]
}

// PodExecutionTrust lets Fargate assume the pod execution role only on behalf
// of this cluster's profiles in this region (the confused-deputy guard).
func PodExecutionTrust(partition, region, accountID, clusterName string) iamdoc.Document {
	return iamdoc.New(iamdoc.Statement{
		Sid:       "FargatePodsOfThisCluster",
		Effect:    "Allow",
		Principal: &iamdoc.Principal{Service: []string{FargatePodsService}},
		Action:    []string{"sts:AssumeRole"},
	}.When("ArnLike", "aws:SourceArn",
		fmt.Sprintf("arn:%s:eks:%s:%s:fargateprofile/%s/*", partition, region, accountID, clusterName)))
}

func (a *Args) check() error {
	var problems []string
	if a == nil {
		return fmt.Errorf("args are required")
	}
	if a.Name == "" {
		problems = append(problems, "Name is required")
	}
	if a.Region == "" {
		problems = append(problems, "Region is required")
	}
	if a.Provider == nil {
		problems = append(problems, "Provider is required")
	}
	if !a.EndpointPrivateAccess && !a.EndpointPublicAccess {
		problems = append(problems, "at least one of EndpointPrivateAccess and EndpointPublicAccess must be true")
	}
	problems = append(problems, checkAccess(a.Access)...)
	if n := ProfileCount(a.Profiles); n > MaxFargateProfiles {
		problems = append(problems, fmt.Sprintf("%d Fargate profiles (with CoreDNS's) exceed the EKS quota of %d per cluster", n, MaxFargateProfiles))
	}
	seen := map[string]bool{CoreDNSProfile.Name: true}
	for _, p := range a.Profiles {
		if strings.HasPrefix(p.Name, "eks-") {
			problems = append(problems, fmt.Sprintf("Fargate profile %q: the eks- prefix is reserved by AWS", p.Name))
		}
		if seen[p.Name] {
			problems = append(problems, fmt.Sprintf("Fargate profile %q is defined twice", p.Name))
		}
		seen[p.Name] = true
		if len(p.Selectors) == 0 || len(p.Selectors) > 5 {
			problems = append(problems, fmt.Sprintf("Fargate profile %q needs 1 to 5 selectors, has %d", p.Name, len(p.Selectors)))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
