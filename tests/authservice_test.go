package tests

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/ingress"
	"github.com/authplatform/auth-platform/stacks"
)

const (
	deploymentType = "kubernetes:apps/v1:Deployment"
	serviceType    = "kubernetes:core/v1:Service"
	pdbType        = "kubernetes:policy/v1:PodDisruptionBudget"
	tgbType        = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
	namespaceType  = "kubernetes:core/v1:Namespace"
	configMapType  = "kubernetes:core/v1:ConfigMap"
	saType         = "kubernetes:core/v1:ServiceAccount"
	targetGroupTyp = "aws:lb/targetGroup:TargetGroup"
	albType        = "aws:lb/loadBalancer:LoadBalancer"
	listenerType   = "aws:lb/listener:Listener"
	alarmType      = "aws:cloudwatch/metricAlarm:MetricAlarm"
)

// authChain is the auth service's objects in one planned stack.
type authChain struct {
	res                                   *mocks.Result
	cfg                                   *stacks.Config
	deploy, svc, pdb, tgb, ns, cm, sa, tg *mocks.Resource
	alb, albSG, sgp, podSG                *mocks.Resource
	// deploys are the per-zone Deployments in zone order; deploy is the
	// first zone's.
	deploys []*mocks.Resource
}

// zoneDeployments returns the auth Deployments of a plan, one per zone, in
// the order of the network's zones.
func zoneDeployments(t *testing.T, res *mocks.Result, zones []string) []*mocks.Resource {
	t.Helper()
	var out []*mocks.Resource
	for _, zone := range zones {
		out = append(out, one(t, res, deploymentType, "-auth-deploy-"+zone))
	}
	require.Len(t, ofType(res, deploymentType), len(zones), "one auth Deployment per zone and no other")
	return out
}

func planAuthChain(t *testing.T, stack string) authChain {
	t.Helper()
	raw, _ := stackConfig(t, stack)
	cfg, err := stacks.Load(project, stack, stacks.MapSource(raw))
	require.NoError(t, err)
	return authChainOf(t, regionPlan{name: stack, cfg: cfg, res: planStack(t, stack)})
}

func authChainOf(t *testing.T, rp regionPlan) authChain {
	t.Helper()
	res, cfg := rp.res, rp.cfg
	deploys := zoneDeployments(t, res, planZones(t, res))
	return authChain{
		res: res, cfg: cfg, deploys: deploys,
		deploy: deploys[0],
		sgp:    one(t, res, sgpType, "-auth-sgp"),
		podSG:  one(t, res, "aws:ec2/securityGroup:SecurityGroup", "-auth-pods"),
		svc:    one(t, res, serviceType, "-auth-svc"),
		pdb:    one(t, res, pdbType, "-auth-pdb"),
		tgb:    one(t, res, tgbType, "-auth-tgb"),
		ns:     one(t, res, namespaceType, "-auth-ns"),
		cm:     one(t, res, configMapType, "-auth-config"),
		sa:     one(t, res, saType, "-auth-sa"),
		tg:     one(t, res, targetGroupTyp, "-tg"),
		alb:    one(t, res, albType, "-alb"),
		albSG:  one(t, res, "aws:ec2/securityGroup:SecurityGroup", "-alb"),
	}
}

func (c authChain) container(t *testing.T) map[string]interface{} {
	t.Helper()
	cs, ok := value(c.deploy.Inputs, "spec.template.spec.containers").([]interface{})
	require.True(t, ok)
	require.Len(t, cs, 1)
	return cs[0].(map[string]interface{})
}

func (c authChain) firstMap(t *testing.T, r *mocks.Resource, path string) map[string]interface{} {
	t.Helper()
	list, ok := value(r.Inputs, path).([]interface{})
	require.True(t, ok, "%s: %s is not a list", r.Name, path)
	require.NotEmpty(t, list)
	return list[0].(map[string]interface{})
}

