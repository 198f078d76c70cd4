package tests

// Issue 23, D-1: who owns a region's GuardDuty detector is configuration,
// never a lookup. guardDutyDetectorId adopts a detector (never created,
// never deleted); without it the stack creates the region's detector and
// owns it. The preflight checks that configuration against the account
// before anything is created.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/guardduty"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/threatdetection"
	"github.com/authplatform/auth-platform/stacks"
)

// runIn runs the program against account, after prior (nil: a first run).
func runIn(t *testing.T, account *mocks.Account, prior *mocks.Result, stack string, cfg map[string]string) (*mocks.Result, error) {
	t.Helper()
	return mocks.RunWith(mocks.RunOptions{Account: account, Prior: prior}, project, stack, cfg, nil,
		func(ctx *pulumi.Context) (map[string]pulumi.Output, error) { return stacks.Run(ctx) })
}

const adoptedDetector = "0123456789abcdef0123456789abcdef"

func TestGuardDutyOwnershipIsConfiguration(t *testing.T) {
	base, _ := stackConfig(t, "prod-us-east-1")
	ours := threatdetection.DetectorName(stacks.RegionNamer(&stacks.Config{App: "auth", Environment: "prod", Stack: "prod-us-east-1"}, "us-east-1"))
	for _, tc := range []struct {
		name string
		// existing is the account's detector in us-east-1 before the run:
		// its ID and Name tag ("" for none).
		existing, existingName string
		set                    map[string]string
		// created: the stack registers a detector; adopted: the feature's
		// detector when it adopts one; key and message: a configuration
		// error instead.
		created      bool
		adopted      string
		key, message string
	}{
		{name: "a fresh account: the stack creates and owns the detector", created: true},
		{name: "adopt the security team's detector", existing: adoptedDetector, existingName: "security",
			set: map[string]string{q("guardDutyDetectorId"): adoptedDetector}, adopted: adoptedDetector},
		{name: "another's detector where the stack would create one", existing: adoptedDetector, existingName: "security",
			key: q("guardDutyEnabled"), message: "GuardDuty in us-east-1 already has detector " + adoptedDetector + `, which this stack did not create (Name tag "security")`},
		{name: "adopt a detector the region does not have",
			set: map[string]string{q("guardDutyDetectorId"): adoptedDetector},
			key: q("guardDutyDetectorId"), message: "GuardDuty in us-east-1 has no detector " + adoptedDetector + " in this account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			account := mocks.NewAccount()
			if tc.existing != "" {
				account.WithDetector("us-east-1", tc.existing, map[string]string{"Name": tc.existingName})
			}
			res, err := runIn(t, account, nil, "prod-us-east-1", withConfig(base, tc.set))
			if tc.key != "" {
				var cerr *stacks.ConfigError
				require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
				require.Len(t, cerr.Problems, 1, cerr.Error())
				assert.Equal(t, tc.key, cerr.Problems[0].Key)
				assert.Contains(t, cerr.Problems[0].Message, tc.message)
				if tc.key == q("guardDutyEnabled") {
					assert.Contains(t, cerr.Problems[0].Fix, "set guardDutyDetectorId: "+tc.existing+" to adopt it")
				}
				before, ok := account.Detector("us-east-1")
				assert.Equal(t, tc.existing != "", ok)
				assert.Equal(t, tc.existing, before.ID, "the account's detector is left alone")
				return
			}
			require.NoError(t, err)
			feature := one(t, res, typeFeature, "-guardduty-eks-audit")
			assert.Equal(t, "EKS_AUDIT_LOGS", str(t, feature, "name"))
			detectors := ofType(res, typeDetector)
			if tc.created {
				require.Len(t, detectors, 1)
				assert.Equal(t, detectors[0].ID, str(t, feature, "detectorId"))
				assert.Equal(t, ours, str(t, detectors[0], "tags.Name"), "the tag the preflight knows its own detector by")
				assert.True(t, detectors[0].Protect, "prod protects the detector: deleting it deletes the findings")
				return
			}
			assert.Empty(t, detectors, "an adopted detector is never declared, so never deleted")
			assert.Equal(t, tc.adopted, str(t, feature, "detectorId"))
		})
	}
}

