// Package lbcontroller installs the AWS Load Balancer Controller with Helm,
// with an IRSA role whose policy matches the installed version, configured
// for Fargate (explicit region and VPC, ip targets, two replicas and a PDB).
package lbcontroller

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/naming"
)

// The pinned chart. From v3.0.0 the chart and the controller share one
// version. Policy() must match AppVersion, and the CRDs come from the
// controller's Go module at AppVersion (crds.go).
//
// 3.6.2 rather than 3.5.0: the CRDs are read from the controller's module
// through the Go module proxy, and the proxy these machines reach serves
// v3.6.2 of sigs.k8s.io/aws-load-balancer-controller/v3 and refuses v3.5.0.
// From 3.5.0 the chart changes only the image tag and one optional field of
// the TargetGroupBinding schema, v1alpha1 and v1beta1
// (registerTargetsWithPodAvailabilityZone, unset here); its templates,
// values and docs/install/iam_policy.json are unchanged (compared file by
// file, the v3.5.0 tag against the v3.6.2 module).
const (
	ChartName    = "aws-load-balancer-controller"
	ChartVersion = "3.6.2"
	AppVersion   = "v3.6.2"
	ChartRepo    = "https://aws.github.io/eks-charts"
)

// Defaults for Args.
const (
	DefaultNamespace      = "kube-system"
	DefaultServiceAccount = "aws-load-balancer-controller"
	DefaultReplicas       = 2
	// DefaultTimeoutSeconds allows for Fargate's slow first pod starts.
	DefaultTimeoutSeconds = 900
)

// IRSAAnnotation is the service-account annotation that binds a role.
const IRSAAnnotation = "eks.amazonaws.com/role-arn"

// FargateProfile selects exactly the controller's pods (the chart labels
// them with its name), so the cluster can give them a profile of their own.
func FargateProfile(namespace string) cluster.ProfileSpec {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return cluster.ProfileSpec{
		Name: "lb-controller",
		Selectors: []cluster.Selector{{
			Namespace: namespace,
			Labels:    map[string]string{"app.kubernetes.io/name": ChartName},
		}},
	}
}

