package tests

// Settings whose value is the point, stated literally with the reason, so a
// changed constant or a dropped input fails here (issue 18.2).

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/stacks"
)

func TestAuthConfigMapCarriesTheContractAndTheBudget(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)
			data := value(c.cm.Inputs, "data").(map[string]interface{})
			cluster := one(t, c.res, "aws:rds/cluster:Cluster", "-aurora")
			// Shipped stacks keep the default budget: the longest request
			// and the shutdown are 25 s each (README, "Timing").
			assert.Equal(t, "25", data["REQUEST_TIMEOUT_SECONDS"])
			assert.Equal(t, "25", data["SHUTDOWN_TIMEOUT_SECONDS"])
			assert.Equal(t, "3600", data["SESSION_TTL_SECONDS"], "sessions live an hour unless configured")
			assert.Equal(t, "8080", data["PORT"], "the port the target group and probes use")
			assert.Equal(t, "auth", data["DB_NAME"])
			if isGlobalSecondary(cluster) {
				assert.Nil(t, value(cluster.Inputs, "databaseName"), "a secondary takes the global cluster's database")
			} else {
				assert.Equal(t, str(t, cluster, "databaseName"), data["DB_NAME"], "the database Aurora creates")
			}
			assert.Equal(t, "5432", data["DB_PORT"])
			assert.Equal(t, "true", data["REDIS_TLS"], "transit encryption is on")
			assert.Equal(t, "true", data["CLUSTER_ENABLED"], "cluster mode")
			assert.Equal(t, c.cfg.Region, data["AWS_REGION"])
			assert.Equal(t, true, value(c.cm.Inputs, "immutable"), "a new ConfigMap per change rolls the pods")
		})
	}
}

func TestAuthPodsRunAsTheImagesUserWithoutAKubernetesToken(t *testing.T) {
	c := planAuthChain(t, "dev")
	// The Kubernetes API token is not mounted: the service never calls the
	// API. IRSA's web identity token is projected by the pod identity
	// webhook regardless.
	assert.Equal(t, false, value(c.sa.Inputs, "automountServiceAccountToken"))
	annotations := value(c.sa.Inputs, "metadata.annotations").(map[string]interface{})
	assert.Equal(t, "true", annotations["eks.amazonaws.com/sts-regional-endpoints"], "STS in the pod's region, not us-east-1")
	assert.Regexp(t, `^arn:aws:iam::\d{12}:role/`, annotations["eks.amazonaws.com/role-arn"])
	for _, d := range c.deploys {
		spec := value(d.Inputs, "spec.template.spec").(map[string]interface{})
		assert.Equal(t, false, spec["automountServiceAccountToken"], d.Name)
		assert.Equal(t, float64(5), value(d.Inputs, "spec.revisionHistoryLimit"), d.Name)
		sec := spec["securityContext"].(map[string]interface{})
		// The restricted Pod Security level wants RuntimeDefault seccomp;
		// fsGroup lets the non-root process read the projected IRSA token.
		assert.Equal(t, map[string]interface{}{"type": "RuntimeDefault"}, sec["seccompProfile"], d.Name)
		assert.Equal(t, float64(10001), sec["fsGroup"], d.Name)
		assert.Equal(t, true, sec["runAsNonRoot"], d.Name)
		// UID and GID 10001: the user cmd/auth-service/Dockerfile creates.
		assert.Equal(t, float64(10001), sec["runAsUser"], d.Name)
		assert.Equal(t, float64(10001), sec["runAsGroup"], d.Name)
		ctr := spec["containers"].([]interface{})[0].(map[string]interface{})
		assert.Equal(t, "IfNotPresent", ctr["imagePullPolicy"], "the image is pinned by digest")
		// The Service's targetPort names "http"; TCP is stated so a
		// server-side apply diff never shows the API server's default.
		assert.Equal(t, []interface{}{
			map[string]interface{}{"name": "http", "containerPort": float64(8080), "protocol": "TCP"},
			map[string]interface{}{"name": "metrics", "containerPort": float64(9090), "protocol": "TCP"},
		}, ctr["ports"])
		get := func(path string) map[string]interface{} {
			return map[string]interface{}{"path": path, "port": float64(8080), "scheme": "HTTP"}
		}
		// Readiness: out of rotation after 2 failures 5 s apart (10 s).
		assert.Equal(t, map[string]interface{}{"httpGet": get("/health"), "periodSeconds": float64(5), "timeoutSeconds": float64(2),
			"successThreshold": float64(1), "failureThreshold": float64(2)}, ctr["readinessProbe"], d.Name)
		// Liveness: restarted only after 30 s of a hung process.
		assert.Equal(t, map[string]interface{}{"httpGet": get("/health/live"), "periodSeconds": float64(10), "timeoutSeconds": float64(2),
			"failureThreshold": float64(3)}, ctr["livenessProbe"], d.Name)
		// Startup: up to 24 x 5 s = 2 minutes for migrations and the first
		// connections before liveness counts.
		assert.Equal(t, map[string]interface{}{"httpGet": get("/health/live"), "periodSeconds": float64(5), "timeoutSeconds": float64(2),
			"failureThreshold": float64(24)}, ctr["startupProbe"], d.Name)
	}
	// Fixed object names: kubectl, runbooks and the policies find them.
	for _, r := range []*mocks.Resource{c.pdb, c.svc, c.sa} {
		assert.Equal(t, "auth", value(r.Inputs, "metadata.name"), r.Name)
		assert.Equal(t, "auth", value(r.Inputs, "metadata.namespace"), r.Name)
	}
	// The binding is named after its target group (issue 24: a new group's
	// binding is created beside the old one).
	assert.Regexp(t, `^auth-[0-9a-f]{16}$`, value(c.tgb.Inputs, "metadata.name"))
	assert.Equal(t, "auth", value(c.tgb.Inputs, "metadata.namespace"))
	labels := value(c.ns.Inputs, "metadata.labels").(map[string]interface{})
	assert.Equal(t, "enabled", labels["elbv2.k8s.aws/pod-readiness-gate-inject"], "LB controller docs, pod readiness gate")
	assert.Equal(t, "restricted", labels["pod-security.kubernetes.io/enforce"])
}

