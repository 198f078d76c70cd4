// Package patchwindow runs the patch-window job (cmd/patch-window) in the
// cluster: a CronJob that starts at the opening of the stack's maintenance
// window and restarts, one zone at a time through a rollout restart of the
// zone's Deployment, the auth pods older than the configured age or
// created before a recorded Fargate patch notice, so Fargate's own
// evictions find no pod left to evict.
//
// The job runs on Fargate (the operations profile selects its namespace)
// with least privilege, all namespaced:
//   - in the auth namespace: list pods (their age and zone), get and patch
//     the zones' Deployments by name (the restart, and its progress);
//   - in its own namespace: get the one notice ConfigMap by name.
//
// It holds no AWS credentials. The notice: AWS Health sends the Fargate
// patch notice to EventBridge, and the stack routes it to the alarm topic
// (components/signals); an operator records its time with
//
//	kubectl -n auth-patching create configmap fargate-patch-notice --from-literal=receivedAt=<RFC 3339 time>
//
// and the next window restarts every pod created before it. The notice's
// event type and content are not documented (signals' package comment),
// so the job does not parse it; the age limit alone covers a notice whose
// eviction date is further away than the age limit plus the window's
// recurrence.
package patchwindow

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/components/restricted"
)

// Fixed parts.
const (
	// Namespace of the job; the operations Fargate profile selects it.
	Namespace = "auth-patching"
	// Name of the service account, CronJob and roles.
	Name = "patch-window"
	// NoticeConfigMap is where an operator records the patch notice.
	NoticeConfigMap = "fargate-patch-notice"
	// RunAsUser is the distroless image's nonroot user.
	RunAsUser = 65532
)

// Window is the maintenance window in UTC minutes after midnight (daily)
// or after Sunday 00:00 (weekly); End below Start runs past the period's
// end.
type Window struct {
	Weekly     bool
	Start, End int
}

// Length of the window.
func (w Window) Length() time.Duration {
	p := 24 * 60
	if w.Weekly {
		p *= 7
	}
	return time.Duration((w.End-w.Start+p)%p) * time.Minute
}

// Schedule is the cron schedule of the window's opening, in UTC.
func (w Window) Schedule() string {
	day := "*"
	if w.Weekly {
		day = strconv.Itoa(w.Start / (24 * 60))
	}
	m := w.Start % (24 * 60)
	return fmt.Sprintf("%d %d * * %s", m%60, m/60, day)
}

// Args configures a Job.
type Args struct {
	// Image of the job (cmd/patch-window). Required.
	Image pulumi.StringInput
	// AuthNamespace, AuthPodLabels and ZoneLabel find the auth pods.
	// Required.
	AuthNamespace string
	AuthPodLabels map[string]string
	ZoneLabel     string
	// Deployments by zone, in the order the zones are rolled. Required.
	Zones       []string
	Deployments map[string]string
	// MaxPodAge before a pod is restarted. Required.
	MaxPodAge time.Duration
	// Window the job acts in. Required; at least ZoneTimeout long.
	Window Window
	// ZoneTimeout bounds one zone's roll (the Deployments' rollout
	// timeout). Required.
	ZoneTimeout time.Duration
	// KubernetesVersion of the control plane, on the pod template. Default
	// none.
	KubernetesVersion string
	// PodsWaitFor must exist before a pod: the operations profile and
	// CoreDNS. Default none.
	PodsWaitFor []pulumi.Resource

	Namer naming.Namer
}

// Job is the patch-window component.
type Job struct {
	pulumi.ResourceState

	Namespace   pulumi.StringOutput `pulumi:"namespace"`
	CronJobName pulumi.StringOutput `pulumi:"cronJobName"`
	// Schedule is the CronJob's schedule (UTC).
	Schedule string
}

