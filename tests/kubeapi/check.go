package kubeapi

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

//go:embed crds/*.yaml
var crdFiles embed.FS

// CRDs returns the CustomResourceDefinitions the program's objects need
// besides the built-in kinds: ours, for the AWS Load Balancer Controller's
// TargetGroupBinding, and the VPC resource controller's SecurityGroupPolicy
// (its own CRD, copied).
func CRDs() ([]*unstructured.Unstructured, error) {
	entries, err := fs.ReadDir(crdFiles, "crds")
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, e := range entries {
		b, err := crdFiles.ReadFile(path.Join("crds", e.Name()))
		if err != nil {
			return nil, err
		}
		objs, err := DecodeYAML(b)
		if err != nil {
			return nil, fmt.Errorf("crds/%s: %w", e.Name(), err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// DecodeYAML decodes a stream of YAML documents into objects.
func DecodeYAML(b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var content map[string]any
		if err := dec.Decode(&content); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if len(content) > 0 {
			out = append(out, &unstructured.Unstructured{Object: content})
		}
	}
}

// FieldManager names this check in managed fields.
const FieldManager = "kubeapi-check"

// Checker submits objects to an API server.
type Checker struct {
	config *rest.Config
	client dynamic.Interface
	disco  discovery.DiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

// NewChecker returns a Checker for the API server cfg reaches.
func NewChecker(cfg *rest.Config) (*Checker, error) {
	cfg = rest.CopyConfig(cfg)
	// Warnings are collected per request (see withWarnings), not logged.
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(disco)
	return &Checker{config: cfg, client: client, disco: disco, mapper: restmapper.NewDeferredDiscoveryRESTMapper(cached)}, nil
}

// warnings collects the Warning headers of the responses to one client.
type warnings struct {
	mu       sync.Mutex
	messages []string
}

func (w *warnings) HandleWarningHeader(code int, agent string, message string) {
	if code != 299 || message == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.messages = append(w.messages, message)
}

// withWarnings returns a client whose responses' warnings land in w.
func (c *Checker) withWarnings() (dynamic.Interface, *warnings, error) {
	w := &warnings{}
	cfg := rest.CopyConfig(c.config)
	cfg.WarningHandler = w
	client, err := dynamic.NewForConfig(cfg)
	return client, w, err
}

// InstallCRDs creates our CRDs for real and waits until the API server
// serves their kinds.
func (c *Checker) InstallCRDs(ctx context.Context) error {
	crds, err := CRDs()
	if err != nil {
		return err
	}
	for _, crd := range crds {
		if _, err := c.Create(ctx, crd, ""); err != nil {
			return fmt.Errorf("installing CRD %s: %w", crd.GetName(), err)
		}
	}
	return nil
}

// Result is the server's verdict on one object: Err is nil when accepted.
// Warnings are what the server said while accepting it, such as a
// deprecated API or pods that the namespace's Pod Security level refuses.
type Result struct {
	Object   Object
	Warnings []string
	Err      error
}

// Check submits objects the way a deployment would meet them: Namespaces
// and CRDs first and for real, since a dry-run of an object in a namespace
// needs the namespace to exist, then every other object with server-side
// dry-run. All with strict field validation. Results are in plan order.
func (c *Checker) Check(ctx context.Context, objects []Object) []Result {
	results := make([]Result, len(objects))
	for pass := 0; pass < 2; pass++ {
		for i, o := range objects {
			prerequisite := isPrerequisite(o.Manifest.GroupVersionKind())
			if prerequisite != (pass == 0) {
				continue
			}
			submit := c.DryRun
			if prerequisite {
				submit = c.Create
			}
			warnings, err := submit(ctx, o.Manifest, o.DefaultNamespace)
			results[i] = Result{Object: o, Warnings: warnings, Err: err}
		}
	}
	return results
}

func isPrerequisite(gvk schema.GroupVersionKind) bool {
	return gvk.GroupKind() == schema.GroupKind{Kind: "Namespace"} ||
		gvk.GroupKind() == schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
}

// DryRun submits obj as a create with server-side dry-run and strict field
// validation: the API server decodes, defaults, validates (schema, CEL
// rules) and admits it, and stores nothing. A namespaced object that names
// no namespace goes to defaultNamespace, as with the provider. It returns
// the server's warnings.
func (c *Checker) DryRun(ctx context.Context, obj *unstructured.Unstructured, defaultNamespace string) ([]string, error) {
	res, w, err := c.resourceFor(obj, defaultNamespace)
	if err != nil {
		return nil, err
	}
	_, err = res.Create(ctx, obj, metav1.CreateOptions{
		DryRun:          []string{metav1.DryRunAll},
		FieldValidation: metav1.FieldValidationStrict,
		FieldManager:    FieldManager,
	})
	return w.messages, err
}

// Create creates obj for real, with strict field validation, and for a CRD
// waits until its kinds are served. An object that already exists (another
// stack's namespace of the same name) is validated with a dry-run
// server-side apply over it instead. It returns the server's warnings.
func (c *Checker) Create(ctx context.Context, obj *unstructured.Unstructured, defaultNamespace string) ([]string, error) {
	res, w, err := c.resourceFor(obj, defaultNamespace)
	if err != nil {
		return nil, err
	}
	_, err = res.Create(ctx, obj, metav1.CreateOptions{
		FieldValidation: metav1.FieldValidationStrict,
		FieldManager:    FieldManager,
	})
	if apierrors.IsAlreadyExists(err) {
		data, jsonErr := obj.MarshalJSON()
		if jsonErr != nil {
			return nil, jsonErr
		}
		force := true
		_, err = res.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
			DryRun:          []string{metav1.DryRunAll},
			FieldValidation: metav1.FieldValidationStrict,
			FieldManager:    FieldManager,
			Force:           &force,
		})
		return w.messages, err
	}
	if err == nil && obj.GroupVersionKind().Kind == "CustomResourceDefinition" {
		err = c.waitServed(ctx, obj)
	}
	return w.messages, err
}

// resourceFor finds obj's resource through discovery, so that a kind the
// server does not serve fails here with "no matches for kind". The
// resource's responses' warnings land in the returned collector.
func (c *Checker) resourceFor(obj *unstructured.Unstructured, defaultNamespace string) (dynamic.ResourceInterface, *warnings, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, nil, err
	}
	client, w, err := c.withWarnings()
	if err != nil {
		return nil, nil, err
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return client.Resource(mapping.Resource), w, nil
	}
	namespace := obj.GetNamespace()
	if namespace == "" {
		namespace = defaultNamespace
	}
	return client.Resource(mapping.Resource).Namespace(namespace), w, nil
}

// waitServed waits until a new CRD is Established and its group version
// is in discovery, then forgets the discovery cache so the kind maps.
func (c *Checker) waitServed(ctx context.Context, crd *unstructured.Unstructured) error {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	crds := c.client.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := func() error {
			got, err := crds.Get(ctx, crd.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !conditionTrue(got, "Established") {
				return fmt.Errorf("not Established")
			}
			for _, v := range versions {
				name, _ := v.(map[string]any)["name"].(string)
				list, err := c.disco.ServerResourcesForGroupVersion(group + "/" + name)
				if err != nil {
					return err
				}
				found := false
				for _, r := range list.APIResources {
					found = found || r.Name == plural
				}
				if !found {
					return fmt.Errorf("%s/%s does not list %s yet", group, name, plural)
				}
			}
			return nil
		}()
		if err == nil {
			c.mapper.Reset()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not served: %w", crd.GetName(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func conditionTrue(obj *unstructured.Unstructured, condition string) bool {
	conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] == condition && m["status"] == "True" {
			return true
		}
	}
	return false
}
