package tests

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/stacks"
)

// validBase is a minimal valid configuration.
// validBase is the smallest valid configuration: a region and the one
// required key.
var validBase = map[string]string{
	"aws:region":              "us-east-1",
	"auth-platform:authImage": "ghcr.io/authplatform/auth-service:1.0.0",
}

func TestInvalidConfigurationsAreRejectedNamingTheKey(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		key       string
		message   string
	}{
		{"region missing", map[string]string{"aws:region": ""}, "aws:region", "the AWS region is required"},
		{"region unknown", map[string]string{"aws:region": "us-east1"}, "aws:region", `"us-east1": unknown AWS region`},
		{"cidr invalid", map[string]string{"auth-platform:vpcCidr": "10.0.0.0/33"}, "auth-platform:vpcCidr", "not a CIDR block"},
		{"cidr too small", map[string]string{"auth-platform:vpcCidr": "10.0.0.0/24"}, "auth-platform:vpcCidr", "prefix /24 is outside"},
		{"cidr public", map[string]string{"auth-platform:vpcCidr": "52.0.0.0/16"}, "auth-platform:vpcCidr", "RFC 1918"},
		{"one AZ", map[string]string{"auth-platform:availabilityZones": `["us-east-1a"]`}, "auth-platform:availabilityZones", "fewer than 3 availability zones"},
		{"AZ of another region", map[string]string{"auth-platform:availabilityZones": `["us-east-1a","us-west-2b"]`}, "auth-platform:availabilityZones", "zone us-west-2b is not a zone of region us-east-1"},
		{"AZ twice", map[string]string{"auth-platform:availabilityZones": `["us-east-1a","us-east-1a"]`}, "auth-platform:availabilityZones", "listed twice"},
		{"AZs not a list", map[string]string{"auth-platform:availabilityZones": `us-east-1a`}, "auth-platform:availabilityZones", "not a list of strings"},
		{"azCount 1", map[string]string{"auth-platform:azCount": "1"}, "auth-platform:azCount", "at least 3 AZs"},
		{"azCount text", map[string]string{"auth-platform:azCount": "three"}, "auth-platform:azCount", "not an integer"},
		{"nat layout", map[string]string{"auth-platform:natGateways": "none"}, "auth-platform:natGateways", "unknown NAT gateway layout"},
		{"environment", map[string]string{"auth-platform:environment": "production"}, "auth-platform:environment", "unknown environment"},
		{"app name", map[string]string{"auth-platform:appName": "Auth_Service"}, "auth-platform:appName", "DNS-safe"},
		{"old kubernetes", map[string]string{"auth-platform:kubernetesVersion": "1.29"}, "auth-platform:kubernetesVersion", "preStop sleep"},
		{"bad kubernetes", map[string]string{"auth-platform:kubernetesVersion": "v1.33"}, "auth-platform:kubernetesVersion", "not a Kubernetes minor version"},
		{"no endpoint", map[string]string{"auth-platform:endpointPublicAccess": "false", "auth-platform:endpointPrivateAccess": "false"}, "auth-platform:endpointPublicAccess", "nothing can reach"},
		{"bool typo", map[string]string{"auth-platform:endpointPublicAccess": "yes please"}, "auth-platform:endpointPublicAccess", "not a boolean"},
		{"public cidr", map[string]string{"auth-platform:publicAccessCidrs": `["203.0.113.7/24"]`}, "auth-platform:publicAccessCidrs", "not an IPv4 CIDR block"},
		{"log type", map[string]string{"auth-platform:clusterLogTypes": `["api","debug"]`}, "auth-platform:clusterLogTypes", `"debug": unknown control-plane log type`},
		{"namespace", map[string]string{"auth-platform:authNamespace": "kube-system"}, "auth-platform:authNamespace", "reserved"},
		{"prod single NAT", map[string]string{"auth-platform:environment": "prod", "auth-platform:natGateways": "single", "auth-platform:protectStatefulResources": "true"}, "auth-platform:natGateways", "cuts egress"},
		{"prod unprotected", map[string]string{"auth-platform:environment": "prod"}, "auth-platform:protectStatefulResources", "must be protected"},
		{"typo key", map[string]string{"auth-platform:vpcCidrr": "10.0.0.0/16"}, "auth-platform:vpcCidrr", "did you mean vpcCidr?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withConfig(validBase, tc.overrides)
			_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
			var cerr *stacks.ConfigError
			require.True(t, errors.As(err, &cerr), "want a configuration error, got %v", err)
			var keys []string
			for _, p := range cerr.Problems {
				keys = append(keys, p.Key)
				if p.Key == tc.key {
					assert.NotEmpty(t, p.Fix, "every problem says how to fix it")
				}
			}
			assert.Contains(t, keys, tc.key)
			assert.Contains(t, err.Error(), tc.message)

			// The program refuses before registering anything.
			res, runErr := runProgram(t, "test", cfg, nil)
			require.Error(t, runErr)
			assert.Nil(t, res)
		})
	}
}