func TestAuthChainIsWiredEndToEnd(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)

			// TGB → target group.
			assert.Equal(t, c.tg.Outputs["arn"].StringValue(), str(t, c.tgb, "spec.targetGroupARN"))
			assert.Equal(t, "ip", str(t, c.tgb, "spec.targetType"))
			assert.Equal(t, "ip", str(t, c.tg, "targetType"))

			// TGB → Service: same name, same port.
			assert.Equal(t, str(t, c.svc, "metadata.name"), str(t, c.tgb, "spec.serviceRef.name"))
			svcPort := c.firstMap(t, c.svc, "spec.ports")
			assert.Equal(t, svcPort["port"], value(c.tgb.Inputs, "spec.serviceRef.port"))
			assert.Equal(t, float64(authservice.ServicePort), svcPort["port"])
			assert.Equal(t, "ClusterIP", str(t, c.svc, "spec.type"))

			// Service selector = PDB selector = SecurityGroupPolicy pod
			// selector: every zone's pods. Each zone's Deployment selects
			// that plus its zone label, and its pods carry both.
			selector := value(c.svc.Inputs, "spec.selector").(map[string]interface{})
			require.NotEmpty(t, selector)
			assert.NotContains(t, selector, authservice.ZoneLabel)
			assert.Equal(t, selector, value(c.pdb.Inputs, "spec.selector.matchLabels"))
			assert.Equal(t, selector, value(c.sgp.Inputs, "spec.podSelector.matchLabels"))
			for i, d := range c.deploys {
				zone := planZones(t, c.res)[i]
				want := map[string]interface{}{authservice.ZoneLabel: zone}
				for k, v := range selector {
					want[k] = v
				}
				assert.Equal(t, want, value(d.Inputs, "spec.selector.matchLabels"), d.Name)
				podLabels := value(d.Inputs, "spec.template.metadata.labels").(map[string]interface{})
				for k, v := range want {
					assert.Equal(t, v, podLabels[k], "%s: pod label %s", d.Name, k)
				}
			}

			// Container port = Service targetPort = target group port =
			// health-check port; health-check path = readiness path.
			containerPort := c.container(t)["ports"].([]interface{})[0].(map[string]interface{})["containerPort"]
			assert.Equal(t, float64(ingress.TargetPort), containerPort)
			assert.Equal(t, containerPort, svcPort["targetPort"])
			assert.Equal(t, containerPort, value(c.tg.Inputs, "port"))
			assert.Equal(t, strconv.Itoa(int(containerPort.(float64))), str(t, c.tg, "healthCheck.port"))
			readiness := c.container(t)["readinessProbe"].(map[string]interface{})["httpGet"].(map[string]interface{})
			assert.Equal(t, str(t, c.tg, "healthCheck.path"), readiness["path"])
			assert.Equal(t, containerPort, readiness["port"])

			// ALB → pods: the binding opens the pods' group to the ALB's on
			// the container port; the ALB's group may reach the pods' group
			// on that port only.
			ing := c.firstMap(t, c.tgb, "spec.networking.ingress")
			from := ing["from"].([]interface{})[0].(map[string]interface{})["securityGroup"].(map[string]interface{})
			assert.Equal(t, c.albSG.ID, from["groupID"])
			ports := ing["ports"].([]interface{})[0].(map[string]interface{})
			assert.Equal(t, containerPort, ports["port"])
			assert.Equal(t, "TCP", ports["protocol"])
			egress := one(t, c.res, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "-alb-to-pods")
			assert.Equal(t, c.albSG.ID, str(t, egress, "securityGroupId"))
			assert.Equal(t, containerPort, value(egress.Inputs, "fromPort"))
			assert.Equal(t, containerPort, value(egress.Inputs, "toPort"))
			assert.Equal(t, c.podSG.ID, str(t, egress, "referencedSecurityGroupId"), "the ALB reaches the auth pods' own security group")

			// Everything in the labelled namespace.
			ns := str(t, c.ns, "metadata.name")
			assert.Equal(t, c.cfg.AuthNamespace, ns)
			assert.Equal(t, "enabled", value(c.ns.Inputs, "metadata.labels").(map[string]interface{})[authservice.ReadinessGateLabel])
			for _, r := range append([]*mocks.Resource{c.svc, c.pdb, c.tgb, c.cm, c.sa, c.sgp}, c.deploys...) {
				assert.Equal(t, ns, str(t, r, "metadata.namespace"), r.Name)
			}
		})
	}
}

