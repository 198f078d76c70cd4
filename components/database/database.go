// Package database builds the relational store: an Aurora PostgreSQL
// cluster over exactly three AZs with a writer and readers in distinct AZs,
// storage, Performance Insights and the RDS-managed master password
// encrypted with a KMS key of its own, the application role's secret
// (AppRoleName; the role itself is the migrate step's), TLS enforced, its log group with a
// retention, and 5432 open only to the client security group it is given
// (the auth pods').
// Provisioned instances or Serverless v2.
package database

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/datastore"
	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/components/timewindow"
)

// Engine is the only engine this component deploys.
const Engine = "aurora-postgresql"

// Defaults and limits.
const (
	// DefaultMajor is the Aurora PostgreSQL major a stack runs unless it
	// pins a version. A major alone is resolved at deploy time to the newest
	// minor RDS offers (stacks/preflight.go, rds.GetEngineVersion): minors
	// are retired about a year after release, so a pinned default goes
	// stale. 16: the major the stack was built and tested on; moving a
	// cluster to 17 is a major upgrade, chosen deliberately, not by default.
	DefaultMajor          = "16"
	DefaultInstanceClass  = "db.r7g.large"
	ServerlessClass       = "db.serverless"
	DefaultDatabaseName   = "auth"
	DefaultMasterUsername = "authadmin"
	Port                  = 5432
	// ZoneCount is what RDS fills in when given fewer; anything else makes
	// every later preview want to replace the cluster.
	ZoneCount              = 3
	DefaultReaders         = 1
	MaxReaders             = 15
	DefaultBackupRetention = 7
	MinBackupRetention     = 7 // our floor; AWS allows 1
	MaxBackupRetention     = 35
	MinWindowMinutes       = 30
	DefaultPIRetention     = 7
	MinServerlessACU       = 0.5 // 0 would auto-pause: cold logins
	MaxServerlessACU       = 256
	// MinMajor is the project's floor, not a list of what AWS offers: which
	// majors a region offers (18 on 2026-12-07, and any later one) is
	// decided by the preflight's rds.GetEngineVersion (stacks/preflight.go),
	// so no upper bound here goes stale.
	MinMajor = 13
)

var (
	versionPattern  = regexp.MustCompile(`^(\d+)\.(\d+)$`)
	majorPattern    = regexp.MustCompile(`^(\d+)$`)
	classPattern    = regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`)
	identPattern    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,62}$`)
	reservedDBNames = map[string]bool{"postgres": true, "template0": true, "template1": true, "rdsadmin": true}
	reservedUsers   = map[string]bool{"rdsadmin": true, "rdsrepladmin": true, "rds_superuser": true, "rds_iam": true, "user": true, "public": true}
)

// Serverless configures Aurora Serverless v2 capacity in ACUs.
type Serverless struct {
	// MinACU, 0.5-256 in 0.5 steps.
	MinACU float64
	// MaxACU, at least MinACU and 1, at most 256, in 0.5 steps.
	MaxACU float64
}

