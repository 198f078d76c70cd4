// Package timewindow parses the UTC windows AWS data stores take for
// backups ("hh24:mi-hh24:mi", daily) and maintenance
// ("ddd:hh24:mi-ddd:hh24:mi", weekly), so that configuration is checked
// for format, length and overlap before anything reaches AWS.
package timewindow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

const (
	day  = 24 * 60
	week = 7 * day
)

var days = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

var (
	dailyPattern  = regexp.MustCompile(`^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$`)
	weeklyPattern = regexp.MustCompile(`^([a-z]{3}):([01]\d|2[0-3]):([0-5]\d)-([a-z]{3}):([01]\d|2[0-3]):([0-5]\d)$`)
)

// Daily is a window that recurs every day, in minutes after midnight UTC.
// End may be below Start: the window then runs past midnight.
type Daily struct{ Start, End int }

// Weekly is a window that recurs every week, in minutes after Sunday 00:00
// UTC. End may be below Start: the window then runs past Saturday midnight.
type Weekly struct{ Start, End int }

// ParseDaily reads "hh24:mi-hh24:mi".
func ParseDaily(s string) (Daily, error) {
	m := dailyPattern.FindStringSubmatch(s)
	if m == nil {
		return Daily{}, fmt.Errorf("want hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00")
	}
	w := Daily{Start: hm(m[1], m[2]), End: hm(m[3], m[4])}
	if w.Start == w.End {
		return Daily{}, fmt.Errorf("the window is empty")
	}
	return w, nil
}

// ParseWeekly reads "ddd:hh24:mi-ddd:hh24:mi" (ddd is sun..sat).
func ParseWeekly(s string) (Weekly, error) {
	m := weeklyPattern.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return Weekly{}, fmt.Errorf("want ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00")
	}
	d1, d2 := dayIndex(m[1]), dayIndex(m[4])
	if d1 < 0 || d2 < 0 {
		return Weekly{}, fmt.Errorf("days are sun, mon, tue, wed, thu, fri or sat")
	}
	w := Weekly{Start: d1*day + hm(m[2], m[3]), End: d2*day + hm(m[5], m[6])}
	if w.Start == w.End {
		return Weekly{}, fmt.Errorf("the window is empty")
	}
	return w, nil
}

// Minutes is the length of the window.
func (w Daily) Minutes() int { return ((w.End-w.Start)%day + day) % day }

// Minutes is the length of the window.
func (w Weekly) Minutes() int { return ((w.End-w.Start)%week + week) % week }

// Overlaps reports whether the daily window meets the weekly one on any day.
func Overlaps(d Daily, w Weekly) bool {
	for i := 0; i < 7; i++ {
		if intersect(i*day+d.Start, d.Minutes(), w.Start, w.Minutes()) {
			return true
		}
	}
	return false
}

// intersect compares two intervals on the circular week.
func intersect(aStart, aLen, bStart, bLen int) bool {
	// Shift a so that b starts at 0; a then meets b if it starts inside b or
	// b starts inside a.
	off := ((aStart-bStart)%week + week) % week
	return off < bLen || week-off < aLen
}

func hm(h, m string) int {
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	return hh*60 + mm
}

func dayIndex(d string) int {
	for i, x := range days {
		if x == d {
			return i
		}
	}
	return -1
}
