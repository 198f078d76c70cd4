package tests

// The auth pods' output reaches CloudWatch Logs through Fargate's log
// router (issue 22 item 1: the dependency state must reach an alarm). The
// rules the router applies are the EKS user guide's ("Start AWS Fargate
// logging for your cluster", components/servicelogs cites the lines).

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/servicelogs"
)

// fluentSections parses a Fluent Bit classic-mode file into its sections,
// holding the router's layout rules: directives at the margin, keys
// indented more, the same indentation throughout.
func fluentSections(t *testing.T, text string) []map[string]string {
	t.Helper()
	var out []map[string]string
	indent := ""
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(line, "[") {
			require.Regexp(t, `^\[[A-Z]+\]$`, line)
			out = append(out, map[string]string{"": strings.Trim(line, "[]")})
			continue
		}
		require.NotEmpty(t, out, "a key before any section: %q", line)
		lead := line[:len(line)-len(strings.TrimLeft(line, " "))]
		require.NotEmpty(t, lead, "keys are indented more than directives: %q", line)
		if indent == "" {
			indent = lead
		}
		require.Equal(t, indent, lead, "one indentation for every key: %q", line)
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		require.True(t, ok, "key value: %q", line)
		out[len(out)-1][strings.ToLower(k)] = strings.TrimSpace(v)
	}
	return out
}

// routerTag is the tag Fargate's router gives a container's log file.
func routerTag(pod, namespace, container string) string {
	return "kube.var.log.containers." + pod + "_" + namespace + "_" + container + "-" + strings.Repeat("ab", 32) + ".log"
}

func fluentMatch(pattern, tag string) bool {
	re := strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, `.*`)
	return regexp.MustCompile(`^` + re + `$`).MatchString(tag)
}

