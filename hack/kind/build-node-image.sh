#!/usr/bin/env bash
# Builds the kind node image, chainnet/kind-node:<kubernetes version>, with nothing pulled.
#
# kind's `build node-image` pulls every image it did not build itself (etcd, CoreDNS, pause,
# kindnetd, the local-path provisioner) and writes manifests that name kindnetd, whose source is
# not on the module proxy. So this script drives the same steps itself:
#   1. the base image from kind's own recipe (sigs.k8s.io/kind images/base: its files, entrypoint
#      and systemd units) on our Debian root, with our containerd, runc, crictl and CNI plugins,
#      and kubelet/kubeadm/kubectl in /usr/bin as `build node-image` puts them;
#   2. one image per component, named exactly as `kubeadm config images list` and the manifests
#      say, FROM scratch (kube-proxy and the local-path helper need a shell and nftables: our
#      Debian root);
#   3. a build container of the base with containerd started, every image imported into the
#      k8s.io namespace (pinned, not unpacked, as kind does), /kind/version and the CNI and
#      storage manifests written, then `docker commit`.
# The image carries a label with the hash of every input; an image with the same label is reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
K8S_VERSION=${K8S_VERSION:-v1.37.2}
KIND_VERSION=${KIND_VERSION:-v0.33.0}
IMAGE=${KIND_NODE_IMAGE:-chainnet/kind-node:${K8S_VERSION}}
BASE=chainnet/kind-debian:bookworm
PODNET_IMAGE=chainnet/kind-podnet:v1
PROVISIONER_IMAGE=chainnet/kind-local-path-provisioner:v0.0.30
HELPER_IMAGE=chainnet/kind-local-path-helper:bookworm

hack/kind/base-rootfs.sh
rt=$(hack/kind/build-runtime.sh)
k8s=$(hack/kind/build-kubernetes.sh)
comp=$(hack/kind/build-components.sh)
kind_src=$(GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kind@${KIND_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')

ctx=$(mktemp -d)
build=chainnet-kind-node-build
trap 'rm -rf "$ctx"; docker rm -f "$build" >/dev/null 2>&1 || true' EXIT
# Our two binaries in the image, built reproducibly (-trimpath): the image is keyed by what they
# are, not by the module's other dependencies.
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$ctx/pause" ./hack/kind/pause
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$ctx/podnet" ./hack/kind/podnet
inputs=$( { echo "$K8S_VERSION $KIND_VERSION $rt $k8s $comp"; cat hack/kind/build-node-image.sh hack/kind/node/* \
  hack/kind/manifests/default-cni.yaml "$ctx/pause" "$ctx/podnet"; } | sha256sum | cut -c1-16)
if [[ $(docker image inspect -f '{{ index .Config.Labels "chainnet.kind.inputs" }}' "$IMAGE" 2>/dev/null) == "$inputs" ]]; then
  echo "kind: $IMAGE is up to date"
  exit 0
fi
start=$(date +%s)

# build TAG DIR: docker build, quiet (the legacy builder's deprecation notice is noise here)
# unless it fails.
build() { docker build -q -t "$1" "$2" >/dev/null 2>"$ctx/build.err" || { cat "$ctx/build.err" >&2; return 1; }; }
# scratch_image TAG ENTRYPOINT FILE... : FILEs under /usr/local/bin of a FROM-scratch image.
scratch_image() {
  local tag=$1 entry=$2; shift 2
  local d; d=$(mktemp -d -p "$ctx")
  mkdir -p "$d/usr/local/bin" && cp "$@" "$d/usr/local/bin/"
  { echo 'FROM scratch'; echo 'COPY usr /usr'; [[ -n $entry ]] && printf 'ENTRYPOINT ["%s"]\n' "$entry"; } > "$d/Dockerfile"
  build "$tag" "$d"
}
# debian_image TAG FILE... : FILEs under /usr/local/bin of our Debian root.
debian_image() {
  local tag=$1; shift
  local d; d=$(mktemp -d -p "$ctx")
  mkdir -p "$d/bin"; (( $# )) && cp "$@" "$d/bin/"
  printf 'FROM %s\nCOPY bin /usr/local/bin/\n' "$BASE" > "$d/Dockerfile"
  build "$tag" "$d"
}

# 1. The component images, named as kubeadm v1.37 and the manifests expect.
mapfile -t required < <("$k8s/kubeadm" config images list --kubernetes-version "$K8S_VERSION")
images=()
for ref in "${required[@]}"; do
  name=${ref##*/}; name=${name%%:*}
  case $name in
    kube-apiserver|kube-controller-manager|kube-scheduler) scratch_image "$ref" "" "$k8s/$name" ;;
    kube-proxy) debian_image "$ref" "$k8s/kube-proxy" ;;
    etcd) scratch_image "$ref" "" "$comp/etcd" "$comp/etcdctl" ;;
    coredns) scratch_image "$ref" /usr/local/bin/coredns "$comp/coredns" ;;
    pause)
      scratch_image "$ref" /usr/local/bin/pause "$ctx/pause"
      pause=$ref ;;
    *) echo "kind: kubeadm wants an image this script does not build: $ref" >&2; exit 1 ;;
  esac
  images+=("$ref")
