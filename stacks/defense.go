package stacks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/accesslogs"
	"github.com/authplatform/auth-platform/components/flowlogs"
	"github.com/authplatform/auth-platform/components/ingress"
	"github.com/authplatform/auth-platform/components/signals"
	"github.com/authplatform/auth-platform/components/threatdetection"
	"github.com/authplatform/auth-platform/components/waf"
)

// DefenseConfig is the part of Config for issue 16: WAF, access logs, flow
// logs, GuardDuty, patch and eviction signals, mutual TLS.
type DefenseConfig struct {
	WAF                     bool
	WAFMode                 string
	WAFRuleGroups           []string
	WAFLoginRateLimit       int
	WAFRateWindowSeconds    int
	WAFLogRetentionDays     int
	WAFBlockedRequestsAlarm int

	AccessLogs              bool
	AccessLogsRetentionDays int

	FlowLogs              bool
	FlowLogsRetentionDays int

	// GuardDuty turns on EKS audit-log monitoring. With
	// GuardDutyDetectorID the stack adopts that detector; without, it
	// creates the region's detector and owns it.
	GuardDuty           bool
	GuardDutyDetectorID string

	MaxEvictionsPer5Min int

	// MutualTLS is nil when albMtlsCaBundle is empty.
	MutualTLS *ingress.MutualTLS
}

// logRetentionDays are the retention periods CloudWatch Logs accepts
// (PutRetentionPolicy API reference).
// Read on logRetentionDaysAsOf.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// checkLogRetention records a problem when days is not a retention
// CloudWatch Logs accepts.
func checkLogRetention(p *problems, key string, days int) {
	for _, ok := range logRetentionDays {
		if days == ok {
			return
		}
	}
	p.add(q(key), strconv.Itoa(days), "use one of CloudWatch Logs' periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, ... 3653",
		"CloudWatch Logs does not accept a retention of %d days", days)
}

