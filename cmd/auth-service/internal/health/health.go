// Package health says two different things.
//
// Readiness (GET /health on the traffic port: the kubelet's readiness probe
// and the ALB's health check) says whether this pod can serve: it has
// initialised (reached PostgreSQL and Redis once since it started, so a
// misconfigured pod never receives traffic), it is not shutting down, and
// it is not overloaded. A shared dependency's failure never fails it:
// every pod shares PostgreSQL and Redis, so failing readiness on their
// account would take every pod out of the load balancer at once (review
// C1), while most requests can still be served (token validation never
// touches PostgreSQL; a hung shard holds a third of the sessions).
//
// The dependencies' state is watched by a Monitor in the background, every
// Interval, each check under a deadline of its own; /health only reads the
// last result, so no request to it costs a database or Redis round trip.
// It is shown on the metrics port (the detailed /health), as the gauge
// auth_dependency_up{dependency,shard}, and in the log (event
// dependency_down on every failed check, dependency_up on recovery), which
// the stack's alarm reads.
package health

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Readiness statuses.
const (
	StatusOK           = "ok"
	StatusStarting     = "starting"
	StatusShuttingDown = "shutting_down"
	StatusOverloaded   = "overloaded"
)

// MaxBusy is the number of requests this pod may be working on at once,
// not counting the time they wait for PostgreSQL or Redis, before it calls
// itself overloaded. A request waiting on a dependency is not busy: a
// shared dependency that is slow or hung makes requests wait on every pod
// at once, and must not fail readiness everywhere. What remains is this
// pod's own CPU work (parsing, hashing passwords, encoding answers), which
// piles up only when this pod receives more than it can compute: a pod on
// a slow or throttled host, one that took more than its share of
// connections, or one stuck in garbage collection. The ALB then gives its
// share to the others. Logins are bounded separately (the password
// package's slots and password.MaxWaiting) so that a login flood alone
// cannot reach the cap.
const MaxBusy = 256

// Readiness is this pod's own state.
type Readiness struct {
	initialised atomic.Bool
	shutting    atomic.Bool
	busy        atomic.Int64
	// MaxBusy overrides the package's MaxBusy when not zero (tests).
	MaxBusy int64

	mu      sync.Mutex
	pending string // what initialisation waits for
}

// SetPending records what initialisation is waiting for (the reason shown
// while starting).
func (r *Readiness) SetPending(what string) {
	r.mu.Lock()
	r.pending = what
	r.mu.Unlock()
}

// SetInitialised marks the pod initialised, once and for good: a
// dependency lost later does not make it "starting" again.
func (r *Readiness) SetInitialised() { r.initialised.Store(true) }

// Initialised tells whether the pod has initialised.
func (r *Readiness) Initialised() bool { return r.initialised.Load() }

// SetShuttingDown makes readiness fail from now on (SIGTERM).
func (r *Readiness) SetShuttingDown() { r.shutting.Store(true) }

// ShuttingDown tells whether SetShuttingDown was called.
func (r *Readiness) ShuttingDown() bool { return r.shutting.Load() }

// Enter counts a request as busy and returns its end.
func (r *Readiness) Enter() (leave func()) {
	r.busy.Add(1)
	return func() { r.busy.Add(-1) }
}

// Wait marks the current request as waiting on a dependency until the
// returned func is called (then it is busy again).
func (r *Readiness) Wait() (back func()) {
	r.busy.Add(-1)
	return func() { r.busy.Add(1) }
}

// Busy is the number of requests busy now.
func (r *Readiness) Busy() int64 { return r.busy.Load() }

func (r *Readiness) maxBusy() int64 {
	if r.MaxBusy != 0 {
		return r.MaxBusy
	}
	return MaxBusy
}

// Status is the readiness status and why.
func (r *Readiness) Status() (status, reason string) {
	switch {
	case r.shutting.Load():
		return StatusShuttingDown, "SIGTERM received: finishing requests in flight"
	case !r.initialised.Load():
		r.mu.Lock()
		defer r.mu.Unlock()
		return StatusStarting, "initialising: " + r.pending
	}
	if n, max := r.busy.Load(), r.maxBusy(); n > max {
		return StatusOverloaded, fmt.Sprintf("%d requests busy on this pod, more than %d", n, max)
	}
	return StatusOK, "initialised, serving"
}
