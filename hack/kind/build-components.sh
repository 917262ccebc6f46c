#!/usr/bin/env bash
# Builds, from Go module source, everything a kind node runs besides Kubernetes and the container
# runtime: etcd, CoreDNS, crictl, the CNI plugins kind's base image ships (ptp, host-local,
# loopback, portmap), the local-path provisioner (kind's default StorageClass) and kind itself.
# Static binaries, pinned, cached by versions and script hash; prints the cache directory.
set -euo pipefail
ETCD_VERSION=${ETCD_VERSION:-v3.7.0}
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.6}
CRICTL_VERSION=${CRICTL_VERSION:-v1.37.0}
CNI_VERSION=${CNI_VERSION:-v1.9.1}
LOCAL_PATH_VERSION=${LOCAL_PATH_VERSION:-v0.0.30}
KIND_VERSION=${KIND_VERSION:-v0.33.0}
HASH=$(sha256sum "$0" | cut -c1-10)
OUT=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/kind/components-${ETCD_VERSION}-${COREDNS_VERSION}-${KIND_VERSION}-${HASH}
BINS=(etcd etcdctl coredns crictl ptp host-local loopback portmap local-path-provisioner kind)
done=1; for b in "${BINS[@]}"; do [[ -x $OUT/$b ]] || done=0; done
if (( done )); then echo "$OUT"; exit 0; fi
mkdir -p "$OUT"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN=$OUT
start=$(date +%s)
step() { echo "kind: built $1 ($(( $(date +%s) - start ))s)" >&2; }

# etcd's modules replace each other with relative paths, which `go install mod@version` refuses:
# a wrapper module requires them all at the same version.
if [[ ! -x $OUT/etcd || ! -x $OUT/etcdctl ]]; then
  mod=$OUT/src-etcd && rm -rf "$mod" && mkdir -p "$mod" && cd "$mod"
  go mod init chainnet.local/kind-etcd >/dev/null 2>&1
  for m in api/v3 client/pkg/v3 client/v3 pkg/v3 server/v3 etcdctl/v3; do
    go mod edit -require "go.etcd.io/etcd/${m}@${ETCD_VERSION}" -replace "go.etcd.io/etcd/${m}=go.etcd.io/etcd/${m}@${ETCD_VERSION}"
  done
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "go.etcd.io/etcd/server/v3"\n\t_ "go.etcd.io/etcd/etcdctl/v3"\n)\n' > tools.go
  go mod tidy >/dev/null
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd" go.etcd.io/etcd/server/v3 >&2
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcdctl" go.etcd.io/etcd/etcdctl/v3 >&2
  cd / && rm -rf "$mod"
  step etcd
fi
[[ -x $OUT/coredns ]] || { go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@${COREDNS_VERSION}" >&2; step coredns; }
[[ -x $OUT/crictl ]] || { go install -trimpath -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION}" "sigs.k8s.io/cri-tools/cmd/crictl@${CRICTL_VERSION}" >&2; step crictl; }
if [[ ! -x $OUT/portmap ]]; then
  p=github.com/containernetworking/plugins/plugins
  go install -trimpath -ldflags "-s -w" "$p/main/ptp@${CNI_VERSION}" "$p/ipam/host-local@${CNI_VERSION}" \
    "$p/main/loopback@${CNI_VERSION}" "$p/meta/portmap@${CNI_VERSION}" >&2
  step cni-plugins
fi
[[ -x $OUT/local-path-provisioner ]] || { go install -trimpath -ldflags "-s -w" "github.com/rancher/local-path-provisioner@${LOCAL_PATH_VERSION}" >&2; step local-path-provisioner; }
[[ -x $OUT/kind ]] || { go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kind@${KIND_VERSION}" >&2; step kind; }
echo "$OUT"
