package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/accesslogs"
	"github.com/authplatform/auth-platform/components/alarms"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/flowlogs"
	"github.com/authplatform/auth-platform/components/globaldata"
	"github.com/authplatform/auth-platform/components/globalrouting"
	"github.com/authplatform/auth-platform/components/image"
	"github.com/authplatform/auth-platform/components/ingress"
	"github.com/authplatform/auth-platform/components/lbcontroller"
	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/components/network"
	"github.com/authplatform/auth-platform/components/signals"
	"github.com/authplatform/auth-platform/components/timing"
	"github.com/authplatform/auth-platform/components/waf"
	"github.com/authplatform/auth-platform/components/zones"
)

var argsNamer = naming.Namer{App: "auth", Env: "unit", Region: "us-east-1"}

// argsFixture is a component a test registers for a component to wait for; it
// is not counted as registered by the component under test.
type argsFixture struct{ pulumi.ResourceState }

func newArgsFixture(ctx *pulumi.Context, name string) pulumi.Resource {
	f := &argsFixture{}
	if err := ctx.RegisterComponentResource(fixtureType, name, f); err != nil {
		panic(err)
	}
	return f
}

// --- waf ---

func TestWAFCheckRejectsEachMistake(t *testing.T) {
	groups := func(gs ...string) []string { return gs }
	for _, tc := range []struct {
		name   string
		mode   string
		groups []string
		limit  int
		window int
		want   string // "" when valid
	}{
		{"the defaults", waf.ModeBlock, waf.DefaultRuleGroups, 100, 300, ""},
		{"count mode", waf.ModeCount, waf.DefaultRuleGroups, 100, 300, ""},
		{"an unknown mode", "BLOCK", waf.DefaultRuleGroups, 100, 300, `mode "BLOCK": want block or count`},
		{"an unknown rule group", waf.ModeBlock, groups("AWSManagedRulesBotControlRuleSet"), 100, 300, `rule group "AWSManagedRulesBotControlRuleSet" is not a free AWS managed rule group`},
		{"a rule group twice", waf.ModeBlock, groups("AWSManagedRulesSQLiRuleSet", "AWSManagedRulesSQLiRuleSet"), 100, 300, `rule group "AWSManagedRulesSQLiRuleSet" is listed twice`},
		// The managed groups' capacities are multiples of 25 and the rate
		// rule takes 12, so 1487 WCU is the most below the 1500 cap and
		// 1512 the least above it.
		{"1487 WCU fit", waf.ModeBlock, groups("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet",
			"AWSManagedRulesLinuxRuleSet", "AWSManagedRulesUnixRuleSet", "AWSManagedRulesAnonymousIpList", "AWSManagedRulesAmazonIpReputationList"), 100, 300, ""},
		{"1512 WCU do not", waf.ModeBlock, groups("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet",
			"AWSManagedRulesLinuxRuleSet", "AWSManagedRulesUnixRuleSet", "AWSManagedRulesPHPRuleSet"), 100, 300, "the rule groups need 1512 WCU, more than the 1500 of the base price"},
		{"rate limit 9", waf.ModeBlock, waf.DefaultRuleGroups, 9, 300, "rate limit 9: AWS accepts 10 to 2000000000"},
		{"rate limit 10", waf.ModeBlock, waf.DefaultRuleGroups, 10, 300, ""},
		{"rate limit 2000000000", waf.ModeBlock, waf.DefaultRuleGroups, 2000000000, 300, ""},
		{"rate limit 2000000001", waf.ModeBlock, waf.DefaultRuleGroups, 2000000001, 300, "rate limit 2000000001: AWS accepts 10 to 2000000000"},
		{"a 60 s window", waf.ModeBlock, waf.DefaultRuleGroups, 100, 60, ""},
		{"a 120 s window", waf.ModeBlock, waf.DefaultRuleGroups, 100, 120, ""},
		{"a 600 s window", waf.ModeBlock, waf.DefaultRuleGroups, 100, 600, ""},
		{"a 180 s window", waf.ModeBlock, waf.DefaultRuleGroups, 100, 180, "rate window 180 s: AWS accepts 60, 120, 300 or 600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := waf.Check(tc.mode, tc.groups, tc.limit, tc.window)
			if tc.want == "" {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1, "only the broken rule: %v", errs)
			assert.Contains(t, errs[0].Error(), tc.want)
		})
	}
}