func TestALBSpeaksHTTP2ToClientsAndHTTP1ToPods(t *testing.T) {
	c := planAuthChain(t, "prod-us-east-1")
	assert.Equal(t, true, value(c.alb.Inputs, "enableHttp2"))
	assert.Equal(t, "HTTP1", str(t, c.tg, "protocolVersion"), "the service speaks HTTP/1.1")
	// Least outstanding requests keeps a slow pod from collecting a queue.
	assert.Equal(t, "least_outstanding_requests", str(t, c.tg, "loadBalancingAlgorithmType"))
}

func TestStatefulResourcesKeepTheirRecoveryWindows(t *testing.T) {
	for _, tc := range []struct {
		stack        string
		recoveryDays float64
		forceDestroy bool
	}{
		// Secrets Manager: 7 to 30 days of recovery; prod takes the most.
		{"dev", 7, true},
		{"prod-us-east-1", 30, false},
		{"prod-global", 30, false},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			res := planStack(t, tc.stack)
			for _, s := range nonEmpty(t, ofType(res, "aws:secretsmanager/secret:Secret"), "secret") {
				assert.Equal(t, tc.recoveryDays, value(s.Inputs, "recoveryWindowInDays"), s.Name)
			}
			for _, b := range nonEmpty(t, ofType(res, "aws:s3/bucketV2:BucketV2"), "bucket") {
				assert.Equal(t, tc.forceDestroy, value(b.Inputs, "forceDestroy"), "%s: only dev may destroy logs with the bucket", b.Name)
			}
			for _, l := range nonEmpty(t, ofType(res, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"), "bucket lifecycle") {
				rule := value(l.Inputs, "rules").([]interface{})[0].(map[string]interface{})
				assert.Equal(t, "Enabled", rule["status"])
				assert.Equal(t, map[string]interface{}{"daysAfterInitiation": float64(1)}, rule["abortIncompleteMultipartUpload"])
			}
			for _, typ := range []string{"aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance"} {
				for _, r := range nonEmpty(t, ofType(res, typ), typ) {
					assert.Equal(t, true, value(r.Inputs, "copyTagsToSnapshot"), "%s: snapshots keep the cost and owner tags", r.Name)
				}
			}
		})
	}
}

