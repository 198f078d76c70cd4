package drill

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The dev stack's budget (stacks/Pulumi.dev.yaml: "deregistration 30 s,
// preStop 60 s, grace 90 s"; propagation 30 s is the default of
// drainPropagationSeconds) at scale 1.
var devTimings = Timings{
	Scale: 1, Propagation: 30 * time.Second, DeregistrationDelay: 30 * time.Second,
	PreStopSleep: 60 * time.Second, GracePeriod: 90 * time.Second, Shutdown: 25 * time.Second,
	MaxRequest: 25 * time.Second, HealthCheckInterval: 10 * time.Second, HealthCheckTimeout: 5 * time.Second,
	UnhealthyThreshold: 2, ReadinessPeriod: 5 * time.Second, ReadinessTimeout: 2 * time.Second, ReadinessFailureThreshold: 2,
}

func TestTerminationSteps(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name    string
		preStop time.Duration
		want    []Step
	}{
		{"the stack's preStop: drained before SIGTERM", 60 * s, []Step{
			{0, ActTerminate}, {30 * s, ActDrain}, {60 * s, ActSigterm}, {60 * s, ActDeregister}, {90 * s, ActKill}}},
		{"no preStop: SIGTERM before the load balancer stops routing", 0, []Step{
			{0, ActTerminate}, {0, ActSigterm}, {30 * s, ActDrain}, {60 * s, ActDeregister}, {90 * s, ActKill}}},
		{"short preStop: SIGTERM inside the propagation allowance", 15 * s, []Step{
			{0, ActTerminate}, {15 * s, ActSigterm}, {30 * s, ActDrain}, {60 * s, ActDeregister}, {90 * s, ActKill}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, TerminationSteps(devTimings, tc.preStop))
		})
	}
}

// devStack is the dev stack's timing in its own seconds.
func devStack() StackTiming {
	st := StackTiming{Replicas: 3, HealthCheckIntervalSeconds: 10, HealthCheckTimeoutSeconds: 5, UnhealthyThreshold: 2,
		ReadinessPeriodSeconds: 5, ReadinessTimeoutSeconds: 2, ReadinessFailureThreshold: 2}
	st.PropagationSeconds, st.DeregistrationDelaySeconds, st.PreStopSleepSeconds = 30, 30, 60
	st.TerminationGracePeriodSeconds, st.ShutdownSeconds, st.MaxRequestSeconds = 90, 25, 25
	return st
}

func TestScaledDividesEveryDuration(t *testing.T) {
	st := devStack()
	got := st.Scaled(6)
	assert.Equal(t, 5*time.Second, got.Propagation)
	assert.Equal(t, 5*time.Second, got.DeregistrationDelay)
	assert.Equal(t, 10*time.Second, got.PreStopSleep)
	assert.Equal(t, 15*time.Second, got.GracePeriod)
	assert.Equal(t, 1666667*time.Microsecond, got.HealthCheckInterval.Round(time.Microsecond))
	assert.Equal(t, 2, got.UnhealthyThreshold, "a count, not a duration")
	assert.Equal(t, 833333*time.Microsecond, got.ReadinessPeriod.Round(time.Microsecond))
	assert.Equal(t, 2*time.Second, got.ReadinessTimeout, "bounds the pod's answer time: the stack's, not scaled")
	assert.Equal(t, 2, got.ReadinessFailureThreshold, "a count, not a duration")
	assert.Equal(t, devTimings, st.Scaled(1))
}

func TestReadinessDetectionAndRecoveryWindow(t *testing.T) {
	// Two failed probes 5 s apart, the second waiting out its 2 s timeout.
	assert.Equal(t, 12*time.Second, devTimings.ReadinessDetection())
	// 12 s to NotReady, 5 s to the next passing probe, then a new pod's
	// way in: 30 s propagation, 10 s interval, 5 s timeout.
	assert.Equal(t, 62*time.Second, devTimings.RecoveryWindow())
}

// fakeDriver records what the orchestrator asks for. Its pods exit
// exitAfter a SIGTERM (never when ignoreTerm) and at once on SIGKILL;
// a pod fails its readiness probe while sick; with holdRegistration a
// registration waits for ever in its initial check.
type fakeDriver struct {
	exitAfter        time.Duration
	ignoreTerm       bool
	holdRegistration bool

	mu     sync.Mutex
	log    []string
	exited map[string]chan struct{}
	once   map[string]*sync.Once
	sick   map[string]bool
}

func (f *fakeDriver) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

func (f *fakeDriver) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeDriver) setSick(sick bool, pods ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sick == nil {
		f.sick = map[string]bool{}
	}
	for _, p := range pods {
		f.sick[p] = sick
	}
}

