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

// Driver does what the kubelet, the LB controller and the ALB do to a pod.
// The orchestrator decides when; the driver only acts.
type Driver interface {
	// StartPod starts the pod's process and returns once it runs (its
	// liveness endpoint answers, as the startup probe waits for); it is
	// not Ready yet.
	StartPod(ctx context.Context, p *Pod) error
	// Probe sends the pod one readiness probe, as the kubelet does; nil is
	// a pass. ctx carries the probe's timeout.
	Probe(ctx context.Context, p *Pod) error
	// Register adds target, one registration of the pod, to the target
	// group and returns once it passed the ALB's initial health check.
	// Cancelling ctx withdraws a registration still in its initial check.
	Register(ctx context.Context, p *Pod, target string) error
	// Drain stops new requests to target; requests in flight go on.
	Drain(target string) error
	// Deregister removes target from the target group, cutting what is
	// still in flight (the deregistration delay is over).
	Deregister(target string) error
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
	EvStart = "start" // process started and live (the startup probe passed)
	// EvContainersReady: the readiness probe passed; the pod's endpoint
	// turns ready and the LB controller will register a target for it.
	EvContainersReady = "containers-ready"
	// EvRegister: the LB controller registered a target for the pod
	// (detail: the target); it gets traffic once it passed the ALB's
	// initial check.
	EvRegister = "register"
	// EvReady: the target passed the ALB's initial check, so the readiness
	// gate and the pod are Ready: the PDB and the rollout count it.
	EvReady = "ready"
	// EvNotReady: FailureThreshold readiness probes failed in a row; the
	// pod leaves the endpoints and the LB controller deregisters its
	// target (detail: the last probe's error).
	EvNotReady = "not-ready"
	EvExited   = "exited"   // process gone
	EvKilled   = "killed"   // SIGKILL without warning (zone loss)
	EvDisrupt  = "disrupt"  // a non-pod fault begins (detail: which)
	EvRecovery = "recovery" // the fault is over
)

// StartLimit bounds how long a started pod may take to pass its first
// readiness probe (it connects to its dependencies and migrates first);
// a pod that does not is a drill that cannot run, not a finding.
const StartLimit = time.Minute

// registration is one target the LB controller registered for a pod. A
// pod that turns NotReady and Ready again gets a new one, registered the
// way a new pod's is, while the old one drains.
type registration struct {
	target  string
	cancel  context.CancelFunc // withdraws a registration still in its initial check
	healthy bool
	drained bool
	removed bool
}

// endpointChange is the pod's endpoint turning ready (in) or not, at a
// time; the LB controller acts on it a propagation allowance later.
type endpointChange struct {
	at time.Time
	in bool
}

type podState struct {
	pod *Pod
	// containersReady is the kubelet's readiness probe's verdict.
	containersReady bool
	// ready: containersReady and a registration that passed the ALB's
	// initial check (the readiness gate): what the PDB counts.
	ready       bool
	terminating bool
	gone        bool
	lastProbe   error
	regs        []*registration
	changes     chan endpointChange
	stopKubelet context.CancelFunc
}

// Orchestrator replays Kubernetes' side of evictions, rollouts and zone
// loss against a Driver, with at most one voluntary disruption at a time,
// and for every pod the path that takes a target out and puts it back:
// the kubelet's readiness probe, the endpoint, the LB controller's
// (de)registration and the ALB's health check.
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

	// Every pod's kubelet and LB controller run until Close.
	lifeOnce sync.Once
	lifeCtx  context.Context
	stopLife context.CancelFunc
	lifeWG   sync.WaitGroup
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

// Record notes a non-pod event (a fault and its end) on the drill's clock.
func (o *Orchestrator) Record(what, detail string) { o.record(nil, what, detail) }

func (o *Orchestrator) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, err)
}

func (o *Orchestrator) life() context.Context {
	o.lifeOnce.Do(func() { o.lifeCtx, o.stopLife = context.WithCancel(context.Background()) })
	return o.lifeCtx
}

// goLife runs f in the background until Close.
func (o *Orchestrator) goLife(f func(ctx context.Context)) {
	ctx := o.life()
	o.lifeWG.Add(1)
	go func() {
		defer o.lifeWG.Done()
		f(ctx)
	}()
}

