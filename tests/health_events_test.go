package tests

// Issue 23, D-9: the AWS Health rule delivers what concerns this stack's
// cluster and account, in any category, and no backup-region copy; the
// failed-eviction rule matches EKS' event for this cluster. The patterns
// the plan registers are run against events written as AWS sends them, by
// a small matcher of EventBridge's pattern semantics (EventBridge User
// Guide, "Amazon EventBridge event patterns" and "Content filtering":
// every field of the pattern must match, a list matches when any value
// does, arrays in the event match when any element does, prefix, exists,
// anything-but, and $or).

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventMatches tells whether an EventBridge pattern matches an event.
func eventMatches(pattern map[string]interface{}, event interface{}) bool {
	for key, want := range pattern {
		if key == "$or" {
			any := false
			for _, alt := range want.([]interface{}) {
				any = any || eventMatches(alt.(map[string]interface{}), event)
			}
			if !any {
				return false
			}
			continue
		}
		var got interface{}
		present := false
		switch e := event.(type) {
		case map[string]interface{}:
			got, present = e[key]
		case []interface{}: // an array of objects: any element
			matched := false
			for _, el := range e {
				matched = matched || eventMatches(map[string]interface{}{key: want}, el)
			}
			if !matched {
				return false
			}
			continue
		}
		switch w := want.(type) {
		case map[string]interface{}:
			if !present || !eventMatches(w, got) {
				return false
			}
		case []interface{}:
			if !valueMatches(w, got, present) {
				return false
			}
		default:
			panic(fmt.Sprintf("pattern field %s is neither an object nor a list", key))
		}
	}
	return true
}

// valueMatches: a list of literals and content filters against a field.
func valueMatches(matchers []interface{}, got interface{}, present bool) bool {
	values := []interface{}{got}
	if list, ok := got.([]interface{}); ok {
		values = list
	}
	for _, m := range matchers {
		if f, ok := m.(map[string]interface{}); ok {
			if exists, ok := f["exists"]; ok {
				if exists.(bool) == present {
					return true
				}
				continue
			}
			if !present {
				continue
			}
			for _, v := range values {
				switch {
				case f["prefix"] != nil:
					if s, ok := v.(string); ok && strings.HasPrefix(s, f["prefix"].(string)) {
						return true
					}
				case f["anything-but"] != nil:
					but, _ := f["anything-but"].([]interface{})
					if but == nil {
						but = []interface{}{f["anything-but"]}
					}
					hit := false
					for _, b := range but {
						hit = hit || b == v
					}
					if !hit {
						return true
					}
				default:
					panic(fmt.Sprintf("content filter %v is not modelled", f))
				}
			}
			continue
		}
		if !present {
			continue
		}
		for _, v := range values {
			if v == m {
				return true
			}
		}
	}
	return false
}

func TestEventMatcherFollowsEventBridge(t *testing.T) {
	for _, tc := range []struct {
		pattern, event string
		want           bool
	}{
		{`{"a":["x"]}`, `{"a":"x"}`, true},
		{`{"a":["x"]}`, `{"a":"y"}`, false},
		{`{"a":["x"]}`, `{}`, false},
		{`{"a":["x"]}`, `{"a":["y","x"]}`, true},
		{`{"a":[{"prefix":"ab"}]}`, `{"a":"abc"}`, true},
		{`{"a":[{"exists":false}]}`, `{}`, true},
		{`{"a":[{"exists":false}]}`, `{"a":1}`, false},
		{`{"a":{"b":[true]}}`, `{"a":[{"b":false},{"b":true}]}`, true},
		{`{"$or":[{"a":["x"]},{"b":["y"]}]}`, `{"b":"y"}`, true},
		{`{"$or":[{"a":["x"]},{"b":["y"]}]}`, `{"b":"x"}`, false},
		{`{"a":[{"anything-but":[true]}]}`, `{}`, false},
	} {
		var p map[string]interface{}
		var e interface{}
		require.NoError(t, json.Unmarshal([]byte(tc.pattern), &p))
		require.NoError(t, json.Unmarshal([]byte(tc.event), &e))
		assert.Equal(t, tc.want, eventMatches(p, e), "%s against %s", tc.pattern, tc.event)
	}
}