func (f *fakeDriver) ch(p *Pod) (chan struct{}, *sync.Once) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.exited == nil {
		f.exited, f.once = map[string]chan struct{}{}, map[string]*sync.Once{}
	}
	if _, ok := f.exited[p.Name]; !ok {
		f.exited[p.Name], f.once[p.Name] = make(chan struct{}), &sync.Once{}
	}
	return f.exited[p.Name], f.once[p.Name]
}

func (f *fakeDriver) StartPod(_ context.Context, p *Pod) error {
	f.ch(p)
	f.add("start %s %s %s", p.Name, p.Zone, p.Version)
	return nil
}
func (f *fakeDriver) Probe(_ context.Context, p *Pod) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sick[p.Name] {
		return fmt.Errorf("%s answers 503", p.Name)
	}
	return nil
}
func (f *fakeDriver) Register(ctx context.Context, p *Pod, target string) error {
	f.add("register %s", target)
	if f.holdRegistration {
		<-ctx.Done()
		f.add("withdrawn %s", target)
		return ctx.Err()
	}
	return nil
}
func (f *fakeDriver) Drain(target string) error      { f.add("drain %s", target); return nil }
func (f *fakeDriver) Deregister(target string) error { f.add("deregister %s", target); return nil }
func (f *fakeDriver) Exited(p *Pod) <-chan struct{}  { c, _ := f.ch(p); return c }
func (f *fakeDriver) Signal(p *Pod, sig syscall.Signal) error {
	f.add("signal %s %v", p.Name, sig)
	c, once := f.ch(p)
	switch {
	case sig == syscall.SIGKILL:
		once.Do(func() { close(c) })
	case !f.ignoreTerm:
		time.AfterFunc(f.exitAfter, func() { once.Do(func() { close(c) }) })
	}
	return nil
}

// quick timings keep the orchestrator tests short; only the order of
// events is asserted, never their durations.
var quick = Timings{
	Scale: 1000, Propagation: 20 * time.Millisecond, DeregistrationDelay: 20 * time.Millisecond,
	PreStopSleep: 40 * time.Millisecond, GracePeriod: 150 * time.Millisecond, HealthCheckInterval: 5 * time.Millisecond,
	UnhealthyThreshold: 2, ReadinessPeriod: 2 * time.Millisecond, ReadinessTimeout: time.Millisecond, ReadinessFailureThreshold: 2,
}

func newOrch(t *testing.T, d Driver, replicas int) *Orchestrator {
	o := &Orchestrator{Driver: d, Timings: quick, PreStop: quick.PreStopSleep, Replicas: replicas,
		Zones: []string{"zone-a", "zone-b", "zone-c"}, Poll: time.Millisecond}
	o.Begin(time.Now())
	t.Cleanup(func() { o.Close() })
	return o
}

// replay walks the events and calls check before each one with the pods
// that are Ready and not terminating, and those existing and not
// terminating.
func replay(events []Event, check func(e Event, ready, existing int)) {
	ready, existing := map[string]bool{}, map[string]bool{}
	for _, e := range events {
		check(e, len(ready), len(existing))
		switch e.What {
		case EvStart:
			existing[e.Pod] = true
		case EvReady:
			ready[e.Pod] = true
		case string(ActTerminate), EvKilled:
			delete(ready, e.Pod)
			delete(existing, e.Pod)
		}
	}
}

func whatOf(events []Event, pod string) []string {
	var out []string
	for _, e := range events {
		if e.Pod == pod {
			out = append(out, e.What)
		}
	}
	return out
}

func TestEvictionsOneAtATimeUnderThePDB(t *testing.T) {
	d := &fakeDriver{exitAfter: 5 * time.Millisecond}
	o := newOrch(t, d, 3)
	require.NoError(t, o.Up(context.Background(), "v1"))
	require.NoError(t, o.Evictions(context.Background()))
	events := o.Events()

	terminated := 0
	replay(events, func(e Event, ready, _ int) {
		if e.What == string(ActTerminate) {
			terminated++
			assert.Equal(t, 3, ready, "an eviction is admitted only while every replica is Ready (PDB maxUnavailable 1): %+v", e)
		}
	})
	assert.Equal(t, 3, terminated, "every original pod is evicted once")
	for _, pod := range []string{"auth-1", "auth-2", "auth-3"} {
		assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady, "terminate", "drain", "sigterm", "deregister", EvExited}, whatOf(events, pod),
			"the termination sequence of %s, in Kubernetes' order; it exits after SIGTERM so no SIGKILL", pod)
	}
	for _, pod := range []string{"auth-4", "auth-5", "auth-6"} {
		assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady}, whatOf(events, pod),
			"replacement %s: its readiness probe passes, then the controller registers it", pod)
	}
	assert.Contains(t, d.lines(), "start auth-4 zone-a v1", "the replacement goes to the evicted pod's zone")
}

