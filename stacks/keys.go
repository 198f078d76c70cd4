package stacks

// Namespace is the project's configuration namespace (the project name).
const Namespace = "auth-platform"

// RegionKey is the AWS provider's region, the one key outside our namespace.
const RegionKey = "aws:region"

// Key documents one configuration key of the project. Keys is the single
// source of the defaults: the reader applies them, and a test holds
// Pulumi.yaml's config schema and the README to the same table.
type Key struct {
	Name        string
	Type        string // string, integer, boolean or array (of strings)
	Default     interface{}
	Description string
}

// Keys lists every project configuration key.
var Keys = []Key{
	{"appName", "string", "auth",
		"Short application name, the first part of every resource name (lowercase, 2-12 characters)."},
	{"environment", "string", "dev",
		"dev, staging or prod. prod demands NAT per AZ and protected stateful resources."},
	{"vpcCidr", "string", "10.0.0.0/16",
		"IPv4 block of the VPC, /16 to /20 inside RFC 1918. Each AZ gets a private VPC/8 and a public VPC/64."},
	{"availabilityZones", "array", []string{},
		"Explicit AZ names, e.g. [us-east-1a, us-east-1b, us-east-1c]. Empty: the first azCount zones of the region."},
	{"azCount", "integer", 3,
		"How many AZs to use when availabilityZones is empty (2-7)."},
	{"natGateways", "string", "perAz",
		"perAz (one NAT gateway per AZ, survives an AZ outage) or single (one, cheaper; dev only)."},
	{"kubernetesVersion", "string", "1.33",
		"EKS Kubernetes version, 1.30 or later (the preStop sleep handler needs 1.30)."},
	{"endpointPublicAccess", "boolean", true,
		"Expose the EKS API endpoint publicly (to publicAccessCidrs). The deploying host must reach the API."},
	{"endpointPrivateAccess", "boolean", true,
		"Expose the EKS API endpoint inside the VPC."},
	{"publicAccessCidrs", "array", []string{"0.0.0.0/0"},
		"CIDR blocks allowed to reach the public EKS endpoint."},
	{"clusterLogTypes", "array", []string{"api", "audit", "authenticator"},
		"EKS control-plane logs sent to CloudWatch: api, audit, authenticator, controllerManager, scheduler."},
	{"authNamespace", "string", "auth",
		"Kubernetes namespace of the auth service; it gets its own Fargate profile."},
	{"protectStatefulResources", "boolean", false,
		"Mark stateful resources (data stores, VPC, cluster) protected so `pulumi destroy` refuses them. Required in prod."},
}

func keyByName(name string) Key {
	for _, k := range Keys {
		if k.Name == name {
			return k
		}
	}
	panic("stacks: unregistered config key " + name)
}
