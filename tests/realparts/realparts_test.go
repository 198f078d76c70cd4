package realparts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"
	"time"
)

// These tests start each part once, check what a client relies on, fault it
// the way the service tests do, and tear it down. They fail (never skip)
// when the Debian packages are missing: CI installs them.

func testCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestCAServerCertificateVerifiesFor127001AndLocalhost(t *testing.T) {
	ca := testCA(t)
	pair, err := tls.LoadX509KeyPair(ca.CertFile, ca.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("verify for %s, usage %v: %v", host, usage, err)
			}
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.2", Roots: ca.Pool()}); err == nil {
		t.Error("certificate verified for 127.0.0.2; it must name only 127.0.0.1 and localhost")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: testCA(t).Pool()}); err == nil {
		t.Error("certificate verified under another CA")
	}
	if fi, err := os.Stat(ca.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p <= 0 {
			t.Fatalf("port %d repeated or invalid in %v", p, ports)
		}
		seen[p] = true
	}
}

func TestRequireNamesTheDebianPackage(t *testing.T) {
	err := Require("redis-server", "no-such-binary-xyz")
	if err == nil || !strings.Contains(err.Error(), "no-such-binary-xyz") {
		t.Fatalf("Require = %v; want an error naming the missing binary", err)
	}
	if strings.Contains(err.Error(), "redis-server (") {
		t.Errorf("Require reports redis-server missing: %v (install redis-server)", err)
	}
}

func TestRedisClusterFailsOverAKilledPrimaryAndTakesTheNodeBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ca := testCA(t)
	start := time.Now()
	c, err := StartRedisCluster(ctx, RedisClusterOptions{CA: ca, Password: "test-token-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Logf("cluster ready in %s", time.Since(start).Round(time.Millisecond))
	if got := len(c.Addrs()); got != 6 {
		t.Fatalf("%d nodes, want 6", got)
	}
	if got := len(c.Primaries()); got != 3 {
		t.Fatalf("%d primaries, want 3", got)
	}
	// TLS only, AUTH enforced, the CA verified.
	if _, err := redisCommand(c.SeedAddr(), ca.Pool(), "", time.Second, "GET", "k"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("GET without AUTH = %v; want NOAUTH", err)
	}
	if _, err := redisCommand(c.SeedAddr(), testCA(t).Pool(), "test-token-0123456789", time.Second, "PING"); err == nil {
		t.Error("PING verified under another CA")
	}

	replicas, err := c.ReplicasOf(c.Primaries()[0])
	if err != nil || len(replicas) != 1 {
		t.Fatalf("ReplicasOf(primary 0) = %v, %v; want one replica", replicas, err)
	}
	killedAt := time.Now()
	dead, err := c.KillPrimary(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFailover(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("failover complete %s after SIGKILL", time.Since(killedAt).Round(time.Millisecond))
	promoted := false
	for _, p := range c.Primaries() {
		promoted = promoted || p.Addr == replicas[0].Addr
		if p.Addr == dead.Addr {
			t.Fatalf("killed node %s still listed as primary", dead.Addr)
		}
	}
	if got := len(c.Primaries()); got != 3 || !promoted {
		t.Fatalf("%d primaries after failover (replica %s promoted: %v), want 3", got, replicas[0].Addr, promoted)
	}
	if err := c.Restart(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitFailover(ctx); err != nil {
		t.Fatal(err)
	}
	repl, err := redisCommand(dead.Addr, ca.Pool(), "test-token-0123456789", time.Second, "INFO", "replication")
	if err != nil {
		t.Fatal(err)
	}
	if role := infoField(repl, "role"); role != "slave" {
		t.Errorf("restarted former primary has role %q, want slave (replica of its successor)", role)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, a := range c.Addrs() {
		if _, err := redisCommand(a, ca.Pool(), "test-token-0123456789", 200*time.Millisecond, "PING"); err == nil {
			t.Errorf("%s still answers after Close", a)
		}
	}
}

func TestPostgresAcceptsOnlyTLSAndRestartsOnItsPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ca := testCA(t)
	start := time.Now()
	pg, err := StartPostgres(ctx, PostgresOptions{CA: ca, User: "authsvc", Password: "pg-secret-1", Database: "auth"})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	t.Logf("postgres ready in %s on %s", time.Since(start).Round(time.Millisecond), pg.Addr())
	psql := func(sslmode, password string) (string, error) {
		bin, _ := lookBinary("psql")
		return runPsql(ctx, bin, pg, sslmode, password, "select ssl from pg_stat_ssl where pid = pg_backend_pid()")
	}
	out, err := psql("verify-full&sslrootcert="+ca.CAFile, "pg-secret-1")
	if err != nil || strings.TrimSpace(out) != "t" {
		t.Fatalf("TLS query = %q, %v; want t", out, err)
	}
	if out, err := psql("disable", "pg-secret-1"); err == nil || !strings.Contains(out, "no encryption") {
		t.Errorf("plaintext connection = %q, %v; want rejected by pg_hba (no encryption)", out, err)
	}
	if out, err := psql("require", "wrong"); err == nil || !strings.Contains(out, "password authentication failed") {
		t.Errorf("wrong password = %q, %v; want password authentication failed", out, err)
	}
	port := pg.Port()
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := psql("require", "pg-secret-1"); err == nil {
		t.Error("query succeeded while stopped")
	}
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if pg.Port() != port {
		t.Errorf("port changed across restart: %d -> %d", port, pg.Port())
	}
	if out, err := psql("require", "pg-secret-1"); err != nil || strings.TrimSpace(out) != "t" {
		t.Errorf("after restart = %q, %v", out, err)
	}
}
