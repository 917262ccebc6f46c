#!/usr/bin/env bash
# Runs the node's benchmarks and prints their figures. Absolute numbers on a shared 2-core machine
# are noise; each benchmark also reports a ratio to a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
run() { go test -run '^$' -bench "$1" -benchtime "${2:-1x}" -timeout 30m "$3" | grep -E '^Benchmark'; }
echo "== mining: hashes per second (baselines: naive sha256(sha256(header)) per core; openssl speed -evp sha256 per CPU-second → miner-per-core/bound)"
run 'BenchmarkHashRate$' 1x ./internal/mining
echo "== transaction validation + mempool admission, one core (baseline: bare ed25519 verify)"
run 'BenchmarkAdmit$' 3x ./internal/mempool
echo "== block connection, blocks of 1,000 transfers (baseline: bare ed25519 verify on one core)"
run 'BenchmarkConnectBlock1000$' 3x ./internal/chain
echo "== reopening a store of 100,000 blocks"
run 'BenchmarkReopen100k$' 1x ./internal/chain
echo "== header hashing micro-benchmarks"
run 'BenchmarkHash' 1s ./internal/pow
echo "== P2P: block propagation p50/p99 on loopback (baseline: one hop, same run)"
run 'BenchmarkPropagation$' 1x ./internal/p2p
echo "== P2P: sync of 10,000 blocks from one peer and from four"
run 'BenchmarkSync10k$' 1x ./internal/p2p
echo "== P2P: sync of 100,000 small blocks from one peer, batched commits (baseline: one fsynced store commit per block, same run)"
run 'BenchmarkSync100k$' 1x ./internal/p2p
echo "== P2P: memory of an idle node and of 100 peer connections"
run 'BenchmarkMemory$' 1x ./internal/p2p
echo "== operator: 500 ChainNetworks created at once against envtest (real kube-apiserver + etcd)"
hack/build-envtest.sh >/dev/null
KUBEBUILDER_ASSETS="$PWD/bin/k8s" run 'BenchmarkFiveHundredNetworks$' 1x ./controllers
echo "== sustained load: 4-validator devnet (1 s blocks), chainctl bench load at 5,000/s for 60 s (baseline: one ed25519 verify per node per transfer, same run)"
load_dir=$(mktemp -d)
go build -o "$load_dir/" ./cmd/chainnode ./cmd/chainctl
"$load_dir/chainnode" devnet --dir "$load_dir/net" --nodes 4 --block-time 1 >"$load_dir/devnet.log" 2>&1 &
devnet_pid=$!
trap 'kill -INT $devnet_pid 2>/dev/null; wait $devnet_pid 2>/dev/null; rm -rf "$load_dir"' EXIT
until "$load_dir/chainctl" --devnet "$load_dir/net" status -o json 2>/dev/null | grep -q "\"height\""; do sleep 1; done
"$load_dir/chainctl" --devnet "$load_dir/net" bench load --rate "${LOAD_RATE:-5000}" --duration "${LOAD_DURATION:-60s}"