// NewJob creates the job's namespace, RBAC and CronJob. Pass the cluster's
// Kubernetes provider.
func NewJob(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Job, error) {
	if err := args.check(); err != nil {
		return nil, fmt.Errorf("patchwindow %s: %w", name, err)
	}
	a := *args
	j := &Job{Schedule: a.Window.Schedule()}
	if err := ctx.RegisterComponentResource("authplatform:patchwindow:Job", name, j, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(j)
	n := func(parts ...string) string { return a.Namer.Name(append([]string{"patch"}, parts...)...) }
	labels := pulumi.StringMap{
		"app.kubernetes.io/name":       pulumi.String(Name),
		"app.kubernetes.io/instance":   pulumi.String(a.Namer.Prefix()),
		"app.kubernetes.io/part-of":    pulumi.String(a.Namer.App),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
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
	sa, err := corev1.NewServiceAccount(ctx, n("sa"), &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: namespace, Labels: labels},
	}, parent)
	if err != nil {
		return nil, err
	}
	subject := rbacv1.SubjectArray{rbacv1.SubjectArgs{Kind: pulumi.String("ServiceAccount"), Name: sa.Metadata.Name().Elem(), Namespace: namespace}}

	var bindings []pulumi.Resource
	for _, r := range []struct {
		suffix    string
		namespace pulumi.StringInput
		rules     rbacv1.PolicyRuleArray
	}{
		{"auth", pulumi.String(a.AuthNamespace), AuthRules(a.deploymentNames())},
		{"notice", namespace, NoticeRules()},
	} {
		role, err := rbacv1.NewRole(ctx, n("role", r.suffix), &rbacv1.RoleArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: r.namespace, Labels: labels},
			Rules:    r.rules,
		}, parent)
		if err != nil {
			return nil, err
		}
		b, err := rbacv1.NewRoleBinding(ctx, n("binding", r.suffix), &rbacv1.RoleBindingArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: r.namespace, Labels: labels},
			RoleRef: rbacv1.RoleRefArgs{
				ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: role.Metadata.Name().Elem(),
			},
			Subjects: subject,
		}, parent)
		if err != nil {
			return nil, err
		}
		bindings = append(bindings, b)
	}

	annotations := pulumi.StringMap{}
	if a.KubernetesVersion != "" {
		annotations[restricted.KubernetesVersionAnnotation] = pulumi.String(a.KubernetesVersion)
	}
	window := int(a.Window.Length().Seconds())
	resources := pulumi.StringMap{"cpu": pulumi.String("250m"), "memory": pulumi.String("256Mi")}
	cron, err := batchv1.NewCronJob(ctx, n("cron"), &batchv1.CronJobArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(Name), Namespace: namespace, Labels: labels},
		Spec: &batchv1.CronJobSpecArgs{
			Schedule: pulumi.String(j.Schedule),
			TimeZone: pulumi.String("Etc/UTC"),
			// One run per window; a run started late (the controller was
			// down) still acts only while the window is open.
			ConcurrencyPolicy:          pulumi.String("Forbid"),
			StartingDeadlineSeconds:    pulumi.Int(window),
			SuccessfulJobsHistoryLimit: pulumi.Int(3),
			FailedJobsHistoryLimit:     pulumi.Int(3),
			JobTemplate: &batchv1.JobTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &batchv1.JobSpecArgs{
					// The window bounds the run; a failed zone is not retried
					// in the same window (the next one tries again).
					ActiveDeadlineSeconds: pulumi.Int(window),
					BackoffLimit:          pulumi.Int(0),
					Template: &corev1.PodTemplateSpecArgs{
						Metadata: &metav1.ObjectMetaArgs{Labels: labels, Annotations: annotations},
						Spec: &corev1.PodSpecArgs{
							RestartPolicy:      pulumi.String("Never"),
							ServiceAccountName: sa.Metadata.Name().Elem(),
							SecurityContext:    restricted.PodSecurityContext(RunAsUser),
							Containers: corev1.ContainerArray{corev1.ContainerArgs{
								Name:            pulumi.String(Name),
								Image:           a.Image,
								Args:            pulumi.ToStringArray(a.jobArgs()),
								Resources:       &corev1.ResourceRequirementsArgs{Requests: resources, Limits: resources},
								SecurityContext: restricted.ContainerSecurityContext(),
							}},
						},
					},
				},
			},
		},
	}, parent, pulumi.DependsOn(append(bindings, a.PodsWaitFor...)))
	if err != nil {
		return nil, err
	}
	j.Namespace = namespace
	j.CronJobName = cron.Metadata.Name().Elem()
	if err := ctx.RegisterResourceOutputs(j, pulumi.Map{"namespace": j.Namespace, "cronJobName": j.CronJobName}); err != nil {
		return nil, err
	}
	return j, nil
}

