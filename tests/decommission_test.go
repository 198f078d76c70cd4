package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/stacks"
)

// The production stacks, which protect their data and so need a
// decommission to be destroyed.
var productionStacks = []string{"prod-us-east-1", "prod-global"}

const decommissionKey = "auth-platform:decommission"

// decommissioned plans a shipped stack as `pulumi up` would with
// `decommission: true` added to its file.
func decommissioned(t *testing.T, stack string) *mocks.Result {
	t.Helper()
	cfg, secrets := stackConfig(t, stack)
	res, err := runProgram(t, stack, withConfig(cfg, map[string]string{decommissionKey: "true"}), secrets)
	require.NoError(t, err)
	return res
}

// Teardown is derived once from environment, protectStatefulResources and
// decommission, and every component takes its part from it.
func TestTeardownFollowsEnvironmentProtectionAndDecommission(t *testing.T) {
	ns := "auth-platform:"
	cases := []struct {
		name  string
		stack string
		set   map[string]string
		want  stacks.Teardown
	}{
		{"dev", "dev", nil,
			stacks.Teardown{ForceDestroy: true}},
		{"staging, unprotected", "dev", map[string]string{ns + "environment": "staging"},
			stacks.Teardown{ForceDestroy: true, FinalSnapshot: true}},
		{"staging, protected", "dev", map[string]string{ns + "environment": "staging", ns + "protectStatefulResources": "true"},
			stacks.Teardown{Protect: true, DeletionProtection: true, FinalSnapshot: true}},
		{"staging, decommissioned", "dev", map[string]string{ns + "environment": "staging", ns + "protectStatefulResources": "true", decommissionKey: "true"},
			stacks.Teardown{ForceDestroy: true, FinalSnapshot: true}},
		{"prod", "prod-us-east-1", nil,
			stacks.Teardown{Protect: true, DeletionProtection: true, FinalSnapshot: true}},
		{"prod, decommissioned", "prod-us-east-1", map[string]string{decommissionKey: "true"},
			stacks.Teardown{ForceDestroy: true, FinalSnapshot: true}},
		{"prod-global, decommissioned", "prod-global", map[string]string{decommissionKey: "true"},
			stacks.Teardown{ForceDestroy: true, FinalSnapshot: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := stackConfig(t, tc.stack)
			cfg, err := stacks.Load(project, tc.stack, stacks.MapSource(withConfig(raw, tc.set)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.Teardown)
			for _, rc := range cfg.Regions {
				assert.Equal(t, tc.want, rc.Teardown, "every region of %s tears down alike", tc.stack)
			}
		})
	}
}

// decommission is checked like every key: a boolean, once per stack, and
// only where there is something to lift. Every other production check
// still holds.
func TestDecommissionIsValidated(t *testing.T) {
	dev, _ := stackConfig(t, "dev")
	prod, _ := stackConfig(t, "prod-us-east-1")
	global, _ := stackConfig(t, "prod-global")

	var entries []map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(global["auth-platform:regions"]), &entries))
	require.Len(t, entries, 2)
	entries[1]["decommission"] = true
	perRegion, err := json.Marshal(entries)
	require.NoError(t, err)

	cases := []struct {
		name    string
		cfg     map[string]string
		key     string
		message string
	}{
		{"in a stack that protects nothing", withConfig(dev, map[string]string{decommissionKey: "true"}),
			decommissionKey, "nothing to lift"},
		{"not a boolean", withConfig(prod, map[string]string{decommissionKey: "yes"}),
			decommissionKey, "not a boolean"},
		{"per region", withConfig(global, map[string]string{"auth-platform:regions": string(perRegion)}),
			"auth-platform:regions[1].decommission", "cannot be set per region"},
		{"production stays protected in the configuration", withConfig(prod, map[string]string{decommissionKey: "true", "auth-platform:protectStatefulResources": "false"}),
			"auth-platform:protectStatefulResources", "must be protected"},
		{"production keeps its other checks", withConfig(prod, map[string]string{decommissionKey: "true", "auth-platform:natGateways": "single"}),
			"auth-platform:natGateways", "cuts egress"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertRejected(t, tc.cfg, tc.key, tc.message) })
	}
}

