# Shared by the kind probes: a node container run the way kind runs its nodes, adapted to this
# engine (see docs/design/offline-kind.md), with our containerd started inside.

# node_image TAG FILE... builds TAG from our Debian root with our runtime and FILEs in /usr/local/bin.
node_image() {
  local tag=$1; shift
  local rt ctx
  rt=$(hack/kind/build-runtime.sh)
  ctx=$(mktemp -d)
  cp "$rt"/{containerd,containerd-shim-runc-v2,ctr,runc} "$@" "$ctx/"
  printf 'FROM chainnet/kind-debian:bookworm\nCOPY . /usr/local/bin/\n' > "$ctx/Dockerfile"
  docker build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
}

# start_node NAME IMAGE [docker run args...] starts the node and containerd in it. `--privileged`
# is refused here (no CAP_SYS_RESOURCE in the VM's bounding set): every other capability,
# unconfined seccomp/AppArmor/system paths, every device, cgroups remounted read-write inside,
# /var on a volume so containerd's overlay snapshots sit on the host filesystem.
start_node() {
  local name=$1 image=$2; shift 2
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
    --device-cgroup-rule 'a *:* rwm' --device /dev/kmsg --tmpfs /run --tmpfs /tmp -v /var "$@" \
    --entrypoint sleep "$image" infinity >/dev/null
  docker exec "$name" sh -c 'mount -o remount,rw /sys/fs/cgroup &&
    awk "\$9 == \"cgroup\" {print \$5}" /proc/self/mountinfo | while read -r m; do mount -o remount,bind,rw "$m"; done'
  # Without CAP_SYS_RESOURCE no process may lower its oom_score_adj below the VM init's 0, and
  # the kubelet asks -998 for pod sandboxes: containerd clamps scores to its own instead.
  docker exec "$name" sh -c 'mkdir -p /etc/containerd /var/log && printf "%s\n" "version = 3" \
    "[plugins.\"io.containerd.cri.v1.runtime\"]" "  restrict_oom_score_adj = true" > /etc/containerd/config.toml'
  docker exec "$name" sh -c 'containerd >/var/log/containerd.log 2>&1 &'
  for _ in $(seq 50); do docker exec "$name" ctr version >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "containerd did not start in $name" >&2; docker exec "$name" tail /var/log/containerd.log >&2; return 1
}

# scratch_image TAG BINARY [CMD...] builds a one-binary image FROM scratch and saves it to TAG's tar.
scratch_image() {
  local tag=$1 bin=$2; shift 2
  local ctx; ctx=$(mktemp -d)
  cp "$bin" "$ctx/"
  { echo 'FROM scratch'; echo "COPY $(basename "$bin") /"; printf 'ENTRYPOINT ["/%s"]\n' "$(basename "$bin")"; } > "$ctx/Dockerfile"
  docker build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
}