func TestClusterTakesOverCoreDNSAndOwnsItsOIDCProvider(t *testing.T) {
	res := planStack(t, "dev")
	c := one(t, res, "eks:index:Cluster", "-eks")
	assert.Equal(t, false, value(c.Inputs, "createOidcProvider"), "our own aws:iam/openIdConnectProvider, with a typed ARN")
	require.Len(t, ofType(res, "aws:iam/openIdConnectProvider:OpenIdConnectProvider"), 1)
	dns := one(t, res, "aws:eks/addon:Addon", "-coredns")
	// EKS pre-installs a self-managed CoreDNS for EC2; the add-on replaces it.
	assert.Equal(t, "OVERWRITE", str(t, dns, "resolveConflictsOnCreate"))
	assert.Equal(t, "OVERWRITE", str(t, dns, "resolveConflictsOnUpdate"))
	assert.Contains(t, str(t, dns, "configurationValues"), `"computeType":"Fargate"`)
	rel := one(t, res, "kubernetes:helm.sh/v3:Release", "-lbc")
	assert.Equal(t, float64(10), value(rel.Inputs, "maxHistory"), "Helm keeps ten revisions to roll back to")
	assert.Equal(t, map[string]interface{}{"fsGroup": float64(65534), "seccompProfile": map[string]interface{}{"type": "RuntimeDefault"}},
		value(rel.Inputs, "values.podSecurityContext"), "the chart's nobody group, and RuntimeDefault seccomp")
}

func TestNetworkSignalsAndDefensesLiterals(t *testing.T) {
	res := planStack(t, "prod-us-east-1")
	for _, nat := range nonEmpty(t, ofType(res, "aws:ec2/natGateway:NatGateway"), "NAT gateway") {
		assert.Equal(t, "public", str(t, nat, "connectivityType"), nat.Name)
	}
	for _, fl := range nonEmpty(t, ofType(res, "aws:ec2/flowLog:FlowLog"), "flow log") {
		assert.Equal(t, float64(60), value(fl.Inputs, "maxAggregationInterval"), "one-minute records, the shortest")
		assert.Equal(t, "ALL", str(t, fl, "trafficType"))
	}
	for _, d := range ofType(res, "aws:guardduty/detector:Detector") {
		assert.Equal(t, "FIFTEEN_MINUTES", str(t, d, "findingPublishingFrequency"), "the shortest GuardDuty offers")
	}
	for _, s := range nonEmpty(t, ofType(res, "aws:ec2/subnet:Subnet"), "subnet") {
		tags := value(s.Inputs, "tags").(map[string]interface{})
		if strings.Contains(s.Name, "-public-") {
			assert.Equal(t, "1", tags["kubernetes.io/role/elb"], "LB controller subnet discovery: %s", s.Name)
		} else {
			assert.Equal(t, "1", tags["kubernetes.io/role/internal-elb"], s.Name)
		}
	}
	acls := nonEmpty(t, ofType(res, "aws:wafv2/webAcl:WebAcl"), "web ACL")
	for _, acl := range acls {
		priorities := map[float64]string{}
		for _, r := range value(acl.Inputs, "rules").([]interface{}) {
			rule := r.(map[string]interface{})
			p := rule["priority"].(float64)
			assert.NotContains(t, priorities, p, "WAF refuses two rules of one priority")
			priorities[p] = rule["name"].(string)
			vis := rule["visibilityConfig"].(map[string]interface{})
			assert.Equal(t, true, vis["cloudwatchMetricsEnabled"], rule["name"])
			assert.Equal(t, true, vis["sampledRequestsEnabled"], rule["name"])
		}
		assert.GreaterOrEqual(t, len(priorities), 2)
		vis := value(acl.Inputs, "visibilityConfig").(map[string]interface{})
		assert.Equal(t, true, vis["cloudwatchMetricsEnabled"])
		assert.Equal(t, true, vis["sampledRequestsEnabled"])
	}
}

