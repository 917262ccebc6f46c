#!/usr/bin/env bash
# Builds the Kubernetes binaries of the kind node from k8s.io/kubernetes (the version envtest
# uses): kubelet, kubeadm, kubectl and the control-plane components, static, version-stamped,
# cached by version and script hash. Prints the cache directory.
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-v1.37.2}
HASH=$(sha256sum "$0" | cut -c1-10)
OUT=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/kind/kubernetes-${K8S_VERSION}-${HASH}
BINS=(kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
done=1; for b in "${BINS[@]}"; do [[ -x $OUT/$b ]] || done=0; done
if (( done )); then echo "$OUT"; exit 0; fi
mkdir -p "$OUT" && mod=$OUT/src && rm -rf "$mod" && mkdir -p "$mod" && cd "$mod"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
go mod init chainnet.local/kind-kubernetes >/dev/null 2>&1
dir=$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
# kubernetes' go.mod replaces its staging modules with ./staging/src/...: point each at its
# published version (v0.X.Y for v1.X.Y), as hack/build-envtest.sh does.
grep -E '^\s*k8s.io/[^ ]+ => ./staging/' "$dir/go.mod" | awk '{print $1}' | while read -r m; do
  go mod edit -replace "${m}=${m}@v0.${K8S_VERSION#v1.}"
done
go mod edit -require "k8s.io/kubernetes@${K8S_VERSION}"
{ echo '//go:build tools'; echo; echo 'package tools'; echo; echo 'import ('
  for b in "${BINS[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done; echo ')'; } > tools.go
go mod tidy >/dev/null
pkg=k8s.io/component-base/version
ldflags="-s -w -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
start=$(date +%s)
for b in "${BINS[@]}"; do
  go build -trimpath -ldflags "$ldflags" -o "$OUT/$b" "k8s.io/kubernetes/cmd/$b" >&2
  echo "kind: built $b ($(( $(date +%s) - start ))s)" >&2
done
echo "$OUT"