// Close stops every pod's kubelet and LB controller and waits for them;
// the pods themselves are the driver's.
func (o *Orchestrator) Close() error {
	o.life()
	o.stopLife()
	o.lifeWG.Wait()
	return nil
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

// launch starts a pod and waits until it is Ready. A replacement's first
// registration comes a propagation allowance after its readiness probe
// passed (the LB controller and the ELB API take the same path to
// register a target as to deregister one); the pods of the first Up are
// registered at once, since nothing is measured yet.
func (o *Orchestrator) launch(ctx context.Context, ps *podState, replacement bool) error {
	if err := o.Driver.StartPod(ctx, ps.pod); err != nil {
		return fmt.Errorf("starting %s: %w", ps.pod.Name, err)
	}
	o.record(ps.pod, EvStart, ps.pod.Version)
	first := time.Duration(0)
	if replacement {
		first = o.Timings.Propagation
	}
	o.watch(ps, first)
	limit := time.Now().Add(StartLimit + o.Timings.ReplacementTime())
	if err := o.waitFor(ctx, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return ps.ready || time.Now().After(limit)
	}); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !ps.ready {
		return fmt.Errorf("%s not Ready %v after it started; last readiness probe: %v", ps.pod.Name, StartLimit+o.Timings.ReplacementTime(), ps.lastProbe)
	}
	return nil
}

// watch starts the pod's kubelet (its readiness probe) and the LB
// controller's view of its endpoint. firstDelay is how long after the
// first endpoint change the controller acts; later ones take the
// propagation allowance.
func (o *Orchestrator) watch(ps *podState, firstDelay time.Duration) {
	kctx, stop := context.WithCancel(o.life())
	changes := make(chan endpointChange, 256)
	o.mu.Lock()
	ps.stopKubelet, ps.changes = stop, changes
	o.mu.Unlock()
	o.goLife(func(context.Context) { o.kubelet(kctx, ps, changes) })
	o.goLife(func(ctx context.Context) { o.controller(ctx, ps, changes, firstDelay) })
}