func TestAuthObjectsWaitForWhatTheyNeed(t *testing.T) {
	c := planAuthChain(t, "dev")
	release := one(t, c.res, releaseType, "-lbc")
	coredns := one(t, c.res, "aws:eks/addon:Addon", "-coredns")

	assert.Contains(t, c.tgb.DependsOn, release.URN, "the controller's webhook must serve before the binding is created")
	for i, d := range c.deploys {
		profile := one(t, c.res, profileType, "-fp-auth-"+planZones(t, c.res)[i])
		// Fargate gives a pod the policy's groups only if the policy
		// exists when the pod is created.
		for _, dep := range []*mocks.Resource{c.tgb, c.svc, c.sgp, profile, coredns} {
			assert.Contains(t, d.Dependencies, dep.URN, "%s: pods must not start before %s", d.Name, dep.Name)
		}
	}
	k8s := one(t, c.res, "pulumi:providers:kubernetes", "-k8s")
	for _, r := range append([]*mocks.Resource{c.svc, c.pdb, c.tgb, c.ns, c.cm, c.sa, c.sgp}, c.deploys...) {
		assert.Equal(t, k8s.URN, r.Provider, "%s uses the cluster's provider", r.Name)
	}
	aws := one(t, c.res, "pulumi:providers:aws", "-aws")
	for _, r := range []*mocks.Resource{c.tg, c.alb, one(t, c.res, "aws:iam/role:Role", "-auth-irsa")} {
		assert.Equal(t, aws.URN, r.Provider, "%s uses the regional provider", r.Name)
	}
}

func TestAuthDeploymentIsBuiltForZeroDowntime(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)
			d, tm := c.deploy, c.cfg.Service.Timing

			// The replicas are split over the zones' Deployments, each
			// rolling without ever lowering its zone's ready pods.
			total := 0
			for _, zd := range c.deploys {
				n := int(value(zd.Inputs, "spec.replicas").(float64))
				assert.GreaterOrEqual(t, n, 1, "%s: every zone keeps a pod", zd.Name)
				total += n
				assert.Equal(t, "RollingUpdate", str(t, zd, "spec.strategy.type"))
				assert.Equal(t, float64(0), value(zd.Inputs, "spec.strategy.rollingUpdate.maxUnavailable"), zd.Name)
				assert.Equal(t, float64(1), value(zd.Inputs, "spec.strategy.rollingUpdate.maxSurge"), zd.Name)
				assert.Nil(t, value(zd.Inputs, "spec.template.spec.topologySpreadConstraints"), "Fargate ignores spread constraints; none pretends otherwise")
			}
			assert.Equal(t, c.cfg.Service.Replicas, total)
			assert.GreaterOrEqual(t, c.cfg.Service.Replicas, authservice.MinReplicas)

			ctr := c.container(t)
			assert.Regexp(t, `^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9-]+@sha256:[0-9a-f]{64}$`, ctr["image"],
				"shipped stacks run their own build, by digest (tests/image_test.go)")
			probePath := func(kind string) string {
				return ctr[kind].(map[string]interface{})["httpGet"].(map[string]interface{})["path"].(string)
			}
			assert.Equal(t, "/health", probePath("readinessProbe"))
			assert.Equal(t, "/health/live", probePath("livenessProbe"))
			assert.Equal(t, "/health/live", probePath("startupProbe"))

			// Timing: the Deployment and the target group carry the one
			// derived budget, and it holds its invariants.
			require.NoError(t, tm.Check())
			sleep := ctr["lifecycle"].(map[string]interface{})["preStop"].(map[string]interface{})["sleep"].(map[string]interface{})["seconds"]
			assert.Equal(t, float64(tm.PreStopSleepSeconds), sleep)
			assert.Equal(t, float64(tm.TerminationGracePeriodSeconds), value(d.Inputs, "spec.template.spec.terminationGracePeriodSeconds"))
			assert.Equal(t, float64(tm.DeregistrationDelaySeconds), value(c.tg.Inputs, "deregistrationDelay"))
			assert.LessOrEqual(t, tm.DeregistrationDelaySeconds, tm.PreStopSleepSeconds)
			assert.Less(t, tm.PreStopSleepSeconds+tm.ShutdownSeconds, tm.TerminationGracePeriodSeconds)

			// Requests equal limits at a Fargate size.
			res := ctr["resources"].(map[string]interface{})
			assert.Equal(t, res["requests"], res["limits"])
			size := c.cfg.Service.Size
			require.NoError(t, size.Check())
			assert.Equal(t, map[string]interface{}{"cpu": size.CPU(), "memory": size.Memory()}, res["requests"])
			// The Go runtime's memory limit comes from the same size.
			assert.Equal(t, []interface{}{map[string]interface{}{"name": "GOMEMLIMIT", "value": size.GoMemLimit()}}, ctr["env"])

			// Non-root, read-only root filesystem.
			sec := ctr["securityContext"].(map[string]interface{})
			assert.Equal(t, true, sec["readOnlyRootFilesystem"])
			assert.Equal(t, true, sec["runAsNonRoot"])
			assert.Equal(t, false, sec["allowPrivilegeEscalation"])
			assert.Equal(t, []interface{}{"ALL"}, sec["capabilities"].(map[string]interface{})["drop"])
			assert.Equal(t, true, value(d.Inputs, "spec.template.spec.securityContext.runAsNonRoot"))
			assert.Nil(t, value(d.Inputs, "spec.template.spec.volumes"), "no volumes, so no emptyDir state")

			// One disruption at a time, never blocked by an unready pod.
			assert.Equal(t, float64(1), value(c.pdb.Inputs, "spec.maxUnavailable"))
			assert.Nil(t, value(c.pdb.Inputs, "spec.minAvailable"))
			assert.Equal(t, "AlwaysAllow", str(t, c.pdb, "spec.unhealthyPodEvictionPolicy"))
		})
	}
}