var wafSpec = argsSpec[waf.Args]{
	valid: func(*pulumi.Context) *waf.Args {
		return &waf.Args{
			LoadBalancerArn: pulumi.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/auth/0123456789abcdef"),
			Region:          "us-east-1",
			AccountID:       "123456789012",
			Partition:       "aws",
			AlarmTopicArn:   pulumi.String("arn:aws:sns:us-east-1:123456789012:auth-alarms"),
			Namer:           argsNamer,
			Tags:            naming.Tags{"Stack": "unit"},
		}
	},
	create:   func(ctx *pulumi.Context, a *waf.Args) error { _, err := waf.NewWebACL(ctx, "w", a); return err },
	complete: true,
}

func TestWAFArgsChecksEachRejectOneMistake(t *testing.T) {
	const required = "LoadBalancerArn, AlarmTopicArn and Region are required"
	wafSpec.check(t, []argsCase[waf.Args]{
		{"no load balancer", func(a *waf.Args) { a.LoadBalancerArn = nil }, required, false},
		{"no alarm topic", func(a *waf.Args) { a.AlarmTopicArn = nil }, required, false},
		{"no region", func(a *waf.Args) { a.Region = "" }, required, false},
		{"a configuration mistake", func(a *waf.Args) { a.RateWindowSeconds = 30 }, "rate window 30 s: AWS accepts 60, 120, 300 or 600", false},
	})
}

// --- alarms ---

var alarmsSpec = argsSpec[alarms.Args]{
	valid: func(*pulumi.Context) *alarms.Args {
		return &alarms.Args{
			AccountID:             "123456789012",
			Partition:             "aws",
			Region:                "us-east-1",
			LoadBalancerArnSuffix: pulumi.String("app/auth/0123456789abcdef"),
			TargetGroupArnSuffix:  pulumi.String("targetgroup/auth/0123456789abcdef"),
			Cache:                 alarms.CacheNodes{ReplicationGroupID: pulumi.String("auth-unit-sessions"), Shards: 3, ReplicasPerShard: 1},
			DatabaseClusterID:     pulumi.String("auth-unit-aurora"),
			ServiceLogGroup:       pulumi.String("/auth-unit-use1/auth-service"),
			Namer:                 argsNamer,
			Tags:                  naming.Tags{"Stack": "unit"},
		}
	},
	create:   func(ctx *pulumi.Context, a *alarms.Args) error { _, err := alarms.NewAlarms(ctx, "a", a); return err },
	complete: true,
}

func TestAlarmsArgsChecksEachRejectOneMistake(t *testing.T) {
	alarmsSpec.check(t, []argsCase[alarms.Args]{
		{"no region", func(a *alarms.Args) { a.Region = "" }, "Region is required", false},
		{"a cache without shards", func(a *alarms.Args) { a.Cache.Shards = 0 }, "Cache needs at least one shard, has 0", false},
		{"a cache of one shard", func(a *alarms.Args) { a.Cache.Shards = 1 }, "Cache needs", true},
		{"a cache without replicas", func(a *alarms.Args) { a.Cache.ReplicasPerShard = 0 }, "Cache.ReplicasPerShard is", true},
		{"negative cache replicas", func(a *alarms.Args) { a.Cache.ReplicasPerShard = -1 }, "Cache.ReplicasPerShard is -1, want 0 or more", false},
		{"no service log group", func(a *alarms.Args) { a.ServiceLogGroup = nil }, "ServiceLogGroup is required", false},
	})
}

// --- ingress ---