// refusals are what makes AWS refuse, or fail, a delete of a production
// stack, with the value each input takes in a decommissioned stack
// (review 2, D-3). Pulumi's own protect is checked on every resource.
var refusals = []struct {
	typ, input   string
	decommission interface{}
	refusal      string // what AWS answers the delete otherwise, as README says it
}{
	{"aws:lb/loadBalancer:LoadBalancer", "enableDeletionProtection", false, "OperationNotPermitted"},
	{"aws:rds/cluster:Cluster", "deletionProtection", false, "Cannot delete protected Cluster"},
	{"aws:rds/globalCluster:GlobalCluster", "deletionProtection", false, "the global cluster"},
	{"aws:s3/bucketV2:BucketV2", "forceDestroy", true, "BucketNotEmpty"},
	{ecrRepositoryType, "forceDelete", true, "RepositoryNotEmptyException"},
}

// With decommission set, nothing that would refuse `pulumi destroy` is
// left: no resource is protected, no deletion protection is on, and the
// log bucket and image repository go with their contents. Without it,
// each of them protects the production stack.
func TestDecommissionLiftsEveryProtectionThatRefusesADestroy(t *testing.T) {
	for _, stack := range productionStacks {
		t.Run(stack, func(t *testing.T) {
			protected, lifted := planStack(t, stack), decommissioned(t, stack)
			for _, r := range lifted.Resources {
				assert.False(t, r.Protect, "%s %s is still protected: `pulumi destroy` refuses it", r.Type, r.Name)
			}
			assert.NotEmpty(t, protectedURNs(protected), "the production stack protects its stateful resources")
			for _, rf := range refusals {
				if rf.typ == "aws:rds/globalCluster:GlobalCluster" && stack != "prod-global" {
					continue
				}
				require.NotEmpty(t, ofType(lifted, rf.typ), "%s has no %s", stack, rf.typ)
				for _, r := range ofType(lifted, rf.typ) {
					assert.Equal(t, rf.decommission, value(r.Inputs, rf.input), "%s %s.%s: or AWS refuses the delete (%s)", r.Name, rf.typ, rf.input, rf.refusal)
				}
				for _, r := range ofType(protected, rf.typ) {
					assert.NotEqual(t, rf.decommission, value(r.Inputs, rf.input), "%s %s.%s protects production", r.Name, rf.typ, rf.input)
				}
			}
		})
	}
}

// What a decommissioned stack keeps after `pulumi destroy`: each Aurora
// cluster that holds the data (not a global secondary, whose data is the
// primary's) takes a final snapshot, and the KMS key that snapshot is
// encrypted with is left in the account, or the snapshot could not be read
// once the key's deletion window ended. Its alias goes, so that a stack of
// the same name can be created again.
func TestADecommissionedStackKeepsItsFinalSnapshotReadable(t *testing.T) {
	for _, stack := range productionStacks {
		t.Run(stack, func(t *testing.T) {
			res := decommissioned(t, stack)
			keys := map[string]*mocks.Resource{}
			for _, k := range ofType(res, "aws:kms/key:Key") {
				keys[k.Outputs["arn"].StringValue()] = k
			}
			snapshots := 0
			for _, c := range ofType(res, "aws:rds/cluster:Cluster") {
				// A global secondary is created from the primary: no
				// database name or master user of its own (every member
				// forwards writes, so that no longer tells them apart).
				if value(c.Inputs, "globalClusterIdentifier") != nil && value(c.Inputs, "masterUsername") == nil {
					assert.Equal(t, true, value(c.Inputs, "skipFinalSnapshot"), "%s: a global secondary holds no data of its own", c.Name)
					continue
				}
				snapshots++
				assert.Equal(t, false, value(c.Inputs, "skipFinalSnapshot"), c.Name)
				assert.Contains(t, str(t, c, "finalSnapshotIdentifier"), "-aurora-final-", c.Name)
				key, ok := keys[str(t, c, "kmsKeyId")]
				require.True(t, ok, "%s: its key is one of the stack's", c.Name)
				assert.True(t, key.Options.RetainOnDelete, "%s: the key of %s's final snapshot outlives the stack", key.Name, c.Name)
			}
			assert.Equal(t, 1, snapshots, "one cluster holds the stack's data")
			for _, a := range ofType(res, "aws:kms/alias:Alias") {
				assert.False(t, a.Options.RetainOnDelete, "%s: an alias left behind would block a new stack of the same name", a.Name)
			}
			retained := 0
			for _, r := range res.Resources {
				if r.Options.RetainOnDelete {
					retained++
				}
			}
			assert.Equal(t, 1, retained, "only the final snapshot's key is left behind")
		})
	}
	// dev keeps nothing: no snapshot, so no key to keep.
	for _, r := range planStack(t, "dev").Resources {
		assert.False(t, r.Options.RetainOnDelete, "dev leaves nothing behind: %s", r.Name)
	}
}

