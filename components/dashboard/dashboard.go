// Package dashboard is the stack's CloudWatch dashboard, one per stack
// region: requests, 5XX answers, latency, healthy targets per zone, what
// the WAF blocks, the session store's and the database's health, pod
// evictions, the service's own dependency reports, and the state of every
// alarm the stack raises. Every metric is one the stack's resources
// publish, under the namespace and dimensions AWS documents (Published,
// which the tests hold each widget to).
package dashboard

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// Published are the metrics the dashboard reads, by namespace, with the
// dimension set each is read with, as AWS documents them:
//   - AWS/ApplicationELB: ELB User Guide, "CloudWatch metrics for your
//     Application Load Balancer" (per LoadBalancer; per LoadBalancer and
//     TargetGroup; per AvailabilityZone, LoadBalancer and TargetGroup);
//   - AWS/WAFV2: WAF Developer Guide, "AWS WAF metrics and dimensions"
//     (Region, Rule, WebACL for a regional web ACL; Rule ALL is every rule);
//   - AWS/ElastiCache: ElastiCache User Guide, "Host-level metrics" and
//     "Metrics for Valkey and Redis OSS" (CacheClusterId per node);
//   - AWS/RDS: Aurora User Guide, "Amazon CloudWatch metrics for Amazon
//     Aurora" (DBClusterIdentifier, and Role WRITER/READER);
//   - the stack's own namespaces: signals (PodEvictionRequests, no
//     dimension) and alarms (DependencyDown by Dependency, and Shard).
var Published = map[string]map[string][]string{
	"AWS/ApplicationELB": {
		"RequestCount":              {"LoadBalancer"},
		"HTTPCode_ELB_5XX_Count":    {"LoadBalancer"},
		"HTTPCode_Target_5XX_Count": {"LoadBalancer", "TargetGroup"},
		"TargetResponseTime":        {"LoadBalancer", "TargetGroup"},
		"HealthyHostCount":          {"AvailabilityZone", "LoadBalancer", "TargetGroup"},
		"UnHealthyHostCount":        {"AvailabilityZone", "LoadBalancer", "TargetGroup"},
	},
	"AWS/WAFV2": {
		"BlockedRequests": {"Region", "Rule", "WebACL"},
		"CountedRequests": {"Region", "Rule", "WebACL"},
	},
	"AWS/ElastiCache": {
		"EngineCPUUtilization":          {"CacheClusterId"},
		"DatabaseMemoryUsagePercentage": {"CacheClusterId"},
	},
	"AWS/RDS": {
		"CPUUtilization":          {"DBClusterIdentifier", "Role"},
		"AuroraReplicaLagMaximum": {"DBClusterIdentifier"},
		"DatabaseConnections":     {"DBClusterIdentifier"},
	},
}

// Inputs are the resolved identities the widgets name.
type Inputs struct {
	Region string
	// LoadBalancer and TargetGroup are the ALB's and the target group's
	// ARN suffixes (their metric dimensions).
	LoadBalancer, TargetGroup string
	// Zones are the target group's zones (names, as the ALB reports them).
	Zones []string
	// WebACL is the web ACL's name; "" when the stack has no WAF.
	WebACL string
	// CacheNodes are the session store's node IDs (CacheClusterId).
	CacheNodes []string
	// DatabaseCluster is the Aurora cluster identifier; DatabaseWriter is
	// false for a global secondary, which has no writer.
	DatabaseCluster string
	DatabaseWriter  bool
	// EvictionNamespace holds PodEvictionRequests (signals);
	// ServiceNamespace holds DependencyDown (alarms).
	EvictionNamespace, EvictionMetric  string
	ServiceNamespace, DependencyMetric string
	// AlarmArns are the alarms whose state the dashboard shows.
	AlarmArns []string
}

// Widget is one dashboard widget (CloudWatch dashboard body structure).
type Widget struct {
	Type       string         `json:"type"`
	X          int            `json:"x"`
	Y          int            `json:"y"`
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Properties map[string]any `json:"properties"`
}

// Body is the dashboard's JSON body.
type Body struct {
	Widgets []Widget `json:"widgets"`
}

// metric is one line of a metric widget: namespace, name, then dimension
// name/value pairs, then the rendering options (CloudWatch "Dashboard Body
// Structure and Syntax", metrics array).
func metric(namespace, name string, dims [][2]string, opts map[string]any) []any {
	out := []any{namespace, name}
	for _, d := range dims {
		out = append(out, d[0], d[1])
	}
	if opts != nil {
		out = append(out, opts)
	}
	return out
}

