// Package zones is the one place that knows which availability zones a
// regional platform may span. Zones are chosen by zone ID: a zone name
// ("us-east-1a") maps to a different physical zone in every account, a zone
// ID ("use1-az1") names the same one everywhere, and EKS refuses subnets in
// some zone IDs.
package zones

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/authplatform/auth-platform/components/naming"
)

// EKSUnsupported are the zone IDs whose subnets EKS refuses for a cluster
// (CreateCluster: UnsupportedAvailabilityZoneException), by region.
//
// Source: Amazon EKS User Guide, "View Amazon EKS networking requirements
// for VPC and subnets" (awsdocs/amazon-eks-user-guide,
// latest/ug/networking/network-reqs.adoc): "The subnets can't reside in the
// following Availability Zones: us-east-1 use1-az3, us-west-1 usw1-az2,
// ca-central-1 cac1-az3". Checked 2026-12-01.
var EKSUnsupported = map[string]string{
	"use1-az3": "us-east-1",
	"usw1-az2": "us-west-1",
	"cac1-az3": "ca-central-1",
}

// UnsupportedIDs lists EKSUnsupported's IDs, sorted: the lookup's
// ExcludeZoneIds (AWS ignores IDs of other regions).
func UnsupportedIDs() []string {
	ids := make([]string, 0, len(EKSUnsupported))
	for id := range EKSUnsupported {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Supported reports whether EKS accepts subnets in the zone ID.
func Supported(id string) bool { _, bad := EKSUnsupported[id]; return !bad }

// IDPrefix is the part of a region's zone IDs before "-az<n>": "use1" for
// us-east-1, "apse2" for ap-southeast-2, "usgw1" for us-gov-west-1.
func IDPrefix(region string) string {
	switch region {
	case "us-gov-west-1":
		return "usgw1"
	case "us-gov-east-1":
		return "usge1"
	}
	return naming.RegionCode(region)
}

var idPattern = regexp.MustCompile(`^([a-z]+[0-9]+)-az([0-9]+)$`)

// OfRegion reports whether id is shaped like a zone ID of region.
func OfRegion(id, region string) bool {
	m := idPattern.FindStringSubmatch(id)
	return m != nil && m[1] == IDPrefix(region)
}

// Zone is one availability zone as this account sees it.
type Zone struct {
	Name string // "us-east-1a": this account's name for it
	ID   string // "use1-az4": the same physical zone in every account
}

// Zip pairs the aligned names and zone IDs of a zone lookup.
func Zip(names, ids []string) ([]Zone, error) {
	if len(names) != len(ids) {
		return nil, fmt.Errorf("zone lookup returned %d names but %d zone IDs", len(names), len(ids))
	}
	out := make([]Zone, len(names))
	for i := range names {
		out[i] = Zone{Name: names[i], ID: ids[i]}
	}
	return out, nil
}

// ByID sorts zones by zone ID, numerically ("use1-az2" before
// "use1-az10"), so that an unpinned stack spans the same physical zones in
// every account.
func ByID(zs []Zone) []Zone {
	out := append([]Zone(nil), zs...)
	sort.SliceStable(out, func(i, j int) bool {
		return idNumber(out[i].ID) < idNumber(out[j].ID) ||
			(idNumber(out[i].ID) == idNumber(out[j].ID) && out[i].ID < out[j].ID)
	})
	return out
}

func idNumber(id string) int {
	if m := idPattern.FindStringSubmatch(id); m != nil {
		n, _ := strconv.Atoi(m[2])
		return n
	}
	return 1 << 30
}

// Describe renders zones for a message: "us-east-1a (use1-az4), …".
func Describe(zs []Zone) string {
	parts := make([]string, len(zs))
	for i, z := range zs {
		parts[i] = z.Name + " (" + z.ID + ")"
	}
	return strings.Join(parts, ", ")
}

// IDs returns the zone IDs of zs in order.
func IDs(zs []Zone) []string {
	out := make([]string, len(zs))
	for i, z := range zs {
		out[i] = z.ID
	}
	return out
}

// Names returns the zone names of zs in order.
func Names(zs []Zone) []string {
	out := make([]string, len(zs))
	for i, z := range zs {
		out[i] = z.Name
	}
	return out
}