// Args configures a Database.
type Args struct {
	// EngineVersion is the exact "major.minor" RDS is given, e.g. "16.9".
	// Required: minors are retired, so no default stays creatable; stacks
	// resolve a configured major with rds.GetEngineVersion first.
	EngineVersion string
	// InstanceClass of provisioned instances. Default "db.r7g.large".
	// Ignored with Serverless.
	InstanceClass string
	// Serverless switches every instance to Serverless v2 with this
	// capacity. Default nil: provisioned instances.
	Serverless *Serverless
	// Readers besides the writer, 1-15; they spread over the zones after the
	// writer's. Default 1.
	Readers int
	// AvailabilityZones are exactly three zones of the region; the writer
	// goes in the first. Required.
	AvailabilityZones []string
	// DatabaseName is created at launch. Default "auth".
	DatabaseName string
	// MasterUsername; its password is generated and rotated by RDS in
	// Secrets Manager. Default "authadmin".
	MasterUsername string
	// BackupRetentionDays, 7-35. Default 7.
	BackupRetentionDays int
	// BackupWindow "hh24:mi-hh24:mi" UTC, at least 30 minutes, and
	// MaintenanceWindow "ddd:hh24:mi-ddd:hh24:mi" UTC, at least 30 minutes;
	// they must not overlap. Default "": RDS picks.
	BackupWindow      string
	MaintenanceWindow string
	// PerformanceInsightsRetentionDays: 7, 731 or a multiple of 31.
	// Default 7 (free tier).
	PerformanceInsightsRetentionDays int
	// DeletionProtection makes AWS refuse to delete the cluster. Default
	// false.
	DeletionProtection bool
	// FinalSnapshot takes a snapshot when the cluster is deleted, and keeps
	// the cluster's KMS key (unless Global brings one) when the stack is
	// destroyed, so that the snapshot stays readable. Default false:
	// `pulumi destroy` skips it, which is what makes a dev stack removable
	// (RDS otherwise demands a snapshot identifier).
	FinalSnapshot bool
	// VpcID, SubnetIDs (private) and ClientSecurityGroupID (the only source
	// admitted on 5432, the auth pods' security group). Required.
	VpcID                 pulumi.StringInput
	SubnetIDs             pulumi.StringArrayInput
	ClientSecurityGroupID pulumi.StringInput
	// Global makes the cluster a member of an Aurora Global Database.
	// Default nil: a standalone cluster with an RDS-managed master password.
	Global *GlobalMember
	// Protect guards the cluster, its instances and key against
	// `pulumi destroy`. Default false.
	Protect bool
	// Namer and Tags name and tag the AWS objects. Required.
	Namer naming.Namer
	Tags  naming.Tags
	// LogRetentionDays of the exported PostgreSQL log group. Default
	// DefaultLogRetentionDays (90).
	LogRetentionDays int
}

// Database is the Aurora component.
type Database struct {
	pulumi.ResourceState

	WriterEndpoint pulumi.StringOutput `pulumi:"writerEndpoint"`
	ReaderEndpoint pulumi.StringOutput `pulumi:"readerEndpoint"`
	Port           pulumi.IntOutput    `pulumi:"port"`
	// SecretArn is the RDS-managed secret with the master credentials
	// (the migrate step's).
	SecretArn pulumi.StringOutput `pulumi:"secretArn"`
	// AppSecretArn is the application role's secret (AppRoleName), which
	// the serving pods read; empty for a global member, whose pods keep
	// the master secret (the role would have to be made in the primary's
	// region and its secret replicated: not done yet).
	AppSecretArn pulumi.StringOutput `pulumi:"appSecretArn"`
	// HasAppRole tells whether AppSecretArn is set (a standalone cluster).
	HasAppRole        bool
	ClusterIdentifier pulumi.StringOutput `pulumi:"clusterIdentifier"`
	// ClusterResourceID goes into rds-db:connect policies for IAM auth.
	ClusterResourceID pulumi.StringOutput `pulumi:"clusterResourceId"`
	SecurityGroupID   pulumi.StringOutput `pulumi:"securityGroupId"`
	KmsKeyArn         pulumi.StringOutput `pulumi:"kmsKeyArn"`
	// AppEndpoint is where the application sends its reads and writes: an
	// endpoint that is active for this cluster's role. It is the writer
	// endpoint, except in a global member that is not the writer now
	// (GlobalMember.Writer): that cluster has no writer, its writer
	// endpoint is "inactive" and does not resolve, so it is the reader
	// endpoint, which forwards writes to the writer
	// (EnableGlobalWriteForwarding).
	AppEndpoint pulumi.StringOutput `pulumi:"appEndpoint"`
	// Instances are the writer first, then the readers.
	Instances []*rds.ClusterInstance
	// Writer is the first instance: a global secondary must wait for it.
	Writer *rds.ClusterInstance
}

