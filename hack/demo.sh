#!/usr/bin/env bash
# `make demo`: the most complete network this machine can run.
#
# With a Docker engine: the kind cluster built offline from source (hack/kind), the operator
# installed with its Helm chart, config/samples/consortium.yaml applied in namespace "demo", and
# a wait until the network is Ready with blocks being mined; then what to try next. The cluster
# stays up (make kind-delete removes it). Without a Docker engine: `chainnode devnet`
# (hack/demo-devnet.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
if ! docker info >/dev/null 2>&1; then
  echo "demo: no Docker engine answers here, so no kind cluster: running chainnode devnet instead."
  exec hack/demo-devnet.sh
fi
start=$(date +%s)
ns=${DEMO_NAMESPACE:-demo}
hack/build-tools.sh >/dev/null
hack/kind/create-cluster.sh
hack/kind/load-images.sh
export KUBECONFIG=$PWD/bin/kubeconfig
version=$(cat VERSION)
id=$(docker image inspect -f '{{ .Id }}' "chainnet/operator:$version")
bin/helm upgrade --install chainnet-operator charts/chainnet-operator --namespace chainnet-system --create-namespace \
  --set image.pullPolicy=Never --set-string "podAnnotations.chainnet\.io/image-id=${id#sha256:}" --wait --timeout 3m >/dev/null
bin/kubectl create namespace "$ns" --dry-run=client -o yaml | bin/kubectl apply -f - >/dev/null
bin/kubectl apply -n "$ns" -f config/samples/consortium.yaml
echo "demo: waiting for the consortium to be Ready and mining..."
bin/kubectl wait -n "$ns" chainnetwork/consortium --for=condition=Ready --timeout=6m >/dev/null
until h=$(bin/kubectl get -n "$ns" chainnetwork/consortium -o jsonpath='{.status.chain.bestHeight}') && (( ${h:-0} >= 3 )); do sleep 3; done
echo
echo "\$ kubectl get chainnetworks -n $ns"; bin/kubectl get chainnetworks -n "$ns"
echo; echo "\$ kubectl get pods -n $ns"; bin/kubectl get pods -n "$ns"
echo; echo "\$ kubectl describe chainnetwork consortium -n $ns   (status)"
bin/kubectl get -n "$ns" chainnetwork/consortium -o jsonpath='{range .status.chain.nodes[*]}{.name}{"\theight="}{.height}{"\tpeers="}{.peers}{"\n"}{end}'
echo
echo "demo: ready in $(( $(date +%s) - start ))s. Next:"
echo "  export KUBECONFIG=$PWD/bin/kubeconfig PATH=$PWD/bin:\$PATH"
echo "  kubectl get cn -n $ns -w                                    # height grows every ~5 s"
echo "  kubectl chainnet status consortium -n $ns                   # every node: height, peers, hash rate"
echo "  kubectl chainnet add-org consortium org3 --validators 1 -n $ns   # a new member joins, nobody restarts"
echo "  kubectl port-forward -n $ns svc/consortium-api 8080:8545    # then http://127.0.0.1:8080/explorer/"
echo "  make kind-delete                                            # remove the cluster"
