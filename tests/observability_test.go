package tests

// Issue 27: what operators see (the metrics workspace, its collector and
// rules, the dashboard) and steer (the patch window), held to the plan of
// every shipped stack region and to Debian's promtool.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

// promtool is Debian's (package prometheus), which CI installs.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool (Debian package prometheus) is needed: apt-get install prometheus")
	out, err := exec.Command(path, args...).CombinedOutput()
	require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// kubeObject is the one Kubernetes object of a type in a namespace whose
// logical name ends with suffix.
func kubeObject(t *testing.T, res *mocks.Result, typ, namespace, suffix string) *mocks.Resource {
	t.Helper()
	var found []*mocks.Resource
	for _, r := range ofType(res, typ) {
		if value(r.Inputs, "metadata.namespace") == namespace && strings.HasSuffix(r.Name, suffix) {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "want one %s *%s in namespace %s", typ, suffix, namespace)
	return found[0]
}

func output(t *testing.T, r *mocks.Resource, key string) string {
	t.Helper()
	v, ok := mocks.PlainMap(r.Outputs)[key].(string)
	require.True(t, ok, "%s %s: output %s is not a string", r.Type, r.Name, key)
	return v
}

// TestCollectorConfigurationPassesPromtool: in every stack region the
// collector's configuration is one Prometheus in agent mode accepts, it
// discovers pods in the auth namespace only, keeps the auth pods' metrics
// port, and writes into that region's workspace with SigV4; its role may
// do nothing but aps:RemoteWrite on that workspace, and its Kubernetes
// rights are list and watch pods in the auth namespace.
func TestCollectorConfigurationPassesPromtool(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			cm := kubeObject(t, rp.res, "kubernetes:core/v1:ConfigMap", "auth-metrics", "-collector-config")
			text, _ := mocks.PlainMap(cm.Inputs)["data"].(map[string]interface{})["prometheus.yml"].(string)
			require.NotEmpty(t, text, "the collector ConfigMap holds prometheus.yml")
			file := filepath.Join(t.TempDir(), "prometheus.yml")
			require.NoError(t, os.WriteFile(file, []byte(withoutKubernetesSD(t, text)), 0o600))
			promtool(t, "check", "config", "--agent", file)

			var cfg struct {
				ScrapeConfigs []struct {
					JobName      string `yaml:"job_name"`
					KubernetesSD []struct {
						Role       string `yaml:"role"`
						Namespaces struct {
							Names []string `yaml:"names"`
						} `yaml:"namespaces"`
					} `yaml:"kubernetes_sd_configs"`
					Relabel []struct {
						SourceLabels []string `yaml:"source_labels"`
						Regex        string   `yaml:"regex"`
						Action       string   `yaml:"action"`
					} `yaml:"relabel_configs"`
				} `yaml:"scrape_configs"`
				RemoteWrite []struct {
					URL   string `yaml:"url"`
					SigV4 struct {
						Region string `yaml:"region"`
					} `yaml:"sigv4"`
				} `yaml:"remote_write"`
			}
			require.NoError(t, yaml.Unmarshal([]byte(text), &cfg))
			require.Len(t, cfg.ScrapeConfigs, 1, "one job: the auth pods")
			job := cfg.ScrapeConfigs[0]
			assert.Equal(t, "auth", job.JobName, "the rules select job auth")
			require.Len(t, job.KubernetesSD, 1)
			assert.Equal(t, "pod", job.KubernetesSD[0].Role)
			assert.Equal(t, []string{rp.cfg.AuthNamespace}, job.KubernetesSD[0].Namespaces.Names, "discovery reads the auth namespace only")
			keepsMetricsPort := false
			for _, r := range job.Relabel {
				if r.Action == "keep" && r.Regex == "metrics" && len(r.SourceLabels) == 1 && r.SourceLabels[0] == "__meta_kubernetes_pod_container_port_name" {
					keepsMetricsPort = true
				}
			}
			assert.True(t, keepsMetricsPort, "only the container port named metrics is scraped")
			// The auth container names its metrics port "metrics".
			var portNames []string
			for _, d := range ofType(rp.res, "kubernetes:apps/v1:Deployment") {
				if value(d.Inputs, "metadata.namespace") != rp.cfg.AuthNamespace {
					continue
				}
				ports, _ := value(d.Inputs, "spec.template.spec.containers.0.ports").([]interface{})
				for _, p := range ports {
					if name, ok := p.(map[string]interface{})["name"].(string); ok {
						portNames = append(portNames, name)
					}
				}
			}
			assert.Contains(t, portNames, "metrics")

			ws := one(t, rp.res, "aws:amp/workspace:Workspace", "-metrics")
			require.Len(t, cfg.RemoteWrite, 1)
			assert.Equal(t, output(t, ws, "prometheusEndpoint")+"api/v1/remote_write", cfg.RemoteWrite[0].URL,
				"samples go to this region's workspace (AMP User Guide: <endpoint>api/v1/remote_write)")
			assert.Equal(t, rp.cfg.Region, cfg.RemoteWrite[0].SigV4.Region)

			policy := policyDoc(t, one(t, rp.res, "aws:iam/rolePolicy:RolePolicy", "-collector-irsa"), "policy")
			statements, _ := policy["Statement"].([]interface{})
			require.Len(t, statements, 1)
			st := statements[0].(map[string]interface{})
			assert.Equal(t, "Allow", st["Effect"])
			assert.ElementsMatch(t, []interface{}{"aps:RemoteWrite"}, asList(st["Action"]))
			assert.ElementsMatch(t, []interface{}{output(t, ws, "arn")}, asList(st["Resource"]), "this workspace only")

			role := kubeObject(t, rp.res, "kubernetes:rbac.authorization.k8s.io/v1:Role", rp.cfg.AuthNamespace, "-collector-discovery")
			rules, _ := value(role.Inputs, "rules").([]interface{})
			require.Len(t, rules, 1)
			assert.Equal(t, map[string]interface{}{
				"apiGroups": []interface{}{""}, "resources": []interface{}{"pods"}, "verbs": []interface{}{"list", "watch"},
			}, rules[0])
			for _, r := range ofType(rp.res, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") {
				assert.NotContains(t, r.Name, "collector", "nothing cluster-wide")
			}
		})
	}
}

