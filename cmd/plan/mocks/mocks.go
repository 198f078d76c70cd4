// Package mocks is the one mock of AWS and Kubernetes used by the tests
// and by the offline plan. It records every resource the program registers
// (type, name, inputs, parent, provider, dependencies) and answers with the
// outputs the real providers would return: ARNs with account and region,
// AWS-shaped IDs, endpoints and a kubeconfig.
package mocks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// AccountID is the AWS account every mocked ARN belongs to.
const AccountID = "123456789012"

// Resource is one registered resource as the engine would see it.
type Resource struct {
	URN       string
	Type      string
	Name      string
	ID        string
	Parent    string
	Provider  string            // URN of the explicit provider, "" for a default one
	Providers map[string]string // package -> provider URN, for components
	DependsOn []string
	// Dependencies are every resource the engine waits for before it
	// creates this one: DependsOn and the resources whose outputs its inputs
	// use (components expanded to their children by the SDK), sorted.
	Dependencies []string
	// PropertyDependencies say which input brought which dependency.
	PropertyDependencies map[string][]string
	Protect              bool
	Custom               bool
	Remote               bool
	Inputs               resource.PropertyMap
	Outputs              resource.PropertyMap
	Region               string // the region of its provider
	Options              Options
	// RemoteChildren of a multi-language component: what it creates that
	// the program does not register (see Child). Nil for other resources.
	RemoteChildren []Child

	// Version is the provider plugin version the resource asks for ("":
	// the engine's default for its package).
	Version string

	// importedID is the ID this run imported the resource with ("": it
	// did not import it).
	importedID string
}

// ImportID is the ID the engine compares a later registration's import
// option with: the ID r was imported with when this run imported it, else
// its ID. An equal import ID is no import (pulumi/pulumi
// pkg/resource/deploy/step_generator.go, generateSteps: oldImportID; a
// registration that is not an import keeps no import ID in the state).
func (r *Resource) ImportID() string {
	if r.importedID != "" {
		return r.importedID
	}
	return r.ID
}

// Options are the resource options the engine receives with a resource,
// beyond parent, provider, dependencies and protect: they decide how a
// change is rolled out, so tests must be able to see them.
type Options struct {
	ReplaceOnChanges    []string
	DeleteBeforeReplace bool
	IgnoreChanges       []string
	CustomTimeouts      *CustomTimeouts // nil when none is set
	RetainOnDelete      bool
	// Aliases as URNs: an alias spec is resolved the way the engine does
	// (name, type, stack, project and parent default to the resource's).
	Aliases                 []string
	AdditionalSecretOutputs []string
	// Import is the ID of an existing resource the engine adopts instead
	// of creating one ("" when none). Once the resource is in the state
	// with that ID, the engine treats it like any other (see ImportID).
	Import string
}

// CustomTimeouts are the create, update and delete timeouts ("" = the
// provider's default), e.g. "20m".
type CustomTimeouts struct {
	Create string
	Update string
	Delete string
}

// Call is one provider function the program invoked.
type Call struct {
	Token    string
	Provider string // URN of the explicit provider, "" for the default one
	Region   string
	// Args are the arguments as the provider received them.
	Args resource.PropertyMap
}

// Mocks implements pulumi.MockResourceMonitor.
type Mocks struct {
	project, stack, defaultRegion string
	account                       *Account
	// prior is the Pulumi state the run updates: the previous run's
	// resources by URN (empty for a first run). A registered URN that is
	// in it is not created again in AWS.
	prior map[string]*Resource
	// replaced URNs get new physical identities (RunOptions.Replaced).
	replaced map[string]bool

	mu        sync.Mutex
	resources []*Resource
	calls     []Call
	regions   map[string]string // provider URN -> region
}

// New returns empty mocks of a first run into a fresh account.
// defaultRegion answers for resources and invokes that use the default AWS
// provider.
func New(project, stack, defaultRegion string) *Mocks {
	return newMocks(project, stack, defaultRegion, NewAccount(), nil)
}