// GlobalMember joins the cluster to an Aurora Global Database. Managed
// master passwords are not supported there, so the master password is
// explicit and its secret is kept by the caller (replicated to every
// region).
type GlobalMember struct {
	// GlobalClusterIdentifier of the rds.GlobalCluster. Required.
	GlobalClusterIdentifier pulumi.StringInput
	// Primary is the one writable member; it alone carries the database
	// name and master credentials. Secondaries must omit them (AWS: "Cannot
	// specify user name for cross region replication cluster").
	Primary bool
	// Writer is the member that is the global database's writer now: the
	// primary until a switchover or failover promotes another member
	// (stacks: globalPrimaryRegion). It decides only AppEndpoint, never the
	// cluster's arguments, so moving it changes nothing stateful. Default
	// false.
	Writer bool
	// MasterPassword, a Pulumi secret. Required for the primary only.
	MasterPassword pulumi.StringInput
	// SecretArn is this region's copy of the credentials secret. Required.
	SecretArn pulumi.StringInput
	// KmsKeyArn is a key of this member's region: an encrypted global
	// database needs one per region, and the secret replica uses it too.
	// Required.
	KmsKeyArn pulumi.StringInput
	// After holds back a secondary until the primary's writer instance
	// exists; a secondary created before it fails with "MasterUsername must
	// be provided". Required for secondaries.
	After []pulumi.Resource
}

// MajorVersion returns the major of "major.minor" and checks the range.
func MajorVersion(version string) (int, error) {
	m := versionPattern.FindStringSubmatch(version)
	if m == nil {
		return 0, fmt.Errorf("want major.minor, e.g. 16.9")
	}
	return checkMajor(m[1])
}

// ConfigMajor returns the major of a configured version: a major alone
// ("16", resolved to its newest minor at deploy time) or a pinned
// major.minor ("16.9").
func ConfigMajor(version string) (int, error) {
	if m := majorPattern.FindStringSubmatch(version); m != nil {
		return checkMajor(m[1])
	}
	if versionPattern.MatchString(version) {
		return MajorVersion(version)
	}
	return 0, fmt.Errorf("want a major such as %s (its newest minor is used) or a pinned major.minor such as 16.9", DefaultMajor)
}

// IsMajorOnly reports whether a configured version names only a major.
func IsMajorOnly(version string) bool { return majorPattern.MatchString(version) }

// ParameterFamily is the parameter group family of a major.
func ParameterFamily(major int) string { return fmt.Sprintf("%s%d", Engine, major) }

func checkMajor(s string) (int, error) {
	major, _ := strconv.Atoi(s)
	if major < MinMajor {
		return 0, fmt.Errorf("Aurora PostgreSQL majors %d and later are supported (which of them RDS offers is looked up)", MinMajor)
	}
	return major, nil
}

// ValidInstanceClass reports whether class looks like "db.r7g.large".
func ValidInstanceClass(class string) bool { return classPattern.MatchString(class) }

// ValidPIRetention reports whether Performance Insights accepts the days.
func ValidPIRetention(days int) bool {
	return days == 7 || days == 731 || (days > 0 && days%31 == 0 && days/31 <= 23)
}

// ValidACU reports whether v is a capacity Serverless v2 accepts here.
func ValidACU(v float64) bool {
	return v >= MinServerlessACU && v <= MaxServerlessACU && math.Mod(v*2, 1) == 0
}

// CheckIdentifier validates a database or user name.
func CheckIdentifier(kind, v string) error {
	if !identPattern.MatchString(v) {
		return fmt.Errorf("%s must be 1-63 letters, digits or _, starting with a letter", kind)
	}
	lv := strings.ToLower(v)
	if (kind == "database name" && reservedDBNames[lv]) || (kind == "master username" && reservedUsers[lv]) {
		return fmt.Errorf("%s %q is reserved", kind, v)
	}
	return nil
}

// InstanceZones places the writer in the first zone and the readers round
// robin over the others first, so the first two readers never share a zone
// with the writer or each other.
func InstanceZones(zones []string, readers int) []string {
	out := make([]string, 0, readers+1)
	for i := 0; i <= readers; i++ {
		out = append(out, zones[i%len(zones)])
	}
	return out
}