func (a *Args) check() error {
	switch {
	case a == nil || a.Image == nil:
		return fmt.Errorf("Image is required")
	case a.AuthNamespace == "" || len(a.AuthPodLabels) == 0 || a.ZoneLabel == "":
		return fmt.Errorf("AuthNamespace, AuthPodLabels and ZoneLabel are required")
	case len(a.Zones) == 0:
		return fmt.Errorf("Zones are required")
	case a.MaxPodAge <= 0 || a.ZoneTimeout <= 0:
		return fmt.Errorf("MaxPodAge and ZoneTimeout must be positive")
	case a.Window.Length() < a.ZoneTimeout:
		return fmt.Errorf("the window (%s) is shorter than one zone's roll (%s)", a.Window.Length(), a.ZoneTimeout)
	}
	for _, z := range a.Zones {
		if a.Deployments[z] == "" {
			return fmt.Errorf("zone %s has no Deployment", z)
		}
	}
	return nil
}

func (a *Args) deploymentNames() []string {
	out := make([]string, 0, len(a.Zones))
	for _, z := range a.Zones {
		out = append(out, a.Deployments[z])
	}
	sort.Strings(out)
	return out
}

// jobArgs are the job's flags (cmd/patch-window/main.go).
func (a *Args) jobArgs() []string {
	pairs := make([]string, 0, len(a.Zones))
	for _, z := range a.Zones {
		pairs = append(pairs, z+"="+a.Deployments[z])
	}
	keys := make([]string, 0, len(a.AuthPodLabels))
	for k := range a.AuthPodLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	selector := make([]string, 0, len(keys))
	for _, k := range keys {
		selector = append(selector, k+"="+a.AuthPodLabels[k])
	}
	period := "daily"
	if a.Window.Weekly {
		period = "weekly"
	}
	return []string{
		"-namespace=" + a.AuthNamespace,
		"-selector=" + strings.Join(selector, ","),
		"-zone-label=" + a.ZoneLabel,
		"-deployments=" + strings.Join(pairs, ","),
		"-max-age=" + a.MaxPodAge.String(),
		"-window-period=" + period,
		"-window-start=" + strconv.Itoa(a.Window.Start),
		"-window-end=" + strconv.Itoa(a.Window.End),
		"-zone-timeout=" + a.ZoneTimeout.String(),
		"-notice=" + Namespace + "/" + NoticeConfigMap,
	}
}

// AuthRules are the job's rights in the auth namespace: list pods, and
// get and patch the named Deployments. resourceNames cannot narrow a list
// (Kubernetes RBAC documentation, "Referring to resources").
func AuthRules(deployments []string) rbacv1.PolicyRuleArray {
	return rbacv1.PolicyRuleArray{
		rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.StringArray{pulumi.String("")},
			Resources: pulumi.StringArray{pulumi.String("pods")},
			Verbs:     pulumi.StringArray{pulumi.String("list")},
		},
		rbacv1.PolicyRuleArgs{
			ApiGroups:     pulumi.StringArray{pulumi.String("apps")},
			Resources:     pulumi.StringArray{pulumi.String("deployments")},
			ResourceNames: pulumi.ToStringArray(deployments),
			Verbs:         pulumi.StringArray{pulumi.String("get"), pulumi.String("patch")},
		},
	}
}

// NoticeRules let the job read the one notice ConfigMap.
func NoticeRules() rbacv1.PolicyRuleArray {
	return rbacv1.PolicyRuleArray{rbacv1.PolicyRuleArgs{
		ApiGroups:     pulumi.StringArray{pulumi.String("")},
		Resources:     pulumi.StringArray{pulumi.String("configmaps")},
		ResourceNames: pulumi.StringArray{pulumi.String(NoticeConfigMap)},
		Verbs:         pulumi.StringArray{pulumi.String("get")},
	}}
}