func TestAuthConfigMapPointsAtThisRegionsDataStores(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)
			data := value(c.cm.Inputs, "data").(map[string]interface{})
			cluster := one(t, c.res, "aws:rds/cluster:Cluster", "-aurora")
			rg := one(t, c.res, "aws:elasticache/replicationGroup:ReplicationGroup", "-sessions")

			assert.Equal(t, appEndpoint(t, cluster), data["DB_HOST"])
			assert.Equal(t, cluster.Outputs["readerEndpoint"].StringValue(), data["DB_READER_HOST"])
			assert.Equal(t, "5432", data["DB_PORT"])
			assert.Equal(t, fmt.Sprintf("%s:%d", rg.Outputs["configurationEndpointAddress"].StringValue(), 6379), data["REDIS_HOSTS"])
			assert.Equal(t, "true", data["CLUSTER_ENABLED"])
			assert.Equal(t, "true", data["REDIS_TLS"])
			assert.Equal(t, c.cfg.Region, data["AWS_REGION"])
			assert.Equal(t, strconv.Itoa(c.cfg.Service.Timing.ShutdownSeconds), data["SHUTDOWN_TIMEOUT_SECONDS"])
			for k, v := range data {
				assert.NotEqual(t, "[secret]", v, "%s: no secret value in a ConfigMap", k)
				assert.NotContains(t, strings.ToUpper(k), "PASSWORD", k)
				assert.NotContains(t, strings.ToUpper(k), "TOKEN", k)
			}
			assert.Equal(t, true, value(c.cm.Inputs, "immutable"))
			envFrom := c.container(t)["envFrom"].([]interface{})[0].(map[string]interface{})
			assert.Equal(t, c.cm.Outputs["metadata"].ObjectValue()["name"].StringValue(),
				envFrom["configMapRef"].(map[string]interface{})["name"], "the pods read the auto-named ConfigMap")
			// The one plain env value is GOMEMLIMIT, derived from the pod's
			// size (TestAuthDeploymentIsBuiltForZeroDowntime); the rest of
			// the configuration is the ConfigMap's.
			var plain []string
			for _, e := range c.container(t)["env"].([]interface{}) {
				plain = append(plain, e.(map[string]interface{})["name"].(string))
			}
			assert.Equal(t, []string{"GOMEMLIMIT"}, plain, "no plain env values but the Go memory limit")
		})
	}
}