var ingressSpec = argsSpec[ingress.Args]{
	valid: func(*pulumi.Context) *ingress.Args {
		return &ingress.Args{
			VpcID:                      pulumi.String("vpc-0123456789abcdef0"),
			PublicSubnetIDs:            pulumi.ToStringArray([]string{"subnet-d", "subnet-e", "subnet-f"}),
			PodSecurityGroupID:         pulumi.String("sg-0pods000000000000"),
			DeregistrationDelaySeconds: 30,
			Namer:                      argsNamer,
			Tags:                       naming.Tags{"Stack": "unit"},
		}
	},
	create: func(ctx *pulumi.Context, a *ingress.Args) error {
		_, err := ingress.NewIngress(ctx, "i", a)
		return err
	},
	complete: true,
}

func TestIngressArgsChecksEachRejectOneMistake(t *testing.T) {
	const cert = "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab"
	mtls := &ingress.MutualTLS{CABundleBucket: "auth-unit-ca", CABundleKey: "ca.pem"}
	ingressSpec.check(t, []argsCase[ingress.Args]{
		{"no deregistration delay", func(a *ingress.Args) { a.DeregistrationDelaySeconds = 0 }, "DeregistrationDelaySeconds is 0; derive it from the timing budget (1-3600)", false},
		{"a 1 s deregistration delay", func(a *ingress.Args) { a.DeregistrationDelaySeconds = 1 }, "DeregistrationDelaySeconds is", true},
		{"a 3600 s deregistration delay", func(a *ingress.Args) { a.DeregistrationDelaySeconds = 3600 }, "DeregistrationDelaySeconds is", true},
		{"a 3601 s deregistration delay", func(a *ingress.Args) { a.DeregistrationDelaySeconds = 3601 }, "DeregistrationDelaySeconds is 3601", false},
		{"mutual TLS without HTTPS", func(a *ingress.Args) { a.MutualTLS = mtls }, "MutualTLS needs an HTTPS listener (CertificateArn)", false},
		{"mutual TLS with HTTPS", func(a *ingress.Args) { a.MutualTLS, a.CertificateArn = mtls, cert }, "MutualTLS needs", true},
	})
}

func TestIngressRejectsNilArgs(t *testing.T) {
	registered, err := componentRun(t, func(ctx *pulumi.Context) error { _, err := ingress.NewIngress(ctx, "i", nil); return err })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "args are required")
	assert.Empty(t, registered)
}

// --- lbcontroller ---

var lbcontrollerSpec = argsSpec[lbcontroller.Args]{
	valid: func(*pulumi.Context) *lbcontroller.Args {
		return &lbcontroller.Args{
			ClusterName:     pulumi.String("auth-unit-use1"),
			Region:          "us-east-1",
			VpcID:           pulumi.String("vpc-0123456789abcdef0"),
			OIDCProviderARN: pulumi.String("arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"),
			OIDCIssuerURL:   pulumi.String("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"),
			Namer:           argsNamer,
			Tags:            naming.Tags{"Stack": "unit"},
		}
	},
	create: func(ctx *pulumi.Context, a *lbcontroller.Args) error {
		_, err := lbcontroller.NewController(ctx, "l", a)
		return err
	},
	complete: true,
}

func TestLBControllerArgsChecksEachRejectOneMistake(t *testing.T) {
	lbcontrollerSpec.check(t, []argsCase[lbcontroller.Args]{
		{"no region", func(a *lbcontroller.Args) { a.Region = "" }, "Region is required", false},
		{"one replica", func(a *lbcontroller.Args) { a.Replicas = 1 }, "Replicas is 1; at least 2 are needed for leader failover and the PDB", false},
		{"two replicas", func(a *lbcontroller.Args) { a.Replicas = 2 }, "Replicas is", true},
		{"negative replicas", func(a *lbcontroller.Args) { a.Replicas = -2 }, "Replicas is -2", false},
	})
}

// --- globalrouting ---

func routingEndpoints(regions ...string) []globalrouting.Endpoint {
	var out []globalrouting.Endpoint
	for _, r := range regions {
		out = append(out, globalrouting.Endpoint{
			Region:  r,
			DNSName: pulumi.String("auth-" + r + ".elb.amazonaws.com"),
			ZoneID:  pulumi.String("Z35SXDOTRQ7X7K"),
			HTTPS:   true,
		})
	}
	return out
}

