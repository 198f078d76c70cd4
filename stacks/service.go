package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/alarms"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/image"
	"github.com/authplatform/auth-platform/components/ingress"
	"github.com/authplatform/auth-platform/components/servicelogs"
	"github.com/authplatform/auth-platform/components/timing"
)

// ServiceConfig is the auth-service, ALB and alarm part of Config.
type ServiceConfig struct {
	Image              string
	Replicas           int
	Size               authservice.FargateSize
	SessionTTLSeconds  int
	SessionIdleSeconds int
	Budget             timing.Budget
	Overrides          timing.Overrides
	// Timing is derived from Budget and Overrides during validation.
	Timing           timing.Timing
	CertificateArn   string
	AccessLogsBucket string
	AlarmEmail       string
	// LogRetentionDays of the service's log group.
	LogRetentionDays int
}

// Bounds of the service settings.
const (
	MaxAuthReplicas = 50
	MinSessionTTL   = 60
	MaxSessionTTL   = 7 * 24 * 3600
)

var (
	// imageRef: registry/path[:tag][@sha256:digest], lowercase path.
	imageRef = regexp.MustCompile(`^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::([\w][\w.-]{0,127}))?(@sha256:[a-f0-9]{64})?$`)
	acmArn   = regexp.MustCompile(`^arn:aws(?:-cn|-us-gov)?:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$`)
	email    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}$`)
)

// timingKeys maps timing fields to the configuration keys that set them.
var timingKeys = map[string]string{
	"PropagationSeconds":            "drainPropagationSeconds",
	"MaxRequestSeconds":             "maxRequestSeconds",
	"ShutdownSeconds":               "shutdownSeconds",
	"DeregistrationDelaySeconds":    "deregistrationDelaySeconds",
	"PreStopSleepSeconds":           "preStopSleepSeconds",
	"TerminationGracePeriodSeconds": "terminationGracePeriodSeconds",
}

func (c *Config) readService(r *reader) {
	c.Service = ServiceConfig{
		Image:              r.str("authImage"),
		Replicas:           r.integer("authReplicas"),
		Size:               authservice.FargateSize{VCPU: r.decimal("authFargateCpu"), MemoryGiB: r.decimal("authFargateMemoryGb")},
		SessionTTLSeconds:  r.integer("sessionTtlSeconds"),
		SessionIdleSeconds: r.integer("sessionIdleSeconds"),
		Budget: timing.Budget{
			PropagationSeconds: r.integer("drainPropagationSeconds"),
			MaxRequestSeconds:  r.integer("maxRequestSeconds"),
			ShutdownSeconds:    r.integer("shutdownSeconds"),
		},
		Overrides: timing.Overrides{
			DeregistrationDelaySeconds:    r.integer("deregistrationDelaySeconds"),
			PreStopSleepSeconds:           r.integer("preStopSleepSeconds"),
			TerminationGracePeriodSeconds: r.integer("terminationGracePeriodSeconds"),
		},
		CertificateArn:   r.str("certificateArn"),
		AccessLogsBucket: r.str("albAccessLogsBucket"),
		AlarmEmail:       r.str("alarmEmail"),
		LogRetentionDays: r.integer("authLogRetentionDays"),
	}
}

func (c *Config) validateService(p *problems) {
	s := &c.Service
	switch m := imageRef.FindStringSubmatch(s.Image); {
	case s.Image == "":
		// The stack builds the service from this repository.
	case m == nil:
		p.add(q("authImage"), s.Image, "use registry/repository:tag or @sha256:<digest>, lowercase repository", "not an image reference")
	case m[1] == "" && m[2] == "":
		p.add(q("authImage"), s.Image, "pin a tag or a digest, e.g. "+s.Image+":1.4.2",
			"an unpinned image resolves to :latest")
	case m[1] == "latest" && m[2] == "":
		p.add(q("authImage"), s.Image, "pin a version tag or a digest",
			":latest lets pods of one rollout run different code, and a new push never rolls the Deployment")
	}
	replicasFix := fmt.Sprintf("set %d to %d (3 recommended: one per zone)", authservice.MinReplicas, MaxAuthReplicas)
	if s.Replicas < authservice.MinReplicas {
		p.add(q("authReplicas"), strconv.Itoa(s.Replicas), replicasFix,
			"at least %d pods keep the service up while Fargate evicts one", authservice.MinReplicas)
	} else if s.Replicas > MaxAuthReplicas {
		p.add(q("authReplicas"), strconv.Itoa(s.Replicas), replicasFix,
			"more than %d pods: a rollout replaces one pod at a time, each waiting out its preStop sleep and grace period, so it would take hours, and every pod holds its own database and Redis connections", MaxAuthReplicas)
	}
	if !authservice.ValidFargateCPU(s.Size.VCPU) {
		p.add(q("authFargateCpu"), strconv.FormatFloat(s.Size.VCPU, 'f', -1, 64), "set 0.25, 0.5, 1, 2 or 4 (quoted in YAML), with a memory size that goes with it", "not a Fargate vCPU size")
	} else if err := s.Size.Check(); err != nil {
		p.add(q("authFargateMemoryGb"), strconv.FormatFloat(s.Size.MemoryGiB, 'f', -1, 64),
			fmt.Sprintf("pick a memory size for authFargateCpu %s from the Fargate table, e.g. authFargateCpu 0.5 with authFargateMemoryGb 1", strconv.FormatFloat(s.Size.VCPU, 'f', -1, 64)), "%v", err)
	}
	ttlFix := fmt.Sprintf("set %d to %d", MinSessionTTL, MaxSessionTTL)
	if s.SessionTTLSeconds < MinSessionTTL {
		p.add(q("sessionTtlSeconds"), strconv.Itoa(s.SessionTTLSeconds), ttlFix, "sessions shorter than a minute log users out in the middle of a sign-in")
	} else if s.SessionTTLSeconds > MaxSessionTTL {
		p.add(q("sessionTtlSeconds"), strconv.Itoa(s.SessionTTLSeconds), ttlFix, "sessions longer than a week: the service's own bound on a session's absolute lifetime (cmd/auth-service/internal/config/environment.txt)")
	}
	if s.SessionIdleSeconds < MinSessionTTL {
		p.add(q("sessionIdleSeconds"), strconv.Itoa(s.SessionIdleSeconds), fmt.Sprintf("set at least %d (a longer one than sessionTtlSeconds is the lifetime)", MinSessionTTL),
			"an idle timeout under a minute logs users out in the middle of a sign-in")
	}
	t, violations := timing.Derive(s.Budget, s.Overrides)
	for _, v := range violations {
		p.add(q(timingKeys[v.Field]), strconv.Itoa(v.Value), v.Fix, "%s", v.Message)
	}
	s.Timing = t

	if s.CertificateArn != "" {
		if m := acmArn.FindStringSubmatch(s.CertificateArn); m == nil {
			p.add(q("certificateArn"), s.CertificateArn, "use the ARN of an ACM certificate, arn:aws:acm:<region>:<account>:certificate/<id>", "not an ACM certificate ARN")
		} else if c.regionKnown() && m[1] != c.Region {
			p.add(q("certificateArn"), s.CertificateArn, fmt.Sprintf("request or import the certificate in %s", c.Region),
				"the certificate is in %s; an ALB only uses certificates of its own region", m[1])
		}
	} else if c.Production() {
		p.add(q("certificateArn"), "", "set the ARN of an ACM certificate for the auth hostname in production stacks",
			"production credentials must not travel over plain HTTP")
	}
	if b := s.AccessLogsBucket; b != "" {
		if why := BucketNameProblem(b); why != "" {
			p.add(q("albAccessLogsBucket"), b, "use the name of an existing S3 bucket (3-63 lowercase letters, digits, '.', '-')", "not an S3 bucket name: %s", why)
		}
	}
	if e := s.AlarmEmail; e != "" && !email.MatchString(e) {
		p.add(q("alarmEmail"), e, "use an address such as oncall@example.com", "not an e-mail address")
	}
	checkLogRetention(p, "authLogRetentionDays", s.LogRetentionDays)
}

// ServiceSourceDir is where the auth service's module lives, relative to
// the project root; RealPartsDir is the local module its go.mod replaces
// (test helpers), which the build needs to resolve the module graph.
const (
	ServiceSourceDir = "cmd/auth-service"
	RealPartsDir     = "tests/realparts"
)

// buildImage builds the auth service from this repository into the
// region's own ECR repository.
func buildImage(ctx *pulumi.Context, r *Region, cfg *Config) (*image.Image, error) {
	contextDir, err := fromWorkingDir(ServiceSourceDir)
	if err != nil {
		return nil, fmt.Errorf("building the auth image: %w", err)
	}
	realParts, err := fromWorkingDir(RealPartsDir)
	if err != nil {
		return nil, fmt.Errorf("building the auth image: %w", err)
	}
	return image.NewImage(ctx, r.Namer.Name("auth-image"), &image.Args{
		Context:       contextDir,
		NamedContexts: map[string]string{"realparts": realParts},
		ForceDelete:   cfg.Teardown.ForceDestroy,
		Namer:         r.Namer,
		Tags:          r.Tags,
	}, pulumi.Providers(r.Provider))
}

// fromWorkingDir is a directory of the project as a path relative to the
// working directory: the same string in every checkout. The engine runs the
// program and the docker-build plugin in the project directory (Pulumi.yaml
// sets no main), where this is dir itself; the offline plan and the tests
// run below it and get "../dir", the same directory.
func fromWorkingDir(dir string) (string, error) {
	root, err := ProjectRoot()
	if err != nil {
		return "", err
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return filepath.Rel(wd, filepath.Join(root, filepath.FromSlash(dir)))
}

// ProjectRoot finds the directory holding Pulumi.yaml, from the working
// directory upwards: the engine runs the program there, the offline plan
// and the tests below it.
func ProjectRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no Pulumi.yaml in the working directory or above it")
		}
		dir = parent
	}
}

// buildService puts the auth service behind the ALB and watches it: the
// ingress (ALB, target group), the Kubernetes side bound to it, and alarms.
func (r *Region) buildService(ctx *pulumi.Context, cfg *Config) error {
	s := cfg.Service
	awsOnly := pulumi.Providers(r.Provider)
	logsBucket, mutualTLS, err := r.ingressDefenses(ctx, cfg)
	if err != nil {
		return err
	}
	r.Ingress, err = ingress.NewIngress(ctx, r.Namer.Name("ingress"), &ingress.Args{
		VpcID:                      r.Network.VpcID,
		PublicSubnetIDs:            r.Network.PublicSubnetIDs,
		PodSecurityGroupID:         r.PodSecurity.ID,
		DeregistrationDelaySeconds: s.Timing.DeregistrationDelaySeconds,
		CertificateArn:             s.CertificateArn,
		AccessLogsBucket:           s.AccessLogsBucket,
		AccessLogsPrefix:           r.Namer.Prefix(),
		AccessLogsBucketName:       logsBucket,
		MutualTLS:                  mutualTLS,
		DeletionProtection:         cfg.Teardown.DeletionProtection,
		Namer:                      r.Namer,
		Tags:                       r.Tags,
	}, awsOnly)
	if err != nil {
		return err
	}

	// The service's output reaches CloudWatch through Fargate's log
	// router; its pods must start after the router's configuration.
	r.ServiceLogs, err = servicelogs.New(ctx, r.Namer.Name("service-logs"), &servicelogs.Args{
		Region:              cfg.Region,
		PodExecutionRoleArn: r.Cluster.PodExecutionRoleARN,
		PodNamespace:        cfg.AuthNamespace,
		Container:           authservice.Name,
		RetentionDays:       s.LogRetentionDays,
		Namer:               r.Namer,
		Tags:                r.Tags,
	}, pulumi.Providers(r.Provider, r.Cluster.Provider))
	if err != nil {
		return err
	}

	authImage := pulumi.String(s.Image).ToStringOutput()
	if s.Image == "" {
		if r.Image, err = buildImage(ctx, r, cfg); err != nil {
			return err
		}
		authImage = r.Image.Ref
	}

	// A standalone cluster has the application role: its pods read that
	// secret, and the migration Job alone holds the master's.
	var appSecret pulumi.StringInput
	if r.Database.HasAppRole {
		appSecret = r.Database.AppSecretArn
	}
	r.Auth, err = authservice.NewService(ctx, r.Namer.Name("auth"), &authservice.Args{
		AppDatabaseSecretArn: appSecret,
		Namespace:            cfg.AuthNamespace,
		Image:                authImage,
		Replicas:             s.Replicas,
		Zones:                r.Network.AvailabilityZones,
		Size:                 s.Size,
		Timing:               s.Timing,
		SessionTTLSeconds:    s.SessionTTLSeconds,
		// Never past the absolute lifetime: a longer idle timeout is the lifetime.
		SessionIdleSeconds: min(s.SessionIdleSeconds, s.SessionTTLSeconds),
		TargetGroupArn:     r.Ingress.TargetGroupArn,
		ALBSecurityGroupID: r.Ingress.SecurityGroupID,
		DatabaseHost:       r.Database.AppEndpoint,
		DatabaseReaderHost: r.Database.ReaderEndpoint,
		DatabasePort:       r.Database.Port,
		DatabaseName:       cfg.Database.Name,
		DatabaseSecretArn:  r.Database.SecretArn,
		DatabaseKmsKeyArn:  r.Database.KmsKeyArn,
		RedisEndpoint:      r.Cache.ConfigurationEndpoint,
		RedisPort:          r.Cache.Port,
		RedisSecretArn:     r.Cache.AuthSecretArn,
		RedisKmsKeyArn:     r.Cache.KmsKeyArn,
		OIDCProviderARN:    r.Cluster.OIDCProviderARN,
		OIDCIssuerURL:      r.Cluster.OIDCIssuerURL,
		Region:             cfg.Region,
		ControllerRelease:  r.LBController.Release,
		PodsWaitFor:        append(r.authPodsWaitFor(), r.ServiceLogs.Ready...),
		ZoneProfiles:       r.authZoneProfiles(),
		LogRouterConfig:    r.ServiceLogs.ConfigHash,
		KubernetesVersion:  cfg.KubernetesVersion,
		Namer:              r.Namer,
		Tags:               r.Tags,

		// The pods' own group, plus the cluster's for the control plane
		// and CoreDNS.
		PodSecurityGroupID:     r.PodSecurity.ID,
		ClusterSecurityGroupID: r.Cluster.ClusterSecurityGroupID,
	}, pulumi.Providers(r.Provider, r.Cluster.Provider))
	if err != nil {
		return err
	}
	// The listener forwards only once the pods serve the target group.
	if err := r.Ingress.ForwardPublicPaths(r.Auth.Deployments); err != nil {
		return err
	}

	r.Alarms, err = alarms.NewAlarms(ctx, r.Namer.Name("alarms"), &alarms.Args{
		Email:                 s.AlarmEmail,
		AccountID:             r.Cluster.AccountID,
		Partition:             r.Cluster.Partition,
		Region:                cfg.Region,
		LoadBalancerArnSuffix: r.Ingress.LoadBalancerArnSuffix,
		TargetGroupArnSuffix:  r.Ingress.TargetGroupArnSuffix,
		MinHealthyTargets:     alarms.DefaultMinHealthyTargets,
		Cache: alarms.CacheNodes{
			ReplicationGroupID: r.Cache.ReplicationGroupID,
			Shards:             cfg.Cache.Shards,
			ReplicasPerShard:   cfg.Cache.ReplicasPerShard,
		},
		DatabaseClusterID:  r.Database.ClusterIdentifier,
		DatabaseServerless: cfg.Database.Serverless,
		DatabaseSecondary:  r.member != nil && r.member.Database != nil && !r.member.Database.Writer,
		ServiceLogGroup:    r.ServiceLogs.LogGroup,
		Namer:              r.Namer,
		Tags:               r.Tags,
	}, awsOnly)
	return err
}

// authZoneProfiles are the names of the zones' auth Fargate profiles.
func (r *Region) authZoneProfiles() map[string]pulumi.StringInput {
	out := map[string]pulumi.StringInput{}
	for _, zone := range r.Network.AvailabilityZones {
		out[zone] = r.Cluster.Profile(authservice.ProfileName(zone)).FargateProfileName
	}
	return out
}

// authPodsWaitFor are what the auth pods need before the first is created:
// every zone's Fargate profile and CoreDNS.
func (r *Region) authPodsWaitFor() []pulumi.Resource {
	var out []pulumi.Resource
	for _, zone := range r.Network.AvailabilityZones {
		out = append(out, r.Cluster.Profile(authservice.ProfileName(zone)))
	}
	return append(out, r.Cluster.CoreDNS)
}
