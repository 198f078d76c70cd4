package session

import (
	"crypto/tls"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientOptions configure NewClusterClient.
type ClientOptions struct {
	Addrs    []string
	Password string
	// TLS is the client TLS configuration; nil means plaintext.
	TLS *tls.Config
}

// NewClusterClient returns a Redis Cluster client tuned to ride through a
// shard failover, measured in shared/notes/local-drill-real-parts.md and in
// this module's failover test:
//   - the slot map is reloaded every second: go-redis reloads it on MOVED,
//     but a dead primary only gives dial errors, so without this it would
//     keep dialling the dead node for the default 60 s;
//   - up to 30 redirects/retries with 50-250 ms backoff, so an operation
//     waits for the replica's promotion (node timeout + election) instead of
//     failing; callers bound it with OpTimeout;
//   - reads and writes both go to primaries: replica reads (ReadOnly,
//     RouteRandomly) returned stale sessions after a failover.
func NewClusterClient(o ClientOptions) *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                      o.Addrs,
		Password:                   o.Password,
		TLSConfig:                  o.TLS,
		ClusterStateReloadInterval: time.Second,
		MaxRedirects:               30,
		MinRetryBackoff:            50 * time.Millisecond,
		MaxRetryBackoff:            250 * time.Millisecond,
		DialTimeout:                time.Second,
		ReadTimeout:                time.Second,
		WriteTimeout:               time.Second,
		PoolTimeout:                2 * time.Second,
		MinIdleConns:               1,
	})
}

// OpTimeout bounds one session or lockout operation, failover included
// (promotion took 3.4-4.3 s locally with a 2 s node timeout; ElastiCache
// documents failovers of seconds to a minute, so a request that hits a
// longer one gets a 503 and the client retries).
const OpTimeout = 8 * time.Second
