#!/usr/bin/env bash
# `make e2e`: the end-to-end suite on a real cluster. Builds (or reuses) the kind cluster made
# offline by hack/kind, loads the operator and node images built FROM scratch, and runs
# test/e2e, which installs the operator with its Helm chart. Needs a Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
if ! docker info >/dev/null 2>&1; then
  echo "e2e: no Docker engine answers here; the suite needs one (kind)." >&2
  exit 1
fi
start=$(date +%s)
hack/build-tools.sh >/dev/null
hack/kind/create-cluster.sh
hack/kind/load-images.sh
echo "e2e: cluster and images ready in $(( $(date +%s) - start ))s"
export KUBECONFIG=${KIND_KUBECONFIG:-$PWD/bin/kubeconfig} KIND_CLUSTER=${KIND_CLUSTER:-chainnet}
export E2E_OPERATOR_IMAGE_ID=$(docker image inspect -f '{{ .Id }}' "chainnet/operator:$(cat VERSION)")
rm -rf bin/e2e-artifacts
go test -tags e2e -count=1 -timeout 50m ./test/e2e/ -v -args -ginkgo.v ${E2E_FOCUS:+-ginkgo.focus="$E2E_FOCUS"}
echo "e2e: passed in $(( $(date +%s) - start ))s"
