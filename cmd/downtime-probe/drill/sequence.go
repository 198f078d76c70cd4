package drill

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Pod is one auth-service instance of the drill.
type Pod struct {
	Name    string
	Zone    string
	Version string
}

// Driver does what Kubernetes, the LB controller and the ALB do to a pod.
// The orchestrator decides when; the driver only acts.
type Driver interface {
	// StartPod starts the pod's process and returns once it runs; it is
	// not Ready yet.
	StartPod(ctx context.Context, p *Pod) error
	// Register adds the pod to the target group and returns once it passed
	// its health check: the readiness gate turns the pod Ready then.
	Register(ctx context.Context, p *Pod) error
	// Drain stops new requests to the pod; requests in flight go on.
	Drain(p *Pod) error
	// Deregister removes the pod from the target group, cutting what is
	// still in flight (the deregistration delay is over).
	Deregister(p *Pod) error
	// Signal sends sig to the pod's process.
	Signal(p *Pod, sig syscall.Signal) error
	// Exited is closed once the pod's process has exited.
	Exited(p *Pod) <-chan struct{}
}

// Action is one step of a pod's termination.
type Action string

// Termination steps, in the order Kubernetes and the ALB take them.
const (
	// ActTerminate: the pod is deleted; the kubelet starts preStop and the
	// LB controller starts deregistering the target, in parallel.
	ActTerminate Action = "terminate"
	// ActDrain: the deregistration reached the load balancer
	// (propagation allowance): no new requests.
	ActDrain Action = "drain"
	// ActSigterm: preStop is over.
	ActSigterm Action = "sigterm"
	// ActDeregister: the deregistration delay is over; the target is gone.
	ActDeregister Action = "deregister"
	// ActKill: the grace period is over; SIGKILL if the process still runs.
	ActKill Action = "sigkill"
)

// Step is one action at its offset from the start of the termination.
type Step struct {
	At     time.Duration
	Action Action
}

// TerminationSteps is the Kubernetes termination sequence of one pod
// under t, with the given preStop sleep: the LB side (drain after the
// propagation allowance, removal after the deregistration delay) and the
// kubelet side (SIGTERM after preStop, SIGKILL after the grace period,
// both counted from deletion) run on one clock. Ties keep the order of
// the constants above.
func TerminationSteps(t Timings, preStop time.Duration) []Step {
	steps := []Step{
		{0, ActTerminate},
		{t.Propagation, ActDrain},
		{preStop, ActSigterm},
		{t.Propagation + t.DeregistrationDelay, ActDeregister},
		{t.GracePeriod, ActKill},
	}
	order := map[Action]int{ActTerminate: 0, ActDrain: 1, ActSigterm: 2, ActDeregister: 3, ActKill: 4}
	sort.SliceStable(steps, func(i, j int) bool {
		if steps[i].At != steps[j].At {
			return steps[i].At < steps[j].At
		}
		return order[steps[i].Action] < order[steps[j].Action]
	})
	return steps
}

// Event is something that happened to a pod, at its offset from the
// start of the drill.
type Event struct {
	at     time.Time
	AtMs   float64 `json:"atMs"` // negative: before the load started
	Pod    string  `json:"pod,omitempty"`
	Zone   string  `json:"zone,omitempty"`
	What   string  `json:"what"`
	Detail string  `json:"detail,omitempty"`
}

// Event names besides the termination actions.
const (
	EvStart    = "start"    // process started
	EvReady    = "ready"    // registered and healthy: Ready
	EvExited   = "exited"   // process gone
	EvKilled   = "killed"   // SIGKILL without warning (zone loss)
	EvDisrupt  = "disrupt"  // a non-pod fault (Redis primary killed)
	EvRecovery = "recovery" // the fault is over
)

type podState struct {
	pod         *Pod
	ready       bool
	terminating bool
	gone        bool
}

// Orchestrator replays Kubernetes' side of evictions, rollouts and zone
// loss against a Driver, with at most one voluntary disruption at a time.
type Orchestrator struct {
	Driver   Driver
	Timings  Timings
	PreStop  time.Duration // the preStop sleep of every pod
	Replicas int
	Zones    []string
	// Poll is how often a wait re-checks the pods; default 10 ms.
	Poll time.Duration

	start  time.Time
	mu     sync.Mutex
	events []Event
	pods   []*podState
	serial int
	wg     sync.WaitGroup
	errs   []error
}

// Begin sets the drill's time origin; events are offsets from it.
func (o *Orchestrator) Begin(at time.Time) { o.start = at }