// kubelet probes the pod's readiness every ReadinessPeriod, each probe
// bounded by ReadinessTimeout, as the kubelet's prober does: a pod starts
// not ready, one pass makes it ready (successThreshold 1), and
// FailureThreshold failures in a row make it NotReady
// (kubernetes/kubernetes pkg/kubelet/prober/worker.go). Each change moves
// the pod's endpoint; the controller sees it.
func (o *Orchestrator) kubelet(ctx context.Context, ps *podState, changes chan<- endpointChange) {
	defer close(changes)
	tick := time.NewTicker(max(o.Timings.ReadinessPeriod, time.Millisecond))
	defer tick.Stop()
	failures := 0
	for {
		pctx, cancel := context.WithTimeout(ctx, o.Timings.ReadinessTimeout)
		err := o.Driver.Probe(pctx, ps.pod)
		cancel()
		if ctx.Err() != nil {
			return
		}
		changed, in := false, false
		o.mu.Lock()
		ps.lastProbe = err
		if err == nil {
			failures = 0
			if !ps.containersReady {
				ps.containersReady, changed, in = true, true, true
			}
		} else {
			failures++
			if ps.containersReady && failures >= o.Timings.ReadinessFailureThreshold {
				ps.containersReady, ps.ready, changed = false, false, true
			}
		}
		o.mu.Unlock()
		if changed {
			if in {
				o.record(ps.pod, EvContainersReady, "")
			} else {
				o.record(ps.pod, EvNotReady, err.Error())
			}
			select {
			case changes <- endpointChange{at: time.Now(), in: in}:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// controller is the LB controller for one pod: a propagation allowance
// after the pod's endpoint turned ready it registers a new target, and
// after it turned not ready it drains every target of the pod and
// removes them once the deregistration delay is over. Controller v3.5.0
// registers only endpoints whose containers are ready
// (pkg/backend/endpoint_resolver.go:176), deregisters every other target
// (pkg/targetgroupbinding/resource_manager.go:243) and registers a pod
// that comes back as a new target in the initial state, its readiness
// gate false until the ALB finds it healthy (resource_manager.go:207,
// 427-433). Once the pod is terminating, the termination sequence
// governs its targets.
func (o *Orchestrator) controller(ctx context.Context, ps *podState, changes <-chan endpointChange, firstDelay time.Duration) {
	delay := firstDelay
	for ch := range changes {
		if sleep(ctx, time.Until(ch.at.Add(delay))) != nil {
			return
		}
		delay = o.Timings.Propagation
		o.mu.Lock()
		done := ps.terminating || ps.gone
		o.mu.Unlock()
		if done {
			continue
		}
		if ch.in {
			o.register(ps)
		} else if err := o.withdraw(ps, "not ready", true); err != nil {
			o.fail(fmt.Errorf("deregistering %s: %w", ps.pod.Name, err))
		}
	}
}

// register adds a new target for the pod; the pod is Ready once it passed
// the ALB's initial check, if it is still ready by then.
func (o *Orchestrator) register(ps *podState) {
	ctx := o.life()
	o.mu.Lock()
	target := ps.pod.Name
	if n := len(ps.regs) + 1; n > 1 {
		target = fmt.Sprintf("%s-r%d", ps.pod.Name, n)
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &registration{target: target, cancel: cancel}
	ps.regs = append(ps.regs, r)
	o.mu.Unlock()
	o.record(ps.pod, EvRegister, target)
	o.goLife(func(context.Context) {
		defer cancel()
		if err := o.Driver.Register(rctx, ps.pod, target); err != nil {
			if rctx.Err() == nil {
				o.fail(fmt.Errorf("registering %s: %w", target, err))
			}
			return
		}
		o.mu.Lock()
		r.healthy = true
		ready := !r.drained && ps.containersReady && !ps.terminating && !ps.gone
		if ready {
			ps.ready = true
		}
		o.mu.Unlock()
		if ready {
			o.record(ps.pod, EvReady, "")
		}
	})
}

// withdraw drains every target of the pod not drained yet (a
// registration still in its initial check is withdrawn); with
// thenRemove, each is removed after the deregistration delay.
func (o *Orchestrator) withdraw(ps *podState, why string, thenRemove bool) error {
	o.mu.Lock()
	var rs []*registration
	for _, r := range ps.regs {
		if !r.drained {
			r.drained = true
			rs = append(rs, r)
		}
	}
	o.mu.Unlock()
	var errs []error
	for _, r := range rs {
		r.cancel()
		o.record(ps.pod, string(ActDrain), targetDetail(ps.pod, r, why))
		if err := o.Driver.Drain(r.target); err != nil {
			errs = append(errs, fmt.Errorf("drain %s: %w", r.target, err))
		}
	}
	if thenRemove && len(rs) > 0 {
		o.goLife(func(ctx context.Context) {
			if sleep(ctx, o.Timings.DeregistrationDelay) != nil {
				return
			}
			if err := o.remove(ps, rs, why); err != nil {
				o.fail(fmt.Errorf("deregistering %s: %w", ps.pod.Name, err))
			}
		})
	}
	return errors.Join(errs...)
}

// remove removes the given targets of the pod not removed yet; nil
// removes every one.
func (o *Orchestrator) remove(ps *podState, rs []*registration, why string) error {
	o.mu.Lock()
	if rs == nil {
		rs = ps.regs
	}
	var todo []*registration
	for _, r := range rs {
		if !r.removed {
			r.removed, r.drained = true, true
			todo = append(todo, r)
		}
	}
	o.mu.Unlock()
	var errs []error
	for _, r := range todo {
		r.cancel()
		o.record(ps.pod, string(ActDeregister), targetDetail(ps.pod, r, why))
		if err := o.Driver.Deregister(r.target); err != nil {
			errs = append(errs, fmt.Errorf("deregister %s: %w", r.target, err))
		}
	}
	return errors.Join(errs...)
}

// targetDetail names why a target is drained or removed, and the target
// when it is not the pod's first.
func targetDetail(p *Pod, r *registration, why string) string {
	if r.target == p.Name {
		return why
	}
	if why == "" {
		return r.target
	}
	return why + ": " + r.target
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

// terminate runs the termination sequence of ps in the background. The
// pod leaves the endpoints at deletion, so from now on the termination
// sequence, not the readiness probe, governs its targets.
func (o *Orchestrator) terminate(ctx context.Context, ps *podState) {
	o.mu.Lock()
	ps.terminating = true
	stop := ps.stopKubelet
	o.mu.Unlock()
	if stop != nil {
		stop()
	}
	// Recorded here, not in the background, so that the log orders it
	// before whatever the orchestrator does next.
	o.record(ps.pod, string(ActTerminate), "")
	t0 := time.Now()
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		if err := o.runTermination(ctx, ps, t0); err != nil {
			o.fail(fmt.Errorf("terminating %s: %w", ps.pod.Name, err))
		}
		o.mu.Lock()
		ps.gone = true
		o.mu.Unlock()
	}()
}

func (o *Orchestrator) runTermination(ctx context.Context, ps *podState, t0 time.Time) error {
	p := ps.pod
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
		var err error
		switch st.Action {
		case ActDrain:
			// Targets a NotReady already drained are not drained twice.
			err = o.withdraw(ps, "", false)
		case ActSigterm:
			o.record(p, string(st.Action), "")
			err = o.Driver.Signal(p, syscall.SIGTERM)
		case ActDeregister:
			err = o.remove(ps, nil, "")
		case ActKill:
			o.record(p, string(st.Action), "")
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
		stop := ps.stopKubelet
		o.mu.Unlock()
		// The kubelet goes with its node: no probe notices the loss.
		if stop != nil {
			stop()
		}
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
		if err := o.remove(ps, nil, "endpoint removed"); err != nil {
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
