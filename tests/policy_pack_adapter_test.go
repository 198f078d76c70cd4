package tests

import (
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/archive"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/asset"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/urn"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/policies/pack"
	"github.com/authplatform/auth-platform/policies/rules"
)

// The adapter of policies/pack: the engine's property values become the
// plain values the rules read, an AnalyzerResource becomes a
// rules.Resource, and the pack's policies report the rules' findings
// through the policy manager the engine hands them.

const adapterURN = "urn:pulumi:dev::auth-platform::kubernetes:policy/v1:PodDisruptionBudget::pdb"

// recordingManager is a policyx.PolicyManager that records what the
// policies report.
type recordingManager struct{ reports []adapterReport }

type adapterReport struct{ Message, URN string }

func (m *recordingManager) ReportViolation(message, urn string) {
	m.reports = append(m.reports, adapterReport{message, urn})
}

var _ policyx.PolicyManager = (*recordingManager)(nil)

func pv[T property.GoValue](v T) property.Value { return property.New(v) }

// TestPolicyPackPlainConvertsEveryKindOfValue: each kind of property value
// becomes the plain value (or marker) the rules expect.
func TestPolicyPackPlainConvertsEveryKindOfValue(t *testing.T) {
	ref := property.NewResourceReference(urn.URN("urn:pulumi:dev::auth-platform::aws:lb/targetGroup:TargetGroup::tg"), pv("tg-1"), "6.83.4")
	for _, tc := range []struct {
		name string
		in   property.Value
		want any
	}{
		{"null", property.Value{}, nil},
		{"explicit null", pv(property.Null), nil},
		{"true", pv(true), true},
		{"false", pv(false), false},
		{"number", pv(2.5), 2.5},
		{"int32 number", pv(int32(3)), 3.0},
		{"string", pv("ip"), "ip"},
		{"empty string", pv(""), ""},
		{"array", pv([]property.Value{pv("a"), pv(1.0), pv(true), {}}), []any{"a", 1.0, true, nil}},
		{"empty array", pv([]property.Value{}), []any{}},
		{"map", pv(map[string]property.Value{"a": pv("b"), "n": pv(1.0)}), map[string]any{"a": "b", "n": 1.0}},
		{"nested", pv(map[string]property.Value{"spec": pv(map[string]property.Value{"ports": pv([]property.Value{pv(map[string]property.Value{"port": pv(80.0)})})})}),
			map[string]any{"spec": map[string]any{"ports": []any{map[string]any{"port": 80.0}}}}},
		{"secret string", pv("hunter2").WithSecret(true), rules.Secret},
		{"secret map", pv(map[string]property.Value{"k": pv("v")}).WithSecret(true), rules.Secret},
		{"secret inside a map", pv(map[string]property.Value{"token": pv("t").WithSecret(true), "port": pv(80.0)}), map[string]any{"token": rules.Secret, "port": 80.0}},
		{"computed", pv(property.Computed), rules.Unknown},
		{"computed secret", pv(property.Computed).WithSecret(true), rules.Secret},
		{"computed inside an array", pv([]property.Value{pv("subnet-1"), pv(property.Computed)}), []any{"subnet-1", rules.Unknown}},
		{"resource reference", pv(ref), "urn:pulumi:dev::auth-platform::aws:lb/targetGroup:TargetGroup::tg"},
		{"path asset", pv(&asset.Asset{Path: "charts/values.yaml", Hash: "abc"}), map[string]any{"asset": "charts/values.yaml", "hash": "abc"}},
		{"URI asset", pv(&asset.Asset{URI: "https://example.com/a.yaml", Hash: "def"}), map[string]any{"asset": "https://example.com/a.yaml", "hash": "def"}},
		{"path archive", pv(&archive.Archive{Path: "lambda.zip", Hash: "123"}), map[string]any{"archive": "lambda.zip", "hash": "123"}},
		{"URI archive", pv(&archive.Archive{URI: "s3://bucket/x.zip", Hash: "456"}), map[string]any{"archive": "s3://bucket/x.zip", "hash": "456"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := pack.Plain(property.NewMap(map[string]property.Value{"v": tc.in}))
			assert.Equal(t, map[string]any{"v": tc.want}, got)
		})
	}
	assert.Equal(t, map[string]any{}, pack.Plain(property.Map{}), "no properties: an empty object")
}

