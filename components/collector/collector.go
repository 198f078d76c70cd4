// Package collector runs the metrics collector on Fargate: Prometheus in
// agent mode, scraping the auth pods' metrics port and sending every sample
// to the stack's Amazon Managed Service for Prometheus workspace with
// SigV4 remote write.
//
// Why Prometheus in agent mode and not ADOT: its configuration is the one
// Debian's promtool checks here (`promtool check config --agent`, in
// tests and CI; Debian builds Prometheus without Kubernetes discovery, so
// the test checks that block against its documented schema and promtool
// the rest), and the drill runs the same scrape job and relabelling in
// Debian's Prometheus over its auth processes, so what the rules see in
// the drill is what they see in the workspace. ADOT's collector has its
// own configuration and validator, neither of which runs here.
//
// Image: Prometheus v3.5.0, a long-term-support release (prometheus v3.5.0
// release notes: "3.5 is a Long Term Support (LTS) release"). In 3.x agent
// mode is the --agent flag (3.0 release notes: "Agent mode has been
// promoted to stable. The feature flag agent has been removed"). The
// configuration uses nothing newer than the Debian promtool (2.42) knows.
//
// Least privilege:
//   - IRSA: the role may only aps:RemoteWrite into this workspace.
//   - Kubernetes: a Role in the auth namespace to list and watch pods (all
//     the pod role of Kubernetes discovery reads, limited to the one
//     namespace by namespaces.names), bound to the collector's service
//     account; nothing cluster-wide, no secrets, no other namespace.
//   - Network: the collector's pods carry the cluster security group,
//     which the auth pods also carry (authservice's SecurityGroupPolicy),
//     and EKS lets that group reach itself; the metrics port is in no
//     Service and no target group.
package collector

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/components/prometheus"
	"github.com/authplatform/auth-platform/components/restricted"
)

// Defaults and fixed parts.
const (
	// Namespace of the collector; the operations Fargate profile selects it.
	Namespace = "auth-metrics"
	// Name of the service account, StatefulSet and pods.
	Name = "collector"
	// DefaultImage is the Prometheus release the collector runs.
	DefaultImage = "quay.io/prometheus/prometheus:v3.5.0"
	// DefaultScrapeInterval of the auth pods.
	DefaultScrapeInterval = "30s"
	// RunAsUser is the image's own user (nobody).
	RunAsUser = 65534
	// Port of Prometheus' own web endpoints (health, readiness): not
	// Prometheus' default 9090, which is the auth pods' metrics port, so
	// that only the auth pods name that port.
	Port = 9095
	// ConfigFile is where the configuration is mounted.
	ConfigFile = "/etc/prometheus/prometheus.yml"
	// WALPath is the agent's write-ahead log, on an emptyDir.
	WALPath = "/wal"
)

// Args configures a Collector.
type Args struct {
	// AuthNamespace and AuthPodLabels find the auth pods. Required.
	AuthNamespace string
	AuthPodLabels map[string]string
	// WorkspaceArn and RemoteWriteURL of the AMP workspace. Required.
	WorkspaceArn   pulumi.StringInput
	RemoteWriteURL pulumi.StringInput
	// Region of the workspace (SigV4). Required.
	Region string
	// ClusterName labels every series (external label "cluster").
	// Required.
	ClusterName string
	// OIDCProviderARN and OIDCIssuerURL of the cluster, for IRSA. Required.
	OIDCProviderARN pulumi.StringInput
	OIDCIssuerURL   pulumi.StringInput
	// KubernetesVersion of the control plane, on the pod template so an
	// upgrade replaces the pod. Default none.
	KubernetesVersion string
	// Image of Prometheus. Default DefaultImage.
	Image string
	// ScrapeInterval of the auth pods. Default DefaultScrapeInterval.
	ScrapeInterval string
	// PodsWaitFor must exist before the pod: the operations Fargate
	// profile and CoreDNS. Default none.
	PodsWaitFor []pulumi.Resource

	Namer naming.Namer
	Tags  naming.Tags
}

// Collector is the collector component.
type Collector struct {
	pulumi.ResourceState

	Namespace pulumi.StringOutput `pulumi:"namespace"`
	RoleArn   pulumi.StringOutput `pulumi:"roleArn"`
}

