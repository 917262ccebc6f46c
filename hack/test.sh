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
go vet -tags e2e ./test/e2e/   # the kind suite (make e2e) must at least compile here

if [[ -x bin/controller-gen && -x bin/kustomize ]]; then
  echo "== generated code, manifests, chart CRD/RBAC and Argo CD patch are up to date; kustomize renders"
  make --no-print-directory sync >/dev/null
  git diff --exit-code -- config charts api
  bin/kustomize build config/default >/dev/null
  bin/kustomize build config/samples >/dev/null
fi

echo "== go test"
go test -count=1 ${GOTEST_FLAGS:-} ./...

# Multi-host scenarios (one Docker container per node, partitions by Docker networks). The test
# skips itself where there is no Docker engine.
echo "== go test -tags multihost (needs a Docker engine)"
go vet -tags multihost ./test/multihost/
go test -count=1 -tags multihost -timeout 15m ${GOTEST_FLAGS:-} ./test/multihost/