func TestEveryAlarmIsTheOneThisTableStates(t *testing.T) {
	// Pattern (in the alarm's name) -> statistic ("" for metric math and
	// percentiles, which set none), period (0: set per query), breaching
	// periods, threshold, operator and what missing data means.
	type alarm struct {
		pattern, stat   string
		period, periods float64
		threshold       float64
		op, missing     string
	}
	const gt, lt = "GreaterThanThreshold", "LessThanThreshold"
	table := []alarm{
		// The worst minute; no data means no targets reported.
		{"-auth-healthy-targets", "Minimum", 60, 2, 2, lt, "breaching"},
		{"-auth-target-5xx", "", 0, 3, 1, gt, "notBreaching"},
		{"-auth-elb-5xx", "", 0, 3, 1, gt, "notBreaching"},
		{"-auth-response-time-p99", "", 60, 3, 1, gt, "notBreaching"},
		// A silent node or writer is an outage: missing data breaches.
		{"-cache-cpu-", "Average", 300, 3, 80, gt, "breaching"},
		{"-cache-memory-", "Maximum", 300, 3, 80, gt, "notBreaching"},
		{"-db-writer-cpu", "Average", 300, 3, 80, gt, "breaching"},
		{"-db-reader-cpu", "Average", 300, 3, 80, gt, "breaching"},
		{"-db-replica-lag", "Maximum", 60, 3, 2000, gt, "notBreaching"},
		{"-db-global-replication-lag", "Maximum", 60, 3, 10000, gt, "notBreaching"},
		{"-db-acu-utilization", "Maximum", 300, 3, 90, gt, "notBreaching"},
		// Counts of events over five minutes.
		{"-HighPodEvictionRate", "Sum", 300, 1, 30, gt, "notBreaching"},
		{"-waf-blocked-requests", "Sum", 300, 1, 100, gt, "notBreaching"},
		// Count mode: what block would stop, per managed group (a Metrics
		// Insights query, its period on the query) and for the rate rule.
		{"-waf-counted-awsmanagedrules", "", 0, 1, 100, gt, "notBreaching"},
		{"-waf-counted-login-rate-per-ip", "Sum", 300, 1, 100, gt, "notBreaching"},
		// The service's dependency_down lines, per minute (a Metrics
		// Insights query, which carries the period): two minutes running.
		{"-dependency-down-", "", 0, 2, 1, "GreaterThanOrEqualToThreshold", "notBreaching"},
		// The service's audit events: failed or refused logins in five
		// minutes, three times what one address gets through the WAF.
		{"-login-failure-surge", "Sum", 300, 1, 300, "GreaterThanOrEqualToThreshold", "notBreaching"},
	}
	for stack, res := range allPlans(t) {
		t.Run(stack, func(t *testing.T) {
			for _, a := range nonEmpty(t, ofType(res, alarmType), "alarm") {
				var matched []alarm
				for _, row := range table {
					if strings.Contains(a.Name, row.pattern) {
						matched = append(matched, row)
					}
				}
				require.Len(t, matched, 1, "alarm %s must match one row of this table", a.Name)
				row := matched[0]
				if row.stat == "" {
					assert.Nil(t, value(a.Inputs, "statistic"), a.Name)
				} else {
					assert.Equal(t, row.stat, value(a.Inputs, "statistic"), a.Name)
				}
				if row.period == 0 {
					assert.Nil(t, value(a.Inputs, "period"), a.Name)
				} else {
					assert.Equal(t, row.period, value(a.Inputs, "period"), a.Name)
				}
				assert.Equal(t, row.periods, value(a.Inputs, "evaluationPeriods"), a.Name)
				assert.Equal(t, row.threshold, value(a.Inputs, "threshold"), a.Name)
				assert.Equal(t, row.op, value(a.Inputs, "comparisonOperator"), a.Name)
				assert.Equal(t, row.missing, value(a.Inputs, "treatMissingData"), a.Name)
				assert.NotEmpty(t, value(a.Inputs, "alarmDescription"), a.Name)
			}
		})
	}
}

