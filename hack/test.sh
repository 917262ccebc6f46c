#!/usr/bin/env bash
# Runs every test suite. Called by `make test` and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -d bin/k8s ]]; then
  # envtest's control plane, built from source by hack/build-envtest.sh.
  export KUBEBUILDER_ASSETS="$PWD/bin/k8s"
fi

echo "== gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*'))
if [[ -n "$unformatted" ]]; then
  echo "gofmt needed:"; echo "$unformatted"; exit 1
fi
go vet ./...

echo "== go test"
go test -count=1 ${GOTEST_FLAGS:-} ./...
