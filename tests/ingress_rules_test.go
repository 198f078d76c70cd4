package tests

// Only the API reaches the internet (issue 22 item 6): each serving
// listener answers a fixed 404 by default and forwards the API and the
// health check path, nothing else. The routing table below is evaluated
// the way an Application Load Balancer evaluates listener rules (Elastic
// Load Balancing, Application Load Balancers guide, "Listener rules" and
// "Condition types for listener rules"; API reference
// PathPatternConditionConfig): rules by priority, lowest first, the default
// action last; a path pattern matches the path only (not the query string),
// case-sensitively, `*` standing for any run of characters and `?` for one.

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/plan/mocks"
	"github.com/authplatform/auth-platform/components/ingress"
)

const listenerRuleType = "aws:lb/listenerRule:ListenerRule"

// albRule is a listener rule as the ALB evaluates it.
type albRule struct {
	priority float64
	patterns []string
	action   map[string]interface{}
}

// albRoute is what a listener does with a request path: the action of the
// first rule (by priority) whose path patterns match, else the default.
func albRoute(rules []albRule, def map[string]interface{}, target string) map[string]interface{} {
	path, _, _ := strings.Cut(target, "?")
	for _, r := range rules {
		for _, p := range r.patterns {
			if albPathMatch(p, path) {
				return r.action
			}
		}
	}
	return def
}

func albPathMatch(pattern, path string) bool {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `\*`, `.*`)
	re = strings.ReplaceAll(re, `\?`, `.`)
	return regexp.MustCompile(`^` + re + `$`).MatchString(path)
}

// servingListeners are a plan's listeners that serve (do not redirect),
// each with its rules sorted by priority.
func servingListeners(t *testing.T, res *mocks.Result) map[*mocks.Resource][]albRule {
	t.Helper()
	out := map[*mocks.Resource][]albRule{}
	byArn := map[string]*mocks.Resource{}
	for _, l := range nonEmpty(t, ofType(res, listenerType), "listener") {
		byArn[l.Outputs["arn"].StringValue()] = l
		def := value(l.Inputs, "defaultActions").([]interface{})[0].(map[string]interface{})
		if def["type"] != "redirect" {
			out[l] = nil
		}
	}
	for _, r := range ofType(res, listenerRuleType) {
		l := byArn[str(t, r, "listenerArn")]
		require.NotNil(t, l, "rule %s belongs to a listener of this plan", r.Name)
		_, serving := out[l]
		require.True(t, serving, "rule %s is on the redirecting listener %s", r.Name, l.Name)
		actions := value(r.Inputs, "actions").([]interface{})
		require.Len(t, actions, 1, "%s: one action", r.Name)
		conds := value(r.Inputs, "conditions").([]interface{})
		require.Len(t, conds, 1, "%s: one condition, a path pattern", r.Name)
		rule := albRule{priority: value(r.Inputs, "priority").(float64), action: actions[0].(map[string]interface{})}
		for _, v := range conds[0].(map[string]interface{})["pathPattern"].(map[string]interface{})["values"].([]interface{}) {
			rule.patterns = append(rule.patterns, v.(string))
		}
		out[l] = append(out[l], rule)
	}
	for l, rules := range out {
		sort.Slice(rules, func(i, j int) bool { return rules[i].priority < rules[j].priority })
		out[l] = rules
	}
	return out
}