// TestPolicyPackResourceConvertsTheEngineView: URN, type, name, parent,
// provider and protect carry over; the ID comes from the "id" output when
// it is known; property dependencies are copied; explicit dependencies are
// the dependencies no property explains, sorted.
func TestPolicyPackResourceConvertsTheEngineView(t *testing.T) {
	const (
		parent   = "urn:pulumi:dev::auth-platform::auth:index:Service::auth"
		provider = "urn:pulumi:dev::auth-platform::pulumi:providers:kubernetes::k8s"
		ns       = "urn:pulumi:dev::auth-platform::kubernetes:core/v1:Namespace::ns"
		deploy   = "urn:pulumi:dev::auth-platform::kubernetes:apps/v1:Deployment::deploy"
		zDep     = "urn:pulumi:dev::auth-platform::aws:eks/fargateProfile:FargateProfile::z"
		aDep     = "urn:pulumi:dev::auth-platform::aws:eks/fargateProfile:FargateProfile::a"
	)
	deps := map[string][]string{"metadata": {ns}, "spec": {deploy, ns}}
	in := policyx.AnalyzerResource{
		Type: "kubernetes:policy/v1:PodDisruptionBudget",
		URN:  adapterURN,
		Name: "pdb",
		Properties: property.NewMap(map[string]property.Value{
			"id":   pv("auth/auth"),
			"spec": pv(map[string]property.Value{"maxUnavailable": pv(1.0)}),
		}),
		Options:              pulumi.ResourceOptions{Protect: true},
		Provider:             policyx.AnalyzerProviderResource{URN: provider, Name: "k8s", Type: "pulumi:providers:kubernetes"},
		Parent:               parent,
		Dependencies:         []string{zDep, ns, deploy, aDep},
		PropertyDependencies: deps,
	}
	r := pack.Resource(in)
	assert.Equal(t, adapterURN, r.URN)
	assert.Equal(t, "kubernetes:policy/v1:PodDisruptionBudget", r.Type)
	assert.Equal(t, "pdb", r.Name)
	assert.Equal(t, parent, r.Parent)
	assert.Equal(t, provider, r.Provider)
	assert.True(t, r.Protect)
	assert.Equal(t, "auth/auth", r.ID)
	assert.Equal(t, map[string]any{"id": "auth/auth", "spec": map[string]any{"maxUnavailable": 1.0}}, r.Properties)
	assert.Equal(t, map[string][]string{"metadata": {ns}, "spec": {deploy, ns}}, r.PropertyDependencies)
	assert.Equal(t, []string{aDep, zDep}, r.DependsOn, "the dependencies no property explains, sorted")

	// The copy is the adapter's own.
	deps["spec"][0] = "changed"
	assert.Equal(t, deploy, r.PropertyDependencies["spec"][0])

	for _, tc := range []struct {
		name string
		id   property.Value
		want string
	}{
		{"unknown id", pv(property.Computed), ""},
		{"secret id", pv("auth/auth").WithSecret(true), ""},
		{"no id", property.Value{}, ""},
		{"numeric id", pv(3.0), ""},
		{"known id", pv("sg-0123"), "sg-0123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			props := map[string]property.Value{}
			if !tc.id.IsNull() {
				props["id"] = tc.id
			}
			r := pack.Resource(policyx.AnalyzerResource{URN: adapterURN, Type: "aws:ec2/securityGroup:SecurityGroup", Properties: property.NewMap(props)})
			assert.Equal(t, tc.want, r.ID)
		})
	}

	bare := pack.Resource(policyx.AnalyzerResource{URN: adapterURN, Type: "aws:ec2/vpc:Vpc", Name: "vpc", Dependencies: []string{zDep, aDep}})
	assert.Equal(t, map[string]any{}, bare.Properties, "no properties: an empty object, never nil")
	assert.Nil(t, bare.PropertyDependencies, "no property dependencies: none")
	assert.Equal(t, []string{aDep, zDep}, bare.DependsOn, "without property dependencies every dependency is explicit")
	assert.False(t, bare.Protect)
	assert.Empty(t, bare.Provider)
	assert.Empty(t, bare.Parent)
}

func packPolicy(t *testing.T, name string) policyx.Policy {
	t.Helper()
	policies := pack.Policies()
	require.NotEmpty(t, policies)
	for _, p := range policies {
		if p.Name() == name {
			return p
		}
	}
	require.Failf(t, "no such policy", "the pack has no policy %s", name)
	return nil
}