// Args configures a Controller.
type Args struct {
	// ClusterName, Region and VpcID are passed to the controller explicitly:
	// on Fargate there is no instance metadata to discover them. Required.
	ClusterName pulumi.StringInput
	Region      string
	VpcID       pulumi.StringInput
	// OIDCProviderARN and OIDCIssuerURL come from the cluster. Required.
	OIDCProviderARN pulumi.StringInput
	OIDCIssuerURL   pulumi.StringInput
	// Partition builds the policy's ARNs. Default "aws".
	Partition string
	// Namespace of the release. Default "kube-system".
	Namespace string
	// ServiceAccount the chart creates and IRSA trusts. Default
	// "aws-load-balancer-controller".
	ServiceAccount string
	// Replicas of the controller; at least 2 keeps leader election warm and
	// lets the chart render its PDB. Default 2.
	Replicas int
	// WaitFor must exist before the chart is installed: the controller's
	// Fargate profile (or its pods stay Pending) and the CoreDNS addon (or
	// it cannot resolve AWS endpoints). A component's own DependsOn does not
	// hold back its children, hence this field. Default none.
	WaitFor []pulumi.Resource
	// TargetENISecurityGroupTags ("key=value") picks the security group the
	// controller adds the ALB's ingress rule to when a target's ENI carries
	// several groups tagged kubernetes.io/cluster/<name> (the auth pods
	// carry their own and the cluster's). Default none.
	TargetENISecurityGroupTags string
	// Namer and Tags name and tag the AWS objects. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// Controller is the load-balancer-controller component.
type Controller struct {
	pulumi.ResourceState

	RoleARN        pulumi.StringOutput `pulumi:"roleArn"`
	PolicyARN      pulumi.StringOutput `pulumi:"policyArn"`
	ReleaseStatus  pulumi.StringOutput `pulumi:"releaseStatus"`
	ServiceAccount string
	Namespace      string
	// Release is what TargetGroupBindings and Ingresses must depend on: the
	// controller's webhooks reject them until it runs.
	Release *helmv3.Release
}

// NewController creates the IRSA role and policy and installs the chart.
// Pass the AWS and the cluster's Kubernetes provider with pulumi.Providers.
func NewController(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Controller, error) {
	if args == nil || args.Region == "" {
		return nil, fmt.Errorf("lbcontroller %s: Region is required", name)
	}
	a := *args
	if a.Partition == "" {
		a.Partition = "aws"
	}
	if a.Namespace == "" {
		a.Namespace = DefaultNamespace
	}
	if a.ServiceAccount == "" {
		a.ServiceAccount = DefaultServiceAccount
	}
	if a.Replicas == 0 {
		a.Replicas = DefaultReplicas
	}
	if a.Replicas < 2 {
		return nil, fmt.Errorf("lbcontroller %s: Replicas is %d; at least 2 are needed for leader failover and the PDB", name, a.Replicas)
	}

	c := &Controller{ServiceAccount: a.ServiceAccount, Namespace: a.Namespace}
	if err := ctx.RegisterComponentResource("authplatform:lbcontroller:Controller", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	tags := pulumi.ToStringMap(a.Tags)

	role, err := iam.NewRole(ctx, a.Namer.Name("lbc"), &iam.RoleArgs{
		Description:      pulumi.String("AWS Load Balancer Controller (IRSA)"), // mutation: equivalent — an IAM role description is read by people and updated in place
		AssumeRolePolicy: iamdoc.IRSATrustOutput(a.OIDCProviderARN, a.OIDCIssuerURL, a.Namespace, a.ServiceAccount),
		Tags:             tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	policy, err := iam.NewPolicy(ctx, a.Namer.Name("lbc"), &iam.PolicyArgs{
		Description: pulumi.String("AWS Load Balancer Controller " + AppVersion),
		Policy:      pulumi.String(Policy(a.Partition).MustJSON()),
		Tags:        tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	attach, err := iam.NewRolePolicyAttachment(ctx, a.Namer.Name("lbc"), &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: policy.Arn,
	}, parent)
	if err != nil {
		return nil, err
	}

	crds, err := newCRDs(ctx, a.Namer.Name("lbc-crds"), parent)
	if err != nil {
		return nil, err
	}

	values := Values(a.ClusterName, a.Region, a.VpcID, role.Arn, a.ServiceAccount, a.Replicas)
	if a.TargetENISecurityGroupTags != "" {
		values["serviceTargetENISGTags"] = pulumi.String(a.TargetENISecurityGroupTags)
	}
	c.Release, err = helmv3.NewRelease(ctx, a.Namer.Name("lbc"), &helmv3.ReleaseArgs{
		Name:      pulumi.String(ChartName),
		Chart:     pulumi.String(ChartName),
		Version:   pulumi.String(ChartVersion),
		Namespace: pulumi.String(a.Namespace),
		RepositoryOpts: &helmv3.RepositoryOptsArgs{
			Repo: pulumi.String(ChartRepo),
		},
		Values:        values,
		Atomic:        pulumi.Bool(true),
		CleanupOnFail: pulumi.Bool(true),
		Timeout:       pulumi.Int(DefaultTimeoutSeconds),
		MaxHistory:    pulumi.Int(10),
		// The CRDs are ours (newCRDs): Helm would install them once and
		// never upgrade them.
		SkipCrds: pulumi.Bool(true),
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{attach, crds}, a.WaitFor...)))
	if err != nil {
		return nil, err
	}

	c.RoleARN = role.Arn
	c.PolicyARN = policy.Arn
	c.ReleaseStatus = c.Release.Status.Status()
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"roleArn":       c.RoleARN,
		"policyArn":     c.PolicyARN,
		"releaseStatus": c.ReleaseStatus,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Values are the chart values for Fargate.
func Values(clusterName pulumi.StringInput, region string, vpcID, roleARN pulumi.StringInput, serviceAccount string, replicas int) pulumi.Map {
	podLabels := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(ChartName)}
	return pulumi.Map{
		"clusterName": clusterName,
		// No IMDS on Fargate: without these the controller crash-loops.
		"region":       pulumi.String(region),
		"vpcId":        vpcID,
		"replicaCount": pulumi.Int(replicas),
		// The chart renders its PDB only with more than one replica.
		"podDisruptionBudget": pulumi.Map{"maxUnavailable": pulumi.Int(1)},
		"defaultTargetType":   pulumi.String("ip"),
		"serviceAccount": pulumi.Map{
			"create":      pulumi.Bool(true),
			"name":        pulumi.String(serviceAccount),
			"annotations": pulumi.Map{IRSAAnnotation: roleARN},
		},
		// We bind target groups explicitly; no Service of type LoadBalancer
		// should be claimed behind our back, and it avoids a webhook race.
		"enableServiceMutatorWebhook": pulumi.Bool(false),
		// Refuse to create a pod in a readiness-gated namespace while the
		// controller is down, rather than create it without its gate (which
		// lets a rollout retire old pods before the new targets are
		// healthy). The webhook's namespace selector limits this to the
		// labelled auth namespace, never kube-system.
		"podMutatorWebhookConfig": pulumi.Map{"failurePolicy": pulumi.String("Fail")},
		// Reuse the webhook certificate Secret on upgrade. Otherwise every
		// upgrade generates a new CA and caBundle while the running pods
		// still serve the old certificate, and the Fail webhooks above
		// reject pods until the kubelet refreshes the Secret (about a
		// minute). The chart reads the Secret with Helm's lookup, which a
		// real `helm upgrade` (helm.v3.Release) performs.
		"keepTLSSecret": pulumi.Bool(true),
		// Least privilege for the controller container, on top of the
		// chart's defaults (which these restate, as a map value replaces
		// them only key by key).
		"securityContext": pulumi.Map{
			"allowPrivilegeEscalation": pulumi.Bool(false),
			"readOnlyRootFilesystem":   pulumi.Bool(true),
			"runAsNonRoot":             pulumi.Bool(true),
			"capabilities":             pulumi.Map{"drop": pulumi.StringArray{pulumi.String("ALL")}},
			"seccompProfile":           pulumi.Map{"type": pulumi.String("RuntimeDefault")},
		},
		"podSecurityContext": pulumi.Map{
			"fsGroup":        pulumi.Int(65534),
			"seccompProfile": pulumi.Map{"type": pulumi.String("RuntimeDefault")},
		},
		// Requests equal limits so Fargate sizes the pod predictably
		// (0.25 vCPU, 0.5 GiB + Fargate's own 256 MiB -> the 1 GiB size).
		"resources": pulumi.Map{
			"requests": pulumi.StringMap{"cpu": pulumi.String("250m"), "memory": pulumi.String("512Mi")},
			"limits":   pulumi.StringMap{"cpu": pulumi.String("250m"), "memory": pulumi.String("512Mi")},
		},
		// Keep the two replicas in different zones so a zone loss never
		// stops target registration.
		"topologySpreadConstraints": pulumi.Array{pulumi.Map{
			"maxSkew":           pulumi.Int(1),
			"topologyKey":       pulumi.String("topology.kubernetes.io/zone"),
			"whenUnsatisfiable": pulumi.String("ScheduleAnyway"),
			"labelSelector":     pulumi.Map{"matchLabels": podLabels},
		}},
	}
}
