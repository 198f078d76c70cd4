package stacks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/authplatform/auth-platform/components/globaldata"
	"github.com/authplatform/auth-platform/components/network"
	"github.com/authplatform/auth-platform/components/zones"
)

// Issue 11 item 1: zones are chosen by zone ID, never in a zone EKS refuses.

// pinnedZones returns the key that pins the stack's zones and its list, or
// "" when neither is set.
func (c *Config) pinnedZones() (string, []string) {
	if len(c.AvailabilityZoneIDs) > 0 {
		return "availabilityZoneIds", c.AvailabilityZoneIDs
	}
	if len(c.AvailabilityZones) > 0 {
		return "availabilityZones", c.AvailabilityZones
	}
	return "", nil
}

// validateZoneIDs checks availabilityZoneIds before anything is created:
// the shape and region of each ID, and that EKS accepts it.
func (c *Config) validateZoneIDs(p *problems) {
	ids := c.AvailabilityZoneIDs
	if len(ids) == 0 {
		return
	}
	key, value := q("availabilityZoneIds"), strings.Join(ids, ",")
	example := zoneIDExample(c.Region)
	if len(c.AvailabilityZones) > 0 {
		p.add(key, value, "keep availabilityZoneIds (the same zones in every account) and remove availabilityZones",
			"availabilityZones is set too; a stack pins its zones one way")
	}
	if len(ids) < MinAZs {
		p.add(key, value, fmt.Sprintf("list at least %d zone IDs, e.g. %s", MinAZs, example),
			"fewer than %d availability zones: Aurora is given exactly 3 AZs, and the platform must survive losing one", MinAZs)
	}
	if len(ids) > network.MaxAZs {
		p.add(key, value, fmt.Sprintf("list at most %d zone IDs", network.MaxAZs), "too many availability zones")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			p.add(key, value, "list each zone ID once", "zone ID %s is listed twice", id)
		}
		seen[id] = true
		switch {
		case c.Region != "" && !zones.OfRegion(id, c.Region):
			p.add(key, value, fmt.Sprintf("use zone IDs of %s (%s-az<n>), e.g. %s; `aws ec2 describe-availability-zones --region %s` lists them",
				c.Region, zones.IDPrefix(c.Region), example, c.Region),
				"%s is not a zone ID of region %s", id, c.Region)
		case !zones.Supported(id):
			p.add(key, value, "pick other zone IDs of "+c.Region+", e.g. "+example,
				"EKS does not support zone %s: it refuses cluster subnets there (EKS user guide, networking requirements)", id)
		}
	}
}

// zoneIDExample is three EKS-capable zone IDs of a region, for messages.
func zoneIDExample(region string) string {
	var out []string
	for n := 1; len(out) < 3 && n < 10; n++ {
		id := fmt.Sprintf("%s-az%d", zones.IDPrefix(region), n)
		if zones.Supported(id) {
			out = append(out, id)
		}
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// resolveZones asks the region which zones this account has and picks the
// stack's: the pinned IDs or names in their order, or else the first
// AZCount zones by zone ID (the same physical zones in every account) that
// EKS supports and that need no opt-in. A zone EKS refuses is a
// configuration error naming the key, before any resource is created.
func resolveZones(ctx *pulumi.Context, cfg *Config, provider *aws.Provider) ([]zones.Zone, error) {
	key, pinned := cfg.pinnedZones()
	args := &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		// Regular zones only: Local and Wavelength Zones need an opt-in and
		// have neither EKS control planes nor Aurora.
		Filters: []aws.GetAvailabilityZonesFilter{{Name: "opt-in-status", Values: []string{"opt-in-not-required"}}},
	}
	if key == "" {
		args.ExcludeZoneIds = zones.UnsupportedIDs()
	}
	res, err := aws.GetAvailabilityZones(ctx, args, pulumi.Provider(provider))
	if err != nil {
		return nil, err
	}
	available, err := zones.Zip(res.Names, res.ZoneIds)
	if err != nil {
		return nil, err
	}
	capable := []zones.Zone{}
	for _, z := range zones.ByID(available) {
		if zones.Supported(z.ID) {
			capable = append(capable, z)
		}
	}

	var p problems
	switch key {
	case "":
		if len(capable) < cfg.AZCount {
			fix := fmt.Sprintf("set azCount to at most %d", len(capable))
			if len(capable) < 3 {
				fix = "deploy in a region with at least 3 zones EKS supports (Aurora is given exactly 3)"
			}
			p.add(q("azCount"), strconv.Itoa(cfg.AZCount), fix,
				"region %s offers this account only %d zones that EKS supports and that need no opt-in (%s)",
				cfg.Region, len(capable), zones.Describe(capable))
		}
		if len(p) == 0 {
			return capable[:cfg.AZCount], nil
		}
	default:
		byKey := map[string]zones.Zone{}
		for _, z := range available {
			if key == "availabilityZoneIds" {
				byKey[z.ID] = z
			} else {
				byKey[z.Name] = z
			}
		}
		var out []zones.Zone
		for _, v := range pinned {
			z, ok := byKey[v]
			switch {
			case !ok:
				p.add(q(key), strings.Join(pinned, ","), "pin zones this account has, e.g. availabilityZoneIds: "+idList(capable),
					"zone %s is not an available zone of this account in %s (available: %s)", v, cfg.Region, zones.Describe(available))
			case !zones.Supported(z.ID):
				p.add(q(key), strings.Join(pinned, ","), "pin zone IDs instead, e.g. availabilityZoneIds: "+idList(capable),
					"zone %s is %s in this account, and EKS does not support %s: it refuses cluster subnets there (EKS user guide, networking requirements)",
					v, z.ID, z.ID)
			}
			out = append(out, z)
		}
		if len(p) == 0 {
			return out, nil
		}
	}
	return nil, p.err()
}

func idList(zs []zones.Zone) string {
	ids := zones.IDs(zs)
	if len(ids) > 3 {
		ids = ids[:3]
	}
	return "[" + strings.Join(ids, ", ") + "]"
}

func zoneNames(zs []zones.Zone) []string { return zones.Names(zs) }

func zoneIDs(zs []zones.Zone) []string { return zones.IDs(zs) }

// resolveAllZones resolves every region's zones before any region is
// built, so that a refused zone in a secondary stops the stack before the
// primary's resources are registered; the problems of all regions are
// reported at once.
func resolveAllZones(ctx *pulumi.Context, cfgs []*Config, members []globaldata.Region) ([][]zones.Zone, error) {
	out := make([][]zones.Zone, len(cfgs))
	var p problems
	for i, rc := range cfgs {
		zs, err := resolveZones(ctx, rc, members[i].Provider)
		var cerr *ConfigError
		switch {
		case errors.As(err, &cerr):
			for _, prob := range cerr.Problems {
				if rc.entry != nil {
					prob.Key = regionalKey(rc.entryIndex, *rc.entry, prob.Key)
				}
				prob.Message = "in " + rc.Region + ": " + prob.Message
				p = append(p, prob)
			}
		case err != nil:
			return nil, err
		}
		out[i] = zs
	}
	return out, p.err()
}