// healthEvent is an AWS Health event as EventBridge delivers it (AWS
// Health User Guide, "Monitoring AWS Health events with Amazon
// EventBridge", sample events), with the fields a case changes.
func healthEvent(account, region, service, category string, resources []string, entities []string, backup interface{}) string {
	detail := map[string]interface{}{
		"eventArn":          "arn:aws:health:" + region + "::event/" + service + "/AWS_" + service + "_OPERATIONAL_NOTIFICATION/x",
		"service":           service,
		"eventTypeCode":     "AWS_" + service + "_OPERATIONAL_NOTIFICATION",
		"eventTypeCategory": category,
		"eventScopeCode":    "ACCOUNT_SPECIFIC",
	}
	var affected []interface{}
	for _, e := range entities {
		affected = append(affected, map[string]interface{}{"entityValue": e})
	}
	if affected != nil {
		detail["affectedEntities"] = affected
	}
	if backup != nil {
		detail["backupEvent"] = backup
	}
	if resources == nil {
		resources = []string{}
	}
	b, _ := json.Marshal(map[string]interface{}{
		"version": "0", "id": "1", "detail-type": "AWS Health Event", "source": "aws.health",
		"account": account, "time": "2026-12-01T00:00:00Z", "region": region,
		"resources": resources, "detail": detail,
	})
	return string(b)
}

func TestHealthRuleDeliversWhatConcernsThisCluster(t *testing.T) {
	res := planStack(t, "dev")
	cluster := one(t, res, eksType, "-eks")
	name := str(t, cluster, "name")
	arn := "arn:aws:eks:us-east-1:123456789012:cluster/" + name
	health := jsonInput(t, one(t, res, typeEventRule, "-health-eks-fargate"), "eventPattern")
	termination := jsonInput(t, one(t, res, typeEventRule, "-fargate-scheduled-termination"), "eventPattern")
	const acct, other = "123456789012", "210987654321"
	profile := "arn:aws:eks:us-east-1:123456789012:fargateprofile/" + name + "/auth-us-east-1a/0a1b"

	for _, tc := range []struct {
		name  string
		event string
		want  bool
	}{
		{"this cluster's scheduled change", healthEvent(acct, "us-east-1", "EKS", "scheduledChange", []string{arn}, []string{arn}, nil), true},
		{"the Fargate patch notice as an account notification", healthEvent(acct, "us-east-1", "EKS", "accountNotification", nil, []string{profile}, nil), true},
		{"an issue naming the cluster by name", healthEvent(acct, "us-east-1", "EKS", "issue", nil, []string{name}, nil), true},
		{"a FARGATE-coded notice of this cluster's profile", healthEvent(acct, "us-east-1", "FARGATE", "scheduledChange", []string{profile}, nil, nil), true},
		{"an event marked as no backup copy", healthEvent(acct, "us-east-1", "EKS", "scheduledChange", []string{arn}, nil, false), true},
		{"another stack's cluster in the account", healthEvent(acct, "us-east-1", "EKS", "scheduledChange",
			[]string{"arn:aws:eks:us-east-1:123456789012:cluster/auth-prod-us-east-1-eks"}, []string{"arn:aws:eks:us-east-1:123456789012:cluster/auth-prod-us-east-1-eks"}, nil), false},
		{"a cluster whose name starts with this one's", healthEvent(acct, "us-east-1", "EKS", "scheduledChange", []string{arn + "-old"}, nil, nil), false},
		{"another account (an organization's member)", healthEvent(other, "us-east-1", "EKS", "scheduledChange", []string{arn}, []string{arn}, nil), false},
		{"a public event with no entity", healthEvent(acct, "us-east-1", "EKS", "issue", nil, nil, nil), false},
		{"the backup region's copy", healthEvent(acct, "us-east-1", "EKS", "scheduledChange", []string{arn}, []string{arn}, true), false},
		{"another service about this cluster", healthEvent(acct, "us-east-1", "EC2", "scheduledChange", []string{arn}, nil, nil), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var event interface{}
			require.NoError(t, json.Unmarshal([]byte(tc.event), &event))
			assert.Equal(t, tc.want, eventMatches(health, event))
			assert.False(t, eventMatches(termination, event), "a Health event is not a failed eviction")
		})
	}

	// EKS User Guide, "Set actions for AWS Fargate OS patching events":
	// the sample failed-eviction event, for this cluster and another.
	failed := func(account, cluster string) interface{} {
		var e interface{}
		require.NoError(t, json.Unmarshal([]byte(`{"version":"0","id":"1","detail-type":"EKS Fargate Pod Scheduled Termination","source":"aws.eks",
			"account":"`+account+`","time":"2021-06-27T12:52:44Z","region":"us-east-1","resources":["default/my-database-deployment"],
			"detail":{"clusterName":"`+cluster+`","fargateProfileName":"my-fargate-profile","podName":"my-pod-name","podNamespace":"default",
			"evictErrorMessage":"Cannot evict pod as it would violate the pod's disruption budget","scheduledTerminationTime":"2021-06-30T12:52:44.832Z[UTC]"}}`), &e))
		return e
	}
	assert.True(t, eventMatches(termination, failed(acct, name)), "this cluster's failed eviction")
	assert.False(t, eventMatches(termination, failed(acct, "auth-prod-us-east-1-eks")), "another cluster's")
	assert.False(t, eventMatches(termination, failed(other, name)), "another account's")
	assert.False(t, eventMatches(health, failed(acct, name)))
}
