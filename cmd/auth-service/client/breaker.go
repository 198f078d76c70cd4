package client

import (
	"sync"
	"sync/atomic"
	"time"
)

// breaker fails a call fast after BreakerFailures consecutive failed
// attempts: open for openFor, then half-open, letting one probe through;
// the probe's success closes it, its failure opens it again for twice as
// long (up to maxOpen). A 401 or any other answer of the service is a
// success: only "could not answer" counts, so a flood of bad tokens
// cannot open it.
type breaker struct {
	now       *func() time.Time
	threshold int
	base, max time.Duration

	mu       sync.Mutex
	st       breakerState
	failures int
	openedAt time.Time
	openFor  time.Duration
	probing  bool

	opens atomic.Int64
}

type breakerState int

const (
	closed breakerState = iota
	open
	halfOpen
)

func (s breakerState) String() string {
	return [...]string{"closed", "open", "half-open"}[s]
}

func newBreaker(cfg Config, now *func() time.Time) *breaker {
	return &breaker{now: now, threshold: cfg.BreakerFailures, base: cfg.BreakerOpenFor, max: cfg.BreakerMaxOpen, openFor: cfg.BreakerOpenFor}
}

// allow tells whether an attempt may go: always when closed; when open,
// only once openFor has passed, and then as the one probe.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.st {
	case open:
		if (*b.now)().Sub(b.openedAt) < b.openFor {
			return false
		}
		b.st, b.probing = halfOpen, true
		return true
	case halfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return true
}

// record counts an attempt's outcome.
func (b *breaker) record(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.st, b.failures, b.probing, b.openFor = closed, 0, false, b.base
		return
	}
	switch b.st {
	case halfOpen:
		b.openFor = min(2*b.openFor, b.max)
		b.trip()
	case closed:
		b.failures++
		if b.failures >= b.threshold {
			b.trip()
		}
	}
}

func (b *breaker) trip() {
	b.st, b.openedAt, b.probing, b.failures = open, (*b.now)(), false, 0
	b.opens.Add(1)
}

func (b *breaker) state() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st.String()
}
