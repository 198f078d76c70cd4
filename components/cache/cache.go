// Package cache builds the session store: an ElastiCache replication group
// in cluster mode (Valkey or Redis OSS) with automatic failover over several
// AZs, TLS and an AUTH token that the stack generates and keeps in Secrets
// Manager, encrypted at rest with a KMS key, reachable on 6379 only from the
// client security group it is given (the auth pods').
package cache

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/datastore"
	"github.com/authplatform/auth-platform/components/naming"
	"github.com/authplatform/auth-platform/components/timewindow"
)

// Engines and their defaults.
const (
	EngineValkey = "valkey"
	EngineRedis  = "redis"
	// DefaultEngine is Valkey: Redis OSS ends at 7.1 on ElastiCache, Valkey
	// is wire-compatible, cheaper per node-hour and encrypts at rest by
	// default.
	DefaultEngine        = EngineValkey
	DefaultValkeyVersion = "8.0"
	DefaultRedisVersion  = "7.1"
)

// Limits and fixed values.
const (
	Port                    = 6379
	DefaultShards           = 3
	MaxShards               = 90 // the default per-cluster limit
	DefaultReplicasPerShard = 1
	MaxReplicasPerShard     = 5
	// MaxNodes is the default quota of nodes per cluster-mode-enabled group.
	MaxNodes                    = 90
	DefaultSnapshotRetention    = 7
	MaxSnapshotRetention        = 35
	MinSnapshotWindowMinutes    = 60
	MinMaintenanceWindowMinutes = 60
	// AuthTokenLength is within AWS's 16-128 characters.
	AuthTokenLength = 64
	// AuthTokenSpecials are the only special characters AWS accepts in an
	// AUTH token; others pass the provider's checks and fail at AWS.
	AuthTokenSpecials = "!&#$^<>-"
)

// Parameter is one engine parameter the component's parameter group sets.
type Parameter struct{ Name, Value string }

// Parameters are stated explicitly, whatever the engine's default:
//   - cluster-enabled: cluster mode (sessions are sharded).
//   - cluster-require-full-coverage: with "yes" (the open-source engine's
//     default) every node answers CLUSTERDOWN as soon as one hash slot has
//     no serving node, so one hung or lost shard would fail the sessions of
//     every other shard too. ElastiCache's documented default is already
//     "no" (ElastiCache User Guide, "Redis specific parameters", 3.2.4 new
//     parameters: "Default: no ... Changes Take Effect: Immediately";
//     awsdocs/amazon-elasticache-docs doc_source/redis/ParameterGroups.Redis.md),
//     and the families this component uses inherit it; saying it here keeps
//     it true if that default or the engine ever changes, and matches the
//     local cluster of tests/realparts.
var Parameters = []Parameter{
	{"cluster-enabled", "yes"},
	{"cluster-require-full-coverage", "no"},
}

// AUTH token rotation, as ElastiCache does it (ElastiCache User Guide,
// "Authenticating users with the Redis AUTH command", Modifying the AUTH
// token; awsdocs/amazon-elasticache-docs doc_source/redis/auth.md): ROTATE
// adds a token and keeps the previous one (a server holds at most the two
// most recent); SET, with the token last rotated in, leaves only that one.
// The provider changes the token in place: terraform-provider-aws'
// aws_elasticache_replication_group update (internal/service/elasticache/
// replication_group.go, resourceReplicationGroupUpdate, v5 and later) sends
// a ModifyReplicationGroup of its own with AuthToken, AuthTokenUpdateStrategy
// and ApplyImmediately hard-coded to true whenever auth_token or
// auth_token_update_strategy changes, after the other modifications, and
// waits for the group to be available before and after. So the step needs
// no applyImmediately of ours (the group sets it anyway, for node changes),
// and a change of the strategy alone (ROTATE -> SET, same token) is a
// modification. pulumi-aws v6.83.4 (elasticache.ReplicationGroup) documents
// SET, ROTATE and DELETE and a ROTATE default, which TF v5 writes to state
// for groups created without a strategy.
const (
	StrategyRotate = "ROTATE"
	StrategySet    = "SET"
	// MaxAuthTokens is how many tokens a group accepts at once.
	MaxAuthTokens = 2
)

// DefaultAuthTokenGenerations: the token generated at creation.
var DefaultAuthTokenGenerations = []int{1}

