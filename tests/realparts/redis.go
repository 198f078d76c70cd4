package realparts

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RedisClusterOptions configure StartRedisCluster.
type RedisClusterOptions struct {
	// Dir holds one directory per node (config, nodes.conf, log). Default:
	// a new temporary directory, removed by Close.
	Dir string
	// CA signs the certificate every node serves and presents to its peers.
	// Required.
	CA *CA
	// Password is the AUTH token (the default user's password and
	// masterauth), as with an ElastiCache AUTH token. Required. RotateAuth and
	// SetAuth change it later, as ElastiCache's ROTATE and SET do.
	Password string
	// Primaries is the number of shards. Default 3 (the minimum Redis
	// accepts for a cluster).
	Primaries int
	// ReplicasPerPrimary is the number of replicas of each shard. Default 1.
	ReplicasPerPrimary int
	// NodeTimeout is cluster-node-timeout: how long a node may be silent
	// before it is marked failed. Default 2s; a replica is then promoted
	// 3.4-4.3 s after its primary dies (measured, see the notes).
	NodeTimeout time.Duration
}

// Node is one redis-server of the cluster.
type Node struct {
	Index   int    // position in Addrs
	Addr    string // 127.0.0.1:Port, the TLS client port
	Port    int
	BusPort int // the cluster bus (TLS as well)
}

// RedisCluster is a running Redis Cluster on loopback: TLS only (no
// plaintext port), AUTH, every node started as a child process.
type RedisCluster struct {
	opts   RedisClusterOptions
	ownDir bool
	mu     sync.Mutex
	nodes  []Node
	procs  []*proc
	confs  []string
	// passwords are the AUTH tokens every node accepts, the newest last
	// (two between RotateAuth and SetAuth); the harness uses the newest.
	passwords []string
	// paused are the nodes stopped by Pause (SIGSTOP) and not yet resumed.
	paused map[int]bool
}

// StartRedisCluster starts Primaries*(1+ReplicasPerPrimary) nodes, creates
// the cluster with redis-cli --cluster create and returns once every node
// reports cluster_state:ok and every replica is in sync with its primary.
// A start that fails (for instance a port taken in between) is retried with
// new ports, twice.
func StartRedisCluster(ctx context.Context, opts RedisClusterOptions) (*RedisCluster, error) {
	if opts.CA == nil || opts.Password == "" {
		return nil, errors.New("realparts: RedisClusterOptions needs CA and Password")
	}
	if err := Require("redis-server", "redis-cli"); err != nil {
		return nil, err
	}
	if opts.Primaries == 0 {
		opts.Primaries = 3
	}
	if opts.ReplicasPerPrimary == 0 {
		opts.ReplicasPerPrimary = 1
	}
	if opts.NodeTimeout == 0 {
		opts.NodeTimeout = 2 * time.Second
	}
	ownDir := false
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "rpredis")
		if err != nil {
			return nil, fmt.Errorf("realparts: redis dir: %w", err)
		}
		opts.Dir, ownDir = d, true
	}
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		c := &RedisCluster{opts: opts, ownDir: ownDir, passwords: []string{opts.Password}, paused: map[int]bool{}}
		dir := filepath.Join(opts.Dir, fmt.Sprintf("try%d", attempt))
		if lastErr = c.start(ctx, dir); lastErr == nil {
			return c, nil
		}
		c.stopAll()
		if ctx.Err() != nil {
			break
		}
	}
	if ownDir {
		os.RemoveAll(opts.Dir)
	}
	return nil, lastErr
}

func (c *RedisCluster) start(ctx context.Context, dir string) error {
	n := c.opts.Primaries * (1 + c.opts.ReplicasPerPrimary)
	ports, err := FreePorts(2 * n)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		node := Node{Index: i, Port: ports[2*i], BusPort: ports[2*i+1]}
		node.Addr = "127.0.0.1:" + strconv.Itoa(node.Port)
		nodeDir := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return fmt.Errorf("realparts: redis node dir: %w", err)
		}
		conf := filepath.Join(nodeDir, "redis.conf")
		c.nodes = append(c.nodes, node)
		c.confs = append(c.confs, conf)
		if err := c.writeConfig(i); err != nil {
			return err
		}
		c.procs = append(c.procs, nil)
		if err := c.startNode(i); err != nil {
			return err
		}
	}
	for i := range c.nodes {
		if err := c.waitPing(ctx, i); err != nil {
			return err
		}
	}
	args := append(c.cliArgs(), "--cluster", "create")
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(c.opts.ReplicasPerPrimary), "--cluster-yes")
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("realparts: redis-cli --cluster create: %w\n%s", err, out)
	}
	return c.waitHealthy(ctx, 30*time.Second)
}

// cliArgs are redis-cli's TLS and AUTH arguments.
func (c *RedisCluster) cliArgs() []string {
	return []string{"--tls", "--cacert", c.opts.CA.CAFile, "-a", c.password(), "--no-auth-warning"}
}

