// Package globalrouting points the auth hostname at the regions' ALBs with
// Route 53: one alias record per region, each guarded by a health check on
// the service's /health, with failover (primary first) or latency routing.
// A single region gets one plain alias record.
package globalrouting

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// Policies.
const (
	PolicySimple   = "simple"
	PolicyFailover = "failover"
	PolicyLatency  = "latency"
)

// Defaults for Args.
const (
	DefaultHealthCheckPath  = "/health"
	DefaultIntervalSeconds  = 30
	DefaultFailureThreshold = 3
)

// Endpoint is one region's ALB.
type Endpoint struct {
	Region string
	// DNSName and ZoneID of the ALB (alias target). Required.
	DNSName pulumi.StringInput
	ZoneID  pulumi.StringInput
	// HTTPS: the health check uses 443 (the ALB redirects 80 to it).
	HTTPS bool
}

// Args configures Routing.
type Args struct {
	// ZoneID of the public hosted zone and Hostname in it. Required.
	ZoneID   string
	Hostname string
	// Policy: "simple" (one endpoint), "failover" (exactly two; the first
	// is primary) or "latency". Default "simple" with one endpoint,
	// "failover" with two or more.
	Policy    string
	Endpoints []Endpoint
	// Health checks. Defaults: /health every 30 s, down after 3 failures,
	// AWS's checker regions.
	HealthCheckPath  string
	IntervalSeconds  int
	FailureThreshold int
	CheckerRegions   []string

	Namer naming.Namer
	Tags  naming.Tags
}

// Routing is the global-routing component.
type Routing struct {
	pulumi.ResourceState

	FQDN pulumi.StringOutput `pulumi:"fqdn"`
	// HealthCheckIDs by region (none for a simple record).
	HealthCheckIDs pulumi.StringMapOutput `pulumi:"healthCheckIds"`
}

// NewRouting creates the health checks and records. Route 53 is global;
// pass the primary region's provider.
func NewRouting(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Routing, error) {
	if args == nil || args.ZoneID == "" || args.Hostname == "" || len(args.Endpoints) == 0 {
		return nil, fmt.Errorf("globalrouting %s: ZoneID, Hostname and at least one endpoint are required", name)
	}
	a := *args
	if a.Policy == "" {
		a.Policy = PolicySimple
		if len(a.Endpoints) > 1 {
			a.Policy = PolicyFailover
		}
	}
	if a.HealthCheckPath == "" {
		a.HealthCheckPath = DefaultHealthCheckPath
	}
	if a.IntervalSeconds == 0 {
		a.IntervalSeconds = DefaultIntervalSeconds
	}
	if a.FailureThreshold == 0 {
		a.FailureThreshold = DefaultFailureThreshold
	}
	switch {
	case a.Policy == PolicySimple && len(a.Endpoints) != 1:
		return nil, fmt.Errorf("globalrouting %s: a simple record has exactly one endpoint", name)
	case a.Policy == PolicyFailover && len(a.Endpoints) != 2:
		return nil, fmt.Errorf("globalrouting %s: failover routing has exactly a primary and a secondary; use latency for more regions", name)
	case a.Policy != PolicySimple && a.Policy != PolicyFailover && a.Policy != PolicyLatency:
		return nil, fmt.Errorf("globalrouting %s: unknown policy %q", name, a.Policy)
	}

	rt := &Routing{}
	if err := ctx.RegisterComponentResource("authplatform:globalrouting:Routing", name, rt, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(rt)
	checks := pulumi.StringMap{}

	for i, ep := range a.Endpoints {
		rec := &route53.RecordArgs{
			ZoneId: pulumi.String(a.ZoneID),
			Name:   pulumi.String(a.Hostname),
			Type:   pulumi.String("A"),
			Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
				Name:   ep.DNSName,
				ZoneId: ep.ZoneID,
				// An ALB alias is healthy only while it has healthy targets.
				EvaluateTargetHealth: pulumi.Bool(true),
			}},
		}
		if a.Policy != PolicySimple {
			checkName := fmt.Sprintf("%s-%s", name, naming.RegionCode(ep.Region))
			port, kind := 80, "HTTP"
			if ep.HTTPS {
				port, kind = 443, "HTTPS"
			}
			hcArgs := &route53.HealthCheckArgs{
				Type:             pulumi.String(kind),
				Fqdn:             ep.DNSName,
				Port:             pulumi.Int(port),
				ResourcePath:     pulumi.String(a.HealthCheckPath),
				RequestInterval:  pulumi.Int(a.IntervalSeconds),
				FailureThreshold: pulumi.Int(a.FailureThreshold),
				MeasureLatency:   pulumi.Bool(a.Policy == PolicyLatency),
				Tags:             pulumi.ToStringMap(a.Tags.WithName(checkName)),
			}
			if ep.HTTPS {
				hcArgs.EnableSni = pulumi.Bool(true)
			}
			if len(a.CheckerRegions) > 0 {
				hcArgs.Regions = pulumi.ToStringArray(a.CheckerRegions)
			}
			hc, err := route53.NewHealthCheck(ctx, checkName, hcArgs, parent)
			if err != nil {
				return nil, err
			}
			checks[ep.Region] = hc.ID()
			rec.HealthCheckId = hc.ID()
			rec.SetIdentifier = pulumi.String(ep.Region)
			if a.Policy == PolicyFailover {
				role := "PRIMARY"
				if i > 0 {
					role = "SECONDARY"
				}
				rec.FailoverRoutingPolicies = route53.RecordFailoverRoutingPolicyArray{
					route53.RecordFailoverRoutingPolicyArgs{Type: pulumi.String(role)}}
			} else {
				rec.LatencyRoutingPolicies = route53.RecordLatencyRoutingPolicyArray{
					route53.RecordLatencyRoutingPolicyArgs{Region: pulumi.String(ep.Region)}}
			}
		}
		recName := fmt.Sprintf("%s-%s-record", name, naming.RegionCode(ep.Region))
		if _, err := route53.NewRecord(ctx, recName, rec, parent); err != nil {
			return nil, err
		}
	}

	rt.FQDN = pulumi.String(a.Hostname).ToStringOutput()
	rt.HealthCheckIDs = checks.ToStringMapOutput()
	if err := ctx.RegisterResourceOutputs(rt, pulumi.Map{
		"fqdn":           rt.FQDN,
		"healthCheckIds": rt.HealthCheckIDs,
	}); err != nil {
		return nil, err
	}
	return rt, nil
}
