#!/usr/bin/env bash
# Fetches the console's JavaScript libraries from the npm registry and copies their
# minified files and licences into api/static/vendor/. The result is committed:
# the console loads nothing from anywhere else at run time. Rerun after changing a
# version below, then check the console and commit api/static/vendor/.
# Usage: scripts/vendor-js.sh   (needs npm and node)
set -euo pipefail
cd "$(dirname "$0")/.."

LEAFLET=1.9.4  # the map (markers and circles on a blank background: no tile server)
UPLOT=1.6.32   # the vitals charts

vendor=api/static/vendor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

npm pack --silent --json --pack-destination "$work" "leaflet@$LEAFLET" "uplot@$UPLOT" \
  >"$work/packed.json"
for package in leaflet uplot; do
  mkdir -p "$work/$package"
  tar -xzf "$work/$package"-*.tgz -C "$work/$package" --strip-components=1
done

# One folder per version, so the server may let browsers cache these files for good;
# api/static/index.html names the folders.
leaflet="$vendor/leaflet-$LEAFLET"
uplot="$vendor/uplot-$UPLOT"
rm -rf "$vendor"/leaflet-* "$vendor"/uplot-*
mkdir -p "$leaflet/images" "$uplot"
# The source-map comment is dropped: the map is not vendored, and a browser would ask for it.
sed '/^\/\/# sourceMappingURL=/d' "$work/leaflet/dist/leaflet.js" >"$leaflet/leaflet.js"
cp "$work/leaflet/dist/leaflet.css" "$work/leaflet/LICENSE" "$leaflet/"
cp "$work/leaflet/dist/images/"*.png "$leaflet/images/"
cp "$work/uplot/dist/uPlot.iife.min.js" "$work/uplot/dist/uPlot.min.css" "$work/uplot/LICENSE" "$uplot/"

node -e '
const packed = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const rows = packed.map((p) => `| ${p.name} | ${p.version} | \`${p.integrity}\` |`);
console.log(rows.join("\n"));
' "$work/packed.json" >"$work/rows.md"

cat >"$vendor/README.md" <<EOF
# Vendored JavaScript libraries

Copied from the npm registry by \`scripts/vendor-js.sh\` (rerun it to upgrade; change the
versions there). Committed, so the console fetches nothing from outside at run time.

| package | version | npm integrity of the tarball |
|---|---|---|
$(cat "$work/rows.md")

- \`leaflet-$LEAFLET/\`: \`dist/leaflet.js\` (its trailing source-map comment removed), \`dist/leaflet.css\`,
  \`dist/images/\`, \`LICENSE\` (BSD-2-Clause). Used without any tile layer.
- \`uplot-$UPLOT/\`: \`dist/uPlot.iife.min.js\`, \`dist/uPlot.min.css\`, \`LICENSE\` (MIT).
EOF
echo "vendored into $vendor:"
cat "$work/rows.md"
