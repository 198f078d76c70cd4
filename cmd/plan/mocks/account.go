package mocks

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// DefaultCallerArn is who the runs deploy as unless a test says otherwise:
// a session of a role no shipped stack lists, as with SSO or CI's OIDC
// role.
const DefaultCallerArn = "arn:aws:sts::" + AccountID + ":assumed-role/platform-deployer/pulumi"

// Account is the mocked AWS account: what exists in it before any stack
// runs (a security team's GuardDuty detector, say) and what the stacks'
// runs create in it. An Account outlives a run: a second run against the
// same Account finds what the first created, as the second `pulumi up`
// finds it in AWS (the second-run check of cmd/plan). Lookups answer from
// it, and creating what AWS allows once (a region's detector) fails the
// way AWS fails.
type Account struct {
	mu        sync.Mutex
	callerArn string
	// roles are IAM role ARNs by role name, for the roles whose path the
	// mocks must know (see WithRole).
	roles map[string]string
	// detectors: GuardDuty allows one detector per account and region.
	detectors map[string]Detector
	// clusters are the EKS clusters per region and name.
	clusters map[string]map[string]*cluster
	// tokens counts the ECR authorization tokens issued per region: every
	// GetAuthorizationToken call returns a new one.
	tokens map[string]int
	// created maps the URN of a resource a run created to what it made
	// here, so that the engine's delete of that URN removes it again.
	created map[string]made
}

// Detector is a GuardDuty detector of the account.
type Detector struct {
	ID   string
	Tags map[string]string
}

// cluster is an EKS cluster of the account.
type cluster struct {
	// entries are its access entries' tags by principal ARN: EKS keeps one
	// entry per principal and cluster.
	entries map[string]map[string]string
}

// made is the account-side effect of creating (or importing) one
// resource: what the engine's delete of its URN removes.
type made struct {
	kind, region, id string
}

// NewAccount is a fresh account: no detector, no cluster, the default
// caller. Every shipped stack is planned as a first deploy into one.
func NewAccount() *Account {
	return &Account{
		callerArn: DefaultCallerArn,
		roles:     map[string]string{},
		detectors: map[string]Detector{},
		clusters:  map[string]map[string]*cluster{},
		tokens:    map[string]int{},
		created:   map[string]made{},
	}
}

// WithDetector adds a detector that exists before any stack (enabled by a
// security team, say). It panics on a second detector in one region: AWS
// allows one per account and region.
func (a *Account) WithDetector(region, id string, tags map[string]string) *Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d, ok := a.detectors[region]; ok {
		panic(fmt.Sprintf("mocks: %s already has detector %s; GuardDuty allows one per account and region", region, d.ID))
	}
	a.detectors[region] = Detector{ID: id, Tags: copyTags(tags)}
	return a
}

// callerPattern is what sts:GetCallerIdentity reports: a role session
// (arn:<p>:sts::<account>:assumed-role/<role>/<session>), an IAM user
// (arn:<p>:iam::<account>:user/<path><name>) or the root user.
var callerPattern = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):(?:sts::(\d{12}):assumed-role/([\w+=,.@-]{1,64})/[\w+=,.@-]{2,64}|iam::\d{12}:(?:user/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}|root))$`)

// rolePattern is an IAM role ARN, path included.
var rolePattern = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$`)

