// Package alarms watches what the platform promises: enough healthy auth
// targets behind the ALB, few 5XX answers, fast responses, and healthy data
// stores, as AWS measures them and as the auth service itself sees them.
// Every alarm notifies one SNS topic, which can mail an operator.
//
// The service's view: on every failed background check of a dependency it
// logs a JSON line {"event":"dependency_down","dependency":…,"shard":…}
// (dependency postgres-writer, postgres-reader or redis; shard the Redis
// shard's slot ranges, "" for PostgreSQL), and the pods' log lines reach
// the service's log group (components/servicelogs). Metric filters count
// those lines as DependencyDown with the dependency, and for Redis the
// shard, as dimensions. PostgreSQL's lines get their own filter without
// the shard: a CloudWatch dimension value must contain a non-whitespace
// character (CloudWatch API reference, Dimension), so "" cannot be one.
// The shards' values are not known in advance (they are slot ranges, and
// change with resharding), so the alarms read the metric with Metrics
// Insights queries, which sum over every dimension value (CloudWatch User
// Guide, "Query your metrics with CloudWatch Metrics Insights"; alarms on
// them take the period on the query: terraform-provider-aws #28547, the
// period pulumi-aws v6 has on metricQueries). SEARCH cannot back an alarm.
// Readiness does not fail on a shared dependency (issue 22), so this alarm,
// not a target count, is how a dependency outage is seen.
package alarms

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/naming"
)

// Defaults for Args.
const (
	// DefaultMinHealthyTargets: below two healthy auth pods one more
	// eviction or crash is an outage.
	DefaultMinHealthyTargets = 2
	// DefaultMax5xxPercent of requests answered 5XX, by the targets or by
	// the ALB itself (502/503/504 during a bad rollout), over a minute.
	DefaultMax5xxPercent = 1.0
	// DefaultMaxP99ResponseSeconds of the targets.
	DefaultMaxP99ResponseSeconds = 1.0
	// DefaultMaxCPUPercent of cache engines and the database writer.
	DefaultMaxCPUPercent = 80.0
	// DefaultMaxCacheMemoryPercent of a cache node's maxmemory.
	DefaultMaxCacheMemoryPercent = 80.0
	// DefaultMaxReplicaLagMillis of Aurora readers.
	DefaultMaxReplicaLagMillis = 2000.0
	// DefaultMaxACUPercent of Serverless v2 maximum capacity.
	DefaultMaxACUPercent = 90.0
	// DefaultMaxGlobalLagMillis of a global secondary behind its primary:
	// Aurora replicates in about a second; a failover would lose the lag.
	DefaultMaxGlobalLagMillis = 10000.0
	// DefaultDependencyDownMinutes: a dependency reported down in this
	// many consecutive minutes raises its alarm. Two minutes let a routine
	// failover (ElastiCache and Aurora promote within about a minute) pass
	// without paging, while an outage the service only rides out is seen.
	DefaultDependencyDownMinutes = 2
)

// The service's dependency events (the contract with cmd/auth-service).
const (
	DependencyDownEvent = "dependency_down"
	// DependencyMetric counts dependency_down lines, per Dependency (and
	// Shard for Redis).
	DependencyMetric = "DependencyDown"
	DependencyRedis  = "redis"
)

// Dependencies are the values of the events' "dependency" field.
var Dependencies = []string{"postgres-writer", "postgres-reader", DependencyRedis}

// DependencyFilter is one metric filter on the service's log group.
type DependencyFilter struct {
	Name       string
	Pattern    string
	Dimensions map[string]string
}

// DependencyFilters are the filters that turn the service's dependency
// events into DependencyMetric: Redis with its shard, PostgreSQL without.
func DependencyFilters() []DependencyFilter {
	return []DependencyFilter{
		{
			Name:       "dependency-down-redis",
			Pattern:    fmt.Sprintf(`{ ($.event = "%s") && ($.dependency = "%s") }`, DependencyDownEvent, DependencyRedis),
			Dimensions: map[string]string{"Dependency": "$.dependency", "Shard": "$.shard"},
		},
		{
			Name:       "dependency-down-postgres",
			Pattern:    fmt.Sprintf(`{ ($.event = "%s") && ($.dependency != "%s") }`, DependencyDownEvent, DependencyRedis),
			Dimensions: map[string]string{"Dependency": "$.dependency"},
		},
	}
}

