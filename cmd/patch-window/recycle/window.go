package recycle

import (
	"fmt"
	"time"
)

// Window is a maintenance window that recurs every day or every week, in
// UTC minutes after midnight (daily) or after Sunday 00:00 (weekly), the
// numbers components/timewindow parses from the stack's patchWindow. End
// may be below Start: the window then runs past midnight (or Saturday).
type Window struct {
	Weekly     bool
	Start, End int
}

// period is the window's recurrence in minutes.
func (w Window) period() int {
	if w.Weekly {
		return 7 * 24 * 60
	}
	return 24 * 60
}

// Check refuses a window outside its period or empty.
func (w Window) Check() error {
	p := w.period()
	if w.Start < 0 || w.Start >= p || w.End < 0 || w.End >= p || w.Start == w.End {
		return fmt.Errorf("window %d-%d: want two different minutes in [0, %d)", w.Start, w.End, p)
	}
	return nil
}

// minute is t's minute within the period, and the seconds past it.
func (w Window) minute(t time.Time) (int, time.Duration) {
	t = t.UTC()
	m := t.Hour()*60 + t.Minute()
	if w.Weekly {
		m += int(t.Weekday()) * 24 * 60
	}
	return m, time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
}

// Remaining is how long the window stays open after t; 0 when t is
// outside it.
func (w Window) Remaining(t time.Time) time.Duration {
	m, past := w.minute(t)
	p := w.period()
	into := (m - w.Start + p) % p // minutes since the window opened
	length := (w.End - w.Start + p) % p
	if into >= length {
		return 0
	}
	return time.Duration(length-into)*time.Minute - past
}

// Contains tells whether t is inside the window.
func (w Window) Contains(t time.Time) bool { return w.Remaining(t) > 0 }
