#!/usr/bin/env bash
# Runs examples/slurm/explain-array.sbatch on a real single-node Slurm cluster started here:
# Debian's slurm-wlm (slurmctld + slurmd) and munge, as root, with all state in a temporary
# folder (a minimal slurm.conf: this host only, no cgroups, no accounting). Submits the array
# with `sbatch --wait` on generated images (one of them broken), then checks the manifest the
# last task merged: every image exactly once, the broken one recorded as failed, the maps
# byte-equal to an unsharded run's. Stops the daemons on exit.
#
#   sudo apt-get install -y slurm-wlm    # once
#   bash scripts/slurm-test.sh           # as root; about a minute; CI runs it (.ci/run)
#
# Needs the built CLI (npm run build). SLURM_TEST_KEEP=1 keeps the state folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

fail() { echo "slurm-test: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (slurmd and munged are started here)"
for tool in munged slurmctld slurmd sbatch sinfo; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install -y slurm-wlm"
done
[ -f dist/node/cli.js ] || fail "dist/node/cli.js is missing: run npm run build"

STATE=$(mktemp -d /tmp/webgpu-cam-slurm.XXXXXX)
chmod 755 "$STATE"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${SLURM_TEST_KEEP:-0}" = 1 ]; then echo "slurm-test: state kept in $STATE"; else rm -rf "$STATE"; fi
}
trap cleanup EXIT

# munge: its own key, socket and files (the system's munged, if any, is left alone).
mkdir -p "$STATE/munge" && chmod 700 "$STATE/munge"
dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$STATE/munge/munge.key"
MUNGE_SOCKET=$STATE/munge/munge.socket
munged --foreground --force --key-file="$STATE/munge/munge.key" --socket="$MUNGE_SOCKET" \
  --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" \
  --seed-file="$STATE/munge/munged.seed" 2>>"$STATE/munge/stderr.log" &
PIDS+=($!)

# Ports from this process id, so that two runs on one machine do not collide.
CTLD_PORT=$((20000 + $$ % 10000))
SLURMD_PORT=$((CTLD_PORT + 1))
NODE=$(hostname -s)
CPUS=$(nproc)
MEMORY=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
mkdir -p "$STATE/ctld" "$STATE/slurmd"
export SLURM_CONF=$STATE/slurm.conf
cat > "$SLURM_CONF" <<CONF
ClusterName=webgpucam
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEMORY State=UNKNOWN
PartitionName=test Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF

for _ in $(seq 50); do [ -S "$MUNGE_SOCKET" ] && break; sleep 0.1; done
[ -S "$MUNGE_SOCKET" ] || fail "munged did not start: $(cat "$STATE/munge/munged.log" "$STATE/munge/stderr.log" 2>/dev/null)"
slurmctld -D -i 2>>"$STATE/slurmctld.stderr" &
PIDS+=($!)
slurmd -D -N "$NODE" 2>>"$STATE/slurmd.stderr" &
PIDS+=($!)
ready=0
for _ in $(seq 60); do
  if sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then ready=1; break; fi
  sleep 0.5
done
[ $ready = 1 ] || fail "the node did not come up: $(sinfo -N 2>&1; tail -5 "$STATE/slurmctld.log" "$STATE/slurmd.log" 2>/dev/null)"
echo "slurm-test: slurmctld and slurmd up on $NODE ($CPUS CPUs, ports $CTLD_PORT/$SLURMD_PORT)"

# Images: 22 small crops of the bundled samples and one broken file.
IMAGES=$STATE/images
npx tsx scripts/write-job-images.ts "$IMAGES" 22 64 >/dev/null
echo 'not an image' > "$IMAGES/broken.png"
[ "$(ls "$IMAGES" | wc -l)" = 23 ] || fail "could not write the test images"

# The example as a user submits it; one CPU per task so that tasks share the node.
OUT=$STATE/out
started=$(date +%s)
IMAGES=$IMAGES OUT=$OUT BATCH=4 WEBGPU_CAM="node $ROOT/bin/webgpu-cam.js" CAM_ARGS="--backend cpu" \
  sbatch --wait --cpus-per-task=1 --chdir="$STATE" --output="$STATE/task-%a.log" examples/slurm/explain-array.sbatch \
  || { tail -n +1 "$STATE"/task-*.log >&2; fail "the array job failed"; }
echo "slurm-test: array job done in $(( $(date +%s) - started )) s"
tail -n 2 "$STATE"/task-*.log

# The merged manifest: 23 records, each file once, the broken image recorded as failed.
node --input-type=module -e "
  import { readFileSync, readdirSync } from 'node:fs';
  const lines = readFileSync('$OUT/manifest.jsonl', 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  const files = lines.map((r) => r.file);
  const expected = readdirSync('$IMAGES').sort();
  if (JSON.stringify(files) !== JSON.stringify(expected)) throw new Error('merged manifest files: ' + files.join(' '));
  const failed = lines.filter((r) => r.status === 'error').map((r) => r.file);
  if (JSON.stringify(failed) !== '[\"broken.png\"]') throw new Error('failed: ' + failed);
  const shards = readdirSync('$OUT/shards').filter((f) => f.startsWith('manifest-'));
  if (shards.length !== 4) throw new Error('shard manifests: ' + shards);
  console.log('slurm-test: merged manifest of ' + shards.length + ' shards: ' + lines.length + ' images, ' + failed.length + ' failed');
"
grep -l '^merged 4 shards' "$STATE"/task-*.log >/dev/null || fail "no task merged the shards"

# The same maps as one unsharded run.
node bin/webgpu-cam.js explain --images "$IMAGES" --out-dir "$STATE/whole" --batch 4 --backend cpu --no-overlays >/dev/null
for map in "$STATE"/whole/maps/*.npy; do
  cmp -s "$map" "$OUT/maps/$(basename "$map")" || fail "$(basename "$map") differs from the unsharded run"
done
echo "slurm-test: OK ($(ls "$STATE"/whole/maps | wc -l) maps byte-equal to an unsharded run)"