// AuthTokenUpdateStrategy is the strategy the group is given for a list of
// accepted generations: ROTATE while two are listed (the newest joins the
// one in use), SET once only a rotated-in generation is left. The first
// generation alone asks for nothing: the group was created with it, and
// the provider's state holds its default strategy, so no modification is
// sent to a group that was never rotated.
func AuthTokenUpdateStrategy(generations []int) string {
	switch {
	case len(generations) == MaxAuthTokens:
		return StrategyRotate
	case len(generations) == 1 && generations[0] > 1:
		return StrategySet
	}
	return ""
}

// CheckAuthTokenGenerations explains what is wrong with a list of accepted
// generations, or returns nil. A rotation is two `pulumi up`s: [N] to
// [N, N+1] (ROTATE), then [N+1] (SET).
func CheckAuthTokenGenerations(generations []int) error {
	switch {
	case len(generations) == 0:
		return fmt.Errorf("list the generation in use, e.g. [1]")
	case len(generations) > MaxAuthTokens:
		return fmt.Errorf("ElastiCache accepts at most %d AUTH tokens at once: list the one in use and, while rotating, the next", MaxAuthTokens)
	}
	for _, g := range generations {
		if g < 1 {
			return fmt.Errorf("generations are numbered from 1, got %d", g)
		}
	}
	if len(generations) == 2 {
		old, next := generations[0], generations[1]
		switch {
		case next == old:
			return fmt.Errorf("generation %d is listed twice", old)
		case next < old:
			return fmt.Errorf("the steps are in the wrong order: the new generation goes last ([%d, %d]), ROTATE adds it while %d still works, then [%d] SETs it", next, old, next, old)
		case next != old+1:
			return fmt.Errorf("rotate to the next generation, [%d, %d]; %d skips one", old, old+1, next)
		}
	}
	return nil
}

// ReplicationGroupIDMax is AWS's limit on replication group IDs.
const ReplicationGroupIDMax = 40

