package network

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/apparentlymart/go-cidr/cidr"
)

// MaxAZs is the most availability zones a VPC layout can span: private
// subnets take seven of the eight equal blocks of the VPC, and the public
// subnets share the eighth.
const MaxAZs = 7

// Supported VPC prefix lengths. /20 is the smallest VPC whose public subnets
// (VPC prefix + 6) still satisfy the ALB's minimum of a /27 with 8 free
// addresses; /16 is the largest block AWS allows.
const (
	MinVPCPrefix = 16
	MaxVPCPrefix = 20
)

const (
	privateNewBits = 3 // private subnets: VPC/8 each, room for many Fargate pod IPs
	publicNewBits  = 6 // public subnets: VPC/64 each, only load balancers and NAT live there
)

// SubnetPlan is the pair of subnets of one availability zone.
type SubnetPlan struct {
	AZ      string
	Public  netip.Prefix
	Private netip.Prefix
}

// PlanSubnets carves one public and one private subnet per AZ out of
// vpcCIDR. Private subnet i is block i of eight; public subnets come from the
// last block, cut eight ways. The layout is a pure function of the inputs,
// so adding an AZ never renumbers the existing ones.
func PlanSubnets(vpcCIDR string, azs []string) ([]SubnetPlan, error) {
	vpc, err := ParseVPCCIDR(vpcCIDR)
	if err != nil {
		return nil, err
	}
	if len(azs) > MaxAZs {
		return nil, fmt.Errorf("%d availability zones requested, the layout supports at most %d", len(azs), MaxAZs)
	}
	_, ipnet, _ := net.ParseCIDR(vpc.String())
	lastBlock, err := cidr.Subnet(ipnet, privateNewBits, 1<<privateNewBits-1)
	if err != nil {
		return nil, err
	}
	plans := make([]SubnetPlan, 0, len(azs))
	for i, az := range azs {
		private, err := cidr.Subnet(ipnet, privateNewBits, i)
		if err != nil {
			return nil, err
		}
		public, err := cidr.Subnet(lastBlock, publicNewBits-privateNewBits, i)
		if err != nil {
			return nil, err
		}
		plans = append(plans, SubnetPlan{AZ: az, Public: toPrefix(public), Private: toPrefix(private)})
	}
	return plans, nil
}

// ParseVPCCIDR checks that s is a canonical IPv4 network in a private range
// with a prefix length this layout supports.
func ParseVPCCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not a CIDR block (want e.g. 10.0.0.0/16)")
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("not an IPv4 block (the VPC's primary block must be IPv4)")
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("host bits are set (did you mean %s?)", p.Masked())
	}
	if p.Bits() < MinVPCPrefix || p.Bits() > MaxVPCPrefix {
		return netip.Prefix{}, fmt.Errorf("prefix /%d is outside /%d–/%d (AWS allows at most /16; smaller than /%d leaves public subnets too small for an ALB)",
			p.Bits(), MinVPCPrefix, MaxVPCPrefix, MaxVPCPrefix)
	}
	if !isPrivate(p) {
		return netip.Prefix{}, fmt.Errorf("not inside an RFC 1918 range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)")
	}
	return p, nil
}

var rfc1918 = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

func isPrivate(p netip.Prefix) bool {
	for _, r := range rfc1918 {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func toPrefix(n *net.IPNet) netip.Prefix {
	addr, _ := netip.AddrFromSlice(n.IP.To4())
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(addr, ones)
}