var globalroutingSpec = argsSpec[globalrouting.Args]{
	valid: func(*pulumi.Context) *globalrouting.Args {
		return &globalrouting.Args{
			ZoneID:    "Z0123456789ABCDEFGHIJ",
			Hostname:  "auth.example.com",
			Endpoints: routingEndpoints("us-east-1", "us-west-2"),
			Namer:     argsNamer,
			Tags:      naming.Tags{"Stack": "unit"},
		}
	},
	create: func(ctx *pulumi.Context, a *globalrouting.Args) error {
		_, err := globalrouting.NewRouting(ctx, "r", a)
		return err
	},
	complete: true,
}

func TestGlobalRoutingArgsChecksEachRejectOneMistake(t *testing.T) {
	const required = "ZoneID, Hostname and at least one endpoint are required"
	type c = argsCase[globalrouting.Args]
	globalroutingSpec.check(t, []c{
		{"no zone", func(a *globalrouting.Args) { a.ZoneID = "" }, required, false},
		{"no hostname", func(a *globalrouting.Args) { a.Hostname = "" }, required, false},
		{"no endpoint", func(a *globalrouting.Args) { a.Endpoints = nil }, required, false},
		{"one endpoint is a simple record", func(a *globalrouting.Args) { a.Endpoints = a.Endpoints[:1] }, "a simple record", true},
		{"a simple record of two endpoints", func(a *globalrouting.Args) { a.Policy = globalrouting.PolicySimple }, "a simple record has exactly one endpoint", false},
		{"failover of one endpoint", func(a *globalrouting.Args) {
			a.Policy, a.Endpoints = globalrouting.PolicyFailover, a.Endpoints[:1]
		}, "failover routing has exactly a primary and a secondary", false},
		{"failover of three endpoints", func(a *globalrouting.Args) {
			a.Policy, a.Endpoints = globalrouting.PolicyFailover, routingEndpoints("us-east-1", "us-west-2", "eu-west-1")
		}, "failover routing has exactly a primary and a secondary; use latency for more regions", false},
		{"latency over three endpoints", func(a *globalrouting.Args) {
			a.Policy, a.Endpoints = globalrouting.PolicyLatency, routingEndpoints("us-east-1", "us-west-2", "eu-west-1")
		}, "unknown policy", true},
		{"an unknown policy", func(a *globalrouting.Args) { a.Policy = "geolocation" }, `unknown policy "geolocation"`, false},
	})
}

// --- the components that only need their inputs ---

func TestSignalsArgsChecksEachRejectOneMistake(t *testing.T) {
	const required = "ClusterName, ClusterArn and AlarmTopicArn are required"
	argsSpec[signals.Args]{
		valid: func(*pulumi.Context) *signals.Args {
			return &signals.Args{
				ClusterName:   pulumi.String("auth-unit-use1"),
				ClusterArn:    pulumi.String("arn:aws:eks:us-east-1:123456789012:cluster/auth-unit-use1"),
				AlarmTopicArn: pulumi.String("arn:aws:sns:us-east-1:123456789012:auth-alarms"),
				Namer:         argsNamer,
				Tags:          naming.Tags{"Stack": "unit"},
			}
		},
		create: func(ctx *pulumi.Context, a *signals.Args) error {
			_, err := signals.NewSignals(ctx, "s", a)
			return err
		},
		complete: true,
	}.check(t, []argsCase[signals.Args]{
		{"no cluster", func(a *signals.Args) { a.ClusterName = nil }, required, false},
		{"no cluster ARN", func(a *signals.Args) { a.ClusterArn = nil }, required, false},
		{"no alarm topic", func(a *signals.Args) { a.AlarmTopicArn = nil }, required, false},
	})
}

