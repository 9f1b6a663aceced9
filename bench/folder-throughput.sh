#!/usr/bin/env bash
# Folder-job throughput of the bundled model: images/second for COUNT images (default 1,000
# crops of the samples at 224x224), --batch 1 vs 16 (BATCHES), CPU and GPU CAM backends
# (BACKENDS), one nice'd run each; maps and overlays written as in a real job. Prints a
# Markdown table: wall rate over the whole run, rate after start-up, CPU seconds per image.
#
#   npm run build && bash bench/folder-throughput.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${1:-/tmp/webgpu-cam-throughput}
COUNT=${COUNT:-1000}
mkdir -p "$WORK"
if [ "$(ls "$WORK/images" 2>/dev/null | wc -l)" != "$COUNT" ]; then
  rm -rf "$WORK/images"
  npx tsx scripts/write-job-images.ts "$WORK/images" "$COUNT" 224 >/dev/null
fi
echo "| backend | --batch | images | wall s | images/s | images/s after start-up | CPU s/image |"
echo "|---|---|---|---|---|---|---|"
for backend in ${BACKENDS:-cpu gpu}; do
  for batch in ${BATCHES:-1 16}; do
    out=$WORK/out-$backend-$batch
    rm -rf "$out"
    /usr/bin/time -f '%U %S' -o "$WORK/time.txt" nice -n 10 node "$ROOT/bin/webgpu-cam.js" explain --images "$WORK/images" \
      --out-dir "$out" --batch "$batch" --backend "$backend" --json > "$WORK/summary.json"
    node --input-type=module -e "
      import { readFileSync } from 'node:fs';
      const s = JSON.parse(readFileSync('$WORK/summary.json', 'utf8'));
      const [user, sys] = readFileSync('$WORK/time.txt', 'utf8').trim().split(/\s+/).map(Number);
      const n = s.done + s.errors;
      const steady = n / (s.seconds - s.startupSeconds);
      console.log('| $backend | $batch | ' + n + ' | ' + s.seconds.toFixed(1) + ' | ' + s.imagesPerSecond.toFixed(2) + ' | ' + steady.toFixed(2) + ' | ' + ((user + sys) / n).toFixed(3) + ' |');
    "
  done
done
