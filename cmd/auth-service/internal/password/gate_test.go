package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock moves only when work says so; rests are recorded, not slept.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	cpu   time.Duration // the process's CPU time; work advances it as the wall clock unless told otherwise
	rests []time.Duration
	later []func()
}

func (c *fakeClock) cpuTime() time.Duration { c.mu.Lock(); defer c.mu.Unlock(); return c.cpu }

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) advance(d time.Duration) { c.advanceCPU(d, d) }

// advanceCPU moves the wall clock by wall and the process's CPU time by cpu.
func (c *fakeClock) advanceCPU(wall, cpu time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(wall)
	c.cpu += cpu
	c.mu.Unlock()
}

func (c *fakeClock) after(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rests = append(c.rests, d)
	c.later = append(c.later, f)
}

// runLater runs the recorded rests' ends.
func (c *fakeClock) runLater() {
	c.mu.Lock()
	later := c.later
	c.later = nil
	c.mu.Unlock()
	for _, f := range later {
		f()
	}
}

func fakeGate(cpu float64, memLimit int64) (*Gate, *fakeClock) {
	g := NewGate(cpu, memLimit)
	c := &fakeClock{t: time.Unix(0, 0)}
	g.now, g.cpu, g.after = c.now, c.cpuTime, c.after
	return g, c
}

func TestNewGateSizesHashingToTheContainer(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name      string
		cpu       float64
		memLimit  int64
		wantSlots int
		wantCores float64
	}{
		{"the default pod, 0.5 vCPU, GOMEMLIMIT 576 MiB", 0.5, 576 * mib, 1, 0.25},
		{"a 2-core laptop with no limits", 2, 0, 1, 1},
		{"4 vCPU", 4, 0, 2, 2},
		{"16 vCPU held to what half of 576 MiB holds at 64 MiB a hash", 16, 576 * mib, 4, 8},
		{"a memory limit too small for one bound hash still gets one slot", 4, 64 * mib, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGate(tc.cpu, tc.memLimit)
			assert.Equal(t, tc.wantSlots, g.slots)
			assert.Equal(t, tc.wantCores, g.cores)
			assert.Equal(t, tc.wantSlots, g.free)
		})
	}
}

// A hash holds its slot for its run time scaled by lanes × slots / cores,
// so that the slots average the gate's cores: on the default pod (1 slot,
// 0.25 cores) a 30 ms hash rests 90 ms.
func TestASlotRestsAfterAHashSoHashingAveragesItsShare(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cpu      float64
		lanes    int
		ran      time.Duration
		wantRest time.Duration
	}{
		{"0.5 vCPU, one lane", 0.5, 1, 30 * time.Millisecond, 90 * time.Millisecond},
		{"0.5 vCPU, two lanes (on two threads)", 0.5, 2, 30 * time.Millisecond, 210 * time.Millisecond},
		{"2 cores: one slot that may use a whole core never rests", 2, 1, 30 * time.Millisecond, 0},
		{"4 vCPU: two slots over two cores never rest", 4, 1, 30 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, c := fakeGate(tc.cpu, 0)
			if tc.lanes > runtime.GOMAXPROCS(0) {
				// Lanes share the threads there are: a 1-thread host runs them one after the other.
				tc.wantRest = time.Duration(float64(tc.ran)*float64(runtime.GOMAXPROCS(0))*float64(g.slots)/g.cores) - tc.ran
			}
			threads := time.Duration(min(tc.lanes, runtime.GOMAXPROCS(0)))
			require.NoError(t, g.Run(context.Background(), tc.lanes, func() { c.advanceCPU(tc.ran, tc.ran*threads) }))
			if tc.wantRest == 0 {
				assert.Empty(t, c.rests)
				assert.Equal(t, g.slots, g.free, "released at once")
				return
			}
			assert.Equal(t, []time.Duration{tc.wantRest}, c.rests)
			assert.Equal(t, g.slots-1, g.free, "the slot is held while it rests")
			c.runLater()
			assert.Equal(t, g.slots, g.free, "and free after")
			assert.Equal(t, tc.ran+tc.wantRest, g.hold, "the hold is measured for the queue's estimate")
		})
	}
}

// A hash is charged the CPU it used, not the wall time: one that waited
// for the CPU (a throttled pod, a busy host) rests no longer than the CPU
// it burned asks for; the process's CPU time bounds the charge, never
// raises it.
func TestAHashIsChargedItsCPUNotTheTimeItWaited(t *testing.T) {
	for _, tc := range []struct {
		name      string
		wall, cpu time.Duration
		wantRest  time.Duration
	}{
		{"30 ms of CPU in 30 ms", 30 * time.Millisecond, 30 * time.Millisecond, 90 * time.Millisecond},
		{"30 ms of CPU in 100 ms (throttled)", 100 * time.Millisecond, 30 * time.Millisecond, 20 * time.Millisecond},
		{"30 ms of CPU in 1 s (a busy host): no rest", time.Second, 30 * time.Millisecond, 0},
		{"more process CPU than the lane could use: the wall time", 30 * time.Millisecond, 80 * time.Millisecond, 90 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, c := fakeGate(0.5, 0)
			require.NoError(t, g.Run(context.Background(), 1, func() { c.advanceCPU(tc.wall, tc.cpu) }))
			if tc.wantRest == 0 {
				assert.Empty(t, c.rests)
				return
			}
			assert.Equal(t, []time.Duration{tc.wantRest}, c.rests)
		})
	}
}