// Events returns what happened so far, in order, with offsets from the
// time origin.
func (o *Orchestrator) Events() []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := append([]Event{}, o.events...)
	for i := range out {
		out[i].AtMs = float64(out[i].at.Sub(o.start).Microseconds()) / 1000
	}
	return out
}

func (o *Orchestrator) record(p *Pod, what, detail string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := Event{at: time.Now(), What: what, Detail: detail}
	if p != nil {
		e.Pod, e.Zone = p.Name, p.Zone
	}
	o.events = append(o.events, e)
}

func (o *Orchestrator) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, err)
}

func (o *Orchestrator) newPod(zone, version string) *podState {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.serial++
	ps := &podState{pod: &Pod{Name: fmt.Sprintf("auth-%d", o.serial), Zone: zone, Version: version}}
	o.pods = append(o.pods, ps)
	return ps
}

// Up starts Replicas pods, spread over the zones, and waits until all are
// Ready.
func (o *Orchestrator) Up(ctx context.Context, version string) error {
	var wg sync.WaitGroup
	errs := make([]error, o.Replicas)
	for i := range o.Replicas {
		ps := o.newPod(o.Zones[i%len(o.Zones)], version)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = o.launch(ctx, ps, false)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// launch starts a pod and makes it Ready. A replacement is registered
// only after the propagation allowance: the LB controller and the ELB API
// take the same path to register a target as to deregister one.
func (o *Orchestrator) launch(ctx context.Context, ps *podState, replacement bool) error {
	if err := o.Driver.StartPod(ctx, ps.pod); err != nil {
		return fmt.Errorf("starting %s: %w", ps.pod.Name, err)
	}
	o.record(ps.pod, EvStart, ps.pod.Version)
	if replacement {
		if err := sleep(ctx, o.Timings.Propagation); err != nil {
			return err
		}
	}
	if err := o.Driver.Register(ctx, ps.pod); err != nil {
		return fmt.Errorf("registering %s: %w", ps.pod.Name, err)
	}
	o.mu.Lock()
	ps.ready = true
	o.mu.Unlock()
	o.record(ps.pod, EvReady, "")
	return nil
}

// available counts the pods that are Ready and not terminating: what a
// PDB counts as healthy.
func (o *Orchestrator) available() (ready, existing int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ps := range o.pods {
		if !ps.terminating && !ps.gone {
			existing++
			if ps.ready {
				ready++
			}
		}
	}
	return ready, existing
}

// running returns the pods running now, in start order.
func (o *Orchestrator) running() []*podState {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*podState
	for _, ps := range o.pods {
		if !ps.terminating && !ps.gone {
			out = append(out, ps)
		}
	}
	return out
}

func (o *Orchestrator) waitFor(ctx context.Context, cond func() bool) error {
	poll := o.Poll
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	for !cond() {
		if err := sleep(ctx, poll); err != nil {
			return err
		}
		o.mu.Lock()
		err := errors.Join(o.errs...)
		o.mu.Unlock()
		if err != nil {
			// A pod that cannot start or stop would block the wait for ever.
			return err
		}
	}
	return nil
}

// terminate runs the termination sequence of ps in the background.
func (o *Orchestrator) terminate(ctx context.Context, ps *podState) {
	o.mu.Lock()
	ps.terminating = true
	o.mu.Unlock()
	// Recorded here, not in the background, so that the log orders it
	// before whatever the orchestrator does next.
	o.record(ps.pod, string(ActTerminate), "")
	t0 := time.Now()
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		if err := o.runTermination(ctx, ps.pod, t0); err != nil {
			o.fail(fmt.Errorf("terminating %s: %w", ps.pod.Name, err))
		}
		o.mu.Lock()
		ps.gone = true
		o.mu.Unlock()
	}()
}

func (o *Orchestrator) runTermination(ctx context.Context, p *Pod, t0 time.Time) error {
	exited := o.Driver.Exited(p)
	var errs []error
	for _, st := range TerminationSteps(o.Timings, o.PreStop) {
		deadline := time.NewTimer(time.Until(t0.Add(st.At)))
		if st.Action == ActKill {
			select {
			case <-exited:
				deadline.Stop()
				continue
			case <-deadline.C:
			case <-ctx.Done():
				deadline.Stop()
				return ctx.Err()
			}
		} else {
			select {
			case <-deadline.C:
			case <-ctx.Done():
				deadline.Stop()
				return ctx.Err()
			}
		}
		if st.Action != ActTerminate {
			o.record(p, string(st.Action), "")
		}
		var err error
		switch st.Action {
		case ActDrain:
			err = o.Driver.Drain(p)
		case ActSigterm:
			err = o.Driver.Signal(p, syscall.SIGTERM)
		case ActDeregister:
			err = o.Driver.Deregister(p)
		case ActKill:
			err = o.Driver.Signal(p, syscall.SIGKILL)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.Action, err))
		}
	}
	select {
	case <-exited:
		o.record(p, EvExited, "")
	case <-time.After(5 * time.Second):
		errs = append(errs, errors.New("still running 5 s after SIGKILL"))
	case <-ctx.Done():
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// replace starts a new pod in zone in the background and makes it Ready.
func (o *Orchestrator) replace(ctx context.Context, zone, version string) *podState {
	ps := o.newPod(zone, version)
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		if err := o.launch(ctx, ps, true); err != nil {
			o.fail(err)
		}
	}()
	return ps
}

