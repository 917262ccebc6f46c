#!/usr/bin/env bash
# Builds Argo CD from the source archive in shared/third_party (the module proxy does not serve
# it) and the image the e2e runs it from, chainnet/argocd:<version>, with nothing pulled:
#   1. the one `argocd` binary every component runs as (named by argv[0]), with placeholders for
#      the web UI (its build needs npm, not reachable here; the API and CLI work without it);
#   2. a Debian bookworm root of our own (debootstrap from the apt mirror) with what Argo CD
#      needs at run time: git, Redis (redis-server), ca-certificates, tini;
#   3. the image: that root, argocd and its component names, and helm and kustomize from
#      hack/build-tools.sh (the repo-server renders charts and kustomizations with them).
# Cached outside the clone: the binary by the archive's sha256 and the hash of this script's step
# that builds it, the root by the hash of its step; the image carries a label with the hash of
# every input and is reused.
# Prints the image name on stdout. ARGOCD_ARCHIVE overrides where the archive is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ARCHIVE=${ARGOCD_ARCHIVE:-$ROOT/../shared/third_party/argo-cd.tar.gz}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
[[ -f $ARCHIVE ]] || { echo "argocd: $ARCHIVE missing (shared/third_party beside the clone; or set ARGOCD_ARCHIVE)" >&2; exit 1; }
SUM=$(sha256sum "$ARCHIVE" | cut -c1-16)
BASE=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/argocd
log() { echo "argocd: $*" >&2; }
# step_hash FUNCTION: the hash of a step's own code, so editing the image step rebuilds neither
# the binary (CPU-minutes) nor the root.
step_hash() { declare -f "$1" | sha256sum | cut -c1-10; }

build_binary() {
  [[ -x $CACHE/argocd ]] && return
  local src=$CACHE/src start; start=$(date +%s)
  rm -rf "$src" && mkdir -p "$src" && tar -C "$src" -xzf "$ARCHIVE"
  # The server embeds ui/dist/app (go:embed): empty placeholders stand in for the npm build.
  mkdir -p "$src/ui/dist/app/assets/images/resources"
  touch "$src/ui/dist/app/index.html" "$src/ui/dist/app/assets/images/resources/.keep"
  local v; v=$(cat "$src/VERSION")
  log "building argocd $v (one binary, every component; several CPU-minutes cold)"
  local p=github.com/argoproj/argo-cd/v3/common
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod GODEBUG=tarinsecurepath=0,zipinsecurepath=0 \
    go build -trimpath -buildvcs=false -ldflags "-s -w -X $p.version=$v -X $p.gitTreeState=archive -X $p.gitCommit=sha256:$SUM" \
    -o "$CACHE/argocd.tmp" ./cmd) >&2
  echo "$v" > "$CACHE/VERSION"
  mv "$CACHE/argocd.tmp" "$CACHE/argocd"
  rm -rf "$src"
  log "argocd built in $(( $(date +%s) - start ))s"
}

build_rootfs() {
  [[ -f $ROOTFS/rootfs.tar ]] && return
  # The kind node image's build may be installing debootstrap at the same time (CI): wait for
  # dpkg's lock rather than fail.
  command -v debootstrap >/dev/null || { apt-get update -qq -o DPkg::Lock::Timeout=300 &&
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 debootstrap >/dev/null; }
  local root=$ROOTFS/root start; start=$(date +%s)
  rm -rf "$root"
  log "debootstrap: bookworm with git and redis-server"
  debootstrap --variant=minbase --include=git,redis-server,ca-certificates,tini,gnupg \
    bookworm "$root" "$MIRROR" >"$ROOTFS/debootstrap.log" 2>&1 || { tail -20 "$ROOTFS/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  # Argo CD's user, as its Dockerfile makes it (uid 999, home /home/argocd).
  chroot "$root" sh -c 'groupadd -g 999 argocd && useradd -r -u 999 -g argocd -d /home/argocd argocd && mkdir -p /home/argocd && chown argocd:0 /home/argocd'
  tar -C "$root" -cf "$ROOTFS/rootfs.tar.tmp" . && mv "$ROOTFS/rootfs.tar.tmp" "$ROOTFS/rootfs.tar"
  rm -rf "$root"
  log "root built in $(( $(date +%s) - start ))s"
}

CACHE=$BASE/$SUM-$(step_hash build_binary)
ROOTFS=$BASE/rootfs-bookworm-$(step_hash build_rootfs)
mkdir -p "$CACHE" "$ROOTFS"
build_binary
build_rootfs
"$ROOT/hack/build-tools.sh" >&2
VERSION=$(cat "$CACHE/VERSION")
IMAGE=${ARGOCD_IMAGE:-chainnet/argocd:v$VERSION}
inputs=$(cat "$0" "$ARCHIVE" "$CACHE/argocd" "$ROOTFS/rootfs.tar" "$ROOT/bin/helm" "$ROOT/bin/kustomize" | sha256sum | cut -c1-16)
if [[ $(docker image inspect -f '{{ index .Config.Labels "chainnet.argocd.inputs" }}' "$IMAGE" 2>/dev/null) == "$inputs" ]]; then
  echo "$IMAGE"; exit 0
fi
ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
docker import "$ROOTFS/rootfs.tar" chainnet/argocd-debian:bookworm >/dev/null
mkdir -p "$ctx/bin"
cp "$CACHE/argocd" "$ROOT/bin/helm" "$ROOT/bin/kustomize" "$ctx/bin/"
# The repo-server runs these two from its PATH (commit signatures) as upstream's image has them.
tar -C "$ctx/bin" --strip-components=2 -xzf "$ARCHIVE" ./hack/git-verify-wrapper.sh ./hack/gpg-wrapper.sh
links=""
for c in server repo-server application-controller applicationset-controller cmp-server commit-server git-ask-pass k8s-auth notifications; do
  links+=" && ln -s argocd /usr/local/bin/argocd-$c"
done
cat > "$ctx/Dockerfile" <<EOF
FROM chainnet/argocd-debian:bookworm
COPY bin /usr/local/bin/
RUN true$links
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin USER=argocd HOME=/home/argocd GRPC_ENABLE_TXT_SERVICE_CONFIG=false
LABEL chainnet.argocd.inputs=$inputs
USER 999
WORKDIR /home/argocd
ENTRYPOINT ["/usr/bin/tini", "--"]
EOF
docker build -q -t "$IMAGE" "$ctx" >/dev/null
log "image $IMAGE built"
echo "$IMAGE"
