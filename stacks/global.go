package stacks

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cache"
	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/components/globaldata"
	"github.com/authplatform/auth-platform/components/globalrouting"
	"github.com/authplatform/auth-platform/components/naming"
)

// GlobalNamer names what spans the regions ("<app>-<stack>-global-...").
func GlobalNamer(cfg *Config) naming.Namer {
	return naming.Namer{App: cfg.App, Env: cfg.Environment, Region: "global", Stack: cfg.Stack}
}

// deployGlobal builds every region of a multi-region stack, primary first,
// and what joins them: the Aurora Global Database, the ElastiCache Global
// Datastore and Route 53 routing. The order is AWS's: the global cluster
// before the primary cluster, the primary's writer before any secondary
// cluster, the primary's replication group before the datastore, the
// datastore before secondary groups.
func deployGlobal(ctx *pulumi.Context, cfg *Config) (Exports, error) {
	primary := cfg.Regions[0]
	global := GlobalNamer(primary)
	tags := naming.BaseTags(primary.Project, primary.Stack, global)

	members := make([]globaldata.Region, len(cfg.Regions))
	for i, rc := range cfg.Regions {
		provider, err := NewRegionProvider(ctx, rc)
		if err != nil {
			return nil, err
		}
		members[i] = globaldata.Region{Name: rc.Region, Provider: provider}
	}
	providers := make([]*aws.Provider, len(members))
	for i, m := range members {
		providers[i] = m.Provider
	}
	if err := preflight(ctx, cfg.Regions, providers); err != nil {
		return nil, err
	}
	zonesOf, err := resolveAllZones(ctx, cfg.Regions, members)
	if err != nil {
		return nil, err
	}

	db, err := globaldata.NewDatabase(ctx, global.Name("db"), &globaldata.DatabaseArgs{
		Regions:            members,
		EngineVersion:      primary.Database.EngineVersion,
		DatabaseName:       primary.Database.Name,
		MasterUsername:     primary.Database.MasterUsername,
		DeletionProtection: primary.Teardown.DeletionProtection,
		FinalSnapshot:      primary.Teardown.FinalSnapshot,
		Protect:            primary.Teardown.Protect,
		Namer:              global,
		Regional:           func(region string) naming.Namer { return RegionNamer(primary, region) },
		Tags:               tags,
	})
	if err != nil {
		return nil, err
	}

	regions := make([]*Region, len(cfg.Regions))
	var datastore *globaldata.Datastore
	for i, rc := range cfg.Regions {
		m := &Member{
			Provider: members[i].Provider,
			Zones:    zonesOf[i],
			Database: &database.GlobalMember{
				GlobalClusterIdentifier: db.GlobalClusterID,
				Primary:                 i == 0,
				Writer:                  rc.GlobalWriter,
				SecretArn:               db.SecretArns[rc.Region],
				KmsKeyArn:               db.KmsKeyArns[rc.Region],
			},
		}
		if i == 0 {
			m.Database.MasterPassword = db.MasterPassword
			m.CachePrimary = true
		} else {
			m.Database.After = []pulumi.Resource{regions[0].Database.Writer}
			m.CacheSecondary = &cache.GlobalSecondary{
				GlobalReplicationGroupID: datastore.GlobalReplicationGroupID,
				AuthToken:                regions[0].Cache.AuthToken,
			}
		}
		if regions[i], err = NewRegion(ctx, rc, m); err != nil {
			return nil, err
		}
		if i == 0 {
			datastore, err = globaldata.NewDatastore(ctx, global.Name("cache"), &globaldata.DatastoreArgs{
				PrimaryReplicationGroupID: regions[0].Cache.ReplicationGroupID,
				Namer:                     global,
			}, pulumi.Providers(members[0].Provider))
			if err != nil {
				return nil, err
			}
		}
	}

	endpoints := make([]globalrouting.Endpoint, len(regions))
	for i, r := range regions {
		endpoints[i] = globalrouting.Endpoint{
			Region: r.Name, DNSName: r.Ingress.DNSName, ZoneID: r.Ingress.ZoneID, HTTPS: r.Ingress.HTTPS,
		}
	}
	routing, err := globalrouting.NewRouting(ctx, global.Name("dns"), &globalrouting.Args{
		ZoneID:           primary.DNS.ZoneID,
		Hostname:         primary.DNS.Hostname,
		Policy:           primary.DNS.Policy,
		Endpoints:        endpoints,
		IntervalSeconds:  primary.DNS.IntervalSeconds,
		FailureThreshold: primary.DNS.FailureThreshold,
		CheckerRegions:   primary.DNS.CheckerRegions,
		Namer:            global,
		Tags:             tags,
	}, pulumi.Providers(members[0].Provider))
	if err != nil {
		return nil, err
	}

	// Kubeconfigs apart: a secret inside the map would hide every region's
	// outputs behind "[secret]".
	perRegion, kubeconfigs := pulumi.Map{}, pulumi.Map{}
	for i, r := range regions {
		out := pulumi.Map{}
		for k, v := range regionExports(cfg.Regions[i], r) {
			if k == "kubeconfig" {
				kubeconfigs[r.Name] = v
				continue
			}
			out[k] = v
		}
		perRegion[r.Name] = out
	}
	return Exports{
		"primaryRegion":            pulumi.String(primary.Region).ToStringOutput(),
		"authHostname":             routing.FQDN,
		"healthCheckIds":           routing.HealthCheckIDs,
		"globalClusterId":          db.GlobalClusterID,
		"globalReplicationGroupId": datastore.GlobalReplicationGroupID,
		"regions":                  perRegion.ToMapOutput(),
		"kubeconfigs":              pulumi.ToSecret(kubeconfigs.ToMapOutput()),
	}, nil
}
