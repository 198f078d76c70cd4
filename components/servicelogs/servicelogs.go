// Package servicelogs sends the auth service's output to CloudWatch Logs.
// Fargate pods have no node to run a log agent on, and their stdout goes
// nowhere unless Fargate's built-in log router is configured (EKS User
// Guide, "Start AWS Fargate logging for your cluster",
// awsdocs/amazon-eks-user-guide latest/ug/nodes/fargate-logging.adoc at
// 4d52b4d). The component makes what that page asks for:
//
//   - the namespace `aws-observability`, labelled `aws-observability:
//     enabled` (lines 38-50);
//   - the ConfigMap `aws-logging` in it, at most 5300 characters
//     (lines 20-24), with only [FILTER], [OUTPUT] and [PARSER] sections under
//     filters.conf, output.conf and parsers.conf, Name and Match in each
//     filter and output, no ${ENV} (lines 61-94), a `cloudwatch_logs`
//     output and the CRI `parser` of the guide's CloudWatch example
//     (lines 127-170);
//   - the log group, created here first with a retention (the plugin is not
//     allowed to create it: `auto_create_group false`);
//   - the pod execution role's permission to write to it (lines 177-182,
//     266-280: AWS's policy is aws-samples/amazon-eks-fluent-logging-examples
//     examples/fargate/cloudwatchlogs/permissions.json, CreateLogStream,
//     CreateLogGroup, DescribeLogStreams, PutLogEvents, PutRetentionPolicy
//     on "*"; here the first, third and fourth, on this group only, since
//     the group exists and carries its retention).
//
// Fargate reads the ConfigMap when a pod starts and never again (lines
// 100-103), so pods must be created after it: Ready lists what they wait
// for, and ConfigHash changes with the configuration so that a pod
// annotation carrying it rolls them when it changes.
//
// The router reads every container's log file (tag `kube.<path with dots>`,
// the guide's [INPUT], lines 71-84); the output matches only the auth
// containers' files, /var/log/containers/<pod>_<namespace>_<container>-<id>.log,
// and sends each line's message as it was printed (`log_key log`): the
// service's JSON, so that metric filters read its fields directly.
package servicelogs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/iamdoc"
	"github.com/authplatform/auth-platform/components/naming"
)

// Fixed by EKS on Fargate.
const (
	// Namespace and ConfigMapName are where the log router looks.
	Namespace     = "aws-observability"
	ConfigMapName = "aws-logging"
	// NamespaceLabel must be set to "enabled" on the namespace.
	NamespaceLabel = "aws-observability"
	// MaxConfigMapChars is the most the router accepts.
	MaxConfigMapChars = 5300
)

// Defaults of Args.
const (
	DefaultRetentionDays = 90
	// StreamPrefix starts each log stream's name; the rest is the router's
	// tag, which names the pod and the container.
	StreamPrefix = "auth-"
)

// WriteActions are what the router needs on the log group.
var WriteActions = []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"}

// Args configures Logs.
type Args struct {
	// Region of the cluster; the router writes to this region's group.
	// Required.
	Region string
	// PodExecutionRoleArn is the cluster's Fargate pod execution role: the
	// router writes with its credentials. Required.
	PodExecutionRoleArn pulumi.StringInput
	// PodNamespace and Container select the log lines routed: those of the
	// containers named Container in pods of PodNamespace. Required.
	PodNamespace string
	Container    string
	// RetentionDays of the log group. Default DefaultRetentionDays.
	RetentionDays int
	// Namer and Tags name and tag everything. Required.
	Namer naming.Namer
	Tags  naming.Tags
}

// Logs is the service-log component.
type Logs struct {
	pulumi.ResourceState

	LogGroupArn pulumi.StringOutput `pulumi:"logGroupArn"`
	// LogGroup is the group's name once it exists: what reads the group
	// (metric filters) takes it, so it waits for the group.
	LogGroup pulumi.StringOutput `pulumi:"logGroup"`
	// LogGroupName is known before deployment.
	LogGroupName string
	// Ready must exist before any routed pod is created.
	Ready []pulumi.Resource
	// ConfigHash identifies the router configuration (hex SHA-256).
	ConfigHash string
}

// Config is the log router's configuration, the ConfigMap's data.
func Config(region, logGroup, podNamespace, container string) map[string]string {
	return map[string]string{
		// The router's own logs would cost ingestion and say little.
		"flb_log_cw": "false",
		"parsers.conf": `[PARSER]
    Name crio
    Format Regex
    Regex ^(?<time>[^ ]+) (?<stream>stdout|stderr) (?<logtag>P|F) (?<log>.*)$
    Time_Key time
    Time_Format %Y-%m-%dT%H:%M:%S.%L%z
`,
		"filters.conf": `[FILTER]
    Name parser
    Match kube.*
    Key_name log
    Parser crio
`,
		"output.conf": fmt.Sprintf(`[OUTPUT]
    Name cloudwatch_logs
    Match %s
    region %s
    log_group_name %s
    log_stream_prefix %s
    auto_create_group false
    log_key log
`, RouterMatch(podNamespace, container), region, logGroup, StreamPrefix),
	}
}