// inPlace are the inputs a decommission may change, by type: the
// protections themselves, and the secrets' recovery windows, which the
// components tie to protection (30 days protected, 7 otherwise). None
// replaces its resource: terraform-provider-aws updates deletion_protection
// (aws_rds_cluster, aws_rds_global_cluster) and enable_deletion_protection
// (aws_lb) through the Modify APIs, and force_destroy (aws_s3_bucket),
// force_delete (aws_ecr_repository) and recovery_window_in_days
// (aws_secretsmanager_secret, read only by its delete) are kept in the
// state only; none of them is ForceNew.
var inPlace = map[string][]string{
	"aws:lb/loadBalancer:LoadBalancer":    {"enableDeletionProtection"},
	"aws:rds/cluster:Cluster":             {"deletionProtection"},
	"aws:rds/globalCluster:GlobalCluster": {"deletionProtection"},
	"aws:s3/bucketV2:BucketV2":            {"forceDestroy"},
	ecrRepositoryType:                     {"forceDelete"},
	"aws:secretsmanager/secret:Secret":    {"recoveryWindowInDays"},
}

// The decommission `up` changes only the protections, in place: the same
// resources, the same inputs but those in inPlace, the same options but
// protect. No stateful resource is replaced on the way to the destroy.
func TestTheDecommissionUpChangesOnlyTheProtections(t *testing.T) {
	for _, stack := range productionStacks {
		t.Run(stack, func(t *testing.T) {
			protected := planStack(t, stack)
			before, after := byURN(protected), byURN(decommissioned(t, stack))
			require.Equal(t, sortedURNs(before), sortedURNs(after), "a decommission adds or removes nothing")
			changed := map[string]bool{}
			for urn, b := range before {
				a := after[urn]
				allowed := map[string]bool{}
				for _, k := range inPlace[b.Type] {
					allowed[k] = true
				}
				for _, k := range changedInputs(b.Inputs, a.Inputs) {
					assert.True(t, allowed[k], "%s %s: input %s changes, and only protections may", b.Type, b.Name, k)
					assert.NotContains(t, b.Options.ReplaceOnChanges, k, "%s %s: %s would replace it", b.Type, b.Name, k)
					changed[b.Type+"."+k] = true
				}
				assert.Equal(t, b.Options, a.Options, "%s %s: resource options", b.Type, b.Name)
				assert.Equal(t, b.Provider, a.Provider)
				assert.Equal(t, b.Parent, a.Parent)
				if b.Protect != a.Protect {
					assert.False(t, a.Protect, "%s %s: a decommission only unprotects", b.Type, b.Name)
				}
			}
			for _, rf := range refusals {
				if len(ofType(protected, rf.typ)) > 0 {
					assert.True(t, changed[rf.typ+"."+rf.input], "%s.%s is lifted by the decommission up", rf.typ, rf.input)
				}
			}
		})
	}
}

