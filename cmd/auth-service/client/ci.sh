#!/usr/bin/env bash
# CI for what applications use of the auth service: the Go client (this
# module: gofmt, vet, unit tests) and its e2e module (the client against
# the real service on real parts, and the gateway check behind the real
# NGINX). Assumes the Debian packages redis-server, redis-tools, postgresql
# and nginx are installed (the e2e tests fail, never skip, without them).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v go >/dev/null 2>&1; then
  export PATH="$PATH:/usr/local/go/bin"
fi

for module in . e2e; do
  echo "== client/$module: gofmt, go vet, go test"
  (
    cd "$module"
    unformatted=$(gofmt -l .)
    if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi
    go vet ./...
    # -count=1: the e2e tests build cmd/auth-service, outside their module,
    # which go test's result cache does not track.
    go test -count=1 ./...
  )
done