// RouterMatch is the router tag of the log files of one container in one
// namespace: kube. + /var/log/containers/<pod>_<namespace>_<container>-<id>.log
// with the slashes as dots.
func RouterMatch(podNamespace, container string) string {
	return fmt.Sprintf("kube.var.log.containers.*_%s_%s-*", podNamespace, container)
}

// Size is what counts against MaxConfigMapChars: every key and value.
func Size(data map[string]string) int {
	n := 0
	for k, v := range data {
		n += len(k) + len(v)
	}
	return n
}

// Hash identifies a configuration.
func Hash(data map[string]string) string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// WritePolicy lets the router write into one log group only.
func WritePolicy(logGroupArn string) iamdoc.Document {
	return iamdoc.New(iamdoc.Allow("WriteServiceLogs", WriteActions, logGroupArn, logGroupArn+":*"))
}

// RoleName is the name of an IAM role from its ARN
// (arn:<partition>:iam::<account>:role[/<path>]/<name>).
func RoleName(arn string) (string, error) {
	_, resource, ok := strings.Cut(arn, ":role/")
	if !ok || !strings.HasPrefix(arn, "arn:") || resource == "" {
		return "", fmt.Errorf("%q is not an IAM role ARN", arn)
	}
	return resource[strings.LastIndex(resource, "/")+1:], nil
}

// New creates the log group, the router's configuration and the pod
// execution role's permission. Pass the regional AWS provider and the
// cluster's Kubernetes provider.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Logs, error) {
	if args == nil || args.Region == "" || args.PodExecutionRoleArn == nil || args.PodNamespace == "" || args.Container == "" {
		return nil, fmt.Errorf("servicelogs %s: Region, PodExecutionRoleArn, PodNamespace and Container are required", name)
	}
	a := *args
	if a.RetentionDays == 0 {
		a.RetentionDays = DefaultRetentionDays
	}
	l := &Logs{LogGroupName: a.Namer.ServiceLogGroup()}
	data := Config(a.Region, l.LogGroupName, a.PodNamespace, a.Container)
	if n := Size(data); n > MaxConfigMapChars {
		return nil, fmt.Errorf("servicelogs %s: the log router configuration has %d characters, Fargate takes at most %d", name, n, MaxConfigMapChars)
	}
	l.ConfigHash = Hash(data)
	if err := ctx.RegisterComponentResource("authplatform:servicelogs:Logs", name, l, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(l)
	labels := pulumi.StringMap{
		"app.kubernetes.io/part-of":    pulumi.String(a.Namer.App),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}

	group, err := cloudwatch.NewLogGroup(ctx, a.Namer.Name("service-logs"), &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(l.LogGroupName),
		RetentionInDays: pulumi.Int(a.RetentionDays),
		Tags:            pulumi.ToStringMap(a.Tags.WithName(l.LogGroupName)),
	}, parent)
	if err != nil {
		return nil, err
	}

	roleName := a.PodExecutionRoleArn.ToStringOutput().ApplyT(RoleName).(pulumi.StringOutput)
	policy := group.Arn.ApplyT(func(arn string) (string, error) { return WritePolicy(arn).JSON() }).(pulumi.StringOutput)
	write, err := iam.NewRolePolicy(ctx, a.Namer.Name("service-logs"), &iam.RolePolicyArgs{
		Role:   roleName,
		Policy: policy,
	}, parent)
	if err != nil {
		return nil, err
	}

	ns, err := corev1.NewNamespace(ctx, a.Namer.Name("aws-observability"), &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(Namespace),
			Labels: pulumi.StringMap{
				"app.kubernetes.io/part-of":    labels["app.kubernetes.io/part-of"],
				"app.kubernetes.io/managed-by": labels["app.kubernetes.io/managed-by"],
				NamespaceLabel:                 pulumi.String("enabled"),
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	cm, err := corev1.NewConfigMap(ctx, a.Namer.Name("aws-logging"), &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(ConfigMapName),
			Namespace: ns.Metadata.Name().Elem(),
			Labels:    labels,
		},
		Data: pulumi.ToStringMap(data),
	}, parent, pulumi.DependsOn([]pulumi.Resource{group}))
	if err != nil {
		return nil, err
	}

	l.LogGroupArn = group.Arn
	l.LogGroup = group.Name
	l.Ready = []pulumi.Resource{cm, write}
	if err := ctx.RegisterResourceOutputs(l, pulumi.Map{
		"logGroupArn": l.LogGroupArn,
		"logGroup":    l.LogGroup,
	}); err != nil {
		return nil, err
	}
	return l, nil
}
