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
//
// Maintenance events as AWS runs them:
//   - a hung shard: HangShard(primary) SIGSTOPs a primary and its replicas
//     (no failover possible), Resume(ctx, nodes...) continues them, the
//     primary first so that the replica does not fail it over afterwards;
//     Shards (slot ranges, primary, replicas per shard), ShardOf(key) and
//     KeySlot(key) (CRC16 with hash tags, as CLUSTER KEYSLOT) tell which
//     keys a hung shard holds (session keys are "session:" + hex SHA-256 of
//     the token);
//   - the AUTH token rotation of ElastiCache: RotateAuth(new) (both tokens
//     valid, masterauth the new one) then SetAuth(new) (only the new one);
//   - RDS-managed password rotation: Postgres.SetPassword (ALTER ROLE);
//   - an Aurora failover: StartStandby (pg_basebackup + streaming
//     replication on its own port, same certificate), Promote, and an
//     Endpoint (a TCP forwarder on 127.0.0.1) whose Switch(addr) moves the
//     "writer endpoint" and cuts every connection, and whose Block/Unblock
//     make it unreachable (silent, as a lost host) to model "only the
//     reader" or "only the writer reachable". TLS runs through it end to end.
package realparts
