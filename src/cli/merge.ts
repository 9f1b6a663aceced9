/** `webgpu-cam merge`: the shard manifests of a folder job into one (src/cli/jobs/merge.ts). */
import { flag, parseArgs, rejectPositionals, required } from './args.js';
import { mergeShards } from './jobs/merge.js';

export const MERGE_HELP = `Usage: webgpu-cam merge --out-dir OUT [--json]

Combines the manifests of a sharded folder job (explain --images ... --out-dir OUT --shard i/n,
or an array job on Slurm or Kubernetes) into OUT/manifest.jsonl, one line per input sorted by
file, and OUT/job.json. It checks that every shard is there and finished, that they belong to
the same job, and that together they record every input exactly once; otherwise it says which
shards to rerun and writes nothing.

Options:
  --out-dir OUT   the folder job's output folder (required)
  --json          print the result as one JSON object
  -h, --help      this help`;

const SPEC = { 'out-dir': 'string', json: 'boolean', help: 'boolean' } as const;

export async function runMerge(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (flag(args, 'help')) {
    console.log(MERGE_HELP);
    return 0;
  }
  rejectPositionals(args, 'merge');
  const result = mergeShards(required(args, 'out-dir'));
  if (flag(args, 'json')) console.log(JSON.stringify(result));
  else console.log(`merged ${result.shards} shards: ${result.images} images, ${result.done} explained, ${result.errors} failed -> ${result.manifest}`);
  return 0;
}
