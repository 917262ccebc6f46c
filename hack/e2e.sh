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
export KIND_CLUSTER=${KIND_CLUSTER:-chainnet}
# KIND_NODE_IMAGE names a node image of the user's: nothing is built (create-cluster.sh uses it).
[[ -n ${KIND_NODE_IMAGE:-} ]] || hack/kind/build-node-image.sh >/dev/null
# The multi-cluster suite (label "multicluster") needs a second cluster on the same Docker
# network: one node, created beside the first. E2E_LABELS narrows the suite (a Ginkgo label
# filter); the peer is made only when that filter can select the multi-cluster specs.
# Unset, it runs everything but the real-cluster specs (`make e2e-cluster`: storage, netpol, nodes).
if [[ -z ${E2E_LABELS:-} ]]; then
  labels='!(storage || netpol || nodes)' want_peer=true
else
  labels=$E2E_LABELS want_peer=false
  [[ $labels == *multicluster* ]] && want_peer=true
fi
peer_pid=
if $want_peer; then
  export KIND_PEER_CLUSTER=${KIND_PEER_CLUSTER:-${KIND_CLUSTER}-peer}
  export KUBECONFIG_PEER=$PWD/bin/kubeconfig-$KIND_PEER_CLUSTER
  (KIND_CLUSTER=$KIND_PEER_CLUSTER KIND_WORKERS=0 KIND_KUBECONFIG=$KUBECONFIG_PEER hack/kind/create-cluster.sh > bin/kind-peer.log 2>&1) &
  peer_pid=$!
fi
hack/kind/create-cluster.sh
hack/kind/load-images.sh
if [[ -n $peer_pid ]]; then
  wait "$peer_pid" || { echo "e2e: the peer cluster did not come up:"; tail -40 bin/kind-peer.log; exit 1; }
  KIND_CLUSTER=$KIND_PEER_CLUSTER hack/kind/load-images.sh
fi
echo "e2e: cluster(s) and images ready in $(( $(date +%s) - start ))s"
export KUBECONFIG=${KIND_KUBECONFIG:-$PWD/bin/kubeconfig}
export E2E_OPERATOR_IMAGE_ID=$(docker image inspect -f '{{ .Id }}' "chainnet/operator:$(cat VERSION)")
rm -rf bin/e2e-artifacts
# E2E_FOCUS narrows by spec text, E2E_LABELS by label (e.g. "storage || netpol || nodes").
go test -tags e2e -count=1 -timeout 50m ./test/e2e/ -v -args -ginkgo.v ${E2E_FOCUS:+-ginkgo.focus="$E2E_FOCUS"} -ginkgo.label-filter="$labels"
echo "e2e: passed in $(( $(date +%s) - start ))s"