// MaxAlarmsPerWidget is the alarm status widget's limit (CloudWatch
// "Dashboard Body Structure and Syntax", alarm widget: up to 100 alarms).
const MaxAlarmsPerWidget = 100

// NewBody lays the widgets out, two per row of 24 columns.
func NewBody(in Inputs) (Body, error) {
	if in.Region == "" || in.LoadBalancer == "" || in.TargetGroup == "" || in.DatabaseCluster == "" {
		return Body{}, fmt.Errorf("dashboard: Region, LoadBalancer, TargetGroup and DatabaseCluster are required")
	}
	lb := [2]string{"LoadBalancer", in.LoadBalancer}
	tg := [2]string{"TargetGroup", in.TargetGroup}
	var widgets []Widget
	add := func(title string, metrics [][]any, extra map[string]any) {
		props := map[string]any{
			"title": title, "region": in.Region, "view": "timeSeries", "stacked": false,
			"period": 60, "metrics": metrics,
		}
		for k, v := range extra {
			props[k] = v
		}
		i := len(widgets)
		widgets = append(widgets, Widget{Type: "metric", X: (i % 2) * 12, Y: (i / 2) * 6, Width: 12, Height: 6, Properties: props})
	}
	sum := map[string]any{"stat": "Sum"}
	add("Requests", [][]any{metric("AWS/ApplicationELB", "RequestCount", [][2]string{lb}, sum)}, nil)
	add("5XX answers", [][]any{
		metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", [][2]string{lb, tg}, map[string]any{"stat": "Sum", "label": "by the service"}),
		metric("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", [][2]string{lb}, map[string]any{"stat": "Sum", "label": "by the ALB"}),
	}, nil)
	add("Response time", [][]any{
		metric("AWS/ApplicationELB", "TargetResponseTime", [][2]string{lb, tg}, map[string]any{"stat": "p50", "label": "p50"}),
		metric("AWS/ApplicationELB", "TargetResponseTime", [][2]string{lb, tg}, map[string]any{"stat": "p99", "label": "p99"}),
	}, nil)
	var healthy [][]any
	for _, z := range in.Zones {
		az := [2]string{"AvailabilityZone", z}
		healthy = append(healthy,
			metric("AWS/ApplicationELB", "HealthyHostCount", [][2]string{az, lb, tg}, map[string]any{"stat": "Minimum", "label": "healthy " + z}),
			metric("AWS/ApplicationELB", "UnHealthyHostCount", [][2]string{az, lb, tg}, map[string]any{"stat": "Maximum", "label": "unhealthy " + z}))
	}
	add("Targets per zone", healthy, nil)
	if in.WebACL != "" {
		acl := [][2]string{{"Region", in.Region}, {"Rule", "ALL"}, {"WebACL", in.WebACL}}
		add("WAF", [][]any{
			metric("AWS/WAFV2", "BlockedRequests", acl, map[string]any{"stat": "Sum", "label": "blocked"}),
			metric("AWS/WAFV2", "CountedRequests", acl, map[string]any{"stat": "Sum", "label": "counted (count mode)"}),
		}, nil)
	}
	var cpu, memory [][]any
	for _, node := range in.CacheNodes {
		id := [][2]string{{"CacheClusterId", node}}
		cpu = append(cpu, metric("AWS/ElastiCache", "EngineCPUUtilization", id, map[string]any{"stat": "Average", "label": node}))
		memory = append(memory, metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", id, map[string]any{"stat": "Maximum", "label": node}))
	}
	add("Session store: engine CPU %", cpu, map[string]any{"period": 300})
	add("Session store: memory % of maxmemory", memory, map[string]any{"period": 300})
	cluster := [2]string{"DBClusterIdentifier", in.DatabaseCluster}
	role := "READER"
	if in.DatabaseWriter {
		role = "WRITER"
	}
	add("Database", [][]any{
		metric("AWS/RDS", "CPUUtilization", [][2]string{cluster, {"Role", role}}, map[string]any{"stat": "Average", "label": "CPU % (" + role + ")"}),
		metric("AWS/RDS", "AuroraReplicaLagMaximum", [][2]string{cluster}, map[string]any{"stat": "Maximum", "label": "replica lag ms", "yAxis": "right"}),
		metric("AWS/RDS", "DatabaseConnections", [][2]string{cluster}, map[string]any{"stat": "Sum", "label": "connections"}),
	}, map[string]any{"period": 300})
	add("Pod evictions (audit log)", [][]any{metric(in.EvictionNamespace, in.EvictionMetric, nil, sum)}, map[string]any{"period": 300})
	// A search by namespace and name, not by a dimension schema: the
	// Redis filter publishes Dependency and Shard, the others Dependency
	// alone, and a schema matches one exact dimension set (CloudWatch User
	// Guide, "CloudWatch search expression syntax").
	add("Dependencies reported down by the service", [][]any{{map[string]any{
		"expression": fmt.Sprintf("SEARCH('Namespace=\"%s\" MetricName=\"%s\"', 'Sum', 60)", in.ServiceNamespace, in.DependencyMetric),
		"id":         "down", "label": "",
	}}}, nil)

	if len(in.AlarmArns) > MaxAlarmsPerWidget {
		return Body{}, fmt.Errorf("dashboard: %d alarms, an alarm status widget shows at most %d", len(in.AlarmArns), MaxAlarmsPerWidget)
	}
	rows := (len(widgets) + 1) / 2
	widgets = append(widgets, Widget{Type: "alarm", X: 0, Y: rows * 6, Width: 24, Height: 2 + len(in.AlarmArns)/4, Properties: map[string]any{
		"title": "Alarms", "alarms": in.AlarmArns, "sortBy": "stateUpdatedTimestamp",
	}})
	return Body{Widgets: widgets}, nil
}

// Args configures a Dashboard.
type Args struct {
	Region                string
	LoadBalancerArnSuffix pulumi.StringInput
	TargetGroupArnSuffix  pulumi.StringInput
	Zones                 []string
	// WebACLName is "" when the stack has no WAF.
	WebACLName string
	// CacheReplicationGroupID with Shards and ReplicasPerShard give the
	// node IDs ("<group>-<shard:4>-<node:3>", as alarms derives them).
	CacheReplicationGroupID pulumi.StringInput
	CacheShards             int
	CacheReplicasPerShard   int
	DatabaseClusterID       pulumi.StringInput
	DatabaseWriter          bool
	EvictionNamespace       string
	EvictionMetric          string
	ServiceNamespace        string
	DependencyMetric        string
	// AlarmNames of the stack region, shown by state; Partition and
	// AccountID make their ARNs.
	AlarmNames []string
	Partition  string
	AccountID  string

	Namer naming.Namer
}

// Dashboard is the dashboard component.
type Dashboard struct {
	pulumi.ResourceState

	Name pulumi.StringOutput `pulumi:"name"`
}

// NewDashboard creates the dashboard. Pass the regional AWS provider.
func NewDashboard(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Dashboard, error) {
	if args == nil || args.LoadBalancerArnSuffix == nil || args.TargetGroupArnSuffix == nil || args.CacheReplicationGroupID == nil || args.DatabaseClusterID == nil {
		return nil, fmt.Errorf("dashboard %s: the ALB, target group, cache and database identities are required", name)
	}
	a := *args
	d := &Dashboard{}
	if err := ctx.RegisterComponentResource("authplatform:dashboard:Dashboard", name, d, opts...); err != nil {
		return nil, err
	}
	var arns []string
	for _, n := range a.AlarmNames {
		arns = append(arns, fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:%s", a.Partition, a.Region, a.AccountID, n))
	}
	body := pulumi.All(a.LoadBalancerArnSuffix, a.TargetGroupArnSuffix, a.CacheReplicationGroupID, a.DatabaseClusterID).ApplyT(
		func(v []any) (string, error) {
			var nodes []string
			for shard := 1; shard <= a.CacheShards; shard++ {
				for node := 1; node <= a.CacheReplicasPerShard+1; node++ {
					nodes = append(nodes, fmt.Sprintf("%s-%04d-%03d", v[2].(string), shard, node))
				}
			}
			b, err := NewBody(Inputs{
				Region: a.Region, LoadBalancer: v[0].(string), TargetGroup: v[1].(string), Zones: a.Zones,
				WebACL: a.WebACLName, CacheNodes: nodes, DatabaseCluster: v[3].(string), DatabaseWriter: a.DatabaseWriter,
				EvictionNamespace: a.EvictionNamespace, EvictionMetric: a.EvictionMetric,
				ServiceNamespace: a.ServiceNamespace, DependencyMetric: a.DependencyMetric,
				AlarmArns: arns,
			})
			if err != nil {
				return "", err
			}
			out, err := json.Marshal(b)
			return string(out), err
		}).(pulumi.StringOutput)
	dashName := a.Namer.Name("dashboard")
	dash, err := cloudwatch.NewDashboard(ctx, dashName, &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(dashName),
		DashboardBody: body,
	}, pulumi.Parent(d))
	if err != nil {
		return nil, err
	}
	d.Name = dash.DashboardName
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{"name": d.Name}); err != nil {
		return nil, err
	}
	return d, nil
}
