// Package authservice runs the auth service on the cluster so that Fargate
// patching and rollouts never fail a request: a namespace with readiness-gate
// injection, an IRSA service account that may read exactly its two secrets,
// the Deployment (probes, preStop sleep and grace period from the timing
// budget, zero-unavailable rollouts) once per zone, pinned there by the
// zone's Fargate profile, one Service, one PodDisruptionBudget and one
// TargetGroupBinding over all of them, and the SecurityGroupPolicy that gives
// the pods their own security group.
package authservice

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/ingress"
	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/components/restricted"
	"github.com/authplatform/auth-platform/components/timing"
)

// Fixed parts of the contract with the image (README: "the auth image
// contract").
const (
	// Name is the name of the Service, PDB, ServiceAccount,
	// TargetGroupBinding and SecurityGroupPolicy, the pods'
	// app.kubernetes.io/name, and the prefix of each zone's Deployment.
	Name = "auth"
	// ContainerPort is where the image listens; the target group and its
	// health check use the same port.
	ContainerPort = ingress.TargetPort
	// ServicePort is the ClusterIP Service's port, the one the
	// TargetGroupBinding's serviceRef names.
	ServicePort = 80
	// ReadinessPath is shared with the ALB health check: a pod takes
	// traffic when it can serve (started, initialised, not shutting down,
	// not overloaded); on the traffic port it answers the status only.
	ReadinessPath = ingress.HealthCheckPath
	// LivenessPath only says the process is not wedged; it must not check
	// dependencies, or a database blip restarts every pod.
	LivenessPath = "/health/live"
	// RunAsUser is the non-root UID the image must run as.
	RunAsUser = 10001
	// MetricsPort serves /metrics and the detailed /health (dependency
	// state); neither the Service nor the target group exposes it, so the
	// internet never reaches it.
	MetricsPort = 9090
	// ContainerPortName and MetricsPortName name the container's two ports.
	ContainerPortName = "http"
	MetricsPortName   = "metrics"

	// The readiness probe: the kubelet marks a pod NotReady after
	// ReadinessFailureThreshold failed probes, PeriodSeconds apart, each
	// answered within TimeoutSeconds; the LB controller then deregisters
	// its target. The downtime drill replays these values.
	ReadinessPeriodSeconds    = 5
	ReadinessTimeoutSeconds   = 2
	ReadinessFailureThreshold = 2

	// LogRouterConfigAnnotation carries Args.LogRouterConfig on the pods.
	LogRouterConfigAnnotation = "auth-platform/log-router-config"

	// ReadinessGateLabel makes the LB controller inject a readiness gate:
	// a new pod turns Ready only once its target is healthy in the ALB.
	ReadinessGateLabel = "elbv2.k8s.aws/pod-readiness-gate-inject"
	// TargetGroupBindingAPIVersion and Kind of the controller's CRD.
	TargetGroupBindingAPIVersion = "elbv2.k8s.aws/v1beta1"
	TargetGroupBindingKind       = "TargetGroupBinding"

	DefaultReplicas    = 3
	MinReplicas        = 2
	DefaultSessionTTL  = 3600
	DefaultSessionIdle = 1800
	// RolloutTimeout covers Fargate's slow pod starts plus the readiness
	// gate for each surge pod of a rolling update.
	RolloutTimeout = "20m"
)

// TargetGroupBindingImmutableFields are the binding's fields the
// controller's validating webhook refuses to update
// (aws-load-balancer-controller v3.5.0,
// webhooks/elbv2/targetgroupbinding_validator.go, checkImmutableFields).
// spec.vpcID is not set by the program, so it never changes, but is listed
// for the day it is.
var TargetGroupBindingImmutableFields = []string{
	"spec.targetGroupARN", "spec.targetType", "spec.ipAddressType", "spec.vpcID",
}

