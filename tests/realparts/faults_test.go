package realparts

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestKeySlotIsRedisCRC16WithHashTags(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Errorf("crc16(123456789) = %#x; want 0x31c3 (CRC-16/XMODEM check value)", got)
	}
	for _, c := range []struct {
		key  string
		want int
	}{
		{"foo", 12182}, // CLUSTER KEYSLOT examples of the Redis documentation
		{"somekey", 11058},
		{"{user1000}.following", KeySlot("user1000")},
		{"{user1000}.followers", KeySlot("user1000")},
		{"foo{}{bar}", int(crc16("foo{}{bar}") % SlotCount)}, // an empty tag: the whole key
		{"foo{{bar}}zap", KeySlot("{bar")},                   // the first { up to the next }
		{"foo{bar}{zap}", KeySlot("bar")},                    // only the first tag
		{"{", int(crc16("{") % SlotCount)},
	} {
		if got := KeySlot(c.key); got != c.want {
			t.Errorf("KeySlot(%q) = %d; want %d", c.key, got, c.want)
		}
	}
	if s := (SlotRanges{{10923, 16383}, {0, 100}}).String(); s != "0-100,10923-16383" {
		t.Errorf("SlotRanges.String = %q", s)
	}
	if s := (SlotRange{7, 7}).String(); s != "7-7" {
		t.Errorf("SlotRange.String = %q", s)
	}
}

// echoServer answers each line with prefix + line.
func echoServer(t *testing.T, prefix string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, prefix+line); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// ask sends a line and reads the answer within d.
func ask(c net.Conn, r *bufio.Reader, line string, d time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	s, err := r.ReadString('\n')
	return strings.TrimSpace(s), err
}

func TestEndpointSwitchesCutsAndBlocks(t *testing.T) {
	a, b := echoServer(t, "a:"), echoServer(t, "b:")
	e, err := NewEndpoint(a)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c1, err := net.Dial("tcp", e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	r1 := bufio.NewReader(c1)
	if got, err := ask(c1, r1, "x", 2*time.Second); got != "a:x" {
		t.Fatalf("through the endpoint = %q, %v; want a:x", got, err)
	}

	e.Block()
	if got, err := ask(c1, r1, "y", 300*time.Millisecond); err == nil {
		t.Fatalf("blocked: existing connection answered %q", got)
	}
	c2, err := net.Dial("tcp", e.Addr()) // accepted, goes nowhere
	if err != nil {
		t.Fatalf("blocked: dial refused (%v); want accepted and silent, as a lost host", err)
	}
	defer c2.Close()
	r2 := bufio.NewReader(c2)
	if got, err := ask(c2, r2, "z", 300*time.Millisecond); err == nil {
		t.Fatalf("blocked: new connection answered %q", got)
	}
	e.Unblock()
	_ = c2.SetDeadline(time.Now().Add(2 * time.Second))
	if got, err := r2.ReadString('\n'); strings.TrimSpace(got) != "a:z" {
		t.Fatalf("after Unblock the held connection got %q, %v; want a:z", got, err)
	}

	if n := e.Conns(); n != 2 {
		t.Errorf("%d connections open; want 2", n)
	}
	e.Switch(b)
	_ = c2.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c2, "w\n"); err == nil {
		if got, err := r2.ReadString('\n'); err == nil {
			t.Fatalf("after Switch an old connection still answered %q", got)
		}
	}
	c3, err := net.Dial("tcp", e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := ask(c3, bufio.NewReader(c3), "v", 2*time.Second); got != "b:v" {
		t.Fatalf("after Switch = %q, %v; want b:v", got, err)
	}
	if e.Target() != b {
		t.Errorf("Target = %s; want %s", e.Target(), b)
	}
}

func TestRedisShardsHangResumeWithoutFailoverAndRotateAuth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ca := testCA(t)
	c, err := StartRedisCluster(ctx, RedisClusterOptions{CA: ca, Password: "token-one-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	shards, err := c.Shards()
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 {
		t.Fatalf("%d shards, want 3: %+v", len(shards), shards)
	}
	next := 0
	for _, s := range shards {
		for _, r := range s.Slots {
			if r.Start != next {
				t.Fatalf("slots not contiguous and disjoint at %d: %+v", next, shards)
			}
			next = r.End + 1
		}
		if len(s.Replicas) != 1 {
			t.Errorf("shard %s has replicas %v; want 1", s.Slots, s.Replicas)
		}
	}
	if next != SlotCount {
		t.Fatalf("slots covered up to %d, want %d", next, SlotCount)
	}
	for _, key := range []string{"session:" + strings.Repeat("ab", 32), "lockout:account:x", "{tag}a", "foo"} {
		out, err := c.cmd(0, "CLUSTER", "KEYSLOT", key)
		if err != nil || out != strconv.Itoa(KeySlot(key)) {
			t.Errorf("CLUSTER KEYSLOT %q = %s, %v; KeySlot = %d", key, out, err, KeySlot(key))
		}
		s, err := c.ShardOf(key)
		if err != nil {
			t.Fatal(err)
		}
		// The shard's primary takes the key (another would answer MOVED).
		if _, err := redisCommand(s.Primary.Addr, ca.Pool(), c.Password(), time.Second, "SET", key, "v"); err != nil {
			t.Errorf("SET %q on its shard's primary %s: %v", key, s.Primary.Addr, err)
		}
	}

	hung := shards[1]
	nodes, err := c.HangShard(hung.Primary)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0] != hung.Primary || nodes[1] != hung.Replicas[0] {
		t.Fatalf("HangShard paused %v; want the primary then its replica", nodes)
	}
	if _, err := redisCommand(hung.Primary.Addr, ca.Pool(), c.Password(), 500*time.Millisecond, "PING"); err == nil {
		t.Error("a paused primary answered PING")
	}
	for _, s := range []Shard{shards[0], shards[2]} {
		if _, err := redisCommand(s.Primary.Addr, ca.Pool(), c.Password(), time.Second, "PING"); err != nil {
			t.Errorf("primary %s of another shard: %v", s.Primary.Addr, err)
		}
	}
	// Longer than the node timeout: the others flag the shard failed, and
	// there is nobody to promote.
	time.Sleep(3 * c.opts.NodeTimeout)
	if err := c.Resume(ctx, nodes...); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFailover(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * c.opts.NodeTimeout) // a replica that failed its primary over would have done it by now
	after, err := c.Shards()
	if err != nil {
		t.Fatal(err)
	}
	if after[1].Primary != hung.Primary {
		t.Errorf("the hung shard failed over after Resume: primary %s, was %s", after[1].Primary.Addr, hung.Primary.Addr)
	}

	old, next2 := c.Password(), "token-two-0123456789"
	if err := c.RotateAuth(next2); err != nil {
		t.Fatal(err)
	}
	for _, addr := range c.Addrs() {
		for _, tok := range []string{old, next2} {
			if _, err := redisCommand(addr, ca.Pool(), tok, time.Second, "PING"); err != nil {
				t.Errorf("after ROTATE %s refuses %s: %v", addr, tok, err)
			}
		}
	}
	if err := c.SetAuth(next2); err != nil {
		t.Fatal(err)
	}
	for _, addr := range c.Addrs() {
		if _, err := redisCommand(addr, ca.Pool(), old, time.Second, "PING"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Errorf("after SET %s with the old token: %v; want WRONGPASS", addr, err)
		}
		if _, err := redisCommand(addr, ca.Pool(), next2, time.Second, "PING"); err != nil {
			t.Errorf("after SET %s with the new token: %v", addr, err)
		}
	}
	// A restarted replica reads its config: it accepts only the new token
	// and resyncs with it (masterauth).
	replica := after[0].Replicas[0]
	if err := c.Stop(replica); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, replica); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFailover(ctx); err != nil {
		t.Fatalf("replication after SET and a restart: %v", err)
	}
	if _, err := redisCommand(replica.Addr, ca.Pool(), old, time.Second, "PING"); err == nil {
		t.Error("restarted replica accepts the old token")
	}
}