func TestAccessLogsArgsChecksEachRejectOneMistake(t *testing.T) {
	const required = "Region, AccountID and Prefix are required"
	argsSpec[accesslogs.Args]{
		valid: func(*pulumi.Context) *accesslogs.Args {
			return &accesslogs.Args{Region: "us-east-1", Partition: "aws", AccountID: "123456789012", Prefix: "alb", Namer: argsNamer, Tags: naming.Tags{"Stack": "unit"}}
		},
		create: func(ctx *pulumi.Context, a *accesslogs.Args) error {
			_, err := accesslogs.NewBucket(ctx, "b", a)
			return err
		},
		complete: true,
	}.check(t, []argsCase[accesslogs.Args]{
		{"no region", func(a *accesslogs.Args) { a.Region = "" }, required, false},
		{"no account", func(a *accesslogs.Args) { a.AccountID = "" }, required, false},
		{"no prefix", func(a *accesslogs.Args) { a.Prefix = "" }, required, false},
	})
}

func TestFlowLogsArgsChecksEachRejectOneMistake(t *testing.T) {
	const required = "VpcID, Region and AccountID are required"
	argsSpec[flowlogs.Args]{
		valid: func(*pulumi.Context) *flowlogs.Args {
			return &flowlogs.Args{VpcID: pulumi.String("vpc-0123456789abcdef0"), Region: "us-east-1", Partition: "aws", AccountID: "123456789012", Namer: argsNamer, Tags: naming.Tags{"Stack": "unit"}}
		},
		create: func(ctx *pulumi.Context, a *flowlogs.Args) error {
			_, err := flowlogs.NewFlowLogs(ctx, "f", a)
			return err
		},
		complete: true,
	}.check(t, []argsCase[flowlogs.Args]{
		{"no VPC", func(a *flowlogs.Args) { a.VpcID = nil }, required, false},
		{"no region", func(a *flowlogs.Args) { a.Region = "" }, required, false},
		{"no account", func(a *flowlogs.Args) { a.AccountID = "" }, required, false},
	})
}