done
[[ -n ${pause:-} ]] || { echo "kind: kubeadm listed no pause image" >&2; exit 1; }
scratch_image "$PODNET_IMAGE" /usr/local/bin/podnet "$ctx/podnet"
scratch_image "$PROVISIONER_IMAGE" "" "$comp/local-path-provisioner"
debian_image "$HELPER_IMAGE"
images+=("$PODNET_IMAGE" "$PROVISIONER_IMAGE" "$HELPER_IMAGE")
docker save -o "$ctx/images.tar" "${images[@]}"
echo "kind: ${#images[@]} component images built ($(( $(date +%s) - start ))s)"

# 2. The base: kind's images/base recipe on our root.
b=$ctx/base && mkdir -p "$b/bin" "$b/sbin" "$b/cni" "$b/usrbin" "$b/kind/manifests"
cp -r "$kind_src/images/base/files" "$b/files" && chmod -R u+w,go+r "$b/files"
find "$b/files" -type f -exec chmod 0644 {} + && chmod 0755 "$b/files/usr/local/bin/"* "$b/files/kind/bin/"*
cp "$rt"/{containerd,containerd-shim-runc-v2,ctr} "$comp/crictl" hack/kind/node/preamble "$b/bin/"
cp "$rt/runc" "$b/sbin/"
cp "$comp"/{ptp,host-local,loopback,portmap} "$b/cni/"
cp "$k8s"/{kubelet,kubeadm,kubectl} "$b/usrbin/"
printf '%s' "$K8S_VERSION" > "$b/kind/version"
cp hack/kind/manifests/default-cni.yaml "$b/kind/manifests/"
# kind's own storage manifest (local-path, StorageClass "standard" as default), with our images.
awk '/^const defaultStorageManifest = `/{on=1; next} on && /^`$/{exit} on' "$kind_src/pkg/build/nodeimage/const_storage.go" |
  sed -e "s#\` + storageProvisionerImage + \`#${PROVISIONER_IMAGE}#" -e "s#\` + storageHelperImage + \`#${HELPER_IMAGE}#" \
  > "$b/kind/manifests/default-storage.yaml"
grep -q "$PROVISIONER_IMAGE" "$b/kind/manifests/default-storage.yaml" || { echo "kind: storage manifest not found in kind's source" >&2; exit 1; }
cat > "$b/Dockerfile" <<EOF
FROM $BASE
COPY files/ /
COPY bin/ /usr/local/bin/
COPY sbin/ /usr/local/sbin/
COPY cni/ /opt/cni/bin/
COPY usrbin/ /usr/bin/
COPY kind/ /kind/
RUN chmod 755 /kind /kind/bin \\
 && mv /usr/local/bin/preamble /usr/local/bin/chainnet-preamble \\
 && find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
    /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo ReadKMsg=no >> /etc/systemd/journald.conf \\
 && ln -sf /usr/lib/systemd/systemd /sbin/init \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
 && systemctl mask systemd-binfmt.service \\
 && mkdir -p /etc/kubernetes/manifests \\
 && ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \\
    | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
 && sed -i -e 's#sandbox_image = .*#sandbox_image = "${pause}"#' -e 's#SystemdCgroup = true#SystemdCgroup = false#' /etc/containerd/config.toml
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/chainnet-preamble", "/sbin/init"]
EOF
build chainnet/kind-base:dev "$b"
echo "kind: base image built ($(( $(date +%s) - start ))s)"

# 3. Import the images into the base's containerd, as kind's builder does, and commit.
docker rm -f "$build" >/dev/null 2>&1 || true
docker run -d --name "$build" --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
  --security-opt apparmor=unconfined --tmpfs /run --tmpfs /tmp -v "$ctx/images.tar:/images.tar:ro" \
  --init --entrypoint sleep chainnet/kind-base:dev infinity >/dev/null
docker exec "$build" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
for i in $(seq 50); do docker exec "$build" ctr version >/dev/null 2>&1 && break; sleep 0.2; done
docker exec "$build" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned \
  --all-platforms --no-unpack --digests /images.tar >/dev/null
imported=$(docker exec "$build" ctr --namespace=k8s.io images list -q)
for ref in "${images[@]}"; do
  full=$ref; [[ ${ref%%/*} == *.* ]] || full=docker.io/$ref
  grep -qxF "$full" <<<"$imported" || { echo "kind: $full missing after import:" >&2; echo "$imported" >&2; exit 1; }
done
docker exec "$build" pkill containerd || true
sleep 1
docker commit --change 'ENTRYPOINT ["/usr/local/bin/chainnet-preamble", "/sbin/init"]' \
  --change "LABEL chainnet.kind.inputs=$inputs" "$build" "$IMAGE" >/dev/null
echo "kind: $IMAGE built in $(( $(date +%s) - start ))s ($(docker image inspect -f '{{ .Size }}' "$IMAGE" | awk '{printf "%.2f GB", $1/1e9}'))"
