package mocks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Who runs the deployment and what the account holds before it, beyond the
// catalogue: a test sets these to play a first `up` as one principal and a
// second `up` (after the first created the cluster) as the same or
// another, and puts them back when done (runs are serialized, see Run).
var (
	// Caller is the resource part of the ARN sts:GetCallerIdentity answers:
	// "assumed-role/<role>/<session>" (an STS session ARN) or
	// "user/<name>" (an IAM user ARN).
	Caller = DefaultCaller
	// EKSClusters are the EKS clusters that exist, by region.
	EKSClusters = map[string][]string{}
	// EKSAccessEntries are the principal ARNs that have an access entry,
	// by cluster name: the creator's, which EKS makes with the cluster, and
	// the ones a stack created.
	EKSAccessEntries = map[string][]string{}
)

// DefaultCaller is a session of a deploy role no shipped stack lists.
const DefaultCaller = "assumed-role/platform-deployer/pulumi"

// callerIdentity answers sts:GetCallerIdentity for Caller.
func callerIdentity(region string) map[string]interface{} {
	arn := fmt.Sprintf("arn:%s:iam::%s:%s", Partition(region), AccountID, Caller)
	userID := "AIDAEXAMPLEUSER"
	if strings.HasPrefix(Caller, "assumed-role/") {
		arn = fmt.Sprintf("arn:%s:sts::%s:%s", Partition(region), AccountID, Caller)
		userID = "AROAEXAMPLEROLE:" + Caller[strings.LastIndex(Caller, "/")+1:]
	}
	return map[string]interface{}{"id": AccountID, "accountId": AccountID, "arn": arn, "userId": userID}
}

// eksClusters answers aws:eks/getClusters (terraform-provider-aws
// internal/service/eks/clusters_data_source.go: every name ListClusters
// pages through, the region as the ID).
func eksClusters(region string, _ resource.PropertyMap) (map[string]interface{}, error) {
	names := append([]string{}, EKSClusters[region]...)
	sort.Strings(names)
	out := make([]interface{}, len(names))
	for i, n := range names {
		out[i] = n
	}
	return map[string]interface{}{"id": region, "names": out}, nil
}

// eksAccessEntry answers aws:eks/getAccessEntry
// (internal/service/eks/access_entry_datasource.go): DescribeAccessEntry,
// and "reading EKS Access Entry (<cluster>:<principal>): couldn't find
// resource" when there is none, or no such cluster in the region.
func eksAccessEntry(region string, args resource.PropertyMap) (map[string]interface{}, error) {
	cluster, principal := str(args, "clusterName"), str(args, "principalArn")
	id := cluster + ":" + principal
	found := false
	if contains(EKSClusters[region], cluster) {
		found = contains(EKSAccessEntries[cluster], principal)
	}
	if !found {
		return nil, fmt.Errorf("reading EKS Access Entry (%s): couldn't find resource", id)
	}
	name := principal[strings.LastIndex(principal, "/")+1:]
	user := principal
	if strings.Contains(principal, ":role/") {
		user = fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/{{SessionName}}", Partition(region), AccountID, name)
	}
	return map[string]interface{}{
		"id": id, "clusterName": cluster, "principalArn": principal, "type": "STANDARD", "userName": user,
		"accessEntryArn":   ARN(region, "eks", region, fmt.Sprintf("access-entry/%s/role/%s/%s/%s", cluster, AccountID, name, hexID(8, id))),
		"kubernetesGroups": []interface{}{}, "createdAt": "2026-12-01T00:00:00Z", "modifiedAt": "2026-12-01T00:00:00Z",
		"tags": map[string]interface{}{}, "tagsAll": map[string]interface{}{},
	}, nil
}

func init() {
	lookups["aws:eks/getClusters:getClusters"] = eksClusters
	lookups["aws:eks/getAccessEntry:getAccessEntry"] = eksAccessEntry
}