// The second run finds the stack's own detector (its Name tag), passes the
// preflight and declares the same detector: nothing is created or deleted.
func TestGuardDutySecondRunKeepsTheStacksOwnDetector(t *testing.T) {
	cfg, _ := stackConfig(t, "prod-us-east-1")
	account := mocks.NewAccount()
	first, err := runIn(t, account, nil, "prod-us-east-1", cfg)
	require.NoError(t, err)
	made, ok := account.Detector("us-east-1")
	require.True(t, ok, "the first run created the region's detector")
	second, err := runIn(t, account, first, "prod-us-east-1", cfg)
	require.NoError(t, err)
	detectors := ofType(second, typeDetector)
	require.Len(t, detectors, 1, "declared again, so the engine keeps it")
	assert.Equal(t, made.ID, detectors[0].ID)
	after, ok := account.Detector("us-east-1")
	require.True(t, ok)
	assert.Equal(t, made.ID, after.ID)
}

// The detector follows protectStatefulResources: dev (unprotected) may
// destroy what it created.
func TestGuardDutyDetectorProtectionFollowsTheStack(t *testing.T) {
	dev, _ := stackConfig(t, "dev")
	res, err := runIn(t, nil, nil, "dev", withConfig(dev, map[string]string{q("guardDutyEnabled"): "true"}))
	require.NoError(t, err)
	require.Len(t, ofType(res, typeDetector), 1)
	assert.False(t, ofType(res, typeDetector)[0].Protect)
}

func TestGuardDutyConfigurationMistakes(t *testing.T) {
	base, _ := stackConfig(t, "prod-us-east-1")
	assertRejected(t, withConfig(base, map[string]string{q("guardDutyEnabled"): "false", q("guardDutyDetectorId"): adoptedDetector}),
		q("guardDutyDetectorId"), "a detector to adopt, but GuardDuty is off")
	assertRejected(t, withConfig(base, map[string]string{q("guardDutyDetectorId"): "det-1"}),
		q("guardDutyDetectorId"), "not a GuardDuty detector ID")
}

// In prod-global the us-west-2 entry turns GuardDuty on: that region gets
// the stack's own detector, us-east-1 (prod-us-east-1's) none.
func TestGuardDutyInProdGlobalIsUsWest2sOwnDetector(t *testing.T) {
	account := mocks.NewAccount()
	cfg, _ := stackConfig(t, "prod-global")
	res, err := runIn(t, account, nil, "prod-global", cfg)
	require.NoError(t, err)
	detectors := ofType(res, typeDetector)
	require.Len(t, detectors, 1)
	assert.Equal(t, "us-west-2", detectors[0].Region)
	_, east := account.Detector("us-east-1")
	west, ok := account.Detector("us-west-2")
	assert.False(t, east)
	require.True(t, ok)
	assert.Equal(t, detectors[0].ID, west.ID)
}

// The README and the key descriptions say who owns the detector and what a
// destroy does to it.
func TestREADMEStatesGuardDutyOwnershipAndDestroy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	readme := string(b)
	for _, s := range []string{
		"who owns the detector is configuration, never a lookup",
		"the stack **creates the region's detector and owns\n  it**",
		"the stack **adopts** that\n  detector",
		"are lost and can't be\n  recovered",
		"`guardDutyDetectorId` without `guardDutyEnabled` is an error.",
	} {
		assert.Contains(t, readme, s)
	}
	for _, k := range stacks.Keys {
		if strings.HasPrefix(k.Name, "guardDuty") {
			assert.NotContains(t, k.Description, "look it up", "%s: ownership is never looked up", k.Name)
		}
	}
}

// GuardDuty refuses a second detector in a region, and so do the mocks:
// what the preflight guards against is real.
func TestCreatingASecondDetectorFailsAsGuardDutyDoes(t *testing.T) {
	account := mocks.NewAccount().WithDetector("us-east-1", adoptedDetector, nil)
	err := invoke(t, account, "us-east-1", func(ctx *pulumi.Context) error {
		_, err := guardduty.NewDetector(ctx, "second", &guardduty.DetectorArgs{Enable: pulumi.Bool(true)})
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BadRequestException: The request is rejected because a detector already exists for the current account.")
}
