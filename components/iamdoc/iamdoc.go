// Package iamdoc models IAM policy documents as Go values, so that policies
// are built and tested as data instead of pasted as JSON blobs.
package iamdoc

import (
	"encoding/json"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Version is the only IAM policy language version worth using.
const Version = "2012-10-17"

// Document is an IAM policy or trust policy.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document.
type Statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    []string   `json:"Action"`
	Resource  []string   `json:"Resource,omitempty"`
	Condition Conditions `json:"Condition,omitempty"`
}

// Principal names who a trust policy lets in.
type Principal struct {
	Service   []string `json:"Service,omitempty"`
	Federated []string `json:"Federated,omitempty"`
	AWS       []string `json:"AWS,omitempty"`
}

// Conditions maps an operator (StringEquals, ArnLike, Null, ...) to
// condition keys and their values.
type Conditions map[string]map[string][]string

// New returns a Document with the current policy language version.
func New(statements ...Statement) Document {
	return Document{Version: Version, Statement: statements}
}

// Allow is a shorthand for an Allow statement.
func Allow(sid string, actions []string, resources ...string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}

// When returns a copy of s with one more condition.
func (s Statement) When(operator, key string, values ...string) Statement {
	c := Conditions{}
	for op, kv := range s.Condition {
		c[op] = map[string][]string{}
		for k, v := range kv {
			c[op][k] = v
		}
	}
	if c[operator] == nil {
		c[operator] = map[string][]string{}
	}
	c[operator][key] = append(append([]string(nil), c[operator][key]...), values...)
	s.Condition = c
	return s
}

// JSON renders the document. encoding/json sorts map keys, so the output is
// stable from run to run and previews show no spurious diffs.
func (d Document) JSON() (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// MustJSON is JSON for documents built from literals, where an error is a
// programming mistake.
func (d Document) MustJSON() string {
	s, err := d.JSON()
	if err != nil {
		panic(err)
	}
	return s
}

// Actions returns every action of the document once, in order of appearance.
func (d Document) Actions() []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range d.Statement {
		for _, a := range st.Action {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// IssuerHost strips the scheme from an OIDC issuer URL; IAM condition keys
// and provider ARNs use the bare host and path.
func IssuerHost(issuerURL string) string {
	return strings.TrimPrefix(issuerURL, "https://")
}

// IRSATrust is the trust policy that lets exactly one Kubernetes service
// account assume a role through the cluster's OIDC provider.
func IRSATrust(oidcProviderARN, issuerURL, namespace, serviceAccount string) Document {
	host := IssuerHost(issuerURL)
	return New(Statement{
		Sid:       "AssumeFromServiceAccount",
		Effect:    "Allow",
		Principal: &Principal{Federated: []string{oidcProviderARN}},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
	}.
		When("StringEquals", host+":sub", "system:serviceaccount:"+namespace+":"+serviceAccount).
		When("StringEquals", host+":aud", "sts.amazonaws.com"))
}

// IRSATrustOutput is IRSATrust over outputs.
func IRSATrustOutput(oidcProviderARN, issuerURL pulumi.StringInput, namespace, serviceAccount string) pulumi.StringOutput {
	return pulumi.All(oidcProviderARN, issuerURL).ApplyT(func(v []interface{}) (string, error) {
		return IRSATrust(v[0].(string), v[1].(string), namespace, serviceAccount).JSON()
	}).(pulumi.StringOutput)
}
