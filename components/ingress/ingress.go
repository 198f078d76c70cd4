// Package ingress is the public entry of the auth service: an
// internet-facing ALB with a security group of its own, its listeners, and
// the `ip` target group the service's pods are bound to by a
// TargetGroupBinding. The target group is ours, not the controller's, so its
// deregistration delay can come from the timing budget.
//
// Only the API reaches the pods. Each serving listener's default action is
// a fixed 404 with the service's JSON error body, and listener rules forward
// exactly PublicPaths to the target group. How the ALB matches (Elastic Load
// Balancing, Application Load Balancers guide, "Listener rules" and
// "Condition types for listener rules", Path conditions; API reference
// PathPatternConditionConfig): rules are evaluated by priority, lowest
// first, the default action last; a path pattern is compared with the path
// only, not the query string; the comparison is case-sensitive; `*` matches
// 0 or more characters and `?` exactly one; a rule has at most one
// path-pattern condition, a condition at most three values and a rule at
// most five. So "/v1/*" forwards /v1/login but not /V1/login, /v1 or
// /metrics, and "/health" forwards /health (and /health?x) but not
// /health/live. The rules are the second line: the metrics port is not
// exposed at all (components/authservice).
package ingress

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/naming"
)

// Defaults and fixed values of the contract with the auth service.
const (
	// TargetPort is the port the auth containers listen on.
	TargetPort = 8080
	// HealthCheckPath is the readiness endpoint the ALB and the readiness
	// probe share, so both agree on when a pod may take traffic.
	HealthCheckPath = "/health"
	// TLSPolicy allows TLS 1.3 and 1.2 with forward-secret ciphers only.
	TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	// HSTS makes browsers stay on HTTPS for a year.
	HSTS = "max-age=31536000; includeSubDomains"

	// NotFoundBody is what the ALB answers, with 404, for every path it
	// does not forward: the service's own error JSON for an unknown
	// endpoint (cmd/auth-service/internal/httpapi/errors.go, errNotFound),
	// so a client sees one error shape wherever the 404 comes from.
	NotFoundBody = `{"error":"not_found","message":"no such endpoint"}`
	// ForwardPriority is the priority of the first forwarding rule; the
	// rules of one listener take consecutive priorities from here.
	ForwardPriority = 10
	// MaxPathPatternsPerCondition is the ALB's limit of values in one
	// path-pattern condition (a rule takes one such condition).
	MaxPathPatternsPerCondition = 3

	DefaultIdleTimeoutSeconds = 60
	// Health check: a target turns healthy after 2 x 10 s and unhealthy
	// after 2 failed checks, each answered within 5 s.
	DefaultHealthCheckIntervalSeconds = 10
	DefaultHealthCheckTimeoutSeconds  = 5
	DefaultHealthyThreshold           = 2
	DefaultUnhealthyThreshold         = 2
)

