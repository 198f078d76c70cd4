package password

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/limits"
)

// HashCPUShare is the share of the container's CPU limit that password
// hashing may use on average; the rest is for everything else, token
// validation first. A hash saturates a core while it runs, so on a
// 0.5 vCPU pod (a CFS quota of 50 ms per 100 ms) back-to-back hashes spend
// the whole quota and the kernel then stops every thread of the container
// until the next period: validations wait behind logins they never touch
// (review M2: validation p99 10 → 189 ms under a login flood). Resting a
// slot after each hash keeps hashing under this share, so the quota always
// has room for validation. The price is login capacity: half of what the
// CPU could hash (README, "Load shedding").
const HashCPUShare = 0.5

// MaxWait is the longest a login waits for a hashing slot. A login whose
// queue would take longer is refused at once, and one that waited this
// long is refused then: 503 with Retry-After, well inside the request
// timeout, instead of a wait up to it (review M2: p50 13 s under 400
// parallel logins).
const MaxWait = 2 * time.Second

// MaxWaiting bounds the logins waiting for a hashing slot whatever the
// estimate says (before the first hash has been measured, or when hashes
// got suddenly cheaper), so a login flood keeps this pod's queue, its
// memory and its readiness bounded.
const MaxWaiting = 64

// ErrBusy means the hashing queue is full: the login is refused without
// being judged. Errors wrapping it carry the wait (RetryAfter).
var ErrBusy = errors.New("password: hashing capacity exceeded")

// BusyError is ErrBusy with the wait the caller would have had.
type BusyError struct{ Wait time.Duration }

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v (queue ~%s)", ErrBusy, e.Wait.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrBusy) hold.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// RetryAfter is how long a caller refused with ErrBusy should wait: the
// queue's expected length when it was refused.
func RetryAfter(err error) time.Duration {
	var b *BusyError
	if errors.As(err, &b) {
		return b.Wait
	}
	return 0
}

// Gate admits password hashes: at most slots at once, each slot resting
// after a hash so that the slots together average cores, waiters served in
// arrival order, and a hash refused when its wait would exceed MaxWait.
type Gate struct {
	slots      int
	cores      float64
	maxWait    time.Duration
	maxWaiting int
	now        func() time.Time
	cpu        func() time.Duration        // the process's CPU time so far
	after      func(time.Duration, func()) // runs f after d (tests: at once)

	mu       sync.Mutex
	free     int
	admitted int       // tickets not yet in the queue
	queue    list.List // of *waiter
	hold     time.Duration
}

type waiter struct {
	ready   chan struct{}
	granted bool
}

