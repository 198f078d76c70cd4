package realparts

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Shard is one primary's slots and the nodes that serve them.
type Shard struct {
	Slots    SlotRanges
	Primary  Node
	Replicas []Node
}

// Shards lists the shards as a reachable node's CLUSTER NODES shows them
// now, ordered by their first slot: each primary holding slots (also one
// that is paused or flagged failed but not replaced: it still owns its
// slots), its slot ranges and its replicas.
func (c *RedisCluster) Shards() ([]Shard, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shards()
}

func (c *RedisCluster) shards() ([]Shard, error) {
	var lastErr error = errors.New("no node is reachable")
	for i := range c.nodes {
		if !c.reachable(i) {
			continue
		}
		out, err := c.cmd(i, "CLUSTER", "NODES")
		if err != nil {
			lastErr = err
			continue
		}
		return c.parseShards(out)
	}
	return nil, fmt.Errorf("realparts: redis shards: %w", lastErr)
}

// parseShards reads CLUSTER NODES: "<id> <ip:port@bus> <flags> <primary id
// or -> <ping> <pong> <epoch> <link> <slot or range>...".
func (c *RedisCluster) parseShards(out string) ([]Shard, error) {
	byAddr := map[string]Node{}
	for _, n := range c.nodes {
		byAddr[n.Addr] = n
	}
	primaries := map[string]*Shard{}
	replicaOf := map[string][]Node{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		node, ok := byAddr[addr]
		if !ok {
			continue
		}
		if strings.Contains(f[2], "slave") {
			replicaOf[f[3]] = append(replicaOf[f[3]], node)
			continue
		}
		var slots SlotRanges
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") { // a slot being migrated or imported
				continue
			}
			a, b, isRange := strings.Cut(s, "-")
			if !isRange {
				b = a
			}
			start, err1 := strconv.Atoi(a)
			end, err2 := strconv.Atoi(b)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("realparts: CLUSTER NODES slot %q in %q", s, line)
			}
			slots = append(slots, SlotRange{start, end})
		}
		if len(slots) > 0 {
			primaries[f[0]] = &Shard{Slots: slots, Primary: node}
		}
	}
	shards := make([]Shard, 0, len(primaries))
	for id, s := range primaries {
		s.Replicas = replicaOf[id]
		sort.Slice(s.Replicas, func(a, b int) bool { return s.Replicas[a].Index < s.Replicas[b].Index })
		sort.Slice(s.Slots, func(a, b int) bool { return s.Slots[a].Start < s.Slots[b].Start })
		shards = append(shards, *s)
	}
	sort.Slice(shards, func(a, b int) bool { return shards[a].Slots[0].Start < shards[b].Slots[0].Start })
	return shards, nil
}

// ShardOf is the shard that holds key now (by KeySlot).
func (c *RedisCluster) ShardOf(key string) (Shard, error) {
	shards, err := c.Shards()
	if err != nil {
		return Shard{}, err
	}
	slot := KeySlot(key)
	for _, s := range shards {
		if s.Slots.Contains(slot) {
			return s, nil
		}
	}
	return Shard{}, fmt.Errorf("realparts: no shard holds slot %d of %q", slot, key)
}

// Pause stops nodes with SIGSTOP, as a host that hangs: connections stay
// open and new ones are accepted by the kernel, but nothing answers, and
// the rest of the cluster marks them failed after NodeTimeout.
func (c *RedisCluster) Pause(nodes ...Node) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		if !c.running(n.Index) {
			return fmt.Errorf("realparts: Pause %s: not running", n.Addr)
		}
		if err := c.procs[n.Index].signal(syscall.SIGSTOP); err != nil {
			return err
		}
		c.paused[n.Index] = true
	}
	return nil
}

// HangShard pauses primary p and every replica of it, so that nothing can
// take its slots over (no failover) until Resume. It returns the paused
// nodes, the primary first.
func (c *RedisCluster) HangShard(p Node) ([]Node, error) {
	replicas, err := c.ReplicasOf(p)
	if err != nil {
		return nil, err
	}
	nodes := append([]Node{p}, replicas...)
	return nodes, c.Pause(nodes...)
}

