package stacks

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/lbcontroller"
	"github.com/authplatform/auth-platform/components/network"
)

// zoneCount is how many zones the stack runs in: the pinned ones (by ID or
// by name), else azCount.
func (c *Config) zoneCount() (n int, key string) {
	if key, pinned := c.pinnedZones(); key != "" {
		return len(pinned), key
	}
	return c.AZCount, "azCount"
}

// workloadProfiles are the Fargate profiles the stack asks the cluster for
// (the cluster adds CoreDNS's): the LB controller's, one per zone for the
// auth pods, and the operations one (collector and patch-window job).
// Configuration checks count this same list.
func workloadProfiles(cfg *Config, zones []string, privateSubnetIDs pulumi.StringArrayInput) []cluster.ProfileSpec {
	// The operations profile comes last: EKS creates profiles one at a
	// time, and the auth pods need not wait for it.
	out := append([]cluster.ProfileSpec{lbcontroller.FargateProfile(lbcontroller.DefaultNamespace)},
		authservice.FargateProfiles(cfg.AuthNamespace, zones, privateSubnetIDs)...)
	return append(out, operationsProfile())
}

// validateZonePlacement: every zone gets an auth pod (one Deployment per
// zone, at least one replica each), and the per-zone Fargate profiles fit
// the EKS quota of profiles per cluster.
func (c *Config) validateZonePlacement(p *problems) {
	n, key := c.zoneCount()
	if n < MinAZs || n > network.MaxAZs {
		return // validateZones reports it; nothing follows from a count the stack refuses
	}
	if c.Service.Replicas >= authservice.MinReplicas && c.Service.Replicas < n {
		p.add(q("authReplicas"), strconv.Itoa(c.Service.Replicas), fmt.Sprintf("set authReplicas to at least %d (one pod per zone), or use fewer zones (%s)", n, key),
			"the auth pods are pinned one Deployment per zone, and %d replicas leave a zone of %d without a pod", c.Service.Replicas, n)
	}
	profiles := cluster.ProfileCount(workloadProfiles(c, make([]string, n), nil))
	if profiles > cluster.MaxFargateProfiles {
		p.add(q(key), strconv.Itoa(n), fmt.Sprintf("use at most %d zones", n-(profiles-cluster.MaxFargateProfiles)),
			"%d zones need %d Fargate profiles (one per zone for the auth pods, plus CoreDNS, the LB controller and the operations one); EKS allows %d per cluster", n, profiles, cluster.MaxFargateProfiles)
	}
}