// Waiters get the slot in the order they came.
func TestWaitersAreServedInArrivalOrder(t *testing.T) {
	g, _ := fakeGate(0.5, 0)
	g.after = func(_ time.Duration, f func()) { f() }
	block := make(chan struct{})
	first := make(chan struct{})
	go func() {
		_ = g.Run(context.Background(), 1, func() { close(first); <-block })
	}()
	<-first
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, g.Run(context.Background(), 1, func() { mu.Lock(); order = append(order, i); mu.Unlock() }))
		}()
		waitQueue(t, g, i+1) // queued before the next one comes
	}
	close(block)
	wg.Wait()
	assert.Equal(t, []int{0, 1, 2}, order)
	assert.Equal(t, 1, g.free)
}

func waitQueue(t *testing.T, g *Gate, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.queue.Len() == n
	}, 10*time.Second, time.Millisecond)
}

// A login whose queue would outlast MaxWait is refused at once, with the
// wait it would have had; so is one past MaxWaiting whatever the estimate.
func TestAHashIsRefusedAtOnceWhenItsQueueWouldOutlastMaxWait(t *testing.T) {
	for _, tc := range []struct {
		name     string
		waiting  int
		hold     time.Duration
		refused  bool
		wantWait time.Duration
	}{
		{"3 waiting at 500 ms a hold: the 4th waits 2 s, which MaxWait allows", 3, 500 * time.Millisecond, false, 2 * time.Second},
		{"3 waiting at 600 ms a hold: the 4th would wait 2.4 s", 3, 600 * time.Millisecond, true, 2400 * time.Millisecond},
		{"MaxWaiting waiting, hashes not measured yet", MaxWaiting, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := fakeGate(0.5, 0)
			g.free, g.hold = 0, tc.hold
			for range tc.waiting {
				g.queue.PushBack(&waiter{ready: make(chan struct{})})
			}
			wait, busy := g.Busy()
			assert.Equal(t, tc.refused, busy)
			assert.Equal(t, tc.wantWait, wait)
			if !tc.refused {
				return
			}
			ran := false
			err := g.Run(context.Background(), 1, func() { ran = true })
			require.ErrorIs(t, err, ErrBusy)
			assert.Equal(t, tc.wantWait, RetryAfter(err))
			assert.False(t, ran)
			assert.Equal(t, tc.waiting, g.queue.Len(), "a refused hash does not queue")
		})
	}
}

// A waiter that gets no slot within MaxWait gives up with ErrBusy; one
// whose caller left gives up with the context's error; neither stays in
// the queue, and the slot comes back when its holder releases it.
func TestAWaiterLeavesTheQueueOnMaxWaitOrCancel(t *testing.T) {
	g, _ := fakeGate(0.5, 0)
	g.maxWait = 20 * time.Millisecond
	g.free = 0 // held by a hash in progress
	err := g.Run(context.Background(), 1, func() { t.Error("ran without a slot") })
	require.ErrorIs(t, err, ErrBusy)
	assert.Equal(t, g.maxWait, RetryAfter(err))
	assert.Zero(t, g.queue.Len())

	g.maxWait = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx, 1, func() { t.Error("ran without a slot") }) }()
	waitQueue(t, g, 1)
	cancel()
	err = <-done
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, errors.Is(err, ErrBusy))
	assert.Zero(t, g.queue.Len())

	g.release()
	assert.Equal(t, 1, g.free)
}

// The process's gate carries the hashes of this package.
func TestHashesRunThroughTheProcesssGate(t *testing.T) {
	slots, cores := Capacity()
	assert.GreaterOrEqual(t, slots, 1)
	assert.Greater(t, cores, 0.0)
	gate.mu.Lock()
	hold := gate.hold
	gate.mu.Unlock()
	assert.Positive(t, hold, "DummyHash, computed at start, measured a hash")
}

// A login takes its place when it starts (Admit), so a burst is judged
// against the queue it forms: on the default pod with 500 ms holds, five
// logins fit in MaxWait and the sixth is refused at once; a place given
// back lets the next one in.
func TestAdmittedLoginsHoldTheirPlaceInTheQueue(t *testing.T) {
	g, _ := fakeGate(0.5, 0)
	g.hold = 500 * time.Millisecond
	var tickets []*Ticket
	for {
		tk, err := g.Admit()
		if err != nil {
			require.ErrorIs(t, err, ErrBusy)
			assert.Equal(t, 2500*time.Millisecond, RetryAfter(err))
			break
		}
		tickets = append(tickets, tk)
	}
	assert.Len(t, tickets, 5)
	tickets[0].Release()
	tickets[0].Release() // twice: once counted
	assert.Equal(t, 4, g.admitted)
	_, err := g.Admit()
	require.NoError(t, err)
	_, err = g.Admit()
	require.ErrorIs(t, err, ErrBusy)
}

// An admitted login is not refused for the queue's length when it reaches
// its hash: it waits in line, and its place turns into that wait.
func TestAnAdmittedLoginWaitsInLineInsteadOfBeingRefused(t *testing.T) {
	h, err := Hash(context.Background(), "in line", fast)
	require.NoError(t, err)
	g, _ := fakeGate(0.5, 0)
	g.maxWait = 30 * time.Second
	tk, err := g.Admit()
	require.NoError(t, err)
	g.free, g.hold = 0, 10*time.Second
	for range 3 {
		g.queue.PushBack(&waiter{ready: make(chan struct{})})
	}
	_, busy := g.Busy()
	require.True(t, busy, "a login starting now would be refused")
	done := make(chan bool)
	go func() {
		ok, err := tk.Verify(context.Background(), "in line", h)
		assert.NoError(t, err)
		done <- ok
	}()
	waitQueue(t, g, 4)
	assert.Zero(t, g.admitted, "the place turned into the wait")
	for range 4 {
		g.release()
	}
	assert.True(t, <-done)
	tk.Release()
	assert.Zero(t, g.admitted)
}
