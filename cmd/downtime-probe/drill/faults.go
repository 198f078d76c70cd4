package drill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/authplatform/auth-platform/tests/realparts"
)

// Faults does to the dependencies what a fault scenario asks, on the
// drill's clock, and returns the failed requests it explains.
type Faults interface {
	Inject(ctx context.Context, d Disruption, c FaultClock) ([]Allowance, error)
}

// FaultClock is what a fault needs of the drill: its time origin, its
// event log and its progress lines.
type FaultClock struct {
	Start  time.Time
	Record func(what, detail string)
	Logf   func(format string, args ...any)
}

// Now is the offset from the drill's start.
func (c FaultClock) Now() time.Duration { return time.Since(c.Start) }

// DBFailoverLoginBound is how long after the writer endpoint switched to
// the promoted standby a login may still fail in db-failover. Measured
// (README, "Measured results"): the service's logins wait at most their
// own deadlines for the fenced writer, then go to the new one.
const DBFailoverLoginBound = 5 * time.Second

// RotationGap is how long a rotated database password is set before the
// secret holds it, as between RDS's setSecret and finishSecret steps
// (the service's e2e test uses the same gap): connections made in it are
// refused with 28P01, and the service must read the secret again.
const RotationGap = 300 * time.Millisecond

// PartsFaults injects the faults into the real parts of a drill run.
type PartsFaults struct {
	Redis *realparts.RedisCluster
	// PG is the writer; Standby its hot standby (db-failover only).
	PG, Standby *realparts.Postgres
	// Writer and Reader are the endpoints the pods dial for DB_HOST and
	// DB_READER_HOST, as Aurora's cluster and reader endpoints.
	Writer, Reader *realparts.Endpoint
	CA             *realparts.CA
	// PasswordFile and TokenFile are the secrets the pods read.
	PasswordFile, TokenFile string
}

// Inject implements Faults.
func (f *PartsFaults) Inject(ctx context.Context, d Disruption, c FaultClock) ([]Allowance, error) {
	switch d {
	case DisruptRedisKill:
		return nil, f.redisFailover(ctx, c)
	case DisruptShardHang:
		return f.shardHang(ctx, c)
	case DisruptDBOutage:
		return f.dbOutage(ctx, c)
	case DisruptDBFailover:
		return f.dbFailover(ctx, c)
	case DisruptRotation:
		return nil, f.rotate(ctx, c)
	}
	return nil, fmt.Errorf("%s is not a fault", d)
}

// redisFailover kills a primary; its replica takes over.
func (f *PartsFaults) redisFailover(ctx context.Context, c FaultClock) error {
	kill := time.Now()
	node, err := f.Redis.KillPrimary(0)
	if err != nil {
		return err
	}
	c.Record(EvDisrupt, "redis primary "+node.Addr+" killed")
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = f.Redis.WaitFailover(fctx)
	cancel()
	if err != nil {
		return err
	}
	c.Record(EvRecovery, "every shard has a primary again")
	return sleep(ctx, time.Until(kill.Add(RedisObservation)))
}

// shardHang stops a primary and its replica for ShardHangDuration. The
// shard is the first that does not hold the drill's source counter, so
// that only the logins whose own account counters live on the hung shard
// touch it (every login reads the source counter).
func (f *PartsFaults) shardHang(ctx context.Context, c FaultClock) ([]Allowance, error) {
	shards, err := f.Redis.Shards()
	if err != nil {
		return nil, err
	}
	source := realparts.KeySlot(SourceKey(DrillSource))
	var hung *realparts.Shard
	for i := range shards {
		if !shards[i].Slots.Contains(source) {
			hung = &shards[i]
			break
		}
	}
	if hung == nil {
		return nil, fmt.Errorf("no shard without slot %d: %v", source, shards)
	}
	from := c.Now()
	nodes, err := f.Redis.HangShard(hung.Primary)
	if err != nil {
		// Some may be stopped: never leave them so.
		return nil, errors.Join(err, f.Redis.Resume(context.WithoutCancel(ctx), nodes...))
	}
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	c.Record(EvDisrupt, fmt.Sprintf("redis shard %s hung: %s stopped (SIGSTOP), no failover", hung.Slots, strings.Join(addrs, ", ")))
	c.Logf("shard %s hung for %v", hung.Slots, ShardHangDuration)
	serr := sleep(ctx, ShardHangDuration)
	cont := c.Now()
	// Resumed even when the drill is interrupted.
	if err := f.Redis.Resume(context.WithoutCancel(ctx), nodes...); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	to := c.Now()
	c.Record(EvRecovery, fmt.Sprintf("redis shard %s resumed (SIGCONT at %.1f s; the cluster cleared its failure flag %.1f s later)",
		hung.Slots, cont.Seconds(), (to-cont).Seconds()))
	return []Allowance{{
		What:   "requests touching the hung shard's keys while it hung",
		Window: Window{From: from - FaultSlack, To: to + FaultSlack},
		Slots:  hung.Slots,
	}}, nil
}

// dbOutage stops PostgreSQL for DBOutageDuration.
func (f *PartsFaults) dbOutage(ctx context.Context, c FaultClock) ([]Allowance, error) {
	from := c.Now()
	if err := f.PG.Stop(); err != nil {
		return nil, err
	}
	c.Record(EvDisrupt, "PostgreSQL stopped")
	c.Logf("PostgreSQL down for %v", DBOutageDuration)
	serr := sleep(ctx, DBOutageDuration)
	if err := f.PG.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	to := c.Now()
	c.Record(EvRecovery, "PostgreSQL accepts connections again")
	return []Allowance{{
		What:   "logins while PostgreSQL was down",
		Window: Window{From: from - FaultSlack, To: to + FaultSlack},
		Ops:    []string{OpLogin},
	}}, nil
}