func TestFailoverHealthChecksDoNotPayForLatency(t *testing.T) {
	res := planStack(t, "prod-global")
	for _, hc := range nonEmpty(t, ofType(res, "aws:route53/healthCheck:HealthCheck"), "health check") {
		assert.Equal(t, false, value(hc.Inputs, "measureLatency"), "failover routing needs no latency data")
		assert.Equal(t, "/health", str(t, hc, "resourcePath"))
		assert.Equal(t, true, value(hc.Inputs, "enableSni"))
	}
	grg := ofType(res, "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup")
	require.Len(t, grg, 1)
	assert.NotEmpty(t, str(t, grg[0], "globalReplicationGroupDescription"))
}

func TestEverythingInAVPCIsInThisRegionsVPC(t *testing.T) {
	mustHaveVPC := []string{
		"aws:ec2/internetGateway:InternetGateway", "aws:ec2/routeTable:RouteTable", "aws:ec2/subnet:Subnet",
		"aws:ec2/securityGroup:SecurityGroup", targetGroupTyp, "aws:ec2/flowLog:FlowLog",
	}
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			vpcs := ofType(rp.res, "aws:ec2/vpc:Vpc")
			require.Len(t, vpcs, 1)
			vpcID := vpcs[0].ID
			for _, typ := range mustHaveVPC {
				for _, r := range nonEmpty(t, ofType(rp.res, typ), typ) {
					assert.Equal(t, vpcID, value(r.Inputs, "vpcId"), "%s %s", typ, r.Name)
				}
			}
			checked := 0
			for _, r := range rp.res.Resources {
				if v := value(r.Inputs, "vpcId"); v != nil {
					checked++
					assert.Equal(t, vpcID, v, "%s %s", r.Type, r.Name)
				}
			}
			assert.Greater(t, checked, len(mustHaveVPC))
		})
	}
}

func TestSecurityGroupDescriptionsAreFixed(t *testing.T) {
	// EC2 cannot change a group's description: a new one replaces the group
	// (and every rule and attachment with it). So they are stated here, and
	// say what the group admits.
	want := map[string]string{
		"-cache":     "ElastiCache %s: 6379 from the auth pods only",
		"-db":        "Aurora %s: 5432 from the auth pods only",
		"-alb":       "Auth ALB: HTTP(S) from anywhere, to the auth pods only",
		"-auth-pods": "Auth service pods (SecurityGroupPolicy): the only client of Redis and Aurora",
	}
	rules := map[string]string{
		"-cache-from-clients": "Redis protocol from the auth pods",
		"-db-from-clients":    "PostgreSQL from the auth pods",
		"-alb-to-pods":        "auth pods: traffic and health checks",
		"-alb-in-443":         "clients on 443",
		"-alb-in-80":          "clients on 80",
	}
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			prefix := stacks.RegionNamer(rp.cfg, rp.cfg.Region).Prefix()
			for suffix, desc := range want {
				if strings.Contains(desc, "%s") {
					desc = fmt.Sprintf(desc, prefix)
				}
				assert.Equal(t, desc, str(t, one(t, rp.res, "aws:ec2/securityGroup:SecurityGroup", suffix), "description"))
			}
			for suffix, desc := range rules {
				if rp.cfg.Service.CertificateArn == "" && suffix == "-alb-in-443" {
					continue
				}
				var found []*mocks.Resource
				for _, typ := range []string{"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"} {
					for _, r := range ofType(rp.res, typ) {
						if strings.HasSuffix(r.Name, suffix) {
							found = append(found, r)
						}
					}
				}
				require.Len(t, found, 1, suffix)
				assert.Equal(t, desc, str(t, found[0], "description"), found[0].Name)
			}
		})
	}
}

