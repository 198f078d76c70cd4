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
	// ExpectFailures: some failed requests beyond what the fault explains
	// (any failure, for a scenario without a fault); a control proving
	// the drill sees what a wrong setting costs.
	ExpectFailures Expectation = "failures"
	// ExpectBoundedFailures: failures only among requests sent within the
	// health checks' detection window after the kill, and zero lost
	// sessions. Requests in flight to a pod that dies without warning fail
	// on any load balancer; the ALB stops sending new ones once its health
	// checks mark the target unhealthy.
	ExpectBoundedFailures Expectation = "failures-within-detection-window"
	// ExpectConfinedFailures: failures only among the requests the fault
	// explains (its allowances: by operation, by the slots of the keys
	// they touch, by send time), no lost session, no account locked
	// afterwards, nothing dropped.
	ExpectConfinedFailures Expectation = "failures-only-where-the-fault-explains"
)

// Disruption is what a scenario does to the running system.
type Disruption string

const (
	DisruptEvictions Disruption = "evictions"
	DisruptRollout   Disruption = "rollout"
	DisruptRedisKill Disruption = "redis-primary-kill"
	DisruptZoneLoss  Disruption = "zone-loss"
	// Dependency faults (faults.go).
	DisruptShardHang  Disruption = "redis-shard-hang"
	DisruptDBOutage   Disruption = "db-outage"
	DisruptDBFailover Disruption = "db-failover"
	DisruptRotation   Disruption = "credential-rotation"
)

// IsFault tells whether the disruption is a dependency's, not the pods':
// the pods stay, and the load goes on for the recovery window after it.
func (d Disruption) IsFault() bool {
	switch d {
	case DisruptRedisKill, DisruptShardHang, DisruptDBOutage, DisruptDBFailover, DisruptRotation:
		return true
	}
	return false
}

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
	// App puts an application in front of the service (app.go): the
	// load's logins, checks and logouts go to it, and it calls the service
	// through the Go client (cmd/auth-service/client). The final checks
	// and logins still ask the service itself.
	App bool
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
	"app-zone-loss": {
		Name: "app-zone-loss", Disruption: DisruptZoneLoss, Expect: ExpectNoLoss, PreStop: stackPreStop, App: true,
		Description: "zone-loss with the load going to an application that uses the Go client; its users see no failure",
	},
	"app-redis-failover": {
		Name: "app-redis-failover", Disruption: DisruptRedisKill, Expect: ExpectNoLoss, PreStop: stackPreStop, App: true,
		Description: "redis-failover with the load going to an application that uses the Go client; its users see no failure",
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
	"redis-shard-hang": {
		Name: "redis-shard-hang", Disruption: DisruptShardHang, Expect: ExpectConfinedFailures, PreStop: stackPreStop,
		Description: "a Redis primary and its replica stopped (SIGSTOP) for 20 s, no failover; failures only for the hung shard's keys while it hangs",
	},
	"db-outage": {
		Name: "db-outage", Disruption: DisruptDBOutage, Expect: ExpectConfinedFailures, PreStop: stackPreStop,
		Description: "PostgreSQL stopped for 30 s; failures only for logins while it is down, no account locked afterwards",
	},
	"db-failover": {
		Name: "db-failover", Disruption: DisruptDBFailover, Expect: ExpectConfinedFailures, PreStop: stackPreStop,
		Description: "the PostgreSQL writer fenced, its standby promoted and the writer endpoint switched to it, as Aurora fails over; failures only for logins, until a bounded time after the switch",
	},
	"credential-rotation": {
		Name: "credential-rotation", Disruption: DisruptRotation, Expect: ExpectNoLoss, PreStop: stackPreStop,
		Description: "the database password rotated as RDS does, then the Redis AUTH token as ElastiCache does (ROTATE, then SET), connections recycled after each step",
	},
	"deep-readiness-shard-hang": {
		Name: "deep-readiness-shard-hang", Disruption: DisruptShardHang, Expect: ExpectFailures, PreStop: stackPreStop,
		Readiness:   ReadinessEveryDependency,
		Description: "control: redis-shard-hang with a readiness probe that checks every dependency; every pod turns NotReady and is deregistered",
	},
	"deep-readiness-db-outage": {
		Name: "deep-readiness-db-outage", Disruption: DisruptDBOutage, Expect: ExpectFailures, PreStop: stackPreStop,
		Readiness:   ReadinessEveryDependency,
		Description: "control: db-outage with a readiness probe that checks every dependency; every pod turns NotReady and is deregistered",
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
	// The faults' own durations are real seconds, not scaled, as the
	// Redis failover is not: a fault is what the dependencies do, the
	// stack's budget only what Kubernetes and the ALB do about it.
	ShardHangDuration = 20 * time.Second
	DBOutageDuration  = 30 * time.Second
	// DBFailoverObservation covers the local failover (stop the writer,
	// promote the standby, switch the endpoint: about a second) and the
	// service's first logins through the new writer.
	DBFailoverObservation = 8 * time.Second
	// RotationStep is how long the load runs on after each step of the
	// credential rotation, so that every pod opens new connections with
	// what it holds and logins happen under each state.
	RotationStep = 4 * time.Second
)

// FaultDuration is how long the scenario's fault itself lasts, recovery
// not included.
func (sc Scenario) FaultDuration() time.Duration {
	switch sc.Disruption {
	case DisruptRedisKill:
		return RedisObservation
	case DisruptShardHang:
		return ShardHangDuration
	case DisruptDBOutage:
		return DBOutageDuration
	case DisruptDBFailover:
		return DBFailoverObservation
	case DisruptRotation:
		// Database, Redis ROTATE, Redis SET.
		return 3 * RotationStep
	}
	return 0
}

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
		// A fault, then long enough for an outage it caused through
		// readiness to show and end.
		return fixed + sc.FaultDuration() + t.RecoveryWindow()
	}
}
