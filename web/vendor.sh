#!/usr/bin/env bash
# Re-vendor Chart.js from the npm registry into web/vendor/ (the site never loads a CDN,
# and starting umwi never needs npm). Usage: web/vendor.sh [version]   (default: pinned)
set -euo pipefail

VERSION="${1:-4.6.1}"
HERE="$(cd "$(dirname "$0")" && pwd)"
VENDOR="$HERE/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# npm pack checks the tarball against the registry's integrity hash.
(cd "$WORK" && npm pack --silent "chart.js@$VERSION" >/dev/null)
tar -xzf "$WORK/chart.js-$VERSION.tgz" -C "$WORK"

mkdir -p "$VENDOR"
cp "$WORK/package/dist/chart.umd.min.js" "$VENDOR/chart.umd.min.js"
cp "$WORK/package/LICENSE.md" "$VENDOR/LICENSE"
printf 'chart.js %s (npm: https://www.npmjs.com/package/chart.js/v/%s)\n' "$VERSION" "$VERSION" \
  >"$VENDOR/VERSION"
(cd "$VENDOR" && sha256sum chart.umd.min.js LICENSE >SHA256SUMS)
echo "vendored chart.js $VERSION into $VENDOR"
cat "$VENDOR/SHA256SUMS"
