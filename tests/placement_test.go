package tests

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/authservice"
	"github.com/authplatform/auth-platform/components/cluster"
	"github.com/authplatform/auth-platform/components/network"
	"github.com/authplatform/auth-platform/policies/rules"
)

// Issue 15: zone resilience that Fargate honours, and data stores that admit
// only the auth pods.

const (
	sgpType      = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
	subnetType   = "aws:ec2/subnet:Subnet"
	sgType       = "aws:ec2/securityGroup:SecurityGroup"
	sgIngressTyp = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
)

// privateSubnetsByZone maps each zone of a plan to its private subnet.
func privateSubnetsByZone(t *testing.T, res *mocks.Result) map[string]*mocks.Resource {
	t.Helper()
	out := map[string]*mocks.Resource{}
	for _, s := range ofType(res, subnetType) {
		if strings.Contains(s.Name, "-private-") {
			zone := str(t, s, "availabilityZone")
			require.NotContains(t, out, zone, "one private subnet per zone")
			out[zone] = s
		}
	}
	return out
}

// planZones are the zones of a plan's private subnets, sorted.
func planZones(t *testing.T, res *mocks.Result) []string {
	t.Helper()
	var zones []string
	for zone := range privateSubnetsByZone(t, res) {
		zones = append(zones, zone)
	}
	sort.Strings(zones)
	require.GreaterOrEqual(t, len(zones), 3)
	return zones
}

// TestAuthPodsArePinnedOneProfilePerZone: Fargate ignores topology spread
// constraints and picks a subnet of the pod's profile, so each zone has a
// profile on exactly its own private subnet that selects that zone's label,
// and no profile selects the auth namespace without it (a pod matching two
// profiles lands on a random one).
func TestAuthPodsArePinnedOneProfilePerZone(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			subnets := privateSubnetsByZone(t, rp.res)
			for _, zone := range planZones(t, rp.res) {
				p := one(t, rp.res, profileType, "-fp-auth-"+zone)
				assert.Equal(t, []string{subnets[zone].ID}, stringList(t, p, "subnetIds"), "%s runs on exactly the %s private subnet", p.Name, zone)
				sel := value(p.Inputs, "selectors").([]interface{})
				require.Len(t, sel, 1)
				assert.Equal(t, map[string]interface{}{
					"namespace": rp.cfg.AuthNamespace,
					"labels":    map[string]interface{}{"auth-platform/zone": zone},
				}, sel[0])
			}
			profiles := ofType(rp.res, profileType)
			for _, p := range profiles {
				for _, s := range value(p.Inputs, "selectors").([]interface{}) {
					s := s.(map[string]interface{})
					if s["namespace"] == rp.cfg.AuthNamespace {
						assert.Contains(t, s["labels"], "auth-platform/zone", "%s selects auth pods of every zone", p.Name)
					}
				}
			}
			// CoreDNS, the controller, the operations one (collector and
			// patch-window job) and one per zone, inside the quota.
			assert.Len(t, profiles, len(subnets)+3)
			assert.LessOrEqual(t, len(profiles), 10, "EKS allows 10 Fargate profiles per cluster")
		})
	}
}

// TestZoneLabelIsTheOnePoliciesCheck: the component and the policy pack
// agree on the label that pins a pod to its zone.
func TestZoneLabelIsTheOnePoliciesCheck(t *testing.T) {
	assert.Equal(t, "auth-platform/zone", authservice.ZoneLabel)
	assert.Equal(t, authservice.ZoneLabel, rules.ZoneLabel)
}

// TestEveryZoneCountFitsTheProfileQuota: the most zones the network lays
// out, plus the CoreDNS and controller profiles, stay within EKS's quota of
// 10 Fargate profiles per cluster (Service Quotas, "Fargate profiles per
// cluster").
func TestEveryZoneCountFitsTheProfileQuota(t *testing.T) {
	assert.Equal(t, 10, cluster.MaxFargateProfiles)
	assert.LessOrEqual(t, network.MaxAZs+2, cluster.MaxFargateProfiles)
}

