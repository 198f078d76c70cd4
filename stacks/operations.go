package stacks

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/alarms"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/collector"
	"github.com/authplatform/auth-platform/components/dashboard"
	"github.com/authplatform/auth-platform/components/image"
	"github.com/authplatform/auth-platform/components/patchwindow"
	"github.com/authplatform/auth-platform/components/prometheus"
	"github.com/authplatform/auth-platform/components/signals"
	"github.com/authplatform/auth-platform/components/timewindow"
)

// OperationsConfig is what operators see and steer (issue 27): the patch
// window job's settings.
type OperationsConfig struct {
	// PatchWindow as written (daily "hh24:mi-hh24:mi" or weekly
	// "ddd:hh24:mi-ddd:hh24:mi", UTC); Window is it parsed.
	PatchWindow string
	Window      patchwindow.Window
	// PatchMaxPodAgeDays before the job restarts a pod.
	PatchMaxPodAgeDays int
	// PatchWindowImage brings the job's image; "" builds cmd/patch-window.
	PatchWindowImage string
}

// Bounds of the operations settings.
const (
	// MaxPatchPodAgeDays: AWS does not document how long before the
	// eviction date a Fargate patch notice comes; a month is beyond any
	// notice's reach, so a larger age would never pre-empt an eviction.
	MaxPatchPodAgeDays = 30
	// PatchWindowSourceDir is the job's module, relative to the project root.
	PatchWindowSourceDir = "cmd/patch-window"
)

// MinPatchWindow is the shortest window: one zone's roll.
var MinPatchWindow = mustDuration(authservice.RolloutTimeout)

func mustDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

func (c *Config) readOperations(r *reader) {
	c.Operations = OperationsConfig{
		PatchWindow:        r.str("patchWindow"),
		PatchMaxPodAgeDays: r.integer("patchMaxPodAgeDays"),
		PatchWindowImage:   r.str("patchWindowImage"),
	}
}

func (c *Config) validateOperations(p *problems) {
	o := &c.Operations
	fix := "write hh24:mi-hh24:mi (daily) or ddd:hh24:mi-ddd:hh24:mi (weekly) in UTC, at least " + MinPatchWindow.String() + " long, e.g. 06:00-08:00"
	if strings.Count(o.PatchWindow, ":") > 2 {
		w, err := timewindow.ParseWeekly(o.PatchWindow)
		if err != nil {
			p.add(q("patchWindow"), o.PatchWindow, fix, "%v", err)
		} else {
			o.Window = patchwindow.Window{Weekly: true, Start: w.Start, End: w.End}
		}
	} else {
		w, err := timewindow.ParseDaily(o.PatchWindow)
		if err != nil {
			p.add(q("patchWindow"), o.PatchWindow, fix, "%v", err)
		} else {
			o.Window = patchwindow.Window{Start: w.Start, End: w.End}
		}
	}
	if l := o.Window.Length(); l > 0 && l < MinPatchWindow {
		p.add(q("patchWindow"), o.PatchWindow, fix,
			"the window is %s long; one zone's roll may take %s (the Deployments' rollout timeout), and the job starts a zone only when it can finish inside the window", l, MinPatchWindow)
	}
	if o.PatchMaxPodAgeDays < 1 || o.PatchMaxPodAgeDays > MaxPatchPodAgeDays {
		p.add(q("patchMaxPodAgeDays"), strconv.Itoa(o.PatchMaxPodAgeDays), fmt.Sprintf("set 1 to %d days (default 7)", MaxPatchPodAgeDays),
			"the job restarts pods older than this in each patch window; it must be a positive number of days within a month")
	}
	if img := o.PatchWindowImage; img != "" {
		if m := imageRef.FindStringSubmatch(img); m == nil || (m[1] == "" && m[2] == "") || (m[1] == "latest" && m[2] == "") {
			p.add(q("patchWindowImage"), img, "pin a version tag or a digest, e.g. registry/patch-window:1.0.0", "not a pinned image reference")
		}
	}
}

// operationsProfile runs the collector and the patch-window job: one
// profile, one selector per namespace, on every private subnet.
func operationsProfile() cluster.ProfileSpec {
	return cluster.ProfileSpec{
		Name:      "operations",
		Selectors: []cluster.Selector{{Namespace: collector.Namespace}, {Namespace: patchwindow.Namespace}},
	}
}

// Operations is what the stack adds for operators: the metrics workspace
// and its collector, the patch-window job and the dashboard.
type Operations struct {
	Workspace *prometheus.Workspace
	Collector *collector.Collector
	PatchJob  *patchwindow.Job
	JobImage  *image.Image
	Dashboard *dashboard.Dashboard
}

