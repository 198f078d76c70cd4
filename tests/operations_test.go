package tests

// What operations depend on, stated as literal values with their sources
// (issue 18.2 and 18.4): a test that compared these with the constants the
// code exports could not fail when a constant is wrong.

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
)

// nonEmpty returns rs after requiring that there is something to loop over.
func nonEmpty(t *testing.T, rs []*mocks.Resource, what string) []*mocks.Resource {
	t.Helper()
	require.NotEmpty(t, rs, "the plan has no %s to check", what)
	return rs
}

// allPlans plans every shipped stack once.
func allPlans(t *testing.T) map[string]*mocks.Result {
	t.Helper()
	out := map[string]*mocks.Result{}
	for _, stack := range stackFiles(t) {
		out[stack] = planStack(t, stack)
	}
	require.Len(t, out, 3, "dev, prod-us-east-1 and prod-global")
	return out
}

// regionOfARN is the region field of an ARN.
func regionOfARN(t *testing.T, arn string) string {
	t.Helper()
	parts := strings.Split(arn, ":")
	require.GreaterOrEqual(t, len(parts), 6, "not an ARN: %q", arn)
	return parts[3]
}

func TestHTTPSListenerPolicyAndHSTSAreTheDocumentedOnes(t *testing.T) {
	res := planStack(t, "prod-us-east-1")
	var https []*mocks.Resource
	for _, l := range ofType(res, listenerType) {
		if str(t, l, "protocol") == "HTTPS" {
			https = append(https, l)
		}
	}
	require.Len(t, https, 1, "prod serves HTTPS")
	l := https[0]

	// ELBSecurityPolicy-TLS13-1-2-2021-06: TLS 1.3 and 1.2 only, forward
	// secrecy; the policy AWS recommends for ALBs (Elastic Load Balancing
	// user guide, "Security policies for your Application Load Balancer").
	assert.Equal(t, "ELBSecurityPolicy-TLS13-1-2-2021-06", str(t, l, "sslPolicy"))

	// HSTS for at least a year (RFC 6797; a year is the minimum the
	// browsers' preload lists accept), covering subdomains.
	hsts := str(t, l, "routingHttpResponseStrictTransportSecurityHeaderValue")
	m := regexp.MustCompile(`(?i)(?:^|;)\s*max-age=(\d+)\s*(?:;|$)`).FindStringSubmatch(hsts)
	require.NotNil(t, m, "HSTS header %q has no max-age", hsts)
	age, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	assert.GreaterOrEqual(t, age, 31536000, "HSTS max-age of at least one year")
	assert.Regexp(t, `(?i)(^|;)\s*includeSubDomains\s*(;|$)`, hsts)

	// Plain HTTP only redirects.
	for _, l := range ofType(res, listenerType) {
		if str(t, l, "protocol") == "HTTP" {
			assert.Equal(t, "redirect", value(l.Inputs, "defaultActions").([]interface{})[0].(map[string]interface{})["type"])
			assert.Nil(t, value(l.Inputs, "routingHttpResponseStrictTransportSecurityHeaderValue"), "HSTS only over HTTPS (RFC 6797 §7.2)")
		}
	}
}