// A decommissioned stack plans like any other: exit 0, no mandatory policy
// violation (aurora-deletion-protection asks for deletion protection only
// where something is protected), and a warning on every preview and up.
func TestADecommissionedStackPlansWithAWarning(t *testing.T) {
	for _, stack := range productionStacks {
		t.Run(stack, func(t *testing.T) {
			raw, _ := stackConfig(t, stack)
			cfg, err := stacks.Load(project, stack, stacks.MapSource(withConfig(raw, map[string]string{decommissionKey: "true"})))
			require.NoError(t, err)
			require.NotEmpty(t, cfg.Warnings)
			assert.Contains(t, strings.Join(cfg.Warnings, "\n"), "decommission is set")
			assert.Contains(t, strings.Join(cfg.Warnings, "\n"), "Decommissioning a production stack", "the warning points at the README section")

			for _, v := range plan.Evaluate(plan.ResourcesOf(decommissioned(t, stack))) {
				assert.NotEqual(t, "mandatory", v.Level, "%s: %s (%s)", v.Policy, v.Message, v.URN)
			}
		})
		raw, _ := stackConfig(t, stack)
		cfg, err := stacks.Load(project, stack, stacks.MapSource(raw))
		require.NoError(t, err)
		assert.NotContains(t, strings.Join(cfg.Warnings, "\n"), "decommission", "%s as shipped is not being decommissioned", stack)
	}
}

func protectedURNs(res *mocks.Result) []string {
	var out []string
	for _, r := range res.Resources {
		if r.Protect {
			out = append(out, r.URN)
		}
	}
	return out
}

func sortedURNs(m map[string]*mocks.Resource) []string {
	out := make([]string, 0, len(m))
	for urn := range m {
		out = append(out, urn)
	}
	sort.Strings(out)
	return out
}

// changedInputs lists the top-level inputs that differ between two runs.
func changedInputs(a, b resource.PropertyMap) []string {
	var out []string
	seen := map[resource.PropertyKey]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	for k := range seen {
		if !a[k].DeepEquals(b[k]) {
			out = append(out, string(k))
		}
	}
	sort.Strings(out)
	return out
}

// README's sequence is the one the tests hold: lift with `decommission`,
// up, archive the logs the destroy deletes, destroy; and it names what
// remains.
func TestREADMEDocumentsTheDecommissionSequence(t *testing.T) {
	raw := readmeSection(t, "### Decommissioning a production stack")
	section := strings.Join(strings.Fields(raw), " ")
	_, commands, ok := strings.Cut(raw, "```sh\n")
	require.True(t, ok, "the section gives the commands")
	commands, _, _ = strings.Cut(commands, "```")
	last := -1
	for _, step := range []string{
		"pulumi config set " + decommissionKey + " true",
		"pulumi preview --diff",
		"pulumi up",
		"aws s3 sync",
		"pulumi destroy",
	} {
		i := strings.Index(commands, step)
		require.GreaterOrEqual(t, i, 0, "README's sequence lacks %q", step)
		assert.Greater(t, i, last, "%q comes after the step before it", step)
		last = i
	}
	for _, kept := range []string{"-aurora-final-", "KMS key", "retainOnDelete"} {
		assert.Contains(t, section, kept, "README says what remains")
	}
	for _, rf := range refusals {
		assert.Contains(t, section, rf.refusal, "README names why %s refuses a destroy", rf.typ)
	}
}

// readmeSection is README from the heading that starts with heading to the
// next heading of the same or a higher level, outside code blocks.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	level := func(l string) int { return len(l) - len(strings.TrimLeft(l, "#")) }
	start, depth := -1, 0
	inCode := false
	for i, l := range lines {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(l, "#") {
			continue
		}
		if start < 0 {
			if strings.HasPrefix(l, heading) {
				start, depth = i, level(l)
			}
			continue
		}
		if level(l) <= depth {
			return strings.Join(lines[start:i], "\n")
		}
	}
	require.GreaterOrEqual(t, start, 0, "README has no section %q", heading)
	return strings.Join(lines[start:], "\n")
}
