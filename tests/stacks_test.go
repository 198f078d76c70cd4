package tests

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

func TestEveryStackFileRunsTheWholeProgram(t *testing.T) {
	for _, stack := range stackFiles(t) {
		t.Run(stack, func(t *testing.T) {
			res := planStack(t, stack)
			for _, typ := range []string{
				"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway",
				"aws:ec2/internetGateway:InternetGateway", eksType, profileType, "aws:eks/addon:Addon",
				"aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/policy:Policy", releaseType,
			} {
				assert.NotEmpty(t, ofType(res, typ), "no %s", typ)
			}
			regional := []map[string]interface{}{res.Outputs}
			if perRegion, ok := res.Outputs["regions"].(map[string]interface{}); ok {
				regional = nil
				for _, out := range perRegion {
					regional = append(regional, out.(map[string]interface{}))
				}
				assert.Equal(t, "[secret]", res.Outputs["kubeconfigs"])
			} else {
				assert.Equal(t, "[secret]", res.Outputs["kubeconfig"])
			}
			for _, out := range regional {
				for _, name := range []string{"vpcId", "clusterName", "oidcProviderArn", "lbControllerRoleArn", "authUrl", "dbWriterEndpoint"} {
					assert.Contains(t, out, name)
				}
			}
		})
	}
}

func TestEveryAWSResourceAndLookupUsesTheRegionalProvider(t *testing.T) {
	for _, stack := range stackFiles(t) {
		t.Run(stack, func(t *testing.T) {
			res := planStack(t, stack)
			providers := map[string]string{}
			for _, r := range ofType(res, "pulumi:providers:aws") {
				providers[r.URN] = r.Region
			}
			require.NotEmpty(t, providers)
			for _, r := range res.Resources {
				if !strings.HasPrefix(r.Type, "aws:") && r.Type != eksType {
					continue
				}
				region, ok := providers[r.Provider]
				assert.True(t, ok, "%s %s uses the default AWS provider", r.Type, r.Name)
				// What spans regions is named "-global-" and lives in the
				// primary region (the first provider created).
				// A stack named after its region says it in full.
				named := strings.Contains(r.Name, "-"+regionCodeOf(region)+"-") || strings.Contains(r.Name, "-"+region+"-") ||
					(strings.Contains(r.Name, "-global-") && region == res.Resources[firstProvider(res)].Region)
				assert.True(t, named, "%s %s is not named for region %s", r.Type, r.Name, region)
			}
			for _, c := range res.Mocks.Calls() {
				_, ok := providers[c.Provider]
				assert.True(t, ok, "lookup %s uses the default AWS provider", c.Token)
			}
		})
	}
}

// firstProvider is the index of the first AWS provider registered: the
// primary region's.
func firstProvider(res *mocks.Result) int {
	for i, r := range res.Resources {
		if r.Type == "pulumi:providers:aws" {
			return i
		}
	}
	return -1
}

// regionCodeOf is the naming helper's region code, restated for the test.
func regionCodeOf(region string) string {
	return map[string]string{"us-east-1": "use1", "us-west-2": "usw2", "eu-west-1": "euw1"}[region]
}

func TestProtectionFollowsTheStack(t *testing.T) {
	for _, tc := range []struct {
		stack       string
		wantProtect bool
	}{{"dev", false}, {"prod-us-east-1", true}} {
		t.Run(tc.stack, func(t *testing.T) {
			res := planStack(t, tc.stack)
			for _, r := range []struct{ typ, suffix string }{
				{"aws:ec2/vpc:Vpc", "-vpc"}, {eksType, "-eks"}, {"aws:kms/key:Key", "-eks-secrets"},
			} {
				assert.Equal(t, tc.wantProtect, one(t, res, r.typ, r.suffix).Protect, r.suffix)
			}
			// Immutable, replace-on-change resources are never protected:
			// protection would block their replacement.
			for _, p := range nonEmpty(t, ofType(res, profileType), "Fargate profile") {
				assert.False(t, p.Protect, p.Name)
			}
		})
	}
}

func TestTwoPlansOfTheSameStackAreByteIdentical(t *testing.T) {
	for _, stack := range stackFiles(t) {
		t.Run(stack, func(t *testing.T) {
			render := func() []byte {
				var out, errOut bytes.Buffer
				code := plan.Main([]string{"--stack", stack, "--json"}, &out, &errOut)
				require.Equal(t, plan.ExitOK, code, errOut.String())
				return out.Bytes()
			}
			first, second := render(), render()
			assert.Equal(t, string(first), string(second))

			var doc map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(first, &doc))
			for _, field := range []string{"project", "stack", "resources", "outputs", "violations"} {
				assert.Contains(t, doc, field)
			}
		})
	}
}