// MetricNamespace is the custom namespace of one stack region's service
// metrics: two stacks in one account and region never add up.
func MetricNamespace(n naming.Namer) string { return "AuthPlatform/" + n.Prefix() }

// DependencyQuery is the Metrics Insights query of one dependency's
// DependencyMetric, summed over every shard.
func DependencyQuery(namespace, dependency string) string {
	return fmt.Sprintf(`SELECT SUM(%s) FROM "%s" WHERE Dependency = '%s'`, DependencyMetric, namespace, dependency)
}

// CacheNodes describes the replication group's member clusters, whose IDs
// ElastiCache derives as "<group>-<shard:4>-<node:3>".
type CacheNodes struct {
	ReplicationGroupID pulumi.StringInput
	Shards             int
	ReplicasPerShard   int
}

// Args configures Alarms. Thresholds at zero take their defaults.
type Args struct {
	// Email, when set, subscribes an operator to the topic (AWS mails a
	// confirmation first). Default none.
	Email string
	// AccountID and Partition scope who may publish to the topic. Required.
	AccountID string
	Partition string
	Region    string

	// LoadBalancerArnSuffix and TargetGroupArnSuffix are the ALB metric
	// dimensions. Required.
	LoadBalancerArnSuffix pulumi.StringInput
	TargetGroupArnSuffix  pulumi.StringInput
	// Cache and DatabaseClusterID identify the data stores. Required.
	Cache              CacheNodes
	DatabaseClusterID  pulumi.StringInput
	DatabaseServerless bool
	// DatabaseSecondary marks a read-only member of an Aurora Global
	// Database: it has no WRITER instance, so its instances are watched as
	// readers, and its replication lag behind the primary is watched.
	// Default false.
	DatabaseSecondary bool
	// ServiceLogGroup is the auth service's log group (once it exists):
	// its dependency events become DependencyMetric and one alarm per
	// dependency. Required.
	ServiceLogGroup pulumi.StringInput
	// DependencyDownMinutes before a dependency alarm fires. Default
	// DefaultDependencyDownMinutes.
	DependencyDownMinutes int

	MinHealthyTargets     int
	Max5xxPercent         float64
	MaxP99ResponseSeconds float64
	MaxCPUPercent         float64
	MaxCacheMemoryPercent float64
	MaxReplicaLagMillis   float64
	MaxACUPercent         float64
	MaxGlobalLagMillis    float64

	Namer naming.Namer
	Tags  naming.Tags
}

// Alarms is the alarms component.
type Alarms struct {
	pulumi.ResourceState

	TopicArn pulumi.StringOutput `pulumi:"topicArn"`
	// AlarmNames lists every alarm created, known before deployment.
	AlarmNames []string
}