func TestSplitReplicasGivesEveryZoneAPod(t *testing.T) {
	for _, tc := range []struct {
		total, zones int
		want         []int
	}{
		{3, 3, []int{1, 1, 1}},
		{4, 3, []int{2, 1, 1}},
		{5, 3, []int{2, 2, 1}},
		{6, 3, []int{2, 2, 2}},
		{2, 2, []int{1, 1}},
		{7, 2, []int{4, 3}},
	} {
		got, err := authservice.SplitReplicas(tc.total, tc.zones)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%d over %d", tc.total, tc.zones)
	}
	_, err := authservice.SplitReplicas(2, 3)
	assert.ErrorContains(t, err, "2 replicas cannot give each of 3 zones a pod")
}

func TestTooFewReplicasForTheZonesIsRejected(t *testing.T) {
	raw, _ := stackConfig(t, "dev")
	assertRejected(t, withConfig(raw, map[string]string{"auth-platform:authReplicas": "2"}),
		"auth-platform:authReplicas", "set authReplicas to at least 3 (one pod per zone)")
}

// TestDataStoresAdmitOnlyTheAuthPods: the auth pods get a security group of
// their own through a SecurityGroupPolicy that also keeps the cluster's
// group (control plane, CoreDNS); Redis and Aurora admit that group only,
// and the controller is told to write the ALB's rule into it.
func TestDataStoresAdmitOnlyTheAuthPods(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			res := rp.res
			podSG := one(t, res, sgType, "-auth-pods")
			sgp := one(t, res, sgpType, "-auth-sgp")
			groups := stringList(t, sgp, "spec.securityGroups.groupIds")
			require.Len(t, groups, 2)
			assert.Equal(t, podSG.ID, groups[0])
			stackSGs := map[string]bool{}
			for _, sg := range ofType(res, sgType) {
				stackSGs[sg.ID] = true
			}
			assert.True(t, strings.HasPrefix(groups[1], "sg-"))
			assert.False(t, stackSGs[groups[1]], "the second group is the EKS-created cluster group, not one of ours")

			// Every ingress rule of the data stores' groups comes from the
			// auth pods' group and nothing else.
			stores := map[string]string{
				one(t, res, "aws:elasticache/replicationGroup:ReplicationGroup", "-sessions").Name: "securityGroupIds",
			}
			for _, c := range ofType(res, "aws:rds/cluster:Cluster") {
				stores[c.Name] = "vpcSecurityGroupIds"
			}
			checked := 0
			for _, r := range res.Resources {
				prop, ok := stores[r.Name]
				if !ok {
					continue
				}
				for _, sgID := range stringList(t, r, prop) {
					rules := 0
					for _, rule := range ofType(res, sgIngressTyp) {
						if str(t, rule, "securityGroupId") != sgID {
							continue
						}
						rules++
						assert.Equal(t, podSG.ID, str(t, rule, "referencedSecurityGroupId"), rule.Name)
						assert.Nil(t, value(rule.Inputs, "cidrIpv4"), rule.Name)
					}
					assert.Equal(t, 1, rules, "%s's group has exactly one ingress rule", r.Name)
					checked++
				}
			}
			assert.Equal(t, len(stores), checked)

			// The controller picks the pods' group for the ALB's rule.
			tags := value(podSG.Inputs, "tags").(map[string]interface{})
			cluster := str(t, one(t, res, eksType, "-eks"), "name")
			assert.Equal(t, "owned", tags["kubernetes.io/cluster/"+cluster])
			release := one(t, res, releaseType, "-lbc")
			selector := str(t, release, "values.serviceTargetENISGTags")
			key, val, found := strings.Cut(selector, "=")
			require.True(t, found)
			assert.Equal(t, val, tags[key], "the controller's extra tag is on the pods' group")
		})
	}
}
