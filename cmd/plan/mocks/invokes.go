package mocks

// Every provider function the program calls is answered here or in
// catalogue.go and zones.go the way the data source of pulumi-aws v6.83.4
// answers it: the same request to AWS, the same filters applied to AWS's
// answer afterwards, the same cardinality rules and error texts. Each
// answer cites the terraform-provider-aws (v5, aws-sdk-go-v2) data source
// it follows; pulumi-aws v6 bridges those data sources unchanged.

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// query is one provider function call: the region of the provider it went
// through, its arguments, and the account it asks.
type query struct {
	region  string
	args    resource.PropertyMap
	account *Account
}

func (q query) str(key string) string    { return str(q.args, key) }
func (q query) strs(key string) []string { return strs(q.args, key) }
func (q query) flag(key string) bool     { return boolean(q.args, key) }
func (q query) has(key string) bool {
	v, ok := q.args[resource.PropertyKey(key)]
	if !ok || v.IsNull() {
		return false
	}
	switch {
	case v.IsArray():
		return len(v.ArrayValue()) > 0
	case v.IsString():
		return v.StringValue() != ""
	case v.IsBool():
		return v.BoolValue()
	}
	return true
}

// notModelled refuses arguments the mocks do not answer, so that a new use
// of a lookup fails the plan instead of getting an answer AWS never gives.
func (q query) notModelled(token string, keys ...string) error {
	for _, k := range keys {
		if q.has(k) {
			return fmt.Errorf("mocks: %s argument %q is not modelled; add it to cmd/plan/mocks with its data source's semantics", token, k)
		}
	}
	return nil
}

// functions answer provider functions by token.
var functions = map[string]func(q query) (map[string]interface{}, error){
	"aws:index/getAvailabilityZones:getAvailabilityZones":                       availabilityZones,
	"aws:index/getCallerIdentity:getCallerIdentity":                             callerIdentity,
	"aws:index/getPartition:getPartition":                                       partition,
	"aws:index/getRegion:getRegion":                                             getRegion,
	"aws:ecr/getAuthorizationToken:getAuthorizationToken":                       ecrAuthorizationToken,
	"aws:eks/getCluster:getCluster":                                             eksCluster,
	"aws:eks/getClusters:getClusters":                                           eksClusters,
	"aws:eks/getAccessEntry:getAccessEntry":                                     eksAccessEntry,
	"aws:guardduty/getDetector:getDetector":                                     guardDutyDetector,
	"aws:eks/getClusterVersions:getClusterVersions":                             getClusterVersions,
	"aws:rds/getEngineVersion:getEngineVersion":                                 getEngineVersion,
	"aws:rds/getOrderableDbInstance:getOrderableDbInstance":                     getOrderableDbInstance,
	"aws:elasticache/getReservedCacheNodeOffering:getReservedCacheNodeOffering": getReservedCacheNodeOffering,
}

// Functions lists the provider functions the mocks answer.
func Functions() []string {
	var out []string
	for token := range functions {
		out = append(out, token)
	}
	return sortedUnique(out)
}

// callerIdentity follows aws_caller_identity (sts:GetCallerIdentity): the
// account, the caller's ARN and its unique ID. STS refuses nothing a valid
// credential asks.
func callerIdentity(q query) (map[string]interface{}, error) {
	arn := q.account.Caller()
	userID := "AIDAEXAMPLEDEPLOYER"
	if strings.Contains(arn, ":assumed-role/") {
		// An assumed role's unique ID is the role ID and the session name.
		userID = "AROAEXAMPLEDEPLOYER:" + arn[strings.LastIndex(arn, "/")+1:]
	}
	return map[string]interface{}{"id": AccountID, "accountId": AccountID, "arn": arn, "userId": userID}, nil
}

