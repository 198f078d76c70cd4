package tests

// Fresh-account facts (issue 11.10): the deploy role's permissions as a
// shipped document that covers every service the plan uses, Elastic IPs
// counted per region, log groups created with a retention before the
// services create them, a final snapshot name that never repeats, and IAM
// database authentication off.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/deployrole"
	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	policy "github.com/authplatform/auth-platform/components/deployrole"
)

// planTokens lists every AWS type and function token a shipped stack
// uses: registered resources, what pulumi-eks creates inside, and the
// lookups.
func planTokens(t *testing.T, res *mocks.Result) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, r := range res.Resources {
		if strings.HasPrefix(r.Type, "aws:") {
			out[r.Type] = true
		}
		for _, c := range r.RemoteChildren {
			if strings.HasPrefix(c.Type, "aws:") {
				out[c.Type] = true
			}
		}
	}
	for _, c := range res.Mocks.Calls() {
		if strings.HasPrefix(c.Token, "aws:") {
			out[c.Token] = true
		}
	}
	require.NotEmpty(t, out)
	return out
}

func TestDeployRolePolicyCoversEveryServiceThePlanUses(t *testing.T) {
	doc := policy.Policy("aws", "auth")
	services := map[string]bool{}
	for _, stack := range stackFiles(t) {
		for token := range planTokens(t, planStack(t, stack)) {
			service, ok := policy.ServiceOf(token)
			require.True(t, ok, "%s uses %s: map it to its IAM service in components/deployrole (ServiceOf) and grant it", stack, token)
			if service != "" {
				services[service] = true
			}
		}
	}
	// The services a reviewer expects for this platform, at least.
	for _, s := range []string{"ec2", "eks", "iam", "kms", "rds", "elasticache", "elasticloadbalancing", "secretsmanager", "logs", "cloudwatch", "sns", "route53"} {
		assert.True(t, services[s], "the plans use %s", s)
	}
	var missing []string
	for s := range services {
		if !policy.Grants(doc, s) {
			missing = append(missing, s)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "services the plans use that the deploy role may not touch")
}

func TestDeployRolePolicyIsAValidManagedPolicy(t *testing.T) {
	doc := policy.Policy("aws", "auth")
	js, err := doc.JSON()
	require.NoError(t, err)
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, []byte(js)))
	// IAM: a customer managed policy has at most 6,144 characters,
	// whitespace not counted.
	assert.LessOrEqual(t, compact.Len(), 6144)

	var parsed struct {
		Version   string
		Statement []map[string]interface{}
	}
	require.NoError(t, json.Unmarshal([]byte(js), &parsed))
	assert.Equal(t, "2012-10-17", parsed.Version)
	require.NotEmpty(t, parsed.Statement)
	action := regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*]+$`)
	sids := map[string]bool{}
	for _, s := range parsed.Statement {
		sid, _ := s["Sid"].(string)
		assert.Regexp(t, `^[A-Za-z0-9]+$`, sid, "IAM Sids are alphanumeric")
		assert.False(t, sids[sid], "Sid %s twice", sid)
		sids[sid] = true
		assert.Equal(t, "Allow", s["Effect"], sid)
		assert.NotEmpty(t, s["Resource"], sid)
		for _, a := range s["Action"].([]interface{}) {
			assert.Regexp(t, action, a, sid)
			assert.NotEqual(t, "iam:*", a, "IAM is granted action by action")
			assert.NotEqual(t, "*", a)
		}
	}
}

// TestDeployRoleMayGrantKMSToServices: EKS, RDS and ElastiCache take
// grants on the program's keys, as the caller.
func TestDeployRoleMayGrantKMSToServices(t *testing.T) {
	doc := policy.Policy("aws", "auth")
	grants := false
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			if a == "kms:CreateGrant" {
				grants = true
				assert.Equal(t, []string{"true"}, s.Condition["Bool"]["kms:GrantIsForAWSResource"], "grants for AWS services only")
			}
		}
	}
	assert.True(t, grants, "kms:CreateGrant")
}

// roleInputs are the resource inputs that hand a role to an AWS service,
// with the service principal the role trusts: the value IAM checks as
// iam:PassedToService (IAM User Guide, "IAM: Pass an IAM role to a
// specific AWS service").
var roleInputs = map[string]string{
	// VPC User Guide, "IAM role for publishing flow logs to CloudWatch
	// Logs": the principal creating the flow log passes the role.
	"aws:ec2/flowLog:FlowLog.iamRoleArn": "vpc-flow-logs.amazonaws.com",
	// EKS User Guide, "Amazon EKS Pod execution IAM role".
	"aws:eks/fargateProfile:FargateProfile.podExecutionRoleArn": "eks-fargate-pods.amazonaws.com",
	// EKS User Guide, "Amazon EKS cluster IAM role"; set inside pulumi-eks
	// v2.8.1 (nodejs/eks/cluster.ts:590), see eksClusterRoleARN.
	"aws:eks/cluster:Cluster.roleArn": "eks.amazonaws.com",
}

// roleARNsNotPassed are inputs that hold a role ARN without handing the
// role to a service.
var roleARNsNotPassed = map[string]string{
	"aws:eks/accessEntry:AccessEntry.principalArn":                         "names the principal the entry admits",
	"aws:eks/accessPolicyAssociation:AccessPolicyAssociation.principalArn": "names the principal the policy applies to",
}

var roleARN = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/`)