// TestPolicyPackResourcePolicyReportsFindings: a resource validation policy
// reports each finding of its rule on the resource, and nothing for a
// compliant one.
func TestPolicyPackResourcePolicyReportsFindings(t *testing.T) {
	p, ok := packPolicy(t, "pdb-unhealthy-pod-eviction").(policyx.ResourceValidationPolicy)
	require.True(t, ok, "pdb-unhealthy-pod-eviction is a resource validation policy")
	pdb := func(policy property.Value) policyx.AnalyzerResource {
		return policyx.AnalyzerResource{Type: "kubernetes:policy/v1:PodDisruptionBudget", URN: adapterURN, Name: "pdb",
			Properties: property.NewMap(map[string]property.Value{"spec": pv(map[string]property.Value{"unhealthyPodEvictionPolicy": policy})})}
	}

	m := &recordingManager{}
	require.NoError(t, p.Validate(context.Background(), policyx.ResourceValidationArgs{Manager: m, Resource: pdb(pv("IfHealthyBudget"))}))
	require.Len(t, m.reports, 1)
	assert.Equal(t, adapterURN, m.reports[0].URN)
	assert.Contains(t, m.reports[0].Message, `PodDisruptionBudget "pdb": unhealthyPodEvictionPolicy is "IfHealthyBudget"`)

	for _, v := range []property.Value{pv("AlwaysAllow"), pv(property.Computed)} {
		m := &recordingManager{}
		require.NoError(t, p.Validate(context.Background(), policyx.ResourceValidationArgs{Manager: m, Resource: pdb(v)}))
		assert.Empty(t, m.reports, "%v", v)
	}

	// A secret is the marker, which is not AlwaysAllow.
	m = &recordingManager{}
	require.NoError(t, p.Validate(context.Background(), policyx.ResourceValidationArgs{Manager: m, Resource: pdb(pv("AlwaysAllow").WithSecret(true))}))
	require.Len(t, m.reports, 1)
	assert.Contains(t, m.reports[0].Message, `"[secret]"`)

	// A resource of another type is not this policy's business.
	m = &recordingManager{}
	other := pdb(pv("IfHealthyBudget"))
	other.Type = "kubernetes:apps/v1:Deployment"
	require.NoError(t, p.Validate(context.Background(), policyx.ResourceValidationArgs{Manager: m, Resource: other}))
	assert.Empty(t, m.reports)
}

// TestPolicyPackStackPolicyReportsFindings: a stack validation policy sees
// every resource (references resolved through their IDs and property
// dependencies) and reports each finding on the resource at fault.
func TestPolicyPackStackPolicyReportsFindings(t *testing.T) {
	p, ok := packPolicy(t, "tgb-target-group-in-stack").(policyx.StackValidationPolicy)
	require.True(t, ok, "tgb-target-group-in-stack is a stack validation policy")
	const (
		tgURN  = "urn:pulumi:dev::auth-platform::aws:lb/targetGroup:TargetGroup::tg"
		tgbURN = "urn:pulumi:dev::auth-platform::kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding::tgb"
		tgARN  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef"
	)
	tg := policyx.AnalyzerResource{Type: "aws:lb/targetGroup:TargetGroup", URN: tgURN, Name: "tg",
		Properties: property.NewMap(map[string]property.Value{"arn": pv(tgARN), "targetType": pv("ip")})}
	tgb := func(arn property.Value, deps map[string][]string) policyx.AnalyzerResource {
		return policyx.AnalyzerResource{Type: "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", URN: tgbURN, Name: "tgb",
			Properties:           property.NewMap(map[string]property.Value{"spec": pv(map[string]property.Value{"targetGroupARN": arn})}),
			PropertyDependencies: deps}
	}
	validate := func(rs ...policyx.AnalyzerResource) []adapterReport {
		m := &recordingManager{}
		require.NoError(t, p.Validate(context.Background(), policyx.StackValidationArgs{Manager: m, Resources: rs}))
		return m.reports
	}

	assert.Empty(t, validate(tg, tgb(pv(tgARN), nil)), "bound by ARN")
	assert.Empty(t, validate(tg, tgb(pv(property.Computed), map[string][]string{"spec": {tgURN}})), "unknown ARN explained by the property dependency")

	got := validate(tg, tgb(pv(property.Computed), nil))
	require.Len(t, got, 1)
	assert.Equal(t, tgbURN, got[0].URN)
	assert.Contains(t, got[0].Message, "its target group is not known yet and depends on no target group of this stack")

	got = validate(tgb(pv(tgARN), nil))
	require.Len(t, got, 1, "the target group is not in the stack")
	assert.Equal(t, tgbURN, got[0].URN)
	assert.Contains(t, got[0].Message, "binds target group "+tgARN+", which this stack does not manage")
}

