#!/usr/bin/env bash
# CI for the auth service and the real-parts harness: vet and test both
# modules, and build the binary the way the image does. Assumes the Debian
# packages redis-server, redis-tools and postgresql are installed (the
# tests fail, never skip, without them).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v go >/dev/null 2>&1; then
  export PATH="$PATH:/usr/local/go/bin"
fi

for module in ../../tests/realparts .; do
  echo "== $module: gofmt, go vet, go test"
  (
    cd "$module"
    unformatted=$(gofmt -l .)
    if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi
    go vet ./...
    go test ./...
  )
done

echo "== static build (CGO_ENABLED=0 -trimpath)"
out=$(mktemp -d)
CGO_ENABLED=0 go build -trimpath -o "$out/auth-service" .
if command -v file >/dev/null 2>&1; then file "$out/auth-service"; fi
rm -rf "$out"
