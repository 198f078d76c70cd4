// Package waf puts an AWS WAFv2 web ACL in front of the auth ALB: AWS
// managed rule groups that fit a login service, a rate-based rule on the
// login path per client address, traffic logs with credentials redacted,
// and an alarm on spikes of blocked (or, in count mode, counted) requests.
package waf

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/naming"
)

// Modes of the web ACL's rules.
const (
	// ModeBlock blocks what a rule matches.
	ModeBlock = "block"
	// ModeCount only counts (and logs) what a rule matches: for a first
	// rollout, to see what would be blocked before anything is.
	ModeCount = "count"
)

// Defaults of Args.
const (
	DefaultLoginPath = "/v1/login"
	// DefaultLoginRateLimit requests per client IP per window on the login
	// path: far above a person typing a password, far below a credential
	// stuffing run. AWS accepts 10 to 2,000,000,000.
	DefaultLoginRateLimit = 100
	// DefaultRateWindowSeconds is the window AWS counts over (60, 120, 300
	// or 600 s).
	DefaultRateWindowSeconds = 300
	// DefaultLogRetentionDays of the WAF traffic logs.
	DefaultLogRetentionDays = 90
	// DefaultBlockedRequestsThreshold per 5 minutes before the alarm fires.
	DefaultBlockedRequestsThreshold = 100
	// MaxCapacity is the WCU budget of a web ACL within the base price
	// (AWS WAF pricing: web ACLs above 1,500 WCU cost extra per request).
	MaxCapacity = 1500
	// RateRuleCapacity is the WCU of the rate rule with its byte-match
	// scope-down (2 for the rate rule, about 10 for the match).
	RateRuleCapacity = 12
)

// DefaultRuleGroups are the AWS managed rule groups the web ACL evaluates,
// in this order: known-bad sources first (cheap), then request inspection.
var DefaultRuleGroups = []string{
	"AWSManagedRulesAmazonIpReputationList",
	"AWSManagedRulesKnownBadInputsRuleSet",
	"AWSManagedRulesCommonRuleSet",
}

// ManagedRuleGroupCapacity is the WCU of the AWS managed rule groups that
// carry no extra subscription fee. Source: AWS WAF Developer Guide, "AWS
// Managed Rules rule groups list" (capacity of each group). Bot Control,
// Account Takeover Prevention and Account Creation Fraud Prevention are paid
// per request and need their own configuration, so they are not offered.
var ManagedRuleGroupCapacity = map[string]int{
	"AWSManagedRulesCommonRuleSet":          700,
	"AWSManagedRulesKnownBadInputsRuleSet":  200,
	"AWSManagedRulesAmazonIpReputationList": 25,
	"AWSManagedRulesAnonymousIpList":        50,
	"AWSManagedRulesAdminProtectionRuleSet": 100,
	"AWSManagedRulesSQLiRuleSet":            200,
	"AWSManagedRulesLinuxRuleSet":           200,
	"AWSManagedRulesUnixRuleSet":            100,
	"AWSManagedRulesWindowsRuleSet":         200,
	"AWSManagedRulesPHPRuleSet":             100,
	"AWSManagedRulesWordPressRuleSet":       100,
}

// RedactedHeaders are left out of the traffic logs: the login service's
// credentials travel in them (bearer tokens, session cookies). WAF never
// logs request bodies, so passwords posted to the login path stay out too.
var RedactedHeaders = []string{"authorization", "cookie"}

// RateRuleName is the rate-based rule's name (and metric name suffix).
const RateRuleName = "login-rate-per-ip"