// buildOperations needs the service, its alarms and the defenses.
func (r *Region) buildOperations(ctx *pulumi.Context, cfg *Config) error {
	ops := &Operations{}
	r.Operations = ops
	awsOnly := pulumi.Providers(r.Provider)
	both := pulumi.Providers(r.Provider, r.Cluster.Provider)
	var err error
	ops.Workspace, err = prometheus.NewWorkspace(ctx, r.Namer.Name("prometheus"), &prometheus.Args{
		Region:        cfg.Region,
		AlarmTopicArn: r.Alarms.TopicArn,
		Rules:         prometheus.RuleParams{Replicas: cfg.Service.Replicas},
		Namer:         r.Namer,
		Tags:          r.Tags,
	}, awsOnly)
	if err != nil {
		return err
	}
	// Neither the collector nor the job waits for the auth service:
	// discovery finds its pods whenever they come, and the job's Role names
	// the Deployments, which need not exist yet.
	podsWaitFor := []pulumi.Resource{r.Cluster.Profile(operationsProfile().Name), r.Cluster.CoreDNS}
	ops.Collector, err = collector.NewCollector(ctx, r.Namer.Name("collector"), &collector.Args{
		AuthNamespace:     cfg.AuthNamespace,
		AuthPodLabels:     r.Auth.Labels,
		WorkspaceArn:      ops.Workspace.WorkspaceArn,
		RemoteWriteURL:    ops.Workspace.RemoteWriteURL,
		Region:            cfg.Region,
		ClusterName:       r.Namer.Prefix(),
		OIDCProviderARN:   r.Cluster.OIDCProviderARN,
		OIDCIssuerURL:     r.Cluster.OIDCIssuerURL,
		KubernetesVersion: cfg.KubernetesVersion,
		PodsWaitFor:       podsWaitFor,
		Namer:             r.Namer,
		Tags:              r.Tags,
	}, both)
	if err != nil {
		return err
	}

	jobImage := pulumi.String(cfg.Operations.PatchWindowImage).ToStringOutput()
	if cfg.Operations.PatchWindowImage == "" {
		contextDir, err := fromWorkingDir(PatchWindowSourceDir)
		if err != nil {
			return fmt.Errorf("building the patch-window image: %w", err)
		}
		ops.JobImage, err = image.NewImage(ctx, r.Namer.Name("patch-window-image"), &image.Args{
			Context:     contextDir,
			Repository:  "patch-window",
			ForceDelete: cfg.Teardown.ForceDestroy,
			Namer:       r.Namer,
			Tags:        r.Tags,
		}, awsOnly)
		if err != nil {
			return err
		}
		jobImage = ops.JobImage.Ref
	}
	deployments := map[string]string{}
	for _, z := range r.Network.AvailabilityZones {
		deployments[z] = authservice.DeploymentName(z)
	}
	ops.PatchJob, err = patchwindow.NewJob(ctx, r.Namer.Name("patch-window"), &patchwindow.Args{
		Image:             jobImage,
		AuthNamespace:     cfg.AuthNamespace,
		AuthPodLabels:     r.Auth.Labels,
		ZoneLabel:         authservice.ZoneLabel,
		Zones:             r.Network.AvailabilityZones,
		Deployments:       deployments,
		MaxPodAge:         time.Duration(cfg.Operations.PatchMaxPodAgeDays) * 24 * time.Hour,
		Window:            cfg.Operations.Window,
		ZoneTimeout:       MinPatchWindow,
		KubernetesVersion: cfg.KubernetesVersion,
		PodsWaitFor:       podsWaitFor,
		Namer:             r.Namer,
	}, pulumi.Providers(r.Cluster.Provider))
	if err != nil {
		return err
	}

	alarmNames := append([]string{}, r.Alarms.AlarmNames...)
	webACL := ""
	if d := r.Defenses; d != nil {
		if d.WAF != nil {
			webACL = d.WAF.Name
			alarmNames = append(alarmNames, d.WAF.AlarmNames...)
		}
		if d.Signals != nil {
			alarmNames = append(alarmNames, d.Signals.AlarmName)
		}
	}
	secondary := r.member != nil && r.member.Database != nil && !r.member.Database.Writer
	ops.Dashboard, err = dashboard.NewDashboard(ctx, r.Namer.Name("dashboard"), &dashboard.Args{
		Region:                  cfg.Region,
		LoadBalancerArnSuffix:   r.Ingress.LoadBalancerArnSuffix,
		TargetGroupArnSuffix:    r.Ingress.TargetGroupArnSuffix,
		Zones:                   r.Network.AvailabilityZones,
		WebACLName:              webACL,
		CacheReplicationGroupID: r.Cache.ReplicationGroupID,
		CacheShards:             cfg.Cache.Shards,
		CacheReplicasPerShard:   cfg.Cache.ReplicasPerShard,
		DatabaseClusterID:       r.Database.ClusterIdentifier,
		DatabaseWriter:          !secondary,
		EvictionNamespace:       signals.MetricNamespace + "/" + r.Namer.Prefix(),
		EvictionMetric:          signals.EvictionMetric,
		ServiceNamespace:        alarms.MetricNamespace(r.Namer),
		DependencyMetric:        alarms.DependencyMetric,
		AlarmNames:              alarmNames,
		Partition:               r.Cluster.Partition,
		AccountID:               r.Cluster.AccountID,
		Namer:                   r.Namer,
	}, awsOnly)
	return err
}