var (
	nodeTypePattern  = regexp.MustCompile(`^cache\.[a-z0-9]+\.[a-z0-9]+$`)
	previousGen      = regexp.MustCompile(`^cache\.(t1|t2|m1|m2|m3|c1|r3)\.`)
	rgIDPattern      = regexp.MustCompile(`^[a-z]([a-z0-9]|-[a-z0-9])*$`)
	kmsKeyArnPattern = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:kms:([a-z0-9-]+):\d{12}:key/[A-Za-z0-9-]+$`)
)

// Args configures a Cache.
type Args struct {
	// Engine is "valkey" or "redis". Default "valkey".
	Engine string
	// EngineVersion is "7.2" or "8.x" for Valkey, "7.0" or "7.1" for Redis
	// OSS (TLS without replacement needs 7.0.5+). Default "8.0" for Valkey,
	// "7.1" for Redis.
	EngineVersion string
	// NodeType, e.g. "cache.r7g.large". r6gd types get data tiering, which
	// they require. Required.
	NodeType string
	// Shards (node groups), 1-90. Default 3.
	Shards int
	// ReplicasPerShard, 0-5; at least 1 with MultiAZ. Default 1 (nil).
	ReplicasPerShard *int
	// MultiAZ places each shard's replicas in other AZs than its primary.
	// Default true (nil).
	MultiAZ *bool
	// AtRestEncryption encrypts data and snapshots with the KMS key.
	// Default true (nil).
	AtRestEncryption *bool
	// KmsKeyArn is an existing key of the region for at-rest encryption and
	// the AUTH secret. Default "": the component creates one.
	KmsKeyArn string
	// SnapshotRetentionDays, 0-35; 0 turns daily snapshots off. Default 7
	// (nil).
	SnapshotRetentionDays *int
	// SnapshotWindow "hh24:mi-hh24:mi" UTC, at least 60 minutes, not
	// overlapping MaintenanceWindow. Default "": AWS picks.
	SnapshotWindow string
	// MaintenanceWindow "ddd:hh24:mi-ddd:hh24:mi" UTC, at least 60 minutes.
	// Default "": AWS picks.
	MaintenanceWindow string
	// VpcID, SubnetIDs (private) and ClientSecurityGroupID (the only source
	// admitted on 6379, the auth pods' security group). Required.
	VpcID                 pulumi.StringInput
	SubnetIDs             pulumi.StringArrayInput
	ClientSecurityGroupID pulumi.StringInput
	// GlobalPrimary marks a group that a Global Datastore will be built
	// from: the datastore then manages its engine version. Default false.
	GlobalPrimary bool
	// GlobalSecondary joins the group to a Global Datastore as a read-only
	// member. Default nil: a standalone or primary group.
	GlobalSecondary *GlobalSecondary
	// AuthTokenGenerations are the AUTH token generations the group
	// accepts, oldest first: one in steady state, two while a rotation is
	// under way (ElastiCache keeps at most two). Each generation is its own
	// generated token; the newest is the group's token and the secret's.
	// See AuthTokenUpdateStrategy. Default [1]. A Global Datastore
	// secondary takes the primary's token and the same generations.
	AuthTokenGenerations []int
	// Protect guards the replication group, its key, token and secret
	// against `pulumi destroy`. Default false.
	Protect bool
	// Namer and Tags name and tag the AWS objects. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// GlobalSecondary is what a secondary member of a Global Datastore takes
// from the primary.
type GlobalSecondary struct {
	// GlobalReplicationGroupID is the datastore's ID (AWS-prefixed).
	// Required.
	GlobalReplicationGroupID pulumi.StringInput
	// AuthToken is the primary's token: members of one datastore answer to
	// the same AUTH token. Required.
	AuthToken pulumi.StringInput
}

// Cache is the ElastiCache component.
type Cache struct {
	pulumi.ResourceState

	// ConfigurationEndpoint is the cluster-mode entry point clients use.
	ConfigurationEndpoint pulumi.StringOutput `pulumi:"configurationEndpoint"`
	Port                  pulumi.IntOutput    `pulumi:"port"`
	// AuthSecretArn holds {"authToken","host","port","tls"} as JSON.
	AuthSecretArn      pulumi.StringOutput `pulumi:"authSecretArn"`
	ReplicationGroupID pulumi.StringOutput `pulumi:"replicationGroupId"`
	SecurityGroupID    pulumi.StringOutput `pulumi:"securityGroupId"`
	KmsKeyArn          pulumi.StringOutput `pulumi:"kmsKeyArn"`
	// AuthToken (a secret) is handed to Global Datastore secondaries.
	AuthToken pulumi.StringOutput
}

// ReplicationGroupID derives the group's physical ID from the namer: at
// most 40 characters, lowercase, no "--", not ending in "-".
func ReplicationGroupID(n naming.Namer) string {
	id := strings.ToLower(n.Limited(ReplicationGroupIDMax, "sessions"))
	for strings.Contains(id, "--") {
		id = strings.ReplaceAll(id, "--", "-")
	}
	return strings.TrimRight(id, "-")
}

// ValkeyVersions are the Valkey versions ElastiCache offers, oldest first.
// ElastiCache has no version lookup in pulumi-aws v6 (no
// describe-cache-engine-versions function), so this list is the check; as of
// ValkeyVersionsAsOf, from the ElastiCache user guide "Engine versions and
// upgrading" (docs.aws.amazon.com/AmazonElastiCache/latest/dg/
// engine-versions.html: "ElastiCache version 9.1 for Valkey ... (compared to
// ElastiCache Valkey 9.0)", "9.0 ... (compared to ElastiCache Valkey 8.2)").
// Add a version here when ElastiCache announces it.
//
// What AWS states for 9.x that touches this stack: one parameter group
// family for 9.0 and 9.1 (ParameterGroups.Engine.html has one section,
// "Valkey 9.1 and Valkey 9.0 parameter changes", as 8.x shares valkey8), so
// valkey9 below. Durability, new in 9.0, is not used here: it excludes
// Global Datastores and data tiering and needs R/M 6g-8g or C7gn/C8gn nodes
// (Durability.Limitations.html), and pulumi-aws v6.83.4 has no field for it.
// Cluster mode, TLS, Multi-AZ and the node types this stack uses are the
// same as 8.x in those pages.
var ValkeyVersions = []string{"7.2", "8.0", "8.1", "8.2", "9.0", "9.1"}

// ValkeyVersionsAsOf is the day ValkeyVersions was read from its source.
const ValkeyVersionsAsOf = "2026-12-07"

// ParameterFamily maps an engine and version to its parameter group family,
// and rejects versions this component does not deploy.
func ParameterFamily(engine, version string) (string, error) {
	switch engine {
	case EngineRedis:
		if version == "7.0" || version == "7.1" {
			return "redis7", nil
		}
		return "", fmt.Errorf("Redis OSS versions are 7.0 and 7.1 (older ones lack TLS without replacement; newer ones are Valkey)")
	case EngineValkey:
		if version == "7.2" {
			return "valkey7", nil
		}
		for _, v := range ValkeyVersions {
			if v == version {
				return "valkey" + strings.SplitN(v, ".", 2)[0], nil
			}
		}
		return "", fmt.Errorf("ElastiCache offers Valkey %s", strings.Join(ValkeyVersions, ", "))
	}
	return "", fmt.Errorf("engine must be valkey or redis")
}

// DataTiering reports whether a node type needs data tiering: AWS requires
// it on r6gd nodes and rejects it on any other.
func DataTiering(nodeType string) bool { return strings.HasPrefix(nodeType, "cache.r6gd.") }

// CheckNodeType validates a node type's shape and generation.
func CheckNodeType(nodeType string) error {
	if !nodeTypePattern.MatchString(nodeType) {
		return fmt.Errorf("not a node type like cache.r7g.large")
	}
	if previousGen.MatchString(nodeType) {
		return fmt.Errorf("previous-generation node types lack TLS, cluster mode or Multi-AZ support")
	}
	return nil
}

// KmsKeyRegion returns the region of a KMS key ARN, or an error.
func KmsKeyRegion(arn string) (string, error) {
	m := kmsKeyArnPattern.FindStringSubmatch(arn)
	if m == nil {
		return "", fmt.Errorf("not a KMS key ARN like arn:aws:kms:us-east-1:123456789012:key/<key-id>")
	}
	return m[2], nil
}

// NewCache creates the replication group and everything it needs.
func NewCache(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Cache, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", name, err)
	}
	family, _ := ParameterFamily(a.Engine, a.EngineVersion)

	c := &Cache{}
	if err := ctx.RegisterComponentResource("authplatform:cache:Cache", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	// Only state that cannot be recreated is protected: protecting the
	// component would also pin security groups and parameter groups that
	// legitimately get replaced.
	keep := pulumi.Protect(a.Protect)
	tags := func(objName string) pulumi.StringMap { return pulumi.ToStringMap(a.Tags.WithName(objName)) }

	var existingKey pulumi.StringInput
	if a.KmsKeyArn != "" {
		existingKey = pulumi.String(a.KmsKeyArn)
	}
	keyArn, err := datastore.KeyArn(ctx, c, existingKey, a.Namer.Name("cache"),
		"ElastiCache at-rest encryption and AUTH token secret for "+a.Namer.Prefix(), a.Tags, a.Protect)
	if err != nil {
		return nil, err
	}

	sg, err := datastore.NewClientOnlySecurityGroup(ctx, c, a.Namer.Name("cache"), datastore.ClientOnlyArgs{
		Description:           "ElastiCache " + a.Namer.Prefix() + ": 6379 from the auth pods only",
		RuleDescription:       "Redis protocol from the auth pods",
		VpcID:                 a.VpcID,
		ClientSecurityGroupID: a.ClientSecurityGroupID,
		Port:                  Port,
		Tags:                  a.Tags,
	})
	if err != nil {
		return nil, err
	}

	subnets, err := elasticache.NewSubnetGroup(ctx, a.Namer.Name("cache"), &elasticache.SubnetGroupArgs{
		Description: pulumi.String("Private subnets of " + a.Namer.Prefix()),
		SubnetIds:   a.SubnetIDs,
		Tags:        tags(a.Namer.Name("cache")),
	}, parent)
	if err != nil {
		return nil, err
	}

	// Our own group: the AWS defaults differ per engine and a default group
	// cannot be changed later. A secondary inherits the primary's.
	var params *elasticache.ParameterGroup
	if a.GlobalSecondary == nil {
		var parameters elasticache.ParameterGroupParameterArray
		for _, p := range Parameters {
			parameters = append(parameters, elasticache.ParameterGroupParameterArgs{Name: pulumi.String(p.Name), Value: pulumi.String(p.Value)})
		}
		params, err = elasticache.NewParameterGroup(ctx, a.Namer.Name("cache", family), &elasticache.ParameterGroupArgs{
			Family:      pulumi.String(family),
			Description: pulumi.String("Cluster mode for " + a.Namer.Prefix()),
			Parameters:  parameters,
			Tags:        tags(a.Namer.Name("cache", family)),
		}, parent)
		if err != nil {
			return nil, err
		}
	}

	// One token per accepted generation; the newest is the group's. Only
	// the newest is protected: the next step of a rotation retires the
	// older one, which must then be deletable.
	newest := a.AuthTokenGenerations[len(a.AuthTokenGenerations)-1]
	var authToken pulumi.StringOutput
	if g := a.GlobalSecondary; g != nil {
		authToken = pulumi.ToSecret(g.AuthToken).(pulumi.StringOutput)
	} else {
		for _, gen := range a.AuthTokenGenerations {
			token, err := newAuthToken(ctx, AuthTokenName(a.Namer, gen), parent, pulumi.Protect(a.Protect && gen == newest))
			if err != nil {
				return nil, err
			}
			if gen == newest {
				authToken = token
			}
		}
	}

	groupID := ReplicationGroupID(a.Namer)
	rgArgs := &elasticache.ReplicationGroupArgs{
		ReplicationGroupId:   pulumi.String(groupID),
		Description:          pulumi.String("Auth sessions of " + a.Namer.Prefix()),
		Engine:               pulumi.String(a.Engine),
		EngineVersion:        pulumi.String(a.EngineVersion),
		NodeType:             pulumi.String(a.NodeType),
		ClusterMode:          pulumi.String("enabled"),
		NumNodeGroups:        pulumi.Int(a.Shards),
		ReplicasPerNodeGroup: pulumi.Int(*a.ReplicasPerShard),
		// Cluster mode requires automatic failover.
		AutomaticFailoverEnabled: pulumi.Bool(true),
		MultiAzEnabled:           pulumi.Bool(*a.MultiAZ),
		Port:                     pulumi.Int(Port),
		SubnetGroupName:          subnets.Name,
		SecurityGroupIds:         pulumi.StringArray{sg.ID()},
		// TLS from creation; the mode then defaults to "required" (the
		// preferred->required dance is only for turning TLS on later).
		TransitEncryptionEnabled: pulumi.Bool(true),
		AuthToken:                authToken,
		// ROTATE, then SET (AuthTokenUpdateStrategy); applied at once.
		AuthTokenUpdateStrategy: strategyInput(AuthTokenUpdateStrategy(a.AuthTokenGenerations)),
		AtRestEncryptionEnabled: pulumi.Bool(*a.AtRestEncryption),
		DataTieringEnabled:      pulumi.Bool(DataTiering(a.NodeType)),
		SnapshotRetentionLimit:  pulumi.Int(*a.SnapshotRetentionDays),
		// Without it, node type changes wait for the maintenance window and
		// the state shows a size the cluster does not have yet.
		ApplyImmediately: pulumi.Bool(true),
		Tags:             tags(groupID),
	}
	if *a.AtRestEncryption {
		rgArgs.KmsKeyId = keyArn
	}
	rgOpts := []pulumi.ResourceOption{parent, keep,
		// The ID is fixed, so a replacement must delete first.
		pulumi.DeleteBeforeReplace(true),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "60m", Update: "40m", Delete: "45m"})}
	if g := a.GlobalSecondary; g != nil {
		// Engine, version, node type, shards, parameters and encryption
		// settings come from the primary; AWS rejects them on a secondary.
		rgArgs.GlobalReplicationGroupId = g.GlobalReplicationGroupID
		rgArgs.Engine, rgArgs.EngineVersion, rgArgs.NodeType = nil, nil, nil
		rgArgs.ClusterMode, rgArgs.NumNodeGroups, rgArgs.DataTieringEnabled = nil, nil, nil
		rgArgs.TransitEncryptionEnabled, rgArgs.AtRestEncryptionEnabled = nil, nil
		rgOpts = append(rgOpts, pulumi.IgnoreChanges([]string{"engineVersion", "numNodeGroups"}))
	} else {
		rgArgs.ParameterGroupName = params.Name
		if a.GlobalPrimary {
			// The Global Datastore upgrades every member's engine.
			rgOpts = append(rgOpts, pulumi.IgnoreChanges([]string{"engineVersion"}))
		}
	}
	if a.SnapshotWindow != "" {
		rgArgs.SnapshotWindow = pulumi.String(a.SnapshotWindow)
	}
	if a.MaintenanceWindow != "" {
		rgArgs.MaintenanceWindow = pulumi.String(a.MaintenanceWindow)
	}
	rg, err := elasticache.NewReplicationGroup(ctx, a.Namer.Name("sessions"), rgArgs, rgOpts...)
	if err != nil {
		return nil, err
	}

	recovery := 7
	if a.Protect {
		recovery = 30
	}
	secret, err := secretsmanager.NewSecret(ctx, a.Namer.Name("cache-auth"), &secretsmanager.SecretArgs{
		Description:          pulumi.String("AUTH token and endpoint of ElastiCache group " + groupID),
		KmsKeyId:             keyArn,
		RecoveryWindowInDays: pulumi.Int(recovery),
		Tags:                 tags(a.Namer.Name("cache-auth")),
	}, parent, keep)
	if err != nil {
		return nil, err
	}
	secretString := pulumi.All(authToken, rg.ConfigurationEndpointAddress).ApplyT(func(v []interface{}) (string, error) {
		b, err := json.Marshal(map[string]interface{}{
			"authToken": v[0].(string),
			"host":      v[1].(string),
			"port":      Port,
			"tls":       true,
		})
		return string(b), err
	}).(pulumi.StringOutput)
	// The secret changes only once the group accepts its token (ROTATE done),
	// so a pod that re-reads it never gets a token the group refuses.
	if _, err := secretsmanager.NewSecretVersion(ctx, a.Namer.Name("cache-auth"), &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(secretString).(pulumi.StringOutput),
	}, parent, pulumi.DependsOn([]pulumi.Resource{rg})); err != nil {
		return nil, err
	}

	c.ConfigurationEndpoint = rg.ConfigurationEndpointAddress
	c.Port = rg.Port.Elem()
	c.AuthSecretArn = secret.Arn
	c.ReplicationGroupID = rg.ID().ToStringOutput()
	c.SecurityGroupID = sg.ID().ToStringOutput()
	c.KmsKeyArn = keyArn
	// Through the group, so that a Global Datastore secondary takes a new
	// token only after the primary has it.
	c.AuthToken = pulumi.ToSecret(rg.AuthToken.Elem()).(pulumi.StringOutput)
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"configurationEndpoint": c.ConfigurationEndpoint,
		"port":                  c.Port,
		"authSecretArn":         c.AuthSecretArn,
		"replicationGroupId":    c.ReplicationGroupID,
		"securityGroupId":       c.SecurityGroupID,
		"kmsKeyArn":             c.KmsKeyArn,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// withDefaults fills the defaults and returns every problem at once.
func (args *Args) withDefaults() (*Args, error) {
	if args == nil {
		return nil, fmt.Errorf("args are required")
	}
	a := *args
	if a.Engine == "" {
		a.Engine = DefaultEngine
	}
	if a.EngineVersion == "" {
		a.EngineVersion = DefaultValkeyVersion
		if a.Engine == EngineRedis {
			a.EngineVersion = DefaultRedisVersion
		}
	}
	if a.Shards == 0 {
		a.Shards = DefaultShards
	}
	if a.ReplicasPerShard == nil {
		a.ReplicasPerShard = pulumi.IntRef(DefaultReplicasPerShard)
	}
	if a.MultiAZ == nil {
		a.MultiAZ = pulumi.BoolRef(true)
	}
	if a.AtRestEncryption == nil {
		a.AtRestEncryption = pulumi.BoolRef(true)
	}
	if a.SnapshotRetentionDays == nil {
		a.SnapshotRetentionDays = pulumi.IntRef(DefaultSnapshotRetention)
	}
	if a.AuthTokenGenerations == nil {
		a.AuthTokenGenerations = DefaultAuthTokenGenerations
	}

	var problems []string
	add := func(format string, v ...interface{}) { problems = append(problems, fmt.Sprintf(format, v...)) }
	if _, err := ParameterFamily(a.Engine, a.EngineVersion); err != nil {
		add("Engine %q EngineVersion %q: %v", a.Engine, a.EngineVersion, err)
	}
	if err := CheckNodeType(a.NodeType); err != nil {
		add("NodeType %q: %v", a.NodeType, err)
	}
	if a.Shards < 1 || a.Shards > MaxShards {
		add("Shards is %d, want 1-%d", a.Shards, MaxShards)
	}
	r := *a.ReplicasPerShard
	if r < 0 || r > MaxReplicasPerShard {
		add("ReplicasPerShard is %d, want 0-%d", r, MaxReplicasPerShard)
	}
	if *a.MultiAZ && r < 1 {
		add("MultiAZ needs at least 1 replica per shard, ReplicasPerShard is %d", r)
	}
	if n := a.Shards * (r + 1); n > MaxNodes {
		add("%d shards x %d nodes = %d nodes, above the %d-node quota", a.Shards, r+1, n, MaxNodes)
	}
	if a.KmsKeyArn != "" {
		if !*a.AtRestEncryption {
			add("KmsKeyArn needs AtRestEncryption")
		}
		if _, err := KmsKeyRegion(a.KmsKeyArn); err != nil {
			add("KmsKeyArn %q: %v", a.KmsKeyArn, err)
		}
	}
	if s := *a.SnapshotRetentionDays; s < 0 || s > MaxSnapshotRetention {
		add("SnapshotRetentionDays is %d, want 0-%d", s, MaxSnapshotRetention)
	}
	var snap *timewindow.Daily
	if a.SnapshotWindow != "" {
		if w, err := timewindow.ParseDaily(a.SnapshotWindow); err != nil {
			add("SnapshotWindow %q: %v", a.SnapshotWindow, err)
		} else if w.Minutes() < MinSnapshotWindowMinutes {
			add("SnapshotWindow %q is shorter than %d minutes", a.SnapshotWindow, MinSnapshotWindowMinutes)
		} else {
			snap = &w
		}
	}
	if a.MaintenanceWindow != "" {
		if w, err := timewindow.ParseWeekly(a.MaintenanceWindow); err != nil {
			add("MaintenanceWindow %q: %v", a.MaintenanceWindow, err)
		} else if w.Minutes() < MinMaintenanceWindowMinutes {
			add("MaintenanceWindow %q is shorter than %d minutes", a.MaintenanceWindow, MinMaintenanceWindowMinutes)
		} else if snap != nil && timewindow.Overlaps(*snap, w) {
			add("SnapshotWindow %q overlaps MaintenanceWindow %q", a.SnapshotWindow, a.MaintenanceWindow)
		}
	}
	if err := CheckAuthTokenGenerations(a.AuthTokenGenerations); err != nil {
		add("AuthTokenGenerations %v: %v", a.AuthTokenGenerations, err)
	}
	if a.VpcID == nil || a.SubnetIDs == nil || a.ClientSecurityGroupID == nil {
		add("VpcID, SubnetIDs and ClientSecurityGroupID are required")
	}
	if a.Namer.App == "" {
		add("Namer is required")
	} else if id := ReplicationGroupID(a.Namer); len(id) > ReplicationGroupIDMax || !rgIDPattern.MatchString(id) {
		add("replication group ID %q: want 1-%d lowercase letters, digits and single hyphens, starting with a letter", id, ReplicationGroupIDMax)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return &a, nil
}

// AuthTokenName is the logical name of one generation's token: the first
// keeps the name it had before rotation existed, so its token stays.
func AuthTokenName(n naming.Namer, generation int) string {
	if generation == 1 {
		return n.Name("cache-auth")
	}
	return n.Name("cache-auth", fmt.Sprintf("g%d", generation))
}

func strategyInput(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}

// newAuthToken generates the AUTH token. It exists only in Pulumi state
// (encrypted) and Secrets Manager.
func newAuthToken(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	token, err := random.NewRandomPassword(ctx, name, &random.RandomPasswordArgs{
		Length:          pulumi.Int(AuthTokenLength),
		Special:         pulumi.Bool(true),
		OverrideSpecial: pulumi.String(AuthTokenSpecials),
		MinSpecial:      pulumi.Int(2),
		MinUpper:        pulumi.Int(2),
		MinLower:        pulumi.Int(2),
		MinNumeric:      pulumi.Int(2),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return pulumi.ToSecret(token.Result).(pulumi.StringOutput), nil
}