// Args configures a Service.
type Args struct {
	// Namespace of every object; the cluster must have a Fargate profile
	// for it. Required.
	Namespace string
	// Image is the auth image, pinned by tag or digest (the stack's own
	// build is a digest). Required.
	Image pulumi.StringInput
	// Replicas of the service in total, at least 2 and at least one per
	// zone, split evenly over the zones' Deployments. Default 3.
	Replicas int
	// Zones the pods run in, one Deployment each; each zone must have a
	// Fargate profile from FargateProfiles (in PodsWaitFor). Required.
	Zones []string
	// Size is the Fargate size of each pod; containers request and are
	// limited to it minus Fargate's overhead. Default 0.5 vCPU / 1 GiB.
	Size FargateSize
	// Timing gives the preStop sleep and the grace period. Required, and
	// it must satisfy timing.Check.
	Timing timing.Timing
	// SessionTTLSeconds (a session's absolute lifetime) and
	// SessionIdleSeconds (its idle timeout, at most the lifetime) are
	// handed to the service. Defaults 3600 and 1800.
	SessionTTLSeconds  int
	SessionIdleSeconds int

	// TargetGroupArn and ALBSecurityGroupID come from the ingress.
	// Required.
	TargetGroupArn     pulumi.StringInput
	ALBSecurityGroupID pulumi.StringInput
	// PodSecurityGroupID is the pods' own group (podsecurity), the one the
	// data stores admit; ClusterSecurityGroupID is the EKS cluster group,
	// which the pods keep for the control plane and CoreDNS (AWS: the groups
	// of a Fargate pod's SecurityGroupPolicy must include it). Required.
	PodSecurityGroupID     pulumi.StringInput
	ClusterSecurityGroupID pulumi.StringInput

	// Data tier endpoints and the secrets the service may read. Required,
	// except DatabaseReaderHost (default: the writer).
	DatabaseHost       pulumi.StringInput
	DatabaseReaderHost pulumi.StringInput
	DatabasePort       pulumi.IntInput
	DatabaseName       string
	DatabaseSecretArn  pulumi.StringInput
	DatabaseKmsKeyArn  pulumi.StringInput
	// AppDatabaseSecretArn is the application role's secret (encrypted with
	// DatabaseKmsKeyArn). When set, the pods read it instead of
	// DatabaseSecretArn (the master's), and a migration Job holding the
	// master secret runs before they roll (migrate.go). Default nil: the
	// pods use DatabaseSecretArn and migrate nothing (a global member).
	AppDatabaseSecretArn pulumi.StringInput
	RedisEndpoint        pulumi.StringInput
	RedisPort            pulumi.IntInput
	RedisSecretArn       pulumi.StringInput
	RedisKmsKeyArn       pulumi.StringInput

	// OIDCProviderARN and OIDCIssuerURL of the cluster, for IRSA. Required.
	OIDCProviderARN pulumi.StringInput
	OIDCIssuerURL   pulumi.StringInput
	// Region is handed to the service (Fargate has no instance metadata)
	// and scopes the KMS condition. Required.
	Region string

	// ControllerRelease is the LB controller's Helm release: its webhook
	// must be serving before the TargetGroupBinding is created. Required.
	ControllerRelease pulumi.Resource
	// PodsWaitFor must exist before any pod is created: the zones' Fargate
	// profiles (pods created earlier stay Pending forever), CoreDNS and the
	// log router's configuration (read only when a pod starts). Default
	// none.
	PodsWaitFor []pulumi.Resource
	// ZoneProfiles name each zone's Fargate profile (the profile's
	// fargateProfileName output), which the zone's pod template names
	// with FargateProfileLabel. Optional; without it the pods go to any
	// profile that selects them.
	ZoneProfiles map[string]pulumi.StringInput
	// LogRouterConfig identifies the Fargate log router configuration the
	// pods start with (servicelogs.Logs.ConfigHash). It is a pod annotation,
	// so a new configuration rolls the pods: Fargate applies one only to
	// pods created after it. Default empty: no annotation.
	LogRouterConfig string
	// KubernetesVersion is the control plane's version, a pod annotation:
	// an upgrade rolls every zone's pods (zero-unavailable, like any
	// rollout) onto Fargate nodes with the new kubelet, after the control
	// plane and CoreDNS (PodsWaitFor) are done. Default empty: no
	// annotation.
	KubernetesVersion string

	Namer naming.Namer
	Tags  naming.Tags
}