func TestImageArgsChecksEachRejectOneMistake(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644))
	wd, err := os.Getwd()
	require.NoError(t, err)
	rel, err := filepath.Rel(wd, dir)
	require.NoError(t, err)
	argsSpec[image.Args]{
		valid: func(*pulumi.Context) *image.Args {
			return &image.Args{Context: rel, Namer: argsNamer, Tags: naming.Tags{"Stack": "unit"}}
		},
		create: func(ctx *pulumi.Context, a *image.Args) error { _, err := image.NewImage(ctx, "i", a); return err },
	}.check(t, []argsCase[image.Args]{
		{"no context", func(a *image.Args) { a.Context = "" }, "Context is required", false},
		{"an absolute context", func(a *image.Args) { a.Context = dir }, dir + " is an absolute path", false},
		{"an absolute named context", func(a *image.Args) { a.NamedContexts = map[string]string{"x": dir} }, dir + " is an absolute path", false},
		{"a relative named context", func(a *image.Args) { a.NamedContexts = map[string]string{"x": rel} }, "is an absolute path", true},
		{"no Dockerfile in it", func(a *image.Args) { a.Dockerfile = "Containerfile" }, "no Containerfile in " + rel, false},
		{"its Dockerfile", func(a *image.Args) {}, "no Dockerfile in", true},
	})
	_, err = image.SourceHash(image.Sources{Context: dir, Dockerfile: "Dockerfile", Named: map[string]string{"empty": t.TempDir()}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no source files in")
}

func TestGlobalDataArgsChecksEachRejectOneMistake(t *testing.T) {
	regional := func(region string) naming.Namer { n := argsNamer; n.Region = region; return n }
	argsSpec[globaldata.DatabaseArgs]{
		valid: func(ctx *pulumi.Context) *globaldata.DatabaseArgs {
			var regions []globaldata.Region
			for _, r := range []string{"us-east-1", "us-west-2"} {
				p, err := aws.NewProvider(ctx, "aws-"+r, &aws.ProviderArgs{Region: pulumi.String(r)})
				if err != nil {
					panic(err)
				}
				regions = append(regions, globaldata.Region{Name: r, Provider: p})
			}
			return &globaldata.DatabaseArgs{
				Regions:       regions,
				EngineVersion: "16.9",
				Namer:         argsNamer,
				Regional:      regional,
			}
		},
		create: func(ctx *pulumi.Context, a *globaldata.DatabaseArgs) error {
			_, err := globaldata.NewDatabase(ctx, "g", a)
			return err
		},
		complete: true,
	}.check(t, []argsCase[globaldata.DatabaseArgs]{
		{"one region", func(a *globaldata.DatabaseArgs) { a.Regions = a.Regions[:1] }, "at least two regions and a regional namer are required", false},
		{"two regions", func(a *globaldata.DatabaseArgs) {}, "at least two regions", true},
		{"no regional namer", func(a *globaldata.DatabaseArgs) { a.Regional = nil }, "at least two regions and a regional namer are required", false},
	})
	registered, err := componentRun(t, func(ctx *pulumi.Context) error {
		_, err := globaldata.NewDatastore(ctx, "s", &globaldata.DatastoreArgs{Namer: argsNamer})
		return err
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PrimaryReplicationGroupID is required")
	assert.Empty(t, registered)
}

// --- network ---

var networkSpec = argsSpec[network.Args]{
	valid: func(*pulumi.Context) *network.Args {
		return &network.Args{
			CIDR:              "10.0.0.0/16",
			AvailabilityZones: []string{"us-east-1a", "us-east-1b", "us-east-1c"},
			ClusterName:       "auth-unit-use1",
			Namer:             argsNamer,
			Tags:              naming.Tags{"Stack": "unit"},
		}
	},
	create: func(ctx *pulumi.Context, a *network.Args) error {
		_, err := network.NewNetwork(ctx, "n", a)
		return err
	},
	complete: true,
}

func TestNetworkArgsChecksEachRejectOneMistake(t *testing.T) {
	type c = argsCase[network.Args]
	azs := func(n int) func(a *network.Args) {
		return func(a *network.Args) {
			a.AvailabilityZones = nil
			for i := 0; i < n; i++ {
				a.AvailabilityZones = append(a.AvailabilityZones, "us-east-1"+string(rune('a'+i)))
			}
		}
	}
	cidr := func(s string) func(a *network.Args) { return func(a *network.Args) { a.CIDR = s } }
	networkSpec.check(t, []c{
		{"one zone", azs(1), "need at least 2 availability zones, got 1", false},
		{"two zones", azs(2), "availability zones", true},
		{"seven zones", azs(7), "availability zones", true},
		{"eight zones", azs(8), "8 availability zones requested, the layout supports at most 7", false},
		{"no cluster name", func(a *network.Args) { a.ClusterName = "" }, "ClusterName is required for the subnet discovery tags", false},
		{"not a CIDR", cidr("10.0.0.0"), `vpc CIDR "10.0.0.0": not a CIDR block`, false},
		{"an IPv6 block", cidr("fd00::/16"), "not an IPv4 block", false},
		{"host bits set", cidr("10.0.0.1/16"), "host bits are set (did you mean 10.0.0.0/16?)", false},
		{"a /15", cidr("10.0.0.0/15"), "prefix /15 is outside /16–/20", false},
		{"a /20", cidr("10.0.0.0/20"), "is outside", true},
		{"a /21", cidr("10.0.0.0/21"), "prefix /21 is outside /16–/20", false},
		{"a public block", cidr("11.0.0.0/16"), "not inside an RFC 1918 range", false},
		{"just past 172.16.0.0/12", cidr("172.32.0.0/16"), "not inside an RFC 1918 range", false},
		{"all of 192.168.0.0/16", cidr("192.168.0.0/16"), "RFC 1918", true},
		{"the top of 172.16.0.0/12", cidr("172.31.0.0/16"), "RFC 1918", true},
	})
}

func TestNetworkRejectsNilArgs(t *testing.T) {
	registered, err := componentRun(t, func(ctx *pulumi.Context) error { _, err := network.NewNetwork(ctx, "n", nil); return err })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "args are required")
	assert.Empty(t, registered)
}

// --- authservice ---

var authserviceSpec = argsSpec[authservice.Args]{
	valid: func(ctx *pulumi.Context) *authservice.Args {
		tm, vs := timing.Derive(timing.DefaultBudget(), timing.Overrides{})
		if len(vs) > 0 {
			panic(vs)
		}
		s := func(v string) pulumi.StringInput { return pulumi.String(v) }
		return &authservice.Args{
			Namespace:              "auth",
			Image:                  s("123456789012.dkr.ecr.us-east-1.amazonaws.com/auth@sha256:0000"),
			Zones:                  []string{"us-east-1a", "us-east-1b", "us-east-1c"},
			Timing:                 tm,
			TargetGroupArn:         s("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/auth/0123456789abcdef"),
			ALBSecurityGroupID:     s("sg-0alb0000000000000"),
			PodSecurityGroupID:     s("sg-0pods000000000000"),
			ClusterSecurityGroupID: s("sg-0cluster0000000000"),
			DatabaseHost:           s("auth.cluster-x.us-east-1.rds.amazonaws.com"),
			DatabasePort:           pulumi.Int(5432),
			DatabaseName:           "auth",
			DatabaseSecretArn:      s("arn:aws:secretsmanager:us-east-1:123456789012:secret:db"),
			DatabaseKmsKeyArn:      s("arn:aws:kms:us-east-1:123456789012:key/db"),
			RedisEndpoint:          s("clustercfg.auth.cache.amazonaws.com"),
			RedisPort:              pulumi.Int(6379),
			RedisSecretArn:         s("arn:aws:secretsmanager:us-east-1:123456789012:secret:redis"),
			RedisKmsKeyArn:         s("arn:aws:kms:us-east-1:123456789012:key/redis"),
			OIDCProviderARN:        s("arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"),
			OIDCIssuerURL:          s("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"),
			Region:                 "us-east-1",
			ControllerRelease:      newArgsFixture(ctx, "controller"),
			Namer:                  argsNamer,
			Tags:                   naming.Tags{"Stack": "unit"},
		}
	},
	create: func(ctx *pulumi.Context, a *authservice.Args) error {
		_, err := authservice.NewService(ctx, "s", a)
		return err
	},
	complete: true,
}

func TestAuthServiceArgsChecksEachRejectOneMistake(t *testing.T) {
	const required = "Namespace, Image and Region are required"
	const groups = "PodSecurityGroupID and ClusterSecurityGroupID are required"
	type c = argsCase[authservice.Args]
	size := func(vcpu, mem float64) func(a *authservice.Args) {
		return func(a *authservice.Args) { a.Size = authservice.FargateSize{VCPU: vcpu, MemoryGiB: mem} }
	}
	authserviceSpec.check(t, []c{
		{"no namespace", func(a *authservice.Args) { a.Namespace = "" }, required, false},
		{"no image", func(a *authservice.Args) { a.Image = nil }, required, false},
		{"no region", func(a *authservice.Args) { a.Region = "" }, required, false},
		{"one replica", func(a *authservice.Args) { a.Replicas, a.Zones = 1, a.Zones[:1] }, "Replicas is 1; at least 2 keep the service up while a pod is evicted", false},
		{"two replicas over two zones", func(a *authservice.Args) { a.Replicas, a.Zones = 2, a.Zones[:2] }, "Replicas is", true},
		{"no controller release", func(a *authservice.Args) { a.ControllerRelease = nil }, "ControllerRelease is required: the TargetGroupBinding must wait for the controller", false},
		{"no pod security group", func(a *authservice.Args) { a.PodSecurityGroupID = nil }, groups, false},
		{"no cluster security group", func(a *authservice.Args) { a.ClusterSecurityGroupID = nil }, groups, false},
		{"no zones", func(a *authservice.Args) { a.Zones = nil }, "Replicas over Zones: no zones to run in", false},
		{"fewer replicas than zones", func(a *authservice.Args) { a.Replicas = 2 }, "Replicas over Zones: 2 replicas cannot give each of 3 zones a pod", false},
		{"as many replicas as zones", func(a *authservice.Args) { a.Replicas = 3 }, "Replicas over Zones", true},
		{"a vCPU Fargate does not offer", size(3, 8), "3 vCPU is not a Fargate size (0.25, 0.5, 1, 2 or 4)", false},
		{"memory that does not go with the vCPU", size(0.5, 5), "5 GiB does not go with 0.5 vCPU on Fargate (1 to 4 GiB)", false},
		{"the most memory of the vCPU", size(0.5, 4), "does not go with", true},
		{"a timing that breaks an invariant", func(a *authservice.Args) { a.Timing.TerminationGracePeriodSeconds = 85 }, "timing: preStop sleep 60 s + shutdown 25 s is not below the grace period 85 s", false},
	})
}

func TestAuthServiceRejectsNilArgs(t *testing.T) {
	registered, err := componentRun(t, func(ctx *pulumi.Context) error { _, err := authservice.NewService(ctx, "s", nil); return err })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "args are required")
	assert.Empty(t, registered)
}

func TestAuthServiceSplitsReplicasOverZones(t *testing.T) {
	split, err := authservice.SplitReplicas(5, 3)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 2, 1}, split, "the first zones take the remainder")
	_, err = authservice.SplitReplicas(3, 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no zones to run in")
	split, err = authservice.SplitReplicas(1, 1)
	require.NoError(t, err, "one zone is enough zones")
	assert.Equal(t, []int{1}, split)
}