func TestSmallSettingsThatDecideBehaviour(t *testing.T) {
	res := planStack(t, "prod-global")
	for _, o := range nonEmpty(t, ofType(res, "aws:s3/bucketOwnershipControls:BucketOwnershipControls"), "ownership controls") {
		assert.Equal(t, "BucketOwnerEnforced", value(o.Inputs, "rule.objectOwnership"), "ACLs off (S3 user guide, Object Ownership)")
	}
	for _, s := range nonEmpty(t, ofType(res, "aws:sns/topicSubscription:TopicSubscription"), "subscription") {
		assert.Equal(t, "email", str(t, s, "protocol"))
	}
	for _, f := range nonEmpty(t, ofType(res, "aws:guardduty/detectorFeature:DetectorFeature"), "GuardDuty feature") {
		assert.Equal(t, "EKS_AUDIT_LOGS", str(t, f, "name"))
		assert.Equal(t, "ENABLED", str(t, f, "status"))
	}
	for _, mf := range nonEmpty(t, ofType(res, "aws:cloudwatch/logMetricFilter:LogMetricFilter"), "metric filter") {
		assert.Equal(t, "Count", value(mf.Inputs, "metricTransformation.unit"), mf.Name)
		assert.Equal(t, "1", value(mf.Inputs, "metricTransformation.value"), "each matching audit event counts once")
	}
	for _, tgb := range nonEmpty(t, ofType(res, tgbType), "TargetGroupBinding") {
		assert.Equal(t, "ipv4", value(tgb.Inputs, "spec.ipAddressType"), "the target group's address type")
		assert.Equal(t, "ip", value(tgb.Inputs, "spec.targetType"))
	}
	for _, alb := range nonEmpty(t, ofType(res, albType), "ALB") {
		assert.Equal(t, "ipv4", str(t, alb, "ipAddressType"))
	}
	for _, stack := range []string{"dev", "prod-us-east-1"} {
		for _, l := range nonEmpty(t, ofType(planStack(t, stack), listenerType), "listener") {
			want := map[float64]string{80: "HTTP", 443: "HTTPS"}[value(l.Inputs, "port").(float64)]
			assert.Equal(t, want, value(l.Inputs, "protocol"), "%s %s states its protocol", stack, l.Name)
		}
	}
	for _, l := range nonEmpty(t, ofType(res, listenerType), "listener") {
		if str(t, l, "protocol") == "HTTP" {
			redirect := value(l.Inputs, "defaultActions").([]interface{})[0].(map[string]interface{})["redirect"].(map[string]interface{})
			assert.Equal(t, "443", redirect["port"], "to the HTTPS listener")
		}
	}
	for _, rel := range nonEmpty(t, ofType(res, "kubernetes:helm.sh/v3:Release"), "release") {
		// Requests equal limits, so Fargate sizes the pod at 0.25 vCPU, 1 GiB.
		want := map[string]interface{}{"cpu": "250m", "memory": "512Mi"}
		assert.Equal(t, want, value(rel.Inputs, "values.resources.requests"))
		assert.Equal(t, want, value(rel.Inputs, "values.resources.limits"))
		spread := value(rel.Inputs, "values.topologySpreadConstraints").([]interface{})[0].(map[string]interface{})
		assert.Equal(t, "topology.kubernetes.io/zone", spread["topologyKey"])
		assert.Equal(t, "ScheduleAnyway", spread["whenUnsatisfiable"], "Fargate ignores it; DoNotSchedule would only block")
		assert.Equal(t, float64(1), spread["maxSkew"])
	}
	for _, acl := range nonEmpty(t, ofType(res, "aws:wafv2/webAcl:WebAcl"), "web ACL") {
		assert.Equal(t, "REGIONAL", str(t, acl, "scope"), "an ALB's ACL is regional")
		var rate map[string]interface{}
		for _, r := range value(acl.Inputs, "rules").([]interface{}) {
			if rule := r.(map[string]interface{}); rule["name"] == "login-rate-per-ip" {
				rate = rule["statement"].(map[string]interface{})["rateBasedStatement"].(map[string]interface{})
			}
		}
		require.NotNil(t, rate, "the login rate rule")
		for _, r := range value(acl.Inputs, "rules").([]interface{}) {
			if rule := r.(map[string]interface{}); rule["name"] == "login-rate-per-ip" {
				assert.Equal(t, float64(1), rule["priority"], "the rate rule runs first, before the managed groups")
			}
		}
		assert.Equal(t, "IP", rate["aggregateKeyType"])
		assert.Equal(t, map[string]interface{}{"byteMatchStatement": map[string]interface{}{
			"fieldToMatch":         map[string]interface{}{"uriPath": map[string]interface{}{}},
			"positionalConstraint": "STARTS_WITH",
			"searchString":         "/v1/login",
			// Lowercased first, so /V1/LOGIN is counted too.
			"textTransformations": []interface{}{map[string]interface{}{"priority": float64(0), "type": "LOWERCASE"}},
		}}, rate["scopeDownStatement"])
	}
}

