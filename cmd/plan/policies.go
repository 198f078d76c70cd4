package plan

import "github.com/authplatform/auth-platform/policies/rules"

// PolicyResources is the policies' neutral view of planned resources. The
// plan knows every input and the mocks' IDs, but no property dependencies:
// references resolve by ID.
func PolicyResources(resources []Resource) []rules.Resource {
	out := make([]rules.Resource, len(resources))
	for i, r := range resources {
		out[i] = rules.Resource{
			URN: r.URN, Type: r.Type, Name: r.Name, ID: r.ID, Parent: r.Parent, Provider: r.Provider,
			DependsOn: r.DependsOn, Protect: r.Protect, Properties: r.Inputs,
		}
	}
	return out
}

// Evaluate runs the policy pack's rules (policies/rules, the same the
// CrossGuard pack runs under the Pulumi CLI) over planned resources. The
// result is sorted: mandatory first, then by policy, URN and message.
func Evaluate(resources []Resource) []Violation {
	out := []Violation{}
	for _, v := range rules.Evaluate(rules.NewStack(PolicyResources(resources))) {
		out = append(out, Violation{Policy: v.Policy, Level: string(v.Level), URN: v.URN, Message: v.Message})
	}
	return out
}