// NewAlarms creates the topic and the alarms. Pass the regional AWS
// provider.
func NewAlarms(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Alarms, error) {
	if args == nil || args.Region == "" {
		return nil, fmt.Errorf("alarms %s: Region is required", name)
	}
	a := *args
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if a.MinHealthyTargets == 0 {
		a.MinHealthyTargets = DefaultMinHealthyTargets
	}
	if a.DependencyDownMinutes == 0 {
		a.DependencyDownMinutes = DefaultDependencyDownMinutes
	}
	if a.ServiceLogGroup == nil {
		return nil, fmt.Errorf("alarms %s: ServiceLogGroup is required: the dependency alarms read the service's log lines", name)
	}
	def(&a.Max5xxPercent, DefaultMax5xxPercent)
	def(&a.MaxP99ResponseSeconds, DefaultMaxP99ResponseSeconds)
	def(&a.MaxCPUPercent, DefaultMaxCPUPercent)
	def(&a.MaxCacheMemoryPercent, DefaultMaxCacheMemoryPercent)
	def(&a.MaxReplicaLagMillis, DefaultMaxReplicaLagMillis)
	def(&a.MaxACUPercent, DefaultMaxACUPercent)
	def(&a.MaxGlobalLagMillis, DefaultMaxGlobalLagMillis)
	if a.Cache.Shards < 1 {
		return nil, fmt.Errorf("alarms %s: Cache needs at least one shard, has %d", name, a.Cache.Shards)
	}
	if a.Cache.ReplicasPerShard < 0 {
		return nil, fmt.Errorf("alarms %s: Cache.ReplicasPerShard is %d, want 0 or more", name, a.Cache.ReplicasPerShard)
	}

	al := &Alarms{}
	if err := ctx.RegisterComponentResource("authplatform:alarms:Alarms", name, al, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(al)

	topicName := a.Namer.Name("alarms")
	topic, err := sns.NewTopic(ctx, topicName, &sns.TopicArgs{
		Name:        pulumi.String(topicName),
		DisplayName: pulumi.String("Auth platform alarms " + a.Namer.Prefix()),
		Tags:        pulumi.ToStringMap(a.Tags.WithName(topicName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Only this account's CloudWatch alarms may publish. (Alarm messages
	// carry no secrets; an SSE-KMS topic would need a key policy for
	// CloudWatch, and the AWS-managed SNS key refuses CloudWatch outright.)
	policy := topic.Arn.ApplyT(func(arn string) (string, error) {
		return TopicPolicy(arn, a.Partition, a.Region, a.AccountID).JSON()
	}).(pulumi.StringOutput)
	if _, err := sns.NewTopicPolicy(ctx, topicName, &sns.TopicPolicyArgs{Arn: topic.Arn, Policy: policy}, parent); err != nil {
		return nil, err
	}
	if a.Email != "" {
		if _, err := sns.NewTopicSubscription(ctx, a.Namer.Name("alarms", "email"), &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(a.Email),
		}, parent); err != nil {
			return nil, err
		}
	}

	b := builder{ctx: ctx, parent: parent, topic: topic.Arn, namer: a.Namer, tags: a.Tags}
	alb := pulumi.StringMap{"LoadBalancer": a.LoadBalancerArnSuffix}
	tg := pulumi.StringMap{"LoadBalancer": a.LoadBalancerArnSuffix, "TargetGroup": a.TargetGroupArnSuffix}

	b.add(spec{
		name:      "auth-healthy-targets",
		desc:      fmt.Sprintf("Fewer than %d healthy auth targets: one more eviction or crash is an outage. Check pods, readiness gates and the target group.", a.MinHealthyTargets),
		namespace: "AWS/ApplicationELB", metric: "HealthyHostCount", dims: tg, stat: "Minimum",
		op: "LessThanThreshold", threshold: float64(a.MinHealthyTargets), periods: 2, period: 60,
		// No data means no targets reported: as bad as zero.
		missing: "breaching",
	})
	b.ratio(spec{
		name: "auth-target-5xx",
		desc: fmt.Sprintf("More than %g%% of auth requests answered 5XX by the service itself.", a.Max5xxPercent),
		op:   "GreaterThanThreshold", threshold: a.Max5xxPercent, periods: 3, period: 60, missing: "notBreaching",
	}, "HTTPCode_Target_5XX_Count", tg)
	b.ratio(spec{
		name: "auth-elb-5xx",
		desc: fmt.Sprintf("More than %g%% of auth requests answered 5XX by the ALB (no healthy target, reset or timed-out connections: typical of a rollout losing requests).", a.Max5xxPercent),
		op:   "GreaterThanThreshold", threshold: a.Max5xxPercent, periods: 3, period: 60, missing: "notBreaching",
	}, "HTTPCode_ELB_5XX_Count", alb)
	b.add(spec{
		name:      "auth-response-time-p99",
		desc:      fmt.Sprintf("p99 auth response time above %g s.", a.MaxP99ResponseSeconds),
		namespace: "AWS/ApplicationELB", metric: "TargetResponseTime", dims: tg, extended: "p99",
		op: "GreaterThanThreshold", threshold: a.MaxP99ResponseSeconds, periods: 3, period: 60, missing: "notBreaching",
	})

	for shard := 1; shard <= a.Cache.Shards; shard++ {
		for node := 1; node <= a.Cache.ReplicasPerShard+1; node++ {
			id := pulumi.Sprintf("%s-%04d-%03d", a.Cache.ReplicationGroupID, shard, node)
			dims := pulumi.StringMap{"CacheClusterId": id}
			suffix := fmt.Sprintf("%04d-%03d", shard, node)
			b.add(spec{
				name:      "cache-cpu-" + suffix,
				desc:      fmt.Sprintf("Session store node %s: engine CPU above %g%%, or the node stopped reporting.", suffix, a.MaxCPUPercent),
				namespace: "AWS/ElastiCache", metric: "EngineCPUUtilization", dims: dims, stat: "Average",
				op: "GreaterThanThreshold", threshold: a.MaxCPUPercent, periods: 3, period: 300, missing: "breaching",
			})
			b.add(spec{
				name:      "cache-memory-" + suffix,
				desc:      fmt.Sprintf("Session store node %s: memory above %g%% of maxmemory; sessions will be evicted.", suffix, a.MaxCacheMemoryPercent),
				namespace: "AWS/ElastiCache", metric: "DatabaseMemoryUsagePercentage", dims: dims, stat: "Maximum",
				op: "GreaterThanThreshold", threshold: a.MaxCacheMemoryPercent, periods: 3, period: 300, missing: "notBreaching",
			})
		}
	}

	writer := pulumi.StringMap{"DBClusterIdentifier": a.DatabaseClusterID, "Role": pulumi.String("WRITER")}
	cluster := pulumi.StringMap{"DBClusterIdentifier": a.DatabaseClusterID}
	if a.DatabaseSecondary {
		// No writer here: a Role=WRITER alarm would have no data and, with
		// missing data breaching, stay in ALARM for good. The readers
		// always report, so their silence is an outage.
		readers := pulumi.StringMap{"DBClusterIdentifier": a.DatabaseClusterID, "Role": pulumi.String("READER")}
		b.add(spec{
			name:      "db-reader-cpu",
			desc:      fmt.Sprintf("Aurora secondary: reader CPU above %g%%, or the readers stopped reporting (outage).", a.MaxCPUPercent),
			namespace: "AWS/RDS", metric: "CPUUtilization", dims: readers, stat: "Average",
			op: "GreaterThanThreshold", threshold: a.MaxCPUPercent, periods: 3, period: 300, missing: "breaching",
		})
		b.add(spec{
			name:      "db-global-replication-lag",
			desc:      fmt.Sprintf("Aurora secondary more than %g ms behind the primary: a failover now would lose that much.", a.MaxGlobalLagMillis),
			namespace: "AWS/RDS", metric: "AuroraGlobalDBReplicationLag", dims: cluster, stat: "Maximum",
			op: "GreaterThanThreshold", threshold: a.MaxGlobalLagMillis, periods: 3, period: 60, missing: "notBreaching",
		})
	} else {
		b.add(spec{
			name:      "db-writer-cpu",
			desc:      fmt.Sprintf("Aurora writer CPU above %g%%, or the writer stopped reporting (failover or outage).", a.MaxCPUPercent),
			namespace: "AWS/RDS", metric: "CPUUtilization", dims: writer, stat: "Average",
			op: "GreaterThanThreshold", threshold: a.MaxCPUPercent, periods: 3, period: 300, missing: "breaching",
		})
	}
	b.add(spec{
		name:      "db-replica-lag",
		desc:      fmt.Sprintf("Aurora reader lag above %g ms: readers serve stale users and roles.", a.MaxReplicaLagMillis),
		namespace: "AWS/RDS", metric: "AuroraReplicaLagMaximum", dims: cluster, stat: "Maximum",
		op: "GreaterThanThreshold", threshold: a.MaxReplicaLagMillis, periods: 3, period: 60, missing: "notBreaching",
	})
	if err := b.loginFailures(&a); err != nil {
		return nil, err
	}
	if err := b.dependencies(&a); err != nil {
		return nil, err
	}
	if a.DatabaseServerless {
		b.add(spec{
			name:      "db-acu-utilization",
			desc:      fmt.Sprintf("Aurora Serverless v2 above %g%% of its maximum capacity: raise dbServerlessMaxAcu.", a.MaxACUPercent),
			namespace: "AWS/RDS", metric: "ACUUtilization", dims: cluster, stat: "Maximum",
			op: "GreaterThanThreshold", threshold: a.MaxACUPercent, periods: 3, period: 300, missing: "notBreaching",
		})
	}
	if b.err != nil {
		return nil, b.err
	}

	al.TopicArn = topic.Arn
	al.AlarmNames = b.names
	if err := ctx.RegisterResourceOutputs(al, pulumi.Map{
		"topicArn":   al.TopicArn,
		"alarmNames": pulumi.ToStringArray(al.AlarmNames),
	}); err != nil {
		return nil, err
	}
	return al, nil
}

// TopicPolicy lets only CloudWatch alarms, EventBridge rules (AWS Health,
// GuardDuty and EKS events) and Prometheus alert managers of one account
// and region publish to the topic.
func TopicPolicy(topicArn, partition, region, accountID string) iamdoc.Document {
	st := iamdoc.Allow("CloudWatchAlarms", []string{"sns:Publish"}, topicArn).
		When("StringEquals", "aws:SourceAccount", accountID).
		When("ArnLike", "aws:SourceArn", fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:*", partition, region, accountID))
	st.Principal = &iamdoc.Principal{Service: []string{"cloudwatch.amazonaws.com"}}
	events := iamdoc.Allow("EventBridgeRules", []string{"sns:Publish"}, topicArn).
		When("StringEquals", "aws:SourceAccount", accountID).
		When("ArnLike", "aws:SourceArn", fmt.Sprintf("arn:%s:events:%s:%s:rule/*", partition, region, accountID))
	events.Principal = &iamdoc.Principal{Service: []string{"events.amazonaws.com"}}
	// The Prometheus workspace's alert manager (components/prometheus):
	// AMP User Guide, "Giving Amazon Managed Service for Prometheus
	// permission to send messages to your Amazon SNS topic" (Publish and
	// GetTopicAttributes, for the service principal aps.amazonaws.com).
	prometheus := iamdoc.Allow("PrometheusAlertManager", []string{"sns:Publish", "sns:GetTopicAttributes"}, topicArn).
		When("StringEquals", "aws:SourceAccount", accountID).
		When("ArnLike", "aws:SourceArn", fmt.Sprintf("arn:%s:aps:%s:%s:workspace/*", partition, region, accountID))
	prometheus.Principal = &iamdoc.Principal{Service: []string{"aps.amazonaws.com"}}
	return iamdoc.New(st, events, prometheus)
}

// dependencies creates the metric filters on the service's log group and
// an alarm per dependency.
func (b *builder) dependencies(a *Args) error {
	namespace := MetricNamespace(a.Namer)
	var filters []pulumi.Resource
	for _, f := range DependencyFilters() {
		filter, err := cloudwatch.NewLogMetricFilter(b.ctx, b.namer.Name(f.Name), &cloudwatch.LogMetricFilterArgs{
			LogGroupName: a.ServiceLogGroup,
			Pattern:      pulumi.String(f.Pattern),
			MetricTransformation: &cloudwatch.LogMetricFilterMetricTransformationArgs{
				Name:       pulumi.String(DependencyMetric),
				Namespace:  pulumi.String(namespace),
				Value:      pulumi.String("1"),
				Unit:       pulumi.String("Count"),
				Dimensions: pulumi.ToStringMap(f.Dimensions),
			},
		}, b.parent)
		if err != nil {
			return err
		}
		filters = append(filters, filter)
	}
	for _, dep := range Dependencies {
		b.add(spec{
			name: "dependency-down-" + dep,
			desc: fmt.Sprintf("The auth service reported %s down in %d consecutive minutes (its %s log lines). Pods stay Ready: readiness does not check shared dependencies, so requests that need %s fail while others are served. Which shard: the %s metric's Shard dimension, or the log group /%s/auth-service.",
				dep, a.DependencyDownMinutes, DependencyDownEvent, dep, DependencyMetric, a.Namer.Prefix()),
			op: "GreaterThanOrEqualToThreshold", threshold: 1, periods: a.DependencyDownMinutes, missing: "notBreaching",
			queries: cloudwatch.MetricAlarmMetricQueryArray{cloudwatch.MetricAlarmMetricQueryArgs{
				Id:         pulumi.String("events"),
				Expression: pulumi.String(DependencyQuery(namespace, dep)),
				Period:     pulumi.Int(60),
				Label:      pulumi.String(dep + " down events"),
				ReturnData: pulumi.Bool(true),
			}},
			after: filters,
		})
	}
	return b.err
}

// spec is one alarm: a metric (or a ratio of two) against a threshold.
type spec struct {
	name, desc        string
	namespace, metric string
	dims              pulumi.StringMap
	stat, extended    string
	op                string
	threshold         float64
	periods, period   int
	missing           string
	queries           cloudwatch.MetricAlarmMetricQueryArray
	// after must exist first (the filters that publish the metric).
	after []pulumi.Resource
}

type builder struct {
	ctx    *pulumi.Context
	parent pulumi.ResourceOption
	topic  pulumi.StringOutput
	namer  naming.Namer
	tags   naming.Tags
	names  []string
	err    error
}

// ratio alarms on 100 * count / RequestCount over the same dimensions; a
// minute without requests counts as 0%.
func (b *builder) ratio(s spec, countMetric string, dims pulumi.StringMap) {
	query := func(id, metric string) cloudwatch.MetricAlarmMetricQueryArgs {
		return cloudwatch.MetricAlarmMetricQueryArgs{
			Id: pulumi.String(id),
			Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
				Namespace: pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String(metric),
				Dimensions: dims, Period: pulumi.Int(s.period), Stat: pulumi.String("Sum"),
			},
			ReturnData: pulumi.Bool(false),
		}
	}
	s.queries = cloudwatch.MetricAlarmMetricQueryArray{
		query("errors", countMetric),
		query("requests", "RequestCount"),
		cloudwatch.MetricAlarmMetricQueryArgs{
			Id:         pulumi.String("percent"),
			Expression: pulumi.String("100 * FILL(errors, 0) / FILL(requests, 1)"),
			Label:      pulumi.String(strings.TrimSuffix(countMetric, "_Count") + " %"),
			ReturnData: pulumi.Bool(true),
		},
	}
	b.add(s)
}

func (b *builder) add(s spec) {
	if b.err != nil {
		return
	}
	name := b.namer.Name(s.name)
	args := &cloudwatch.MetricAlarmArgs{
		Name:               pulumi.String(name),
		AlarmDescription:   pulumi.String(s.desc),
		ComparisonOperator: pulumi.String(s.op),
		Threshold:          pulumi.Float64(s.threshold),
		EvaluationPeriods:  pulumi.Int(s.periods),
		DatapointsToAlarm:  pulumi.Int(s.periods),
		TreatMissingData:   pulumi.String(s.missing),
		AlarmActions:       pulumi.Array{b.topic},
		OkActions:          pulumi.Array{b.topic},
		Tags:               pulumi.ToStringMap(b.tags.WithName(name)),
	}
	if s.queries != nil {
		args.MetricQueries = s.queries
	} else {
		args.Namespace = pulumi.String(s.namespace)
		args.MetricName = pulumi.String(s.metric)
		args.Dimensions = s.dims
		args.Period = pulumi.Int(s.period)
		if s.extended != "" {
			args.ExtendedStatistic = pulumi.String(s.extended)
		} else {
			args.Statistic = pulumi.String(s.stat)
		}
	}
	if _, err := cloudwatch.NewMetricAlarm(b.ctx, name, args, b.parent, pulumi.DependsOn(s.after)); err != nil {
		b.err = err
		return
	}
	b.names = append(b.names, name)
}