// NewGate sizes a gate for a container with cpu cores and a Go memory
// limit of memLimit bytes (0: none). Hashing gets HashCPUShare of the
// CPU; its slots are that many cores rounded up (one per core hashing
// needs), and at most as many MaxMemoryKiB hashes as fit in half the
// memory limit, at least one.
func NewGate(cpu float64, memLimit int64) *Gate {
	cores := HashCPUShare * cpu
	slots := max(1, int(math.Ceil(cores)))
	if memLimit > 0 {
		slots = max(1, min(slots, int(memLimit/2/(MaxMemoryKiB<<10))))
	}
	return &Gate{slots: slots, cores: cores, free: slots, maxWait: MaxWait, maxWaiting: MaxWaiting, now: time.Now,
		cpu: processCPU, after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// processCPU is the process's user and system CPU time; 0 if unknown.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gate is the process's, sized from its cgroup and its Go memory limit
// (GOMEMLIMIT, which the Deployment derives from the container's memory
// limit; the cgroup's limit when it is not set).
var gate = NewGate(limits.Read().CPUOrHost(), memoryLimit())

func memoryLimit() int64 {
	if l := debug.SetMemoryLimit(-1); l < math.MaxInt64 {
		return l
	}
	return limits.Read().MemoryBytes
}

// Capacity is the process's hashing capacity: its slots and the cores
// they may use on average (for the start-up log and the README).
func Capacity() (slots int, cores float64) { return gate.slots, gate.cores }

// Ticket is a login's place in the process's hashing queue, taken when the
// login starts, before it costs a Redis or database round trip, so that a
// burst of logins is judged against the queue it will form, not against
// the hashes already waiting. Its Verify hashes in that place; Release
// gives the place back unused.
type Ticket struct {
	g    *Gate
	used bool // under g.mu
}

// Admit takes a place in the process's hashing queue, or refuses with
// ErrBusy (and the wait it would have had) when the queue in front would
// take longer than MaxWait.
func Admit() (*Ticket, error) { return gate.Admit() }

// Admit takes a place in g's queue.
func (g *Gate) Admit() (*Ticket, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if wait, busy := g.busy(); busy {
		return nil, &BusyError{Wait: wait}
	}
	g.admitted++
	return &Ticket{g: g}, nil
}

// Release gives the place back if Verify did not use it; it may be called
// more than once (defer it).
func (t *Ticket) Release() {
	t.g.mu.Lock()
	defer t.g.mu.Unlock()
	t.leave()
}

// leave drops the place; under g.mu.
func (t *Ticket) leave() {
	if !t.used {
		t.used = true
		t.g.admitted--
	}
}

// Verify is Verify in the ticket's place: admitted already, it is not
// refused for the queue's length, only after MaxWait in it.
func (t *Ticket) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	return verify(ctx, t.g, t, pw, encoded)
}

// Busy tells whether a hash asked for now would be refused by the
// process's gate, and the wait it would have had: a check that reserves
// nothing, so a login can be refused before it costs anything else while
// the queue is full.
func Busy() (time.Duration, bool) { return gate.Busy() }

// Busy tells whether a hash asked for now would be refused, and the wait
// it would have had.
func (g *Gate) Busy() (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.busy()
}

// busy is Busy under g.mu: the logins admitted and waiting are ahead; a
// free slot serves one at once, the rest share the slots' holds.
func (g *Gate) busy() (time.Duration, bool) {
	ahead := g.admitted + g.queue.Len()
	if ahead < g.free {
		return 0, false
	}
	wait := time.Duration(ahead-g.free+1) * g.hold / time.Duration(g.slots)
	return wait, wait > g.maxWait || ahead >= g.maxWaiting
}

// Run runs work, a hash over lanes threads, in a slot: it waits for one
// (at most MaxWait, refused at once with ErrBusy when the queue would take
// longer, or with ctx's error), then keeps the slot after work for as long
// as it takes to bring the slots' average use down to the gate's cores.
func (g *Gate) Run(ctx context.Context, lanes int, work func()) error {
	return g.run(ctx, nil, lanes, work)
}

func (g *Gate) run(ctx context.Context, t *Ticket, lanes int, work func()) error {
	if err := g.acquire(ctx, t); err != nil {
		return err
	}
	start, cpuStart := g.now(), g.cpu()
	work()
	ran, cpu := g.now().Sub(start), g.cpu()-cpuStart
	// The hash's cost is the CPU it used: its wall time over its lanes
	// (parallel on at most GOMAXPROCS threads), or the process's CPU time
	// meanwhile when that is less. Wall time alone would count the time
	// the pod was throttled or its host busy with others, and rest the
	// slot for CPU the pod never used. The process's CPU time includes
	// whatever else ran meanwhile: an overestimate, the side to err on.
	cost := time.Duration(float64(ran) * float64(min(max(1, lanes), runtime.GOMAXPROCS(0))))
	if cpu > 0 && cpu < cost {
		cost = cpu
	}
	hold := max(time.Duration(float64(cost)*float64(g.slots)/g.cores), ran)
	g.mu.Lock()
	if g.hold == 0 {
		g.hold = hold
	} else {
		g.hold = (3*g.hold + hold) / 4
	}
	g.mu.Unlock()
	if rest := hold - ran; rest > 0 {
		g.after(rest, g.release)
	} else {
		g.release()
	}
	return nil
}

// acquire waits for a slot. A ticket's place turns into the wait; without
// one, the wait is refused at once when busy.
func (g *Gate) acquire(ctx context.Context, t *Ticket) error {
	g.mu.Lock()
	admitted := t != nil && !t.used
	if t != nil {
		t.leave()
	}
	if g.free > 0 && g.queue.Len() == 0 {
		g.free--
		g.mu.Unlock()
		return nil
	}
	if !admitted {
		if wait, busy := g.busy(); busy {
			g.mu.Unlock()
			return &BusyError{Wait: wait}
		}
	}
	w := &waiter{ready: make(chan struct{})}
	elem := g.queue.PushBack(w)
	g.mu.Unlock()

	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-timer.C:
		err = &BusyError{Wait: g.maxWait}
	case <-ctx.Done():
		err = fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	}
	g.mu.Lock()
	granted := w.granted
	if !granted {
		g.queue.Remove(elem)
	}
	g.mu.Unlock()
	if granted {
		// The slot came as the wait ended: keep it unless the caller left.
		if ctx.Err() == nil {
			return nil
		}
		g.release()
	}
	return err
}

// release hands the slot to the first waiter, or frees it.
func (g *Gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if front := g.queue.Front(); front != nil {
		w := g.queue.Remove(front).(*waiter)
		w.granted = true
		close(w.ready)
		return
	}
	g.free++
}