// password is the newest AUTH token.
func (c *RedisCluster) password() string { return c.passwords[len(c.passwords)-1] }

// writeConfig writes node i's redis.conf with the tokens accepted now, so
// that a node restarted after a rotation accepts the same ones.
func (c *RedisCluster) writeConfig(i int) error {
	n := c.nodes[i]
	dir := filepath.Dir(c.confs[i])
	if err := os.WriteFile(c.confs[i], []byte(c.config(n, dir)), 0o600); err != nil {
		return fmt.Errorf("realparts: redis config: %w", err)
	}
	return nil
}

// config is a node's redis.conf. The AUTH tokens are the default user's
// passwords (an ACL rule: requirepass can hold only one, and between ROTATE
// and SET two are valid); masterauth is the newest, for replication.
func (c *RedisCluster) config(n Node, dir string) string {
	ca := c.opts.CA
	users := "user default on ~* &* +@all"
	for _, pw := range c.passwords {
		users += " >" + pw
	}
	return fmt.Sprintf(`bind 127.0.0.1
port 0
tls-port %d
cluster-port %d
tls-cert-file %s
tls-key-file %s
tls-ca-cert-file %s
tls-auth-clients no
tls-cluster yes
tls-replication yes
%s
masterauth %s
cluster-enabled yes
cluster-config-file %s
cluster-node-timeout %d
cluster-replica-validity-factor 0
cluster-require-full-coverage no
repl-diskless-sync-delay 0
dir %s
save ""
appendonly no
daemonize no
logfile %s
`, n.Port, n.BusPort, ca.CertFile, ca.KeyFile, ca.CAFile, users, c.password(),
		filepath.Join(dir, "nodes.conf"), c.opts.NodeTimeout.Milliseconds(), dir, filepath.Join(dir, "redis.log"))
}

func (c *RedisCluster) startNode(i int) error {
	logPath := filepath.Join(filepath.Dir(c.confs[i]), "stdout.log")
	p, err := startProc(fmt.Sprintf("redis-server %s", c.nodes[i].Addr), logPath, nil, os.Environ(), "redis-server", c.confs[i])
	if err != nil {
		return err
	}
	c.procs[i] = p
	return nil
}

func (c *RedisCluster) cmd(i int, args ...string) (string, error) {
	return redisCommand(c.nodes[i].Addr, c.opts.CA.Pool(), c.password(), 2*time.Second, args...)
}

func (c *RedisCluster) waitPing(ctx context.Context, i int) error {
	return poll(ctx, "redis "+c.nodes[i].Addr+" PING", 10*time.Second, 20*time.Millisecond, func() error {
		if c.procs[i].exited() {
			return fmt.Errorf("redis-server exited: %v\n%s", c.procs[i].err, tail(filepath.Join(filepath.Dir(c.confs[i]), "redis.log"), 2000))
		}
		_, err := c.cmd(i, "PING")
		return err
	})
}

func (c *RedisCluster) running(i int) bool { return c.procs[i] != nil && !c.procs[i].exited() }

// reachable tells whether node i runs and is not paused: it answers.
func (c *RedisCluster) reachable(i int) bool { return c.running(i) && !c.paused[i] }

// waitHealthy waits until every running node sees cluster_state:ok, every
// shard has a live primary and every running replica's link is up.
func (c *RedisCluster) waitHealthy(ctx context.Context, timeout time.Duration) error {
	return poll(ctx, "redis cluster healthy", timeout, 50*time.Millisecond, func() error {
		live, err := c.livePrimaries()
		if err != nil {
			return err
		}
		if len(live) != c.opts.Primaries {
			return fmt.Errorf("%d of %d shards have a live primary", len(live), c.opts.Primaries)
		}
		// Which running nodes are replicas, by their own account.
		replicas := map[string]bool{}
		for i := range c.nodes {
			if !c.reachable(i) {
				continue
			}
			repl, err := c.cmd(i, "INFO", "replication")
			if err != nil {
				return err
			}
			if infoField(repl, "role") == "slave" {
				replicas[c.nodes[i].Addr] = true
			}
		}
		for i := range c.nodes {
			if !c.reachable(i) {
				continue
			}
			// Gossip tells every node who replicates whom a little after
			// the replicas themselves know; Shards reads one node's view,
			// so wait until every view agrees with the replicas.
			nodes, err := c.cmd(i, "CLUSTER", "NODES")
			if err != nil {
				return err
			}
			if seen := replicasInView(nodes); !sameSet(seen, replicas) {
				return fmt.Errorf("%s sees replicas %v, the replicas are %v", c.nodes[i].Addr, seen, replicas)
			}
			info, err := c.cmd(i, "CLUSTER", "INFO")
			if err != nil {
				return err
			}
			if s := infoField(info, "cluster_state"); s != "ok" {
				return fmt.Errorf("%s: cluster_state:%s", c.nodes[i].Addr, s)
			}
			repl, err := c.cmd(i, "INFO", "replication")
			if err != nil {
				return err
			}
			if infoField(repl, "role") == "slave" && infoField(repl, "master_link_status") != "up" {
				return fmt.Errorf("%s: replica link %s", c.nodes[i].Addr, infoField(repl, "master_link_status"))
			}
		}
		return nil
	})
}

