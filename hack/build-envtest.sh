#!/usr/bin/env bash
# Builds envtest's control plane from Go module source (no binary downloads): kube-apiserver from
# k8s.io/kubernetes and etcd from go.etcd.io/etcd, pinned, cached outside the clone by version and
# script hash, and linked into bin/k8s (the envtest BinaryAssetsDirectory).
#
# kube-apiserver lives in k8s.io/kubernetes, whose go.mod replaces its staging modules with
# ./staging/src/...; a module that requires it must replace each of them with its published
# version (v0.X.Y for Kubernetes v1.X.Y). The list is read from kubernetes' own go.mod.
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HASH=$(sha256sum "$0" | cut -c1-10)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/envtest/${K8S_VERSION}-${ETCD_VERSION}-${HASH}
BIN=$ROOT/bin/k8s

link() {
  mkdir -p "$BIN"
  ln -sf "$CACHE/kube-apiserver" "$BIN/kube-apiserver"
  ln -sf "$CACHE/etcd" "$BIN/etcd"
}

if [[ -x $CACHE/kube-apiserver && -x $CACHE/etcd ]]; then
  link
  exit 0
fi
mkdir -p "$CACHE"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

build_apiserver() {
  local mod=$CACHE/src-apiserver
  rm -rf "$mod" && mkdir -p "$mod" && cd "$mod"
  go mod init chainnet.local/envtest-apiserver >/dev/null 2>&1
  local dir
  dir=$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  local staging=v0.${K8S_VERSION#v1.}
  # Every "k8s.io/x => ./staging/src/k8s.io/x" line of kubernetes' go.mod becomes a replace to
  # the published staging version.
  grep -E '^\s*k8s.io/[^ ]+ => ./staging/' "$dir/go.mod" | awk '{print $1}' | while read -r m; do
    go mod edit -replace "${m}=${m}@${staging}"
  done
  go mod edit -require "k8s.io/kubernetes@${K8S_VERSION}"
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  go mod tidy >/dev/null
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
  go build -trimpath -ldflags "$ldflags" -o "$CACHE/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
}

build_etcd() {
  local mod=$CACHE/src-etcd
  rm -rf "$mod" && mkdir -p "$mod" && cd "$mod"
  go mod init chainnet.local/envtest-etcd >/dev/null 2>&1
  for m in api/v3 client/pkg/v3 client/v3 pkg/v3 server/v3; do
    go mod edit -require "go.etcd.io/etcd/${m}@${ETCD_VERSION}" -replace "go.etcd.io/etcd/${m}=go.etcd.io/etcd/${m}@${ETCD_VERSION}"
  done
  cat > tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  go mod tidy >/dev/null
  go build -trimpath -ldflags "-s -w" -o "$CACHE/etcd" go.etcd.io/etcd/server/v3
}

start=$(date +%s)
echo "envtest: building etcd ${ETCD_VERSION} and kube-apiserver ${K8S_VERSION} from source into $CACHE (cold: ~10 min on 2 cores)"
(build_etcd)
(build_apiserver)
echo "envtest: built in $(( $(date +%s) - start ))s"
link