func TestALBDropsInvalidHeadersAndChecksHealthTheWayThePodsDo(t *testing.T) {
	for stack, res := range allPlans(t) {
		t.Run(stack, func(t *testing.T) {
			for _, alb := range nonEmpty(t, ofType(res, albType), "ALB") {
				// Headers with invalid names are dropped, not passed to the
				// service (request smuggling; ELB attribute
				// routing.http.drop_invalid_header_fields.enabled).
				assert.Equal(t, true, value(alb.Inputs, "dropInvalidHeaderFields"), alb.Name)
				assert.Contains(t, []interface{}{"defensive", "strictest"}, value(alb.Inputs, "desyncMitigationMode"), alb.Name)
				assert.Equal(t, float64(60), value(alb.Inputs, "idleTimeout"), "above the 25 s longest request, at the ALB default")
			}
			for _, tg := range nonEmpty(t, ofType(res, targetGroupTyp), "target group") {
				hc := value(tg.Inputs, "healthCheck").(map[string]interface{})
				assert.Equal(t, map[string]interface{}{
					"enabled":  true,
					"protocol": "HTTP",
					"path":     "/health", // the readiness endpoint (cmd/auth-service/README.md)
					"port":     "8080",    // the container port, not traffic-port semantics
					"matcher":  "200",     // only a ready pod answers 200; 503 while draining
					// Healthy after 2 x 10 s, unhealthy after 2 failed checks
					// each answered within 5 s.
					"interval":           float64(10),
					"timeout":            float64(5),
					"healthyThreshold":   float64(2),
					"unhealthyThreshold": float64(2),
				}, hc, tg.Name)
				assert.Equal(t, "ip", str(t, tg, "targetType"), "Fargate pods are reachable only by IP")
				assert.Equal(t, float64(8080), value(tg.Inputs, "port"))
				assert.Equal(t, "HTTP", str(t, tg, "protocol"))
			}
			for _, d := range nonEmpty(t, ofType(res, deploymentType), "auth Deployment") {
				if !strings.Contains(d.Name, "-auth-deploy-") {
					continue
				}
				ctr := value(d.Inputs, "spec.template.spec.containers").([]interface{})[0].(map[string]interface{})
				ready := ctr["readinessProbe"].(map[string]interface{})["httpGet"].(map[string]interface{})
				assert.Equal(t, "/health", ready["path"], "the ALB and the readiness probe agree on readiness")
				assert.Equal(t, float64(8080), ready["port"])
			}
		})
	}
}