func TestALBForwardsOnlyTheAPIAndTheHealthCheck(t *testing.T) {
	for _, rp := range regionPlans(t) {
		t.Run(rp.name, func(t *testing.T) {
			c := authChainOf(t, rp)
			listeners := servingListeners(t, c.res)
			require.Len(t, listeners, 1, "one serving listener: HTTPS in prod, HTTP in dev")
			for l, rules := range listeners {
				wantProtocol := "HTTP"
				if c.cfg.Service.CertificateArn != "" {
					wantProtocol = "HTTPS"
				}
				assert.Equal(t, wantProtocol, str(t, l, "protocol"))

				// The default action is the service's own 404, as JSON.
				def := value(l.Inputs, "defaultActions").([]interface{})[0].(map[string]interface{})
				assert.Equal(t, "fixed-response", def["type"], l.Name)
				fixed := def["fixedResponse"].(map[string]interface{})
				assert.Equal(t, "404", fixed["statusCode"])
				assert.Equal(t, "application/json", fixed["contentType"])
				body := fixed["messageBody"].(string)
				assert.LessOrEqual(t, len(body), 1024, "the ALB takes at most 1024 characters of fixed-response body")
				var parsed map[string]string
				require.NoError(t, json.Unmarshal([]byte(body), &parsed))
				// cmd/auth-service/internal/httpapi/errors.go, errNotFound.
				assert.Equal(t, map[string]string{"error": "not_found", "message": "no such endpoint"}, parsed)

				// Rules forward to this region's target group, within the
				// ALB's limits, with distinct priorities.
				require.NotEmpty(t, rules, "%s forwards something", l.Name)
				var patterns []string
				seen := map[float64]bool{}
				for _, r := range rules {
					assert.Equal(t, "forward", r.action["type"])
					assert.Equal(t, c.tg.ID, r.action["targetGroupArn"])
					assert.True(t, r.priority >= 1 && r.priority <= 50000, "priority %v", r.priority)
					assert.False(t, seen[r.priority], "priority %v used twice", r.priority)
					seen[r.priority] = true
					assert.LessOrEqual(t, len(r.patterns), 3, "at most three values per condition")
					for _, p := range r.patterns {
						assert.LessOrEqual(t, len(p), 128, "a path pattern has at most 128 characters")
					}
					patterns = append(patterns, r.patterns...)
				}
				assert.ElementsMatch(t, []string{"/v1/*", "/health"}, patterns, "the API and the health check path, nothing else")

				for _, tc := range []struct {
					target  string
					forward bool
				}{
					{"/v1/login", true},
					{"/v1/session", true},
					{"/v1/logout", true},
					{"/health", true},
					{"/health?verbose=1", true}, // patterns match the path, not the query
					{"/metrics", false},
					{"/metrics?x=/v1/", false},
					{"/health/live", false},
					{"/healthz", false},
					{"/V1/login", false}, // case-sensitive
					{"/v1", false},
					{"/v2/login", false},
					{"/api/v1/login", false},
					{"/", false},
					{"/debug/pprof/", false},
				} {
					got := albRoute(rules, def, tc.target)
					if tc.forward {
						assert.Equal(t, "forward", got["type"], "%s %s", l.Name, tc.target)
					} else {
						assert.Equal(t, "fixed-response", got["type"], "%s %s answers 404", l.Name, tc.target)
					}
				}

				// What checks the stack from outside is forwarded.
				assert.Equal(t, "forward", albRoute(rules, def, str(t, c.tg, "healthCheck.path"))["type"])
				for _, hc := range ofType(c.res, "aws:route53/healthCheck:HealthCheck") {
					assert.Equal(t, "forward", albRoute(rules, def, str(t, hc, "resourcePath"))["type"], hc.Name)
				}
			}
		})
	}
}

// The matcher is the ALB's: proven on the cases the ELB guide spells out.
func TestALBPathMatcherFollowsTheELBGuide(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		match         bool
	}{
		{"/img/*", "/img/a.png", true},
		{"/img/*", "/img/", true},
		{"/img/*", "/img", false},
		{"/img/*/pics", "/img/2024/pics", true},
		{"/img/*/pics", "/img/2024/pics/x", false},
		{"/a?c", "/abc", true},
		{"/a?c", "/ac", false},
		{"/Img/*", "/img/a.png", false},
		{"/a.b", "/axb", false},
	} {
		assert.Equal(t, tc.match, albPathMatch(tc.pattern, tc.path), "%s ~ %s", tc.pattern, tc.path)
	}
}

// More public paths than one condition takes spill into further rules, in
// order, none lost.
func TestForwardConditionsRespectTheALBsLimitPerCondition(t *testing.T) {
	paths := []string{"/a", "/b", "/c", "/d", "/e", "/f", "/g"}
	got := ingress.ForwardConditions(paths)
	assert.Equal(t, [][]string{{"/a", "/b", "/c"}, {"/d", "/e", "/f"}, {"/g"}}, got)
	assert.Equal(t, [][]string{{"/v1/*", "/health"}}, ingress.ForwardConditions(ingress.PublicPaths))
	assert.Empty(t, ingress.ForwardConditions(nil))
}
