// Package globaldata holds what spans regions in the data tier: the Aurora
// Global Database (its global cluster, a KMS key per region, and an explicit
// master password kept in a Secrets Manager secret replicated to every
// region, since managed master passwords are not supported in global
// databases) and the ElastiCache Global Datastore built from the primary's
// replication group.
package globaldata

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/database"
	"github.com/authplatform/auth-platform/components/datastore"
	"github.com/authplatform/auth-platform/components/naming"
)

// Region is one member region and the provider that reaches it.
type Region struct {
	Name     string
	Provider *aws.Provider
}

// DatabaseArgs configures the global database's shared parts.
type DatabaseArgs struct {
	// Regions, primary first (at least two). Required.
	Regions []Region
	// EngineVersion, DatabaseName and MasterUsername as for a regional
	// database. Required.
	EngineVersion  string
	DatabaseName   string
	MasterUsername string
	// DeletionProtection on the global cluster (production). Default false.
	DeletionProtection bool
	// FinalSnapshot says the primary cluster keeps a final snapshot
	// (database.Args.FinalSnapshot): the primary region's key, which
	// encrypts it, then outlives the stack. Default false.
	FinalSnapshot bool
	// Protect guards the global cluster, keys, password and secret.
	Protect bool
	// Namer is the stack's global namer (Region "global"); Regional names
	// the per-region keys. Required.
	Namer    naming.Namer
	Regional func(region string) naming.Namer
	Tags     naming.Tags
}

// Database is the global-database component.
type Database struct {
	pulumi.ResourceState

	GlobalClusterID pulumi.StringOutput `pulumi:"globalClusterId"`
	// MasterPassword is a Pulumi secret, for the primary cluster only.
	MasterPassword pulumi.StringOutput
	// SecretArns and KmsKeyArns by region: each region's copy of the
	// credentials secret and its Aurora key.
	SecretArns map[string]pulumi.StringOutput
	KmsKeyArns map[string]pulumi.StringOutput
}

// MasterPasswordSpecials are printable characters RDS accepts in a master
// password (it refuses '/', '"', '@' and spaces).
const MasterPasswordSpecials = "!#$%&*()-_=+[]{}<>:?"