// NewCollector creates the collector. Pass the regional AWS provider and
// the cluster's Kubernetes provider.
func NewCollector(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Collector, error) {
	if args == nil || args.AuthNamespace == "" || len(args.AuthPodLabels) == 0 || args.Region == "" || args.ClusterName == "" ||
		args.WorkspaceArn == nil || args.RemoteWriteURL == nil || args.OIDCProviderARN == nil || args.OIDCIssuerURL == nil {
		return nil, fmt.Errorf("collector %s: AuthNamespace, AuthPodLabels, WorkspaceArn, RemoteWriteURL, Region, ClusterName and the OIDC provider are required", name)
	}
	a := *args
	if a.Image == "" {
		a.Image = DefaultImage
	}
	if a.ScrapeInterval == "" {
		a.ScrapeInterval = DefaultScrapeInterval
	}
	c := &Collector{}
	if err := ctx.RegisterComponentResource("authplatform:collector:Collector", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	n := func(parts ...string) string { return a.Namer.Name(append([]string{"collector"}, parts...)...) }
	labels := pulumi.StringMap{
		"app.kubernetes.io/name":       pulumi.String(Name),
		"app.kubernetes.io/instance":   pulumi.String(a.Namer.Prefix()),
		"app.kubernetes.io/part-of":    pulumi.String(a.Namer.App),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
	selector := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(Name), "app.kubernetes.io/instance": pulumi.String(a.Namer.Prefix())}

	nsLabels := restricted.NamespaceLabels()
	for k, v := range labels {
		nsLabels[k] = v
	}
	ns, err := corev1.NewNamespace(ctx, n("ns"), &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Namespace), Labels: nsLabels},
	}, parent)
	if err != nil {
		return nil, err
	}
	namespace := ns.Metadata.Name().Elem()

	role, err := iam.NewRole(ctx, n("irsa"), &iam.RoleArgs{
		Description:      pulumi.String("Metrics collector (IRSA): remote-writes into the stack's Prometheus workspace"),
		AssumeRolePolicy: iamdoc.IRSATrustOutput(a.OIDCProviderARN, a.OIDCIssuerURL, Namespace, Name),
		Tags:             pulumi.ToStringMap(a.Tags.WithName(n("irsa"))),
	}, parent)
	if err != nil {
		return nil, err
	}
	policy := a.WorkspaceArn.ToStringOutput().ApplyT(func(arn string) (string, error) {
		return RemoteWritePolicy(arn).JSON()
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, n("irsa"), &iam.RolePolicyArgs{Role: role.Name, Policy: policy}, parent); err != nil {
		return nil, err
	}

	sa, err := corev1.NewServiceAccount(ctx, n("sa"), &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(Name), Namespace: namespace, Labels: labels,
			Annotations: pulumi.StringMap{
				"eks.amazonaws.com/role-arn":               role.Arn,
				"eks.amazonaws.com/sts-regional-endpoints": pulumi.String("true"),
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}

	// Discovery reads pods of the auth namespace, and nothing else.
	discovery, err := rbacv1.NewRole(ctx, n("discovery"), &rbacv1.RoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name + "-discovery"), Namespace: pulumi.String(a.AuthNamespace), Labels: labels},
		Rules:    rbacv1.PolicyRuleArray{DiscoveryRule()},
	}, parent)
	if err != nil {
		return nil, err
	}
	binding, err := rbacv1.NewRoleBinding(ctx, n("discovery"), &rbacv1.RoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name + "-discovery"), Namespace: pulumi.String(a.AuthNamespace), Labels: labels},
		RoleRef: rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: discovery.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{rbacv1.SubjectArgs{
			Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: namespace,
		}},
	}, parent)
	if err != nil {
		return nil, err
	}

	config := a.RemoteWriteURL.ToStringOutput().ApplyT(func(url string) (string, error) {
		return Config{
			Job:            prometheus.Job,
			AuthNamespace:  a.AuthNamespace,
			PodSelector:    Selector(a.AuthPodLabels),
			ScrapeInterval: a.ScrapeInterval,
			RemoteWriteURL: url,
			Region:         a.Region,
			ExternalLabels: map[string]string{"cluster": a.ClusterName, "region": a.Region},
		}.YAML()
	}).(pulumi.StringOutput)
	// Immutable and auto-named: a new configuration rolls the pod.
	cm, err := corev1.NewConfigMap(ctx, n("config"), &corev1.ConfigMapArgs{
		Metadata:  &metav1.ObjectMetaArgs{Namespace: namespace, Labels: labels},
		Immutable: pulumi.Bool(true),
		Data:      pulumi.StringMap{"prometheus.yml": config},
	}, parent)
	if err != nil {
		return nil, err
	}

	annotations := pulumi.StringMap{}
	if a.KubernetesVersion != "" {
		annotations[restricted.KubernetesVersionAnnotation] = pulumi.String(a.KubernetesVersion)
	}
	resources := pulumi.StringMap{"cpu": pulumi.String("250m"), "memory": pulumi.String("256Mi")}
	probe := func(path string) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:       &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.Int(Port)},
			PeriodSeconds: pulumi.Int(10), TimeoutSeconds: pulumi.Int(2), FailureThreshold: pulumi.Int(3),
		}
	}
	// A StatefulSet of one: it never runs two pods of the same identity
	// (a Deployment's rollout would, and two agents with the same external
	// labels send every series twice, which the workspace rejects as
	// out-of-order samples). The workspace answers queries from the last 5
	// minutes' samples, which covers the gap while the pod is replaced.
	// Nothing serves from it, so the auth Deployments' contract (preStop
	// for the ALB, zone pinning, PDB) is not its own.
	if _, err := appsv1.NewStatefulSet(ctx, n("sts"), &appsv1.StatefulSetArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: namespace, Labels: labels},
		Spec: &appsv1.StatefulSetSpecArgs{
			Replicas:    pulumi.Int(1),
			ServiceName: pulumi.String(Name),
			Selector:    &metav1.LabelSelectorArgs{MatchLabels: selector},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels, Annotations: annotations},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName: sa.Metadata.Name().Elem(),
					SecurityContext:    restricted.PodSecurityContext(RunAsUser),
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name:  pulumi.String("prometheus"),
						Image: pulumi.String(a.Image),
						Args: pulumi.ToStringArray([]string{
							"--agent",
							"--config.file=" + ConfigFile,
							"--storage.agent.path=" + WALPath,
							fmt.Sprintf("--web.listen-address=:%d", Port),
						}),
						Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{
							Name: pulumi.String("web"), ContainerPort: pulumi.Int(Port), Protocol: pulumi.String("TCP"),
						}},
						Resources:      &corev1.ResourceRequirementsArgs{Requests: resources, Limits: resources},
						ReadinessProbe: probe("/-/ready"),
						LivenessProbe:  probe("/-/healthy"),
						VolumeMounts: corev1.VolumeMountArray{
							corev1.VolumeMountArgs{Name: pulumi.String("config"), MountPath: pulumi.String(strings.TrimSuffix(ConfigFile, "/prometheus.yml")), ReadOnly: pulumi.Bool(true)},
							corev1.VolumeMountArgs{Name: pulumi.String("wal"), MountPath: pulumi.String(WALPath)},
						},
						SecurityContext: restricted.ContainerSecurityContext(),
					}},
					Volumes: corev1.VolumeArray{
						corev1.VolumeArgs{Name: pulumi.String("config"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: cm.Metadata.Name().Elem()}},
						corev1.VolumeArgs{Name: pulumi.String("wal"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String("1Gi")}},
					},
				},
			},
		},
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{binding}, a.PodsWaitFor...))); err != nil {
		return nil, err
	}

	c.Namespace = namespace
	c.RoleArn = role.Arn
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"namespace": c.Namespace, "roleArn": c.RoleArn}); err != nil {
		return nil, err
	}
	return c, nil
}

// RemoteWritePolicy lets the collector write samples into one workspace
// and do nothing else (AMP User Guide, "IAM permissions":
// aps:RemoteWrite on the workspace).
func RemoteWritePolicy(workspaceArn string) iamdoc.Document {
	return iamdoc.New(iamdoc.Allow("RemoteWriteOwnWorkspace", []string{"aps:RemoteWrite"}, workspaceArn))
}

// DiscoveryRule is all Kubernetes discovery's pod role needs: list and
// watch pods.
func DiscoveryRule() rbacv1.PolicyRuleArgs {
	return rbacv1.PolicyRuleArgs{
		ApiGroups: pulumi.StringArray{pulumi.String("")},
		Resources: pulumi.StringArray{pulumi.String("pods")},
		Verbs:     pulumi.StringArray{pulumi.String("list"), pulumi.String("watch")},
	}
}
