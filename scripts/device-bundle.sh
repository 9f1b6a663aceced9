#!/usr/bin/env bash
# Packs what scripts/device-check.sh needs on a GPU machine that reaches no registry into the
# ignored folder .device-bundle/ (carried by the device `run` call; the carry limit is 64 MiB
# together with the tracked tree, so everything is xz-compressed):
#   node.xz          this machine's Node binary
#   payload.tar.xz   app/ (dist/, bin/, scripts/device-check.mjs, package.json and the runtime
#                    node_modules: webgpu with only its linux-x64 dawn.node, pngjs, jpeg-js,
#                    wgsl-preprocessor), golden/ (the fixtures), lib/libvulkan.so.1 (Chromium's
#                    Vulkan loader, used only where the machine has none)
#
#   npm run build && bash scripts/device-bundle.sh     # about two minutes (xz -9)
#
# Then, with the device tool:  run(command: "bash scripts/device-check.sh", carry: [".device-bundle"])
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GOLDEN=${WEBGPU_CAM_GOLDEN:-$ROOT/../shared/golden}
OUT=$ROOT/.device-bundle

fail() { echo "device-bundle: $*" >&2; exit 1; }
[ -f dist/engine/index.js ] || fail "dist/ is missing: run npm run build"
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || fail "node_modules/webgpu is missing: run npm ci"
[ -d "$GOLDEN" ] || fail "no golden fixtures at $GOLDEN (set WEBGPU_CAM_GOLDEN)"
LOADER=/usr/lib/chromium/libvulkan.so.1
[ -f "$LOADER" ] || fail "$LOADER is missing: apt-get install -y chromium"

STAGE=$(mktemp -d /tmp/webgpu-cam-bundle.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/app/node_modules/webgpu/dist/linux-x64" "$STAGE/app/scripts" "$STAGE/lib"
cp -r dist bin package.json "$STAGE/app/"
cp scripts/device-check.mjs "$STAGE/app/scripts/"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$STAGE/app/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$STAGE/app/node_modules/webgpu/dist/linux-x64/"
for m in pngjs jpeg-js wgsl-preprocessor; do cp -r "node_modules/$m" "$STAGE/app/node_modules/"; done
find "$STAGE/app/dist" -name '*.map' -delete
cp -r "$GOLDEN" "$STAGE/golden"
cp "$LOADER" "$STAGE/lib/"

rm -rf "$OUT" && mkdir -p "$OUT"
xz -T0 -9 -c "$(command -v node)" > "$OUT/node.xz"
tar -C "$STAGE" -cf - app golden lib | xz -T0 -9 > "$OUT/payload.tar.xz"
du -b "$OUT"/* | awk '{ printf "device-bundle: %s %.1f MB\n", $2, $1 / 1e6 }'
# The device call carries the working tree (tracked and untracked, not ignored, files) and the
# bundle together, 64 MiB at most.
bundle=$(du -cb "$OUT"/* | tail -1 | cut -f1)
tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 du -cb 2>/dev/null | awk '/\ttotal$/ { s += $1 } END { print s + 0 }')
limit=$((64 * 1024 * 1024))
echo "device-bundle: bundle $((bundle / 1000000)) MB + working tree $((tree / 1000000)) MB = $(((bundle + tree) / 1000000)) MB of $((limit / 1000000)) MB"
[ $((bundle + tree)) -le $limit ] || fail "bundle and working tree exceed the device call's 64 MiB: drop large untracked files or trim the bundle"
