package kubeapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Markers the offline plan puts where a value is not known (cmd/plan/mocks).
const (
	SecretMarker  = "[secret]"
	UnknownMarker = "[unknown]"
)

// Plan is the part of `plan --json` this check reads.
type Plan struct {
	Project   string     `json:"project"`
	Stack     string     `json:"stack"`
	Resources []Resource `json:"resources"`
}

// Resource is one planned resource.
type Resource struct {
	URN       string         `json:"urn"`
	Type      string         `json:"type"`
	Name      string         `json:"name"`
	ID        string         `json:"id"`
	Provider  string         `json:"provider"`
	DependsOn []string       `json:"dependsOn"`
	Inputs    map[string]any `json:"inputs"`
}

// ParsePlan decodes a plan document.
func ParsePlan(b []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decoding the plan: %w", err)
	}
	return &p, nil
}

// Object is a Kubernetes object of the plan, as a manifest to submit.
type Object struct {
	URN string
	// Manifest is the object as the Kubernetes provider would send it.
	Manifest *unstructured.Unstructured
	// DefaultNamespace is the namespace the object's provider puts
	// namespaced objects in that name none.
	DefaultNamespace string
	// Placeholders lists each value the plan could not know offline and
	// what stands in for it, as "path: value".
	Placeholders []string
}

// Skipped is a Kubernetes resource of the plan that is not submitted.
type Skipped struct {
	URN, Type, Reason string
}

// Objects returns the Kubernetes objects of a plan, in plan order, and the
// Kubernetes resources it leaves out of scope, each with its reason.
func Objects(p *Plan) ([]Object, []Skipped, error) {
	defaultNamespaces := map[string]string{}
	for _, r := range p.Resources {
		if r.Type == "pulumi:providers:kubernetes" {
			if ns, ok := r.Inputs["namespace"].(string); ok && ns != "" && ns != UnknownMarker {
				defaultNamespaces[r.URN] = ns
			}
		}
	}
	var objects []Object
	var skipped []Skipped
	for _, r := range p.Resources {
		if !strings.HasPrefix(r.Type, "kubernetes:") {
			continue
		}
		if reason := outOfScope(r.Type); reason != "" {
			skipped = append(skipped, Skipped{URN: r.URN, Type: r.Type, Reason: reason})
			continue
		}
		o, err := ObjectOf(r)
		if err != nil {
			return nil, nil, err
		}
		o.DefaultNamespace = defaultNamespaces[r.Provider]
		if o.DefaultNamespace == "" {
			o.DefaultNamespace = "default"
		}
		objects = append(objects, o)
	}
	return objects, skipped, nil
}

// outOfScope says why a Kubernetes type token is not a single object this
// check can submit, or "" when it is one.
func outOfScope(typeToken string) string {
	parts := strings.Split(typeToken, ":")
	if len(parts) != 3 {
		return ""
	}
	module, kind := parts[1], parts[2]
	switch {
	case strings.HasPrefix(module, "helm.sh/"):
		return "Helm release: out of scope; its objects are rendered from the chart at deploy time"
	case module == "yaml" || strings.HasPrefix(module, "yaml/") || strings.HasPrefix(module, "kustomize"):
		return "manifest component: out of scope; its objects are read at deploy time"
	case strings.HasSuffix(kind, "Patch"):
		return "patch of an existing object: out of scope; not a whole object"
	}
	return ""
}

// GroupVersionKind maps a Pulumi Kubernetes type token to the object's
// GroupVersionKind: kubernetes:core/v1:Namespace is v1 Namespace,
// kubernetes:apps/v1:Deployment is apps/v1 Deployment.
func GroupVersionKind(typeToken string) (schema.GroupVersionKind, error) {
	parts := strings.Split(typeToken, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" || parts[2] == "" {
		return schema.GroupVersionKind{}, fmt.Errorf("%q is not a Kubernetes type token (kubernetes:GROUP/VERSION:KIND)", typeToken)
	}
	group, version, ok := strings.Cut(parts[1], "/")
	if !ok || group == "" || version == "" {
		return schema.GroupVersionKind{}, fmt.Errorf("%q is not a Kubernetes type token (kubernetes:GROUP/VERSION:KIND)", typeToken)
	}
	if group == "core" {
		group = ""
	}
	return schema.GroupVersionKind{Group: group, Version: version, Kind: parts[2]}, nil
}

