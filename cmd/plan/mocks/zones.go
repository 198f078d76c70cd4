package mocks

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// mockZone is one entry of what EC2 DescribeAvailabilityZones returns.
type mockZone struct {
	Name, ID, OptIn, Type, Group string
}

// zoneCatalogue is the answer of DescribeAvailabilityZones (with
// AllAvailabilityZones) per region for the mocked account, as of
// 2026-12-01. The zone IDs and their count per region are AWS's (EC2 User
// Guide, "Regions and Zones" / "AZ IDs"; the EKS user guide's networking
// requirements for the three IDs EKS refuses). Which NAME maps to which ID
// differs in every account: this mapping is one account's example, chosen
// so that us-east-1c is use1-az3 here, as it is in many real accounts. An
// older account still sees ca-central-1's cac1-az3; us-west-1 offers an
// account only two zones. The Local Zones show the opt-in filter at work.
var zoneCatalogue = map[string][]mockZone{
	"us-east-1": {
		az("us-east-1a", "use1-az4"), az("us-east-1b", "use1-az6"), az("us-east-1c", "use1-az3"),
		az("us-east-1d", "use1-az1"), az("us-east-1e", "use1-az2"), az("us-east-1f", "use1-az5"),
		{Name: "us-east-1-bos-1a", ID: "use1-bos1-az1", OptIn: "opted-in", Type: "local-zone", Group: "us-east-1-bos-1"},
		{Name: "us-east-1-mia-1a", ID: "use1-mia1-az1", OptIn: "not-opted-in", Type: "local-zone", Group: "us-east-1-mia-1"},
	},
	"us-east-2": {az("us-east-2a", "use2-az1"), az("us-east-2b", "use2-az2"), az("us-east-2c", "use2-az3")},
	"us-west-1": {az("us-west-1b", "usw1-az3"), az("us-west-1c", "usw1-az1")},
	"us-west-2": {
		az("us-west-2a", "usw2-az2"), az("us-west-2b", "usw2-az1"), az("us-west-2c", "usw2-az3"), az("us-west-2d", "usw2-az4"),
		{Name: "us-west-2-lax-1a", ID: "usw2-lax1-az1", OptIn: "opted-in", Type: "local-zone", Group: "us-west-2-lax-1"},
	},
	"ca-central-1": {
		az("ca-central-1a", "cac1-az1"), az("ca-central-1b", "cac1-az2"), az("ca-central-1c", "cac1-az3"), az("ca-central-1d", "cac1-az4"),
	},
	"eu-west-1":      {az("eu-west-1a", "euw1-az3"), az("eu-west-1b", "euw1-az1"), az("eu-west-1c", "euw1-az2")},
	"eu-central-1":   {az("eu-central-1a", "euc1-az2"), az("eu-central-1b", "euc1-az3"), az("eu-central-1c", "euc1-az1")},
	"ap-southeast-2": {az("ap-southeast-2a", "apse2-az3"), az("ap-southeast-2b", "apse2-az1"), az("ap-southeast-2c", "apse2-az2")},
	"ap-northeast-3": {az("ap-northeast-3a", "apne3-az3"), az("ap-northeast-3b", "apne3-az1"), az("ap-northeast-3c", "apne3-az2")},
}

func az(name, id string) mockZone {
	return mockZone{Name: name, ID: id, OptIn: "opt-in-not-required", Type: "availability-zone", Group: name[:len(name)-1]}
}

// ZoneID is the mocked account's zone ID for a zone name, "" if unknown.
func ZoneID(region, name string) string {
	for _, z := range zoneCatalogue[region] {
		if z.Name == name {
			return z.ID
		}
	}
	return ""
}

// zoneStates are the values aws_availability_zones accepts for state (its
// schema validates against EC2's AvailabilityZoneState values).
var zoneStates = []string{"available", "information", "impaired", "unavailable"}

// availabilityZones answers aws:index/getAvailabilityZones the way the
// provider does (terraform-provider-aws internal/service/ec2/
// ec2_availability_zones_data_source.go): DescribeAvailabilityZones
// (opted-in zones only unless allAvailabilityZones, the state and the
// filters applied by EC2), sorted by name, then excludeNames and
// excludeZoneIds dropped; names and zoneIds stay aligned. No zone left is
// an empty answer, not an error; a state outside EC2's values is refused by
// the schema.
func availabilityZones(q query) (map[string]interface{}, error) {
	region, args := q.region, q.args
	if v, ok := args["state"]; ok && v.IsString() && !contains(zoneStates, v.StringValue()) {
		return nil, fmt.Errorf("expected state to be one of %q, got %s", zoneStates, v.StringValue())
	}
	catalogue, ok := zoneCatalogue[region]
	if !ok {
		return nil, fmt.Errorf("mocks: no zone catalogue for %s; add the region's zones to cmd/plan/mocks/zones.go", region)
	}
	strs := func(v resource.PropertyValue) map[string]bool {
		out := map[string]bool{}
		if v.IsArray() {
			for _, e := range v.ArrayValue() {
				if e.IsString() {
					out[e.StringValue()] = true
				}
			}
		}
		return out
	}
	filters := map[string]map[string]bool{}
	if v, ok := args["state"]; ok && v.IsString() {
		filters["state"] = map[string]bool{v.StringValue(): true}
	}
	if v, ok := args["filters"]; ok && v.IsArray() {
		for _, f := range v.ArrayValue() {
			obj := f.ObjectValue()
			filters[obj["name"].StringValue()] = strs(obj["values"])
		}
	}
	all := false
	if v, ok := args["allAvailabilityZones"]; ok && v.IsBool() {
		all = v.BoolValue()
	}
	excludeNames, excludeIDs := strs(args["excludeNames"]), strs(args["excludeZoneIds"])

	zones := append([]mockZone(nil), catalogue...)
	sort.Slice(zones, func(i, j int) bool { return zones[i].Name < zones[j].Name })
	names, ids, groups := []interface{}{}, []interface{}{}, []interface{}{}
	seenGroup := map[string]bool{}
	for _, z := range zones {
		if !all && z.OptIn == "not-opted-in" {
			continue
		}
		fields := map[string]string{
			"state": "available", "opt-in-status": z.OptIn, "zone-type": z.Type, "zone-name": z.Name,
			"zone-id": z.ID, "group-name": z.Group, "region-name": region,
		}
		keep := true
		for name, values := range filters {
			field, known := fields[name]
			if !known {
				return nil, fmt.Errorf("mocks: getAvailabilityZones filter %q is not mocked; add it to cmd/plan/mocks/zones.go", name)
			}
			keep = keep && values[field]
		}
		if !keep || excludeNames[z.Name] || excludeIDs[z.ID] {
			continue
		}
		names, ids = append(names, z.Name), append(ids, z.ID)
		if !seenGroup[z.Group] {
			seenGroup[z.Group] = true
			groups = append(groups, z.Group)
		}
	}
	return map[string]interface{}{"id": region, "names": names, "zoneIds": ids, "groupNames": groups}, nil
}
