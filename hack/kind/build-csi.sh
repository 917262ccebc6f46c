#!/usr/bin/env bash
# Builds the cluster add-ons whose source is not on the module proxy, from the archives in
# third_party (see its README): the hostpath CSI driver and its sidecars (csi-provisioner,
# csi-resizer, csi-snapshotter, csi-node-driver-registrar, snapshot-controller), vendored, built
# with the proxy off; and kube-router (network policies), whose dependencies come from the module
# proxy but one, replaced as the README says. Static binaries cached by the archives' sha256 and
# this script's hash; prints the cache directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The archives live next to the checkouts (../shared/third_party of /work/main); THIRD_PARTY
# points elsewhere.
tp=${THIRD_PARTY:-}
if [[ -z $tp ]]; then
  for d in ../shared/third_party ../../shared/third_party /work/shared/third_party; do
    [[ -f $d/csi-driver-host-path.tar.gz ]] && { tp=$(cd "$d" && pwd); break; }
  done
fi
[[ -n $tp && -d $tp ]] || { echo "kind: third_party archives not found (set THIRD_PARTY)" >&2; exit 1; }
# archive:binary... (the binaries under cmd/ of that archive)
CSI=(csi-driver-host-path:hostpathplugin external-snapshotter:csi-snapshotter,snapshot-controller
  external-provisioner:csi-provisioner external-resizer:csi-resizer node-driver-registrar:csi-node-driver-registrar)
ARCHIVES=(csi-driver-host-path external-snapshotter external-provisioner external-resizer node-driver-registrar kube-router)
key=$( { sha256sum "$0" | cut -c1-64; for a in "${ARCHIVES[@]}"; do sha256sum "$tp/$a.tar.gz" | cut -c1-64; done; } | sha256sum | cut -c1-12)
OUT=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/kind/addons-${key}
BINS=(hostpathplugin csi-snapshotter snapshot-controller csi-provisioner csi-resizer csi-node-driver-registrar kube-router)
done=1; for b in "${BINS[@]}"; do [[ -x $OUT/$b ]] || done=0; done
if (( done )); then echo "$OUT"; exit 0; fi
mkdir -p "$OUT"
start=$(date +%s)
step() { echo "kind: built $1 ($(( $(date +%s) - start ))s)" >&2; }
# describe ARCHIVE: the upstream `git describe` the README gives, stamped as the version.
describe() { awk -F'|' -v a="$1.tar.gz" '$2 ~ " "a" " {gsub(/ /, "", $4); print $4}' "$tp/README.md"; }

for entry in "${CSI[@]}"; do
  a=${entry%%:*}; IFS=, read -ra cmds <<<"${entry#*:}"
  need=0; for c in "${cmds[@]}"; do [[ -x $OUT/$c ]] || need=1; done
  (( need )) || continue
  src=$OUT/src-$a && rm -rf "$src" && mkdir -p "$src"
  tar -xzf "$tp/$a.tar.gz" -C "$src"
  for c in "${cmds[@]}"; do
    (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local \
      go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=$(describe "$a")" -o "$OUT/$c" "./cmd/$c") >&2
    step "$c"
  done
  rm -rf "$src"
done

if [[ ! -x $OUT/kube-router ]]; then
  src=$OUT/src-kube-router && rm -rf "$src" && mkdir -p "$src"
  tar -xzf "$tp/kube-router.tar.gz" -C "$src"
  # The proxy refuses the netlink pseudo-version kube-router pins; v1.3.1 builds (README).
  (cd "$src" && go mod edit -replace github.com/vishvananda/netlink=github.com/vishvananda/netlink@v1.3.1 &&
    CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$(describe kube-router)" \
      -o "$OUT/kube-router" ./cmd/kube-router) >&2
  step kube-router
  rm -rf "$src"
fi
echo "kind: add-on binaries built in $(( $(date +%s) - start ))s" >&2
echo "$OUT"