func TestGeneratedSecretsUseOnlyCharactersTheirServicesAccept(t *testing.T) {
	res := planStack(t, "prod-global")
	passwords := nonEmpty(t, ofType(res, cachePasswdType), "generated secret")
	var tokens, masters int
	for _, pw := range passwords {
		specials := str(t, pw, "overrideSpecial")
		assert.Equal(t, true, value(pw.Inputs, "special"), pw.Name)
		plain := pw.Outputs["result"].SecretValue().Element.StringValue()
		switch {
		case strings.HasSuffix(pw.Name, "-cache-auth"):
			tokens++
			// ElastiCache AUTH: printable characters, and of the special
			// ones only ! & # $ ^ < > - (ElastiCache user guide,
			// "Authenticating with the Valkey and Redis OSS AUTH command").
			assert.ElementsMatch(t, []rune("!&#$^<>-"), []rune(specials), pw.Name)
			assert.Regexp(t, `^[A-Za-z0-9!&#$^<>-]{16,128}$`, plain, pw.Name)
			length := value(pw.Inputs, "length").(float64)
			assert.True(t, length >= 16 && length <= 128, "AUTH tokens are 16 to 128 characters, got %v", length)
		case strings.HasSuffix(pw.Name, "-db-master"):
			masters++
			// RDS master password: printable ASCII except / ' " @ and
			// space (RDS user guide, "Master user password"). Backslash
			// and quotes would also break a libpq key=value string.
			for _, c := range specials {
				assert.True(t, c > ' ' && c < 0x7f, "%s: %q is not printable ASCII", pw.Name, c)
				assert.NotContains(t, `/'"@ \`, string(c), "%s: RDS or libpq refuses %q", pw.Name, c)
			}
			assert.Regexp(t, "^[\x21-\x7e]{8,128}$", plain)
			assert.NotRegexp(t, `[/'"@ \\]`, plain)
			length := value(pw.Inputs, "length").(float64)
			assert.True(t, length >= 16 && length <= 99, "RDS takes 8 to 99 characters for PostgreSQL; 16 is our floor, got %v", length)
		}
		for _, min := range []string{"minSpecial", "minUpper", "minLower", "minNumeric"} {
			// At least two of each class: never a weak draw of one kind.
			assert.Equal(t, float64(2), value(pw.Inputs, min), "%s: %s", pw.Name, min)
		}
	}
	assert.Equal(t, 1, tokens, "one AUTH token, which the Global Datastore's members share")
	assert.Equal(t, 1, masters, "one master password for the global database")
}

func TestControllerWebhookAndReleaseFailSafe(t *testing.T) {
	for stack, res := range allPlans(t) {
		t.Run(stack, func(t *testing.T) {
			for _, rel := range nonEmpty(t, ofType(res, "kubernetes:helm.sh/v3:Release"), "Helm release") {
				// A failed upgrade rolls back, and leaves nothing half made.
				assert.Equal(t, true, value(rel.Inputs, "atomic"), rel.Name)
				assert.Equal(t, true, value(rel.Inputs, "cleanupOnFail"), rel.Name)
				assert.Equal(t, float64(900), value(rel.Inputs, "timeout"), "Fargate's first pods take minutes")
				// Pods in the readiness-gated namespace are refused while
				// the controller is down rather than created without
				// their gate (README, "The controller keeps failurePolicy:
				// Fail").
				assert.Equal(t, "Fail", value(rel.Inputs, "values.podMutatorWebhookConfig.failurePolicy"), rel.Name)
				assert.Equal(t, false, value(rel.Inputs, "values.enableServiceMutatorWebhook"), rel.Name)
				assert.Equal(t, true, value(rel.Inputs, "values.keepTLSSecret"), rel.Name)
			}
			for _, p := range nonEmpty(t, ofType(res, "pulumi:providers:kubernetes"), "Kubernetes provider") {
				// Server-side apply: field ownership, so the controller's
				// and kubectl's own fields survive our updates.
				assert.Equal(t, true, value(p.Inputs, "enableServerSideApply"), p.Name)
			}
		})
	}
}

func TestEKSSecretsAreEncryptedWithARotatedKeyOfTheirRegion(t *testing.T) {
	for stack, res := range allPlans(t) {
		t.Run(stack, func(t *testing.T) {
			keys := map[string]*mocks.Resource{}
			for _, k := range ofType(res, "aws:kms/key:Key") {
				keys[k.Outputs["arn"].StringValue()] = k
			}
			for _, c := range nonEmpty(t, ofType(res, "eks:index:Cluster"), "EKS cluster") {
				arn := str(t, c, "encryptionConfigKeyArn")
				key, ok := keys[arn]
				require.True(t, ok, "%s: secrets key %s is not a key of this stack", c.Name, arn)
				assert.True(t, strings.HasSuffix(key.Name, "-eks-secrets"), key.Name)
				assert.Equal(t, true, value(key.Inputs, "enableKeyRotation"), "%s: yearly rotation", key.Name)
				assert.Equal(t, float64(30), value(key.Inputs, "deletionWindowInDays"), key.Name)
				assert.Equal(t, regionOfARN(t, arn), c.Region, "%s: the key is in the cluster's region", c.Name)
			}
			// Every key of the stack rotates and waits the longest window
			// before deletion, time to notice a mistaken destroy.
			for _, k := range nonEmpty(t, ofType(res, "aws:kms/key:Key"), "KMS key") {
				assert.Equal(t, true, value(k.Inputs, "enableKeyRotation"), k.Name)
				assert.Equal(t, float64(30), value(k.Inputs, "deletionWindowInDays"), k.Name)
			}
		})
	}
}

func TestAuthDeploymentsWaitBeforeCountingANewPodAvailable(t *testing.T) {
	for stack, res := range allPlans(t) {
		t.Run(stack, func(t *testing.T) {
			n := 0
			for _, d := range ofType(res, deploymentType) {
				if !strings.Contains(d.Name, "-auth-deploy-") {
					continue
				}
				n++
				// A new pod must stay ready 5 s (a readiness period) before
				// the rollout retires an old one, so a pod that flaps right
				// after start does not count.
				assert.Equal(t, float64(5), value(d.Inputs, "spec.minReadySeconds"), d.Name)
				assert.Equal(t, float64(900), value(d.Inputs, "spec.progressDeadlineSeconds"), d.Name)
				assert.Equal(t, float64(5), value(d.Inputs, "spec.template.spec.containers").([]interface{})[0].(map[string]interface{})["readinessProbe"].(map[string]interface{})["periodSeconds"])
			}
			require.NotZero(t, n, "no auth Deployment")
		})
	}
}

func TestEveryAlarmNeedsAllItsDatapoints(t *testing.T) {
	// The minimum number of breaching periods, stated per alarm: one bad
	// minute must not page anyone, two minutes under two healthy targets
	// must.
	periods := map[string]float64{
		"-auth-healthy-targets":      2,
		"-auth-target-5xx":           3,
		"-auth-elb-5xx":              3,
		"-auth-response-time-p99":    3,
		"-db-replica-lag":            3,
		"-db-writer-cpu":             3,
		"-db-reader-cpu":             3,
		"-db-global-replication-lag": 3,
		"-db-acu-utilization":        3,
	}
	for stack, res := range allPlans(t) {
		t.Run(stack, func(t *testing.T) {
			for _, a := range nonEmpty(t, ofType(res, alarmType), "alarm") {
				ev := value(a.Inputs, "evaluationPeriods")
				require.NotNil(t, ev, a.Name)
				assert.Equal(t, ev, value(a.Inputs, "datapointsToAlarm"), "%s: every evaluated period must breach", a.Name)
				for suffix, want := range periods {
					if strings.HasSuffix(a.Name, suffix) {
						assert.Equal(t, want, ev, a.Name)
					}
				}
			}
		})
	}
}

func TestFiveXXAlarmsAreRatiosOverTheirOwnDimensions(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)
			lbSuffix := c.alb.Outputs["arnSuffix"].StringValue()
			tgSuffix := c.tg.Outputs["arnSuffix"].StringValue()
			require.True(t, strings.HasPrefix(lbSuffix, "app/"), lbSuffix)
			for _, tc := range []struct {
				suffix, metric string
				dims           map[string]interface{}
			}{
				// HTTPCode_ELB_5XX_Count exists only per load balancer (and
				// per AZ); with a TargetGroup dimension it has no data and
				// the alarm never fires (ELB user guide, "CloudWatch metrics
				// for your Application Load Balancer").
				{"-auth-elb-5xx", "HTTPCode_ELB_5XX_Count", map[string]interface{}{"LoadBalancer": lbSuffix}},
				{"-auth-target-5xx", "HTTPCode_Target_5XX_Count", map[string]interface{}{"LoadBalancer": lbSuffix, "TargetGroup": tgSuffix}},
			} {
				a := one(t, c.res, alarmType, tc.suffix)
				assert.Equal(t, "GreaterThanThreshold", str(t, a, "comparisonOperator"))
				assert.Equal(t, float64(1), value(a.Inputs, "threshold"), "1 % of requests")
				assert.Equal(t, "notBreaching", str(t, a, "treatMissingData"), "no traffic is not an error")
				assert.Nil(t, value(a.Inputs, "metricName"), "a metric-math alarm names no metric of its own")
				queries := value(a.Inputs, "metricQueries").([]interface{})
				require.Len(t, queries, 3)
				byID := map[string]map[string]interface{}{}
				for _, q := range queries {
					m := q.(map[string]interface{})
					byID[m["id"].(string)] = m
				}
				require.Len(t, byID, 3, "query ids are distinct")
				for id, metric := range map[string]string{"errors": tc.metric, "requests": "RequestCount"} {
					q := byID[id]
					require.NotNil(t, q, "query %s", id)
					assert.Equal(t, false, q["returnData"], id)
					m := q["metric"].(map[string]interface{})
					assert.Equal(t, "AWS/ApplicationELB", m["namespace"])
					assert.Equal(t, metric, m["metricName"])
					assert.Equal(t, "Sum", m["stat"], "counts add up")
					assert.Equal(t, float64(60), m["period"])
					assert.Equal(t, tc.dims, m["dimensions"], "%s %s", tc.suffix, id)
				}
				pct := byID["percent"]
				require.NotNil(t, pct)
				assert.Equal(t, true, pct["returnData"], "the percentage is what the alarm compares")
				// A minute without requests is 0 %, not a division by zero.
				assert.Equal(t, "100 * FILL(errors, 0) / FILL(requests, 1)", pct["expression"])
			}
		})
	}
}