func TestPostgresRotationStandbyPromotionThroughAnEndpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ca := testCA(t)
	pg, err := StartPostgres(ctx, PostgresOptions{CA: ca, User: "authsvc", Password: "pg-secret-1", Database: "auth"})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	standby, err := pg.StartStandby(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close()
	if standby.Port() == pg.Port() {
		t.Fatal("the standby shares the primary's port")
	}
	if in, err := standby.InRecovery(ctx); err != nil || !in {
		t.Fatalf("standby in recovery = %v, %v; want true", in, err)
	}
	if _, err := pg.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := poll(ctx, "row on the standby", 10*time.Second, 20*time.Millisecond, func() error {
		out, err := standby.Exec(ctx, "SELECT count(*) FROM t")
		if err == nil && out != "1" {
			err = fmt.Errorf("count %s", out)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := standby.Exec(ctx, "INSERT INTO t VALUES (2)"); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("write on the standby = %v; want read-only", err)
	}

	ep, err := NewEndpoint(pg.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	bin, _ := lookBinary("psql")
	via := func(password, query string) (string, error) {
		dsn := fmt.Sprintf("postgres://%s@%s/%s?sslmode=verify-full&sslrootcert=%s&connect_timeout=2", pg.User(), ep.Addr(), pg.Database(), ca.CAFile)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := runPsqlDSN(cctx, bin, pg, dsn, password, query)
		return strings.TrimSpace(out), err
	}
	if out, err := via(pg.Password(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"); err != nil || out != "t" {
		t.Fatalf("verify-full through the endpoint = %q, %v; want t", out, err)
	}

	if err := pg.SetPassword(ctx, "pg-secret-2"); err != nil {
		t.Fatal(err)
	}
	if out, err := via("pg-secret-1", "SELECT 1"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("old password after SetPassword = %q, %v; want refused", out, err)
	}
	if out, err := via("pg-secret-2", "SELECT 1"); err != nil || out != "1" {
		t.Errorf("new password = %q, %v", out, err)
	}
	if standby.Password() != "pg-secret-2" {
		t.Errorf("standby's Password = %q; the role is shared", standby.Password())
	}

	ep.Block()
	if out, err := via("pg-secret-2", "SELECT 1"); err == nil {
		t.Errorf("through a blocked endpoint = %q; want a timeout", out)
	}
	ep.Unblock()
	if out, err := via("pg-secret-2", "SELECT 1"); err != nil || out != "1" {
		t.Errorf("after Unblock = %q, %v", out, err)
	}

	// Aurora's failover: the reader is promoted, the writer endpoint moves.
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	ep.Switch(standby.Addr())
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := via("pg-secret-2", "WITH i AS (INSERT INTO t VALUES (3) RETURNING v) SELECT v FROM i"); err != nil || out != "3" {
		t.Errorf("write through the switched endpoint = %q, %v", out, err)
	}
	if out, err := via("pg-secret-2", "SELECT pg_is_in_recovery()"); err != nil || out != "f" {
		t.Errorf("promoted standby in recovery = %q, %v; want f", out, err)
	}
}