func TestAuthRoleReadsExactlyItsTwoSecrets(t *testing.T) {
	c := planAuthChain(t, "dev")
	role := one(t, c.res, "aws:iam/role:Role", "-auth-irsa")
	assert.Equal(t, role.Outputs["arn"].StringValue(),
		value(c.sa.Inputs, "metadata.annotations").(map[string]interface{})["eks.amazonaws.com/role-arn"])
	assert.Equal(t, "auth", str(t, c.sa, "metadata.name"), "the service account the IRSA trust names")
	assert.Equal(t, "auth", value(c.deploy.Inputs, "spec.template.spec.serviceAccountName"))

	oidc := one(t, c.res, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "-oidc")
	host := iamdoc.IssuerHost(str(t, oidc, "url"))
	stmt := policyDoc(t, role, "assumeRolePolicy")["Statement"].([]interface{})[0].(map[string]interface{})
	eq := stmt["Condition"].(map[string]interface{})["StringEquals"].(map[string]interface{})
	assert.Equal(t, []interface{}{"system:serviceaccount:auth:auth"}, eq[host+":sub"])
	assert.Equal(t, []interface{}{"sts.amazonaws.com"}, eq[host+":aud"])

	policy := one(t, c.res, "aws:iam/rolePolicy:RolePolicy", "-auth-irsa")
	doc := policyDoc(t, policy, "policy")
	stmts := doc["Statement"].([]interface{})
	require.Len(t, stmts, 2)
	read := stmts[0].(map[string]interface{})
	assert.Equal(t, []interface{}{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, read["Action"])
	cacheSecret := one(t, c.res, "aws:secretsmanager/secret:Secret", "-cache-auth")
	// The application role's secret, not the master's (issue 25, M5: the
	// migration Job alone reads that one).
	appSecret := one(t, c.res, "aws:secretsmanager/secret:Secret", "-db-app")
	assert.ElementsMatch(t, []interface{}{cacheSecret.Outputs["arn"].StringValue(), appSecret.Outputs["arn"].StringValue()}, read["Resource"])
	assert.NotContains(t, read["Resource"], c.res.Outputs["dbSecretArn"])
	decrypt := stmts[1].(map[string]interface{})
	assert.Equal(t, []interface{}{"kms:Decrypt"}, decrypt["Action"])
	assert.Len(t, decrypt["Resource"], 2, "the cache key and the database key")
	assert.Equal(t, map[string]interface{}{"kms:ViaService": []interface{}{"secretsmanager.us-east-1.amazonaws.com"}},
		decrypt["Condition"].(map[string]interface{})["StringEquals"])
}

func TestALBListenersAndSecurityGroup(t *testing.T) {
	for _, tc := range []struct {
		stack         string
		https         bool
		ingressPorts  []float64
		listenerPorts []float64
	}{
		{"dev", false, []float64{80}, []float64{80}},
		{"prod-us-east-1", true, []float64{80, 443}, []float64{80, 443}},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			c := planAuthChain(t, tc.stack)
			assert.Equal(t, false, value(c.alb.Inputs, "internal"))
			assert.Equal(t, "application", str(t, c.alb, "loadBalancerType"))
			assert.Equal(t, []string{c.albSG.ID}, stringList(t, c.alb, "securityGroups"))
			var public []string
			for _, s := range ofType(c.res, "aws:ec2/subnet:Subnet") {
				if strings.Contains(s.Name, "-public-") {
					public = append(public, s.ID)
				}
			}
			assert.ElementsMatch(t, public, stringList(t, c.alb, "subnets"))
			assert.Equal(t, tc.https, c.cfg.Service.CertificateArn != "")

			var ports []float64
			for _, rule := range ofType(c.res, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
				if str(t, rule, "securityGroupId") != c.albSG.ID {
					continue
				}
				assert.Equal(t, "0.0.0.0/0", str(t, rule, "cidrIpv4"))
				assert.Equal(t, value(rule.Inputs, "fromPort"), value(rule.Inputs, "toPort"))
				ports = append(ports, value(rule.Inputs, "fromPort").(float64))
			}
			assert.ElementsMatch(t, tc.ingressPorts, ports, "the ALB admits exactly these ports from anywhere")

			listeners := map[float64]*mocks.Resource{}
			for _, l := range ofType(c.res, listenerType) {
				assert.Equal(t, c.alb.ID, str(t, l, "loadBalancerArn"))
				listeners[value(l.Inputs, "port").(float64)] = l
			}
			require.Len(t, listeners, len(tc.listenerPorts))
			action := func(l *mocks.Resource) map[string]interface{} {
				return value(l.Inputs, "defaultActions").([]interface{})[0].(map[string]interface{})
			}
			if tc.https {
				https := listeners[443]
				assert.Equal(t, "HTTPS", str(t, https, "protocol"))
				assert.Equal(t, ingress.TLSPolicy, str(t, https, "sslPolicy"))
				assert.Equal(t, c.cfg.Service.CertificateArn, str(t, https, "certificateArn"))
				// What is forwarded: tests/ingress_rules_test.go.
				assert.Equal(t, "fixed-response", action(https)["type"])
				redirect := action(listeners[80])
				assert.Equal(t, "redirect", redirect["type"])
				assert.Equal(t, "HTTPS", redirect["redirect"].(map[string]interface{})["protocol"])
				assert.Equal(t, "HTTP_301", redirect["redirect"].(map[string]interface{})["statusCode"])
			} else {
				assert.Equal(t, "fixed-response", action(listeners[80])["type"])
			}
			assert.Equal(t, c.cfg.ProtectStatefulResources, value(c.alb.Inputs, "enableDeletionProtection"))
		})
	}
}

