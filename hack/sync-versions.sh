#!/usr/bin/env bash
# Chart versions and appVersions follow VERSION; the install bundle and samples use the same tag.
set -euo pipefail
cd "$(dirname "$0")/.."
v=$(cat VERSION)
for c in charts/*/Chart.yaml; do
  sed -i -e "s/^version: .*/version: ${v}/" -e "s/^appVersion: .*/appVersion: \"${v}\"/" "$c"
done
sed -i "s/^  newTag: .*/  newTag: ${v}/" config/manager/kustomization.yaml
