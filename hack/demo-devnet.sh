#!/usr/bin/env bash
# `make demo` without a Docker engine: `chainnode devnet`, four mining validators (real chainnode processes on
# 127.0.0.1, mutual TLS between them), a transfer sent with chainctl to one node and seen mined
# on another, then the network left running (Ctrl-C stops it; DEMO_SECONDS=N stops it after N
# seconds). Running it again resumes the same chain.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
DIR=${DEMO_DIR:-.devnet/demo}
NODES=${DEMO_NODES:-4}
MEMBERSHIP=${DEMO_MEMBERSHIP:-public}
cn=bin/chainnode; ctl=bin/chainctl
mkdir -p "$(dirname "$DIR")"

$cn devnet --dir "$DIR" --nodes "$NODES" --membership "$MEMBERSHIP" >"$DIR.out" 2>&1 &
devnet_pid=$!
trap 'kill -INT $devnet_pid 2>/dev/null; wait $devnet_pid 2>/dev/null; echo "devnet stopped; chain kept in $DIR (make demo resumes it)"' EXIT
for _ in $(seq 100); do [[ -f $DIR/devnet.json ]] && $ctl --devnet "$DIR" status -o json 2>/dev/null | grep -q '"height"' && break; sleep 0.2; done
cat "$DIR.out"
api() { sed -n 's/.*"api": "\(.*\)".*/\1/p' "$DIR/devnet.json" | sed -n "$1p"; }
height() { $ctl --node "$(api 1)" status -o json | sed -n 's/.*"height": \([0-9]*\).*/\1/p'; }
start=$(height)
echo; echo "Waiting for two new blocks..."
while (( $(height) < start + 2 )); do sleep 1; done
echo; echo "\$ chainctl --devnet $DIR status"; $ctl --devnet "$DIR" status

bob=$($ctl keys show "$DIR/bob.json" -o json | sed -n 's/.*"address": "\(.*\)".*/\1/p')
echo; echo "\$ chainctl --node $(api 1) send --to $bob --amount 2500 --fee 10 --key $DIR/alice.json"
$ctl --node "$(api 1)" send --to "$bob" --amount 2500 --fee 10 --key "$DIR/alice.json"
last=$(api "$NODES")
until $ctl --node "$last" balance "$bob" | grep -qv 'balance 0 '; do sleep 1; done
echo; echo "\$ chainctl --node $last balance $bob   # mined by some validator, seen by the last node"
$ctl --node "$last" balance "$bob"
echo
echo "Try: bin/chainctl --devnet $DIR status | bin/chainctl --node $(api 1) block 1 | curl -s $(api 1)/v1/peers"
if [[ -n ${DEMO_SECONDS:-} ]]; then sleep "$DEMO_SECONDS"; exit 0; fi
echo "Ctrl-C stops the devnet."
wait $devnet_pid