func newMocks(project, stack, defaultRegion string, account *Account, prior *Result) *Mocks {
	m := &Mocks{project: project, stack: stack, defaultRegion: defaultRegion, account: account,
		prior: map[string]*Resource{}, regions: map[string]string{}}
	if prior != nil {
		for _, r := range prior.Resources {
			m.prior[r.URN] = r
		}
	}
	return m
}

// Account is the AWS account the run deploys into.
func (m *Mocks) Account() *Account { return m.account }

// Resources returns the recorded resources sorted by URN.
func (m *Mocks) Resources() []*Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]*Resource(nil), m.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// Calls returns the provider functions invoked, in call order.
func (m *Mocks) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Call(nil), m.calls...)
}

// NewResource implements pulumi.MockResourceMonitor.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	r := &Resource{
		Type:   args.TypeToken,
		Name:   args.Name,
		Custom: args.Custom,
		Inputs: args.Inputs.Copy(),
	}
	var deps []string
	if rpc != nil {
		r.Parent = rpc.GetParent()
		r.Protect = rpc.GetProtect()
		r.Version = rpc.GetVersion()
		r.Remote = rpc.GetRemote()
		deps = explicitDependencies(rpc.GetDependencies(), rpc.GetPropertyDependencies())
		r.Dependencies = sortedUnique(rpc.GetDependencies())
		r.PropertyDependencies = map[string][]string{}
		for prop, d := range rpc.GetPropertyDependencies() {
			if urns := sortedUnique(d.GetUrns()); len(urns) > 0 {
				r.PropertyDependencies[prop] = urns
			}
		}
		r.Providers = providerMap(rpc.GetProviders())
	}
	r.DependsOn = deps
	r.Provider = providerURN(args.Provider)
	if r.Provider == "" && r.Remote {
		// A multi-language component creates AWS resources through the AWS
		// provider it is handed.
		r.Provider = r.Providers["aws"]
	}
	r.URN = m.urn(r.Parent, r.Type, r.Name)
	if rpc != nil {
		r.Options = m.optionsOf(r, rpc)
	}
	if r.Remote && r.Type == "eks:index:Cluster" {
		r.RemoteChildren = EKSClusterChildren(r.Name, r.Inputs)
	}

	m.mu.Lock()
	r.Region = m.regionOf(r.Provider)
	if strings.HasPrefix(r.Type, "pulumi:providers:aws") {
		if v, ok := r.Inputs["region"]; ok && v.IsString() {
			r.Region = v.StringValue()
		}
		m.regions[r.URN] = r.Region
	}
	m.mu.Unlock()

	id, outputs := m.outputs(r)
	r.ID = id
	r.Outputs = outputs
	old, inState := m.prior[r.URN]
	switch {
	case r.Custom && r.Options.Import != "" && (!inState || old.ImportID() != r.Options.Import):
		// The engine imports a resource whose import ID the state does not
		// hold for its URN (pulumi/pulumi pkg/resource/deploy/
		// step_generator.go, generateSteps: isImport), and it gets that ID.
		r.ID, r.importedID = r.Options.Import, r.Options.Import
		if err := m.account.adopt(r); err != nil {
			return "", nil, err
		}
	case !inState:
		// A URN the state does not hold is created in AWS.
		if err := m.account.create(r); err != nil {
			return "", nil, err
		}
	}
	id = r.ID

	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()
	return id, outputs, nil
}

// Call implements pulumi.MockResourceMonitor for provider functions.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	provider := providerURN(args.Provider)
	region := m.regionOf(provider)
	m.calls = append(m.calls, Call{Token: args.Token, Provider: provider, Region: region, Args: args.Args.Copy()})
	m.mu.Unlock()
	fn, ok := functions[args.Token]
	if !ok {
		return nil, fmt.Errorf("mocks: no mock for function %s; add one to cmd/plan/mocks so it answers like AWS", args.Token)
	}
	out, err := fn(query{region: region, args: args.Args, account: m.account})
	if err != nil {
		return nil, err
	}
	return resource.NewPropertyMapFromMap(out), nil
}

