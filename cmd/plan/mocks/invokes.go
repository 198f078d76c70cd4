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
		return map[string]interface{}{
			"id": Partition(region), "partition": Partition(region), "dnsSuffix": dnsSuffix(region), "reverseDnsPrefix": "com.amazonaws",
		}
	},
	"aws:index/getRegion:getRegion": func(region string, _ resource.PropertyMap) map[string]interface{} {
		return map[string]interface{}{
			"id": region, "name": region, "region": region,
			"endpoint": fmt.Sprintf("ec2.%s.amazonaws.com", region), "description": region,
		}
	},
	"aws:ecr/getAuthorizationToken:getAuthorizationToken": func(region string, _ resource.PropertyMap) map[string]interface{} {
		// AWS returns base64("AWS:<token>"), valid for 12 hours.
		return map[string]interface{}{
			"id":                 region,
			"registryId":         AccountID,
			"userName":           "AWS",
			"password":           "mock-ecr-token-" + region,
			"authorizationToken": "QVdTOm1vY2stZWNyLXRva2Vu",
			"expiresAt":          "2026-12-01T12:00:00Z",
			"proxyEndpoint":      fmt.Sprintf("https://%s.dkr.ecr.%s.%s", AccountID, region, dnsSuffix(region)),
		}
	},
	"aws:eks/getCluster:getCluster": func(region string, args resource.PropertyMap) map[string]interface{} {
		name := args["name"].StringValue()
		return map[string]interface{}{
			"id":                     name,
			"name":                   name,
			"arn":                    ARN(region, "eks", region, "cluster/"+name),
			"endpoint":               eksEndpoint(name, region),
			"status":                 "ACTIVE",
			"version":                "1.33",
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