// TestPolicyPackWrapReportsACrashOnTheResource: a rule that crashes fails
// closed: its finding has no URN, and the resource policy reports it on the
// validated resource; a stack policy reports it on the stack (no URN).
func TestPolicyPackWrapReportsACrashOnTheResource(t *testing.T) {
	crash := func(*rules.Stack) []rules.Finding { panic("unexpected shape") }
	res := policyx.AnalyzerResource{Type: "aws:ec2/vpc:Vpc", URN: adapterURN, Name: "vpc"}

	rp, ok := pack.Wrap(rules.Policy{Name: "crashes", Description: "d", Level: rules.Advisory, Scope: rules.ResourceScope, Check: crash}).(policyx.ResourceValidationPolicy)
	require.True(t, ok)
	assert.Equal(t, "crashes", rp.Name())
	assert.Equal(t, "d", rp.Description())
	assert.Equal(t, policyx.EnforcementLevelAdvisory, rp.EnforcementLevel())
	m := &recordingManager{}
	require.NoError(t, rp.Validate(context.Background(), policyx.ResourceValidationArgs{Manager: m, Resource: res}))
	require.Len(t, m.reports, 1)
	assert.Equal(t, adapterURN, m.reports[0].URN, "a finding without URN lands on the validated resource")
	assert.Contains(t, m.reports[0].Message, "internal error in policy crashes: unexpected shape")

	// A finding that names a resource keeps its URN.
	other := "urn:pulumi:dev::auth-platform::aws:ec2/subnet:Subnet::other"
	named := pack.Wrap(rules.Policy{Name: "names", Level: rules.Mandatory, Scope: rules.ResourceScope,
		Check: func(*rules.Stack) []rules.Finding { return []rules.Finding{{URN: other, Message: "m"}} }}).(policyx.ResourceValidationPolicy)
	assert.Equal(t, policyx.EnforcementLevelMandatory, named.EnforcementLevel())
	m = &recordingManager{}
	require.NoError(t, named.Validate(context.Background(), policyx.ResourceValidationArgs{Manager: m, Resource: res}))
	assert.Equal(t, []adapterReport{{"m", other}}, m.reports)

	sp, ok := pack.Wrap(rules.Policy{Name: "crashes", Level: rules.Mandatory, Scope: rules.StackScope, Check: crash}).(policyx.StackValidationPolicy)
	require.True(t, ok)
	m = &recordingManager{}
	require.NoError(t, sp.Validate(context.Background(), policyx.StackValidationArgs{Manager: m, Resources: []policyx.AnalyzerResource{res}}))
	require.Len(t, m.reports, 1)
	assert.Empty(t, m.reports[0].URN, "a stack policy's crash is on the stack")
	assert.Contains(t, m.reports[0].Message, "internal error in policy crashes")

	// The stack policy hands the rule every resource, converted.
	var seen []rules.Resource
	spy := pack.Wrap(rules.Policy{Name: "spy", Level: rules.Mandatory, Scope: rules.StackScope, Check: func(s *rules.Stack) []rules.Finding {
		for _, r := range s.Resources {
			seen = append(seen, *r)
		}
		return nil
	}}).(policyx.StackValidationPolicy)
	two := res
	two.URN, two.Name = adapterURN+"-2", "vpc-2"
	two.Options.Protect = true
	require.NoError(t, spy.Validate(context.Background(), policyx.StackValidationArgs{Manager: &recordingManager{}, Resources: []policyx.AnalyzerResource{two, res}}))
	require.Len(t, seen, 2)
	assert.Equal(t, adapterURN, seen[0].URN, "sorted by URN")
	assert.Equal(t, "vpc-2", seen[1].Name)
	assert.True(t, seen[1].Protect)
}

// TestPolicyPackLevels maps the rules' levels to the SDK's.
func TestPolicyPackLevels(t *testing.T) {
	assert.Equal(t, policyx.EnforcementLevelAdvisory, pack.Level(rules.Advisory))
	assert.Equal(t, policyx.EnforcementLevelMandatory, pack.Level(rules.Mandatory))
}