// ObjectOf builds the manifest of one Kubernetes resource: apiVersion and
// kind from its type token, the rest from its inputs, and a realistic
// placeholder for each value the plan could not know (see placeholder).
func ObjectOf(r Resource) (Object, error) {
	gvk, err := GroupVersionKind(r.Type)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %w", r.URN, err)
	}
	apiVersion, kind := gvk.GroupVersion().String(), gvk.Kind
	// Inputs carry apiVersion and kind too; a disagreement is a bug in the
	// program (a CustomResource's type token comes from them).
	for field, want := range map[string]string{"apiVersion": apiVersion, "kind": kind} {
		if got, ok := r.Inputs[field]; ok && got != want {
			return Object{}, fmt.Errorf("%s: inputs say %s %v, the type token %s says %s", r.URN, field, got, r.Type, want)
		}
	}
	o := Object{URN: r.URN}
	fill := filler{kind: kind, id: r.ID, object: &o}
	content := fill.walk(r.Inputs, nil).(map[string]any)
	content["apiVersion"], content["kind"] = apiVersion, kind
	if fill.metadataNameMissing(content) {
		// The provider auto-names it; the plan's ID (namespace/name) holds
		// the name the mocks gave it, which other objects refer to.
		fill.setMetadata(content, "name", fill.idName(strings.ToLower(r.Name)), "auto-named by the provider; the name in the plan's ID")
	}
	// Through JSON so numbers become int64 or float64 as apimachinery
	// expects, not the float64 of encoding/json.
	b, err := json.Marshal(content)
	if err != nil {
		return Object{}, fmt.Errorf("%s: %w", r.URN, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return Object{}, fmt.Errorf("%s: %w", r.URN, err)
	}
	o.Manifest = u
	sort.Strings(o.Placeholders)
	return o, nil
}

// Placeholders by field name for values unknown offline: shaped like the
// real thing, so that a schema's patterns and the webhook rules in our CRD
// judge them as they would the real value.
var placeholderByField = map[string]any{
	"targetGroupARN":             "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/kubeapi-placeholder/0123456789abcdef",
	"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/kubeapi-placeholder",
	"groupID":                    "sg-0123456789abcdef0",
	"vpcID":                      "vpc-0123456789abcdef0",
	"cidr":                       "10.0.0.0/16",
	"port":                       int64(8080),
	"containerPort":              int64(8080),
	"targetPort":                 int64(8080),
	"nodePort":                   int64(30080),
	"replicas":                   int64(2),
}

// genericPlaceholder stands in for any other unknown string: valid as a
// name, a label value and free text alike.
const genericPlaceholder = "kubeapi-placeholder"

type filler struct {
	kind   string
	id     string
	object *Object
}

// walk copies v, replacing the markers of unknown and secret values.
func (f *filler) walk(v any, path []string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = f.walk(e, append(path[:len(path):len(path)], k))
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = f.walk(e, append(path[:len(path):len(path)], fmt.Sprintf("[%d]", i)))
		}
		return out
	case string:
		if v == UnknownMarker || v == SecretMarker {
			return f.placeholder(v, path)
		}
	}
	return v
}

func (f *filler) placeholder(marker string, path []string) any {
	field := ""
	if len(path) > 0 {
		field = path[len(path)-1]
	}
	inData := len(path) == 2 && (path[0] == "data" || path[0] == "stringData" || path[0] == "binaryData")
	var value any
	var why string
	switch {
	case len(path) == 2 && path[0] == "metadata" && field == "name":
		value, why = f.idName(genericPlaceholder), "from the plan's ID"
	case len(path) == 2 && path[0] == "metadata" && field == "namespace":
		value, why = f.idNamespace(), "from the plan's ID"
	case inData && (path[0] == "binaryData" || (f.kind == "Secret" && path[0] == "data")):
		// Base64 fields: the marker itself, encoded.
		value, why = base64.StdEncoding.EncodeToString([]byte(marker)), "base64 of the marker"
	case inData && marker == SecretMarker:
		// A secret's plaintext is a string like any other.
		return marker
	case placeholderByField[field] != nil:
		value, why = placeholderByField[field], "unknown offline"
	case strings.HasSuffix(strings.ToLower(field), "arn"):
		value, why = placeholderByField["eks.amazonaws.com/role-arn"], "unknown ARN"
	default:
		value, why = genericPlaceholder, "unknown offline"
	}
	f.object.Placeholders = append(f.object.Placeholders, fmt.Sprintf("%s: %s -> %v (%s)", pathString(path), marker, value, why))
	return value
}

// pathString writes a field path as spec.ports[0].port.
func pathString(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func (f *filler) metadataNameMissing(content map[string]any) bool {
	meta, _ := content["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name == ""
}

func (f *filler) setMetadata(content map[string]any, field, value, why string) {
	meta, ok := content["metadata"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		content["metadata"] = meta
	}
	meta[field] = value
	f.object.Placeholders = append(f.object.Placeholders, fmt.Sprintf("metadata.%s: (absent) -> %s (%s)", field, value, why))
}

// idName is the name part of a Kubernetes resource's ID (namespace/name or
// name), or fallback when the ID is unknown.
func (f *filler) idName(fallback string) string {
	if f.id == "" || f.id == UnknownMarker {
		return fallback
	}
	_, name, ok := strings.Cut(f.id, "/")
	if !ok {
		return f.id
	}
	return name
}

func (f *filler) idNamespace() string {
	if ns, _, ok := strings.Cut(f.id, "/"); ok && ns != "" {
		return ns
	}
	return "default"
}
