package mocks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// invokes answer provider functions the way AWS would for AccountID.
var invokes = map[string]func(region string, args resource.PropertyMap) map[string]interface{}{
	"aws:index/getCallerIdentity:getCallerIdentity": func(region string, _ resource.PropertyMap) map[string]interface{} {
		return map[string]interface{}{
			"id":        AccountID,
			"accountId": AccountID,
			"arn":       fmt.Sprintf("arn:%s:sts::%s:assumed-role/platform-deployer/pulumi", Partition(region), AccountID),
			"userId":    "AROAEXAMPLEDEPLOYER:pulumi",
		}
	},
	"aws:index/getPartition:getPartition": func(region string, _ resource.PropertyMap) map[string]interface{} {
		suffix := "amazonaws.com"
		if Partition(region) == "aws-cn" {
			suffix = "amazonaws.com.cn"
		}
		return map[string]interface{}{
			"id": Partition(region), "partition": Partition(region), "dnsSuffix": suffix, "reverseDnsPrefix": "com.amazonaws",
		}
	},
	"aws:index/getRegion:getRegion": func(region string, _ resource.PropertyMap) map[string]interface{} {
		return map[string]interface{}{
			"id": region, "name": region, "region": region,
			"endpoint": fmt.Sprintf("ec2.%s.amazonaws.com", region), "description": region,
		}
	},
	"aws:index/getAvailabilityZones:getAvailabilityZones": func(region string, _ resource.PropertyMap) map[string]interface{} {
		var names, ids []interface{}
		for i, l := range "abcd" {
			names = append(names, region+string(l))
			ids = append(ids, fmt.Sprintf("%s-az%d", regionCode(region), i+1))
		}
		return map[string]interface{}{"id": region, "names": names, "zoneIds": ids, "groupNames": []interface{}{region}}
	},
	"aws:eks/getCluster:getCluster": func(region string, args resource.PropertyMap) map[string]interface{} {
		name := args["name"].StringValue()
		return map[string]interface{}{
			"id":                     name,
			"name":                   name,
			"arn":                    ARN(region, "eks", region, "cluster/"+name),
			"endpoint":               eksEndpoint(name, region),
			"status":                 "ACTIVE",
			"version":                "1.35",
			"platformVersion":        "eks.9",
			"roleArn":                ARN(region, "iam", "", "role/"+name+"-eksRole"),
			"certificateAuthorities": []interface{}{map[string]interface{}{"data": eksCAData}},
			"identities": []interface{}{map[string]interface{}{
				"oidcs": []interface{}{map[string]interface{}{"issuer": eksIssuer(name, region)}},
			}},
			"vpcConfig": map[string]interface{}{
				"clusterSecurityGroupId": "sg-" + hexID(17, "cluster-sg", name, region),
				"endpointPrivateAccess":  true,
				"endpointPublicAccess":   true,
			},
		}
	},
}