// livePrimaries are the nodes that, per CLUSTER NODES of a running node,
// are primaries holding slots, not flagged failed, and actually running.
func (c *RedisCluster) livePrimaries() ([]Node, error) {
	var lastErr error = errors.New("no node is running")
	for i := range c.nodes {
		if !c.reachable(i) {
			continue
		}
		out, err := c.cmd(i, "CLUSTER", "NODES")
		if err != nil {
			lastErr = err
			continue
		}
		var live []Node
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
				continue
			}
			addr, _, _ := strings.Cut(f[1], "@")
			for j, n := range c.nodes {
				if n.Addr == addr && c.reachable(j) {
					live = append(live, n)
				}
			}
		}
		sort.Slice(live, func(a, b int) bool { return live[a].Index < live[b].Index })
		return live, nil
	}
	return nil, lastErr
}

// Addrs lists every node's host:port, in start order.
func (c *RedisCluster) Addrs() []string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// SeedAddr is one node's address, as a client's configuration endpoint.
func (c *RedisCluster) SeedAddr() string { return c.nodes[0].Addr }

// Nodes lists every node, running or not.
func (c *RedisCluster) Nodes() []Node { return append([]Node(nil), c.nodes...) }

// Primaries lists the running nodes that are primaries with slots now,
// ordered by Index, leaving out paused ones (see Pause). It changes after a
// failover.
func (c *RedisCluster) Primaries() []Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	live, _ := c.livePrimaries()
	return live
}

// ReplicasOf lists the running (not paused) replicas of primary p, as each replica
// reports it (INFO replication: role and master port), which is true at
// once, unlike another node's gossiped view.
func (c *RedisCluster) ReplicasOf(p Node) ([]Node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var replicas []Node
	for i, n := range c.nodes {
		if !c.reachable(i) || n.Addr == p.Addr {
			continue
		}
		repl, err := c.cmd(i, "INFO", "replication")
		if err != nil {
			return nil, fmt.Errorf("realparts: %s: %w", n.Addr, err)
		}
		if infoField(repl, "role") == "slave" && infoField(repl, "master_port") == strconv.Itoa(p.Port) {
			replicas = append(replicas, n)
		}
	}
	return replicas, nil
}

// KillPrimary SIGKILLs the i-th of Primaries(), as a crash: no shutdown, no
// failover handshake. The cluster promotes its replica after NodeTimeout
// plus an election (see WaitFailover).
func (c *RedisCluster) KillPrimary(i int) (Node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	live, err := c.livePrimaries()
	if err != nil {
		return Node{}, err
	}
	if i < 0 || i >= len(live) {
		return Node{}, fmt.Errorf("realparts: KillPrimary(%d): %d primaries running", i, len(live))
	}
	n := live[i]
	return n, c.procs[n.Index].stop(syscall.SIGKILL, time.Second)
}

// WaitFailover returns once every shard has a running primary again and
// the cluster is healthy as at start (state ok, replicas in sync), or ctx
// ends (bounded to 60 s in any case).
func (c *RedisCluster) WaitFailover(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitHealthy(ctx, 60*time.Second)
}

// Stop shuts a node down (SIGTERM, SIGKILL after 5 s).
func (c *RedisCluster) Stop(n Node) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running(n.Index) {
		return nil
	}
	delete(c.paused, n.Index)
	return c.procs[n.Index].stop(syscall.SIGTERM, 5*time.Second)
}

// Restart starts a stopped or killed node again on its ports with its
// nodes.conf, so it rejoins the cluster (a former primary as a replica of
// the node promoted in its place), and waits until it answers PING.
func (c *RedisCluster) Restart(ctx context.Context, n Node) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running(n.Index) {
		return nil
	}
	delete(c.paused, n.Index)
	if err := c.startNode(n.Index); err != nil {
		return err
	}
	return c.waitPing(ctx, n.Index)
}

func (c *RedisCluster) stopAll() error {
	var errs []error
	for i := range c.procs {
		if c.procs[i] != nil {
			errs = append(errs, c.procs[i].stop(syscall.SIGTERM, 2*time.Second))
		}
	}
	return errors.Join(errs...)
}

// Close stops every node and removes Dir if StartRedisCluster created it.
func (c *RedisCluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.stopAll()
	if c.ownDir {
		os.RemoveAll(c.opts.Dir)
	}
	return err
}

// replicasInView are the addresses CLUSTER NODES flags as replicas that
// are not failed.
func replicasInView(nodes string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.Contains(f[2], "slave") || strings.Contains(f[2], "fail") {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		out[addr] = true
	}
	return out
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