// withoutKubernetesSD returns the configuration with each
// kubernetes_sd_configs block, once checked against its documented schema
// (prometheus.io configuration reference, kubernetes_sd_config: role,
// namespaces.names, selectors of role and label), replaced by an empty
// file_sd_configs: Debian builds Prometheus without Kubernetes discovery
// (its promtool answers "field kubernetes_sd_configs not found"), so it
// checks everything else: globals, the relabelling, remote write and
// SigV4, agent mode.
func withoutKubernetesSD(t *testing.T, text string) string {
	t.Helper()
	var doc map[string]interface{}
	require.NoError(t, yaml.Unmarshal([]byte(text), &doc))
	jobs, _ := doc["scrape_configs"].([]interface{})
	for _, j := range jobs {
		job := j.(map[string]interface{})
		sds, ok := job["kubernetes_sd_configs"].([]interface{})
		if !ok {
			continue
		}
		for _, sd := range sds {
			m := sd.(map[string]interface{})
			for k := range m {
				assert.Contains(t, []string{"role", "namespaces", "selectors"}, k, "kubernetes_sd_config field")
			}
			assert.Contains(t, []string{"node", "service", "pod", "endpoints", "endpointslice", "ingress"}, m["role"])
			ns, _ := m["namespaces"].(map[string]interface{})
			for k := range ns {
				assert.Contains(t, []string{"names", "own_namespace"}, k, "namespaces field")
			}
			sels, _ := m["selectors"].([]interface{})
			for _, sel := range sels {
				for k := range sel.(map[string]interface{}) {
					assert.Contains(t, []string{"role", "label", "field"}, k, "selectors field")
				}
			}
		}
		delete(job, "kubernetes_sd_configs")
		job["file_sd_configs"] = []interface{}{map[string]interface{}{"files": []interface{}{"targets.json"}}}
	}
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return string(out)
}