// Resume continues paused nodes (SIGCONT), primaries first: it waits until
// every other reachable node has cleared a resumed primary's failure flag
// before it resumes the replicas, since a replica that resumed first would
// read the failure reports queued for it and fail its primary over. Nodes
// not paused are ignored. Bounded by ctx and 4 x NodeTimeout + 10 s.
func (c *RedisCluster) Resume(ctx context.Context, nodes ...Node) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var primaries, rest []Node
	shards, err := c.shards()
	if err != nil {
		return err
	}
	isPrimary := map[string]bool{}
	for _, s := range shards {
		isPrimary[s.Primary.Addr] = true
	}
	for _, n := range nodes {
		if !c.paused[n.Index] {
			continue
		}
		if isPrimary[n.Addr] {
			primaries = append(primaries, n)
		} else {
			rest = append(rest, n)
		}
	}
	for _, n := range primaries {
		if err := c.procs[n.Index].signal(syscall.SIGCONT); err != nil {
			return err
		}
		delete(c.paused, n.Index)
	}
	if len(primaries) > 0 {
		err := poll(ctx, "resumed primaries no longer flagged failed", 4*c.opts.NodeTimeout+10*time.Second, 50*time.Millisecond, func() error {
			for i := range c.nodes {
				if !c.reachable(i) {
					continue
				}
				out, err := c.cmd(i, "CLUSTER", "NODES")
				if err != nil {
					return err
				}
				for _, line := range strings.Split(out, "\n") {
					f := strings.Fields(line)
					if len(f) < 3 {
						continue
					}
					addr, _, _ := strings.Cut(f[1], "@")
					for _, p := range primaries {
						if addr == p.Addr && strings.Contains(f[2], "fail") {
							return fmt.Errorf("%s sees %s as %s", c.nodes[i].Addr, p.Addr, f[2])
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, n := range rest {
		if err := c.procs[n.Index].signal(syscall.SIGCONT); err != nil {
			return err
		}
		delete(c.paused, n.Index)
	}
	return nil
}

// Password is the newest AUTH token (the one a new client should use).
func (c *RedisCluster) Password() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.password()
}

// RotateAuth is ElastiCache's authTokenUpdateStrategy ROTATE: every node
// accepts newToken as well as the current token (ACL SETUSER default
// >newToken), and replicas authenticate to their primaries with newToken
// (masterauth), so replication keeps working after SetAuth. Every node
// must be reachable.
func (c *RedisCluster) RotateAuth(newToken string) error {
	return c.changeAuth(newToken, false)
}

// SetAuth is ElastiCache's SET: newToken becomes the only valid token on
// every node (ACL SETUSER default resetpass >newToken). Connections already
// authenticated stay so, as in Redis; new ones need newToken.
func (c *RedisCluster) SetAuth(newToken string) error {
	return c.changeAuth(newToken, true)
}

func (c *RedisCluster) changeAuth(newToken string, only bool) error {
	if newToken == "" || strings.ContainsAny(newToken, " \t\r\n") {
		return errors.New("realparts: an AUTH token must be non-empty, without whitespace")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	rule := []string{"ACL", "SETUSER", "default", ">" + newToken}
	if only {
		rule = []string{"ACL", "SETUSER", "default", "resetpass", ">" + newToken}
	}
	masterauth := []string{"CONFIG", "SET", "masterauth", newToken}
	// ROTATE: every node accepts the new token before any replica uses it.
	// SET: replicas use the new token before any node stops accepting the
	// old one. Each command authenticates with a token its node still
	// accepts.
	steps := [][]string{rule, masterauth}
	if only {
		steps = [][]string{masterauth, rule}
	}
	for _, step := range steps {
		for i, n := range c.nodes {
			if !c.running(i) {
				continue
			}
			if c.paused[i] {
				return fmt.Errorf("realparts: auth change: %s is paused", n.Addr)
			}
			if _, err := c.cmd(i, step...); err != nil {
				return fmt.Errorf("realparts: %s %s %s: %w", n.Addr, step[0], step[1], err)
			}
		}
	}
	if only {
		c.passwords = []string{newToken}
	} else {
		c.passwords = append(c.passwords[len(c.passwords)-1:], newToken)
	}
	for i := range c.nodes {
		if err := c.writeConfig(i); err != nil {
			return err
		}
	}
	return nil
}
