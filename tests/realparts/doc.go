// Package realparts starts real dependencies (a Redis Cluster with TLS and
// AUTH, PostgreSQL with TLS and SCRAM) on loopback for tests, as children of
// the test process in their own process groups, under a directory the
// caller owns. Everything it starts is torn down by Close, and by the kernel
// if the test process dies first (parent-death signal).
//
// It has no dependency outside the standard library so that any module of
// the repository can use it with a replace directive. The commands, configs
// and timings it follows are those measured in
// shared/notes/local-drill-real-parts.md (Debian 12: redis 7.0, PostgreSQL 15).
package realparts