// Service is the auth-service component.
type Service struct {
	pulumi.ResourceState

	Namespace       pulumi.StringOutput      `pulumi:"namespace"`
	RoleArn         pulumi.StringOutput      `pulumi:"roleArn"`
	DeploymentNames pulumi.StringArrayOutput `pulumi:"deploymentNames"`
	// Deployments are the zone Deployments, for what must wait for their
	// rollout (the listener rules, see ingress.ForwardPublicPaths).
	Deployments   []pulumi.Resource
	ServiceName   pulumi.StringOutput `pulumi:"serviceName"`
	ConfigMapName pulumi.StringOutput `pulumi:"configMapName"`
	BindingName   pulumi.StringOutput `pulumi:"targetGroupBindingName"`

	// Labels select the pods of every zone: Service, PDB and
	// SecurityGroupPolicy use them.
	Labels map[string]string
	// ReplicasByZone is how many pods each zone's Deployment runs.
	ReplicasByZone map[string]int
	// Timing as applied.
	Timing timing.Timing
}

// PodLabels are the labels of the auth pods of one stack and region.
func PodLabels(namer naming.Namer) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":     Name,
		"app.kubernetes.io/instance": namer.Prefix(),
	}
}

// NewService creates the Kubernetes objects and the IRSA role. Pass the
// regional AWS provider and the cluster's Kubernetes provider with
// pulumi.Providers.
func NewService(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Service, error) {
	if args == nil {
		return nil, fmt.Errorf("authservice %s: args are required", name)
	}
	a := *args
	if a.Replicas == 0 {
		a.Replicas = DefaultReplicas
	}
	if a.Size == (FargateSize{}) {
		a.Size = FargateSize{VCPU: 0.5, MemoryGiB: 1}
	}
	if a.SessionTTLSeconds == 0 {
		a.SessionTTLSeconds = DefaultSessionTTL
	}
	if a.SessionIdleSeconds == 0 {
		a.SessionIdleSeconds = min(DefaultSessionIdle, a.SessionTTLSeconds)
	}
	if a.DatabaseReaderHost == nil {
		a.DatabaseReaderHost = a.DatabaseHost
	}
	switch {
	case a.Namespace == "" || a.Image == nil || a.Region == "":
		return nil, fmt.Errorf("authservice %s: Namespace, Image and Region are required", name)
	case a.Replicas < MinReplicas:
		return nil, fmt.Errorf("authservice %s: Replicas is %d; at least %d keep the service up while a pod is evicted", name, a.Replicas, MinReplicas)
	case a.ControllerRelease == nil:
		return nil, fmt.Errorf("authservice %s: ControllerRelease is required: the TargetGroupBinding must wait for the controller", name)
	case a.PodSecurityGroupID == nil || a.ClusterSecurityGroupID == nil:
		return nil, fmt.Errorf("authservice %s: PodSecurityGroupID and ClusterSecurityGroupID are required", name)
	}
	split, err := SplitReplicas(a.Replicas, len(a.Zones))
	if err != nil {
		return nil, fmt.Errorf("authservice %s: Replicas over Zones: %w", name, err)
	}
	if err := a.Size.Check(); err != nil {
		return nil, fmt.Errorf("authservice %s: %w", name, err)
	}
	if err := a.Timing.Check(); err != nil {
		return nil, fmt.Errorf("authservice %s: timing: %w", name, err)
	}

	s := &Service{Labels: PodLabels(a.Namer), Timing: a.Timing, ReplicasByZone: map[string]int{}}
	for i, zone := range a.Zones {
		s.ReplicasByZone[zone] = split[i]
	}
	if err := ctx.RegisterComponentResource("authplatform:authservice:Service", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	n := func(parts ...string) string { return a.Namer.Name(append([]string{"auth"}, parts...)...) }
	labels := pulumi.ToStringMap(s.Labels)
	common := pulumi.StringMap{
		"app.kubernetes.io/part-of":    pulumi.String(a.Namer.App),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
	objectLabels := mergeLabels(common, labels)

	ns, err := corev1.NewNamespace(ctx, n("ns"), &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(a.Namespace),
			Labels: mergeLabels(common, pulumi.StringMap{
				// Set before any pod exists: the label only affects pods
				// created after it.
				ReadinessGateLabel: pulumi.String("enabled"),
				// The pods meet the restricted Pod Security Standard.
				"pod-security.kubernetes.io/enforce": pulumi.String("restricted"),
				"pod-security.kubernetes.io/warn":    pulumi.String("restricted"),
			}),
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	namespace := ns.Metadata.Name().Elem()

	role, err := s.irsaRole(ctx, &a, n("irsa"), parent)
	if err != nil {
		return nil, err
	}
	sa, err := corev1.NewServiceAccount(ctx, n("sa"), &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(Name),
			Namespace: namespace,
			Labels:    objectLabels,
			Annotations: pulumi.StringMap{
				"eks.amazonaws.com/role-arn":               role.Arn,
				"eks.amazonaws.com/sts-regional-endpoints": pulumi.String("true"),
			},
		},
		// The service never talks to the Kubernetes API; IRSA projects its
		// own token.
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}

	// Immutable and auto-named: a change creates a new ConfigMap and the
	// Deployment rolls onto it, instead of pods silently keeping old values.
	cm, err := corev1.NewConfigMap(ctx, n("config"), &corev1.ConfigMapArgs{
		Metadata:  &metav1.ObjectMetaArgs{Namespace: namespace, Labels: objectLabels},
		Immutable: pulumi.Bool(true),
		Data:      configData(&a),
	}, parent)
	if err != nil {
		return nil, err
	}

	svc, err := corev1.NewService(ctx, n("svc"), &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: namespace, Labels: objectLabels},
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: labels,
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				Name:       pulumi.String("http"),
				Protocol:   pulumi.String("TCP"),
				Port:       pulumi.Int(ServicePort),
				TargetPort: pulumi.Int(ContainerPort),
			}},
		},
	}, parent)
	if err != nil {
		return nil, err
	}

	tgb, err := apiextensions.NewCustomResource(ctx, n("tgb"), &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(TargetGroupBindingAPIVersion),
		Kind:       pulumi.String(TargetGroupBindingKind),
		// Named after its target group: a new group gets a new binding,
		// created beside the old one (create-before-delete), see
		// BindingName.
		Metadata: &metav1.ObjectMetaArgs{Name: a.TargetGroupArn.ToStringOutput().ApplyT(BindingName).(pulumi.StringOutput),
			Namespace: namespace, Labels: objectLabels},
		OtherFields: kubernetes.UntypedArgs{
			"spec": pulumi.Map{
				"targetGroupARN": a.TargetGroupArn,
				"targetType":     pulumi.String("ip"),
				"ipAddressType":  pulumi.String("ipv4"),
				"serviceRef": pulumi.Map{
					"name": svc.Metadata.Name().Elem(),
					"port": pulumi.Int(ServicePort),
				},
				// The controller opens the pods' security group to the ALB
				// on the container port, and only to it.
				"networking": pulumi.Map{
					"ingress": pulumi.Array{pulumi.Map{
						"from": pulumi.Array{pulumi.Map{
							"securityGroup": pulumi.Map{"groupID": a.ALBSecurityGroupID},
						}},
						"ports": pulumi.Array{pulumi.Map{
							"protocol": pulumi.String("TCP"),
							"port":     pulumi.Int(ContainerPort),
						}},
					}},
				},
			},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{a.ControllerRelease}),
		// The controller's webhook refuses to change these on an existing
		// binding, so a change (a new target group) replaces it. The new
		// binding has the new group's name, so the old one stays, keeping
		// the old group's targets registered, until the end of the update.
		pulumi.ReplaceOnChanges(TargetGroupBindingImmutableFields))
	if err != nil {
		return nil, err
	}

	// The pods' own security group. Fargate applies a policy only to pods
	// created after it, so every Deployment waits for it.
	sgp, err := apiextensions.NewCustomResource(ctx, n("sgp"), &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(SecurityGroupPolicyAPIVersion),
		Kind:       pulumi.String(SecurityGroupPolicyKind),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: namespace, Labels: objectLabels},
		OtherFields: kubernetes.UntypedArgs{
			"spec": pulumi.Map{
				"podSelector": pulumi.Map{"matchLabels": labels},
				"securityGroups": pulumi.Map{
					"groupIds": pulumi.StringArray{a.PodSecurityGroupID.ToStringOutput(), a.ClusterSecurityGroupID.ToStringOutput()},
				},
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}

	podsAfter := append([]pulumi.Resource{tgb, svc, sgp}, a.PodsWaitFor...)
	if a.AppDatabaseSecretArn != nil {
		job, err := s.migrationJob(ctx, &a, n, namespace, objectLabels, cm.Metadata.Name().Elem(), a.PodsWaitFor, parent)
		if err != nil {
			return nil, err
		}
		podsAfter = append(podsAfter, job)
	}

	// One Deployment per zone. They roll independently, each with
	// maxUnavailable 0 and maxSurge 1, so no zone ever has fewer Ready pods
	// than it is given; the one PDB over all of them still limits voluntary
	// evictions to one pod of the service at a time.
	var deploymentNames pulumi.StringArray
	var deployments []pulumi.Resource
	for i, zone := range a.Zones {
		zoneLabels := mergeLabels(labels, pulumi.StringMap{ZoneLabel: pulumi.String(zone)})
		podLabels := mergeLabels(objectLabels, zoneLabels)
		if profile, ok := a.ZoneProfiles[zone]; ok {
			// On the pods only, not in the selector (immutable): a new
			// profile rolls the zone onto it, see FargateProfileLabel.
			podLabels = mergeLabels(podLabels, pulumi.StringMap{FargateProfileLabel: profile})
		}
		dep, err := appsv1.NewDeployment(ctx, n("deploy", zone), &appsv1.DeploymentArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(DeploymentName(zone)), Namespace: namespace, Labels: mergeLabels(objectLabels, zoneLabels)},
			Spec:     deploymentSpec(&a, split[i], zoneLabels, podLabels, sa.Metadata.Name().Elem(), cm.Metadata.Name().Elem()),
		}, parent,
			// The Service, the binding, the namespace label and the security
			// group policy must exist before the first pod, or it gets no
			// readiness gate or the cluster's group.
			// The migration Job too: the pods wait for their schema.
			pulumi.DependsOn(podsAfter),
			pulumi.Timeouts(&pulumi.CustomTimeouts{Create: RolloutTimeout, Update: RolloutTimeout}))
		if err != nil {
			return nil, err
		}
		deploymentNames = append(deploymentNames, dep.Metadata.Name().Elem())
		deployments = append(deployments, dep)
	}

	if _, err := policyv1.NewPodDisruptionBudget(ctx, n("pdb"), &policyv1.PodDisruptionBudgetArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: namespace, Labels: objectLabels},
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			// Fargate patching evicts one pod at a time; 0 would block it.
			MaxUnavailable: pulumi.Int(1),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: labels},
			// A pod that never turned Ready must not block a drain.
			UnhealthyPodEvictionPolicy: pulumi.String("AlwaysAllow"),
		},
	}, parent); err != nil {
		return nil, err
	}

	s.Namespace = namespace
	s.RoleArn = role.Arn
	s.DeploymentNames = deploymentNames.ToStringArrayOutput()
	s.Deployments = deployments
	s.ServiceName = svc.Metadata.Name().Elem()
	s.ConfigMapName = cm.Metadata.Name().Elem()
	s.BindingName = pulumi.String(Name).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"namespace":              s.Namespace,
		"roleArn":                s.RoleArn,
		"deploymentNames":        s.DeploymentNames,
		"serviceName":            s.ServiceName,
		"configMapName":          s.ConfigMapName,
		"targetGroupBindingName": s.BindingName,
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// irsaRole may read exactly the database and cache secrets, and decrypt
// them only through Secrets Manager.
func (s *Service) irsaRole(ctx *pulumi.Context, a *Args, name string, parent pulumi.ResourceOption) (*iam.Role, error) {
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Description:      pulumi.String("Auth service (IRSA): reads its database and cache secrets"), // mutation: equivalent — an IAM role description is read by people and updated in place
		AssumeRolePolicy: iamdoc.IRSATrustOutput(a.OIDCProviderARN, a.OIDCIssuerURL, a.Namespace, Name),
		Tags:             pulumi.ToStringMap(a.Tags.WithName(name)),
	}, parent)
	if err != nil {
		return nil, err
	}
	policy := pulumi.All(a.podDatabaseSecret(), a.RedisSecretArn, a.DatabaseKmsKeyArn, a.RedisKmsKeyArn).ApplyT(
		func(v []interface{}) (string, error) {
			return SecretsPolicy(a.Region, v[0].(string), v[1].(string), v[2].(string), v[3].(string)).JSON()
		}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Role:   role.Name,
		Policy: policy,
	}, parent); err != nil {
		return nil, err
	}
	return role, nil
}

