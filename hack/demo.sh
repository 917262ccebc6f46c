#!/usr/bin/env bash
# make demo: start the most complete working network this machine can run.
#
# Today that is a single mining chainnode with a funded account, a transfer sent with chainctl and
# mined, and the node left running (Ctrl-C stops it; DEMO_SECONDS=N stops it after N seconds).
# The multi-node devnet and the kind cluster replace this as their issues land.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
DIR=${DEMO_DIR:-.devnet/single}
API=${DEMO_API:-127.0.0.1:8545}
export CHAINCTL_NODE="http://$API"
mkdir -p "$DIR"
cn=bin/chainnode; ctl=bin/chainctl

if [[ ! -f $DIR/genesis.json ]]; then
  $ctl keys new --out "$DIR/alice.json" >/dev/null
  $ctl keys new --out "$DIR/bob.json" >/dev/null
  alice=$($ctl keys show "$DIR/alice.json" -o json | sed -n 's/.*"address": "\(.*\)".*/\1/p')
  # Difficulty of ~2 s of hashing on this machine's cores at ~6 MH/s each: LWMA retargets from there.
  $cn genesis --out "$DIR/genesis.json" --network-id demo --target-block-time 5 \
    --initial-difficulty $(( $(nproc) * 6000000 * 2 )) --alloc "$alice=1000000000"
fi
bob=$($ctl keys show "$DIR/bob.json" -o json | sed -n 's/.*"address": "\(.*\)".*/\1/p')

$cn run --data-dir "$DIR/data" --genesis "$DIR/genesis.json" --api-addr "$API" --mine >"$DIR/node.log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null; echo "node stopped; chain kept in $DIR (run make demo again to resume)"' EXIT
for _ in $(seq 50); do $ctl status >/dev/null 2>&1 && break; sleep 0.2; done
start=$($ctl status -o json | sed -n 's/.*"height": \([0-9]*\).*/\1/p')
echo "chainnode is mining (log: $DIR/node.log, API: http://$API). Waiting for two new blocks..."
while (( $($ctl status -o json | sed -n 's/.*"height": \([0-9]*\).*/\1/p') < start + 2 )); do sleep 1; done

echo; echo "\$ chainctl send --to $bob --amount 2500 --fee 10 --key $DIR/alice.json"
$ctl send --to "$bob" --amount 2500 --fee 10 --key "$DIR/alice.json"
until $ctl balance "$bob" | grep -qv 'balance 0 '; do sleep 1; done
echo; echo "\$ chainctl balance $bob"; $ctl balance "$bob"
echo; echo "\$ chainctl status"; $ctl status
echo
echo "Try: bin/chainctl status | bin/chainctl block 1 | curl -s http://$API/metrics | grep chainnode_chain"
if [[ -n ${DEMO_SECONDS:-} ]]; then sleep "$DEMO_SECONDS"; exit 0; fi
echo "Ctrl-C stops the node."
wait $node_pid
