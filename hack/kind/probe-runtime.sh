#!/usr/bin/env bash
# Early proof for the offline kind cluster: in a privileged container of this Docker engine,
# started from our debootstrapped Debian root, our containerd v2 + runc run a container of an
# image we built (the chainnode image), as a kind node's kubelet would have them do.
# Prints what it did; exits non-zero if the nested container does not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
hack/kind/base-rootfs.sh
rt=$(hack/kind/build-runtime.sh)
ctx=$(mktemp -d); trap 'rm -rf "$ctx"; docker rm -f chainnet-kind-probe >/dev/null 2>&1 || true' EXIT
cp "$rt"/{containerd,containerd-shim-runc-v2,ctr,runc} "$ctx/"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM chainnet/kind-debian:bookworm
COPY containerd containerd-shim-runc-v2 ctr runc /usr/local/bin/
DOCKERFILE
docker build -q -t chainnet/kind-probe:dev "$ctx" >/dev/null
make --no-print-directory build >/dev/null
mkdir -p "$ctx/node" && cp bin/chainnode node-image/Dockerfile "$ctx/node/"
docker build -q -t chainnet/chainnode:probe "$ctx/node" >/dev/null
docker save chainnet/chainnode:probe -o "$ctx/chainnode.tar"
# As kind runs its nodes, with one difference: `--privileged` fails on this engine ("unable to
# apply caps": the VM's capability bounding set lacks CAP_SYS_RESOURCE), so the node gets every
# other capability, no seccomp/AppArmor confinement, unmasked /proc and /sys, every device, and
# remounts its cgroup hierarchies read-write itself. /var is a volume (containerd's overlay
# snapshots then sit on the host filesystem, not on the engine's fuse-overlayfs).
docker run -d --name chainnet-kind-probe --cap-add ALL --cap-drop SYS_RESOURCE \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
  --device-cgroup-rule 'a *:* rwm' --tmpfs /run --tmpfs /tmp -v /var \
  -v "$ctx/chainnode.tar:/chainnode.tar:ro" --entrypoint sleep chainnet/kind-probe:dev infinity >/dev/null
docker exec chainnet-kind-probe sh -c 'mount -o remount,rw /sys/fs/cgroup &&
  awk "\$9 == \"cgroup\" {print \$5}" /proc/self/mountinfo | while read -r m; do mount -o remount,bind,rw "$m"; done'
docker exec chainnet-kind-probe sh -c 'containerd >/var/log/containerd.log 2>&1 &'
for _ in $(seq 50); do docker exec chainnet-kind-probe ctr version >/dev/null 2>&1 && break; sleep 0.2; done
docker exec chainnet-kind-probe ctr version | sed -n '1,3p;/Server/,$p'
docker exec chainnet-kind-probe ctr -n k8s.io images import /chainnode.tar | tail -1
echo "== a nested container of our image, run by our containerd and runc:"
docker exec chainnet-kind-probe ctr -n k8s.io run --rm docker.io/chainnet/chainnode:probe probe /chainnode version