// roleARNInputs lists every AWS resource input of a plan that holds an
// IAM role ARN, as "<type>.<input path>" with list indices as "*".
func roleARNInputs(res *mocks.Result) map[string][]string {
	out := map[string][]string{}
	var walk func(typ, path string, v interface{})
	walk = func(typ, path string, v interface{}) {
		switch x := v.(type) {
		case map[string]interface{}:
			for k, e := range x {
				walk(typ, strings.TrimPrefix(path+"."+k, "."), e)
			}
		case []interface{}:
			for _, e := range x {
				walk(typ, path+".*", e)
			}
		case string:
			if roleARN.MatchString(x) {
				out[typ+"."+path] = append(out[typ+"."+path], x)
			}
		}
	}
	for _, r := range res.Resources {
		if strings.HasPrefix(r.Type, "aws:") {
			walk(r.Type, "", mocks.PlainMap(r.Inputs))
		}
	}
	return out
}

// eksClusterRoleARN is the ARN of the cluster role pulumi-eks v2.8.1
// creates and passes to CreateCluster when no serviceRole is given
// (cluster.ts:493-510, servicerole.ts:82): its child aws:iam/role:Role
// "<name>-eksRole-role", auto-named with Pulumi's 7-character suffix.
func eksClusterRoleARN(t *testing.T, c *mocks.Resource) string {
	t.Helper()
	require.Nil(t, value(c.Inputs, "serviceRole"), "%s: the stack lets pulumi-eks create its cluster role", c.Name)
	for _, child := range c.RemoteChildren {
		if child.Type == "aws:iam/role:Role" && child.Name == c.Name+"-eksRole-role" {
			return "arn:aws:iam::" + mocks.AccountID + ":role/" + child.Name + "-1a2b3c4"
		}
	}
	require.Failf(t, "no cluster role", "%s creates no %s-eksRole-role", c.Name, c.Name)
	return ""
}