func TestRolloutStartsTheSurgePodFirst(t *testing.T) {
	d := &fakeDriver{exitAfter: 5 * time.Millisecond}
	o := newOrch(t, d, 3)
	require.NoError(t, o.Up(context.Background(), "v1"))
	require.NoError(t, o.Rollout(context.Background(), "v2"))
	events := o.Events()

	newReady := 0
	replay(events, func(e Event, ready, existing int) {
		assert.LessOrEqual(t, existing, 3+MaxSurge, "maxSurge 1: at most 4 pods not terminating, before %+v", e)
		switch e.What {
		case EvReady:
			if e.AtMs > 0 && e.Pod > "auth-3" {
				newReady++
			}
		case string(ActTerminate):
			assert.Equal(t, 4, ready, "maxUnavailable 0: an old pod goes only once its successor is Ready: %+v", e)
		}
	})
	assert.Equal(t, 3, newReady)
	for _, pod := range []string{"auth-4", "auth-5", "auth-6"} {
		assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady}, whatOf(events, pod))
	}
	for _, line := range []string{"start auth-4 zone-a v2", "start auth-5 zone-b v2", "start auth-6 zone-c v2"} {
		assert.Contains(t, d.lines(), line)
	}
}

func TestGracePeriodEndsInSigkill(t *testing.T) {
	d := &fakeDriver{ignoreTerm: true}
	o := newOrch(t, d, 2)
	require.NoError(t, o.Up(context.Background(), "v1"))
	require.NoError(t, o.Evictions(context.Background()))
	assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady, "terminate", "drain", "sigterm", "deregister", "sigkill", EvExited},
		whatOf(o.Events(), "auth-1"), "a pod that ignores SIGTERM is killed when the grace period ends")
}

func TestNoPrestopSignalsBeforeTheDrain(t *testing.T) {
	d := &fakeDriver{exitAfter: time.Millisecond}
	o := newOrch(t, d, 2)
	o.PreStop = 0
	require.NoError(t, o.Up(context.Background(), "v1"))
	require.NoError(t, o.Evictions(context.Background()))
	assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady, "terminate", "sigterm", "drain", "deregister", EvExited}, whatOf(o.Events(), "auth-1"))
}

func TestZoneLossKillsTheZoneWithoutWarning(t *testing.T) {
	d := &fakeDriver{exitAfter: time.Millisecond}
	o := newOrch(t, d, 3)
	require.NoError(t, o.Up(context.Background(), "v1"))
	require.NoError(t, o.ZoneLoss(context.Background(), "zone-a"))
	events := o.Events()
	assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady, EvKilled, EvExited, "deregister"}, whatOf(events, "auth-1"),
		"no preStop, no drain, no readiness probe (the kubelet went with the node): only the health checks notice; the target goes once the replacement is Ready")
	assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady}, whatOf(events, "auth-2"), "other zones untouched")
	assert.Contains(t, d.lines(), "signal auth-1 killed")
	assert.Contains(t, d.lines(), "start auth-4 zone-b v1", "the replacement goes to a surviving zone")
	assert.NotContains(t, d.lines(), "drain auth-1")
}

func TestDefaultScaleKeepsAScenarioShort(t *testing.T) {
	st := devStack()
	for _, name := range ScenarioNames() {
		sc := Scenarios[name]
		scale := DefaultScale(st, sc)
		assert.LessOrEqual(t, sc.Estimate(st.Scaled(scale), 3), TargetScenarioDuration, name)
		if scale > 1 {
			assert.Greater(t, sc.Estimate(st.Scaled(scale-1), 3), TargetScenarioDuration, "%s: the smallest such scale", name)
		}
	}
	// Evictions of three pods at scale 1: two replacements of 30+10+5 s,
	// then the last one's termination (60 s) = 150 s + 4 s of warm-up and
	// tail.
	assert.Equal(t, 154*time.Second, Scenarios["evictions"].Estimate(st.Scaled(1), 3))
	assert.Equal(t, 2.0, DefaultScale(st, Scenarios["evictions"]))
}

// atOf is the offset of the nth (from 1) event what of pod.
func atOf(t *testing.T, events []Event, pod, what string, nth int) float64 {
	t.Helper()
	for _, e := range events {
		if e.Pod == pod && e.What == what {
			if nth--; nth == 0 {
				return e.AtMs
			}
		}
	}
	t.Fatalf("%s has no event %s number %d: %v", pod, what, nth, whatOf(events, pod))
	return 0
}

func countOf(events []Event, pod, what string) int {
	n := 0
	for _, e := range events {
		if e.Pod == pod && e.What == what {
			n++
		}
	}
	return n
}