func asList(v interface{}) []interface{} {
	if l, ok := v.([]interface{}); ok {
		return l
	}
	return []interface{}{v}
}

// TestPrometheusRulesPassPromtool: the rule groups every workspace gets
// are valid Prometheus rules, name the seeds' alerts, and behave as
// tests/testdata/rules_test.yaml specifies (rendered for authReplicas 3,
// the shipped stacks' value); the alert manager sends to the region's
// alarm topic, whose policy lets AMP publish.
func TestPrometheusRulesPassPromtool(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			ns := one(t, rp.res, "aws:amp/ruleGroupNamespace:RuleGroupNamespace", "-metrics-rules")
			ws := one(t, rp.res, "aws:amp/workspace:Workspace", "-metrics")
			assert.Equal(t, ws.ID, str(t, ns, "workspaceId"))
			rules := str(t, ns, "data")
			for _, alert := range []string{"AuthenticationPodCount", "HighPodEvictionRate", "AuthDependencyDown",
				"AuthLoginFailureSurge", "AuthLockoutSurge", "AuthValidationLatencyHigh", "AuthSessionWritesUnreplicated"} {
				assert.Contains(t, rules, "- alert: "+alert+"\n")
			}
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rules), 0o600))
			promtool(t, "check", "rules", filepath.Join(dir, "rules.yaml"))
			require.Equal(t, 3, rp.cfg.Service.Replicas, "rules_test.yaml is written for authReplicas 3")
			spec, err := os.ReadFile(filepath.Join(repoRoot(t), "tests", "testdata", "rules_test.yaml"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "rules_test.yaml"), spec, 0o600))
			promtool(t, "test", "rules", filepath.Join(dir, "rules_test.yaml"))

			am := one(t, rp.res, "aws:amp/alertManagerDefinition:AlertManagerDefinition", "-metrics-alerts")
			assert.Equal(t, ws.ID, str(t, am, "workspaceId"))
			topic := one(t, rp.res, "aws:sns/topic:Topic", "-alarms")
			definition := str(t, am, "definition")
			assert.Contains(t, definition, "topic_arn: "+output(t, topic, "arn")+"\n")
			assert.Contains(t, definition, "region: "+rp.cfg.Region+"\n")

			// AMP User Guide, AMP-alertmanager-receiver-AMPpermission.html:
			// the topic policy allows aps.amazonaws.com sns:Publish.
			doc := policyDoc(t, one(t, rp.res, "aws:sns/topicPolicy:TopicPolicy", "-alarms"), "policy")
			allowsAPS := false
			for _, s := range doc["Statement"].([]interface{}) {
				st := s.(map[string]interface{})
				p, _ := st["Principal"].(map[string]interface{})
				if st["Effect"] == "Allow" && p != nil && assert.ObjectsAreEqual([]interface{}{"aps.amazonaws.com"}, asList(p["Service"])) {
					assert.Contains(t, asList(st["Action"]), "sns:Publish")
					allowsAPS = true
				}
			}
			assert.True(t, allowsAPS, "the alarm topic's policy lets aps.amazonaws.com publish")
		})
	}
}