// TestDeployRoleMayPassEveryRoleTheStackPassesToItsServiceOnly: every
// input of every shipped stack that holds a role ARN is either a role
// passed to a service (roleInputs) or known not to pass one; each passed
// role may be passed by the deploy role to that service and no other.
func TestDeployRoleMayPassEveryRoleTheStackPassesToItsServiceOnly(t *testing.T) {
	checked := map[string]int{}
	for _, stack := range stackFiles(t) {
		raw, _ := stackConfig(t, stack)
		app := raw[project+":appName"]
		if app == "" {
			app = "auth"
		}
		doc := policy.Policy("aws", app)
		res := planStack(t, stack)
		passed := roleARNInputs(res)
		for _, c := range ofType(res, eksType) {
			passed["aws:eks/cluster:Cluster.roleArn"] = append(passed["aws:eks/cluster:Cluster.roleArn"], eksClusterRoleARN(t, c))
		}
		for input, arns := range passed {
			if _, ok := roleARNsNotPassed[input]; ok {
				continue
			}
			service, ok := roleInputs[input]
			if !assert.True(t, ok, "%s: %s holds a role ARN (%s): say in roleInputs which service it is passed to, or in roleARNsNotPassed why none", stack, input, arns[0]) {
				continue
			}
			for _, arn := range arns {
				checked[input]++
				assert.True(t, policy.Allows(doc, "iam:PassRole", arn, map[string]string{"iam:PassedToService": service}),
					"%s: the deploy role may not pass %s (%s) to %s", stack, arn, input, service)
				for _, other := range roleInputs {
					if other != service {
						assert.False(t, policy.Allows(doc, "iam:PassRole", arn, map[string]string{"iam:PassedToService": other}),
							"%s: the deploy role may pass %s to %s too", stack, arn, other)
					}
				}
			}
		}
	}
	for input := range roleInputs {
		assert.Positive(t, checked[input], "no shipped stack passes a role through %s: drop it from roleInputs", input)
	}
	// Nothing else is passable: another role of the app, or a role of
	// another app, to any service.
	doc := policy.Policy("aws", "auth")
	for _, service := range roleInputs {
		assert.False(t, policy.Allows(doc, "iam:PassRole", "arn:aws:iam::123456789012:role/auth-dev-use1-auth-irsa-251f22b",
			map[string]string{"iam:PassedToService": service}), service)
		assert.False(t, policy.Allows(doc, "iam:PassRole", "arn:aws:iam::123456789012:role/billing-dev-use1-flow-logs",
			map[string]string{"iam:PassedToService": service}), service)
	}
}

// slrCausedBy is what the services' documentation says: the resource
// types whose creation, as the caller, makes AWS create a service-linked
// role in a fresh account, and that role's service principal.
var slrCausedBy = map[string]string{
	// ELB User Guide, "Service-linked roles for Elastic Load Balancing".
	"aws:lb/loadBalancer:LoadBalancer": "elasticloadbalancing.amazonaws.com",
	// EKS User Guide, "Using roles for Amazon EKS clusters" (pulumi-eks
	// creates the cluster inside its component).
	"aws:eks/cluster:Cluster": "eks.amazonaws.com",
	// EKS User Guide, "Using roles for Amazon EKS Fargate profiles".
	"aws:eks/fargateProfile:FargateProfile": "eks-fargate.amazonaws.com",
	// ElastiCache User Guide, "Using service-linked roles for Amazon ElastiCache".
	"aws:elasticache/replicationGroup:ReplicationGroup": "elasticache.amazonaws.com",
	// Aurora User Guide, "Using service-linked roles for Amazon Aurora".
	"aws:rds/cluster:Cluster": "rds.amazonaws.com",
	// GuardDuty User Guide, "Service-linked role permissions for GuardDuty".
	"aws:guardduty/detector:Detector": "guardduty.amazonaws.com",
}

// TestDeployRoleMayCreateEveryServiceLinkedRoleThePlanCauses: a fresh
// account has none of the service-linked roles; every service a plan uses
// has been reviewed for them (ServiceLinkedRolesByService), and the deploy
// role may create each one its resources cause, by its real ARN and
// service name, and no other.
func TestDeployRoleMayCreateEveryServiceLinkedRoleThePlanCauses(t *testing.T) {
	doc := policy.Policy("aws", "auth")
	create := func(service, name string) bool {
		arn := "arn:aws:iam::" + mocks.AccountID + ":role/aws-service-role/" + service + "/" + name
		return policy.Allows(doc, "iam:CreateServiceLinkedRole", arn, map[string]string{"iam:AWSServiceName": service})
	}
	caused := map[string]string{} // type -> service
	seen := map[string]bool{}
	for _, stack := range stackFiles(t) {
		for token := range planTokens(t, planStack(t, stack)) {
			service, ok := policy.ServiceOf(token)
			if !ok || service == "" || strings.Contains(token, "/get") {
				continue // lookups create nothing; unknown tokens fail TestDeployRolePolicyCoversEveryServiceThePlanUses
			}
			seen[token] = true
			roles, reviewed := policy.ServiceLinkedRolesByService[service]
			if !assert.True(t, reviewed, "%s uses %s (%s): review its service-linked roles in deployrole.ServiceLinkedRolesByService", stack, service, token) {
				continue
			}
			for _, r := range roles {
				for _, by := range r.CreatedBy {
					if by == token {
						caused[token] = r.Service
						assert.True(t, create(r.Service, r.Name), "%s: %s causes %s, which the deploy role may not create", stack, token, r.Name)
					}
				}
			}
		}
	}
	for typ, service := range slrCausedBy {
		require.True(t, seen[typ], "no shipped stack creates a %s: drop it from slrCausedBy", typ)
		assert.Equal(t, service, caused[typ], "%s causes the service-linked role of %s", typ, service)
	}
	assert.False(t, create("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling"), "only the roles the stacks cause")
}