// wait waits for every background termination and replacement.
func (o *Orchestrator) wait() error {
	o.wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	return errors.Join(o.errs...)
}

// pdbAllows reports whether the PDB admits one more eviction: the pods
// counted healthy stay at least Replicas - PDBMaxUnavailable after it.
func (o *Orchestrator) pdbAllows() bool {
	ready, _ := o.available()
	return ready-1 >= o.Replicas-PDBMaxUnavailable
}

// Evictions evicts every pod running now once, as Fargate patching does:
// each eviction waits for the PDB, deletes the pod (its termination
// sequence starts) and the ReplicaSet creates a replacement in the same
// zone at once.
func (o *Orchestrator) Evictions(ctx context.Context) error {
	for _, ps := range o.running() {
		if err := o.waitFor(ctx, o.pdbAllows); err != nil {
			return err
		}
		o.terminate(ctx, ps)
		o.replace(ctx, ps.pod.Zone, ps.pod.Version)
	}
	return o.wait()
}

// Rollout replaces every pod running now by one of version, as a
// Deployment with maxSurge 1 and maxUnavailable 0 does: a new pod first,
// and an old one is terminated only once the new one is Ready.
func (o *Orchestrator) Rollout(ctx context.Context, version string) error {
	for _, old := range o.running() {
		if err := o.waitFor(ctx, func() bool {
			_, existing := o.available()
			return existing < o.Replicas+MaxSurge
		}); err != nil {
			return err
		}
		surge := o.replace(ctx, old.pod.Zone, version)
		if err := o.waitFor(ctx, func() bool {
			o.mu.Lock()
			defer o.mu.Unlock()
			return surge.ready
		}); err != nil {
			return err
		}
		if err := o.waitFor(ctx, func() bool {
			ready, _ := o.available()
			return ready-1 >= o.Replicas-MaxUnavailable
		}); err != nil {
			return err
		}
		o.terminate(ctx, old)
	}
	return o.wait()
}

// ZoneLoss kills every pod of zone at once with SIGKILL: no preStop, no
// deregistration; only the load balancer's health checks notice. The
// ReplicaSet replaces them in the other zones; once the replacements are
// Ready the dead targets are deregistered, as the LB controller does when
// their endpoints go.
func (o *Orchestrator) ZoneLoss(ctx context.Context, zone string) error {
	var victims []*podState
	for _, ps := range o.running() {
		if ps.pod.Zone == zone {
			victims = append(victims, ps)
		}
	}
	if len(victims) == 0 {
		return fmt.Errorf("no pod runs in zone %s", zone)
	}
	var others []string
	for _, z := range o.Zones {
		if z != zone {
			others = append(others, z)
		}
	}
	var errs []error
	for _, ps := range victims {
		o.mu.Lock()
		ps.terminating = true
		o.mu.Unlock()
		o.record(ps.pod, EvKilled, "zone "+zone+" lost")
		if err := o.Driver.Signal(ps.pod, syscall.SIGKILL); err != nil {
			errs = append(errs, err)
		}
	}
	for i, ps := range victims {
		o.replace(ctx, others[i%len(others)], ps.pod.Version)
	}
	if err := o.wait(); err != nil {
		errs = append(errs, err)
	}
	for _, ps := range victims {
		<-o.Driver.Exited(ps.pod)
		o.record(ps.pod, EvExited, "")
		o.record(ps.pod, string(ActDeregister), "endpoint removed")
		if err := o.Driver.Deregister(ps.pod); err != nil {
			errs = append(errs, err)
		}
		o.mu.Lock()
		ps.gone = true
		o.mu.Unlock()
	}
	return errors.Join(errs...)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
