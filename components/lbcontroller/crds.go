package lbcontroller

import (
	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CRDsURL is the controller's own CRD manifest at AppVersion, the file the
// chart ships as crds/crds.yaml. It is read by the Kubernetes provider at
// deploy time, pinned by the release tag, so a chart bump (ChartVersion and
// AppVersion move together) moves the CRDs with it.
const CRDsURL = "https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/" + AppVersion +
	"/helm/aws-load-balancer-controller/crds/crds.yaml"

// newCRDs applies the controller's CRDs as resources of their own. Helm
// installs a chart's crds/ only on first install and never upgrades them,
// so a chart bump would otherwise run a new controller against old schemas.
func newCRDs(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	return yamlv2.NewConfigFile(ctx, name, &yamlv2.ConfigFileArgs{
		File: pulumi.String(CRDsURL),
	}, opts...)
}
