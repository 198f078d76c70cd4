package mocks

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// outputs returns the ID and state the provider would report for r: its
// inputs plus the computed properties the program reads.
func (m *Mocks) outputs(r *Resource) (string, resource.PropertyMap) {
	state := r.Inputs.Copy()
	region := r.Region
	set := func(k string, v interface{}) { state[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	get := func(k string) string {
		if v, ok := r.Inputs[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	h := func(n int) string { return hexID(n, r.Type, r.Name, r.Parent) }
	if m.replaced[r.URN] {
		// A replacement is a new physical resource: a new suffix and ID.
		h = func(n int) string { return hexID(n, r.Type, r.Name, r.Parent, "replacement") }
	}
	// Pulumi auto-names resources whose physical name is not given: the
	// logical name plus a random suffix (here a stable one).
	autoname := func(prop string) string {
		if n := get(prop); n != "" {
			return n
		}
		n := r.Name + "-" + h(7)
		set(prop, n)
		return n
	}

	if strings.HasPrefix(r.Type, "pulumi:providers:") {
		return uuid(r.Type, r.Name), state
	}
	if !r.Custom {
		// Components have no ID; remote (multi-language) components return
		// their outputs.
		if r.Type == "eks:index:Cluster" {
			name := get("name")
			kubeconfig := eksKubeconfig(name, region)
			set("kubeconfig", kubeconfig)
			b, _ := json.Marshal(kubeconfig)
			set("kubeconfigJson", string(b))
		}
		return "", state
	}

	// Resources named by "name" whose ID is that name and whose ARN is
	// the name under a service's resource prefix.
	if named, ok := namedARNs[r.Type]; ok {
		name := autoname("name")
		set("arn", ARN(region, named.service, region, named.prefix+name))
		return name, state
	}

	switch r.Type {
	case "aws:ec2/vpc:Vpc":
		id := "vpc-" + h(17)
		set("arn", ARN(region, "ec2", region, "vpc/"+id))
		set("defaultSecurityGroupId", "sg-"+hexID(17, id, "default"))
		set("mainRouteTableId", "rtb-"+hexID(17, id, "main"))
		set("ownerId", AccountID)
		return id, state
	case "aws:ec2/subnet:Subnet":
		id := "subnet-" + h(17)
		set("arn", ARN(region, "ec2", region, "subnet/"+id))
		set("availabilityZoneId", zoneID(region, get("availabilityZone")))
		return id, state
	case "aws:ec2/internetGateway:InternetGateway":
		id := "igw-" + h(17)
		set("arn", ARN(region, "ec2", region, "internet-gateway/"+id))
		return id, state
	case "aws:ec2/eip:Eip":
		id := "eipalloc-" + h(17)
		set("allocationId", id)
		set("publicIp", documentationIP(h(4)))
		return id, state
	case "aws:ec2/natGateway:NatGateway":
		id := "nat-" + h(17)
		set("publicIp", documentationIP(h(4)))
		set("privateIp", "10.0.0."+fmt.Sprint(len(id)))
		return id, state
	case "aws:ec2/routeTable:RouteTable":
		id := "rtb-" + h(17)
		set("arn", ARN(region, "ec2", region, "route-table/"+id))
		return id, state
	case "aws:ec2/route:Route":
		return "r-" + get("routeTableId") + "1080289494", state
	case "aws:ec2/routeTableAssociation:RouteTableAssociation":
		return "rtbassoc-" + h(17), state
	case "aws:ec2/securityGroup:SecurityGroup":
		id := "sg-" + h(17)
		autoname("name")
		set("arn", ARN(region, "ec2", region, "security-group/"+id))
		return id, state
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		id := "sgr-" + h(17)
		set("arn", ARN(region, "ec2", region, "security-group-rule/"+id))
		return id, state
	case "aws:iam/role:Role":
		name := autoname("name")
		set("arn", ARN(region, "iam", "", "role/"+name))
		set("uniqueId", "AROA"+strings.ToUpper(h(17)))
		return name, state
	case "aws:iam/policy:Policy":
		name := autoname("name")
		arn := ARN(region, "iam", "", "policy/"+name)
		set("arn", arn)
		set("policyId", "ANPA"+strings.ToUpper(h(17)))
		return arn, state
	case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
		return get("role") + "-" + h(20), state
	case "aws:iam/rolePolicy:RolePolicy":
		return get("role") + ":" + autoname("name"), state
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		arn := ARN(region, "iam", "", "oidc-provider/"+strings.TrimPrefix(get("url"), "https://"))
		set("arn", arn)
		return arn, state
	case "aws:kms/key:Key":
		id := uuid(r.Type, r.Name, r.Parent)
		set("keyId", id)
		set("arn", ARN(region, "kms", region, "key/"+id))
		return id, state
	case "aws:eks/fargateProfile:FargateProfile":
		cluster := get("clusterName")
		name := autoname("fargateProfileName")
		set("arn", ARN(region, "eks", region, fmt.Sprintf("fargateprofile/%s/%s/%s", cluster, name, uuid(r.Name))))
		set("status", "ACTIVE")
		return cluster + ":" + name, state
	case "aws:eks/accessEntry:AccessEntry":
		// terraform-provider-aws internal/service/eks/access_entry.go: the
		// ID is "<cluster>:<principal ARN>".
		cluster, principal := get("clusterName"), get("principalArn")
		for k, v := range accessEntryAttributes(region, cluster, principal) {
			if _, given := state[resource.PropertyKey(k)]; !given {
				set(k, v)
			}
		}
		if get("type") == "" {
			set("type", "STANDARD")
		}
		return cluster + ":" + principal, state
	case "aws:eks/addon:Addon":
		cluster, addon := get("clusterName"), get("addonName")
		if get("addonVersion") == "" {
			set("addonVersion", "v1.11.4-eksbuild.14")
		}
		set("arn", ARN(region, "eks", region, fmt.Sprintf("addon/%s/%s/%s", cluster, addon, uuid(r.Name))))
		return cluster + ":" + addon, state
	case "kubernetes:helm.sh/v3:Release":
		ns, name := get("namespace"), get("name")
		if name == "" {
			name = autoname("name")
		}
		set("status", map[string]interface{}{
			"name": name, "namespace": ns, "chart": get("chart"), "version": get("version"),
			"appVersion": "", "status": "deployed", "revision": 1,
		})
		return ns + "/" + name, state
	case "aws:lb/loadBalancer:LoadBalancer":
		// Auto-named like the provider does it: at most 32 characters.
		name := autoname("name")
		suffix := "app/" + name + "/" + h(16)
		arn := ARN(region, "elasticloadbalancing", region, "loadbalancer/"+suffix)
		set("arn", arn)
		set("arnSuffix", suffix)
		set("dnsName", fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, 1000000000+int(hexNumber(h(8))%900000000), region))
		set("zoneId", albZoneID(region))
		set("vpcId", get("vpcId"))
		return arn, state
	case "aws:lb/targetGroup:TargetGroup":
		name := autoname("name")
		suffix := "targetgroup/" + name + "/" + h(16)
		arn := ARN(region, "elasticloadbalancing", region, suffix)
		set("arn", arn)
		set("arnSuffix", suffix)
		return arn, state
	case "aws:lb/listener:Listener":
		// Listener ARNs extend their load balancer's.
		lbArn := get("loadBalancerArn")
		arn := strings.Replace(lbArn, ":loadbalancer/", ":listener/", 1) + "/" + h(16)
		set("arn", arn)
		return arn, state
	case "aws:ecr/repository:Repository":
		name := autoname("name")
		url := fmt.Sprintf("%s.dkr.ecr.%s.%s/%s", AccountID, region, dnsSuffix(region), name)
		set("arn", ARN(region, "ecr", region, "repository/"+name))
		set("registryId", AccountID)
		set("repositoryUrl", url)
		return name, state
	case "aws:ecr/lifecyclePolicy:LifecyclePolicy":
		set("registryId", AccountID)
		return get("repository"), state
	case "docker-build:index:Image":
		// A registry digest names the pushed content: here it follows the
		// tags, which carry the source hash, so a source change yields a
		// new digest and nothing else does.
		var tags []string
		if v, ok := r.Inputs["tags"]; ok && v.IsArray() {
			for _, t := range v.ArrayValue() {
				if t.IsString() {
					tags = append(tags, t.StringValue())
				}
			}
		}
		digest := "sha256:" + hexID(64, append([]string{r.Type}, tags...)...)
		set("digest", digest)
		set("contextHash", hexID(64, append([]string{"context"}, tags...)...))
		if len(tags) > 0 {
			set("ref", tags[0]+"@"+digest)
		}
		return digest, state
	case "aws:sns/topic:Topic":
		arn := ARN(region, "sns", region, autoname("name"))
		set("arn", arn)
		set("owner", AccountID)
		return arn, state
	case "aws:sns/topicPolicy:TopicPolicy":
		return get("arn"), state
	case "aws:sns/topicSubscription:TopicSubscription":
		arn := get("topic") + ":" + uuid(r.Type, r.Name)
		set("arn", arn)
		set("pendingConfirmation", true)
		return arn, state
	case "aws:rds/globalCluster:GlobalCluster":
		id := autoname("globalClusterIdentifier")
		resourceID := "cluster-" + h(26)
		set("arn", ARN(region, "rds", "", "global-cluster:"+resourceID))
		set("globalClusterResourceId", resourceID)
		set("endpoint", id+".global-"+h(12)+".global.rds.amazonaws.com")
		return id, state
	case "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup":
		// AWS prefixes the suffix with a code of the primary's region.
		id := globalDatastorePrefix(region) + "-" + get("globalReplicationGroupIdSuffix")
		set("globalReplicationGroupId", id)
		set("arn", ARN(region, "elasticache", "", "globalreplicationgroup:"+id))
		set("clusterEnabled", true)
		return id, state
	case "aws:route53/healthCheck:HealthCheck":
		id := uuid(r.Type, r.Name)
		set("arn", ARN(region, "route53", "", "healthcheck/"+id))
		return id, state
	case "aws:route53/record:Record":
		set("fqdn", get("name"))
		id := get("zoneId") + "_" + get("name") + "_" + get("type")
		if s := get("setIdentifier"); s != "" {
			id += "_" + s
		}
		return id, state
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		id := autoname("replicationGroupId")
		set("arn", ARN(region, "elasticache", region, "replicationgroup:"+id))
		// Cluster mode answers on the configuration endpoint only.
		set("configurationEndpointAddress", fmt.Sprintf("clustercfg.%s.%s.%s.cache.amazonaws.com", id, h(6), regionCode(region)))
		if _, ok := state["port"]; !ok {
			set("port", 6379)
		}
		shards, replicas := number(r.Inputs, "numNodeGroups", 1), number(r.Inputs, "replicasPerNodeGroup", 0)
		if g := get("globalReplicationGroupId"); g != "" {
			// A Global Datastore secondary has the primary's shards.
			shards = m.globalShards(g)
			set("numNodeGroups", shards)
		}
		var members []interface{}
		for s := 1; s <= shards; s++ {
			for n := 1; n <= replicas+1; n++ {
				members = append(members, fmt.Sprintf("%s-%04d-%03d", id, s, n))
			}
		}
		set("memberClusters", members)
		set("clusterEnabled", true)
		set("engineVersionActual", get("engineVersion")+".0")
		return id, state
	case "aws:rds/cluster:Cluster":
		id := autoname("clusterIdentifier")
		zone := hexID(12, "rds-zone", region)
		set("arn", ARN(region, "rds", region, "cluster:"+id))
		set("endpoint", fmt.Sprintf("%s.cluster-%s.%s.rds.amazonaws.com", id, zone, region))
		set("readerEndpoint", fmt.Sprintf("%s.cluster-ro-%s.%s.rds.amazonaws.com", id, zone, region))
		if _, ok := state["port"]; !ok {
			set("port", 5432)
		}
		set("clusterResourceId", "cluster-"+strings.ToUpper(h(26)))
		set("hostedZoneId", "Z2R2ITUGPM61AM")
		set("engineVersionActual", get("engineVersion"))
		if v, ok := r.Inputs["manageMasterUserPassword"]; ok && v.IsBool() && v.BoolValue() {
			set("masterUserSecrets", []interface{}{map[string]interface{}{
				"secretArn":    ARN(region, "secretsmanager", region, "secret:rds!cluster-"+uuid(r.Name, region)+"-"+suffix6(h(6))),
				"secretStatus": "active",
				"kmsKeyId":     get("masterUserSecretKmsKeyId"),
			}})
		}
		return id, state
	case "aws:rds/clusterInstance:ClusterInstance":
		id := autoname("identifier")
		// RDS makes the first instance of a cluster its writer.
		m.mu.Lock()
		writer := true
		for _, o := range m.resources {
			if o.Type == r.Type && o.Inputs["clusterIdentifier"].DeepEquals(r.Inputs["clusterIdentifier"]) {
				writer = false
			}
		}
		m.mu.Unlock()
		set("writer", writer)
		set("arn", ARN(region, "rds", region, "db:"+id))
		set("endpoint", fmt.Sprintf("%s.%s.%s.rds.amazonaws.com", id, hexID(12, "rds-zone", region), region))
		set("port", 5432)
		set("dbiResourceId", "db-"+strings.ToUpper(h(26)))
		return id, state
	case "aws:secretsmanager/secret:Secret":
		name := autoname("name")
		// Secrets Manager appends six random characters to every ARN.
		arn := ARN(region, "secretsmanager", region, "secret:"+name+"-"+suffix6(h(6)))
		set("arn", arn)
		return arn, state
	case "aws:secretsmanager/secretVersion:SecretVersion":
		version := uuid(r.Type, r.Name, r.Parent)
		set("arn", get("secretId"))
		set("versionId", version)
		set("versionStages", []interface{}{"AWSCURRENT"})
		return get("secretId") + "|" + version, state
	// Issue 16: WAF, logs, flow logs, GuardDuty, events.
	case "aws:wafv2/webAcl:WebAcl":
		id := uuid(r.Type, r.Name, r.Parent)
		name := autoname("name")
		set("arn", ARN(region, "wafv2", region, "regional/webacl/"+name+"/"+id))
		set("capacity", 0)
		set("lockToken", uuid("lock", id))
		return id, state
	case "aws:wafv2/webAclAssociation:WebAclAssociation":
		return get("webAclArn") + "," + get("resourceArn"), state
	case "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration":
		return get("resourceArn"), state
	case "aws:cloudwatch/logGroup:LogGroup":
		// The provider reports the ARN without CloudWatch's ":*" suffix.
		name := autoname("name")
		set("arn", ARN(region, "logs", region, "log-group:"+name))
		return name, state
	case "aws:cloudwatch/logResourcePolicy:LogResourcePolicy":
		return get("policyName"), state
	case "aws:cloudwatch/logMetricFilter:LogMetricFilter":
		return autoname("name"), state
	case "aws:cloudwatch/eventRule:EventRule":
		name := autoname("name")
		set("arn", ARN(region, "events", region, "rule/"+name))
		set("eventBusName", "default")
		return name, state
	case "aws:cloudwatch/eventTarget:EventTarget":
		target := get("targetId")
		if target == "" {
			target = "terraform-" + h(20)
			set("targetId", target)
		}
		return get("rule") + "-" + target, state
	case "aws:s3/bucketV2:BucketV2":
		name := autoname("bucket")
		set("arn", fmt.Sprintf("arn:%s:s3:::%s", Partition(region), name))
		set("bucketDomainName", name+".s3.amazonaws.com")
		set("bucketRegionalDomainName", fmt.Sprintf("%s.s3.%s.amazonaws.com", name, region))
		set("region", region)
		return name, state
	case "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2":
		return get("bucket"), state
	case "aws:ec2/flowLog:FlowLog":
		id := "fl-" + h(17)
		set("arn", ARN(region, "ec2", region, "vpc-flow-log/"+id))
		return id, state
	case "aws:guardduty/detector:Detector":
		id := h(32)
		set("arn", ARN(region, "guardduty", region, "detector/"+id))
		set("accountId", AccountID)
		return id, state
	case "aws:guardduty/detectorFeature:DetectorFeature":
		return get("detectorId") + "/" + get("name"), state
	case "aws:amp/workspace:Workspace":
		// DescribeWorkspace: ID ws-<uuid>, ARN workspace/<id>, and the
		// Prometheus endpoint, which ends in a slash so that clients append
		// api/v1/remote_write (AMP API Reference, WorkspaceDescription;
		// aws-ia terraform-aws-eks-blueprints uses
		// "${prometheus_endpoint}api/v1/remote_write").
		id := "ws-" + uuid(r.Type, r.Name, r.Parent)
		set("arn", ARN(region, "aps", region, "workspace/"+id))
		set("prometheusEndpoint", "https://aps-workspaces."+region+".amazonaws.com/workspaces/"+id+"/")
		return id, state
	case "aws:lb/trustStore:TrustStore":
		name := autoname("name")
		arn := ARN(region, "elasticloadbalancing", region, "truststore/"+name+"/"+h(16))
		set("arn", arn)
		set("arnSuffix", "truststore/"+name+"/"+h(16))
		return arn, state
	case "random:index/randomPassword:RandomPassword":
		// The provider marks the result secret (additionalSecretOutputs).
		pw := password(number(r.Inputs, "length", 16), get("overrideSpecial"), h(64))
		state["result"] = resource.MakeSecret(resource.NewStringProperty(pw))
		state["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty("$2a$10$" + h(53)))
		return "none", state
	case "random:index/randomId:RandomId":
		// byteLength random bytes; the provider's ID is their base64url.
		n := number(r.Inputs, "byteLength", 8)
		hexValue := h(2 * n)
		raw, _ := hex.DecodeString(hexValue)
		set("hex", hexValue)
		set("dec", new(big.Int).SetBytes(raw).String())
		set("b64Std", base64.StdEncoding.EncodeToString(raw))
		set("b64Url", base64.RawURLEncoding.EncodeToString(raw))
		return base64.RawURLEncoding.EncodeToString(raw), state
	}

	// Kubernetes objects are identified by namespace/name.
	if strings.HasPrefix(r.Type, "kubernetes:") {
		meta := state["metadata"]
		// The Kubernetes provider auto-names an object without
		// metadata.name: the logical name plus 8 random characters.
		name, ns := r.Name+"-"+h(8), ""
		if meta.IsObject() {
			obj := meta.ObjectValue().Copy()
			if v, ok := obj["name"]; ok && v.IsString() {
				name = v.StringValue()
			} else {
				obj["name"] = resource.NewStringProperty(name)
			}
			if v, ok := obj["namespace"]; ok && v.IsString() {
				ns = v.StringValue()
			}
			obj["uid"] = resource.NewStringProperty(uuid(r.Type, r.Name, r.Parent))
			state["metadata"] = resource.NewObjectProperty(obj)
		}
		if ns != "" {
			return ns + "/" + name, state
		}
		return name, state
	}

	// Any other AWS resource: an ID and an ARN of the usual shape, so a
	// missing rule still yields something an ARN parser accepts.
	if strings.HasPrefix(r.Type, "aws:") {
		service := strings.SplitN(strings.TrimPrefix(r.Type, "aws:"), "/", 2)[0]
		id := r.Name + "-" + h(8)
		if _, ok := state["arn"]; !ok {
			set("arn", ARN(region, service, region, id))
		}
		return id, state
	}
	return r.Name + "-" + h(8), state
}

// zoneID is the mocked account's zone ID of a zone name (zones.go).
func zoneID(region, az string) string { return ZoneID(region, az) }

func regionCode(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return strings.ReplaceAll(region, "-", "")
	}
	return parts[0] + string(parts[1][0]) + parts[2]
}

// documentationIP returns an address of TEST-NET-2 (RFC 5737).
func documentationIP(seed string) string {
	n := 0
	for _, c := range seed {
		n = (n*31 + int(c)) % 254
	}
	return fmt.Sprintf("198.51.100.%d", n+1)
}

// eksCAData is a base64 PEM of the shape EKS returns (not a real certificate).
var eksCAData = base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\ncm5ldGVzMB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAwMDAwMFowFTETMBEGA1UE\n-----END CERTIFICATE-----\n"))

// eksEndpoint is the API server URL EKS would give the named cluster.
func eksEndpoint(name, region string) string {
	return fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(hexID(32, "endpoint", name, region)), region)
}

// eksIssuer is the OIDC issuer EKS would give the named cluster.
func eksIssuer(name, region string) string {
	return fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/%s", region, strings.ToUpper(hexID(32, "endpoint", name, region)))
}

// eksKubeconfig is the kubeconfig object pulumi-eks outputs.
func eksKubeconfig(name, region string) map[string]interface{} {
	return map[string]interface{}{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "aws",
		"clusters": []interface{}{map[string]interface{}{
			"name":    "kubernetes",
			"cluster": map[string]interface{}{"server": eksEndpoint(name, region), "certificate-authority-data": eksCAData},
		}},
		"contexts": []interface{}{map[string]interface{}{
			"name":    "aws",
			"context": map[string]interface{}{"cluster": "kubernetes", "user": "aws"},
		}},
		"users": []interface{}{map[string]interface{}{
			"name": "aws",
			"user": map[string]interface{}{"exec": map[string]interface{}{
				"apiVersion": "client.authentication.k8s.io/v1beta1",
				"command":    "aws",
				"args":       []interface{}{"eks", "get-token", "--cluster-name", name, "--output", "json"},
			}},
		}},
	}
}

// number reads a numeric input, or def.
func number(inputs resource.PropertyMap, key string, def int) int {
	if v, ok := inputs[resource.PropertyKey(key)]; ok && v.IsNumber() {
		return int(v.NumberValue())
	}
	return def
}

// suffix6 turns hex into the mixed-case six characters AWS appends to
// secret ARNs.
func suffix6(hex string) string {
	const abc = "AbCdEfGhIjKlMnOpQrStUvWxYz"
	b := []byte(hex[:6])
	for i, c := range b {
		b[i] = abc[int(c)%len(abc)]
	}
	return string(b)
}

// password is a deterministic stand-in for a random password of n
// characters, cycling lower, upper, digit and special (from specials, or
// the provider's default set) so any minimum counts are met.
func password(n int, specials, seed string) string {
	if specials == "" {
		specials = "!@#$%&*()-_=+[]{}<>:?"
	}
	classes := []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", specials}
	out := make([]byte, n)
	for i := range out {
		set := classes[i%len(classes)]
		out[i] = set[(int(seed[i%len(seed)])*7+i*13)%len(set)]
	}
	return string(out)
}

// albZoneID is the Route 53 hosted zone of ALBs in a region (the real IDs
// of the regions the stacks use, a stable stand-in elsewhere).
func albZoneID(region string) string {
	switch region {
	case "us-east-1":
		return "Z35SXDOTRQ7X7K"
	case "us-east-2":
		return "Z3AADJGX6KTTL2"
	case "us-west-2":
		return "Z1H1FL5HABSF5"
	case "eu-west-1":
		return "Z32O12XQLNTSW2"
	}
	return "Z" + strings.ToUpper(hexID(13, "alb-zone", region))
}

// hexNumber reads a hex string as a number (0 when it is not one).
func hexNumber(s string) uint64 {
	var n uint64
	for _, c := range s {
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		default:
			return 0
		}
		n = n*16 + d
	}
	return n
}

// globalDatastorePrefix stands in for the code AWS puts before a Global
// Datastore's ID suffix (per primary region).
func globalDatastorePrefix(region string) string {
	if region == "us-east-1" {
		return "virxk"
	}
	return hexID(5, "gds", region)
}

// globalShards is the shard count of a Global Datastore's primary group.
func (m *Mocks) globalShards(globalID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var primaryID string
	for _, r := range m.resources {
		if r.Type == "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup" && r.ID == globalID {
			if v, ok := r.Inputs["primaryReplicationGroupId"]; ok && v.IsString() {
				primaryID = v.StringValue()
			}
		}
	}
	for _, r := range m.resources {
		if r.Type == "aws:elasticache/replicationGroup:ReplicationGroup" && r.ID == primaryID {
			return number(r.Inputs, "numNodeGroups", 1)
		}
	}
	return 1
}

// namedARNs are the resource types whose ID is their name and whose ARN is
// arn:<partition>:<service>:<region>:<account>:<prefix><name>.
var namedARNs = map[string]struct{ service, prefix string }{
	"aws:kms/alias:Alias":                                 {"kms", ""},
	"aws:cloudwatch/metricAlarm:MetricAlarm":              {"cloudwatch", "alarm:"},
	"aws:elasticache/parameterGroup:ParameterGroup":       {"elasticache", "parametergroup:"},
	"aws:elasticache/subnetGroup:SubnetGroup":             {"elasticache", "subnetgroup:"},
	"aws:rds/subnetGroup:SubnetGroup":                     {"rds", "subgrp:"},
	"aws:rds/clusterParameterGroup:ClusterParameterGroup": {"rds", "cluster-pg:"},
}

// accessEntryAttributes are what EKS computes for a STANDARD access entry
// (DescribeAccessEntry): its ARN, the Kubernetes user name it maps the
// principal to (a role's sessions by session name), no groups, and the
// times.
func accessEntryAttributes(region, cluster, principal string) map[string]interface{} {
	kind, name := "user", principal[strings.LastIndex(principal, "/")+1:]
	user := principal
	if strings.Contains(principal, ":role/") {
		kind = "role"
		// EKS User Guide, "Create access entries": a role's path is
		// removed in the generated user name.
		user = fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/{{SessionName}}", Partition(region), AccountID, name)
	}
	return map[string]interface{}{
		"accessEntryArn":   ARN(region, "eks", region, fmt.Sprintf("access-entry/%s/%s/%s/%s/%s", cluster, kind, AccountID, name, uuid(cluster, principal))),
		"userName":         user,
		"kubernetesGroups": []interface{}{},
		"createdAt":        "2026-12-01T00:00:00Z",
		"modifiedAt":       "2026-12-01T00:00:00Z",
	}
}