// TestDeployRoleIAMScopeCoversTheNamesThePlanGives: IAM is granted on
// names that start with the appName; every role and policy the plans
// create (the program's and pulumi-eks') does.
func TestDeployRoleIAMScopeCoversTheNamesThePlanGives(t *testing.T) {
	for _, stack := range stackFiles(t) {
		raw, _ := stackConfig(t, stack)
		app := raw[project+":appName"]
		if app == "" {
			app = "auth" // Pulumi.yaml default
		}
		res := planStack(t, stack)
		var names []string
		for _, typ := range []string{"aws:iam/role:Role", "aws:iam/policy:Policy"} {
			for _, r := range ofType(res, typ) {
				names = append(names, r.Outputs["name"].StringValue())
			}
		}
		for _, r := range ofType(res, eksType) {
			for _, c := range r.RemoteChildren {
				if c.Type == "aws:iam/role:Role" {
					names = append(names, c.Name) // auto-named from it
				}
			}
		}
		require.NotEmpty(t, names, stack)
		for _, n := range names {
			assert.True(t, strings.HasPrefix(n, app+"-"), "%s: IAM name %s is outside the deploy role's %s-* scope", stack, n, app)
		}
	}
}

func TestDeployRolePolicyCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, deployrole.Main([]string{"--app", "billing", "--partition", "aws-us-gov"}, &out, &errOut), errOut.String())
	assert.JSONEq(t, policy.Policy("aws-us-gov", "billing").MustJSON(), out.String())
	assert.Contains(t, out.String(), "arn:aws-us-gov:iam::*:role/billing-*")
	assert.NotContains(t, out.String(), "arn:aws:")
	assert.Equal(t, 2, deployrole.Main([]string{"extra"}, &out, &errOut))
}

