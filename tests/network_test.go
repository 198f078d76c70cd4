package tests

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"

	"github.com/authplatform/auth-platform/components/network"
)

func TestPlanSubnetsCarvesDisjointSubnetsInsideTheVPC(t *testing.T) {
	for _, tc := range []struct {
		cidr          string
		azs           int
		wantPrivate0  string
		wantPublic0   string
		wantPrivateSz int
		wantPublicSz  int
	}{
		{"10.0.0.0/16", 3, "10.0.0.0/19", "10.0.224.0/22", 19, 22},
		{"10.20.0.0/16", 2, "10.20.0.0/19", "10.20.224.0/22", 19, 22},
		{"172.16.0.0/18", 6, "172.16.0.0/21", "172.16.56.0/24", 21, 24},
		{"192.168.16.0/20", 7, "192.168.16.0/23", "192.168.30.0/26", 23, 26},
	} {
		t.Run(fmt.Sprintf("%s-%daz", tc.cidr, tc.azs), func(t *testing.T) {
			var azs []string
			for i := 0; i < tc.azs; i++ {
				azs = append(azs, fmt.Sprintf("us-east-1%c", 'a'+i))
			}
			plan, err := network.PlanSubnets(tc.cidr, azs)
			require.NoError(t, err)
			require.Len(t, plan, tc.azs)
			assert.Equal(t, tc.wantPrivate0, plan[0].Private.String())
			assert.Equal(t, tc.wantPublic0, plan[0].Public.String())

			vpc := netip.MustParsePrefix(tc.cidr)
			var all []netip.Prefix
			for i, p := range plan {
				assert.Equal(t, azs[i], p.AZ)
				assert.Equal(t, tc.wantPrivateSz, p.Private.Bits())
				assert.Equal(t, tc.wantPublicSz, p.Public.Bits())
				assert.LessOrEqual(t, p.Public.Bits(), 27, "an ALB subnet must be at least a /27")
				all = append(all, p.Private, p.Public)
			}
			for i, a := range all {
				assert.True(t, vpc.Contains(a.Addr()) && a.Bits() >= vpc.Bits(), "%s outside %s", a, vpc)
				for _, b := range all[i+1:] {
					assert.False(t, a.Overlaps(b), "%s overlaps %s", a, b)
				}
			}
		})
	}
}

func TestPlanSubnetsIsStableWhenZonesAreAdded(t *testing.T) {
	two, err := network.PlanSubnets("10.0.0.0/16", []string{"a", "b"})
	require.NoError(t, err)
	three, err := network.PlanSubnets("10.0.0.0/16", []string{"a", "b", "c"})
	require.NoError(t, err)
	assert.Equal(t, two, three[:2], "adding a zone must not renumber existing subnets")
}

