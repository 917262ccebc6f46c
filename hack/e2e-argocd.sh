#!/usr/bin/env bash
# `make e2e-argocd`: the Argo CD specs (Ginkgo label "argocd") on the kind cluster $KIND_CLUSTER.
# Argo CD is built here from shared/third_party (hack/argocd/build.sh) and installed with our Git
# server (hack/argocd/install.sh); the operator is NOT installed by the suite: Argo CD syncs it
# from Git. A cluster reused from `make e2e`'s other specs first loses their Helm release, CRD and
# networks, so that the sync installs everything from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
if ! docker info >/dev/null 2>&1; then
  echo "e2e-argocd: no Docker engine answers here; the suite needs one (kind)." >&2
  exit 1
fi
start=$(date +%s)
export KUBECONFIG=${KIND_KUBECONFIG:-$PWD/bin/kubeconfig} KIND_CLUSTER=${KIND_CLUSTER:-chainnet}
hack/build-tools.sh >/dev/null
hack/kind/create-cluster.sh
hack/kind/load-images.sh
bin/helm uninstall chainnet-operator -n chainnet-system --ignore-not-found --wait >/dev/null 2>&1 || true
bin/kubectl delete applications.argoproj.io -n argocd --all --ignore-not-found --wait=true >/dev/null 2>&1 || true
bin/kubectl delete namespace chainnet chainnet-system --ignore-not-found --wait=true >/dev/null
bin/kubectl delete crd chainnetworks.chainnet.io --ignore-not-found --wait=true >/dev/null
hack/argocd/install.sh
echo "e2e-argocd: cluster, images and Argo CD ready in $(( $(date +%s) - start ))s"
mkdir -p bin/e2e-artifacts
E2E_ARGOCD=1 go test -tags e2e -count=1 -timeout 30m ./test/e2e/ -v -args -ginkgo.v -ginkgo.label-filter=argocd
echo "e2e-argocd: passed in $(( $(date +%s) - start ))s"