// dbFailover does what Aurora's failover does: the writer is fenced (no
// TCP traffic from it: clients wait for their own deadlines), the
// standby is promoted, and the cluster (writer) endpoint leads to it,
// every connection through the old address cut. The reader endpoint,
// already on the standby, stays. The old writer does not come back (in
// Aurora it restarts as a reader; nothing needs it here).
func (f *PartsFaults) dbFailover(ctx context.Context, c FaultClock) ([]Allowance, error) {
	if f.Standby == nil {
		return nil, errors.New("db-failover needs a standby")
	}
	from := c.Now()
	f.Writer.Block()
	c.Record(EvDisrupt, "PostgreSQL writer fenced: the writer endpoint answers nothing")
	if err := f.Standby.Promote(ctx); err != nil {
		return nil, err
	}
	promoted := c.Now()
	f.Writer.Switch(f.Standby.Addr())
	f.Writer.Unblock()
	switched := c.Now()
	c.Record(EvRecovery, fmt.Sprintf("standby promoted in %.2f s; the writer endpoint leads to it", (promoted-from).Seconds()))
	if err := f.PG.Stop(); err != nil {
		return nil, err
	}
	if err := sleep(ctx, from+DBFailoverObservation-c.Now()); err != nil {
		return nil, err
	}
	return []Allowance{{
		What:   fmt.Sprintf("logins from the writer's fencing until %v after the endpoint switched", DBFailoverLoginBound),
		Window: Window{From: from - FaultSlack, To: switched + DBFailoverLoginBound},
		Ops:    []string{OpLogin},
	}}, nil
}

// rotate rotates the database password as RDS-managed rotation does (the
// new password set, then the secret, the old one refused from then on),
// then the Redis AUTH token as ElastiCache does (ROTATE: both tokens
// valid, then the secret; SET: only the new one). After each step every
// connection to the changed store is recycled, so that each pod
// authenticates again with what it holds: the database's idle ones (a
// connection in use finishes its query), every Redis client connection.
func (f *PartsFaults) rotate(ctx context.Context, c FaultClock) error {
	pw := secret()
	if err := f.PG.SetPassword(ctx, pw); err != nil {
		return err
	}
	// Connections idle for more than 2 s are recycled: pgxpool pings a
	// connection idle for more than a second before it hands it out
	// (pgx v5.13.0 pgxpool/pool.go:278-279) and replaces a dead one, so
	// this costs no request while the pods must open new connections now,
	// with the password they hold. RDS's rotation itself closes nothing;
	// terminating connections in use (or just used: first drill runs
	// terminated every idle one) fails their query with 57P01, which is
	// not what this scenario is about.
	n, err := f.PG.Exec(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "+
		"WHERE usename = current_user AND pid <> pg_backend_pid() AND state = 'idle' "+
		"AND state_change < now() - interval '2 seconds'")
	if err != nil {
		return err
	}
	c.Record(EvDisrupt, "database password changed (ALTER ROLE): the old one is refused; "+n+" idle connections recycled")
	if err := sleep(ctx, RotationGap); err != nil {
		return err
	}
	if err := writeSecret(f.PasswordFile, pw); err != nil {
		return err
	}
	c.Record(EvRecovery, "database secret updated")
	if err := sleep(ctx, RotationStep); err != nil {
		return err
	}

	token := secret()
	if err := f.Redis.RotateAuth(token); err != nil {
		return err
	}
	if err := writeSecret(f.TokenFile, token); err != nil {
		return err
	}
	c.Record(EvDisrupt, "redis AUTH token ROTATE: old and new valid, secret updated")
	if err := f.killRedisClients(ctx); err != nil {
		return err
	}
	if err := sleep(ctx, RotationStep); err != nil {
		return err
	}
	if err := f.Redis.SetAuth(token); err != nil {
		return err
	}
	c.Record(EvDisrupt, "redis AUTH token SET: only the new one valid")
	if err := f.killRedisClients(ctx); err != nil {
		return err
	}
	if err := sleep(ctx, RotationStep); err != nil {
		return err
	}
	c.Record(EvRecovery, "rotations done")
	return nil
}

// killRedisClients closes every client connection on every node (CLIENT
// KILL TYPE normal), with redis-cli: the pods reconnect and authenticate
// with the token they hold.
func (f *PartsFaults) killRedisClients(ctx context.Context) error {
	var errs []error
	for _, addr := range f.Redis.Addrs() {
		host, port, _ := strings.Cut(addr, ":")
		cmd := exec.CommandContext(ctx, "redis-cli", "--tls", "--cacert", f.CA.CAFile, "--no-auth-warning",
			"-a", f.Redis.Password(), "-h", host, "-p", port, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
		out, err := cmd.CombinedOutput()
		if _, perr := strconv.Atoi(strings.TrimSpace(string(out))); err != nil || perr != nil {
			errs = append(errs, fmt.Errorf("redis-cli -p %s CLIENT KILL: %v: %s", port, err, out))
		}
	}
	return errors.Join(errs...)
}

// writeSecret replaces a secret file in one step (a pod never reads half
// of it), as Secrets Manager's new version appears whole.
func writeSecret(path, value string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(value); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