// Args configures a WebACL.
type Args struct {
	// LoadBalancerArn is the ALB the web ACL is associated with. Required.
	LoadBalancerArn pulumi.StringInput
	// Region of the ALB (the alarm's metric dimension). Required.
	Region string
	// AccountID and Partition scope the log group's resource policy.
	// Required.
	AccountID string
	Partition string
	// Mode is ModeBlock (default) or ModeCount for every rule.
	Mode string
	// RuleGroups are AWS managed rule group names. Default
	// DefaultRuleGroups.
	RuleGroups []string
	// LoginPath is the path prefix the rate rule watches. Default
	// DefaultLoginPath.
	LoginPath string
	// LoginRateLimit is the most requests one IP may send to LoginPath per
	// RateWindowSeconds. Default DefaultLoginRateLimit.
	LoginRateLimit    int
	RateWindowSeconds int
	// LogRetentionDays of the traffic logs. Default DefaultLogRetentionDays.
	LogRetentionDays int
	// AlarmTopicArn receives the blocked-requests alarm. Required.
	AlarmTopicArn pulumi.StringInput
	// BlockedRequestsThreshold per 5 minutes. Default
	// DefaultBlockedRequestsThreshold.
	BlockedRequestsThreshold int
	// Namer and Tags name and tag everything. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// WebACL is the WAF component.
type WebACL struct {
	pulumi.ResourceState

	WebACLArn   pulumi.StringOutput `pulumi:"webAclArn"`
	LogGroupArn pulumi.StringOutput `pulumi:"logGroupArn"`
	// Name of the web ACL (the WebACL metric dimension), known before
	// deployment.
	Name string
	// AlarmNames are the alarms on what the WAF blocks (or, in count mode,
	// counts), known before deployment.
	AlarmNames []string
}

// Capacity is the WCU the web ACL needs for these rule groups.
func Capacity(ruleGroups []string) int {
	total := RateRuleCapacity
	for _, g := range ruleGroups {
		total += ManagedRuleGroupCapacity[g]
	}
	return total
}

// Check validates the settings a configuration controls; the stack turns
// each error into a problem on its key.
func Check(mode string, ruleGroups []string, limit, window int) []error {
	var errs []error
	if mode != ModeBlock && mode != ModeCount {
		errs = append(errs, fmt.Errorf("mode %q: want %s or %s", mode, ModeBlock, ModeCount))
	}
	seen := map[string]bool{}
	for _, g := range ruleGroups {
		if _, ok := ManagedRuleGroupCapacity[g]; !ok {
			errs = append(errs, fmt.Errorf("rule group %q is not a free AWS managed rule group", g))
		}
		if seen[g] {
			errs = append(errs, fmt.Errorf("rule group %q is listed twice", g))
		}
		seen[g] = true
	}
	if c := Capacity(ruleGroups); c > MaxCapacity {
		errs = append(errs, fmt.Errorf("the rule groups need %d WCU, more than the %d of the base price", c, MaxCapacity))
	}
	if limit < 10 || limit > 2000000000 {
		errs = append(errs, fmt.Errorf("rate limit %d: AWS accepts 10 to 2000000000", limit))
	}
	switch window {
	case 60, 120, 300, 600:
	default:
		errs = append(errs, fmt.Errorf("rate window %d s: AWS accepts 60, 120, 300 or 600", window))
	}
	return errs
}

// NewWebACL creates the web ACL, associates it with the ALB, logs its
// traffic and watches it. Pass the regional AWS provider.
func NewWebACL(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*WebACL, error) {
	if args == nil || args.LoadBalancerArn == nil || args.AlarmTopicArn == nil || args.Region == "" {
		return nil, fmt.Errorf("waf %s: LoadBalancerArn, AlarmTopicArn and Region are required", name)
	}
	a := *args
	if a.Mode == "" {
		a.Mode = ModeBlock
	}
	if a.RuleGroups == nil {
		a.RuleGroups = DefaultRuleGroups
	}
	if a.LoginPath == "" {
		a.LoginPath = DefaultLoginPath
	}
	if a.LoginRateLimit == 0 {
		a.LoginRateLimit = DefaultLoginRateLimit
	}
	if a.RateWindowSeconds == 0 {
		a.RateWindowSeconds = DefaultRateWindowSeconds
	}
	if a.LogRetentionDays == 0 {
		a.LogRetentionDays = DefaultLogRetentionDays
	}
	if a.BlockedRequestsThreshold == 0 {
		a.BlockedRequestsThreshold = DefaultBlockedRequestsThreshold
	}
	if errs := Check(a.Mode, a.RuleGroups, a.LoginRateLimit, a.RateWindowSeconds); len(errs) > 0 {
		return nil, fmt.Errorf("waf %s: %v", name, errs)
	}

	w := &WebACL{Name: a.Namer.Name("waf")}
	if err := ctx.RegisterComponentResource("authplatform:waf:WebACL", name, w, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(w)
	metric := func(suffix string) *wafv2.WebAclRuleVisibilityConfigArgs {
		return &wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true),
			MetricName:               pulumi.String(RuleMetricName(w.Name, suffix)),
			SampledRequestsEnabled:   pulumi.Bool(true),
		}
	}

	var rules wafv2.WebAclRuleArray
	for i, group := range a.RuleGroups {
		// A managed group's own actions apply unless overridden to count.
		override := &wafv2.WebAclRuleOverrideActionArgs{None: &wafv2.WebAclRuleOverrideActionNoneArgs{}}
		if a.Mode == ModeCount {
			override = &wafv2.WebAclRuleOverrideActionArgs{Count: &wafv2.WebAclRuleOverrideActionCountArgs{}}
		}
		rules = append(rules, wafv2.WebAclRuleArgs{
			Name:           pulumi.String(group),
			Priority:       pulumi.Int(10 * (i + 1)),
			OverrideAction: override,
			Statement: &wafv2.WebAclRuleStatementArgs{
				ManagedRuleGroupStatement: &wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
					Name:       pulumi.String(group),
					VendorName: pulumi.String("AWS"),
				},
			},
			VisibilityConfig: metric(group),
		})
	}
	action := &wafv2.WebAclRuleActionArgs{Block: &wafv2.WebAclRuleActionBlockArgs{}}
	if a.Mode == ModeCount {
		action = &wafv2.WebAclRuleActionArgs{Count: &wafv2.WebAclRuleActionCountArgs{}}
	}
	// Only the login path is rate limited: token refreshes and health
	// checks must not count against a user behind a shared NAT.
	rules = append(rules, wafv2.WebAclRuleArgs{
		Name:     pulumi.String(RateRuleName),
		Priority: pulumi.Int(1),
		Action:   action,
		Statement: &wafv2.WebAclRuleStatementArgs{
			RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{
				Limit:               pulumi.Int(a.LoginRateLimit),
				EvaluationWindowSec: pulumi.Int(a.RateWindowSeconds),
				AggregateKeyType:    pulumi.String("IP"),
				ScopeDownStatement: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementArgs{
					ByteMatchStatement: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementArgs{
						SearchString:         pulumi.String(a.LoginPath),
						PositionalConstraint: pulumi.String("STARTS_WITH"),
						FieldToMatch: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchArgs{
							UriPath: &wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementFieldToMatchUriPathArgs{},
						},
						// Lowercase first, so /V1/Login cannot dodge the limit.
						TextTransformations: wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementTextTransformationArray{
							wafv2.WebAclRuleStatementRateBasedStatementScopeDownStatementByteMatchStatementTextTransformationArgs{
								Priority: pulumi.Int(0), Type: pulumi.String("LOWERCASE"),
							},
						},
					},
				},
			},
		},
		VisibilityConfig: metric(RateRuleName),
	})

	acl, err := wafv2.NewWebAcl(ctx, w.Name, &wafv2.WebAclArgs{
		Name:        pulumi.String(w.Name),
		Description: pulumi.String(fmt.Sprintf("Auth ALB %s: AWS managed rules and a login rate limit (%s mode)", a.Namer.Prefix(), a.Mode)),
		Scope:       pulumi.String("REGIONAL"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{
			Allow: &wafv2.WebAclDefaultActionAllowArgs{},
		},
		Rules: rules,
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true),
			MetricName:               pulumi.String(w.Name),
			SampledRequestsEnabled:   pulumi.Bool(true),
		},
		Tags: pulumi.ToStringMap(a.Tags.WithName(w.Name)),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := wafv2.NewWebAclAssociation(ctx, a.Namer.Name("waf", "alb"), &wafv2.WebAclAssociationArgs{
		ResourceArn: a.LoadBalancerArn,
		WebAclArn:   acl.Arn,
	}, parent); err != nil {
		return nil, err
	}

	logGroupName := a.Namer.WAFLogGroup()
	logGroup, err := cloudwatch.NewLogGroup(ctx, a.Namer.Name("waf-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(logGroupName),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
		Tags:            pulumi.ToStringMap(a.Tags.WithName(logGroupName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	// WAF delivers through CloudWatch Logs' vended-log service; an explicit
	// resource policy scoped to this group and account saves WAF from adding
	// a broad one of its own (10 resource policies per region at most).
	policy := logGroup.Arn.ApplyT(func(arn string) (string, error) {
		return LogDeliveryPolicy(arn, a.Partition, a.Region, a.AccountID).JSON()
	}).(pulumi.StringOutput)
	logPolicy, err := cloudwatch.NewLogResourcePolicy(ctx, a.Namer.Name("waf", "logs"), &cloudwatch.LogResourcePolicyArgs{
		PolicyName:     pulumi.String(a.Namer.Name("waf", "logs")),
		PolicyDocument: policy,
	}, parent)
	if err != nil {
		return nil, err
	}
	var redacted wafv2.WebAclLoggingConfigurationRedactedFieldArray
	for _, h := range RedactedHeaders {
		redacted = append(redacted, wafv2.WebAclLoggingConfigurationRedactedFieldArgs{
			SingleHeader: &wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs{Name: pulumi.String(h)},
		})
	}
	if _, err := wafv2.NewWebAclLoggingConfiguration(ctx, a.Namer.Name("waf", "logging"), &wafv2.WebAclLoggingConfigurationArgs{
		ResourceArn:           acl.Arn,
		LogDestinationConfigs: pulumi.StringArray{logGroup.Arn},
		RedactedFields:        redacted,
	}, parent, pulumi.DependsOn([]pulumi.Resource{logPolicy})); err != nil {
		return nil, err
	}

	for _, spec := range Alarms(w.Name, a.Region, a.Mode, a.RuleGroups) {
		name := a.Namer.Name(spec.Suffix)
		w.AlarmNames = append(w.AlarmNames, name)
		args := &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(name),
			AlarmDescription:   pulumi.String(fmt.Sprintf("More than %d auth requests %s in 5 minutes: an attack, or a rule hitting real users. Check the WAF logs (%s).", a.BlockedRequestsThreshold, spec.What, logGroupName)),
			EvaluationPeriods:  pulumi.Int(1),
			DatapointsToAlarm:  pulumi.Int(1),
			Threshold:          pulumi.Float64(float64(a.BlockedRequestsThreshold)),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			// WAF publishes nothing while nothing matches.
			TreatMissingData: pulumi.String("notBreaching"),
			AlarmActions:     pulumi.Array{a.AlarmTopicArn},
			OkActions:        pulumi.Array{a.AlarmTopicArn},
			Tags:             pulumi.ToStringMap(a.Tags.WithName(name)),
		}
		if spec.Query != "" {
			args.MetricQueries = cloudwatch.MetricAlarmMetricQueryArray{cloudwatch.MetricAlarmMetricQueryArgs{
				Id:         pulumi.String("counted"),
				Expression: pulumi.String(spec.Query),
				Period:     pulumi.Int(AlarmPeriodSeconds),
				Label:      pulumi.String(spec.What),
				ReturnData: pulumi.Bool(true),
			}}
		} else {
			args.Namespace = pulumi.String(MetricNamespace)
			args.MetricName = pulumi.String(spec.Metric)
			args.Dimensions = pulumi.ToStringMap(spec.Dimensions)
			args.Statistic = pulumi.String("Sum")
			args.Period = pulumi.Int(AlarmPeriodSeconds)
		}
		if _, err := cloudwatch.NewMetricAlarm(ctx, name, args, parent); err != nil {
			return nil, err
		}
	}

	w.WebACLArn = acl.Arn
	w.LogGroupArn = logGroup.Arn
	if err := ctx.RegisterResourceOutputs(w, pulumi.Map{
		"webAclArn":   w.WebACLArn,
		"logGroupArn": w.LogGroupArn,
	}); err != nil {
		return nil, err
	}
	return w, nil
}

// LogDeliveryPolicy lets CloudWatch Logs' log delivery service write WAF
// logs of this account and region into the group (AWS WAF Developer Guide,
// "Permissions required to publish logs to CloudWatch Logs").
func LogDeliveryPolicy(logGroupArn, partition, region, accountID string) iamdoc.Document {
	st := iamdoc.Allow("WAFLogDelivery", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, logGroupArn+":*").
		When("StringEquals", "aws:SourceAccount", accountID).
		When("ArnLike", "aws:SourceArn", fmt.Sprintf("arn:%s:logs:%s:%s:*", partition, region, accountID))
	st.Principal = &iamdoc.Principal{Service: []string{"delivery.logs.amazonaws.com"}}
	return iamdoc.New(st)
}

// MetricNamespace is where AWS WAF publishes its metrics.
const MetricNamespace = "AWS/WAFV2"

// AlarmPeriodSeconds is the window each WAF alarm sums over.
const AlarmPeriodSeconds = 300

// RuleMetricName is the CloudWatch metric name a rule of the web ACL
// publishes under (its VisibilityConfig): for a managed rule group, the
// value of the RuleGroup dimension of its rules' metrics.
func RuleMetricName(aclName, rule string) string { return aclName + "-" + rule }

// AlarmSpec is one WAF alarm: a plain metric (Metric, Dimensions) or a
// CloudWatch Metrics Insights query (Query).
type AlarmSpec struct {
	// Suffix of the alarm's name.
	Suffix string
	// What the alarm counts, for its description.
	What       string
	Metric     string
	Dimensions map[string]string
	Query      string
}

// Alarms are the alarms of a web ACL in a mode, each on a metric AWS WAF
// publishes for it (AWS WAF Developer Guide, "AWS WAF metrics and
// dimensions", https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html).
//
// In block mode, BlockedRequests of the web ACL with Rule=ALL: every block,
// by the managed groups or the rate rule, is the web ACL's.
//
// In count mode that metric stays empty for the managed groups: "Count
// action rules in rule groups don't emit web ACL dimension metrics - only
// Rule, RuleGroup, and Region dimensions", and the AWS managed rule groups
// are named as such rule groups (same page). So each group gets an alarm
// of its own, a Metrics Insights query summing CountedRequests over every
// rule of the group, found by its RuleGroup dimension: the metric name of
// the web ACL rule that references it (RuleMetricName). The rate rule is
// the web ACL's own rule, so its counts stay on the web ACL's dimensions
// ("when you test a rule in Count mode, its matches are listed as Count
// metrics for the web ACL"), under its own Rule.
func Alarms(aclName, region, mode string, ruleGroups []string) []AlarmSpec {
	if mode != ModeCount {
		return []AlarmSpec{{
			Suffix: "waf-blocked-requests", What: "blocked by the WAF",
			Metric:     "BlockedRequests",
			Dimensions: map[string]string{"WebACL": aclName, "Region": region, "Rule": "ALL"},
		}}
	}
	var out []AlarmSpec
	for _, g := range ruleGroups {
		out = append(out, AlarmSpec{
			Suffix: "waf-counted-" + strings.ToLower(g),
			What:   "counted by " + g + " (count mode: would be blocked)",
			Query: fmt.Sprintf(`SELECT SUM(CountedRequests) FROM SCHEMA("%s", Region, Rule, RuleGroup) WHERE Region = '%s' AND RuleGroup = '%s'`,
				MetricNamespace, region, RuleMetricName(aclName, g)),
		})
	}
	return append(out, AlarmSpec{
		Suffix: "waf-counted-" + RateRuleName,
		What:   "counted by the login rate rule (count mode: would be blocked)",
		Metric: "CountedRequests",
		Dimensions: map[string]string{
			"WebACL": aclName, "Region": region, "Rule": RuleMetricName(aclName, RateRuleName),
		},
	})
}