// SecretsPolicy grants read access to two secrets and decryption with
// their keys when Secrets Manager asks on the service's behalf.
func SecretsPolicy(region, dbSecretArn, cacheSecretArn string, kmsKeyArns ...string) iamdoc.Document {
	keys := uniqueSorted(kmsKeyArns)
	return iamdoc.New(
		iamdoc.Allow("ReadOwnSecrets",
			[]string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
			uniqueSorted([]string{dbSecretArn, cacheSecretArn})...),
		iamdoc.Allow("DecryptOwnSecrets", []string{"kms:Decrypt"}, keys...).
			When("StringEquals", "kms:ViaService", "secretsmanager."+region+".amazonaws.com"),
	)
}

// podDatabaseSecret is the secret the serving pods read: the application
// role's when there is one, never the master's then.
func (a *Args) podDatabaseSecret() pulumi.StringInput {
	if a.AppDatabaseSecretArn != nil {
		return a.AppDatabaseSecretArn
	}
	return a.DatabaseSecretArn
}

func configData(a *Args) pulumi.StringMap {
	t := a.Timing
	return pulumi.StringMap{
		"AWS_REGION":       pulumi.String(a.Region),
		"PORT":             pulumi.String(strconv.Itoa(ContainerPort)),
		"METRICS_PORT":     pulumi.String(strconv.Itoa(MetricsPort)),
		"DB_HOST":          a.DatabaseHost,
		"DB_READER_HOST":   a.DatabaseReaderHost,
		"DB_PORT":          pulumi.Sprintf("%d", a.DatabasePort),
		"DB_NAME":          pulumi.String(a.DatabaseName),
		"DB_SECRET_ARN":    a.podDatabaseSecret(),
		"REDIS_HOSTS":      pulumi.Sprintf("%s:%d", a.RedisEndpoint, a.RedisPort),
		"REDIS_SECRET_ARN": a.RedisSecretArn,
		"CLUSTER_ENABLED":  pulumi.String("true"),
		"REDIS_TLS":        pulumi.String("true"),
		// Sessions live in Redis with this TTL.
		"SESSION_TTL_SECONDS":  pulumi.String(strconv.Itoa(a.SessionTTLSeconds)),
		"SESSION_IDLE_SECONDS": pulumi.String(strconv.Itoa(a.SessionIdleSeconds)),
		// The service's own deadlines, from the same budget as the pod's.
		"REQUEST_TIMEOUT_SECONDS":  pulumi.String(strconv.Itoa(t.MaxRequestSeconds)),
		"SHUTDOWN_TIMEOUT_SECONDS": pulumi.String(strconv.Itoa(t.ShutdownSeconds)),
	}
}