func TestAllProblemsAreReportedAtOnce(t *testing.T) {
	cfg := withConfig(validBase, map[string]string{
		"aws:region":                       "mars-1",
		"auth-platform:vpcCidr":            "300.0.0.0/16",
		"auth-platform:azCount":            "1",
		"auth-platform:kubernetesVersion":  "1.20",
		"auth-platform:clusterLogTypes":    `["everything"]`,
		"auth-platform:natGateways":        "some",
		"auth-platform:environment":        "qa",
		"auth-platform:authNamespace":      "Auth",
		"auth-platform:publicAccessCidrs":  `["anywhere"]`,
		"auth-platform:availabilityZones":  `[]`,
		"auth-platform:appName":            "a",
		"auth-platform:protectStatefulRes": "true",
	})
	_, err := stacks.Load(project, "test", stacks.MapSource(cfg))
	var cerr *stacks.ConfigError
	require.True(t, errors.As(err, &cerr))
	var keys []string
	for _, p := range cerr.Problems {
		keys = append(keys, p.Key)
	}
	assert.ElementsMatch(t, []string{
		"aws:region", "auth-platform:vpcCidr", "auth-platform:azCount", "auth-platform:kubernetesVersion",
		"auth-platform:clusterLogTypes", "auth-platform:natGateways", "auth-platform:environment",
		"auth-platform:authNamespace", "auth-platform:publicAccessCidrs", "auth-platform:appName",
		"auth-platform:protectStatefulRes",
	}, keys)
}

func TestDefaultsAreValidAndMatchTheGoTable(t *testing.T) {
	cfg, err := stacks.Load(project, "test", stacks.MapSource(validBase))
	require.NoError(t, err)
	assert.Equal(t, "auth", cfg.App)
	assert.Equal(t, 3, cfg.AZCount)
	assert.False(t, cfg.SingleNatGateway)
	assert.Equal(t, "10.0.0.0/16", cfg.VpcCIDR)
}

func TestPulumiYAMLSchemaMatchesTheConfigKeys(t *testing.T) {
	proj, err := plan.LoadProject(filepath.Join(repoRoot(t), "Pulumi.yaml"))
	require.NoError(t, err)
	assert.Equal(t, project, proj.Name)
	assert.Equal(t, "go", proj.Runtime)
	assert.Equal(t, "stacks", proj.StackConfigDir)
	assert.Equal(t, stacks.Namespace, proj.Name)

	declared := map[string]bool{}
	for name := range proj.Config {
		declared[name] = true
	}
	for _, k := range stacks.Keys {
		t.Run(k.Name, func(t *testing.T) {
			pc, ok := proj.Config[k.Name]
			require.True(t, ok, "Pulumi.yaml does not declare %s", k.Name)
			assert.Equal(t, k.Type, pc.Type)
			assert.NotEmpty(t, pc.Description)
			assert.True(t, reflect.DeepEqual(normalize(k.Default), normalize(pc.Default)),
				"default of %s: Go %v, Pulumi.yaml %v", k.Name, k.Default, pc.Default)
			if k.Type == "array" {
				require.NotNil(t, pc.Items)
				assert.Equal(t, k.ItemsType(), pc.Items.Type)
			}
			delete(declared, k.Name)
		})
	}
	assert.Empty(t, declared, "Pulumi.yaml declares keys the program does not read")
}

// normalize makes YAML- and Go-typed defaults comparable.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case []string:
		out := make([]interface{}, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out
	case []int:
		out := make([]interface{}, len(t))
		for i, n := range t {
			out[i] = n
		}
		return out
	case []interface{}:
		return t
	}
	return v
}

func TestREADMEDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	readme := string(b)
	for _, k := range stacks.Keys {
		assert.True(t, strings.Contains(readme, "`"+k.Name+"`"), "README does not document %s", k.Name)
	}
}
