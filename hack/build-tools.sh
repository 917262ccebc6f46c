#!/usr/bin/env bash
# Builds the Go tools the operator's build needs from module source (no binary downloads):
# controller-gen, kustomize and helm, pinned, cached outside the clone by version and script hash, and
# linked into bin/. (kustomize v5.8.3 needs go 1.27; v5.8.2 is the newest that builds with go 1.26.)
set -euo pipefail
CONTROLLER_TOOLS_VERSION=${CONTROLLER_TOOLS_VERSION:-v0.23.0}
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-v5.8.2}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
HELM_K8S_MINOR=${HELM_K8S_MINOR:-37}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HASH=$(sha256sum "$0" | cut -c1-10)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/tools/${CONTROLLER_TOOLS_VERSION}-${KUSTOMIZE_VERSION}-${HELM_VERSION}-${HASH}
mkdir -p "$CACHE" "$ROOT/bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN=$CACHE
if [[ ! -x $CACHE/controller-gen ]]; then
  echo "tools: building controller-gen ${CONTROLLER_TOOLS_VERSION}"
  go install "sigs.k8s.io/controller-tools/cmd/controller-gen@${CONTROLLER_TOOLS_VERSION}"
fi
if [[ ! -x $CACHE/kustomize ]]; then
  echo "tools: building kustomize ${KUSTOMIZE_VERSION}"
  go install "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}"
fi
if [[ ! -x $CACHE/helm ]]; then
  echo "tools: building helm ${HELM_VERSION}"
  # As helm's Makefile does: stamp its version and the Kubernetes minor of its client-go
  # (v0.37 for helm v3.22), which `helm template` assumes without a cluster.
  h=helm.sh/helm/v3
  go install -ldflags "-X $h/internal/version.version=${HELM_VERSION} -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=${HELM_K8S_MINOR} -X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=${HELM_K8S_MINOR}" "$h/cmd/helm@${HELM_VERSION}"
fi
ln -sf "$CACHE/controller-gen" "$ROOT/bin/controller-gen"
ln -sf "$CACHE/helm" "$ROOT/bin/helm"
ln -sf "$CACHE/kustomize" "$ROOT/bin/kustomize"