// partition follows aws_partition: the partition of the provider's region,
// its DNS suffix and reverse DNS prefix.
func partition(q query) (map[string]interface{}, error) {
	p := Partition(q.region)
	reverse := "com.amazonaws"
	if p == "aws-cn" {
		reverse = "cn.com.amazonaws"
	}
	return map[string]interface{}{"id": p, "partition": p, "dnsSuffix": dnsSuffix(q.region), "reverseDnsPrefix": reverse}, nil
}

// getRegion follows aws_region (internal/service/meta/region_data_source.go,
// FindRegionByName / FindRegionByEndpoint): the provider's region, or the
// one named; "region not found for name" for a region the partitions do not
// list, "multiple regions matched" when name and endpoint disagree.
func getRegion(q query) (map[string]interface{}, error) {
	region := q.region
	if name := q.str("name"); name != "" {
		if _, ok := zoneCatalogue[name]; !ok {
			return nil, fmt.Errorf("region not found for name %q", name)
		}
		region = name
	}
	if ep := q.str("endpoint"); ep != "" {
		byEndpoint := ""
		for r := range zoneCatalogue {
			if regionEndpoint(r) == ep {
				byEndpoint = r
			}
		}
		switch {
		case byEndpoint == "":
			return nil, fmt.Errorf("region not found for endpoint %q", ep)
		case q.str("name") != "" && byEndpoint != region:
			return nil, fmt.Errorf("multiple regions matched; use additional constraints to reduce matches to a single region")
		}
		region = byEndpoint
	}
	return map[string]interface{}{
		"id": region, "name": region, "region": region, "endpoint": regionEndpoint(region), "description": region,
	}, nil
}

func regionEndpoint(region string) string {
	return fmt.Sprintf("ec2.%s.%s", region, dnsSuffix(region))
}

var registryIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// ecrAuthorizationToken follows aws_ecr_authorization_token
// (internal/service/ecr/authorization_token_data_source.go): a new token
// on every call, valid 12 hours, base64("AWS:<password>"); its ID is the
// region. ECR validates registryIds against [0-9]{12} (ECR API reference,
// GetAuthorizationToken).
func ecrAuthorizationToken(q query) (map[string]interface{}, error) {
	registry := AccountID
	if id := q.str("registryId"); id != "" {
		if !registryIDPattern.MatchString(id) {
			return nil, fmt.Errorf("getting ECR authorization token: ValidationException: 1 validation error detected: Value '[%s]' at 'registryIds' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]{12}]", id)
		}
		registry = id
	}
	password := fmt.Sprintf("mock-ecr-token-%s-%d", q.region, q.account.nextToken(q.region))
	return map[string]interface{}{
		"id":                 q.region,
		"registryId":         registry,
		"userName":           "AWS",
		"password":           password,
		"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + password)),
		"expiresAt":          "2026-12-01T12:00:00Z",
		"proxyEndpoint":      fmt.Sprintf("https://%s.dkr.ecr.%s.%s", registry, q.region, dnsSuffix(q.region)),
	}, nil
}

// eksCluster follows aws_eks_cluster (internal/service/eks/
// cluster_data_source.go): DescribeCluster by name, "reading EKS Cluster
// (<name>): couldn't find resource" when the region has no such cluster
// (ResourceNotFoundException becomes the plugin SDK's retry.NotFoundError).
// The cluster exists once a run has created it.
func eksCluster(q query) (map[string]interface{}, error) {
	name := q.str("name")
	if !q.account.hasCluster(q.region, name) {
		return nil, fmt.Errorf("reading EKS Cluster (%s): couldn't find resource", name)
	}
	return map[string]interface{}{
		"id":                     name,
		"name":                   name,
		"arn":                    ARN(q.region, "eks", q.region, "cluster/"+name),
		"endpoint":               eksEndpoint(name, q.region),
		"status":                 "ACTIVE",
		"version":                "1.35",
		"platformVersion":        "eks.9",
		"roleArn":                ARN(q.region, "iam", "", "role/"+name+"-eksRole"),
		"certificateAuthorities": []interface{}{map[string]interface{}{"data": eksCAData}},
		"identities": []interface{}{map[string]interface{}{
			"oidcs": []interface{}{map[string]interface{}{"issuer": eksIssuer(name, q.region)}},
		}},
		"vpcConfig": map[string]interface{}{
			"clusterSecurityGroupId": "sg-" + hexID(17, "cluster-sg", name, q.region),
			"endpointPrivateAccess":  true,
			"endpointPublicAccess":   true,
		},
	}, nil
}

