// Package timing derives the three values that decide whether a pod can be
// removed from behind the ALB without failing a request — the target group's
// deregistration delay, the preStop sleep and the termination grace period —
// from one budget, so they cannot drift apart.
//
// When Kubernetes deletes a pod, the kubelet starts preStop while the load
// balancer controller, in parallel, learns of the change and deregisters the
// target; the ALB then stops sending new requests (propagation) and lets the
// requests in flight finish (the deregistration delay). The pod must keep
// serving until both are over, and must be done before SIGKILL:
//
//	deregistrationDelay = maxRequest + Margin           in-flight requests finish
//	preStopSleep        = propagation + deregistration  drained before SIGTERM
//	gracePeriod         = preStopSleep + shutdown + Margin
//
// See shared/notes/zero-downtime-timing.md §7 for the rule and its sources.
package timing

import "fmt"

// Margin is the slack added where a bound must be strictly exceeded.
const Margin = 5

// Defaults reproduce the reference numbers from practice: a 30 s
// deregistration delay, a 60 s preStop sleep and a 90 s grace period.
const (
	// DefaultPropagationSeconds covers the LB controller noticing the
	// terminating endpoint and the ELB API change reaching every ALB node.
	// Practice puts this at 20-30 s for an ALB; 30 s also absorbs a slow
	// reconcile.
	DefaultPropagationSeconds = 30
	// DefaultMaxRequestSeconds is the longest request the auth service
	// serves (its own server timeout must not be longer).
	DefaultMaxRequestSeconds = 25
	// DefaultShutdownSeconds is how long the service may take after SIGTERM
	// to finish in-flight work and close its pools.
	DefaultShutdownSeconds = 25
)

// Limits AWS and Kubernetes put on the derived values.
const (
	// MaxDeregistrationDelay is the ELB attribute's upper bound.
	MaxDeregistrationDelay = 3600
	// MaxGracePeriod keeps a stuck rollout or a Fargate patch eviction from
	// waiting more than 15 minutes for one pod.
	MaxGracePeriod = 900
	// MaxBudgetSeconds bounds each budget value.
	MaxBudgetSeconds = 600
)

// Budget is what the operator knows about the platform and the service.
type Budget struct {
	// PropagationSeconds: from pod deletion until the ALB sends no new
	// request to the pod.
	PropagationSeconds int
	// MaxRequestSeconds: the longest request in flight when draining starts.
	MaxRequestSeconds int
	// ShutdownSeconds: the service's own shutdown after SIGTERM.
	ShutdownSeconds int
}

// Overrides replace derived values; zero keeps the derived one.
type Overrides struct {
	DeregistrationDelaySeconds    int
	PreStopSleepSeconds           int
	TerminationGracePeriodSeconds int
}

// Timing is the derived, consistent set of values.
type Timing struct {
	Budget
	DeregistrationDelaySeconds    int
	PreStopSleepSeconds           int
	TerminationGracePeriodSeconds int
}

// Violation is a broken invariant, named by the field that breaks it.
type Violation struct {
	Field   string // "budget field" or override name, e.g. "PreStopSleepSeconds"
	Value   int
	Message string
	Fix     string
}

func (v Violation) Error() string {
	return fmt.Sprintf("%s=%d: %s (fix: %s)", v.Field, v.Value, v.Message, v.Fix)
}

// DefaultBudget returns the budget of the defaults.
func DefaultBudget() Budget {
	return Budget{
		PropagationSeconds: DefaultPropagationSeconds,
		MaxRequestSeconds:  DefaultMaxRequestSeconds,
		ShutdownSeconds:    DefaultShutdownSeconds,
	}
}

