#!/usr/bin/env bash
# Builds the images of the kind cluster's add-ons from the binaries of build-csi.sh and writes
# their manifests, nothing pulled:
#   chainnet/kind-csi-sidecars   FROM scratch: csi-provisioner, csi-resizer, csi-snapshotter,
#                                csi-node-driver-registrar, snapshot-controller (static binaries)
#   chainnet/kind-hostpath       our Debian root + hostpathplugin (it runs mount, tar, fallocate)
#   chainnet/kind-kube-router    our Debian root + ipset from Debian + kube-router (it runs
#                                iptables, iptables-restore and ipset)
# All tagged with the binaries' cache key and labelled with the inputs' hash (an image with the
# same label is reused). Writes <cache>/manifests/addons.yaml: the snapshot CRDs and the sidecars'
# RBAC from the archives, then hack/kind/manifests/{csi-hostpath,kube-router}.yaml with these
# images. Prints that file's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE=chainnet/kind-debian:bookworm
bins=$(hack/kind/build-csi.sh)
hack/kind/base-rootfs.sh >&2
tag=${bins##*/addons-}
SIDECARS=chainnet/kind-csi-sidecars:$tag
HOSTPATH=chainnet/kind-hostpath:$tag
KUBE_ROUTER=chainnet/kind-kube-router:$tag
# The images are the binaries (their tag), this script and the base: manifests are written anew
# each run and do not touch the images (a changed image is loaded into every node again).
inputs=$( { cat "$0"; docker image inspect -f '{{ .Id }}' "$BASE"; } | sha256sum | cut -c1-16)
start=$(date +%s)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

current() { [[ $(docker image inspect -f '{{ index .Config.Labels "chainnet.kind.inputs" }}' "$1" 2>/dev/null) == "$inputs" ]]; }
# image TAG FROM FILE...: FILEs (and a root/ tree, if the context has one) in an image.
image() {
  local tag=$1 from=$2; shift 2
  current "$tag" && return 0
  local d=$ctx/${tag//[:\/]/_}
  mkdir -p "$d/bin" && cp "$@" "$d/bin/"
  { echo "FROM $from"; echo 'COPY bin /usr/local/bin/'; [[ -d $d/root ]] && echo 'COPY root/ /'
    echo "LABEL chainnet.kind.inputs=$inputs"; } > "$d/Dockerfile"
  docker build -q -t "$tag" "$d" >/dev/null 2>"$ctx/build.err" || { cat "$ctx/build.err" >&2; return 1; }
  echo "kind: built $tag ($(( $(date +%s) - start ))s)" >&2
}

image "$SIDECARS" scratch "$bins"/{csi-provisioner,csi-resizer,csi-snapshotter,csi-node-driver-registrar,snapshot-controller}
image "$HOSTPATH" "$BASE" "$bins/hostpathplugin"
if ! current "$KUBE_ROUTER"; then
  # ipset is not in the node root: Debian's package and its library, unpacked into the image.
  debs=$bins/debs && mkdir -p "$debs"
  if ! ls "$debs"/ipset_*.deb "$debs"/libipset13_*.deb >/dev/null 2>&1; then
    (cd "$debs" && apt-get download ipset libipset13 >/dev/null 2>&1) ||
      { apt-get update -qq -o DPkg::Lock::Timeout=300 && (cd "$debs" && apt-get download ipset libipset13 >/dev/null); }
  fi
  d=$ctx/${KUBE_ROUTER//[:\/]/_} && mkdir -p "$d/root"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$d/root"; done
  image "$KUBE_ROUTER" "$BASE" "$bins/kube-router"
fi

# The manifests: upstream's CRDs and RBAC (namespace default -> kube-system), then ours.
out=$bins/manifests && mkdir -p "$out"
src=$ctx/src && mkdir -p "$src"
# The archives, found as build-csi.sh finds them.
tp=${THIRD_PARTY:-}
for d in ../shared/third_party ../../shared/third_party /work/shared/third_party; do
  [[ -z $tp && -f $d/external-snapshotter.tar.gz ]] && tp=$(cd "$d" && pwd)
done
tar -xzf "$tp/external-snapshotter.tar.gz" -C "$src" client/config/crd deploy/kubernetes
tar -xzf "$tp/external-provisioner.tar.gz" -C "$src" deploy/kubernetes/rbac.yaml
mv "$src/deploy/kubernetes/rbac.yaml" "$src/provisioner-rbac.yaml"
tar -xzf "$tp/external-resizer.tar.gz" -C "$src" deploy/kubernetes/rbac.yaml
{
  for f in "$src"/client/config/crd/*_*.yaml; do echo '---'; cat "$f"; done
  for f in "$src/provisioner-rbac.yaml" "$src/deploy/kubernetes/rbac.yaml" \
    "$src/deploy/kubernetes/csi-snapshotter/rbac-csi-snapshotter.yaml" \
    "$src/deploy/kubernetes/snapshot-controller/rbac-snapshot-controller.yaml"; do
    echo '---'; sed -e 's/namespace: default\b.*/namespace: kube-system/' "$f"
  done
} > "$out/upstream.yaml"
sed -e "s#@SIDECARS_IMAGE@#docker.io/$SIDECARS#" -e "s#@HOSTPATH_IMAGE@#docker.io/$HOSTPATH#" \
  hack/kind/manifests/csi-hostpath.yaml > "$out/csi.yaml"
sed -e "s#@KUBE_ROUTER_IMAGE@#docker.io/$KUBE_ROUTER#" hack/kind/manifests/kube-router.yaml > "$out/netpol.yaml"
printf '%s\n' "$SIDECARS" "$HOSTPATH" > "$out/csi.images"
printf '%s\n' "$KUBE_ROUTER" > "$out/netpol.images"
echo "$out"
