package drill

import (
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/ingress"
	"github.com/authplatform/auth-platform/components/timing"
	"github.com/authplatform/auth-platform/stacks"
)

// What the stack's Deployment, PDB and target group fix besides the timing
// budget (components/authservice and components/ingress); a test holds
// them to the dev stack's plan.
const (
	// PDBMaxUnavailable: the PDB lets one pod be evicted at a time.
	PDBMaxUnavailable = 1
	// MaxSurge and MaxUnavailable of the Deployment's rolling update.
	MaxSurge       = 1
	MaxUnavailable = 0
	// HealthyThresholdInitial: a newly registered ALB target must pass one
	// health check to be healthy (ELB User Guide, "Health checks for
	// Application Load Balancer target groups"); HealthyThreshold applies
	// only to a target coming back from unhealthy.
	HealthyThresholdInitial = 1
)

// StackTiming is what the drill takes from one stack: the derived timing,
// the ALB health check and the pods' readiness probe, in the stack's own
// seconds.
type StackTiming struct {
	Stack    string
	Replicas int
	timing.Timing
	HealthCheckIntervalSeconds int
	HealthCheckTimeoutSeconds  int
	UnhealthyThreshold         int
	ReadinessPeriodSeconds     int
	ReadinessTimeoutSeconds    int
	ReadinessFailureThreshold  int
}

// LoadStackTiming reads stacks/Pulumi.<stack>.yaml under root (merged with
// Pulumi.yaml's defaults, as `go run . plan` does) and validates it with the
// program's own code, so the drill replays the numbers `pulumi up` deploys.
func LoadStackTiming(root, stack string) (StackTiming, error) {
	project, err := plan.LoadProject(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		return StackTiming{}, err
	}
	path := filepath.Join(root, project.StackConfigDir, "Pulumi."+stack+".yaml")
	values, _, err := plan.LoadStackConfig(path, project)
	if err != nil {
		return StackTiming{}, fmt.Errorf("stack %q: %w", stack, err)
	}
	cfg, err := stacks.Load(project.Name, stack, stacks.MapSource(values))
	if err != nil {
		return StackTiming{}, fmt.Errorf("stack %q does not validate, fix it first (go run . plan --stack %s):\n%w", stack, stack, err)
	}
	return StackTiming{
		Stack:                      stack,
		Replicas:                   cfg.Service.Replicas,
		Timing:                     cfg.Service.Timing,
		HealthCheckIntervalSeconds: ingress.DefaultHealthCheckIntervalSeconds,
		HealthCheckTimeoutSeconds:  ingress.DefaultHealthCheckTimeoutSeconds,
		UnhealthyThreshold:         ingress.DefaultUnhealthyThreshold,
		ReadinessPeriodSeconds:     authservice.ReadinessPeriodSeconds,
		ReadinessTimeoutSeconds:    authservice.ReadinessTimeoutSeconds,
		ReadinessFailureThreshold:  authservice.ReadinessFailureThreshold,
	}, nil
}

// Timings are the stack's durations divided by the scale factor: what the
// drill waits for on the wall clock.
type Timings struct {
	Scale float64
	// Propagation: from the start of a pod's termination until the load
	// balancer sends it no new request. The drill also waits this long
	// before registering a new pod (the same controller and ELB API path).
	Propagation         time.Duration
	DeregistrationDelay time.Duration
	PreStopSleep        time.Duration
	GracePeriod         time.Duration
	Shutdown            time.Duration
	MaxRequest          time.Duration
	HealthCheckInterval time.Duration
	HealthCheckTimeout  time.Duration
	UnhealthyThreshold  int
	// The kubelet's readiness probe: every ReadinessPeriod, each answered
	// within ReadinessTimeout; ReadinessFailureThreshold failures in a row
	// turn the pod NotReady, one success Ready again. The timeout is the
	// stack's, not scaled: like the request deadline it bounds how long
	// the pod may take to answer, which the drill's machine cannot do 30
	// times faster (scaled to 67 ms, probes of the service timed out on a
	// loaded 2-core machine and took pods out that were serving).
	ReadinessPeriod           time.Duration
	ReadinessTimeout          time.Duration
	ReadinessFailureThreshold int
}

// Scaled divides every duration of st by scale (> 0).
func (st StackTiming) Scaled(scale float64) Timings {
	d := func(seconds int) time.Duration {
		return time.Duration(math.Round(float64(seconds) * float64(time.Second) / scale))
	}
	return Timings{
		Scale:               scale,
		Propagation:         d(st.PropagationSeconds),
		DeregistrationDelay: d(st.DeregistrationDelaySeconds),
		PreStopSleep:        d(st.PreStopSleepSeconds),
		GracePeriod:         d(st.TerminationGracePeriodSeconds),
		Shutdown:            d(st.ShutdownSeconds),
		MaxRequest:          d(st.MaxRequestSeconds),
		HealthCheckInterval: d(st.HealthCheckIntervalSeconds),
		HealthCheckTimeout:  d(st.HealthCheckTimeoutSeconds),
		UnhealthyThreshold:  st.UnhealthyThreshold,

		ReadinessPeriod:           d(st.ReadinessPeriodSeconds),
		ReadinessTimeout:          time.Duration(st.ReadinessTimeoutSeconds) * time.Second,
		ReadinessFailureThreshold: st.ReadinessFailureThreshold,
	}
}

// ReplacementTime is how long a new pod takes to become Ready in the
// model: registration after the propagation allowance, then one passing
// health check (at most one interval plus its timeout).
func (t Timings) ReplacementTime() time.Duration {
	return t.Propagation + t.HealthCheckInterval + t.HealthCheckTimeout
}

// DetectionWindow bounds how long the load balancer keeps routing to a
// target that died without warning: UnhealthyThreshold failed checks, the
// last one possibly waiting out its timeout.
func (t Timings) DetectionWindow() time.Duration {
	return time.Duration(t.UnhealthyThreshold)*t.HealthCheckInterval + t.HealthCheckTimeout
}

// ReadinessDetection bounds how long a pod whose readiness endpoint
// fails stays Ready: FailureThreshold failed probes, a period apart, the
// last one possibly waiting out its timeout.
func (t Timings) ReadinessDetection() time.Duration {
	return time.Duration(t.ReadinessFailureThreshold)*t.ReadinessPeriod + t.ReadinessTimeout
}

// RecoveryWindow is how long after a fault ends an outage it caused
// through readiness can still be seen: a pod that turned NotReady at the
// last moment (ReadinessDetection) passes its next probe a period later,
// and its new registration serves only after the propagation allowance
// and the ALB's initial check (ReplacementTime); its old target was
// drained a propagation allowance after the NotReady, inside that span.
// A fault scenario keeps the load on this long after the fault, so that a
// pod taken out by readiness shows as failures instead of being missed by
// a drill that stopped looking.
func (t Timings) RecoveryWindow() time.Duration {
	return t.ReadinessDetection() + t.ReadinessPeriod + t.ReplacementTime()
}

// TargetScenarioDuration is what the default scale aims a scenario at, so
// that one takes well under two minutes with bring-up and the final
// session check.
const TargetScenarioDuration = 80 * time.Second

// DefaultScale is the smallest whole factor that brings the scenario's
// estimated duration under TargetScenarioDuration.
func DefaultScale(st StackTiming, sc Scenario) float64 {
	for scale := 1.0; ; scale++ {
		if sc.Estimate(st.Scaled(scale), st.Replicas) <= TargetScenarioDuration || scale >= 1000 {
			return scale
		}
	}
}
