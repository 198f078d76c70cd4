package session

import (
	"context"
	"crypto/tls"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientOptions configure NewClusterClient.
type ClientOptions struct {
	Addrs []string
	// Token returns the AUTH token for each new connection (the caller
	// caches it briefly, so a rotated token is picked up without a restart).
	Token func(ctx context.Context) (string, error)
	// TokenRejected is called when Redis refuses the token (WRONGPASS,
	// NOAUTH): the caller drops its cached token, and the command is sent
	// once more on a connection made with the token read again.
	TokenRejected func()
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
//     failing; callers bound it with their own deadline;
//   - the caller's deadline reaches the socket (ContextTimeoutEnabled): by
//     default go-redis ignores it for reads and writes, so an operation on
//     a hung shard overran a shorter deadline by up to ReadTimeout;
//   - reads and writes both go to primaries: replica reads (ReadOnly,
//     RouteRandomly) returned stale sessions after a failover;
//   - AUTH takes the token from Token for every new connection, and a
//     refused token is read again (ElastiCache's ROTATE then SET).
func NewClusterClient(o ClientOptions) *redis.ClusterClient {
	opts := &redis.ClusterOptions{
		Addrs:                      o.Addrs,
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
		ContextTimeoutEnabled:      true,
	}
	if o.Token != nil {
		opts.CredentialsProviderContext = func(ctx context.Context) (string, string, error) {
			tok, err := o.Token(ctx)
			return "", tok, err
		}
	}
	if o.TokenRejected != nil {
		// On each node's client: the refusal happens on a node's new
		// connection, and the health checks and the session write with
		// WAIT use node clients directly.
		opts.NewClient = func(opt *redis.Options) *redis.Client {
			c := redis.NewClient(opt)
			c.AddHook(authRetry{rejected: o.TokenRejected})
			return c
		}
	}
	return redis.NewClusterClient(opts)
}

// TokenRefused tells whether err is Redis refusing the AUTH token.
func TokenRefused(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "WRONGPASS") || strings.Contains(s, "NOAUTH")
}

// authRetry sends a command (or pipeline) once more after Redis refused
// the token, once the token has been dropped (a connection made after a
// SET with a token read before it).
type authRetry struct{ rejected func() }

func (h authRetry) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h authRetry) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if !TokenRefused(err) {
			return err
		}
		h.rejected()
		cmd.SetErr(nil)
		return next(ctx, cmd)
	}
}

func (h authRetry) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		refused := TokenRefused(err)
		for _, c := range cmds {
			refused = refused || TokenRefused(c.Err())
		}
		if !refused {
			return err
		}
		h.rejected()
		for _, c := range cmds {
			c.SetErr(nil)
		}
		return next(ctx, cmds)
	}
}

// Operation deadlines. Each store call has its own, inside the request's.
const (
	// OpTimeout bounds a session read or revocation, and the second
	// attempt of a session write, failover included (promotion took
	// 3.4-4.3 s locally with a 2 s node timeout; ElastiCache documents
	// failovers of seconds to a minute, so a request that hits a longer
	// one gets a 503 and the client retries).
	OpTimeout = 8 * time.Second
	// FirstWriteTimeout bounds the first attempt to store a new session:
	// when its shard is failing or hung, the login retries on another
	// shard with a new token, and both attempts fit in the request.
	FirstWriteTimeout = 2 * time.Second
)
