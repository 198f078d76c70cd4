// Package pack is the CrossGuard policy pack of the auth platform: the
// policies of policies/rules served through the Go policy SDK (policyx), so
// that `pulumi preview --policy-pack policies` and `pulumi up --policy-pack
// policies` enforce the same contract as the offline plan.
//
// Resource-scoped rules become resource validation policies (they see one
// resource's inputs, before it is created); stack-scoped rules become stack
// validation policies (they see every resource with its outputs, after the
// program has registered them all).
package pack

import (
	"context"
	"sort"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/authplatform/auth-platform/policies/rules"
)

// Name and Version of the pack; PulumiPolicy.yaml carries the same version.
const (
	Name    = "auth-platform"
	Version = "1.0.0"
)

// New builds the pack. It is the factory policyx.Main calls once the engine
// has configured the stack.
func New(*pulumi.Context) (policyx.PolicyPack, error) {
	return policyx.NewPolicyPack(Name, semver.MustParse(Version), policyx.EnforcementLevelMandatory, Policies())
}

// Policies wraps every rule as a policyx policy.
func Policies() []policyx.Policy {
	var out []policyx.Policy
	for _, p := range rules.Policies() {
		out = append(out, Wrap(p))
	}
	return out
}

// Wrap serves one rule as a policyx policy: a resource-scoped rule as a
// resource validation policy, a stack-scoped one as a stack validation
// policy. A finding without a URN (a rule that crashed) is reported on the
// validated resource, or on the stack.
func Wrap(p rules.Policy) policyx.Policy {
	if p.Scope == rules.ResourceScope {
		return policyx.NewResourceValidationPolicy(p.Name, policyx.ResourceValidationPolicyArgs{
			Description:      p.Description,
			EnforcementLevel: Level(p.Level),
			ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
				r := Resource(args.Resource)
				for _, f := range p.Run(rules.NewStack([]rules.Resource{r})) {
					args.Manager.ReportViolation(f.Message, urnOr(f.URN, r.URN))
				}
				return nil
			},
		})
	}
	return policyx.NewStackValidationPolicy(p.Name, policyx.StackValidationPolicyArgs{
		Description:      p.Description,
		EnforcementLevel: Level(p.Level),
		ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
			rs := make([]rules.Resource, len(args.Resources))
			for i, r := range args.Resources {
				rs[i] = Resource(r)
			}
			for _, f := range p.Run(rules.NewStack(rs)) {
				args.Manager.ReportViolation(f.Message, f.URN)
			}
			return nil
		},
	})
}

func urnOr(urn, fallback string) string {
	if urn != "" {
		return urn
	}
	return fallback
}

// Level maps an enforcement level.
func Level(l rules.Level) policyx.EnforcementLevel {
	if l == rules.Advisory {
		return policyx.EnforcementLevelAdvisory
	}
	return policyx.EnforcementLevelMandatory
}

// Resource converts the engine's view of a resource to the rules' neutral
// one: properties become plain values with the Secret and Unknown markers
// the offline plan prints, protect comes from the resource options, and the
// explicit dependencies are the dependencies no property explains.
func Resource(r policyx.AnalyzerResource) rules.Resource {
	props := Plain(r.Properties)
	out := rules.Resource{
		URN:      r.URN,
		Type:     r.Type,
		Name:     r.Name,
		Parent:   r.Parent,
		Provider: r.Provider.URN,
		Protect:  r.Options.Protect,
	}
	if m, ok := props.(map[string]any); ok {
		out.Properties = m
	} else {
		out.Properties = map[string]any{}
	}
	if id, ok := out.Properties["id"].(string); ok && id != rules.Unknown && id != rules.Secret {
		out.ID = id
	}
	fromProps := map[string]bool{}
	if len(r.PropertyDependencies) > 0 {
		out.PropertyDependencies = map[string][]string{}
		for k, urns := range r.PropertyDependencies {
			out.PropertyDependencies[k] = append([]string(nil), urns...)
			for _, u := range urns {
				fromProps[u] = true
			}
		}
	}
	for _, d := range r.Dependencies {
		if !fromProps[d] {
			out.DependsOn = append(out.DependsOn, d)
		}
	}
	sort.Strings(out.DependsOn)
	return out
}

// Plain converts engine property values to plain Go values: secrets become
// rules.Secret, unknowns rules.Unknown, resource references their URN.
func Plain(m property.Map) any { return plainValue(property.New(m)) }

func plainValue(v property.Value) any {
	switch {
	case v.Secret():
		return rules.Secret
	case v.IsComputed():
		return rules.Unknown
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.AsBool()
	case v.IsNumber():
		return v.AsNumber()
	case v.IsString():
		return v.AsString()
	case v.IsArray():
		arr := v.AsArray()
		out := make([]any, 0, arr.Len())
		for _, e := range arr.All {
			out = append(out, plainValue(e))
		}
		return out
	case v.IsMap():
		out := map[string]any{}
		for k, e := range v.AsMap().All {
			out[k] = plainValue(e)
		}
		return out
	case v.IsResourceReference():
		return string(v.AsResourceReference().URN)
	case v.IsAsset():
		a := v.AsAsset()
		return map[string]any{"asset": a.Path + a.URI, "hash": a.Hash}
	case v.IsArchive():
		a := v.AsArchive()
		return map[string]any{"archive": a.Path + a.URI, "hash": a.Hash}
	}
	return nil
}