func TestAlarmTopicAdmitsOnlyThisAccountsAlarmsAndRulesOfItsRegion(t *testing.T) {
	for stack, res := range allPlans(t) {
		t.Run(stack, func(t *testing.T) {
			topics := map[string]*mocks.Resource{}
			for _, tp := range nonEmpty(t, ofType(res, "aws:sns/topic:Topic"), "SNS topic") {
				topics[tp.Outputs["arn"].StringValue()] = tp
			}
			policies := nonEmpty(t, ofType(res, "aws:sns/topicPolicy:TopicPolicy"), "topic policy")
			assert.Len(t, policies, len(topics), "one policy per topic")
			for _, p := range policies {
				arn := str(t, p, "arn")
				require.Contains(t, topics, arn, "%s protects a topic of this stack", p.Name)
				region := regionOfARN(t, arn)
				var doc struct {
					Statement []struct {
						Sid       string
						Effect    string
						Principal struct{ Service []string }
						Action    []string
						Resource  []string
						Condition map[string]map[string][]string
					}
				}
				require.NoError(t, json.Unmarshal([]byte(str(t, p, "policy")), &doc))
				require.Len(t, doc.Statement, 3)
				sources := map[string]string{}
				for _, st := range doc.Statement {
					assert.Equal(t, "Allow", st.Effect)
					want := []string{"sns:Publish"}
					if st.Sid == "PrometheusAlertManager" {
						// AMP User Guide, AMP-alertmanager-receiver-AMPpermission.html.
						want = append(want, "sns:GetTopicAttributes")
					}
					assert.Equal(t, want, st.Action, "publish only")
					assert.Equal(t, []string{arn}, st.Resource, "this topic only")
					require.Len(t, st.Principal.Service, 1)
					// Confused deputy: without aws:SourceAccount any
					// account's alarms could publish through the service
					// principal (SNS developer guide, "Example cases for
					// Amazon SNS access control").
					assert.Equal(t, []string{mocks.AccountID}, st.Condition["StringEquals"]["aws:SourceAccount"], st.Sid)
					require.Len(t, st.Condition["ArnLike"]["aws:SourceArn"], 1, st.Sid)
					sources[st.Principal.Service[0]] = st.Condition["ArnLike"]["aws:SourceArn"][0]
				}
				assert.Equal(t, map[string]string{
					"cloudwatch.amazonaws.com": "arn:aws:cloudwatch:" + region + ":" + mocks.AccountID + ":alarm:*",
					"events.amazonaws.com":     "arn:aws:events:" + region + ":" + mocks.AccountID + ":rule/*",
					"aps.amazonaws.com":        "arn:aws:aps:" + region + ":" + mocks.AccountID + ":workspace/*",
				}, sources)
			}
		})
	}
}

func TestGlobalClusterDeletionProtectionFollowsTheStack(t *testing.T) {
	base, secrets := stackConfig(t, "prod-global")
	for _, tc := range []struct {
		name    string
		protect string
		want    bool
	}{
		{"prod protects", "", true},
		{"unprotected", "false", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			if tc.protect != "" {
				// Only a non-prod stack may leave its data unprotected.
				cfg = withConfig(base, map[string]string{"auth-platform:environment": "staging", "auth-platform:protectStatefulResources": tc.protect})
			}
			res, err := runProgram(t, "prod-global", cfg, secrets)
			require.NoError(t, err)
			globals := ofType(res, "aws:rds/globalCluster:GlobalCluster")
			require.Len(t, globals, 1)
			assert.Equal(t, tc.want, value(globals[0].Inputs, "deletionProtection"))
			assert.Equal(t, tc.want, globals[0].Protect, "protect follows the same setting")
			for _, c := range nonEmpty(t, ofType(res, "aws:rds/cluster:Cluster"), "Aurora cluster") {
				assert.Equal(t, tc.want, value(c.Inputs, "deletionProtection"), c.Name)
			}
		})
	}
}
