package mocks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// GuardDutyDetectors are the detectors that exist in the mocked account
// before any stack, by region.
var GuardDutyDetectors = map[string]string{"us-west-2": "12abc34d567e8fa901bc2d34e56789f0"}

// noDetector is the data source's error for a region without a detector
// (terraform-provider-aws, data source aws_guardduty_detector).
const noDetector = "reading this account's single GuardDuty Detector: empty result"

// invokes answer provider functions the way AWS would for AccountID.
var invokes = map[string]func(region string, args resource.PropertyMap) map[string]interface{}{
	"aws:index/getCallerIdentity:getCallerIdentity": func(region string, _ resource.PropertyMap) map[string]interface{} {
		return callerIdentity(region) // account.go
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
	// GuardDuty: the mocked account has a detector in us-west-2 only (as if
	// a security team had enabled it there), so plans show both adoption
	// and creation. Without a detector the provider's data source fails;
	// Call turns a nil answer into that error.
	"aws:guardduty/getDetector:getDetector": func(region string, args resource.PropertyMap) map[string]interface{} {
		id := GuardDutyDetectors[region]
		if v, ok := args["id"]; ok && v.IsString() && v.StringValue() != "" {
			id = v.StringValue()
		}
		if id == "" {
			return nil
		}
		return map[string]interface{}{
			"id": id, "arn": ARN(region, "guardduty", region, "detector/"+id), "status": "ENABLED",
			"findingPublishingFrequency": "SIX_HOURS",
			"serviceRoleArn":             ARN(region, "iam", "", "role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty"),
			"features":                   []interface{}{},
			"tags":                       map[string]interface{}{},
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