func TestStackOutputsAreWhatTheResourcesSay(t *testing.T) {
	c := planAuthChain(t, "dev")
	out := c.res.Outputs
	eks := one(t, c.res, "eks:index:Cluster", "-eks")
	assert.Equal(t, "us-east-1", out["region"])
	assert.Equal(t, str(t, eks, "name"), out["clusterName"])
	assert.Equal(t, "auth", out["authNamespace"])
	assert.Equal(t, c.tg.Outputs["arn"].StringValue(), out["targetGroupArn"])
	assert.Equal(t, c.alb.Outputs["dnsName"].StringValue(), out["albDnsName"])
	assert.Equal(t, "http://"+c.alb.Outputs["dnsName"].StringValue(), out["authUrl"], "dev serves plain HTTP")
	assert.Equal(t, one(t, c.res, "aws:ec2/vpc:Vpc", "-vpc").ID, out["vpcId"])
	// The timing an operator reads back: the default budget's 30/60/90.
	assert.Equal(t, float64(30), out["deregistrationDelay"])
	assert.Equal(t, float64(60), out["preStopSleepSeconds"])
	assert.Equal(t, float64(90), out["gracePeriodSeconds"])
	assert.Equal(t, float64(6379), out["cachePort"])
	assert.Equal(t, float64(5432), out["dbPort"])

	prod := planAuthChain(t, "prod-us-east-1")
	assert.Regexp(t, `^https://`, prod.res.Outputs["authUrl"], "prod serves HTTPS")

	global := planStack(t, "prod-global")
	assert.Equal(t, "us-east-1", global.Outputs["primaryRegion"])
	assert.Equal(t, "auth.example.com", global.Outputs["authHostname"])
	gc := ofType(global, "aws:rds/globalCluster:GlobalCluster")
	require.Len(t, gc, 1)
	assert.Equal(t, str(t, gc[0], "globalClusterIdentifier"), global.Outputs["globalClusterId"])
	regions, ok := global.Outputs["regions"].(map[string]interface{})
	require.True(t, ok)
	assert.ElementsMatch(t, []string{"us-east-1", "us-west-2"}, keys(regions))
}