// Metrics the dashboard may read, with the dimension names each is
// published under, as AWS documents them (a literal table: comparing with
// the code's own would not catch a wrong entry there):
//   - AWS/ApplicationELB: ELB User Guide, "CloudWatch metrics for your
//     Application Load Balancer", metric dimensions;
//   - AWS/WAFV2: WAF Developer Guide, "AWS WAF metrics and dimensions"
//     (Region, Rule, WebACL for a regional web ACL);
//   - AWS/ElastiCache: ElastiCache User Guide, "Host-level metrics" and
//     "Metrics for Valkey and Redis OSS" (CacheClusterId);
//   - AWS/RDS: Aurora User Guide, "Amazon CloudWatch metrics for Amazon
//     Aurora" (DBClusterIdentifier; Role for cluster-level by role).
var awsPublished = map[string][][]string{
	"AWS/ApplicationELB/RequestCount":               {{"LoadBalancer"}},
	"AWS/ApplicationELB/HTTPCode_ELB_5XX_Count":     {{"LoadBalancer"}},
	"AWS/ApplicationELB/HTTPCode_Target_5XX_Count":  {{"LoadBalancer", "TargetGroup"}},
	"AWS/ApplicationELB/TargetResponseTime":         {{"LoadBalancer", "TargetGroup"}},
	"AWS/ApplicationELB/HealthyHostCount":           {{"AvailabilityZone", "LoadBalancer", "TargetGroup"}, {"LoadBalancer", "TargetGroup"}},
	"AWS/ApplicationELB/UnHealthyHostCount":         {{"AvailabilityZone", "LoadBalancer", "TargetGroup"}, {"LoadBalancer", "TargetGroup"}},
	"AWS/WAFV2/BlockedRequests":                     {{"Region", "Rule", "WebACL"}},
	"AWS/WAFV2/CountedRequests":                     {{"Region", "Rule", "WebACL"}},
	"AWS/ElastiCache/EngineCPUUtilization":          {{"CacheClusterId"}},
	"AWS/ElastiCache/DatabaseMemoryUsagePercentage": {{"CacheClusterId"}},
	"AWS/RDS/CPUUtilization":                        {{"DBClusterIdentifier", "Role"}, {"DBClusterIdentifier"}},
	"AWS/RDS/AuroraReplicaLagMaximum":               {{"DBClusterIdentifier"}},
	"AWS/RDS/DatabaseConnections":                   {{"DBClusterIdentifier"}},
}