// WithCaller sets the principal the runs deploy as, by the ARN
// sts:GetCallerIdentity reports for it: a role session
// (arn:aws:sts::<account>:assumed-role/<role>/<session>), an IAM user or
// the root user. It panics on anything else, a role's own ARN included:
// STS never reports one.
func (a *Account) WithCaller(arn string) *Account {
	if !callerPattern.MatchString(arn) {
		panic(fmt.Sprintf("mocks: %q is not an ARN sts:GetCallerIdentity reports (a role session, an IAM user or root)", arn))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.callerArn = arn
	return a
}

// WithRole adds an IAM role whose ARN has a path. A session's ARN drops
// the path (assumed-role/<name>/<session>), but EKS names the entry it
// gives a cluster's creator by the role's IAM ARN, path included
// (terraform-aws-modules/terraform-aws-eks#2969: an SSO role's
// aws-reserved/sso.amazonaws.com/ path is part of the creator's entry). A
// session of a role the account does not list is taken to be of a role
// without a path. It panics on an ARN that is not a role's, or on a second
// role of one name (IAM role names are unique in an account).
func (a *Account) WithRole(arn string) *Account {
	m := rolePattern.FindStringSubmatch(arn)
	if m == nil {
		panic(fmt.Sprintf("mocks: %q is not an IAM role ARN", arn))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if other, ok := a.roles[m[3]]; ok {
		panic(fmt.Sprintf("mocks: the account already has role %s; IAM role names are unique in an account", other))
	}
	a.roles[m[3]] = arn
	return a
}

// WithCluster adds an EKS cluster that exists before the runs (made by
// hand, or by an earlier stack), without access entries (WithAccessEntry
// adds them). It panics if the region has one of that name: EKS refuses a
// second.
func (a *Account) WithCluster(region, name string) *Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.clusters[region][name] != nil {
		panic(fmt.Sprintf("mocks: %s already has EKS cluster %s", region, name))
	}
	a.addCluster(region, name)
	return a
}

// WithAccessEntry adds an access entry for principalArn to an existing
// cluster. It panics if the cluster is missing or the principal has an
// entry: EKS keeps one per principal.
func (a *Account) WithAccessEntry(region, clusterName, principalArn string) *Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.clusters[region][clusterName]
	if c == nil {
		panic(fmt.Sprintf("mocks: %s has no EKS cluster %s", region, clusterName))
	}
	if _, ok := c.entries[principalArn]; ok {
		panic(fmt.Sprintf("mocks: cluster %s already has an access entry for %s", clusterName, principalArn))
	}
	c.entries[principalArn] = map[string]string{}
	return a
}

// Caller is the principal sts:GetCallerIdentity reports.
func (a *Account) Caller() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.callerArn
}

// Detector is the region's detector, if the account has one.
func (a *Account) Detector(region string) (Detector, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	d, ok := a.detectors[region]
	d.Tags = copyTags(d.Tags)
	return d, ok
}

