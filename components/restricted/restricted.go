// Package restricted holds what every pod of the platform's operations
// namespaces needs to meet the restricted Pod Security Standard
// (kubernetes.io/docs/concepts/security/pod-security-standards): the
// namespace labels that enforce it, and the pod and container security
// contexts that pass it.
package restricted

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NamespaceLabels enforce and warn on the restricted level.
func NamespaceLabels() pulumi.StringMap {
	return pulumi.StringMap{
		"pod-security.kubernetes.io/enforce": pulumi.String("restricted"),
		"pod-security.kubernetes.io/warn":    pulumi.String("restricted"),
	}
}

// PodSecurityContext runs every container as uid (and group), non-root,
// with the runtime's default seccomp profile.
func PodSecurityContext(uid int) *corev1.PodSecurityContextArgs {
	return &corev1.PodSecurityContextArgs{
		RunAsNonRoot:   pulumi.Bool(true),
		RunAsUser:      pulumi.Int(uid),
		RunAsGroup:     pulumi.Int(uid),
		FsGroup:        pulumi.Int(uid),
		SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}

// ContainerSecurityContext: no privilege escalation, no capabilities, a
// read-only root filesystem.
func ContainerSecurityContext() *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		RunAsNonRoot:             pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
	}
}

// KubernetesVersionAnnotation carries the control plane's Kubernetes
// version on a pod template: an upgrade changes it, so the pods are
// replaced and start on Fargate nodes with the new kubelet (EKS User
// Guide, kubernetes-versions: "If you update the control plane, you must
// still update the Fargate nodes yourself").
const KubernetesVersionAnnotation = "auth-platform/kubernetes-version"