// TestDashboardReadsWhatTheStackPublishes: every stack region has a
// dashboard whose every metric is one AWS publishes under that namespace
// and those dimensions, with dimension values naming this region's own
// resources (its ALB, target group, zones, web ACL, cache nodes, Aurora
// cluster), or one of the stack's own log metric filters; it shows every
// alarm of the region and covers what issue 27 lists.
func TestDashboardReadsWhatTheStackPublishes(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			dash := one(t, rp.res, "aws:cloudwatch/dashboard:Dashboard", "-dashboard")
			var body struct {
				Widgets []struct {
					Type       string                 `json:"type"`
					Properties map[string]interface{} `json:"properties"`
				} `json:"widgets"`
			}
			require.NoError(t, json.Unmarshal([]byte(str(t, dash, "dashboardBody")), &body))

			// What this region's resources are called in their metrics.
			allowed := map[string]map[string]bool{}
			allow := func(dim string, vs ...string) {
				if allowed[dim] == nil {
					allowed[dim] = map[string]bool{}
				}
				for _, v := range vs {
					allowed[dim][v] = true
				}
			}
			allow("LoadBalancer", output(t, one(t, rp.res, "aws:lb/loadBalancer:LoadBalancer", "-alb"), "arnSuffix"))
			for _, tg := range ofType(rp.res, "aws:lb/targetGroup:TargetGroup") {
				allow("TargetGroup", output(t, tg, "arnSuffix"))
			}
			for _, s := range ofType(rp.res, "aws:ec2/subnet:Subnet") {
				allow("AvailabilityZone", str(t, s, "availabilityZone"))
			}
			for _, w := range ofType(rp.res, "aws:wafv2/webAcl:WebAcl") {
				allow("WebACL", str(t, w, "name"))
			}
			allow("Region", rp.cfg.Region)
			allow("Rule", "ALL")
			for _, g := range ofType(rp.res, "aws:elasticache/replicationGroup:ReplicationGroup") {
				id := str(t, g, "replicationGroupId")
				shards, ok := value(g.Inputs, "numNodeGroups").(float64)
				if !ok {
					// A global datastore's secondary takes the primary's
					// shards (ElastiCache API, CreateReplicationGroup with
					// GlobalReplicationGroupId).
					shards = float64(rp.cfg.Cache.Shards)
				}
				replicas, _ := value(g.Inputs, "replicasPerNodeGroup").(float64)
				// Node IDs of cluster mode: <group>-<shard:4>-<node:3>
				// (ElastiCache User Guide, "Finding connection endpoints").
				for s := 1; s <= int(shards); s++ {
					for n := 1; n <= int(replicas)+1; n++ {
						allow("CacheClusterId", fmt.Sprintf("%s-%04d-%03d", id, s, n))
					}
				}
			}
			for _, c := range ofType(rp.res, "aws:rds/cluster:Cluster") {
				allow("DBClusterIdentifier", str(t, c, "clusterIdentifier"))
			}
			allow("Role", "WRITER", "READER")
			// The stack's own metrics: its log metric filters.
			own := map[string][]string{}
			for _, f := range ofType(rp.res, "aws:cloudwatch/logMetricFilter:LogMetricFilter") {
				key := str(t, f, "metricTransformation.namespace") + "/" + str(t, f, "metricTransformation.name")
				dims, _ := value(f.Inputs, "metricTransformation.dimensions").(map[string]interface{})
				names := []string{}
				for k := range dims {
					names = append(names, k)
				}
				sort.Strings(names)
				own[key] = names
			}

			titles := map[string]bool{}
			seen := map[string]bool{}
			var alarms []string
			for _, w := range body.Widgets {
				title, _ := w.Properties["title"].(string)
				titles[title] = true
				if w.Type == "alarm" {
					for _, a := range w.Properties["alarms"].([]interface{}) {
						alarms = append(alarms, a.(string))
					}
					continue
				}
				require.Equal(t, "metric", w.Type)
				assert.Equal(t, rp.cfg.Region, w.Properties["region"], title)
				for _, raw := range w.Properties["metrics"].([]interface{}) {
					line := raw.([]interface{})
					if m, ok := line[0].(map[string]interface{}); ok {
						expr, _ := m["expression"].(string)
						matched := false
						for key := range own {
							i := strings.LastIndex(key, "/")
							if strings.Contains(expr, `Namespace="`+key[:i]+`"`) && strings.Contains(expr, `MetricName="`+key[i+1:]+`"`) {
								matched, seen[key] = true, true
							}
						}
						assert.True(t, matched, "%s: %s searches no metric the stack publishes", title, expr)
						continue
					}
					ns, name := line[0].(string), line[1].(string)
					key := ns + "/" + name
					seen[key] = true
					var dimNames []string
					for i := 2; i+1 < len(line); i += 2 {
						d, ok := line[i].(string)
						if !ok {
							break
						}
						v := line[i+1].(string)
						dimNames = append(dimNames, d)
						if allowed[d] != nil || own[key] == nil {
							assert.True(t, allowed[d][v], "%s: %s dimension %s=%q names none of this region's resources", title, key, d, v)
						}
					}
					sort.Strings(dimNames)
					if ownDims, ok := own[key]; ok {
						assert.Equal(t, ownDims, nonNil(dimNames), "%s: %s is published with dimensions %v", title, key, ownDims)
						continue
					}
					sets, ok := awsPublished[key]
					if !assert.True(t, ok, "%s: %s is not a metric the stack's resources publish", title, key) {
						continue
					}
					assert.Contains(t, sets, dimNames, "%s: %s is not published with dimensions %v", title, key, dimNames)
				}
			}

			for _, want := range []string{"AWS/ApplicationELB/RequestCount", "AWS/ApplicationELB/HTTPCode_Target_5XX_Count",
				"AWS/ApplicationELB/TargetResponseTime", "AWS/ApplicationELB/HealthyHostCount", "AWS/WAFV2/BlockedRequests",
				"AWS/ElastiCache/EngineCPUUtilization", "AWS/RDS/CPUUtilization"} {
				assert.True(t, seen[want], "the dashboard shows %s", want)
			}
			evictions := false
			for key := range seen {
				evictions = evictions || strings.HasSuffix(key, "/PodEvictionRequests")
			}
			assert.True(t, evictions, "the dashboard shows pod evictions")

			var want []string
			for _, a := range ofType(rp.res, "aws:cloudwatch/metricAlarm:MetricAlarm") {
				want = append(want, output(t, a, "arn"))
			}
			require.NotEmpty(t, want)
			assert.ElementsMatch(t, want, alarms, "the alarm widget shows every alarm of the region")
		})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