// Clusters are the EKS cluster names in a region, sorted.
func (a *Account) Clusters(region string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for name := range a.clusters[region] {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// AccessEntries are the principal ARNs with an access entry on a
// region's cluster, sorted (none when there is no such cluster).
func (a *Account) AccessEntries(region, clusterName string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	if c := a.clusters[region][clusterName]; c != nil {
		for p := range c.entries {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// hasCluster reports whether the region has the named EKS cluster.
func (a *Account) hasCluster(region, name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clusters[region][name] != nil
}

// accessEntry is the tags of a principal's entry on a region's cluster,
// if it has one.
func (a *Account) accessEntry(region, clusterName, principalArn string) (map[string]string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.clusters[region][clusterName]
	if c == nil {
		return nil, false
	}
	tags, ok := c.entries[principalArn]
	return copyTags(tags), ok
}

// addCluster must be called with a.mu held.
func (a *Account) addCluster(region, name string) *cluster {
	if a.clusters[region] == nil {
		a.clusters[region] = map[string]*cluster{}
	}
	c := &cluster{entries: map[string]map[string]string{}}
	a.clusters[region][name] = c
	return c
}

// creator is the IAM principal behind the caller, as EKS names it in the
// access entry it gives a cluster's creator: a session's role (with its
// path when WithRole gave one), an IAM user or root as STS reports them.
// Must be called with a.mu held.
func (a *Account) creator() string {
	m := callerPattern.FindStringSubmatch(a.callerArn)
	if m == nil || m[3] == "" {
		return a.callerArn
	}
	if arn, ok := a.roles[m[3]]; ok {
		return arn
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", m[1], m[2], m[3])
}

// nextToken issues the region's next ECR authorization token number.
func (a *Account) nextToken(region string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[region]++
	return a.tokens[region]
}

// detectorExistsMessage is GuardDuty's answer to CreateDetector in a region
// that has one (hashicorp/terraform-provider-aws#11780 quotes it).
const detectorExistsMessage = "The request is rejected because a detector already exists for the current account."

// Access entry types and errors (terraform-provider-aws
// internal/service/eks/access_entry.go: the ID is
// "<cluster>:<principal ARN>", and the create's error wraps EKS's).
const (
	accessEntryType = "aws:eks/accessEntry:AccessEntry"
	// accessEntryInUse is EKS's answer to CreateAccessEntry for a principal
	// that has an entry (terraform-aws-modules/terraform-aws-eks#3293
	// quotes it).
	accessEntryInUse = "ResourceInUseException: The specified access entry resource is already in use on this cluster."
)

// create applies what creating r does to the account: the resource exists
// in AWS from now on. It fails where AWS refuses the create.
func (a *Account) create(r *Resource) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case r.Type == "aws:guardduty/detector:Detector":
		if d, ok := a.detectors[r.Region]; ok {
			return fmt.Errorf("creating GuardDuty Detector: BadRequestException: %s (%s has detector %s)", detectorExistsMessage, r.Region, d.ID)
		}
		a.detectors[r.Region] = Detector{ID: r.ID, Tags: stringMap(r.Inputs, "tags")}
		a.created[r.URN] = made{kind: "detector", region: r.Region, id: r.ID}
	case r.Type == "eks:index:Cluster" && r.Remote:
		// pulumi-eks creates the aws:eks/cluster:Cluster inside the
		// component, named by its "name" input.
		name := str(r.Inputs, "name")
		if name == "" {
			return nil
		}
		if _, ok := r.Inputs["creationRoleProvider"]; ok {
			return fmt.Errorf("mocks: eks:index:Cluster argument \"creationRoleProvider\" is not modelled: the cluster's creator would be that role, not the caller")
		}
		if a.clusters[r.Region][name] != nil {
			return fmt.Errorf("creating EKS Cluster (%s): ResourceInUseException: Cluster already exists with name: %s", name, name)
		}
		c := a.addCluster(r.Region, name)
		// pulumi-eks v2.8.1 (nodejs/eks/cluster.ts:611-618) asks for
		// bootstrapClusterCreatorAdminPermissions: true with any
		// authenticationMode, and EKS then gives the principal creating
		// the cluster an access entry of its own in the API modes.
		if mode := str(r.Inputs, "authenticationMode"); mode == "API" || mode == "API_AND_CONFIG_MAP" {
			c.entries[a.creator()] = map[string]string{}
		}
		a.created[r.URN] = made{kind: "cluster", region: r.Region, id: name}
	case r.Type == accessEntryType:
		name, principal := str(r.Inputs, "clusterName"), str(r.Inputs, "principalArn")
		id := name + ":" + principal
		c := a.clusters[r.Region][name]
		if c == nil {
			return fmt.Errorf("creating EKS Access Entry (%s): operation error EKS: CreateAccessEntry, https response error StatusCode: 404, ResourceNotFoundException: No cluster found for name: %s.", id, name)
		}
		if _, ok := c.entries[principal]; ok {
			return fmt.Errorf("creating EKS Access Entry (%s): operation error EKS: CreateAccessEntry, https response error StatusCode: 409, %s", id, accessEntryInUse)
		}
		c.entries[principal] = stringMap(r.Inputs, "tags")
		a.created[r.URN] = made{kind: "accessEntry", region: r.Region, id: id}
	}
	return nil
}

// adopt applies the engine's import of r (its Options.Import): the
// provider reads the resource by that ID, the engine fails with
// "resource '<id>' does not exist" when the read finds nothing, and with
// "inputs to import do not match the existing resource" when the
// program's inputs, after its ignoreChanges, differ from what the read
// found (pulumi/pulumi pkg/resource/deploy/step.go, ImportStep.Apply).
// From then on the stack owns it: the engine's delete of its URN deletes
// it. Only the resources the account models can be imported.
func (a *Account) adopt(r *Resource) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := r.Options.Import
	switch r.Type {
	case accessEntryType:
		// terraform-provider-aws access_entry.go accessEntryParseResourceID
		// and resourceAccessEntryRead.
		parts := strings.SplitN(id, ":", 2)
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf("unexpected format for ID (%s), expected cluster-name:principal-arn", id)
		}
		c := a.clusters[r.Region][parts[0]]
		if c == nil {
			return fmt.Errorf("resource '%s' does not exist", id)
		}
		tags, ok := c.entries[parts[1]]
		if !ok {
			return fmt.Errorf("resource '%s' does not exist", id)
		}
		existing := map[string]interface{}{"clusterName": parts[0], "principalArn": parts[1], "type": "STANDARD", "tags": tags}
		if diffs := importDiffs(r, existing); len(diffs) > 0 {
			return fmt.Errorf("inputs to import do not match the existing resource: %v", diffs)
		}
	default:
		return fmt.Errorf("mocks: importing %s is not modelled; add it to cmd/plan/mocks/account.go with what AWS holds", r.Type)
	}
	if m, ok := a.created[r.URN]; ok && m.id != id {
		// An import replacement: the engine deletes what the URN held.
		a.undo(m)
	}
	a.created[r.URN] = made{kind: "accessEntry", region: r.Region, id: id}
	return nil
}

// importDiffs are the inputs of r that differ from what an import read
// (existing, by input name), leaving out those r's ignoreChanges names.
// An absent input is the provider's default (type STANDARD, no tags).
func importDiffs(r *Resource, existing map[string]interface{}) []string {
	ignored := map[string]bool{}
	for _, p := range r.Options.IgnoreChanges {
		ignored[strings.SplitN(strings.SplitN(p, ".", 2)[0], "[", 2)[0]] = true
	}
	var diffs []string
	for _, k := range []string{"clusterName", "principalArn", "type", "tags"} {
		if ignored[k] {
			continue
		}
		var same bool
		switch want := existing[k].(type) {
		case map[string]string:
			same = fmt.Sprint(stringMap(r.Inputs, k)) == fmt.Sprint(want)
		case string:
			got := str(r.Inputs, k)
			same = got == want || (k == "type" && got == "")
		}
		if !same {
			diffs = append(diffs, k)
		}
	}
	return diffs
}

// remove applies the engine's delete of a URN a run created or imported.
// retain is retainOnDelete: the engine forgets the resource and AWS keeps
// it.
func (a *Account) remove(urn string, retain bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.created[urn]
	if !ok {
		return
	}
	delete(a.created, urn)
	if !retain {
		a.undo(m)
	}
}

// undo deletes what m made. Must be called with a.mu held.
func (a *Account) undo(m made) {
	switch m.kind {
	case "detector":
		if a.detectors[m.region].ID == m.id {
			delete(a.detectors, m.region)
		}
	case "cluster":
		// EKS deletes a cluster's access entries with it.
		delete(a.clusters[m.region], m.id)
	case "accessEntry":
		parts := strings.SplitN(m.id, ":", 2)
		if c := a.clusters[m.region][parts[0]]; c != nil {
			delete(c.entries, parts[1])
		}
	}
}

func copyTags(tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		out[k] = v
	}
	return out
}

// stringMap reads a map-of-strings input.
func stringMap(inputs resource.PropertyMap, key string) map[string]string {
	out := map[string]string{}
	if m, ok := PlainMap(inputs)[key].(map[string]interface{}); ok {
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

// Clone is a copy of the account as it is now: a run against the copy
// leaves this one as it was (the change analysis plans one change several
// times against the account the stack's deploy left).
func (a *Account) Clone() *Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := &Account{callerArn: a.callerArn, roles: map[string]string{}, detectors: map[string]Detector{},
		clusters: map[string]map[string]*cluster{}, tokens: map[string]int{}, created: map[string]made{}}
	for k, v := range a.roles {
		c.roles[k] = v
	}
	for k, v := range a.detectors {
		c.detectors[k] = Detector{ID: v.ID, Tags: copyTags(v.Tags)}
	}
	for region, byName := range a.clusters {
		c.clusters[region] = map[string]*cluster{}
		for n, cl := range byName {
			cc := &cluster{entries: map[string]map[string]string{}}
			if cl != nil {
				for p, tags := range cl.entries {
					cc.entries[p] = copyTags(tags)
				}
			}
			c.clusters[region][n] = cc
		}
	}
	for k, v := range a.tokens {
		c.tokens[k] = v
	}
	for k, v := range a.created {
		c.created[k] = v
	}
	return c
}