// Derive computes the timing from the budget, applies the overrides and
// checks every invariant. It returns all violations at once; the Timing is
// only meaningful when there are none.
func Derive(b Budget, o Overrides) (Timing, []Violation) {
	var vs []Violation
	add := func(field string, value int, fix, format string, args ...interface{}) {
		vs = append(vs, Violation{Field: field, Value: value, Message: fmt.Sprintf(format, args...), Fix: fix})
	}
	// Every input is bounded before any arithmetic, so no sum can overflow
	// and each message names the value the operator set.
	if b.PropagationSeconds < 1 {
		add("PropagationSeconds", b.PropagationSeconds, fmt.Sprintf("set 1 to %d (20-30 for an ALB)", MaxBudgetSeconds),
			"the ALB keeps routing to a deleted pod for some seconds; the allowance must be positive")
	} else if b.PropagationSeconds > MaxBudgetSeconds {
		add("PropagationSeconds", b.PropagationSeconds, fmt.Sprintf("set 1 to %d (20-30 for an ALB)", MaxBudgetSeconds),
			"the LB controller and the ALB propagate a deregistration within a minute; more than %d s would push the grace period past its %d s cap", MaxBudgetSeconds, MaxGracePeriod)
	}
	if b.MaxRequestSeconds < 1 {
		add("MaxRequestSeconds", b.MaxRequestSeconds, fmt.Sprintf("set 1 to %d", MaxBudgetSeconds), "the longest request must be a positive number of seconds")
	} else if b.MaxRequestSeconds > MaxBudgetSeconds {
		add("MaxRequestSeconds", b.MaxRequestSeconds, fmt.Sprintf("set 1 to %d", MaxBudgetSeconds),
			"an auth request longer than %d s is a hung request, and the preStop sleep must outlast it within the %d s grace-period cap", MaxBudgetSeconds, MaxGracePeriod)
	}
	if b.ShutdownSeconds < 1 {
		add("ShutdownSeconds", b.ShutdownSeconds, fmt.Sprintf("set 1 to %d", MaxBudgetSeconds), "the shutdown allowance must be a positive number of seconds")
	} else if b.ShutdownSeconds > MaxBudgetSeconds {
		add("ShutdownSeconds", b.ShutdownSeconds, fmt.Sprintf("set 1 to %d", MaxBudgetSeconds),
			"a shutdown longer than %d s does not fit the %d s grace-period cap next to the preStop sleep", MaxBudgetSeconds, MaxGracePeriod)
	}
	if o.DeregistrationDelaySeconds < 0 || o.DeregistrationDelaySeconds > MaxDeregistrationDelay {
		add("DeregistrationDelaySeconds", o.DeregistrationDelaySeconds, fmt.Sprintf("set 0 (derived) to %d", MaxDeregistrationDelay),
			"the target group's deregistration delay is 0 to %d s", MaxDeregistrationDelay)
	}
	if o.PreStopSleepSeconds < 0 || o.PreStopSleepSeconds > MaxGracePeriod {
		fix := fmt.Sprintf("set 0 (derived) to %d", MaxGracePeriod)
		if b.ShutdownSeconds >= 1 && b.ShutdownSeconds <= MaxBudgetSeconds {
			fix = fmt.Sprintf("set 0 (derived) to %d", MaxGracePeriod-b.ShutdownSeconds-Margin)
		}
		add("PreStopSleepSeconds", o.PreStopSleepSeconds, fix,
			"the preStop sleep runs inside the grace period, which is capped at %d s", MaxGracePeriod)
	}
	if o.TerminationGracePeriodSeconds < 0 || o.TerminationGracePeriodSeconds > MaxGracePeriod {
		add("TerminationGracePeriodSeconds", o.TerminationGracePeriodSeconds, fmt.Sprintf("set 0 (derived) to %d", MaxGracePeriod),
			"a pod taking more than %d s to stop stalls rollouts and Fargate patching", MaxGracePeriod)
	}
	if len(vs) > 0 {
		return Timing{Budget: b}, vs
	}

	t := Timing{Budget: b}
	t.DeregistrationDelaySeconds = pick(o.DeregistrationDelaySeconds, b.MaxRequestSeconds+Margin)
	t.PreStopSleepSeconds = pick(o.PreStopSleepSeconds, b.PropagationSeconds+t.DeregistrationDelaySeconds)
	t.TerminationGracePeriodSeconds = pick(o.TerminationGracePeriodSeconds, t.PreStopSleepSeconds+b.ShutdownSeconds+Margin)

	r, s, g := t.DeregistrationDelaySeconds, t.PreStopSleepSeconds, t.TerminationGracePeriodSeconds
	if r < b.MaxRequestSeconds {
		add("DeregistrationDelaySeconds", r, fmt.Sprintf("set at least %d (the longest request), or leave it derived", b.MaxRequestSeconds),
			"the ALB would cut requests still in flight after %d s, but requests may take %d s", r, b.MaxRequestSeconds)
	}
	if s < b.PropagationSeconds {
		add("PreStopSleepSeconds", s, fmt.Sprintf("set at least %d (the propagation allowance), or leave it derived", b.PropagationSeconds),
			"SIGTERM would arrive while the ALB may still send new requests to the pod")
	}
	if s < r {
		add("PreStopSleepSeconds", s, fmt.Sprintf("set at least %d (the deregistration delay), or leave it derived", r),
			"the deregistration delay (%d s) must not exceed the preStop sleep: the pod would stop while the ALB still drains to it", r)
	}
	if g <= s+b.ShutdownSeconds {
		add("TerminationGracePeriodSeconds", g, fmt.Sprintf("set more than %d (preStop sleep %d + shutdown %d), or leave it derived", s+b.ShutdownSeconds, s, b.ShutdownSeconds),
			"the grace period must exceed preStop sleep + shutdown, or SIGKILL cuts the shutdown short")
	} else if g > MaxGracePeriod {
		// Blame the value the operator set, not the derived grace period.
		// The grace period itself is derived here: an override above
		// MaxGracePeriod was rejected with the ranges above.
		room := MaxGracePeriod - b.ShutdownSeconds - Margin // the longest preStop sleep that fits
		switch {
		case o.PreStopSleepSeconds != 0:
			add("PreStopSleepSeconds", s, fmt.Sprintf("set at most %d (the %d s cap minus shutdown %d s and %d s margin), or leave it derived", room, MaxGracePeriod, b.ShutdownSeconds, Margin),
				"preStop sleep %d s + shutdown %d s + %d s makes a grace period of %d s, above the %d s cap", s, b.ShutdownSeconds, Margin, g, MaxGracePeriod)
		case o.DeregistrationDelaySeconds != 0:
			add("DeregistrationDelaySeconds", r, fmt.Sprintf("set at most %d, or leave it derived", room-b.PropagationSeconds),
				"the preStop sleep derived from it (propagation %d s + %d s) and shutdown %d s make a grace period of %d s, above the %d s cap", b.PropagationSeconds, r, b.ShutdownSeconds, g, MaxGracePeriod)
		default:
			field, value := "PropagationSeconds", b.PropagationSeconds
			if b.MaxRequestSeconds > value {
				field, value = "MaxRequestSeconds", b.MaxRequestSeconds
			}
			if b.ShutdownSeconds > value {
				field, value = "ShutdownSeconds", b.ShutdownSeconds
			}
			add(field, value, "shorten the budget: propagation + longest request + shutdown must stay within "+fmt.Sprint(MaxGracePeriod-2*Margin)+" s",
				"propagation %d s + longest request %d s + shutdown %d s + margins make a grace period of %d s, above the %d s cap",
				b.PropagationSeconds, b.MaxRequestSeconds, b.ShutdownSeconds, g, MaxGracePeriod)
		}
	}
	return t, vs
}

// Check reports the invariants a finished Timing must satisfy; Derive
// guarantees them, and tests and policies use Check to prove it.
func (t Timing) Check() error {
	r, s, g := t.DeregistrationDelaySeconds, t.PreStopSleepSeconds, t.TerminationGracePeriodSeconds
	switch {
	case r > s:
		return fmt.Errorf("deregistration delay %d s exceeds the preStop sleep %d s", r, s)
	case s+t.ShutdownSeconds >= g:
		return fmt.Errorf("preStop sleep %d s + shutdown %d s is not below the grace period %d s", s, t.ShutdownSeconds, g)
	case r < t.MaxRequestSeconds:
		return fmt.Errorf("deregistration delay %d s is shorter than the longest request %d s", r, t.MaxRequestSeconds)
	case s < t.PropagationSeconds:
		return fmt.Errorf("preStop sleep %d s is shorter than the propagation allowance %d s", s, t.PropagationSeconds)
	}
	return nil
}

func pick(override, derived int) int {
	if override != 0 {
		return override
	}
	return derived
}