func TestAlarmsWatchTheTargetGroupAndTheDataStores(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)
			topic := one(t, c.res, "aws:sns/topic:Topic", "-alarms")
			topicArn := topic.Outputs["arn"].StringValue()
			acu := false
			for _, a := range nonEmpty(t, ofType(c.res, alarmType), "alarm") {
				acu = acu || strings.HasSuffix(a.Name, "-db-acu-utilization")
				assert.Equal(t, []interface{}{topicArn}, value(a.Inputs, "alarmActions"), a.Name)
				assert.Equal(t, []interface{}{topicArn}, value(a.Inputs, "okActions"), a.Name)
			}
			find := func(suffix string) *mocks.Resource {
				return one(t, c.res, alarmType, suffix)
			}

			healthy := find("-auth-healthy-targets")
			assert.Equal(t, "HealthyHostCount", str(t, healthy, "metricName"))
			assert.Equal(t, "LessThanThreshold", str(t, healthy, "comparisonOperator"))
			assert.Equal(t, float64(2), value(healthy.Inputs, "threshold"))
			assert.Equal(t, "breaching", str(t, healthy, "treatMissingData"))
			assert.Equal(t, map[string]interface{}{
				"TargetGroup":  c.tg.Outputs["arnSuffix"].StringValue(),
				"LoadBalancer": c.alb.Outputs["arnSuffix"].StringValue(),
			}, value(healthy.Inputs, "dimensions"))
			assert.True(t, strings.HasPrefix(c.tg.Outputs["arnSuffix"].StringValue(), "targetgroup/"))

			for suffix, metric := range map[string]string{"-auth-target-5xx": "HTTPCode_Target_5XX_Count", "-auth-elb-5xx": "HTTPCode_ELB_5XX_Count"} {
				q := value(find(suffix).Inputs, "metricQueries").([]interface{})
				require.Len(t, q, 3)
				assert.Equal(t, metric, q[0].(map[string]interface{})["metric"].(map[string]interface{})["metricName"])
				assert.Equal(t, "RequestCount", q[1].(map[string]interface{})["metric"].(map[string]interface{})["metricName"])
			}
			assert.Equal(t, "p99", str(t, find("-auth-response-time-p99"), "extendedStatistic"))

			rg := one(t, c.res, "aws:elasticache/replicationGroup:ReplicationGroup", "-sessions")
			members := rg.Outputs["memberClusters"].ArrayValue()
			require.Len(t, members, c.cfg.Cache.Shards*(c.cfg.Cache.ReplicasPerShard+1))
			for _, m := range members {
				id := m.StringValue()
				suffix := id[strings.LastIndex(id[:strings.LastIndex(id, "-")], "-")+1:]
				cpu := find("-cache-cpu-" + suffix)
				assert.Equal(t, id, value(cpu.Inputs, "dimensions").(map[string]interface{})["CacheClusterId"], "alarm per member cluster")
				find("-cache-memory-" + suffix)
			}
			cluster := one(t, c.res, "aws:rds/cluster:Cluster", "-aurora")
			writerSuffix := "-db-writer-cpu"
			if isGlobalSecondary(cluster) {
				writerSuffix = "-db-reader-cpu" // no writer there (issue 11)
			}
			writer := find(writerSuffix)
			assert.Equal(t, cluster.Outputs["clusterIdentifier"].StringValue(),
				value(writer.Inputs, "dimensions").(map[string]interface{})["DBClusterIdentifier"])
			assert.Equal(t, c.cfg.Database.Serverless, acu, "ACU alarm only for Serverless v2")

			subs := ofType(c.res, "aws:sns/topicSubscription:TopicSubscription")
			if c.cfg.Service.AlarmEmail != "" {
				require.Len(t, subs, 1)
				assert.Equal(t, c.cfg.Service.AlarmEmail, str(t, subs[0], "endpoint"))
			} else {
				assert.Empty(t, subs)
			}
		})
	}
}
