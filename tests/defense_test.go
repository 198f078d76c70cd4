package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/accesslogs"
	"github.com/authplatform/auth-platform/components/alarms"
	"github.com/authplatform/auth-platform/components/waf"
	"github.com/authplatform/auth-platform/stacks"
)

// Issue 16: what every region of the shipped stacks builds to defend and
// watch the platform, and how it is wired.

const (
	typeWebACL      = "aws:wafv2/webAcl:WebAcl"
	typeWebACLAssoc = "aws:wafv2/webAclAssociation:WebAclAssociation"
	typeWAFLogging  = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
	typeLogGroup    = "aws:cloudwatch/logGroup:LogGroup"
	typeALB         = "aws:lb/loadBalancer:LoadBalancer"
	typeBucket      = "aws:s3/bucketV2:BucketV2"
	typeFlowLog     = "aws:ec2/flowLog:FlowLog"
	typeVpc         = "aws:ec2/vpc:Vpc"
	typeDetector    = "aws:guardduty/detector:Detector"
	typeFeature     = "aws:guardduty/detectorFeature:DetectorFeature"
	typeEventRule   = "aws:cloudwatch/eventRule:EventRule"
	typeEventTarget = "aws:cloudwatch/eventTarget:EventTarget"
	typeMetricFiltr = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
	typeAlarm       = "aws:cloudwatch/metricAlarm:MetricAlarm"
	typeTopic       = "aws:sns/topic:Topic"
	typeTopicPolicy = "aws:sns/topicPolicy:TopicPolicy"
)

// onlyOne returns the single resource of a type in a region's plan.
func onlyOne(t *testing.T, rp regionPlan, typ string) *mocks.Resource {
	t.Helper()
	rs := ofType(rp.res, typ)
	require.Len(t, rs, 1, "%s: want one %s", rp.name, typ)
	return rs[0]
}

// jsonInput parses a JSON string input.
func jsonInput(t *testing.T, r *mocks.Resource, path string) map[string]interface{} {
	t.Helper()
	var doc map[string]interface{}
	require.NoError(t, json.Unmarshal([]byte(str(t, r, path)), &doc), "%s %s", r.Name, path)
	return doc
}

// statementsBySid indexes an IAM document's statements.
func statementsBySid(doc map[string]interface{}) map[string]map[string]interface{} {
	out := map[string]map[string]interface{}{}
	for _, s := range doc["Statement"].([]interface{}) {
		st := s.(map[string]interface{})
		sid, _ := st["Sid"].(string)
		out[sid] = st
	}
	return out
}

