#!/usr/bin/env bash
# CI: the eviction drill on real parts (issue 14). Runs the drill's own
# tests, then evictions, rollout, redis-failover and the no-prestop control
# against the dev stack's timing budget divided by DRILL_SCALE (default 6:
# propagation 5 s, preStop 10 s, grace 15 s), about 3-4 minutes on 2 cores.
# A failed request or a lost session in a positive scenario, or a control
# that shows no failure, fails CI: each run exits 1 when its scenario missed
# its expectation.
#
# Needs the Debian packages redis-server, postgresql and haproxy.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v go >/dev/null 2>&1; then
  export PATH="$PATH:/usr/local/go/bin"
fi
scale=${DRILL_SCALE:-6}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== drill: unit and stand-in tests (HAProxy required)"
DRILL_REQUIRE_PARTS=1 go test -count=1 ./cmd/downtime-probe/...

echo "== drill: build"
go build -o "$out/downtime-probe" ./cmd/downtime-probe
go build -C cmd/auth-service -o "$out/auth-service" .

status=0
for scenario in evictions rollout redis-failover no-prestop; do
  echo "== drill --scenario $scenario --scale $scale"
  if "$out/downtime-probe" drill --scenario "$scenario" --scale "$scale" \
      --service-bin "$out/auth-service" --quiet --json >"$out/$scenario.json"; then
    echo "drill $scenario: met its expectation"
  else
    echo "drill $scenario: MISSED its expectation (or could not run)"
    cat "$out/$scenario.json" 2>/dev/null | head -c 4000 || true
    status=1
  fi
done
exit "$status"