// TestPlanCountsElasticIPsPerRegion: one per NAT gateway, counted per
// region in the plan; README states the shipped stacks' totals per region
// against EC2's default quota of 5 (EC2 User Guide, "Elastic IP address
// quota").
func TestPlanCountsElasticIPsPerRegion(t *testing.T) {
	assert.Equal(t, 5, plan.DefaultElasticIPQuota)
	totals := map[string]int{}
	for _, stack := range stackFiles(t) {
		cfg, secrets := stackConfig(t, stack)
		doc, err := plan.Plan(project, stack, cfg, secrets)
		require.NoError(t, err)
		res := planStack(t, stack)
		want := map[string]int{}
		for _, r := range ofType(res, "aws:ec2/eip:Eip") {
			want[r.Region]++
		}
		require.NotEmpty(t, want, stack)
		assert.Equal(t, want, doc.ElasticIPs, stack)
		assert.Len(t, ofType(res, "aws:ec2/natGateway:NatGateway"), sum(want), "%s: one Elastic IP per NAT gateway", stack)
		for region, n := range doc.ElasticIPs {
			totals[region] += n
		}
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	for region, n := range totals {
		line := fmt.Sprintf("| `%s` | %d |", region, n)
		assert.Contains(t, string(readme), line, "README's Elastic IP table")
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestLogGroupsExistBeforeTheServicesWriteToThem: EKS writes control-plane
// logs to /aws/eks/<cluster>/cluster (EKS User Guide, "Send control plane
// logs to CloudWatch Logs") and Aurora the postgresql log to
// /aws/rds/cluster/<cluster>/postgresql (Aurora User Guide, "Publishing
// Aurora PostgreSQL logs to Amazon CloudWatch Logs"); each creates the
// group never expiring unless it exists.
func TestLogGroupsExistBeforeTheServicesWriteToThem(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			groups := map[string]*mocks.Resource{}
			for _, g := range ofType(rp.res, "aws:cloudwatch/logGroup:LogGroup") {
				groups[str(t, g, "name")] = g
			}
			eks := one(t, rp.res, eksType, "-eks")
			cp := groups["/aws/eks/"+str(t, eks, "name")+"/cluster"]
			require.NotNil(t, cp, "control-plane log group")
			assert.Contains(t, eks.DependsOn, cp.URN)

			db := one(t, rp.res, "aws:rds/cluster:Cluster", "-aurora")
			assert.Contains(t, stringList(t, db, "enabledCloudwatchLogsExports"), "postgresql")
			pg := groups["/aws/rds/cluster/"+str(t, db, "clusterIdentifier")+"/postgresql"]
			require.NotNil(t, pg, "postgresql log group")
			assert.Contains(t, db.DependsOn, pg.URN)

			for _, g := range []*mocks.Resource{cp, pg} {
				days, ok := value(g.Inputs, "retentionInDays").(float64)
				require.True(t, ok, "%s has a retention", g.Name)
				assert.Equal(t, float64(90), days, "%s: 90 days (components' default)", g.Name)
				assert.Equal(t, eks.Provider, g.Provider, "%s: in the cluster's region", g.Name)
			}
		})
	}
}

// TestFinalSnapshotNameDoesNotRepeat: RDS keeps a final snapshot after the
// cluster is gone, so a fixed name fails the next destroy of a recreated
// cluster with DBClusterSnapshotAlreadyExistsFault.
func TestFinalSnapshotNameDoesNotRepeat(t *testing.T) {
	var checked int
	for _, rp := range regionPlans(t) {
		db := one(t, rp.res, "aws:rds/cluster:Cluster", "-aurora")
		if value(db.Inputs, "skipFinalSnapshot") == true {
			assert.Nil(t, value(db.Inputs, "finalSnapshotIdentifier"), rp.name)
			continue
		}
		checked++
		suffix := one(t, rp.res, "random:index/randomId:RandomId", "-aurora-final")
		assert.Equal(t, float64(4), value(suffix.Inputs, "byteLength"), rp.name)
		hex := suffix.Outputs["hex"].StringValue()
		require.Len(t, hex, 8)
		id := str(t, db, "finalSnapshotIdentifier")
		assert.True(t, strings.HasSuffix(id, "-"+hex), "%s: %s ends with the random suffix", rp.name, id)
		assert.LessOrEqual(t, len(id), 255)
		assert.Regexp(t, `^[a-z][a-z0-9-]*[a-z0-9]$`, id, "RDS snapshot identifier")
		assert.NotContains(t, id, "--")
	}
	assert.Positive(t, checked, "some shipped stack keeps a final snapshot")
}

// TestIAMDatabaseAuthenticationIsOff: the service signs in with the
// password from its secret; IAM authentication would only be a second way
// in, and the service role grants no rds-db:connect.
func TestIAMDatabaseAuthenticationIsOff(t *testing.T) {
	for _, rp := range regionPlans(t) {
		for _, db := range nonEmpty(t, ofType(rp.res, "aws:rds/cluster:Cluster"), "Aurora cluster") {
			assert.Equal(t, false, value(db.Inputs, "iamDatabaseAuthenticationEnabled"), "%s %s", rp.name, db.Name)
		}
		policies := append(ofType(rp.res, "aws:iam/policy:Policy"), ofType(rp.res, "aws:iam/rolePolicy:RolePolicy")...)
		for _, p := range nonEmpty(t, policies, "IAM policy") {
			assert.NotContains(t, str(t, p, "policy"), "rds-db:connect", "%s %s", rp.name, p.Name)
		}
	}
}