// eksClusters follows aws_eks_clusters (internal/service/eks/
// clusters_data_source.go): every name ListClusters pages through in the
// provider's region, the region as the ID. It takes no argument and
// refuses nothing.
func eksClusters(q query) (map[string]interface{}, error) {
	names := []interface{}{}
	for _, n := range q.account.Clusters(q.region) {
		names = append(names, n)
	}
	return map[string]interface{}{"id": q.region, "names": names}, nil
}

// eksAccessEntry follows aws_eks_access_entry (internal/service/eks/
// access_entry_datasource.go): principal_arn must parse as an ARN
// (verify.ValidARN), then DescribeAccessEntry; "reading EKS Access Entry
// (<cluster>:<principal>): couldn't find resource" when the principal has
// no entry or the region no such cluster (ResourceNotFoundException
// becomes the plugin SDK's retry.NotFoundError).
func eksAccessEntry(q query) (map[string]interface{}, error) {
	const token = "aws:eks/getAccessEntry:getAccessEntry"
	if err := q.notModelled(token, "tags"); err != nil {
		return nil, err
	}
	name, principal := q.str("clusterName"), q.str("principalArn")
	if !strings.HasPrefix(principal, "arn:") {
		return nil, fmt.Errorf("%q (%s) is an invalid ARN: arn: invalid prefix", "principal_arn", principal)
	}
	id := name + ":" + principal
	tags, ok := q.account.accessEntry(q.region, name, principal)
	if !ok {
		return nil, fmt.Errorf("reading EKS Access Entry (%s): couldn't find resource", id)
	}
	out := accessEntryAttributes(q.region, name, principal)
	out["id"], out["clusterName"], out["principalArn"], out["type"] = id, name, principal, "STANDARD"
	tagMap := map[string]interface{}{}
	for k, v := range tags {
		tagMap[k] = v
	}
	out["tags"], out["tagsAll"] = tagMap, tagMap
	return out, nil
}

// noDetector is the data source's error for a region without a detector:
// FindDetector's AssertSingleValueResult over ListDetectors returns
// tfresource's "empty result" (terraform-provider-aws internal/service/
// guardduty/detector_data_source.go and detector.go).
const noDetector = "reading this account's single GuardDuty Detector: empty result"

// guardDutyDetector follows aws_guardduty_detector: without id, the
// region's single detector from ListDetectors (none: "empty result"; more
// than one: "too many results", which GuardDuty's one-per-region rule never
// lets happen); with id, GetDetector, which answers "not owned by the
// current account" for an unknown ID, reported as "couldn't find
// resource". The answer carries the detector's tags.
func guardDutyDetector(q query) (map[string]interface{}, error) {
	d, ok := q.account.Detector(q.region)
	if id := q.str("id"); id != "" {
		if !ok || d.ID != id {
			return nil, fmt.Errorf("reading GuardDuty Detector (%s): couldn't find resource", id)
		}
	} else if !ok {
		return nil, fmt.Errorf("%s", noDetector)
	}
	tags := map[string]interface{}{}
	for k, v := range d.Tags {
		tags[k] = v
	}
	return map[string]interface{}{
		"id": d.ID, "arn": ARN(q.region, "guardduty", q.region, "detector/"+d.ID), "status": "ENABLED",
		"findingPublishingFrequency": "SIX_HOURS",
		"serviceRoleArn":             ARN(q.region, "iam", "", "role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty"),
		// The features GetDetector lists are not modelled: the program
		// does not read them.
		"features": []interface{}{},
		"tags":     tags,
	}, nil
}