// optionsOf reads the resource options of a RegisterResource request.
func (m *Mocks) optionsOf(r *Resource, rpc *pulumirpc.RegisterResourceRequest) Options {
	o := Options{
		ReplaceOnChanges:        nonNil(rpc.GetReplaceOnChanges()),
		DeleteBeforeReplace:     rpc.GetDeleteBeforeReplace(),
		IgnoreChanges:           nonNil(rpc.GetIgnoreChanges()),
		RetainOnDelete:          rpc.GetRetainOnDelete(),
		AdditionalSecretOutputs: nonNil(rpc.GetAdditionalSecretOutputs()),
		Aliases:                 nonNil(rpc.GetAliasURNs()),
		Import:                  rpc.GetImportId(),
	}
	if t := rpc.GetCustomTimeouts(); t != nil && (t.GetCreate() != "" || t.GetUpdate() != "" || t.GetDelete() != "") {
		o.CustomTimeouts = &CustomTimeouts{Create: t.GetCreate(), Update: t.GetUpdate(), Delete: t.GetDelete()}
	}
	for _, a := range rpc.GetAliases() {
		if u := a.GetUrn(); u != "" {
			o.Aliases = append(o.Aliases, u)
			continue
		}
		spec := a.GetSpec()
		if spec == nil {
			continue
		}
		name, typ, stack, project := spec.GetName(), spec.GetType(), spec.GetStack(), spec.GetProject()
		if name == "" {
			name = r.Name
		}
		if typ == "" {
			typ = r.Type
		}
		if stack == "" {
			stack = m.stack
		}
		if project == "" {
			project = m.project
		}
		parent := r.Parent
		if spec.GetNoParent() {
			parent = ""
		} else if p := spec.GetParentUrn(); p != "" {
			parent = p
		}
		parentType := tokens.Type("")
		if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
			parentType = p.QualifiedType()
		}
		o.Aliases = append(o.Aliases, string(resource.NewURN(tokens.QName(stack), tokens.PackageName(project),
			parentType, tokens.Type(typ), name)))
	}
	return o
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return append([]string(nil), s...)
}

// regionOf must be called with m.mu held.
func (m *Mocks) regionOf(providerURN string) string {
	if r, ok := m.regions[providerURN]; ok {
		return r
	}
	return m.defaultRegion
}

func (m *Mocks) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), parentType, tokens.Type(typ), name))
}

// providerURN drops the "::<id>" of a provider reference.
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}

func providerMap(refs map[string]string) map[string]string {
	out := map[string]string{}
	for pkg, ref := range refs {
		out[pkg] = providerURN(ref)
	}
	return out
}

// explicitDependencies separates DependsOn from the dependencies the SDK adds
// for inputs that come from other resources' outputs.
func explicitDependencies(all []string, byProperty map[string]*pulumirpc.RegisterResourceRequest_PropertyDependencies) []string {
	fromInputs := map[string]bool{}
	for _, deps := range byProperty {
		for _, u := range deps.GetUrns() {
			fromInputs[u] = true
		}
	}
	out := []string{}
	for _, u := range all {
		if !fromInputs[u] {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

func sortedUnique(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, u := range in {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// hexID is a deterministic hex string of n characters for a resource.
func hexID(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "|")))
	s := hex.EncodeToString(sum[:])
	for len(s) < n {
		s += s
	}
	return s[:n]
}

// uuid is a deterministic UUID-shaped string.
func uuid(parts ...string) string {
	h := hexID(32, parts...)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Partition returns the AWS partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// dnsSuffix is the partition's service domain.
func dnsSuffix(region string) string {
	if Partition(region) == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// ARN builds an ARN in the region's partition.
func ARN(region, service, regionPart, resourcePart string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", Partition(region), service, regionPart, AccountID, resourcePart)
}
