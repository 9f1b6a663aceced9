#!/usr/bin/env bash
# Runs scripts/device-check.mjs on a machine with a real GPU from the bundle that
# scripts/device-bundle.sh made (.device-bundle/, carried by the device `run` call). Unpacks it
# under /tmp, points the Vulkan loader at the NVIDIA driver, and writes the JSON summary to
# $OUT/device-check.json (stderr: progress). Exit status: device-check.mjs's (0 = exact).
#
#   bash scripts/device-check.sh [device-check.mjs options, e.g. --runs 5]
#
# DEVICE_CHECK_ICD overrides the Vulkan driver manifest (e.g. SwiftShader's, for a trial here:
# /usr/lib/chromium/vk_swiftshader_icd.json). DEVICE_CHECK_TIMEOUT (seconds, default 420).
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=$PWD/.device-bundle
OUT=${OUT:-$PWD/device-check-out}
fail() { echo "device-check: $*" >&2; exit 1; }
[ -f "$BUNDLE/node.xz" ] && [ -f "$BUNDLE/payload.tar.xz" ] || fail "no bundle in $BUNDLE: run scripts/device-bundle.sh here and carry .device-bundle"

WORK=$(mktemp -d /tmp/webgpu-cam-device.XXXXXX)
xz -dc "$BUNDLE/node.xz" > "$WORK/node" && chmod +x "$WORK/node"
xz -dc "$BUNDLE/payload.tar.xz" | tar -C "$WORK" -xf -

ICD=${DEVICE_CHECK_ICD:-}
if [ -z "$ICD" ]; then
  for candidate in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$candidate" ]; then ICD=$candidate; break; fi
  done
fi
[ -n "$ICD" ] || fail "no NVIDIA Vulkan driver manifest (nvidia_icd.json) found; set DEVICE_CHECK_ICD"
export VK_DRIVER_FILES=$ICD VK_ICD_FILENAMES=$ICD
# Dawn opens libvulkan.so.1 by name: the machine's loader if it has one, else the bundled one.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  export LD_LIBRARY_PATH=$WORK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
mkdir -p "$OUT"
{ echo "driver manifest: $ICD"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || true; } | tee "$OUT/device.txt" >&2
cd "$WORK/app"
status=0
timeout "${DEVICE_CHECK_TIMEOUT:-420}" "$WORK/node" scripts/device-check.mjs "$WORK/golden" "$@" > "$OUT/device-check.json" || status=$?
cat "$OUT/device-check.json"
rm -rf "$WORK"
exit $status
