#!/usr/bin/env bash
# Installs Argo CD (built here by hack/argocd/build.sh) and our Git server into the kind cluster
# $KIND_CLUSTER (kubeconfig $KUBECONFIG), and waits until they run: upstream's core install from
# the source archive with our image for every container (hack/argocd/manifests). The ChainNetwork
# health check is NOT loaded here: the e2e loads it as the README tells users to.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${KIND_CLUSTER:-chainnet}
ARCHIVE=${ARGOCD_ARCHIVE:-$PWD/../shared/third_party/argo-cd.tar.gz}
export ARGOCD_ARCHIVE=$ARCHIVE
start=$(date +%s)
image=$(hack/argocd/build.sh)
bin/kind load docker-image --name "$CLUSTER" "$image" >/dev/null

dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cp hack/argocd/manifests/* "$dir/"
# Upstream's images are pulled (Always); ours is loaded into the node.
tar -xzOf "$ARCHIVE" ./manifests/core-install.yaml |
  sed -e "s#image: quay.io/argoproj/argocd:.*#image: $image#" \
      -e "s#image: public.ecr.aws/docker/library/redis:.*#image: $image#" \
      -e 's#imagePullPolicy: Always#imagePullPolicy: IfNotPresent#' > "$dir/core-install.yaml"
sed -i "s#image: chainnet/argocd:e2e#image: $image#" "$dir/git-server.yaml"
bin/kubectl create namespace argocd --dry-run=client -o yaml | bin/kubectl apply -f - >/dev/null
# Server-side: Argo CD's CRDs are larger than the last-applied annotation allows. The AppProject
# needs its CRD established: on a new cluster the first apply refuses it, the second takes it.
bin/kustomize build "$dir" > "$dir/all.yaml"
if ! bin/kubectl apply --server-side --force-conflicts -f "$dir/all.yaml" >/dev/null 2>&1; then
  bin/kubectl wait --for=condition=Established --timeout=60s crd/appprojects.argoproj.io crd/applications.argoproj.io >/dev/null
  bin/kubectl apply --server-side --force-conflicts -f "$dir/all.yaml" >/dev/null
fi
# Their settings (argocd-cmd-params-cm) are read at start: a reused cluster restarts them.
bin/kubectl -n argocd rollout restart statefulset/argocd-application-controller deployment/argocd-repo-server >/dev/null
for w in statefulset/argocd-application-controller deployment/argocd-repo-server deployment/argocd-redis deployment/chainnet-git; do
  bin/kubectl -n argocd rollout status "$w" --timeout=300s >/dev/null || {
    bin/kubectl -n argocd get pods -o wide >&2; bin/kubectl -n argocd describe pods >&2; exit 1; }
done
echo "argocd: $image running in $CLUSTER in $(( $(date +%s) - start ))s"
