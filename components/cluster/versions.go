package cluster

import (
	"fmt"
	"strings"
	"time"
)

// KubernetesRelease is one row of the EKS Kubernetes release calendar.
type KubernetesRelease struct {
	Minor string // "1.35"
	// EKSRelease, EndOfStandardSupport and EndOfExtendedSupport are UTC
	// days. Extended support bills from the first day past standard
	// support; past extended support EKS creates no cluster of the version.
	EKSRelease, EndOfStandardSupport, EndOfExtendedSupport string
}

// CalendarAsOf is the day the calendar below was last checked against its
// sources.
const CalendarAsOf = "2026-12-07"

// CalendarSources are where the calendar's dates come from.
var CalendarSources = []string{
	// Table "Amazon EKS Kubernetes release calendar" (1.29-1.34 rows).
	"https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html",
	// 1.35 row: not yet in the stored copy of the user guide's table.
	"https://endoflife.date/amazon-eks",
	// 1.36 row: "Kubernetes 1.36 is now available in Amazon EKS" (undated
	// copy); release 2026-06-02 and end of standard support 2027-08-02 from
	// a secondary source (devopsdreams.blogspot.com, 2026-08-16), which the
	// EKS lifecycle (14 months standard, 12 more extended) confirms
	// (shared/notes/anchors-and-user-asks.md, "Versions").
	"https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions-standard.html",
}

// Calendar is the EKS Kubernetes release calendar, newest first. It is the
// one statement of the version policy: the default below, the preflight's
// warnings (stacks/preflight.go) and the README's version section read it.
// A minor that is not listed yet is accepted when EKS offers it, with a
// warning to add its row here.
var Calendar = []KubernetesRelease{
	{"1.36", "2026-06-02", "2027-08-02", "2028-08-02"},
	{"1.35", "2026-01-28", "2027-03-27", "2028-03-27"},
	{"1.34", "2025-10-02", "2026-12-02", "2027-12-02"},
	{"1.33", "2025-05-29", "2026-07-29", "2027-07-29"},
	{"1.32", "2025-01-23", "2026-03-23", "2027-03-23"},
	{"1.31", "2024-09-26", "2025-11-26", "2026-11-26"},
	{"1.30", "2024-05-23", "2025-07-23", "2026-07-23"},
}

// DefaultVersion follows the project's one rule for it: the newest minor
// in EKS standard support, today. A test holds it to the calendar on the
// day the tests run, so it fails when a newer row is added or when this
// minor leaves standard support, whichever comes first.
const DefaultVersion = "1.36"

// Support is where a version stands on a given day.
type Support string

// Support states, named like EKS' DescribeClusterVersions status.
const (
	StandardSupport Support = "STANDARD_SUPPORT"
	ExtendedSupport Support = "EXTENDED_SUPPORT"
	Unsupported     Support = "UNSUPPORTED"
)

// Release returns the calendar row of a minor version.
func Release(minor string) (KubernetesRelease, bool) {
	for _, r := range Calendar {
		if r.Minor == minor {
			return r, true
		}
	}
	return KubernetesRelease{}, false
}

// SupportOn tells where the release stands on day (only its date counts).
func (r KubernetesRelease) SupportOn(day time.Time) Support {
	d := day.UTC().Format(time.DateOnly)
	switch {
	case d <= r.EndOfStandardSupport:
		return StandardSupport
	case d <= r.EndOfExtendedSupport:
		return ExtendedSupport
	}
	return Unsupported
}

// NewestInStandardSupport is the newest calendar minor in standard support
// on day.
func NewestInStandardSupport(day time.Time) (string, error) {
	for _, r := range Calendar {
		if r.SupportOn(day) == StandardSupport && r.EKSRelease <= day.UTC().Format(time.DateOnly) {
			return r.Minor, nil
		}
	}
	return "", fmt.Errorf("no calendar version is in standard support on %s: update components/cluster/versions.go", day.Format(time.DateOnly))
}

// StandardSupportMinors lists the calendar minors in standard support on
// day, newest first, for messages.
func StandardSupportMinors(day time.Time) string {
	var out []string
	for _, r := range Calendar {
		if r.SupportOn(day) == StandardSupport && r.EKSRelease <= day.UTC().Format(time.DateOnly) {
			out = append(out, r.Minor)
		}
	}
	return strings.Join(out, ", ")
}