// NewDatabase creates the per-region keys, the master password, its
// replicated secret and the global cluster. The regional clusters join it.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	if args == nil || len(args.Regions) < 2 || args.Regional == nil {
		return nil, fmt.Errorf("globaldata %s: at least two regions and a regional namer are required", name)
	}
	a := *args
	d := &Database{SecretArns: map[string]pulumi.StringOutput{}, KmsKeyArns: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("authplatform:globaldata:Database", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	keep := pulumi.Protect(a.Protect)
	primary := a.Regions[0]
	onPrimary := pulumi.Provider(primary.Provider)

	// A key per region: an encrypted global database needs one in each
	// member's region, and the secret's replica there uses it too.
	for i, r := range a.Regions {
		n := a.Regional(r.Name)
		newKey := datastore.NewKey
		if i == 0 && a.FinalSnapshot {
			newKey = datastore.NewKeptKey
		}
		key, err := newKey(ctx, d, n.Name("db"),
			"Aurora global member storage and credentials secret for "+n.Prefix(), a.Tags, a.Protect,
			pulumi.Provider(r.Provider))
		if err != nil {
			return nil, err
		}
		d.KmsKeyArns[r.Name] = key.Arn
	}

	password, err := random.NewRandomPassword(ctx, a.Namer.Name("db-master"), &random.RandomPasswordArgs{
		Length:          pulumi.Int(32),
		Special:         pulumi.Bool(true),
		OverrideSpecial: pulumi.String(MasterPasswordSpecials),
		MinSpecial:      pulumi.Int(2),
		MinUpper:        pulumi.Int(2),
		MinLower:        pulumi.Int(2),
		MinNumeric:      pulumi.Int(2),
	}, parent, keep)
	if err != nil {
		return nil, err
	}
	d.MasterPassword = pulumi.ToSecret(password.Result).(pulumi.StringOutput)

	var replicas secretsmanager.SecretReplicaArray
	for _, r := range a.Regions[1:] {
		replicas = append(replicas, secretsmanager.SecretReplicaArgs{
			Region:   pulumi.String(r.Name),
			KmsKeyId: d.KmsKeyArns[r.Name],
		})
	}
	recovery := 7
	if a.Protect {
		recovery = 30
	}
	secretName := a.Namer.Name("db-master")
	secret, err := secretsmanager.NewSecret(ctx, secretName, &secretsmanager.SecretArgs{
		Description:          pulumi.String("Master credentials of the Aurora global database " + a.Namer.Prefix()),
		KmsKeyId:             d.KmsKeyArns[primary.Name],
		Replicas:             replicas,
		RecoveryWindowInDays: pulumi.Int(recovery),
		Tags:                 pulumi.ToStringMap(a.Tags.WithName(secretName)),
	}, parent, onPrimary, keep)
	if err != nil {
		return nil, err
	}
	// The shape RDS uses for its own secrets, so clients read either alike.
	value := d.MasterPassword.ApplyT(func(pw string) (string, error) {
		b, err := json.Marshal(map[string]interface{}{
			"engine": database.Engine, "username": a.MasterUsername, "password": pw,
			"dbname": a.DatabaseName, "port": database.Port,
		})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := secretsmanager.NewSecretVersion(ctx, secretName, &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(value).(pulumi.StringOutput),
	}, parent, onPrimary); err != nil {
		return nil, err
	}
	for _, r := range a.Regions {
		d.SecretArns[r.Name] = ReplicaArn(secret.Arn, primary.Name, r.Name)
	}

	gc, err := rds.NewGlobalCluster(ctx, a.Namer.Name("aurora"), &rds.GlobalClusterArgs{
		GlobalClusterIdentifier: pulumi.String(a.Namer.Name("aurora")),
		Engine:                  pulumi.String(database.Engine),
		EngineVersion:           pulumi.String(a.EngineVersion),
		DatabaseName:            pulumi.String(a.DatabaseName),
		StorageEncrypted:        pulumi.Bool(true),
		DeletionProtection:      pulumi.Bool(a.DeletionProtection),
	}, parent, onPrimary, keep,
		// Minor upgrades happen on the global cluster, outside Pulumi.
		pulumi.IgnoreChanges([]string{"engineVersion"}),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "30m", Update: "90m", Delete: "30m"}))
	if err != nil {
		return nil, err
	}
	d.GlobalClusterID = gc.ID().ToStringOutput()

	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"globalClusterId": d.GlobalClusterID,
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// ReplicaArn is the ARN of a secret's replica in another region: the same
// name and suffix under that region.
func ReplicaArn(arn pulumi.StringOutput, from, to string) pulumi.StringOutput {
	if from == to {
		return arn
	}
	return arn.ApplyT(func(s string) string {
		return strings.Replace(s, ":"+from+":", ":"+to+":", 1)
	}).(pulumi.StringOutput)
}

// DatastoreArgs configures the Global Datastore.
type DatastoreArgs struct {
	// PrimaryReplicationGroupID of the primary region's group. Required.
	PrimaryReplicationGroupID pulumi.StringInput
	Namer                     naming.Namer
}

// Datastore is the Global Datastore component.
type Datastore struct {
	pulumi.ResourceState

	// GlobalReplicationGroupID is AWS's ID (its prefix plus our suffix),
	// which secondaries join.
	GlobalReplicationGroupID pulumi.StringOutput `pulumi:"globalReplicationGroupId"`
}

// NewDatastore creates the Global Datastore from the primary's group. Pass
// the primary region's provider.
func NewDatastore(ctx *pulumi.Context, name string, args *DatastoreArgs, opts ...pulumi.ResourceOption) (*Datastore, error) {
	if args == nil || args.PrimaryReplicationGroupID == nil {
		return nil, fmt.Errorf("globaldata %s: PrimaryReplicationGroupID is required", name)
	}
	d := &Datastore{}
	if err := ctx.RegisterComponentResource("authplatform:globaldata:Datastore", name, d, opts...); err != nil {
		return nil, err
	}
	g, err := elasticache.NewGlobalReplicationGroup(ctx, args.Namer.Name("sessions"), &elasticache.GlobalReplicationGroupArgs{
		GlobalReplicationGroupIdSuffix:    pulumi.String(args.Namer.Name("sessions")),
		GlobalReplicationGroupDescription: pulumi.String("Auth sessions across regions, " + args.Namer.Prefix()),
		PrimaryReplicationGroupId:         args.PrimaryReplicationGroupID,
	}, pulumi.Parent(d),
		// A promotion makes another member primary, outside Pulumi.
		pulumi.IgnoreChanges([]string{"primaryReplicationGroupId"}),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "60m", Update: "60m", Delete: "20m"}))
	if err != nil {
		return nil, err
	}
	d.GlobalReplicationGroupID = g.GlobalReplicationGroupId
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"globalReplicationGroupId": d.GlobalReplicationGroupID,
	}); err != nil {
		return nil, err
	}
	return d, nil
}