// waitEvents waits (bounded) until cond holds of the events.
func waitEvents(t *testing.T, o *Orchestrator, cond func([]Event) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, o.waitFor(ctx, func() bool { return cond(o.Events()) }))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// A pod whose readiness probe fails FailureThreshold times leaves the
// endpoints; a propagation allowance later its target drains, and the
// deregistration delay after that it is removed. When the probe passes
// again, the pod comes back the way a new pod does: a new target, a
// propagation allowance after the pass, Ready once the ALB's initial
// check passed.
func TestNotReadyTakesTheTargetOutAndReadyPutsANewOneIn(t *testing.T) {
	d := &fakeDriver{}
	o := newOrch(t, d, 3)
	require.NoError(t, o.Up(context.Background(), "v1"))
	d.setSick(true, "auth-1")
	waitEvents(t, o, func(ev []Event) bool { return countOf(ev, "auth-1", "deregister") == 1 })
	assert.False(t, o.pdbAllows(), "the PDB counts a NotReady pod as unavailable")
	d.setSick(false, "auth-1")
	waitEvents(t, o, func(ev []Event) bool { return countOf(ev, "auth-1", EvReady) == 2 })
	assert.True(t, o.pdbAllows())

	events := o.Events()
	assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady,
		EvNotReady, "drain", "deregister", EvContainersReady, EvRegister, EvReady}, whatOf(events, "auth-1"))
	assert.GreaterOrEqual(t, atOf(t, events, "auth-1", "drain", 1)-atOf(t, events, "auth-1", EvNotReady, 1), ms(quick.Propagation),
		"the target drains a propagation allowance after the pod turned NotReady")
	assert.GreaterOrEqual(t, atOf(t, events, "auth-1", "deregister", 1)-atOf(t, events, "auth-1", "drain", 1), ms(quick.DeregistrationDelay),
		"and is removed once the deregistration delay is over")
	assert.GreaterOrEqual(t, atOf(t, events, "auth-1", EvRegister, 2)-atOf(t, events, "auth-1", EvContainersReady, 2), ms(quick.Propagation),
		"a pod Ready again is registered a propagation allowance later, as a new pod is")
	lines := d.lines()
	assert.Contains(t, lines, "drain auth-1")
	assert.Contains(t, lines, "deregister auth-1")
	assert.Contains(t, lines, "register auth-1-r2", "a new target, not the draining one")
	for _, pod := range []string{"auth-2", "auth-3"} {
		assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady}, whatOf(events, pod), "%s is untouched", pod)
	}
}

// When a failure every pod shares fails every readiness probe, every
// target is drained: the target group has none left. This is the outage
// the issue describes; the ALB's fail-open does not apply, since it
// covers registered targets only (TestNoRegisteredTargetAnswers503).
func TestEveryPodNotReadyDrainsEveryTarget(t *testing.T) {
	d := &fakeDriver{}
	o := newOrch(t, d, 3)
	require.NoError(t, o.Up(context.Background(), "v1"))
	pods := []string{"auth-1", "auth-2", "auth-3"}
	d.setSick(true, pods...)
	waitEvents(t, o, func(ev []Event) bool {
		return countOf(ev, "auth-1", "deregister")+countOf(ev, "auth-2", "deregister")+countOf(ev, "auth-3", "deregister") == 3
	})
	ready, _ := o.available()
	assert.Equal(t, 0, ready)
	d.setSick(false, pods...)
	waitEvents(t, o, func(ev []Event) bool {
		return countOf(ev, "auth-1", EvReady)+countOf(ev, "auth-2", EvReady)+countOf(ev, "auth-3", EvReady) == 6
	})
	for _, pod := range pods {
		assert.Equal(t, []string{EvStart, EvContainersReady, EvRegister, EvReady,
			EvNotReady, "drain", "deregister", EvContainersReady, EvRegister, EvReady}, whatOf(o.Events(), pod))
	}
}

// A pod that turns NotReady while its target is still in the ALB's
// initial check never turns Ready: the registration is withdrawn, the
// target drained and removed.
func TestNotReadyDuringTheInitialCheckWithdrawsTheRegistration(t *testing.T) {
	d := &fakeDriver{holdRegistration: true}
	o := newOrch(t, d, 1)
	ps := o.newPod("zone-a", "v1")
	require.NoError(t, d.StartPod(context.Background(), ps.pod))
	o.watch(ps, 0)
	waitEvents(t, o, func(ev []Event) bool { return countOf(ev, "auth-1", EvRegister) == 1 })
	d.setSick(true, "auth-1")
	waitEvents(t, o, func(ev []Event) bool { return countOf(ev, "auth-1", "deregister") == 1 })
	assert.Equal(t, []string{EvContainersReady, EvRegister, EvNotReady, "drain", "deregister"}, whatOf(o.Events(), "auth-1"))
	lines := d.lines()
	for _, line := range []string{"register auth-1", "withdrawn auth-1", "drain auth-1", "deregister auth-1"} {
		assert.Contains(t, lines, line)
	}
	ready, _ := o.available()
	assert.Equal(t, 0, ready)
}
