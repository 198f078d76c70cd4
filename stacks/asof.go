package stacks

import (
	"time"

	"github.com/authplatform/auth-platform/components/cache"
	"github.com/authplatform/auth-platform/components/cluster"
)

// StaleAfterMonths is how old a hard-coded list of what AWS offers may get
// before a test fails and asks for it to be read again. Four months is one
// Kubernetes release cycle (three minors a year, Kubernetes KEP-2572), the
// fastest cadence among these lists: a calendar older than that has likely
// missed a minor, and then the default (the newest minor in standard
// support) is wrong. ElastiCache shipped Valkey 8.0 to 9.1, five versions,
// in about two years, so four months also catches most of its releases.
// The slower lists (log retentions, checker regions) share the rule: one
// rule, and reading them again is cheap.
const StaleAfterMonths = 4

// ReadList is a hard-coded list of what AWS offers, where AWS has no lookup
// the stack could ask instead (or where the list is needed before any
// lookup runs): when it was read, and where.
type ReadList struct {
	Name   string // where the list lives
	AsOf   string // YYYY-MM-DD, the day it was read from Source
	Source string
}

// StaleOn reports whether the list was read more than StaleAfterMonths
// before day.
func (l ReadList) StaleOn(day time.Time) (bool, error) {
	asOf, err := time.Parse(time.DateOnly, l.AsOf)
	if err != nil {
		return false, err
	}
	return day.After(asOf.AddDate(0, StaleAfterMonths, 0)), nil
}

// Days the lists of this package were read: the days they were written
// (commits 3b76ecc and d142e12), from the sources in ReadLists.
const (
	logRetentionDaysAsOf     = "2026-12-01"
	healthCheckerRegionsAsOf = "2026-11-22"
	globalNodeFamilyAsOf     = "2026-11-22"
)

// ReadLists are the hard-coded lists of what AWS offers. Where a lookup
// exists, the preflight asks it too (stacks/preflight.go), and the list
// only refuses earlier or chooses a default.
var ReadLists = []ReadList{
	{"components/cluster.Calendar (EKS Kubernetes release calendar; DefaultVersion follows it)", cluster.CalendarAsOf,
		"https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (and cluster.CalendarSources)"},
	{"components/cache.ValkeyVersions (ElastiCache has no engine-version lookup in pulumi-aws v6)", cache.ValkeyVersionsAsOf,
		"https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/engine-versions.html"},
	{"stacks.logRetentionDays (CloudWatch Logs retention periods)", logRetentionDaysAsOf,
		"https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html"},
	{"stacks.healthCheckerRegions (Route 53 health checker regions)", healthCheckerRegionsAsOf,
		"https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html (Regions)"},
	{"stacks.globalNodeFamily (node families Global Datastore accepts)", globalNodeFamilyAsOf,
		"https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Redis-Global-Datastores-Getting-Started.html (prerequisites and limitations)"},
}
