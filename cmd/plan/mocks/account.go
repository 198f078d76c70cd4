package mocks

import (
	"fmt"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// DefaultCallerArn is who the runs deploy as unless a test says otherwise:
// an assumed role, as with SSO or CI's OIDC role.
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
	// detectors: GuardDuty allows one detector per account and region.
	detectors map[string]Detector
	// clusters are the EKS cluster names per region.
	clusters map[string]map[string]bool
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

// made is the account-side effect of creating one resource.
type made struct {
	kind, region, id string
}

// NewAccount is a fresh account: no detector, no cluster, the default
// caller. Every shipped stack is planned as a first deploy into one.
func NewAccount() *Account {
	return &Account{
		callerArn: DefaultCallerArn,
		detectors: map[string]Detector{},
		clusters:  map[string]map[string]bool{},
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

// WithCaller sets the principal the runs deploy as (an IAM role, user or
// assumed-role session ARN).
func (a *Account) WithCaller(arn string) *Account {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.callerArn = arn
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

// hasCluster reports whether the region has the named EKS cluster.
func (a *Account) hasCluster(region, name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clusters[region][name]
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
		if a.clusters[r.Region][name] {
			return fmt.Errorf("creating EKS Cluster (%s): ResourceInUseException: Cluster already exists with name: %s", name, name)
		}
		if a.clusters[r.Region] == nil {
			a.clusters[r.Region] = map[string]bool{}
		}
		a.clusters[r.Region][name] = true
		a.created[r.URN] = made{kind: "cluster", region: r.Region, id: name}
	}
	return nil
}

// remove applies the engine's delete of a URN a run created. retain is
// retainOnDelete: the engine forgets the resource and AWS keeps it.
func (a *Account) remove(urn string, retain bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.created[urn]
	if !ok {
		return
	}
	delete(a.created, urn)
	if retain {
		return
	}
	switch m.kind {
	case "detector":
		if a.detectors[m.region].ID == m.id {
			delete(a.detectors, m.region)
		}
	case "cluster":
		delete(a.clusters[m.region], m.id)
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
	c := &Account{callerArn: a.callerArn, detectors: map[string]Detector{}, clusters: map[string]map[string]bool{},
		tokens: map[string]int{}, created: map[string]made{}}
	for k, v := range a.detectors {
		c.detectors[k] = Detector{ID: v.ID, Tags: copyTags(v.Tags)}
	}
	for region, names := range a.clusters {
		c.clusters[region] = map[string]bool{}
		for n, ok := range names {
			c.clusters[region][n] = ok
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