func TestZoneLookupPairsOnlyAlignedNamesAndIDs(t *testing.T) {
	_, err := zones.Zip([]string{"us-east-1a", "us-east-1b"}, []string{"use1-az1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "zone lookup returned 2 names but 1 zone IDs")
	zs, err := zones.Zip([]string{"us-east-1a"}, []string{"use1-az1"})
	require.NoError(t, err)
	assert.Equal(t, []zones.Zone{{Name: "us-east-1a", ID: "use1-az1"}}, zs)
	assert.True(t, strings.HasPrefix(zs[0].ID, zones.IDPrefix("us-east-1")))
}

// --- naming and zones: the shapes every name and zone ID is checked against ---

func TestRegionCodeShortensEachDirection(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1":      "use1",
		"eu-central-1":   "euc1",
		"ap-northeast-1": "apne1",
		"xx-northwest-1": "xxnw1",
		"ap-southeast-2": "apse2",
		"xx-southwest-1": "xxsw1",
		"us-gov-west-1":  "usgovw1",
		"eu-north-1":     "eun1",
		"sa-south-1":     "sas1",
		"local-1":        "local1", // fewer than three parts: the dashes go
	} {
		assert.Equal(t, want, naming.RegionCode(region), region)
	}
}

func TestTruncateKeepsNamesWithinTheirLimit(t *testing.T) {
	assert.Equal(t, "abcdefgh", naming.Truncate("abcdefgh", 8), "a name at its limit stays")
	got := naming.Truncate("abcdefghi", 8)
	assert.Len(t, got, 8)
	assert.True(t, strings.HasPrefix(got, "a-"), got)
	assert.NotEqual(t, got, naming.Truncate("abcdefghj", 8), "the hash tells cut names apart")
	got = naming.Truncate("ab-cdefghijk", 10)
	assert.True(t, strings.HasPrefix(got, "ab-"), got)
	assert.NotContains(t, got, "--", "never a cut on a dash")
	assert.LessOrEqual(t, len(got), 10)
	got = naming.Truncate("abcdefghijk", 5)
	assert.Len(t, got, 5, "no room for a head: the hash alone")
	assert.NotContains(t, got, "-")
}

func TestZoneIDsAreCheckedAgainstTheirRegion(t *testing.T) {
	assert.Equal(t, "usgw1", zones.IDPrefix("us-gov-west-1"))
	assert.Equal(t, "usge1", zones.IDPrefix("us-gov-east-1"))
	assert.Equal(t, "apse2", zones.IDPrefix("ap-southeast-2"))
	assert.True(t, zones.OfRegion("use1-az4", "us-east-1"))
	assert.False(t, zones.OfRegion("use2-az4", "us-east-1"), "another region's zone")
	assert.False(t, zones.OfRegion("use1-4", "us-east-1"), "not a zone ID")
	sorted := zones.ByID([]zones.Zone{{Name: "x", ID: "bogus"}, {Name: "b", ID: "use1-az10"}, {Name: "a", ID: "use1-az2"}})
	assert.Equal(t, []string{"use1-az2", "use1-az10", "bogus"}, zones.IDs(sorted), "numerically, malformed IDs last")
}
