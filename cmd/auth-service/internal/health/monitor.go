package health

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
)

// Dependencies, as the metric's and the log's "dependency" label.
const (
	PostgresWriter = "postgres-writer"
	PostgresReader = "postgres-reader"
	Redis          = "redis"
)

// Defaults of a Monitor.
const (
	// Interval between two rounds of checks.
	Interval = 2 * time.Second
	// CheckTimeout bounds each check of a round.
	CheckTimeout = time.Second
)

// DB is the database side (store.DB).
type DB interface {
	PingWriter(ctx context.Context) error
	PingReader(ctx context.Context) error
}

// DependencyState is one dependency's (or one Redis shard's) last check.
type DependencyState struct {
	Dependency string `json:"dependency"`
	// Shard is a Redis shard's slot ranges ("0-5460"; ranges joined by
	// commas), stable across failovers; "" for PostgreSQL, and for Redis
	// as a whole before its slot map is known.
	Shard     string    `json:"shard"`
	State     string    `json:"state"` // up | down
	CheckedAt time.Time `json:"checkedAt"`
	// Since is when it entered this state (the first check for the first).
	Since time.Time `json:"since"`
}

// Monitor checks PostgreSQL (writer and reader) and every Redis shard in
// the background and keeps the last result.
type Monitor struct {
	DB     DB
	Redis  *redis.ClusterClient
	Logger *slog.Logger
	// Interval and CheckTimeout default to the package's.
	Interval     time.Duration
	CheckTimeout time.Duration

	mu     sync.RWMutex
	states map[depKey]*DependencyState
	shards []shard // the Redis slot map, from the last answer
	rounds int
}

type depKey struct{ dependency, shard string }

// shard is a Redis shard: its label and a key that lives on it.
type shard struct {
	label string
	key   string
}

// Run checks every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	interval := m.Interval
	if interval == 0 {
		interval = Interval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		m.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check runs one round: every dependency at once, each under its own
// deadline.
func (m *Monitor) Check(ctx context.Context) {
	timeout := m.CheckTimeout
	if timeout == 0 {
		timeout = CheckTimeout
	}
	type result struct {
		key depKey
		err error
	}
	var mu sync.Mutex
	var results []result
	add := func(k depKey, err error) {
		mu.Lock()
		results = append(results, result{k, err})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for name, ping := range map[string]func(context.Context) error{PostgresWriter: m.DB.PingWriter, PostgresReader: m.DB.PingReader} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			add(depKey{name, ""}, ping(cctx))
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k, err := range m.checkRedis(ctx, timeout) {
			add(k, err)
		}
	}()
	wg.Wait()
	if ctx.Err() != nil {
		return // the checks were cut by shutdown, not by the dependencies
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.states == nil {
		m.states = map[depKey]*DependencyState{}
	}
	seen := map[depKey]bool{}
	for _, r := range results {
		seen[r.key] = true
		m.record(r.key, r.err, now)
	}
	for k := range m.states { // a shard that no longer exists (resharding)
		if !seen[k] {
			delete(m.states, k)
		}
	}
	m.rounds++
}

// record stores one check's result and logs it: every failed check logs
// dependency_down (the stack's metric filter counts them), a recovery logs
// dependency_up once.
func (m *Monitor) record(k depKey, err error, now time.Time) {
	state := "up"
	if err != nil {
		state = "down"
	}
	s := m.states[k]
	if s == nil {
		s = &DependencyState{Dependency: k.dependency, Shard: k.shard, State: state, Since: now}
		m.states[k] = s
	}
	recovered := s.State == "down" && state == "up"
	if s.State != state {
		s.State, s.Since = state, now
	}
	s.CheckedAt = now
	if m.Logger == nil {
		return
	}
	switch {
	case err != nil:
		m.Logger.Warn("dependency down", "event", "dependency_down", "dependency", k.dependency, "shard", k.shard,
			"since", s.Since, "err", err.Error())
	case recovered:
		m.Logger.Info("dependency up", "event", "dependency_up", "dependency", k.dependency, "shard", k.shard)
	}
}

// checkRedis checks each shard through the client's own connection to its
// primary (MasterForKey of a key on the shard, as requests reach it): the
// primary must answer CLUSTER SLOTS, whose answer is also the slot map for
// the next round. Before the map is known it is asked of the cluster.
func (m *Monitor) checkRedis(ctx context.Context, timeout time.Duration) map[depKey]error {
	m.mu.RLock()
	shards := m.shards
	m.mu.RUnlock()
	if len(shards) == 0 {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		slots, err := m.Redis.ClusterSlots(cctx).Result()
		cancel()
		if err == nil {
			shards, err = layout(slots)
		}
		if err != nil {
			return map[depKey]error{{Redis, ""}: err}
		}
	}
	results := make(map[depKey]error, len(shards))
	var fresh []redis.ClusterSlot
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			primary, err := m.Redis.MasterForKey(cctx, s.key)
			var slots []redis.ClusterSlot
			if err == nil {
				slots, err = primary.ClusterSlots(cctx).Result()
			}
			mu.Lock()
			defer mu.Unlock()
			results[depKey{Redis, s.label}] = err
			if err == nil && fresh == nil {
				fresh = slots
			}
		}()
	}
	wg.Wait()
	if fresh != nil {
		if next, err := layout(fresh); err == nil {
			m.mu.Lock()
			m.shards = next
			m.mu.Unlock()
		}
	}
	return results
}

