/**
 * `webgpu-cam merge --out-dir OUT`: the shards' manifests into one OUT/manifest.jsonl (sorted
 * by file, one line per input) and OUT/job.json, after checking that the shards are all there,
 * belong to the same job and together hold every input exactly once: each shard's set of
 * recorded files must be the set it was given (by its job file's digest), with no file
 * committed twice.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../args.js';
import { removeStaleTemporaries, writeFileAtomic } from './durable.js';
import { namesDigest } from './inputs.js';
import { jobFiles, ManifestError, readJobDescription, readRecords, type JobDescription, type ManifestRecord } from './manifest.js';

export interface MergeResult {
  /** false: some shards are not finished (listed in `pending`); nothing was written. */
  complete: boolean;
  shards: number;
  pending: number[];
  images: number;
  done: number;
  errors: number;
  manifest: string;
}

/** The shards' job files under OUT/shards, checked to describe one job. */
function shardJobs(outDir: string): { count: number; jobs: Map<number, JobDescription> } {
  const dir = path.join(outDir, 'shards');
  const names = existsSync(dir) ? readdirSync(dir).filter((n) => /^job-\d+-of-\d+\.json$/.test(n)) : [];
  if (names.length === 0) {
    if (existsSync(path.join(outDir, 'job.json'))) throw new UsageError(`${outDir} holds one unsharded job (manifest.jsonl): there is nothing to merge`);
    throw new UsageError(`no shard job files in ${dir}: run the shards (explain --images ... --out-dir ${outDir} --shard i/n) first`);
  }
  const jobs = new Map<number, JobDescription>();
  let first: JobDescription | undefined;
  for (const name of names) {
    const job = readJobDescription(path.join(dir, name));
    first ??= job;
    if (job.shard.count !== first.shard.count || job.images.digest !== first.images.digest || JSON.stringify(job.settings) !== JSON.stringify(first.settings)) {
      throw new ManifestError(`${dir} mixes shards of different jobs (${name} differs in shard count, inputs or settings): keep one job per --out-dir`);
    }
    jobs.set(job.shard.index, job);
  }
  return { count: first!.shard.count, jobs };
}

/**
 * Merges when every shard is finished. With `waitForShards` an unfinished shard is no error (the
 * result says which are pending); without it, it is.
 */
export function mergeShards(outDirGiven: string, options: { waitForShards?: boolean } = {}): MergeResult {
  const outDir = path.resolve(outDirGiven);
  const { count, jobs } = shardJobs(outDir);
  const pending: number[] = [];
  const merged: ManifestRecord[] = [];
  for (let index = 0; index < count; index++) {
    const job = jobs.get(index);
    const { manifest } = jobFiles(outDir, index, count);
    if (!job || !existsSync(manifest)) {
      pending.push(index);
      continue;
    }
    const latest = new Map<string, ManifestRecord>();
    for (const r of readRecords(manifest)) {
      const before = latest.get(r.file);
      if (before?.status === 'done') throw new ManifestError(`${manifest} records ${r.file} twice as done: the shard was run twice at once`);
      latest.set(r.file, r);
    }
    const files = [...latest.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (files.length < job.shard.inputs) {
      pending.push(index);
      continue;
    }
    if (files.length !== job.shard.inputs || namesDigest(files) !== job.shard.digest) {
      throw new ManifestError(`${manifest} records other files than shard ${index} was given (${files.length} recorded, ${job.shard.inputs} inputs): it was edited or mixed with another job`);
    }
    for (const f of files) merged.push(latest.get(f)!);
  }
  const target = jobFiles(outDir, 0, 1);
  const result: MergeResult = { complete: pending.length === 0, shards: count, pending, images: 0, done: 0, errors: 0, manifest: target.manifest };
  if (pending.length > 0) {
    if (options.waitForShards) return result;
    throw new ManifestError(`cannot merge ${outDir}: shard${pending.length === 1 ? '' : 's'} ${pending.join(', ')} of ${count} not finished; rerun ${pending.length === 1 ? 'it' : 'them'}, then merge`);
  }
  merged.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const first = jobs.get(0)!;
  if (merged.length !== first.images.count || namesDigest(merged.map((r) => r.file)) !== first.images.digest) {
    throw new ManifestError(`the shards of ${outDir} hold ${merged.length} images, not the job's ${first.images.count} inputs exactly once`);
  }
  result.images = merged.length;
  result.done = merged.filter((r) => r.status === 'done').length;
  result.errors = result.images - result.done;
  // Written whole and renamed, each merging process through its own temporary file: concurrent
  // merges (the last shards finishing together) write the same bytes, and either rename wins.
  for (const file of [target.manifest, target.job]) removeStaleTemporaries(file);
  writeFileAtomic(target.manifest, Buffer.from(merged.map((r) => `${JSON.stringify(r)}\n`).join('')), { concurrentWriters: true });
  const job = { ...first, shard: { index: 0, count: 1, inputs: first.images.count, digest: first.images.digest }, mergedFrom: count };
  writeFileAtomic(target.job, Buffer.from(`${JSON.stringify(job, null, 1)}\n`), { concurrentWriters: true });
  return result;
}
