package drill

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Expectation is what a scenario must show for the drill to exit 0.
type Expectation string

const (
	// ExpectNoLoss: zero failed requests and zero lost sessions.
	ExpectNoLoss Expectation = "no-loss"
	// ExpectFailures: some failed requests; a control proving the drill
	// sees what a wrong setting costs.
	ExpectFailures Expectation = "failures"
	// ExpectBoundedFailures: failures only among requests sent within the
	// health checks' detection window after the kill, and zero lost
	// sessions. Requests in flight to a pod that dies without warning fail
	// on any load balancer; the ALB stops sending new ones once its health
	// checks mark the target unhealthy.
	ExpectBoundedFailures Expectation = "failures-within-detection-window"
)

// Disruption is what a scenario does to the running system.
type Disruption string

const (
	DisruptEvictions Disruption = "evictions"
	DisruptRollout   Disruption = "rollout"
	DisruptRedisKill Disruption = "redis-primary-kill"
	DisruptZoneLoss  Disruption = "zone-loss"
)

// Scenario is one drill.
type Scenario struct {
	Name        string
	Description string
	Disruption  Disruption
	Expect      Expectation
	// SingleReplica runs one pod instead of the stack's replicas.
	SingleReplica bool
	// Readiness is what the pods' readiness probe asks; the zero value is
	// the stack's (ReadinessPod).
	Readiness Readiness
	// PreStop gives the preStop sleep the pods get, from the stack's.
	PreStop func(t Timings) time.Duration
}

func stackPreStop(t Timings) time.Duration { return t.PreStopSleep }

// Scenarios are every scenario of the drill, by name.
var Scenarios = map[string]Scenario{
	"evictions": {
		Name: "evictions", Disruption: DisruptEvictions, Expect: ExpectNoLoss, PreStop: stackPreStop,
		Description: "every pod evicted once, one at a time under the PDB, as Fargate patching does",
	},
	"rollout": {
		Name: "rollout", Disruption: DisruptRollout, Expect: ExpectNoLoss, PreStop: stackPreStop,
		Description: "a new version rolled out with maxSurge 1, maxUnavailable 0",
	},
	"redis-failover": {
		Name: "redis-failover", Disruption: DisruptRedisKill, Expect: ExpectNoLoss, PreStop: stackPreStop,
		Description: "a Redis primary killed with SIGKILL under load; its replica takes over",
	},
	"zone-loss": {
		Name: "zone-loss", Disruption: DisruptZoneLoss, Expect: ExpectBoundedFailures, PreStop: stackPreStop,
		Description: "every pod of one zone killed at once with SIGKILL, no preStop, no deregistration",
	},
	"no-prestop": {
		Name: "no-prestop", Disruption: DisruptEvictions, Expect: ExpectFailures,
		PreStop:     func(Timings) time.Duration { return 0 },
		Description: "control: evictions with no preStop sleep; SIGTERM races the deregistration",
	},
	"short-prestop": {
		Name: "short-prestop", Disruption: DisruptEvictions, Expect: ExpectFailures,
		PreStop:     func(t Timings) time.Duration { return t.Propagation / 2 },
		Description: "control: evictions with a preStop sleep of half the propagation allowance",
	},
	"single-replica": {
		Name: "single-replica", Disruption: DisruptEvictions, Expect: ExpectFailures, PreStop: stackPreStop,
		SingleReplica: true,
		Description:   "control: evictions of a single replica; nothing serves while its replacement registers",
	},
}

// ScenarioNames lists the scenarios, sorted.
func ScenarioNames() []string {
	names := make([]string, 0, len(Scenarios))
	for n := range Scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupScenario returns the named scenario or an error listing them all.
func LookupScenario(name string) (Scenario, error) {
	sc, ok := Scenarios[name]
	if !ok {
		return Scenario{}, fmt.Errorf("unknown scenario %q: use one of %s", name, strings.Join(ScenarioNames(), ", "))
	}
	return sc, nil
}

// Replicas is how many pods the scenario runs with the stack's count.
func (sc Scenario) Replicas(stackReplicas int) int {
	if sc.SingleReplica {
		return 1
	}
	return stackReplicas
}

// Fixed parts of every scenario, besides the stack's timings.
const (
	// Warmup is load before the first disruption, long enough to create
	// the carried sessions and see the steady state.
	Warmup = 2 * time.Second
	// Tail is load after the last pod was replaced (or the fault ended).
	Tail = 2 * time.Second
	// RedisObservation is how long the redis-failover scenario keeps the
	// load on after the kill, at least: the local promotion takes 3.4-4.3 s
	// (shared/notes/local-drill-real-parts.md §2.2). It is not scaled: the
	// drill tests the service's behaviour, not AWS failover times.
	RedisObservation = 8 * time.Second
)

// Estimate is the expected duration of the scenario's disruption phase,
// warm-up and tail included, bring-up excluded.
func (sc Scenario) Estimate(t Timings, stackReplicas int) time.Duration {
	n := time.Duration(sc.Replicas(stackReplicas))
	lastTermination := max(sc.PreStop(t), t.Propagation+t.DeregistrationDelay)
	fixed := Warmup + Tail
	switch sc.Disruption {
	case DisruptEvictions:
		// Each eviction waits for the previous replacement; the last pod's
		// termination runs alongside its replacement.
		return fixed + (n-1)*t.ReplacementTime() + max(t.ReplacementTime(), lastTermination)
	case DisruptRollout:
		return fixed + n*t.ReplacementTime() + lastTermination
	case DisruptZoneLoss:
		return fixed + t.ReplacementTime()
	default:
		return fixed + RedisObservation
	}
}
