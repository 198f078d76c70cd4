package authservice

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/cluster"
)

// ZoneLabel pins an auth pod to a zone. Fargate ignores topology spread
// constraints and pod anti-affinity and places a pod in one subnet of the
// profile that selects it, so each zone gets a profile with that zone's one
// private subnet, selecting this label, and a Deployment whose pods carry it.
const ZoneLabel = "auth-platform/zone"

// SecurityGroupPolicyAPIVersion and Kind of the VPC resource controller's
// CRD, which EKS runs for Fargate pods.
const (
	SecurityGroupPolicyAPIVersion = "vpcresources.k8s.aws/v1beta1"
	SecurityGroupPolicyKind       = "SecurityGroupPolicy"
)

// DeploymentName is the Deployment of the auth pods of one zone.
func DeploymentName(zone string) string { return Name + "-" + zone }

// ProfileName is the Fargate profile (short name) of the auth pods of one
// zone.
func ProfileName(zone string) string { return "auth-" + zone }

// FargateProfiles are the auth service's Fargate profiles: one per zone,
// each on exactly that zone's private subnet (privateSubnetIDs is in zone
// order), selecting the namespace and the zone label. No profile selects
// the whole namespace: a pod that matched two profiles would land on one
// of them at random (EKS "Fargate profile" docs). With privateSubnetIDs nil
// the specs carry no subnets: that is for counting them only.
func FargateProfiles(namespace string, zones []string, privateSubnetIDs pulumi.StringArrayInput) []cluster.ProfileSpec {
	out := make([]cluster.ProfileSpec, 0, len(zones))
	for i, zone := range zones {
		spec := cluster.ProfileSpec{
			Name:      ProfileName(zone),
			Selectors: []cluster.Selector{{Namespace: namespace, Labels: map[string]string{ZoneLabel: zone}}},
		}
		if privateSubnetIDs != nil {
			spec.SubnetIDs = pulumi.StringArray{privateSubnetIDs.ToStringArrayOutput().Index(pulumi.Int(i))}
		}
		out = append(out, spec)
	}
	return out
}

// SplitReplicas spreads total replicas over zones as evenly as they go (the
// first zones take the remainder). Every zone needs at least one: a zone
// without a pod is a zone the service does not survive in.
func SplitReplicas(total, zones int) ([]int, error) {
	if zones < 1 {
		return nil, fmt.Errorf("no zones to run in")
	}
	if total < zones {
		return nil, fmt.Errorf("%d replicas cannot give each of %d zones a pod", total, zones)
	}
	out := make([]int, zones)
	for i := range out {
		out[i] = total / zones
		if i < total%zones {
			out[i]++
		}
	}
	return out, nil
}
