package tests

// Issue 24 item 1: replacing the target group keeps serving. The new
// group gets its own binding beside the old one, every zone Deployment
// rolls (the pod template carries the group's ARN), so its new pods are
// Ready only once healthy in the new group, and the listener rules wait
// for those rollouts before they point at it; the old binding and group
// go last.

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/authservice"
)

const (
	typeTargetGroup  = "aws:lb/targetGroup:TargetGroup"
	typeBinding      = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
	typeListenerRule = "aws:lb/listenerRule:ListenerRule"
	typeZoneDeploy   = "kubernetes:apps/v1:Deployment"
)

// analyzeReplace replays `pulumi up --replace` of the resources of one
// type.
func analyzeReplace(t *testing.T, stack string, replace func(r *mocks.Resource) bool) *plan.ChangeReport {
	t.Helper()
	root := repoRoot(t)
	proj, err := plan.LoadProject(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	file, err := plan.LoadStackFile(filepath.Join(root, "stacks", "Pulumi."+stack+".yaml"), proj)
	require.NoError(t, err)
	report, err := plan.AnalyzeReplaceFile(proj.Name, stack, file, replace)
	require.NoError(t, err)
	return report
}

func containsURN(list []string, urn string) bool {
	for _, u := range list {
		if u == urn {
			return true
		}
	}
	return false
}

func changesOfType(r *plan.ChangeReport, typ string) []plan.ResourceChange {
	var out []plan.ResourceChange
	for _, c := range r.Changes {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

func TestTargetGroupReplacementKeepsServing(t *testing.T) {
	for _, stack := range []string{"dev", "prod-us-east-1"} {
		t.Run(stack, func(t *testing.T) {
			r := analyzeReplace(t, stack, func(r *mocks.Resource) bool { return r.Type == typeTargetGroup })
			tg := changesOfType(r, typeTargetGroup)
			require.Len(t, tg, 1)
			assert.Equal(t, plan.OpReplace, tg[0].Op)
			assert.False(t, tg[0].DeleteFirst, "the new group is created before the old one is deleted")
			assert.True(t, tg[0].Safe, tg[0].Why)

			bindings := changesOfType(r, typeBinding)
			require.Len(t, bindings, 1)
			assert.Equal(t, plan.OpReplace, bindings[0].Op)
			assert.Contains(t, bindings[0].Forcing, "metadata.name", "the binding's name follows its group")
			assert.False(t, bindings[0].DeleteFirst, "the new binding is created beside the old one")
			assert.True(t, bindings[0].Safe, bindings[0].Why)

			deployments := changesOfType(r, typeZoneDeploy)
			require.Len(t, deployments, 3)
			for _, d := range deployments {
				assert.True(t, d.Rolls, "%s rolls onto the new group", d.Name)
			}
			rules := changesOfType(r, typeListenerRule)
			require.NotEmpty(t, rules)
			for _, c := range rules {
				assert.Equal(t, plan.OpUpdate, c.Op, "%s moves to the new group in place", c.Name)
			}
			assert.Equal(t, plan.ExitOK, r.ExitCode(), "%v", r.Unsafe())
		})
	}
}

func TestTargetGroupReplacementOrder(t *testing.T) {
	// The order the engine follows is the plan's dependencies: the rules
	// wait for every zone Deployment, which waits for the binding, which
	// waits for the group; nothing deletes first.
	for _, stack := range []string{"dev", "prod-us-east-1", "prod-global"} {
		t.Run(stack, func(t *testing.T) {
			res := planStack(t, stack)
			for _, tg := range ofType(res, typeTargetGroup) {
				var bindings, deployments, rules []*mocks.Resource
				for _, r := range res.Resources {
					if !containsURN(r.Dependencies, tg.URN) {
						continue
					}
					switch r.Type {
					case typeBinding:
						bindings = append(bindings, r)
					case typeZoneDeploy:
						deployments = append(deployments, r)
					case typeListenerRule:
						rules = append(rules, r)
					}
				}
				require.Len(t, bindings, 1, "one binding of %s", tg.Name)
				b := bindings[0]
				assert.False(t, b.Options.DeleteBeforeReplace, "the binding is replaced create-before-delete")
				tgArn := value(tg.Outputs, "arn")
				assert.Equal(t, authservice.BindingName(tgArn.(string)), str(t, b, "metadata.name"))
				require.Len(t, deployments, 3, "every zone Deployment reads the group")
				for _, d := range deployments {
					assert.Contains(t, d.Dependencies, b.URN, "%s waits for the binding (its pods get its readiness gate)", d.Name)
					assert.Contains(t, d.PropertyDependencies["spec"], tg.URN, "%s's pod template carries the group", d.Name)
					annotations, _ := value(d.Inputs, "spec.template.metadata.annotations").(map[string]interface{})
					assert.Equal(t, tgArn, annotations[authservice.TargetGroupAnnotation])
				}
				require.NotEmpty(t, rules)
				for _, rule := range rules {
					for _, d := range deployments {
						assert.Contains(t, rule.Dependencies, d.URN, "%s waits for %s's rollout", rule.Name, d.Name)
					}
					assert.False(t, rule.Options.DeleteBeforeReplace)
				}
				assert.False(t, tg.Options.DeleteBeforeReplace)
				assert.Nil(t, value(tg.Inputs, "name"), "the group is auto-named, so its replacement is created first")
			}
		})
	}
}

func TestNormalUpdatesDoNotRollPodsOrTouchTheBinding(t *testing.T) {
	for _, change := range []string{"authReplicas=6", "cacheNodeType=cache.r7g.xlarge", "dbInstanceClass=db.r7g.xlarge"} {
		t.Run(change, func(t *testing.T) {
			r := analyzeChange(t, "prod-us-east-1", change)
			for _, c := range r.Changes {
				assert.NotEqual(t, typeBinding, c.Type, "the binding stays")
				assert.NotEqual(t, typeTargetGroup, c.Type, "the group stays")
				assert.False(t, c.Rolls, "%s does not roll", c.Name)
			}
		})
	}
	// A change that does roll the pods keeps the binding and the group.
	r := analyzeChange(t, "prod-us-east-1", "sessionTtlSeconds=7200")
	assert.Empty(t, changesOfType(r, typeBinding))
	assert.Empty(t, changesOfType(r, typeTargetGroup))
}