func keys(m map[string]interface{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAuthSecretsPolicyNamesEachSecretAndKeyOnce(t *testing.T) {
	const (
		db    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
		cache = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cache-GhIjKl"
		k1    = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111"
		k2    = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222"
	)
	for _, tc := range []struct {
		name      string
		db, cache string
		keys      []string
		secrets   []string
		wantKeys  []string
	}{
		{"two secrets, two keys", db, cache, []string{k2, k1}, []string{cache, db}, []string{k1, k2}},
		{"one key for both (a given cacheKmsKeyArn)", db, cache, []string{k1, k1}, []string{cache, db}, []string{k1}},
		{"a key not known here is left out", db, cache, []string{k1, ""}, []string{cache, db}, []string{k1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := authservice.SecretsPolicy("us-east-1", tc.db, tc.cache, tc.keys...)
			require.Len(t, doc.Statement, 2)
			assert.Equal(t, tc.secrets, doc.Statement[0].Resource)
			assert.Equal(t, tc.wantKeys, doc.Statement[1].Resource)
		})
	}
}

func TestEveryTaggableResourceCarriesTheStacksTags(t *testing.T) {
	// Every AWS type the platform creates that takes tags (cost
	// allocation, ownership and the Stack filter in the console rely on
	// them); the untaggable ones (routes, associations, policies,
	// subscriptions, ...) are not listed.
	taggable := []string{
		"aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm",
		"aws:ec2/eip:Eip", "aws:ec2/flowLog:FlowLog", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway",
		"aws:ec2/routeTable:RouteTable", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/subnet:Subnet", "aws:ec2/vpc:Vpc",
		"aws:ecr/repository:Repository", "aws:eks/accessEntry:AccessEntry", "aws:eks/addon:Addon", "aws:eks/fargateProfile:FargateProfile",
		"aws:elasticache/parameterGroup:ParameterGroup", "aws:elasticache/replicationGroup:ReplicationGroup",
		"aws:elasticache/subnetGroup:SubnetGroup", "aws:guardduty/detector:Detector",
		"aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/policy:Policy", "aws:iam/role:Role", "aws:kms/key:Key",
		"aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule", "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup",
		"aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance", "aws:rds/clusterParameterGroup:ClusterParameterGroup",
		"aws:rds/subnetGroup:SubnetGroup", "aws:route53/healthCheck:HealthCheck", "aws:s3/bucketV2:BucketV2",
		"aws:secretsmanager/secret:Secret", "aws:sns/topic:Topic", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
		"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:wafv2/webAcl:WebAcl",
	}
	env := map[string]string{"dev": "dev", "prod-us-east-1": "prod", "prod-global": "prod"}
	seen := map[string]bool{}
	for stack, res := range allPlans(t) {
		want := map[string]interface{}{
			"Project": "auth-platform", "Stack": stack, "Environment": env[stack], "ManagedBy": "pulumi", "app.kubernetes.io/part-of": "auth",
		}
		for _, typ := range taggable {
			for _, r := range ofType(res, typ) {
				seen[typ] = true
				tags, ok := value(r.Inputs, "tags").(map[string]interface{})
				if !assert.True(t, ok, "%s: %s %s has no tags", stack, typ, r.Name) {
					continue
				}
				for k, v := range want {
					assert.Equal(t, v, tags[k], "%s: %s %s tag %s", stack, typ, r.Name, k)
				}
			}
		}
		// The EKS cluster takes its tags through pulumi-eks.
		for _, c := range nonEmpty(t, ofType(res, "eks:index:Cluster"), "EKS cluster") {
			tags := value(c.Inputs, "clusterTags").(map[string]interface{})
			for k, v := range want {
				assert.Equal(t, v, tags[k], "%s: %s clusterTags %s", stack, c.Name, k)
			}
		}
	}
	for _, typ := range taggable {
		assert.True(t, seen[typ], "no shipped stack has a %s: drop it from the list", typ)
	}
}

func TestGlobalAndEdgeResourcesKeepTheirSafeties(t *testing.T) {
	res := planStack(t, "prod-global")
	gc := ofType(res, "aws:rds/globalCluster:GlobalCluster")
	require.Len(t, gc, 1)
	// Members of an encrypted global cluster must be encrypted too; AWS
	// takes this only at creation.
	assert.Equal(t, true, value(gc[0].Inputs, "storageEncrypted"))
	assert.Equal(t, "aurora-postgresql", str(t, gc[0], "engine"))
	for _, eip := range nonEmpty(t, ofType(res, "aws:ec2/eip:Eip"), "Elastic IP") {
		assert.Equal(t, "vpc", str(t, eip, "domain"), eip.Name)
	}
	acls := map[string]bool{}
	for _, acl := range nonEmpty(t, ofType(res, "aws:wafv2/webAcl:WebAcl"), "web ACL") {
		acls[acl.Outputs["arn"].StringValue()] = true
	}
	for _, lc := range nonEmpty(t, ofType(res, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"), "WAF logging") {
		assert.True(t, acls[str(t, lc, "resourceArn")], "%s logs an ACL of this stack", lc.Name)
	}
	for _, a := range nonEmpty(t, ofType(res, "aws:wafv2/webAclAssociation:WebAclAssociation"), "WAF association") {
		assert.True(t, acls[str(t, a, "webAclArn")], "%s associates an ACL of this stack", a.Name)
	}
}
