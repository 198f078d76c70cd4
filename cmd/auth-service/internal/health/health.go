// Package health answers the readiness check (/health): ready only when
// PostgreSQL and every Redis shard answer and the process is not shutting
// down. The body names components and states, never addresses or errors.
package health

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pinger is the database side (store.DB).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Checker runs the checks.
type Checker struct {
	DB      Pinger
	Redis   *redis.ClusterClient
	Timeout time.Duration // per check; below the probes' 2 s timeout
	Logger  *slog.Logger
	// OnDBError sees each database failure (to drop cached credentials
	// after an authentication failure).
	OnDBError func(error)

	shutting atomic.Bool
}

// Report is /health's body.
type Report struct {
	Status       string            `json:"status"` // ok | unavailable | shutting_down
	ShuttingDown bool              `json:"shuttingDown"`
	Components   map[string]string `json:"components"`
	RedisShards  ShardCount        `json:"redisShards"`
}

// ShardCount counts shards whose primary answered PING.
type ShardCount struct {
	Up    int `json:"up"`
	Total int `json:"total"`
}

// SetShuttingDown makes every later check fail at once.
func (c *Checker) SetShuttingDown() { c.shutting.Store(true) }

// ShuttingDown tells whether SetShuttingDown was called.
func (c *Checker) ShuttingDown() bool { return c.shutting.Load() }

// Check runs the database and Redis checks concurrently.
func (c *Checker) Check(ctx context.Context) Report {
	if c.shutting.Load() {
		return Report{Status: "shutting_down", ShuttingDown: true, Components: map[string]string{}}
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 1500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := Report{Status: "ok", Components: map[string]string{"postgres": "ok", "redis": "ok"}}
	var wg sync.WaitGroup
	var dbErr error
	var mu sync.Mutex
	wg.Add(2)
	go func() {
		defer wg.Done()
		dbErr = c.DB.Ping(ctx)
	}()
	go func() {
		defer wg.Done()
		// A shard answers when its primary does (all reads and writes go
		// to primaries); go-redis's ForEachShard would also ping replicas,
		// and one lost replica must not take every pod out of service.
		err := c.Redis.ForEachMaster(ctx, func(ctx context.Context, shard *redis.Client) error {
			mu.Lock()
			r.RedisShards.Total++
			mu.Unlock()
			if err := shard.Ping(ctx).Err(); err != nil {
				c.log("redis shard down", "addr", shard.Options().Addr, "err", err)
				return err
			}
			mu.Lock()
			r.RedisShards.Up++
			mu.Unlock()
			return nil
		})
		if err != nil {
			mu.Lock()
			r.Components["redis"] = "down"
			mu.Unlock()
			c.log("redis down", "err", err)
		}
	}()
	wg.Wait()
	if dbErr != nil {
		r.Components["postgres"] = "down"
		c.log("postgres down", "err", dbErr)
		if c.OnDBError != nil {
			c.OnDBError(dbErr)
		}
	}
	if r.Components["redis"] != "ok" || r.Components["postgres"] != "ok" || r.RedisShards.Total == 0 {
		r.Status = "unavailable"
	}
	if c.shutting.Load() {
		r.Status, r.ShuttingDown = "shutting_down", true
	}
	return r
}

func (c *Checker) log(msg string, args ...any) {
	if c.Logger != nil {
		c.Logger.Warn(msg, args...)
	}
}