// layout groups CLUSTER SLOTS by primary: one shard per primary, labelled
// by its slot ranges, with a key on its first range.
func layout(slots []redis.ClusterSlot) ([]shard, error) {
	byPrimary := map[string][]redis.ClusterSlot{}
	for _, s := range slots {
		if len(s.Nodes) == 0 {
			continue
		}
		id := s.Nodes[0].ID
		if id == "" {
			id = s.Nodes[0].Addr
		}
		byPrimary[id] = append(byPrimary[id], s)
	}
	if len(byPrimary) == 0 {
		return nil, errors.New("health: CLUSTER SLOTS lists no shard")
	}
	var shards []shard
	for _, ranges := range byPrimary {
		sort.Slice(ranges, func(a, b int) bool { return ranges[a].Start < ranges[b].Start })
		parts := make([]string, len(ranges))
		for i, r := range ranges {
			parts[i] = strconv.Itoa(r.Start) + "-" + strconv.Itoa(r.End)
		}
		shards = append(shards, shard{label: strings.Join(parts, ","), key: session.KeyInSlots(ranges[0].Start, ranges[0].End)})
	}
	sort.Slice(shards, func(a, b int) bool { return firstSlot(shards[a].label) < firstSlot(shards[b].label) })
	return shards, nil
}

func firstSlot(label string) int {
	n, _ := strconv.Atoi(label[:strings.IndexByte(label, '-')])
	return n
}

// States lists the last state of every dependency, PostgreSQL first, then
// the shards by slot; nil before the first round.
func (m *Monitor) States() []DependencyState {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]DependencyState, 0, len(m.states))
	for _, s := range m.states {
		out = append(out, *s)
	}
	order := map[string]int{PostgresWriter: 0, PostgresReader: 1, Redis: 2}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Dependency != out[b].Dependency {
			return order[out[a].Dependency] < order[out[b].Dependency]
		}
		if out[a].Shard == "" || out[b].Shard == "" {
			return out[a].Shard == ""
		}
		return firstSlot(out[a].Shard) < firstSlot(out[b].Shard)
	})
	return out
}

// Down tells whether dependency's last check failed (false before any).
func (m *Monitor) Down(dependency string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := m.states[depKey{dependency, ""}]
	return s != nil && s.State == "down"
}

// Rounds is the number of completed rounds.
func (m *Monitor) Rounds() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rounds
}

var dependencyUpDesc = prometheus.NewDesc("auth_dependency_up",
	"1 if the dependency (postgres-writer, postgres-reader, redis per shard) answered its last background check, else 0.",
	[]string{"dependency", "shard"}, nil)

// Describe implements prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) { ch <- dependencyUpDesc }

// Collect implements prometheus.Collector: auth_dependency_up from the
// last round (a shard gone by resharding is gone from the metric too).
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	for _, s := range m.States() {
		v := 0.0
		if s.State == "up" {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(dependencyUpDesc, prometheus.GaugeValue, v, s.Dependency, s.Shard)
	}
}
