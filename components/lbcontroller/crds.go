package lbcontroller

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// crdYAML is the chart's crds/crds.yaml at ChartVersion (see its header).
//
//go:embed crds/crds.yaml
var crdYAML string

// CRDsYAML returns the embedded CRD manifests, header included.
func CRDsYAML() string { return crdYAML }

// CRDManifests returns the chart's CustomResourceDefinitions as plain
// objects, in file order.
func CRDManifests() ([]map[string]interface{}, error) {
	dec := yaml.NewDecoder(strings.NewReader(crdYAML))
	var out []map[string]interface{}
	for {
		var doc map[string]interface{}
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				break
			}
			return nil, fmt.Errorf("lbcontroller: crds/crds.yaml: %w", err)
		}
		if doc == nil {
			continue
		}
		if doc["kind"] != "CustomResourceDefinition" {
			return nil, fmt.Errorf("lbcontroller: crds/crds.yaml holds a %v, not only CustomResourceDefinitions", doc["kind"])
		}
		out = append(out, doc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lbcontroller: crds/crds.yaml holds no CustomResourceDefinition")
	}
	return out, nil
}

// newCRDs applies the chart's CRDs as resources of their own. Helm installs
// a chart's crds/ only on first install and never upgrades them, so a chart
// bump would otherwise run a new controller against old schemas.
func newCRDs(ctx *pulumi.Context, prefix string, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	manifests, err := CRDManifests()
	if err != nil {
		return nil, err
	}
	var out []pulumi.Resource
	for _, m := range manifests {
		meta, _ := m["metadata"].(map[string]interface{})
		name, _ := meta["name"].(string)
		annotations := pulumi.StringMap{}
		if a, ok := meta["annotations"].(map[string]interface{}); ok {
			for k, v := range a {
				annotations[k] = pulumi.String(fmt.Sprint(v))
			}
		}
		crd, err := apiextensions.NewCustomResource(ctx, prefix+"-"+name, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String(fmt.Sprint(m["apiVersion"])),
			Kind:       pulumi.String("CustomResourceDefinition"),
			Metadata: &metav1.ObjectMetaArgs{
				Name:        pulumi.String(name),
				Annotations: annotations,
				Labels:      pulumi.StringMap{"app.kubernetes.io/version": pulumi.String(AppVersion)},
			},
			OtherFields: kubernetes.UntypedArgs{"spec": m["spec"]},
		}, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, crd)
	}
	return out, nil
}