// NewDatabase creates the cluster, its instances and what they need.
func NewDatabase(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Database, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	major, _ := MajorVersion(a.EngineVersion)
	family := ParameterFamily(major)

	d := &Database{}
	if err := ctx.RegisterComponentResource("authplatform:database:Database", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	// Only state that cannot be recreated is protected (see cache).
	keep := pulumi.Protect(a.Protect)
	tags := func(objName string) pulumi.StringMap { return pulumi.ToStringMap(a.Tags.WithName(objName)) }

	// A global member's key is made with the global database: the
	// replicated secret needs it first.
	var keyArn pulumi.StringOutput
	keyName, keyDescription := a.Namer.Name("db"), "Aurora storage, Performance Insights and master secret for "+a.Namer.Prefix()
	switch {
	case a.Global != nil:
		keyArn = a.Global.KmsKeyArn.ToStringOutput()
	case a.FinalSnapshot:
		// The final snapshot is encrypted with this key: it must outlive
		// the cluster, or the snapshot is unreadable once the key's
		// deletion window ends.
		key, err := datastore.NewKeptKey(ctx, d, keyName, keyDescription, a.Tags, a.Protect)
		if err != nil {
			return nil, err
		}
		keyArn = key.Arn
	default:
		if keyArn, err = datastore.KeyArn(ctx, d, nil, keyName, keyDescription, a.Tags, a.Protect); err != nil {
			return nil, err
		}
	}
	sg, err := datastore.NewClientOnlySecurityGroup(ctx, d, a.Namer.Name("db"), datastore.ClientOnlyArgs{
		Description:           "Aurora " + a.Namer.Prefix() + ": 5432 from the auth pods only",
		RuleDescription:       "PostgreSQL from the auth pods",
		VpcID:                 a.VpcID,
		ClientSecurityGroupID: a.ClientSecurityGroupID,
		Port:                  Port,
		Tags:                  a.Tags,
	})
	if err != nil {
		return nil, err
	}

	subnets, err := rds.NewSubnetGroup(ctx, a.Namer.Name("db"), &rds.SubnetGroupArgs{
		Description: pulumi.String("Private subnets of " + a.Namer.Prefix()),
		SubnetIds:   a.SubnetIDs,
		Tags:        tags(a.Namer.Name("db")),
	}, parent)
	if err != nil {
		return nil, err
	}

	// The default group lets clients connect without TLS.
	params, err := rds.NewClusterParameterGroup(ctx, a.Namer.Name("db", family), &rds.ClusterParameterGroupArgs{
		Family:      pulumi.String(family),
		Description: pulumi.String("TLS-only connections for " + a.Namer.Prefix()),
		Parameters: rds.ClusterParameterGroupParameterArray{
			rds.ClusterParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1"), ApplyMethod: pulumi.String("immediate")},
		},
		Tags: tags(a.Namer.Name("db", family)),
	}, parent)
	if err != nil {
		return nil, err
	}

	clusterArgs := &rds.ClusterArgs{
		Engine:        pulumi.String(Engine),
		EngineVersion: pulumi.String(a.EngineVersion),
		// Serverless v2 runs in provisioned mode too.
		EngineMode:                  pulumi.String("provisioned"),
		AvailabilityZones:           pulumi.ToStringArray(a.AvailabilityZones),
		StorageEncrypted:            pulumi.Bool(true),
		KmsKeyId:                    keyArn,
		DbSubnetGroupName:           subnets.Name,
		VpcSecurityGroupIds:         pulumi.StringArray{sg.ID()},
		DbClusterParameterGroupName: params.Name,
		Port:                        pulumi.Int(Port),
		// Off: the service signs in with the password from its Secrets
		// Manager secret and its role has no rds-db:connect, so IAM
		// authentication would only be one more way in.
		IamDatabaseAuthenticationEnabled: pulumi.Bool(false),
		BackupRetentionPeriod:            pulumi.Int(a.BackupRetentionDays),
		CopyTagsToSnapshot:               pulumi.Bool(true),
		EnabledCloudwatchLogsExports:     pulumi.StringArray{pulumi.String("postgresql")},
		DeletionProtection:               pulumi.Bool(a.DeletionProtection),
		SkipFinalSnapshot:                pulumi.Bool(!a.FinalSnapshot),
		// Deletion protection is lifted on destroy only when applied at once.
		ApplyImmediately: pulumi.Bool(true),
		Tags:             tags(a.Namer.Name("aurora")),
	}
	clusterOpts := []pulumi.ResourceOption{parent, keep,
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "120m", Update: "120m", Delete: "120m"})}
	switch g := a.Global; {
	case g == nil:
		clusterArgs.DatabaseName = pulumi.String(a.DatabaseName)
		clusterArgs.MasterUsername = pulumi.String(a.MasterUsername)
		clusterArgs.ManageMasterUserPassword = pulumi.Bool(true)
		clusterArgs.MasterUserSecretKmsKeyId = keyArn
	case g.Primary:
		clusterArgs.GlobalClusterIdentifier = g.GlobalClusterIdentifier
		clusterArgs.DatabaseName = pulumi.String(a.DatabaseName)
		clusterArgs.MasterUsername = pulumi.String(a.MasterUsername)
		clusterArgs.MasterPassword = g.MasterPassword
	default:
		// A secondary inherits the database, its users and their passwords
		// from the primary, and forwards writes to it until promoted.
		clusterArgs.GlobalClusterIdentifier = g.GlobalClusterIdentifier
		// Its data lives in the primary; a final snapshot would duplicate it.
		a.FinalSnapshot = false
		clusterArgs.SkipFinalSnapshot = pulumi.Bool(true)
		clusterOpts = append(clusterOpts, pulumi.DependsOn(g.After))
	}
	if a.Global != nil {
		// Every member forwards writes while it is a secondary: the created
		// secondaries from the start, the primary once a switchover or
		// failover demotes it ("For the primary DB cluster of an Aurora
		// global database, this value is used immediately if the primary is
		// demoted by a global cluster API operation, but it does nothing
		// until then", RDS API, CreateDBCluster/ModifyDBCluster
		// EnableGlobalWriteForwarding). Its pods then keep writing through
		// its reader endpoint.
		clusterArgs.EnableGlobalWriteForwarding = pulumi.Bool(true)
		// The global cluster upgrades its members, and a promotion rewrites
		// replication source and membership outside Pulumi.
		clusterOpts = append(clusterOpts, pulumi.IgnoreChanges([]string{
			"engineVersion", "globalClusterIdentifier", "replicationSourceIdentifier"}))
	} else {
		// RDS upgrades minors itself (instances' auto minor version upgrade
		// is on), and a configured major resolves to a newer minor once one
		// is released: neither may turn into a "downgrade" diff.
		clusterOpts = append(clusterOpts, pulumi.IgnoreChanges([]string{"engineVersion"}))
	}
	if a.FinalSnapshot {
		// RDS keeps a final snapshot after the cluster is gone, so a fixed
		// name makes the next destroy of a recreated cluster fail
		// (DBClusterSnapshotAlreadyExistsFault). The suffix is drawn anew
		// whenever the stack's resources are created anew.
		suffix, err := random.NewRandomId(ctx, a.Namer.Name("aurora", "final"), &random.RandomIdArgs{
			ByteLength: pulumi.Int(FinalSnapshotSuffixBytes),
		}, parent)
		if err != nil {
			return nil, err
		}
		clusterArgs.FinalSnapshotIdentifier = pulumi.Sprintf("%s-%s",
			a.Namer.Limited(255-1-2*FinalSnapshotSuffixBytes, "aurora", "final"), suffix.Hex)
	}
	if a.BackupWindow != "" {
		clusterArgs.PreferredBackupWindow = pulumi.String(a.BackupWindow)
	}
	if a.MaintenanceWindow != "" {
		clusterArgs.PreferredMaintenanceWindow = pulumi.String(a.MaintenanceWindow)
	}
	class := a.InstanceClass
	if a.Serverless != nil {
		class = ServerlessClass
		clusterArgs.Serverlessv2ScalingConfiguration = &rds.ClusterServerlessv2ScalingConfigurationArgs{
			MinCapacity: pulumi.Float64(a.Serverless.MinACU),
			MaxCapacity: pulumi.Float64(a.Serverless.MaxACU),
		}
	}
	// A fixed identifier, so the log group RDS exports to can be created
	// before the cluster, with a retention (RDS would create it never
	// expiring, and leave it behind).
	clusterID := ClusterIdentifier(a.Namer)
	clusterArgs.ClusterIdentifier = pulumi.String(clusterID)
	logs, err := postgresLogGroup(ctx, a, clusterID, parent)
	if err != nil {
		return nil, err
	}
	clusterOpts = append(clusterOpts, pulumi.DependsOn([]pulumi.Resource{logs}))
	cluster, err := rds.NewCluster(ctx, a.Namer.Name("aurora"), clusterArgs, clusterOpts...)
	if err != nil {
		return nil, err
	}

	var writer pulumi.Resource
	for i, az := range InstanceZones(a.AvailabilityZones, a.Readers) {
		role := "writer"
		if i > 0 {
			role = fmt.Sprintf("reader-%d", i)
		}
		instOpts := []pulumi.ResourceOption{parent, keep,
			pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "90m", Update: "90m", Delete: "90m"})}
		if writer != nil {
			// The first instance becomes the writer; readers must not race it.
			instOpts = append(instOpts, pulumi.DependsOn([]pulumi.Resource{writer}))
		}
		inst, err := rds.NewClusterInstance(ctx, a.Namer.Name("aurora", role), &rds.ClusterInstanceArgs{
			ClusterIdentifier: cluster.ID(),
			Engine:            pulumi.String(Engine),
			EngineVersion:     cluster.EngineVersion,
			InstanceClass:     pulumi.String(class),
			AvailabilityZone:  pulumi.String(az),
			// Lowest tier is promoted first: the first reader takes over.
			PromotionTier:                      pulumi.Int(min(i, 15)),
			DbSubnetGroupName:                  subnets.Name,
			PubliclyAccessible:                 pulumi.Bool(false),
			PerformanceInsightsEnabled:         pulumi.Bool(true),
			PerformanceInsightsKmsKeyId:        keyArn,
			PerformanceInsightsRetentionPeriod: pulumi.Int(a.PerformanceInsightsRetentionDays),
			CopyTagsToSnapshot:                 pulumi.Bool(true),
			ApplyImmediately:                   pulumi.Bool(true),
			Tags:                               tags(a.Namer.Name("aurora", role)),
		}, instOpts...)
		if err != nil {
			return nil, err
		}
		if writer == nil {
			writer = inst
		}
		d.Instances = append(d.Instances, inst)
	}

	d.WriterEndpoint = cluster.Endpoint
	d.ReaderEndpoint = cluster.ReaderEndpoint
	d.AppEndpoint = cluster.Endpoint
	if a.Global != nil && !a.Global.Writer {
		// A member that is not the writer: its writer endpoint is inactive,
		// its reader endpoint forwards writes. Not the global writer
		// endpoint: it resolves to the writer's private address, which this
		// region's VPC has no route to (the regions' VPCs are not peered);
		// forwarded writes travel inside Aurora's replication instead.
		d.AppEndpoint = cluster.ReaderEndpoint
	}
	d.Port = cluster.Port
	if a.Global != nil {
		d.SecretArn = a.Global.SecretArn.ToStringOutput()
	} else {
		d.SecretArn = cluster.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()
	}
	d.AppSecretArn = pulumi.String("").ToStringOutput()
	if a.Global == nil {
		app, err := appSecret(ctx, a, keyArn, parent)
		if err != nil {
			return nil, err
		}
		d.AppSecretArn = app.Arn
		d.HasAppRole = true
	}
	d.ClusterIdentifier = cluster.ClusterIdentifier
	d.ClusterResourceID = cluster.ClusterResourceId
	d.SecurityGroupID = sg.ID().ToStringOutput()
	d.KmsKeyArn = keyArn
	d.Writer = d.Instances[0]
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"writerEndpoint":    d.WriterEndpoint,
		"readerEndpoint":    d.ReaderEndpoint,
		"appEndpoint":       d.AppEndpoint,
		"port":              d.Port,
		"secretArn":         d.SecretArn,
		"appSecretArn":      d.AppSecretArn,
		"clusterIdentifier": d.ClusterIdentifier,
		"clusterResourceId": d.ClusterResourceID,
		"securityGroupId":   d.SecurityGroupID,
		"kmsKeyArn":         d.KmsKeyArn,
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// withDefaults fills the defaults and returns every problem at once.
func (args *Args) withDefaults() (*Args, error) {
	if args == nil {
		return nil, fmt.Errorf("args are required")
	}
	a := *args
	if a.InstanceClass == "" {
		a.InstanceClass = DefaultInstanceClass
	}
	if a.Readers == 0 {
		a.Readers = DefaultReaders
	}
	if a.DatabaseName == "" {
		a.DatabaseName = DefaultDatabaseName
	}
	if a.MasterUsername == "" {
		a.MasterUsername = DefaultMasterUsername
	}
	if a.BackupRetentionDays == 0 {
		a.BackupRetentionDays = DefaultBackupRetention
	}
	if a.PerformanceInsightsRetentionDays == 0 {
		a.PerformanceInsightsRetentionDays = DefaultPIRetention
	}

	var problems []string
	add := func(format string, v ...interface{}) { problems = append(problems, fmt.Sprintf(format, v...)) }
	if a.EngineVersion == "" {
		add("EngineVersion is required (a major.minor that RDS offers, e.g. from rds.GetEngineVersion)")
	} else if _, err := MajorVersion(a.EngineVersion); err != nil {
		add("EngineVersion %q: %v", a.EngineVersion, err)
	}
	if a.Serverless == nil && !ValidInstanceClass(a.InstanceClass) {
		add("InstanceClass %q: not a class like db.r7g.large", a.InstanceClass)
	}
	if s := a.Serverless; s != nil {
		if !ValidACU(s.MinACU) {
			add("Serverless.MinACU %v: want %v-%d in 0.5 steps", s.MinACU, MinServerlessACU, MaxServerlessACU)
		}
		if !ValidACU(s.MaxACU) || s.MaxACU < 1 || s.MaxACU < s.MinACU {
			add("Serverless.MaxACU %v: want at least 1 and MinACU, at most %d, in 0.5 steps", s.MaxACU, MaxServerlessACU)
		}
	}
	if a.Readers < 1 || a.Readers > MaxReaders {
		add("Readers is %d, want 1-%d", a.Readers, MaxReaders)
	}
	if len(a.AvailabilityZones) != ZoneCount {
		add("AvailabilityZones has %d zones, want exactly %d", len(a.AvailabilityZones), ZoneCount)
	}
	if err := CheckIdentifier("database name", a.DatabaseName); err != nil {
		add("DatabaseName: %v", err)
	}
	if err := CheckIdentifier("master username", a.MasterUsername); err != nil {
		add("MasterUsername: %v", err)
	}
	if a.BackupRetentionDays < MinBackupRetention || a.BackupRetentionDays > MaxBackupRetention {
		add("BackupRetentionDays is %d, want %d-%d", a.BackupRetentionDays, MinBackupRetention, MaxBackupRetention)
	}
	if !ValidPIRetention(a.PerformanceInsightsRetentionDays) {
		add("PerformanceInsightsRetentionDays is %d, want 7, 731 or a multiple of 31", a.PerformanceInsightsRetentionDays)
	}
	var backup *timewindow.Daily
	if a.BackupWindow != "" {
		if w, err := timewindow.ParseDaily(a.BackupWindow); err != nil {
			add("BackupWindow %q: %v", a.BackupWindow, err)
		} else if w.Minutes() < MinWindowMinutes {
			add("BackupWindow %q is shorter than %d minutes", a.BackupWindow, MinWindowMinutes)
		} else {
			backup = &w
		}
	}
	if a.MaintenanceWindow != "" {
		if w, err := timewindow.ParseWeekly(a.MaintenanceWindow); err != nil {
			add("MaintenanceWindow %q: %v", a.MaintenanceWindow, err)
		} else if w.Minutes() < MinWindowMinutes {
			add("MaintenanceWindow %q is shorter than %d minutes", a.MaintenanceWindow, MinWindowMinutes)
		} else if backup != nil && timewindow.Overlaps(*backup, w) {
			add("BackupWindow %q overlaps MaintenanceWindow %q", a.BackupWindow, a.MaintenanceWindow)
		}
	}
	if a.VpcID == nil || a.SubnetIDs == nil || a.ClientSecurityGroupID == nil {
		add("VpcID, SubnetIDs and ClientSecurityGroupID are required")
	}
	if a.Namer.App == "" {
		add("Namer is required")
	}
	if g := a.Global; g != nil {
		if g.GlobalClusterIdentifier == nil || g.SecretArn == nil || g.KmsKeyArn == nil {
			add("Global needs GlobalClusterIdentifier, SecretArn and KmsKeyArn")
		}
		if g.Primary && g.MasterPassword == nil {
			add("the global primary needs MasterPassword: managed master passwords are not supported in global databases")
		}
		if !g.Primary && len(g.After) == 0 {
			add("a global secondary must wait for the primary's writer instance (Global.After)")
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return &a, nil
}