var (
	detectorID = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func (c *Config) readDefense(r *reader) {
	d := DefenseConfig{
		WAF:                     r.boolean("wafEnabled"),
		WAFMode:                 r.str("wafMode"),
		WAFRuleGroups:           r.list("wafRuleGroups"),
		WAFLoginRateLimit:       r.integer("wafLoginRateLimit"),
		WAFRateWindowSeconds:    r.integer("wafRateWindowSeconds"),
		WAFLogRetentionDays:     r.integer("wafLogRetentionDays"),
		WAFBlockedRequestsAlarm: r.integer("wafBlockedRequestsAlarmThreshold"),
		AccessLogs:              r.boolean("albAccessLogs"),
		AccessLogsRetentionDays: r.integer("albAccessLogsRetentionDays"),
		FlowLogs:                r.boolean("flowLogsEnabled"),
		FlowLogsRetentionDays:   r.integer("flowLogsRetentionDays"),
		GuardDuty:               r.boolean("guardDutyEnabled"),
		GuardDutyDetectorID:     r.str("guardDutyDetectorId"),
		MaxEvictionsPer5Min:     r.integer("podEvictionAlarmThreshold"),
	}
	if uri := r.str("albMtlsCaBundle"); uri != "" {
		// Any bucket name and object key S3 accepts (stacks/s3names.go):
		// the key need not end in .pem, and may hold spaces or any UTF-8.
		bucket, key, ok := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
		switch {
		case !ok || !strings.HasPrefix(uri, "s3://"):
			r.problems.add(q("albMtlsCaBundle"), uri, "use s3://<bucket>/<key>, the PEM bundle of the CAs that sign client certificates", "not an S3 URI of a PEM file")
		case BucketNameProblem(bucket) != "":
			r.problems.add(q("albMtlsCaBundle"), uri, "use s3://<bucket>/<key> with the name of an existing S3 bucket", "not an S3 bucket name: %s", BucketNameProblem(bucket))
		case ObjectKeyProblem(key) != "":
			r.problems.add(q("albMtlsCaBundle"), uri, "use s3://<bucket>/<key> with the key of the bundle's object", "not an S3 object key: %s", ObjectKeyProblem(key))
		default:
			d.MutualTLS = &ingress.MutualTLS{CABundleBucket: bucket, CABundleKey: key}
		}
	}
	c.Defense = d
}

func (c *Config) validateDefense(p *problems) {
	d := &c.Defense
	for _, e := range waf.Check(d.WAFMode, d.WAFRuleGroups, d.WAFLoginRateLimit, d.WAFRateWindowSeconds) {
		key, value := "wafRuleGroups", strings.Join(d.WAFRuleGroups, ",")
		switch msg := e.Error(); {
		case strings.HasPrefix(msg, "mode"):
			key, value = "wafMode", d.WAFMode
		case strings.HasPrefix(msg, "rate limit"):
			key, value = "wafLoginRateLimit", strconv.Itoa(d.WAFLoginRateLimit)
		case strings.HasPrefix(msg, "rate window"):
			key, value = "wafRateWindowSeconds", strconv.Itoa(d.WAFRateWindowSeconds)
		}
		fixes := map[string]string{
			"wafMode":              "set block, or count for a first rollout",
			"wafRuleGroups":        "list AWS managed rule groups such as " + strings.Join(waf.DefaultRuleGroups, ", ") + " (within 1500 WCU)",
			"wafLoginRateLimit":    "set 10 to 2000000000 requests per window (default 100)",
			"wafRateWindowSeconds": "set 60, 120, 300 or 600",
		}
		p.add(q(key), value, fixes[key], "%v", e)
	}
	checkLogRetention(p, "wafLogRetentionDays", d.WAFLogRetentionDays)
	checkLogRetention(p, "flowLogsRetentionDays", d.FlowLogsRetentionDays)
	if d.AccessLogsRetentionDays < 1 || d.AccessLogsRetentionDays > 3650 {
		p.add(q("albAccessLogsRetentionDays"), strconv.Itoa(d.AccessLogsRetentionDays), "set 1 to 3650 days", "access-log retention out of range")
	}
	if d.WAFBlockedRequestsAlarm < 1 {
		p.add(q("wafBlockedRequestsAlarmThreshold"), strconv.Itoa(d.WAFBlockedRequestsAlarm), "set at least 1 request per 5 minutes", "the alarm threshold must be positive")
	}
	if d.MaxEvictionsPer5Min < 1 {
		p.add(q("podEvictionAlarmThreshold"), strconv.Itoa(d.MaxEvictionsPer5Min), "set at least 1 eviction request per 5 minutes", "the alarm threshold must be positive")
	}
	// Whether the stack creates the region's detector or adopts one is
	// configuration, never a lookup (components/threatdetection).
	if id := d.GuardDutyDetectorID; id != "" && !detectorID.MatchString(id) {
		p.add(q("guardDutyDetectorId"), id, "use the 32-character detector ID (`aws guardduty list-detectors`), or leave it empty to have the stack create the region's detector",
			"not a GuardDuty detector ID")
	} else if id != "" && !d.GuardDuty {
		p.add(q("guardDutyDetectorId"), id, "set guardDutyEnabled: true to adopt this detector, or remove guardDutyDetectorId",
			"a detector to adopt, but GuardDuty is off (guardDutyEnabled is false)")
	}
	if d.MutualTLS != nil && c.Service.CertificateArn == "" {
		p.add(q("albMtlsCaBundle"), "s3://"+d.MutualTLS.CABundleBucket+"/"+d.MutualTLS.CABundleKey, "set certificateArn too: mutual TLS runs on the HTTPS listener",
			"mutual TLS needs HTTPS")
	}
	// HighPodEvictionRate reads the audit log, so the cluster must ship it.
	// (Said once per key: an unknown log type is already reported.)
	audit, reported := false, false
	for _, t := range c.ClusterLogTypes {
		audit = audit || t == "audit"
	}
	for _, prob := range *p {
		reported = reported || prob.Key == q("clusterLogTypes")
	}
	if !audit && !reported {
		p.add(q("clusterLogTypes"), strings.Join(c.ClusterLogTypes, ","), "add audit to clusterLogTypes, e.g. [api, audit, authenticator]",
			"the HighPodEvictionRate alarm counts eviction requests in the control plane's audit log")
	}
	if c.Production() {
		if !d.WAF {
			p.add(q("wafEnabled"), "false", "set wafEnabled: true (wafMode: count for a first rollout)", "production ALBs must sit behind the WAF")
		}
		if !d.AccessLogs {
			p.add(q("albAccessLogs"), "false", "set albAccessLogs: true (the stack's own bucket, or albAccessLogsBucket)", "production ALBs must keep access logs: they are the request audit trail")
		}
		if !d.FlowLogs {
			p.add(q("flowLogsEnabled"), "false", "set flowLogsEnabled: true", "production VPCs must record flow logs")
		}
	}
}

// Defenses are the regional defense components; nil fields are turned off.
type Defenses struct {
	AccessLogs      *accesslogs.Bucket
	WAF             *waf.WebACL
	FlowLogs        *flowlogs.FlowLogs
	ThreatDetection *threatdetection.ThreatDetection
	Signals         *signals.Signals
}

// ingressDefenses are what the ALB needs before it is created: the
// stack-owned access-log bucket (unless albAccessLogsBucket names one) and
// mutual TLS.
func (r *Region) ingressDefenses(ctx *pulumi.Context, cfg *Config) (pulumi.StringInput, *ingress.MutualTLS, error) {
	d := cfg.Defense
	r.Defenses = &Defenses{}
	if !d.AccessLogs || cfg.Service.AccessLogsBucket != "" {
		return nil, d.MutualTLS, nil
	}
	bucket, err := accesslogs.NewBucket(ctx, r.Namer.Name("alb-logs"), &accesslogs.Args{
		Region:        cfg.Region,
		Partition:     r.Cluster.Partition,
		AccountID:     r.Cluster.AccountID,
		Prefix:        r.Namer.Prefix(),
		RetentionDays: d.AccessLogsRetentionDays,
		ForceDestroy:  cfg.Teardown.ForceDestroy,
		Namer:         r.Namer,
		Tags:          r.Tags,
	}, pulumi.Providers(r.Provider), pulumi.Protect(cfg.Teardown.Protect))
	if err != nil {
		return nil, nil, err
	}
	r.Defenses.AccessLogs = bucket
	return bucket.BucketName, d.MutualTLS, nil
}

// buildDefenses adds what watches the running platform: the WAF on the ALB,
// flow logs, GuardDuty and the patch and eviction signals.
func (r *Region) buildDefenses(ctx *pulumi.Context, cfg *Config) error {
	d := cfg.Defense
	awsOnly := pulumi.Providers(r.Provider)
	var err error
	if d.WAF {
		r.Defenses.WAF, err = waf.NewWebACL(ctx, r.Namer.Name("waf"), &waf.Args{
			LoadBalancerArn:          r.Ingress.LoadBalancerArn,
			Region:                   cfg.Region,
			AccountID:                r.Cluster.AccountID,
			Partition:                r.Cluster.Partition,
			Mode:                     d.WAFMode,
			RuleGroups:               d.WAFRuleGroups,
			LoginRateLimit:           d.WAFLoginRateLimit,
			RateWindowSeconds:        d.WAFRateWindowSeconds,
			LogRetentionDays:         d.WAFLogRetentionDays,
			AlarmTopicArn:            r.Alarms.TopicArn,
			BlockedRequestsThreshold: d.WAFBlockedRequestsAlarm,
			Namer:                    r.Namer,
			Tags:                     r.Tags,
		}, awsOnly)
		if err != nil {
			return err
		}
	}
	if d.FlowLogs {
		r.Defenses.FlowLogs, err = flowlogs.NewFlowLogs(ctx, r.Namer.Name("flow-logs"), &flowlogs.Args{
			VpcID:         r.Network.VpcID,
			Region:        cfg.Region,
			Partition:     r.Cluster.Partition,
			AccountID:     r.Cluster.AccountID,
			RetentionDays: d.FlowLogsRetentionDays,
			Namer:         r.Namer,
			Tags:          r.Tags,
		}, awsOnly)
		if err != nil {
			return err
		}
	}
	if d.GuardDuty {
		r.Defenses.ThreatDetection, err = threatdetection.NewThreatDetection(ctx, r.Namer.Name("threat-detection"), &threatdetection.Args{
			DetectorID: d.GuardDutyDetectorID,
			// A created detector holds the region's findings: stateful.
			Protect:       cfg.Teardown.Protect,
			AlarmTopicArn: r.Alarms.TopicArn,
			Namer:         r.Namer,
			Tags:          r.Tags,
		}, awsOnly)
		if err != nil {
			return err
		}
	}
	r.Defenses.Signals, err = signals.NewSignals(ctx, r.Namer.Name("signals"), &signals.Args{
		ClusterName:         r.Cluster.ClusterName,
		ClusterArn:          r.Cluster.ClusterArn,
		AlarmTopicArn:       r.Alarms.TopicArn,
		MaxEvictionsPer5Min: d.MaxEvictionsPer5Min,
		Namer:               r.Namer,
		Tags:                r.Tags,
	}, awsOnly)
	if err != nil {
		return fmt.Errorf("signals: %w", err)
	}
	return nil
}
