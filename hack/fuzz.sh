#!/usr/bin/env bash
# Fuzzes each decoder and handler for FUZZTIME (default 20s). New interesting inputs stay in Go's
# cache; copy crashers into the package's testdata/fuzz/ to keep them as regression seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-20s}
for target in $(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' -r . | sed 's/func //' | sort -u); do
  pkg=$(grep -rlE "^func ${target}\(" --include='*_test.go' . | head -1 | xargs dirname)
  echo "== $pkg $target"
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" | tail -1
done