func TestParseVPCCIDRRejects(t *testing.T) {
	for _, tc := range []struct{ cidr, want string }{
		{"10.0.0.0", "not a CIDR block"},
		{"10.0.0.0/33", "not a CIDR block"},
		{"fd00::/48", "not an IPv4 block"},
		{"10.0.0.1/16", "host bits are set (did you mean 10.0.0.0/16?)"},
		{"10.0.0.0/8", "prefix /8 is outside /16–/20"},
		{"10.0.0.0/24", "prefix /24 is outside /16–/20"},
		{"8.8.0.0/16", "not inside an RFC 1918 range"},
	} {
		t.Run(tc.cidr, func(t *testing.T) {
			_, err := network.ParseVPCCIDR(tc.cidr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestNetworkTagsSubnetsForEKSAndTheLoadBalancerController(t *testing.T) {
	res := planStack(t, "prod-us-east-1")
	subnets := ofType(res, "aws:ec2/subnet:Subnet")
	require.Len(t, subnets, 6)
	for _, s := range subnets {
		tags := value(s.Inputs, "tags").(map[string]interface{})
		assert.Equal(t, "shared", tags["kubernetes.io/cluster/auth-prod-us-east-1"], s.Name)
		assert.Equal(t, false, value(s.Inputs, "mapPublicIpOnLaunch"), s.Name)
		if strings.Contains(s.Name, "-public-") {
			assert.Equal(t, "1", tags[network.TagPublicELB], s.Name)
			assert.NotContains(t, tags, network.TagInternalELB, s.Name)
		} else {
			assert.Equal(t, "1", tags[network.TagInternalELB], s.Name)
			assert.NotContains(t, tags, network.TagPublicELB, s.Name)
		}
	}
	vpc := one(t, res, "aws:ec2/vpc:Vpc", "-vpc")
	assert.Equal(t, true, value(vpc.Inputs, "enableDnsHostnames"))
	assert.Equal(t, true, value(vpc.Inputs, "enableDnsSupport"))
}

func TestNatGatewayLayoutFollowsTheStack(t *testing.T) {
	for _, tc := range []struct {
		stack    string
		wantNATs int
	}{
		{"dev", 1},
		{"prod-us-east-1", 3},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			res := planStack(t, tc.stack)
			nats := ofType(res, "aws:ec2/natGateway:NatGateway")
			require.Len(t, nats, tc.wantNATs)
			natByID := map[string]*struct{ subnetAZ string }{}
			subnetAZ := map[string]string{}
			for _, s := range ofType(res, "aws:ec2/subnet:Subnet") {
				subnetAZ[s.ID] = str(t, s, "availabilityZone")
			}
			for _, n := range nats {
				natByID[n.ID] = &struct{ subnetAZ string }{subnetAZ[str(t, n, "subnetId")]}
				assert.Contains(t, str(t, n, "subnetId"), "subnet-")
			}
			// Every private route table sends 0.0.0.0/0 to a NAT gateway; with
			// one NAT per AZ, to the NAT of its own AZ.
			routes := nonEmpty(t, ofType(res, "aws:ec2/route:Route"), "route")
			tables := map[string]*mocks.Resource{}
			for _, rt := range nonEmpty(t, ofType(res, "aws:ec2/routeTable:RouteTable"), "route table") {
				tables[rt.ID] = rt
			}
			privateRoutes := 0
			for _, rt := range routes {
				assert.Equal(t, "0.0.0.0/0", str(t, rt, "destinationCidrBlock"), "%s is the default route", rt.Name)
				table, ok := tables[str(t, rt, "routeTableId")]
				require.True(t, ok, "%s is in a route table of this stack", rt.Name)
				assert.Equal(t, strings.Contains(rt.Name, "-private-"), strings.Contains(table.Name, "-private-"), "%s in %s", rt.Name, table.Name)
			}
			// Public subnets use the public table; each private subnet its
			// own zone's table.
			subnets := map[string]*mocks.Resource{}
			for _, s := range ofType(res, "aws:ec2/subnet:Subnet") {
				subnets[s.ID] = s
			}
			assocs := nonEmpty(t, ofType(res, "aws:ec2/routeTableAssociation:RouteTableAssociation"), "route table association")
			assert.Len(t, assocs, len(subnets), "every subnet has its table")
			for _, a := range assocs {
				sn, table := subnets[str(t, a, "subnetId")], tables[str(t, a, "routeTableId")]
				require.NotNil(t, sn, a.Name)
				require.NotNil(t, table, a.Name)
				if strings.Contains(sn.Name, "-public-") {
					assert.Contains(t, table.Name, "-public-", "%s uses the public table", sn.Name)
				} else {
					assert.Contains(t, table.Name, str(t, sn, "availabilityZone"), "%s uses its zone's table", sn.Name)
				}
			}
			for _, rt := range routes {
				if !strings.Contains(rt.Name, "-private-") {
					assert.Contains(t, str(t, rt, "gatewayId"), "igw-", rt.Name)
					continue
				}
				privateRoutes++
				nat, ok := natByID[str(t, rt, "natGatewayId")]
				require.True(t, ok, "%s routes to an unknown NAT", rt.Name)
				if tc.wantNATs > 1 {
					assert.Contains(t, rt.Name, nat.subnetAZ, "private route of another AZ's NAT")
				}
			}
			assert.Equal(t, 3, privateRoutes)
		})
	}
}