func deploymentSpec(a *Args, replicas int, selector, podLabels pulumi.StringMap, serviceAccount, configMap pulumi.StringOutput) *appsv1.DeploymentSpecArgs {
	t := a.Timing
	httpGet := func(path string) *corev1.HTTPGetActionArgs {
		return &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.Int(ContainerPort), Scheme: pulumi.String("HTTP")}
	}
	resources := pulumi.StringMap{"cpu": pulumi.String(a.Size.CPU()), "memory": pulumi.String(a.Size.Memory())}
	return &appsv1.DeploymentSpecArgs{
		Replicas: pulumi.Int(replicas),
		Selector: &metav1.LabelSelectorArgs{MatchLabels: selector},
		// A new pod must be Ready (target healthy, via the readiness gate)
		// before an old one goes.
		Strategy: &appsv1.DeploymentStrategyArgs{
			Type: pulumi.String("RollingUpdate"),
			RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{
				MaxUnavailable: pulumi.Int(0),
				MaxSurge:       pulumi.Int(1),
			},
		},
		MinReadySeconds:         pulumi.Int(5),
		ProgressDeadlineSeconds: pulumi.Int(900),
		RevisionHistoryLimit:    pulumi.Int(5),
		Template: &corev1.PodTemplateSpecArgs{
			Metadata: &metav1.ObjectMetaArgs{Labels: podLabels, Annotations: podAnnotations(a)},
			Spec: &corev1.PodSpecArgs{
				ServiceAccountName:            serviceAccount,
				AutomountServiceAccountToken:  pulumi.Bool(false),
				TerminationGracePeriodSeconds: pulumi.Int(t.TerminationGracePeriodSeconds),
				// No topology spread constraint: Fargate ignores it. The
				// zone label and the zone's one-subnet profile pin the pods.
				SecurityContext: podSecurityContext(),
				Containers: corev1.ContainerArray{corev1.ContainerArgs{
					Name:            pulumi.String(Name),
					Image:           a.Image,
					ImagePullPolicy: pulumi.String("IfNotPresent"),
					// The metrics port is declared (so it is named and known)
					// but no Service, target group or binding names it.
					Ports: corev1.ContainerPortArray{
						corev1.ContainerPortArgs{
							Name: pulumi.String(ContainerPortName), ContainerPort: pulumi.Int(ContainerPort), Protocol: pulumi.String("TCP"),
						},
						corev1.ContainerPortArgs{
							Name: pulumi.String(MetricsPortName), ContainerPort: pulumi.Int(MetricsPort), Protocol: pulumi.String("TCP"),
						},
					},
					EnvFrom: corev1.EnvFromSourceArray{corev1.EnvFromSourceArgs{
						ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: configMap},
					}},
					// The Go runtime's, not the service's: from the same
					// size as the memory limit below.
					Env:       corev1.EnvVarArray{corev1.EnvVarArgs{Name: pulumi.String("GOMEMLIMIT"), Value: pulumi.String(a.Size.GoMemLimit())}},
					Resources: &corev1.ResourceRequirementsArgs{Requests: resources, Limits: resources},
					// Gives a slow first start up to 2 minutes before the
					// liveness probe may restart it.
					StartupProbe: &corev1.ProbeArgs{
						HttpGet: httpGet(LivenessPath), PeriodSeconds: pulumi.Int(5), TimeoutSeconds: pulumi.Int(2),
						FailureThreshold: pulumi.Int(24),
					},
					ReadinessProbe: &corev1.ProbeArgs{
						HttpGet: httpGet(ReadinessPath), PeriodSeconds: pulumi.Int(ReadinessPeriodSeconds), TimeoutSeconds: pulumi.Int(ReadinessTimeoutSeconds),
						SuccessThreshold: pulumi.Int(1), FailureThreshold: pulumi.Int(ReadinessFailureThreshold),
					},
					LivenessProbe: &corev1.ProbeArgs{
						HttpGet: httpGet(LivenessPath), PeriodSeconds: pulumi.Int(10), TimeoutSeconds: pulumi.Int(2),
						FailureThreshold: pulumi.Int(3),
					},
					// Keeps serving while the ALB stops routing here and
					// drains; SIGTERM comes after. The kubelet's own sleep
					// needs no shell in the image (Kubernetes 1.30+).
					Lifecycle: &corev1.LifecycleArgs{
						PreStop: &corev1.LifecycleHandlerArgs{
							Sleep: &corev1.SleepActionArgs{Seconds: pulumi.Int(t.PreStopSleepSeconds)},
						},
					},
					SecurityContext: containerSecurityContext(),
				}},
			},
		},
	}
}

