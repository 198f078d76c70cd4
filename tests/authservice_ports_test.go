package tests

// Only the API reaches the internet (issue 22 item 6): the auth container
// serves /metrics and the detailed /health on a port of its own, which the
// pods declare and nothing in front of them names.

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

// The contract with the service, literally: traffic on 8080, metrics on
// 9090 (cmd/auth-service/internal/config/environment.txt, METRICS_PORT).
const (
	trafficPort = 8080
	metricsPort = 9090
)

func TestMetricsPortIsDeclaredButNeverExposed(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)

			// Every zone's pods declare both ports by name, and the
			// service learns them from its ConfigMap.
			for _, d := range c.deploys {
				ctr := value(d.Inputs, "spec.template.spec.containers").([]interface{})[0].(map[string]interface{})
				assert.ElementsMatch(t, []interface{}{
					map[string]interface{}{"name": "http", "containerPort": float64(trafficPort), "protocol": "TCP"},
					map[string]interface{}{"name": "metrics", "containerPort": float64(metricsPort), "protocol": "TCP"},
				}, ctr["ports"], d.Name)
				for _, probe := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
					assert.Equal(t, float64(trafficPort), ctr[probe].(map[string]interface{})["httpGet"].(map[string]interface{})["port"],
						"%s %s: the kubelet probes the traffic port", d.Name, probe)
				}
			}
			data := value(c.cm.Inputs, "data").(map[string]interface{})
			assert.Equal(t, "8080", data["PORT"])
			assert.Equal(t, "9090", data["METRICS_PORT"])

			// The Service has one port, to the traffic port.
			ports := value(c.svc.Inputs, "spec.ports").([]interface{})
			require.Len(t, ports, 1, "the Service exposes one port")
			assert.Equal(t, float64(trafficPort), ports[0].(map[string]interface{})["targetPort"])

			// The target group, its health check and the binding's rule on
			// the pods' security group use the traffic port only.
			assert.Equal(t, float64(trafficPort), value(c.tg.Inputs, "port"))
			assert.Equal(t, "8080", str(t, c.tg, "healthCheck.port"))
			rules := value(c.tgb.Inputs, "spec.networking.ingress").([]interface{})
			require.Len(t, rules, 1)
			assert.Equal(t, []interface{}{map[string]interface{}{"protocol": "TCP", "port": float64(trafficPort)}},
				rules[0].(map[string]interface{})["ports"], "the controller opens the pods to the ALB on 8080 alone")

			// The ALB's group may reach the pods on 8080 and nothing else.
			var egress []*mocks.Resource
			for _, r := range ofType(c.res, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
				if str(t, r, "securityGroupId") == c.albSG.ID {
					egress = append(egress, r)
				}
			}
			require.Len(t, egress, 1, "one egress rule on the ALB's group")
			assert.Equal(t, float64(trafficPort), value(egress[0].Inputs, "fromPort"))
			assert.Equal(t, float64(trafficPort), value(egress[0].Inputs, "toPort"))

			// Nothing in the plan names the metrics port but the pods and
			// the ConfigMap.
			for _, r := range c.res.Resources {
				if r.Type == deploymentType || r.Type == configMapType {
					continue
				}
				assert.False(t, mentionsPort(mocks.PlainMap(r.Inputs), metricsPort), "%s %s names port %d", r.Type, r.Name, metricsPort)
			}
		})
	}
}

// mentionsPort reports whether a value holds the port as a number under a
// key that names a port, or the metrics port's name.
func mentionsPort(v interface{}, port int) bool {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, e := range t {
			switch k {
			case "port", "targetPort", "containerPort", "fromPort", "toPort":
				if n, ok := e.(float64); ok && int(n) == port {
					return true
				}
				if s, ok := e.(string); ok && (s == "metrics" || s == strconv.Itoa(port)) {
					return true
				}
			}
			if mentionsPort(e, port) {
				return true
			}
		}
	case []interface{}:
		for _, e := range t {
			if mentionsPort(e, port) {
				return true
			}
		}
	}
	return false
}
