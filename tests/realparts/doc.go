// Package realparts starts real dependencies (a Redis Cluster with TLS and
// AUTH, PostgreSQL with TLS and SCRAM) on loopback for tests, as children of
// the test process in their own process groups, under a directory the
// caller owns. Everything it starts is torn down by Close, and by the kernel
// if the test process dies first (parent-death signal, SIGKILL).
//
// It has no dependency outside the standard library so that any module of
// the repository can use it with a replace directive. The commands, configs
// and timings it follows are those measured in
// shared/notes/local-drill-real-parts.md (Debian 12: redis 7.0, PostgreSQL 15).
//
// Typical use, once per test package:
//
//	func TestMain(m *testing.M) { os.Exit(run(m)) }
//
//	func run(m *testing.M) int {
//		if err := realparts.Require("redis-server", "redis-cli", "initdb", "postgres", "pg_isready", "psql"); err != nil {
//			fmt.Fprintln(os.Stderr, err) // names the apt-get install to run; fail, do not skip
//			return 1
//		}
//		dir, _ := os.MkdirTemp("", "parts")
//		defer os.RemoveAll(dir)
//		ca, _ := realparts.NewCA(filepath.Join(dir, "ca"))
//		redis, err := realparts.StartRedisCluster(ctx, realparts.RedisClusterOptions{CA: ca, Password: token})
//		...
//		defer redis.Close()
//		pg, err := realparts.StartPostgres(ctx, realparts.PostgresOptions{CA: ca, User: "u", Password: pw, Database: "db"})
//		...
//		defer pg.Close()
//		return m.Run()
//	}
//
// Faults: RedisCluster.KillPrimary (SIGKILL) then WaitFailover;
// Stop/Restart(ctx, node) for a clean stop and a rejoin; ReplicasOf to take
// a whole shard down; Postgres.Stop and Start(ctx) on the same port and
// data. Clients dial 127.0.0.1 (or localhost) and verify against CA.Pool()
// or CA.CAFile.
package realparts