// Args configures an Ingress.
type Args struct {
	// VpcID and PublicSubnetIDs place the ALB. Required.
	VpcID           pulumi.StringInput
	PublicSubnetIDs pulumi.StringArrayInput
	// PodSecurityGroupID is the group the auth pods carry (on Fargate, the
	// cluster security group); the ALB may reach it on TargetPort only.
	// Required.
	PodSecurityGroupID pulumi.StringInput
	// DeregistrationDelaySeconds comes from the timing budget. Required
	// (0 is refused: it would cut every request in flight).
	DeregistrationDelaySeconds int
	// CertificateArn of an ACM certificate in the ALB's region. Set: HTTPS
	// on 443 with TLSPolicy and an HTTP->HTTPS redirect on 80. Empty: plain
	// HTTP on 80 (dev only; validation refuses it in prod). Default empty.
	CertificateArn string
	// AccessLogsBucket receives the ALB's access logs under
	// AccessLogsPrefix when set; its bucket policy must admit ELB log
	// delivery. Default empty (no access logs).
	AccessLogsBucket string
	AccessLogsPrefix string
	// AccessLogsBucketName, when set, is used instead of AccessLogsBucket:
	// the stack-owned bucket, whose name resolves once its policy admits
	// ELB log delivery. Default nil.
	AccessLogsBucketName pulumi.StringInput
	// MutualTLS verifies client certificates on the HTTPS listener. Needs
	// CertificateArn. Default nil (off).
	MutualTLS *MutualTLS
	// IdleTimeoutSeconds of client connections. Default 60.
	IdleTimeoutSeconds int
	// DeletionProtection on the ALB (production). Default false.
	DeletionProtection bool
	// Namer and Tags name and tag everything. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// PublicPaths are the path patterns the ALB forwards to the pods: the API
// and the health check path (Route 53's checks and the downtime probe use it
// too). Everything else gets NotFoundBody.
var PublicPaths = []string{"/v1/*", HealthCheckPath}

// ForwardConditions splits path patterns into the path-pattern values of
// consecutive rules, at most MaxPathPatternsPerCondition per rule.
func ForwardConditions(paths []string) [][]string {
	var out [][]string
	for len(paths) > 0 {
		n := min(len(paths), MaxPathPatternsPerCondition)
		out = append(out, paths[:n])
		paths = paths[n:]
	}
	return out
}

// MutualTLS is the ALB's mutual TLS in verify mode: the ALB checks each
// client certificate against a trust store built from a PEM CA bundle in
// S3, and refuses the handshake otherwise.
type MutualTLS struct {
	// CABundleBucket and CABundleKey locate the CA bundle. Required.
	CABundleBucket string
	CABundleKey    string
}

// MutualTLSMode is the listener's mutual authentication mode: the ALB
// verifies (not merely passes through) client certificates.
const MutualTLSMode = "verify"

// Ingress is the ALB component.
type Ingress struct {
	pulumi.ResourceState

	LoadBalancerArn       pulumi.StringOutput `pulumi:"loadBalancerArn"`
	LoadBalancerArnSuffix pulumi.StringOutput `pulumi:"loadBalancerArnSuffix"`
	DNSName               pulumi.StringOutput `pulumi:"dnsName"`
	ZoneID                pulumi.StringOutput `pulumi:"zoneId"`
	SecurityGroupID       pulumi.StringOutput `pulumi:"securityGroupId"`
	TargetGroupArn        pulumi.StringOutput `pulumi:"targetGroupArn"`
	TargetGroupArnSuffix  pulumi.StringOutput `pulumi:"targetGroupArnSuffix"`
	// URL is the service's public address (https:// when a certificate is
	// configured).
	URL pulumi.StringOutput `pulumi:"url"`

	// TargetPort and HTTPS are known before deployment.
	TargetPort int
	HTTPS      bool

	// forward creates the serving listener's forwarding rules; see
	// ForwardPublicPaths.
	forward func(servingAfter []pulumi.Resource) error
}

// ForwardPublicPaths creates the rules that forward PublicPaths to the
// target group, after servingAfter: the auth service's Deployments.
// pulumi-kubernetes awaits a Deployment's rollout, and a pod is Ready only
// once its targets are healthy in every group bound to it (the
// controller's readiness gates), so the rules never point at a group
// without healthy targets: on the first deploy, and when a replaced
// target group's binding and rolled pods come up beside the old ones
// (README "What a change replaces"). Call it once, after the service.
func (in *Ingress) ForwardPublicPaths(servingAfter []pulumi.Resource) error {
	if len(servingAfter) == 0 {
		return fmt.Errorf("ingress: ForwardPublicPaths needs the Deployments that serve the target group")
	}
	return in.forward(servingAfter)
}

// NewIngress creates the ALB, its security group and rules, the target
// group and the listeners. Pass the regional AWS provider.
func NewIngress(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Ingress, error) {
	if args == nil {
		return nil, fmt.Errorf("ingress %s: args are required", name)
	}
	a := *args
	if a.IdleTimeoutSeconds == 0 {
		a.IdleTimeoutSeconds = DefaultIdleTimeoutSeconds
	}
	if a.DeregistrationDelaySeconds < 1 || a.DeregistrationDelaySeconds > 3600 {
		return nil, fmt.Errorf("ingress %s: DeregistrationDelaySeconds is %d; derive it from the timing budget (1-3600)", name, a.DeregistrationDelaySeconds)
	}
	in := &Ingress{TargetPort: TargetPort, HTTPS: a.CertificateArn != ""}
	if a.MutualTLS != nil && !in.HTTPS {
		return nil, fmt.Errorf("ingress %s: MutualTLS needs an HTTPS listener (CertificateArn)", name)
	}
	if err := ctx.RegisterComponentResource("authplatform:ingress:Ingress", name, in, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(in)

	sgName := a.Namer.Name("alb")
	sg, err := ec2.NewSecurityGroup(ctx, sgName, &ec2.SecurityGroupArgs{
		Description: pulumi.String("Auth ALB: HTTP(S) from anywhere, to the auth pods only"),
		VpcId:       a.VpcID,
		Tags:        pulumi.ToStringMap(a.Tags.WithName(sgName)),
	}, parent)
	if err != nil {
		return nil, err
	}
	// The ALB is IPv4-only, so ::/0 rules would open nothing; 443 is opened
	// only when there is an HTTPS listener behind it.
	ports := []int{80}
	if in.HTTPS {
		ports = append(ports, 443)
	}
	for _, port := range ports {
		rule := fmt.Sprintf("%s-in-%d", sgName, port)
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, rule, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: sg.ID(),
			CidrIpv4:        pulumi.String("0.0.0.0/0"),
			IpProtocol:      pulumi.String("tcp"),
			FromPort:        pulumi.Int(port),
			ToPort:          pulumi.Int(port),
			Description:     pulumi.String(fmt.Sprintf("clients on %d", port)),
			Tags:            pulumi.ToStringMap(a.Tags.WithName(rule)),
		}, parent); err != nil {
			return nil, err
		}
	}
	// The provider strips AWS's default allow-all egress; the ALB needs to
	// reach the pods (traffic and health checks) and nothing else.
	egress := sgName + "-to-pods"
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, egress, &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId:           sg.ID(),
		ReferencedSecurityGroupId: a.PodSecurityGroupID,
		IpProtocol:                pulumi.String("tcp"),
		FromPort:                  pulumi.Int(TargetPort),
		ToPort:                    pulumi.Int(TargetPort),
		Description:               pulumi.String("auth pods: traffic and health checks"),
		Tags:                      pulumi.ToStringMap(a.Tags.WithName(egress)),
	}, parent); err != nil {
		return nil, err
	}

	var accessLogs *lb.LoadBalancerAccessLogsArgs
	if a.AccessLogsBucketName != nil {
		accessLogs = &lb.LoadBalancerAccessLogsArgs{
			Bucket:  a.AccessLogsBucketName,
			Prefix:  pulumi.String(a.AccessLogsPrefix),
			Enabled: pulumi.Bool(true),
		}
	} else if a.AccessLogsBucket != "" {
		accessLogs = &lb.LoadBalancerAccessLogsArgs{
			Bucket:  pulumi.String(a.AccessLogsBucket),
			Prefix:  pulumi.String(a.AccessLogsPrefix),
			Enabled: pulumi.Bool(true),
		}
	}
	// ALB and target-group names are capped at 32 characters and Pulumi
	// appends 8 for auto-naming, which lets a replacement be created before
	// the old one is deleted.
	albName := a.Namer.Limited(24, "alb")
	alb, err := lb.NewLoadBalancer(ctx, albName, &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		IpAddressType:            pulumi.String("ipv4"),
		Subnets:                  a.PublicSubnetIDs,
		SecurityGroups:           pulumi.StringArray{sg.ID()},
		IdleTimeout:              pulumi.Int(a.IdleTimeoutSeconds),
		DropInvalidHeaderFields:  pulumi.Bool(true),
		EnableHttp2:              pulumi.Bool(true),
		DesyncMitigationMode:     pulumi.String("defensive"),
		EnableDeletionProtection: pulumi.Bool(a.DeletionProtection),
		AccessLogs:               accessLogs,
		Tags:                     pulumi.ToStringMap(a.Tags.WithName(albName)),
	}, parent)
	if err != nil {
		return nil, err
	}

	tgName := a.Namer.Limited(24, "tg")
	tg, err := lb.NewTargetGroup(ctx, tgName, &lb.TargetGroupArgs{
		// Fargate pods are reachable only by IP.
		TargetType:      pulumi.String("ip"),
		Port:            pulumi.Int(TargetPort),
		Protocol:        pulumi.String("HTTP"),
		ProtocolVersion: pulumi.String("HTTP1"),
		VpcId:           a.VpcID,
		// From the timing budget: at most the preStop sleep, at least the
		// longest request (the AWS default of 300 s would stall rollouts).
		DeregistrationDelay:        pulumi.Int(a.DeregistrationDelaySeconds),
		LoadBalancingAlgorithmType: pulumi.String("least_outstanding_requests"),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled:            pulumi.Bool(true),
			Protocol:           pulumi.String("HTTP"),
			Path:               pulumi.String(HealthCheckPath),
			Port:               pulumi.String(strconv.Itoa(TargetPort)),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(DefaultHealthCheckIntervalSeconds),
			Timeout:            pulumi.Int(DefaultHealthCheckTimeoutSeconds),
			HealthyThreshold:   pulumi.Int(DefaultHealthyThreshold),
			UnhealthyThreshold: pulumi.Int(DefaultUnhealthyThreshold),
		},
		Tags: pulumi.ToStringMap(a.Tags.WithName(tgName)),
	}, parent)
	if err != nil {
		return nil, err
	}

	// What no rule forwards is answered by the ALB itself.
	notFound := lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
		Type: pulumi.String("fixed-response"),
		FixedResponse: &lb.ListenerDefaultActionFixedResponseArgs{
			ContentType: pulumi.String("application/json"),
			MessageBody: pulumi.String(NotFoundBody),
			StatusCode:  pulumi.String("404"),
		},
	}}
	// forwardPublicPaths gives a serving listener its forwarding rules.
	forwardPublicPaths := func(listenerName string, listener *lb.Listener, servingAfter []pulumi.Resource) error {
		for i, values := range ForwardConditions(PublicPaths) {
			name := fmt.Sprintf("%s-forward-%d", listenerName, i+1)
			if _, err := lb.NewListenerRule(ctx, name, &lb.ListenerRuleArgs{
				ListenerArn: listener.Arn,
				Priority:    pulumi.Int(ForwardPriority + i),
				Actions: lb.ListenerRuleActionArray{lb.ListenerRuleActionArgs{
					Type:           pulumi.String("forward"),
					TargetGroupArn: tg.Arn,
				}},
				Conditions: lb.ListenerRuleConditionArray{lb.ListenerRuleConditionArgs{
					PathPattern: &lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.ToStringArray(values)},
				}},
				Tags: pulumi.ToStringMap(a.Tags.WithName(name)),
			}, parent, pulumi.DependsOn(servingAfter)); err != nil {
				return err
			}
		}
		return nil
	}
	scheme := "http"
	if in.HTTPS {
		scheme = "https"
		var mutual *lb.ListenerMutualAuthenticationArgs
		if m := a.MutualTLS; m != nil {
			storeName := a.Namer.Limited(24, "mtls")
			store, err := lb.NewTrustStore(ctx, storeName, &lb.TrustStoreArgs{
				CaCertificatesBundleS3Bucket: pulumi.String(m.CABundleBucket),
				CaCertificatesBundleS3Key:    pulumi.String(m.CABundleKey),
				Tags:                         pulumi.ToStringMap(a.Tags.WithName(storeName)),
			}, parent)
			if err != nil {
				return nil, err
			}
			mutual = &lb.ListenerMutualAuthenticationArgs{
				Mode:                          pulumi.String(MutualTLSMode),
				TrustStoreArn:                 store.Arn,
				IgnoreClientCertificateExpiry: pulumi.Bool(false),
			}
		}
		https, err := lb.NewListener(ctx, a.Namer.Name("https"), &lb.ListenerArgs{
			LoadBalancerArn:      alb.Arn,
			Port:                 pulumi.Int(443),
			Protocol:             pulumi.String("HTTPS"),
			SslPolicy:            pulumi.String(TLSPolicy),
			CertificateArn:       pulumi.String(a.CertificateArn),
			DefaultActions:       notFound,
			MutualAuthentication: mutual,
			RoutingHttpResponseStrictTransportSecurityHeaderValue: pulumi.String(HSTS),
			Tags: pulumi.ToStringMap(a.Tags.WithName(a.Namer.Name("https"))),
		}, parent)
		if err != nil {
			return nil, err
		}
		in.forward = func(after []pulumi.Resource) error { return forwardPublicPaths(a.Namer.Name("https"), https, after) }
		if _, err := lb.NewListener(ctx, a.Namer.Name("http"), &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(80),
			Protocol:        pulumi.String("HTTP"),
			DefaultActions: lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
				Type: pulumi.String("redirect"),
				Redirect: &lb.ListenerDefaultActionRedirectArgs{
					Protocol:   pulumi.String("HTTPS"),
					Port:       pulumi.String("443"),
					StatusCode: pulumi.String("HTTP_301"),
				},
			}},
			Tags: pulumi.ToStringMap(a.Tags.WithName(a.Namer.Name("http"))),
		}, parent); err != nil {
			return nil, err
		}
	} else {
		http, err := lb.NewListener(ctx, a.Namer.Name("http"), &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(80),
			Protocol:        pulumi.String("HTTP"),
			DefaultActions:  notFound,
			Tags:            pulumi.ToStringMap(a.Tags.WithName(a.Namer.Name("http"))),
		}, parent)
		if err != nil {
			return nil, err
		}
		in.forward = func(after []pulumi.Resource) error { return forwardPublicPaths(a.Namer.Name("http"), http, after) }
	}

	in.LoadBalancerArn = alb.Arn
	in.LoadBalancerArnSuffix = alb.ArnSuffix
	in.DNSName = alb.DnsName
	in.ZoneID = alb.ZoneId
	in.SecurityGroupID = sg.ID().ToStringOutput()
	in.TargetGroupArn = tg.Arn
	in.TargetGroupArnSuffix = tg.ArnSuffix
	in.URL = pulumi.Sprintf("%s://%s", scheme, alb.DnsName)
	if err := ctx.RegisterResourceOutputs(in, pulumi.Map{
		"loadBalancerArn":       in.LoadBalancerArn,
		"loadBalancerArnSuffix": in.LoadBalancerArnSuffix,
		"dnsName":               in.DNSName,
		"zoneId":                in.ZoneID,
		"securityGroupId":       in.SecurityGroupID,
		"targetGroupArn":        in.TargetGroupArn,
		"targetGroupArnSuffix":  in.TargetGroupArnSuffix,
		"url":                   in.URL,
	}); err != nil {
		return nil, err
	}
	return in, nil
}
