// Package drill is the eviction drill on real parts: a real Redis Cluster
// (TLS, AUTH) and PostgreSQL (TLS, SCRAM) from tests/realparts, several
// auth-service processes, and HAProxy standing in for the ALB, all on
// loopback. It replays Kubernetes' termination sequence per pod with the
// timing budget of a stack (divided by a scale factor), drives load that a
// lost session would show, and judges each scenario against its stated
// expectation. See cmd/downtime-probe/README.md.
package drill