func TestAuthPodsLogsAreRoutedToTheirLogGroup(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)
			ns := one(t, c.res, namespaceType, "-aws-observability")
			assert.Equal(t, "aws-observability", str(t, ns, "metadata.name"))
			assert.Equal(t, "enabled", value(ns.Inputs, "metadata.labels").(map[string]interface{})["aws-observability"])
			cm := one(t, c.res, configMapType, "-aws-logging")
			assert.Equal(t, "aws-logging", str(t, cm, "metadata.name"))
			assert.Equal(t, "aws-observability", str(t, cm, "metadata.namespace"))
			assert.Nil(t, value(cm.Inputs, "immutable"), "the router's ConfigMap is updated in place: its name is fixed")

			data := map[string]string{}
			for k, v := range value(cm.Inputs, "data").(map[string]interface{}) {
				data[k] = v.(string)
			}
			assert.ElementsMatch(t, []string{"flb_log_cw", "filters.conf", "output.conf", "parsers.conf"}, keysOf(data))
			size := 0
			for k, v := range data {
				size += len(k) + len(v)
				assert.NotContains(t, v, "${", "no environment variables in the router's configuration")
			}
			assert.LessOrEqual(t, size, 5300, "Fargate takes at most 5300 characters")

			// Only the sections the router accepts, under their own keys,
			// with the keys it requires and the plugins it supports.
			for key, section := range map[string]string{"filters.conf": "FILTER", "output.conf": "OUTPUT", "parsers.conf": "PARSER"} {
				for _, s := range fluentSections(t, data[key]) {
					assert.Equal(t, section, s[""], key)
					assert.NotEmpty(t, s["name"], "%s: Name", key)
					if section == "PARSER" {
						assert.NotEmpty(t, s["format"], "%s: Format", key)
					} else {
						assert.NotEmpty(t, s["match"], "%s: Match", key)
					}
					switch section {
					case "FILTER":
						assert.Contains(t, []string{"grep", "parser", "record_modifier", "rewrite_tag", "throttle", "nest", "modify", "kubernetes"}, s["name"])
					case "OUTPUT":
						assert.Contains(t, []string{"es", "firehose", "kinesis_firehose", "cloudwatch", "cloudwatch_logs", "kinesis"}, s["name"])
					}
				}
			}

			// The output: this region's group, which the stack creates with a
			// retention, and the line as the service printed it.
			outs := fluentSections(t, data["output.conf"])
			require.Len(t, outs, 1)
			out := outs[0]
			group := one(t, c.res, "aws:cloudwatch/logGroup:LogGroup", "-service-logs")
			assert.Equal(t, "/"+strings.TrimSuffix(group.Name, "-service-logs")+"/auth-service", str(t, group, "name"))
			assert.Equal(t, "cloudwatch_logs", out["name"])
			assert.Equal(t, c.cfg.Region, out["region"])
			assert.Equal(t, str(t, group, "name"), out["log_group_name"])
			assert.Equal(t, "false", out["auto_create_group"], "the stack owns the group and its retention")
			assert.Equal(t, "log", out["log_key"], "the service's JSON line as printed, so metric filters read its fields")
			assert.Equal(t, float64(c.cfg.Service.LogRetentionDays), value(group.Inputs, "retentionInDays"))

			// The match selects the auth containers of the auth namespace.
			for _, tc := range []struct {
				pod, ns, container string
				routed             bool
			}{
				{"auth-us-east-1a-7d9f8c6b5-x2k4p", c.cfg.AuthNamespace, "auth", true},
				{"auth-use1-az1-5c8d7f9b6-q9w8e", c.cfg.AuthNamespace, "auth", true},
				{"aws-load-balancer-controller-6b8f-abcde", "kube-system", "aws-load-balancer-controller", false},
				{"coredns-5d78c9869d-xyz12", "kube-system", "coredns", false},
				{"debug", c.cfg.AuthNamespace, "shell", false},
				{"auth-x", c.cfg.AuthNamespace + "-other", "auth", false},
			} {
				assert.Equal(t, tc.routed, fluentMatch(out["match"], routerTag(tc.pod, tc.ns, tc.container)), "%s/%s/%s", tc.ns, tc.pod, tc.container)
			}

			// The parser takes the message out of the CRI line.
			parsers := fluentSections(t, data["parsers.conf"])
			require.Len(t, parsers, 1)
			re := regexp.MustCompile(parsers[0]["regex"])
			line := `{"level":"WARN","event":"dependency_down","dependency":"redis","shard":"0-5460"}`
			m := re.FindStringSubmatch("2026-12-07T10:00:00.123456789Z stdout F " + line)
			require.NotNil(t, m)
			assert.Equal(t, line, m[re.SubexpIndex("log")])
			filters := fluentSections(t, data["filters.conf"])
			require.Len(t, filters, 1)
			assert.Equal(t, map[string]string{"": "FILTER", "name": "parser", "match": "kube.*", "key_name": "log", "parser": parsers[0]["name"]}, filters[0])

			// The pod execution role may write there, and nowhere else.
			execRole := one(t, c.res, "aws:iam/role:Role", "-fargate-pod-exec")
			policy := one(t, c.res, "aws:iam/rolePolicy:RolePolicy", "-service-logs")
			assert.Equal(t, execRole.ID, str(t, policy, "role"))
			var doc struct{ Statement []map[string]interface{} }
			require.NoError(t, json.Unmarshal([]byte(str(t, policy, "policy")), &doc))
			require.Len(t, doc.Statement, 1)
			arn := group.Outputs["arn"].StringValue()
			assert.Equal(t, "Allow", doc.Statement[0]["Effect"])
			assert.ElementsMatch(t, []interface{}{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}, doc.Statement[0]["Action"])
			assert.ElementsMatch(t, []interface{}{arn, arn + ":*"}, doc.Statement[0]["Resource"])

			// Every auth pod starts after the router's configuration and
			// the permission, and carries the configuration's identity, so a
			// change rolls the pods (Fargate reads it at pod start only).
			hash := servicelogs.Hash(data)
			for _, d := range c.deploys {
				assert.Contains(t, d.DependsOn, cm.URN, d.Name)
				assert.Contains(t, d.DependsOn, policy.URN, d.Name)
				assert.Equal(t, hash, value(d.Inputs, "spec.template.metadata.annotations").(map[string]interface{})["auth-platform/log-router-config"], d.Name)
			}
		})
	}
}

func TestAuthLogRetentionDaysReachesTheGroupAndIsChecked(t *testing.T) {
	res := planWith(t, "dev", "authLogRetentionDays", "365", nil)
	assert.Equal(t, float64(365), value(one(t, res, "aws:cloudwatch/logGroup:LogGroup", "-service-logs").Inputs, "retentionInDays"))
	cfg, _ := stackConfig(t, "dev")
	assertRejected(t, withConfig(cfg, map[string]string{"auth-platform:authLogRetentionDays": "100"}),
		"auth-platform:authLogRetentionDays", "does not accept a retention of 100 days")
}

func TestLogRouterConfigChangesRollThePods(t *testing.T) {
	a := servicelogs.Config("us-east-1", "/auth-dev-use1/auth-service", "auth", "auth")
	b := servicelogs.Config("us-east-1", "/auth-dev-use1/auth-service", "identity", "auth")
	assert.NotEqual(t, servicelogs.Hash(a), servicelogs.Hash(b))
	assert.Equal(t, servicelogs.Hash(a), servicelogs.Hash(servicelogs.Config("us-east-1", "/auth-dev-use1/auth-service", "auth", "auth")))
	for _, arn := range []string{"arn:aws:iam::123456789012:role/exec-1", "arn:aws:iam::123456789012:role/service/exec-1"} {
		name, err := servicelogs.RoleName(arn)
		require.NoError(t, err)
		assert.Equal(t, "exec-1", name)
	}
	_, err := servicelogs.RoleName("arn:aws:iam::123456789012:user/someone")
	assert.Error(t, err)
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
