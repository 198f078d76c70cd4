// Package stacks composes the components into the platform variants and
// holds the per-stack configuration (Pulumi.<stack>.yaml beside this file).
package stacks

import (
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/alarms"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/cache"
	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/components/globalrouting"
	"github.com/authplatform/auth-platform/components/image"
	"github.com/authplatform/auth-platform/components/ingress"
	"github.com/authplatform/auth-platform/components/lbcontroller"
	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/components/network"
	"github.com/authplatform/auth-platform/components/podsecurity"
	"github.com/authplatform/auth-platform/components/servicelogs"
	"github.com/authplatform/auth-platform/components/zones"
)

// Exports are the stack outputs by name.
type Exports map[string]pulumi.Output

// Program is what `pulumi up` runs: read and validate the configuration,
// then build the platform and export its outputs.
func Program(ctx *pulumi.Context) error {
	_, err := Run(ctx)
	return err
}

// Run is Program returning the exports too, for the offline plan.
func Run(ctx *pulumi.Context) (Exports, error) {
	exports, _, err := RunReport(ctx)
	return exports, err
}

// RunReport is Run returning the preflight's warnings too (values AWS
// accepts but that cost or age badly, e.g. a Kubernetes version in extended
// support); the engine shows them as warnings, the offline plan on stderr.
func RunReport(ctx *pulumi.Context) (Exports, []string, error) {
	cfg, err := Load(ctx.Project(), ctx.Stack(), ContextSource(ctx))
	if err != nil {
		return nil, nil, err
	}
	exports, err := Deploy(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	warnings := cfg.Warnings
	for _, rc := range cfg.Regions {
		if rc != cfg {
			warnings = append(warnings, rc.Warnings...)
		}
	}
	for _, w := range warnings {
		_ = ctx.Log.Warn(w, nil)
	}
	names := make([]string, 0, len(exports))
	for name := range exports {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ctx.Export(name, exports[name])
	}
	return exports, warnings, nil
}

// Deploy builds the platform for a validated configuration: one region, or
// every region of a multi-region stack and what joins them.
func Deploy(ctx *pulumi.Context, cfg *Config) (Exports, error) {
	if cfg.MultiRegion() {
		return deployGlobal(ctx, cfg)
	}
	region, err := NewRegion(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	exports := regionExports(cfg, region)
	if cfg.DNS.Hostname != "" {
		routing, err := globalrouting.NewRouting(ctx, region.Namer.Name("dns"), &globalrouting.Args{
			ZoneID:   cfg.DNS.ZoneID,
			Hostname: cfg.DNS.Hostname,
			Policy:   globalrouting.PolicySimple,
			Endpoints: []globalrouting.Endpoint{{
				Region: cfg.Region, DNSName: region.Ingress.DNSName, ZoneID: region.Ingress.ZoneID,
				HTTPS: region.Ingress.HTTPS,
			}},
			Namer: region.Namer,
			Tags:  region.Tags,
		}, pulumi.Providers(region.Provider))
		if err != nil {
			return nil, err
		}
		exports["authHostname"] = routing.FQDN
	}
	return exports, nil
}

// regionExports are the outputs of one regional platform.
func regionExports(cfg *Config, region *Region) Exports {
	return Exports{
		"region":              pulumi.String(cfg.Region).ToStringOutput(),
		"vpcId":               region.Network.VpcID,
		"publicSubnetIds":     region.Network.PublicSubnetIDs,
		"privateSubnetIds":    region.Network.PrivateSubnetIDs,
		"availabilityZoneIds": pulumi.ToStringArray(region.ZoneIDs).ToStringArrayOutput(),
		"clusterName":         region.Cluster.ClusterName,
		"clusterEndpoint":     region.Cluster.Endpoint,
		"oidcProviderArn":     region.Cluster.OIDCProviderARN,
		"kubeconfig":          region.Cluster.Kubeconfig,
		"lbControllerRoleArn": region.LBController.RoleARN,
		"lbControllerRelease": region.LBController.ReleaseStatus,

		"cacheConfigurationEndpoint": region.Cache.ConfigurationEndpoint,
		"cachePort":                  region.Cache.Port,
		"cacheAuthSecretArn":         region.Cache.AuthSecretArn,
		"dbWriterEndpoint":           region.Database.WriterEndpoint,
		"dbReaderEndpoint":           region.Database.ReaderEndpoint,
		"dbPort":                     region.Database.Port,
		"dbSecretArn":                region.Database.SecretArn,

		"authUrl":             region.Ingress.URL,
		"albDnsName":          region.Ingress.DNSName,
		"albZoneId":           region.Ingress.ZoneID,
		"targetGroupArn":      region.Ingress.TargetGroupArn,
		"authNamespace":       region.Auth.Namespace,
		"authRoleArn":         region.Auth.RoleArn,
		"alarmTopicArn":       region.Alarms.TopicArn,
		"deregistrationDelay": pulumi.Int(cfg.Service.Timing.DeregistrationDelaySeconds).ToIntOutput(),
		"preStopSleepSeconds": pulumi.Int(cfg.Service.Timing.PreStopSleepSeconds).ToIntOutput(),
		"gracePeriodSeconds":  pulumi.Int(cfg.Service.Timing.TerminationGracePeriodSeconds).ToIntOutput(),
	}
}

// Region is one regional platform: network, cluster, load-balancer
// controller and data tier, all through one explicit AWS provider.
type Region struct {
	Name         string
	ZoneIDs      []string // the zones' IDs, in the order of Network.AvailabilityZones
	Namer        naming.Namer
	Tags         naming.Tags
	Provider     *aws.Provider
	Network      *network.Network
	Cluster      *cluster.Cluster
	LBController *lbcontroller.Controller
	Cache        *cache.Cache
	Database     *database.Database
	Ingress      *ingress.Ingress
	Auth         *authservice.Service
	Alarms       *alarms.Alarms
	// ServiceLogs routes the auth pods' output to CloudWatch Logs.
	ServiceLogs *servicelogs.Logs
	// Image is the auth image the stack builds; nil when authImage brings
	// one.
	Image    *image.Image
	Defenses *Defenses

	member *Member

	// PodSecurity is the auth pods' own security group (issue 15).
	PodSecurity *podsecurity.Group
}

// Member makes a region part of a multi-region stack.
type Member struct {
	// Provider of the region, created before the global resources that
	// need it. Required.
	Provider *aws.Provider
	// Zones of the region, resolved for every region before any is built
	// (issue 11). Required.
	Zones []zones.Zone
	// Database joins the Aurora Global Database. Required.
	Database *database.GlobalMember
	// CachePrimary marks the group a Global Datastore is built from;
	// CacheSecondary joins one.
	CachePrimary   bool
	CacheSecondary *cache.GlobalSecondary
}

// RegionNamer names the resources of one region of the stack; the stack
// name is in every name, so stacks sharing an account and region never
// collide.
func RegionNamer(cfg *Config, region string) naming.Namer {
	return naming.Namer{App: cfg.App, Env: cfg.Environment, Region: region, Stack: cfg.Stack}
}

// NewRegionProvider is the explicit provider of one region: nothing depends
// on the ambient AWS_REGION of whoever runs `pulumi up`.
func NewRegionProvider(ctx *pulumi.Context, cfg *Config) (*aws.Provider, error) {
	// The stack's aws: settings (profile, allowed accounts, assumed role,
	// ...) go to every explicit provider: an explicit provider reads none
	// of them by itself.
	return aws.NewProvider(ctx, RegionNamer(cfg, cfg.Region).Name("aws"), cfg.AWS.providerArgs(cfg.Region))
}

// NewRegion builds the regional platform for cfg.Region; member is nil for
// a single-region stack.
func NewRegion(ctx *pulumi.Context, cfg *Config, member *Member) (*Region, error) {
	namer := RegionNamer(cfg, cfg.Region)
	r := &Region{
		Name:   cfg.Region,
		Namer:  namer,
		Tags:   naming.BaseTags(cfg.Project, cfg.Stack, namer),
		member: member,
	}
	var err error
	if member != nil {
		r.Provider = member.Provider
	} else {
		if r.Provider, err = NewRegionProvider(ctx, cfg); err != nil {
			return nil, err
		}
		// Nothing but the provider is registered until AWS has confirmed
		// the values it must offer.
		if err := preflight(ctx, []*Config{cfg}, []*aws.Provider{r.Provider}); err != nil {
			return nil, err
		}
	}
	awsOnly := pulumi.Providers(r.Provider)

	var zs []zones.Zone
	if member != nil {
		zs = member.Zones
	} else if zs, err = resolveZones(ctx, cfg, r.Provider); err != nil {
		return nil, err
	}
	r.ZoneIDs = zoneIDs(zs)
	clusterName := namer.Prefix()

	r.Network, err = network.NewNetwork(ctx, namer.Name("network"), &network.Args{
		CIDR:              cfg.VpcCIDR,
		AvailabilityZones: zoneNames(zs),
		SingleNatGateway:  cfg.SingleNatGateway,
		ClusterName:       clusterName,
		Protect:           cfg.Teardown.Protect,
		Namer:             namer,
		Tags:              r.Tags,
	}, awsOnly)
	if err != nil {
		return nil, err
	}

	lbcProfile := lbcontroller.FargateProfile(lbcontroller.DefaultNamespace)
	r.Cluster, err = cluster.NewCluster(ctx, namer.Name("cluster"), &cluster.Args{
		Name:                  clusterName,
		Version:               cfg.KubernetesVersion,
		Region:                cfg.Region,
		VpcID:                 r.Network.VpcID,
		PrivateSubnetIDs:      r.Network.PrivateSubnetIDs,
		PublicSubnetIDs:       r.Network.PublicSubnetIDs,
		EndpointPrivateAccess: cfg.EndpointPrivateAccess,
		EndpointPublicAccess:  cfg.EndpointPublicAccess,
		PublicAccessCIDRs:     cfg.PublicAccessCIDRs,
		LogTypes:              cfg.ClusterLogTypes,
		Access:                cfg.ClusterAccess,
		Signer:                cfg.AWS.Signer(),
		Profiles: workloadProfiles(cfg,
			r.Network.AvailabilityZones, r.Network.PrivateSubnetIDs),
		Provider: r.Provider,
		Protect:  cfg.Teardown.Protect,
		Namer:    namer,
		Tags:     r.Tags,
	})
	if err != nil {
		return nil, err
	}
	if w := creatorWarning(r, cfg, clusterName); w != "" {
		cfg.Warnings = append(cfg.Warnings, w)
	}

	r.PodSecurity, err = podsecurity.NewGroup(ctx, namer.Name("pod-security"), &podsecurity.Args{
		VpcID:       r.Network.VpcID,
		ClusterName: clusterName,
		Namer:       namer,
		Tags:        r.Tags,
	}, awsOnly)
	if err != nil {
		return nil, err
	}

	r.LBController, err = lbcontroller.NewController(ctx, namer.Name("lbc"), &lbcontroller.Args{
		ClusterName:     r.Cluster.ClusterName,
		Region:          cfg.Region,
		VpcID:           r.Network.VpcID,
		OIDCProviderARN: r.Cluster.OIDCProviderARN,
		OIDCIssuerURL:   r.Cluster.OIDCIssuerURL,
		Partition:       r.Cluster.Partition,
		WaitFor:         []pulumi.Resource{r.Cluster.Profile(lbcProfile.Name), r.Cluster.CoreDNS},
		Namer:           namer,
		Tags:            r.Tags,

		// The auth pods' ENIs carry two cluster-tagged groups; the ALB's
		// rule belongs on theirs.
		TargetENISecurityGroupTags: r.PodSecurity.TargetENITag,
	}, pulumi.Providers(r.Provider, r.Cluster.Provider))
	if err != nil {
		return nil, err
	}

	// Data tier: needs the private subnets and the auth pods' security group.
	if err := r.buildDataTier(ctx, cfg); err != nil {
		return nil, err
	}
	// The auth service: needs the data tier's endpoints and secrets.
	if err := r.buildService(ctx, cfg); err != nil {
		return nil, err
	}
	// WAF, flow logs, threat detection and signals: need the ALB and the
	// alarm topic.
	if err := r.buildDefenses(ctx, cfg); err != nil {
		return nil, err
	}
	return r, nil
}