// TestDefenseProdRegionsShowEverything: each region of each production
// stack has the web ACL and its association, the log bucket and the ALB's
// access-log attributes, flow logs, GuardDuty, the AWS Health rule, the
// eviction metric filter and its alarm.
func TestDefenseProdRegionsShowEverything(t *testing.T) {
	// ELB log delivery accounts per region, from the ELB User Guide table
	// "Regions available before August 2022".
	elbAccount := map[string]string{"us-east-1": "127311923021", "us-west-2": "797873946194"}
	prod := 0
	for _, rp := range regionPlans(t) {
		if !rp.cfg.Production() {
			continue
		}
		prod++
		t.Run(rp.name, func(t *testing.T) {
			region := rp.cfg.Region
			alb := onlyOne(t, rp, typeALB)
			topic := onlyOne(t, rp, typeTopic)

			// WAF: regional web ACL with the three managed groups and the
			// login rate rule, associated with this ALB, logging redacted.
			acl := onlyOne(t, rp, typeWebACL)
			assert.Equal(t, "REGIONAL", str(t, acl, "scope"))
			var groups []string
			var rate map[string]interface{}
			for _, r := range value(acl.Inputs, "rules").([]interface{}) {
				rule := r.(map[string]interface{})
				stmt := rule["statement"].(map[string]interface{})
				if m, ok := stmt["managedRuleGroupStatement"].(map[string]interface{}); ok {
					assert.Equal(t, "AWS", m["vendorName"])
					assert.Contains(t, rule["overrideAction"], "none", "block mode keeps the groups' own actions")
					groups = append(groups, m["name"].(string))
				}
				if rb, ok := stmt["rateBasedStatement"].(map[string]interface{}); ok {
					rate = rb
					assert.Contains(t, rule["action"], "block")
				}
			}
			assert.ElementsMatch(t, []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"}, groups)
			require.NotNil(t, rate, "a rate-based rule")
			assert.Equal(t, "IP", rate["aggregateKeyType"])
			assert.EqualValues(t, 100, rate["limit"])
			byte := rate["scopeDownStatement"].(map[string]interface{})["byteMatchStatement"].(map[string]interface{})
			assert.Equal(t, "/v1/login", byte["searchString"])
			assert.Equal(t, "STARTS_WITH", byte["positionalConstraint"])
			assert.Contains(t, byte["fieldToMatch"], "uriPath")

			assoc := onlyOne(t, rp, typeWebACLAssoc)
			assert.Equal(t, alb.ID, str(t, assoc, "resourceArn"))
			assert.Equal(t, acl.Outputs["arn"].StringValue(), str(t, assoc, "webAclArn"))

			logging := onlyOne(t, rp, typeWAFLogging)
			assert.Equal(t, acl.Outputs["arn"].StringValue(), str(t, logging, "resourceArn"))
			var redacted []string
			for _, f := range value(logging.Inputs, "redactedFields").([]interface{}) {
				redacted = append(redacted, f.(map[string]interface{})["singleHeader"].(map[string]interface{})["name"].(string))
			}
			assert.ElementsMatch(t, []string{"authorization", "cookie"}, redacted)
			dest := stringList(t, logging, "logDestinationConfigs")
			require.Len(t, dest, 1)
			assert.Contains(t, dest[0], ":log-group:aws-waf-logs-", "WAF delivers only to aws-waf-logs-* groups")
			blocked := one(t, rp.res, typeAlarm, "-waf-blocked-requests")
			assert.Equal(t, "AWS/WAFV2", str(t, blocked, "namespace"))
			assert.Equal(t, "BlockedRequests", str(t, blocked, "metricName"))
			assert.Equal(t, str(t, acl, "name"), str(t, blocked, "dimensions.WebACL"))
			assert.Equal(t, region, str(t, blocked, "dimensions.Region"))
			// Block mode: every block, a managed group's too, is the web ACL's.
			assert.Equal(t, "ALL", str(t, blocked, "dimensions.Rule"))

			// Access logs: the stack's bucket, hardened, and the ALB using it.
			bucket := onlyOne(t, rp, typeBucket)
			assert.Equal(t, true, value(alb.Inputs, "accessLogs.enabled"))
			assert.Equal(t, bucket.ID, str(t, alb, "accessLogs.bucket"))
			prefix := str(t, alb, "accessLogs.prefix")
			block := onlyOne(t, rp, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
			for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
				assert.Equal(t, true, value(block.Inputs, k), k)
			}
			sse := onlyOne(t, rp, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
			assert.Equal(t, "AES256", value(sse.Inputs, "rules").([]interface{})[0].(map[string]interface{})["applyServerSideEncryptionByDefault"].(map[string]interface{})["sseAlgorithm"],
				"ALB access logs accept SSE-S3 only")
			life := onlyOne(t, rp, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
			assert.EqualValues(t, 90, value(life.Inputs, "rules").([]interface{})[0].(map[string]interface{})["expiration"].(map[string]interface{})["days"])
			policy := statementsBySid(jsonInput(t, onlyOne(t, rp, "aws:s3/bucketPolicy:BucketPolicy"), "policy"))
			write := policy["ELBLogDelivery"]
			require.NotNil(t, write)
			assert.Equal(t, map[string]interface{}{"AWS": []interface{}{"arn:aws:iam::" + elbAccount[region] + ":root"}}, write["Principal"])
			assert.Equal(t, []interface{}{"arn:aws:s3:::" + bucket.ID + "/" + prefix + "/AWSLogs/" + mocks.AccountID + "/*"}, write["Resource"])
			deny := policy["TLSOnly"]
			require.NotNil(t, deny)
			assert.Equal(t, "Deny", deny["Effect"])
			assert.Equal(t, map[string]interface{}{"Bool": map[string]interface{}{"aws:SecureTransport": []interface{}{"false"}}}, deny["Condition"])

			// Flow logs of this VPC into a group with retention.
			vpc := onlyOne(t, rp, typeVpc)
			fl := onlyOne(t, rp, typeFlowLog)
			assert.Equal(t, vpc.ID, str(t, fl, "vpcId"))
			assert.Equal(t, "ALL", str(t, fl, "trafficType"))
			group := one(t, rp.res, typeLogGroup, "-flow-logs")
			assert.Equal(t, group.Outputs["arn"].StringValue(), str(t, fl, "logDestination"))
			assert.EqualValues(t, 30, value(group.Inputs, "retentionInDays"))

			// GuardDuty: only where the stack owns the region's detector
			// (one per account and region: prod-us-east-1 owns us-east-1's,
			// prod-global us-west-2's), created by the stack (no
			// guardDutyDetectorId) and protected like the data it holds.
			if !rp.cfg.Defense.GuardDuty {
				assert.Empty(t, ofType(rp.res, typeFeature), "a region whose detector another stack manages")
				assert.Empty(t, ofType(rp.res, typeDetector))
			} else {
				feature := onlyOne(t, rp, typeFeature)
				assert.Equal(t, "EKS_AUDIT_LOGS", str(t, feature, "name"))
				detector := onlyOne(t, rp, typeDetector)
				assert.Equal(t, detector.ID, str(t, feature, "detectorId"))
				assert.True(t, detector.Protect, "deleting the detector deletes its findings")
				assert.NotContains(t, str(t, feature, "name"), "RUNTIME", "Runtime Monitoring does not cover EKS on Fargate")
			}

			// AWS Health and EKS patching events into the alarm topic.
			health := one(t, rp.res, typeEventRule, "-health-eks-fargate")
			pattern := jsonInput(t, health, "eventPattern")
			assert.Equal(t, []interface{}{"aws.health"}, pattern["source"])
			assert.Equal(t, []interface{}{"AWS Health Event"}, pattern["detail-type"])
			assert.ElementsMatch(t, []interface{}{"EKS", "FARGATE"}, pattern["detail"].(map[string]interface{})["service"])
			assert.NotContains(t, pattern["detail"], "eventTypeCategory", "the patch notice in whatever category (D-9)")
			termination := jsonInput(t, one(t, rp.res, typeEventRule, "-fargate-scheduled-termination"), "eventPattern")
			assert.Equal(t, []interface{}{"EKS Fargate Pod Scheduled Termination"}, termination["detail-type"])
			targets := ofType(rp.res, typeEventTarget)
			require.NotEmpty(t, targets)
			for _, target := range targets {
				assert.Equal(t, topic.ID, str(t, target, "arn"), target.Name)
			}
			topicPolicy := statementsBySid(jsonInput(t, onlyOne(t, rp, typeTopicPolicy), "policy"))
			events := topicPolicy["EventBridgeRules"]
			require.NotNil(t, events, "the topic admits EventBridge")
			assert.Equal(t, map[string]interface{}{"Service": []interface{}{"events.amazonaws.com"}}, events["Principal"])

			// Eviction metric filter on the control plane's log group, and
			// HighPodEvictionRate on its metric.
			cluster := rp.res.Outputs["clusterName"]
			filter := one(t, rp.res, typeMetricFiltr, "-pod-evictions")
			assert.Equal(t, "/aws/eks/"+cluster.(string)+"/cluster", str(t, filter, "logGroupName"))
			assert.Contains(t, str(t, filter, "pattern"), `$.objectRef.subresource = "eviction"`)
			assert.Contains(t, str(t, filter, "pattern"), `$.verb = "create"`)
			alarm := one(t, rp.res, typeAlarm, "-HighPodEvictionRate")
			assert.Equal(t, str(t, filter, "metricTransformation.name"), str(t, alarm, "metricName"))
			assert.Equal(t, str(t, filter, "metricTransformation.namespace"), str(t, alarm, "namespace"))
			assert.Equal(t, []interface{}{topic.ID}, value(alarm.Inputs, "alarmActions"))
		})
	}
	assert.Equal(t, 3, prod, "prod-us-east-1 and both regions of prod-global")
}

// TestDefenseResourcesAreChildrenOnTheRegionalProvider: every resource of
// the new components has its component as parent and the region's
// explicit provider.
func TestDefenseResourcesAreChildrenOnTheRegionalProvider(t *testing.T) {
	res := planStack(t, "prod-global")
	urns := byURN(res)
	components := map[string]bool{
		"authplatform:waf:WebACL": true, "authplatform:accesslogs:Bucket": true, "authplatform:flowlogs:FlowLogs": true,
		"authplatform:threatdetection:ThreatDetection": true, "authplatform:signals:Signals": true,
	}
	seen := map[string]int{}
	for _, r := range res.Resources {
		p := urns[r.Parent]
		if p == nil || !components[p.Type] {
			continue
		}
		seen[p.Type]++
		require.NotEmpty(t, r.Provider, "%s has the explicit provider", r.Name)
		provider := urns[r.Provider]
		require.NotNil(t, provider)
		assert.Equal(t, r.Region, str(t, provider, "region"), r.Name)
	}
	for typ := range components {
		assert.NotZero(t, seen[typ], "%s has children", typ)
	}
}

// TestDefenseDevShowsWhatItsConfigAsks: dev runs the WAF in count mode,
// keeps access logs and flow logs, and leaves GuardDuty off.
func TestDefenseDevShowsWhatItsConfigAsks(t *testing.T) {
	res := planStack(t, "dev")
	acl := one(t, res, typeWebACL, "-waf")
	for _, r := range value(acl.Inputs, "rules").([]interface{}) {
		rule := r.(map[string]interface{})
		if _, managed := rule["overrideAction"]; managed {
			assert.Contains(t, rule["overrideAction"], "count")
		} else {
			assert.Contains(t, rule["action"], "count")
		}
	}
	assert.Len(t, ofType(res, typeFlowLog), 1)
	assert.Len(t, ofType(res, typeBucket), 1)
	assert.Empty(t, ofType(res, typeFeature), "GuardDuty is opt-in")
	assert.Empty(t, ofType(res, "aws:lb/trustStore:TrustStore"), "mutual TLS is off by default")
}

// TestWAFCountModeAlarmsWatchWhatWAFPublishes (issue 23, C-1): in count
// mode a managed rule group's counts are published only with the Region,
// Rule and RuleGroup dimensions, RuleGroup being the metric name of the web
// ACL rule that references the group (AWS WAF Developer Guide, "AWS WAF
// metrics and dimensions"). So each group is watched under that name, over
// all of its rules, and the web ACL's Rule=ALL is watched for nothing; the
// rate rule, the web ACL's own, is watched under the web ACL.
func TestWAFCountModeAlarmsWatchWhatWAFPublishes(t *testing.T) {
	res := planStack(t, "dev")
	cfg, _ := stackConfig(t, "dev")
	region := cfg["aws:region"]
	acl := one(t, res, typeWebACL, "-waf")
	aclName := str(t, acl, "name")
	alarms := ofType(res, typeAlarm)
	queries := map[string]string{} // expression -> alarm
	for _, a := range alarms {
		if q, ok := value(a.Inputs, "metricQueries").([]interface{}); ok && strings.Contains(a.Name, "-waf-") {
			require.Len(t, q, 1, a.Name)
			query := q[0].(map[string]interface{})
			assert.Equal(t, true, query["returnData"], a.Name)
			assert.EqualValues(t, 300, query["period"], "%s: a Metrics Insights query carries its period", a.Name)
			queries[query["expression"].(string)] = a.Name
		}
		dims, _ := value(a.Inputs, "dimensions").(map[string]interface{})
		if dims["WebACL"] != nil {
			assert.NotEqual(t, "ALL", dims["Rule"], "%s: Rule=ALL of the web ACL has no counts of managed groups", a.Name)
		}
	}
	groups := 0
	for _, r := range value(acl.Inputs, "rules").([]interface{}) {
		rule := r.(map[string]interface{})
		metric := rule["visibilityConfig"].(map[string]interface{})["metricName"].(string)
		stmt := rule["statement"].(map[string]interface{})
		if _, managed := stmt["managedRuleGroupStatement"]; managed {
			groups++
			want := fmt.Sprintf(`SELECT SUM(CountedRequests) FROM SCHEMA("AWS/WAFV2", Region, Rule, RuleGroup) WHERE Region = '%s' AND RuleGroup = '%s'`, region, metric)
			assert.Contains(t, queries, want, "rule group %s is watched by its metric name", rule["name"])
			continue
		}
		rate := one(t, res, typeAlarm, "-waf-counted-"+waf.RateRuleName)
		assert.Equal(t, "AWS/WAFV2", str(t, rate, "namespace"))
		assert.Equal(t, "CountedRequests", str(t, rate, "metricName"))
		assert.Equal(t, map[string]interface{}{"WebACL": aclName, "Region": region, "Rule": metric}, value(rate.Inputs, "dimensions"))
	}
	assert.Equal(t, 3, groups)
	assert.Len(t, queries, groups, "one query per group, no other")
}

// TestDefenseOptionsChangeThePlan: switches off what they say, bring-your-
// own bucket wins over the stack's, mutual TLS verifies against the bundle.
func TestDefenseOptionsChangeThePlan(t *testing.T) {
	base, _ := stackConfig(t, "prod-us-east-1")
	t.Run("bring your own bucket", func(t *testing.T) {
		res, err := runProgram(t, "prod-us-east-1", withConfig(base, map[string]string{q("albAccessLogsBucket"): "corp-elb-logs"}), nil)
		require.NoError(t, err)
		assert.Empty(t, ofType(res, typeBucket))
		assert.Equal(t, "corp-elb-logs", str(t, ofType(res, typeALB)[0], "accessLogs.bucket"))
	})
	t.Run("mutual TLS", func(t *testing.T) {
		res, err := runProgram(t, "prod-us-east-1", withConfig(base, map[string]string{q("albMtlsCaBundle"): "s3://corp-pki/auth/clients.pem"}), nil)
		require.NoError(t, err)
		store := ofType(res, "aws:lb/trustStore:TrustStore")
		require.Len(t, store, 1)
		assert.Equal(t, "corp-pki", str(t, store[0], "caCertificatesBundleS3Bucket"))
		assert.Equal(t, "auth/clients.pem", str(t, store[0], "caCertificatesBundleS3Key"))
		https := one(t, res, "aws:lb/listener:Listener", "-https")
		assert.Equal(t, "verify", str(t, https, "mutualAuthentication.mode"))
		assert.Equal(t, store[0].ID, str(t, https, "mutualAuthentication.trustStoreArn"))
	})
}

func q(key string) string { return stacks.Namespace + ":" + key }

// TestDefenseConfigurationMistakes name the key, the value and the fix.
func TestDefenseConfigurationMistakes(t *testing.T) {
	base, _ := stackConfig(t, "prod-us-east-1")
	for _, tc := range []struct {
		name, key, value, message string
	}{
		{"WAF off in prod", "wafEnabled", "false", "production ALBs must sit behind the WAF"},
		{"access logs off in prod", "albAccessLogs", "false", "production ALBs must keep access logs"},
		{"flow logs off in prod", "flowLogsEnabled", "false", "production VPCs must record flow logs"},
		{"no audit log", "clusterLogTypes", `["api","authenticator"]`, "HighPodEvictionRate alarm counts eviction requests in the control plane's audit log"},
		{"unknown mode", "wafMode", "detect", `mode "detect": want block or count`},
		{"paid rule group", "wafRuleGroups", `["AWSManagedRulesBotControlRuleSet"]`, "is not a free AWS managed rule group"},
		{"over capacity", "wafRuleGroups", `["AWSManagedRulesCommonRuleSet","AWSManagedRulesSQLiRuleSet","AWSManagedRulesLinuxRuleSet","AWSManagedRulesWindowsRuleSet","AWSManagedRulesKnownBadInputsRuleSet","AWSManagedRulesPHPRuleSet"]`, "more than the 1500 of the base price"},
		{"rate limit too low", "wafLoginRateLimit", "5", "AWS accepts 10 to 2000000000"},
		{"odd window", "wafRateWindowSeconds", "90", "AWS accepts 60, 120, 300 or 600"},
		{"odd retention", "flowLogsRetentionDays", "45", "does not accept a retention of 45 days"},
		{"bad detector", "guardDutyDetectorId", "det-1", "not a GuardDuty detector ID"},
		{"bad bundle", "albMtlsCaBundle", "https://example.com/ca.pem", "not an S3 URI of a PEM file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertRejected(t, withConfig(base, map[string]string{q(tc.key): tc.value}), q(tc.key), tc.message)
		})
	}
	t.Run("mutual TLS without HTTPS", func(t *testing.T) {
		dev, _ := stackConfig(t, "dev")
		assertRejected(t, withConfig(dev, map[string]string{q("albMtlsCaBundle"): "s3://corp-pki/clients.pem"}), q("albMtlsCaBundle"), "mutual TLS needs HTTPS")
	})
}

// TestELBLogDeliveryPrincipalByRegion: regions from before August 2022 use
// their ELB account; newer ones the log delivery service principal (ELB
// User Guide, "Enable access logs for your Application Load Balancer").
func TestELBLogDeliveryPrincipalByRegion(t *testing.T) {
	for region, want := range map[string][]string{
		"us-east-1":     {"arn:aws:iam::127311923021:root"},
		"eu-west-1":     {"arn:aws:iam::156460612806:root"},
		"us-gov-west-1": {"arn:aws-us-gov:iam::048591011584:root"},
	} {
		p := accesslogs.Deliverer(mocks.Partition(region), region)
		assert.Equal(t, want, p.AWS, region)
		assert.Empty(t, p.Service, region)
	}
	for _, region := range []string{"ap-south-2", "eu-central-2", "il-central-1", "ca-west-1", "mx-central-1"} {
		p := accesslogs.Deliverer("aws", region)
		assert.Equal(t, []string{"logdelivery.elasticloadbalancing.amazonaws.com"}, p.Service, region)
		assert.Empty(t, p.AWS, region)
	}
}

// TestAlarmTopicPolicyAdmitsAlarmsAndRules: CloudWatch alarms and
// EventBridge rules and Prometheus workspaces' alert managers (issue 27) of
// the account and region, nobody else.
func TestAlarmTopicPolicyAdmitsAlarmsAndRules(t *testing.T) {
	doc := alarms.TopicPolicy("arn:aws:sns:us-east-1:123456789012:t", "aws", "us-east-1", "123456789012")
	require.Len(t, doc.Statement, 3)
	byService := map[string]string{}
	for _, st := range doc.Statement {
		require.NotNil(t, st.Principal)
		require.Len(t, st.Principal.Service, 1)
		byService[st.Principal.Service[0]] = st.Condition["ArnLike"]["aws:SourceArn"][0]
		assert.Equal(t, []string{"123456789012"}, st.Condition["StringEquals"]["aws:SourceAccount"])
	}
	assert.Equal(t, map[string]string{
		"cloudwatch.amazonaws.com": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*",
		"events.amazonaws.com":     "arn:aws:events:us-east-1:123456789012:rule/*",
		"aps.amazonaws.com":        "arn:aws:aps:us-east-1:123456789012:workspace/*",
	}, byService)
}

// The regional ELB accounts that write access logs in the regions older
// than August 2022 (ELB User Guide, "Enable access logs for your
// Application Load Balancer", step 2: the Elastic Load Balancing account
// ID per region); every other region uses the log delivery principal.
func TestELBLogDeliveryAccountsAreTheDocumentedOnes(t *testing.T) {
	accounts := map[string]string{
		"us-east-1":      "127311923021",
		"us-east-2":      "033677994240",
		"us-west-1":      "027434742980",
		"us-west-2":      "797873946194",
		"af-south-1":     "098369216593",
		"ap-east-1":      "754344448648",
		"ap-southeast-3": "589379963580",
		"ap-south-1":     "718504428378",
		"ap-northeast-3": "383597477331",
		"ap-northeast-2": "600734575887",
		"ap-southeast-1": "114774131450",
		"ap-southeast-2": "783225319266",
		"ap-northeast-1": "582318560864",
		"ca-central-1":   "985666609251",
		"eu-central-1":   "054676820928",
		"eu-west-1":      "156460612806",
		"eu-west-2":      "652711504416",
		"eu-south-1":     "635631232127",
		"eu-west-3":      "009996457667",
		"eu-north-1":     "897822967062",
		"me-south-1":     "076674570225",
		"sa-east-1":      "507241528517",
		"us-gov-west-1":  "048591011584",
		"us-gov-east-1":  "190560391635",
		"cn-north-1":     "638102146993",
		"cn-northwest-1": "037604701340",
	}
	require.Len(t, accounts, 26)
	for region, account := range accounts {
		partition := mocks.Partition(region)
		p := accesslogs.Deliverer(partition, region)
		assert.Equal(t, []string{"arn:" + partition + ":iam::" + account + ":root"}, p.AWS, region)
		assert.Empty(t, p.Service, region)
	}
}