// podAnnotations: the log router's configuration, and the target group
// the pods serve (TargetGroupAnnotation).
func podAnnotations(a *Args) pulumi.StringMap {
	out := pulumi.StringMap{TargetGroupAnnotation: a.TargetGroupArn}
	if a.LogRouterConfig != "" {
		out[LogRouterConfigAnnotation] = pulumi.String(a.LogRouterConfig)
	}
	if a.KubernetesVersion != "" {
		out[restricted.KubernetesVersionAnnotation] = pulumi.String(a.KubernetesVersion)
	}
	return out
}

// FargateProfileLabel on a zone's pod template names the zone's Fargate
// profile. A pod that several profiles select runs on the one it names
// (EKS user guide, latest/ug/nodes/fargate-profile.adoc, "Fargate profile
// components": the eks.amazonaws.com/fargate-profile label). Profiles are
// auto-named, so a replaced profile has a new name: the label changes,
// the zone's Deployment rolls its pods onto the new profile (surge,
// readiness gate, preStop drain) while both profiles exist, and only then
// does Pulumi delete the old profile, which EKS deletes with whatever
// still runs on it: nothing of the zone by then.
const FargateProfileLabel = "eks.amazonaws.com/fargate-profile"

// TargetGroupAnnotation on the pod template carries the target group's
// ARN. A new target group changes it, so every zone Deployment rolls,
// and the pods it creates while both bindings exist get a readiness gate
// per binding: the controller injects gates only when a pod is created,
// one for each binding in the pod's namespace whose Service selects it
// (aws-load-balancer-controller v3.5.0
// pkg/inject/pod_readiness/pod_readiness_gate.go:65-100,
// computeTargetHealthReadinessGateConditionTypes), so a new pod is Ready
// only once healthy in the new group too. The ARN does not change on any
// other update, so nothing else rolls the pods.
const TargetGroupAnnotation = "authplatform.io/target-group"

// BindingName is the TargetGroupBinding's name for a target group ARN:
// the service's name and the group's ID (the ARN's last part, 16 hex
// digits), so that a new group gets a binding of another name, which
// pulumi-kubernetes creates before deleting the old one (v4.32.0
// provider/pkg/provider/provider.go:1645-1657: delete-first only when
// the name stays). The old binding goes at the end of the update with
// the old group; its finalizer (v3.5.0
// controllers/elbv2/targetgroupbinding_controller.go:53,174) deregisters
// its targets from the old group first.
func BindingName(targetGroupArn string) string {
	id := targetGroupArn[strings.LastIndex(targetGroupArn, "/")+1:]
	return Name + "-" + strings.ToLower(id)
}

func mergeLabels(maps ...pulumi.StringMap) pulumi.StringMap {
	out := pulumi.StringMap{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func uniqueSorted(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
