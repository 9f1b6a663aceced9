/**
 * The folder job's records. Per image one JSON line in the manifest (JSONL), appended when the
 * image's outputs are on disk: the commit point of that image. Beside it a job file (JSON)
 * describes the inputs and settings, so a rerun can check it continues the same job and merge
 * can check that the shards together hold every input exactly once.
 *
 * Layout under --out-dir OUT: maps/NAME.npy, overlays/NAME.png (NAME: the input's path below
 * the input root, without its extension); a single job's manifest.jsonl + job.json; shard i of
 * n (n > 1) writes shards/manifest-IIII-of-NNNN.jsonl + shards/job-IIII-of-NNNN.json, and
 * `webgpu-cam merge` combines them into manifest.jsonl + job.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CamError } from '../../engine/errors.js';
import type { ClassScore } from '../../engine/model/explainer.js';

/** A manifest or job file is damaged or does not fit the job (exit 1). */
export class ManifestError extends CamError {}

export interface DoneRecord {
  file: string;
  status: 'done';
  /** The explained class and its name. */
  class: number;
  className?: string;
  /** Softmax probability of the explained class. */
  score: number;
  top5: ClassScore[];
  /** Output files relative to the output folder (absent when not written: --no-maps / --no-overlays). */
  map?: string;
  overlay?: string;
  width: number;
  height: number;
  /** Milliseconds: decode this image, its share of the batch's pre-processing / model / CAM, write its outputs. */
  timings: { decodeMs: number; preprocessMs: number; modelMs: number; camMs: number; scoreMs?: number; writeMs: number };
  /** Images in the model run that explained it, and the CAM backend. */
  batch: number;
  backend: 'gpu' | 'cpu';
}

export interface ErrorRecord {
  file: string;
  status: 'error';
  /** Where it failed: reading/decoding the image, or explaining it. */
  stage: 'decode' | 'explain';
  error: string;
}

export type ManifestRecord = DoneRecord | ErrorRecord;

/** What a job file says. */
export interface JobDescription {
  format: 'webgpu-cam-job/1';
  images: { spec: string; root: string; count: number; digest: string };
  shard: { index: number; count: number; inputs: number; digest: string };
  /** Everything that changes the outputs: a rerun with other settings is refused. */
  settings: Record<string, unknown>;
}

export function shardTag(index: number, count: number): string {
  const width = Math.max(4, String(count - 1).length);
  return `${String(index).padStart(width, '0')}-of-${String(count).padStart(width, '0')}`;
}

/** Where shard `index` of `count` keeps its manifest and job file. */
export function jobFiles(outDir: string, index: number, count: number): { manifest: string; job: string } {
  if (count === 1) return { manifest: path.join(outDir, 'manifest.jsonl'), job: path.join(outDir, 'job.json') };
  const tag = shardTag(index, count);
  return { manifest: path.join(outDir, 'shards', `manifest-${tag}.jsonl`), job: path.join(outDir, 'shards', `job-${tag}.json`) };
}

/** Parses complete manifest lines; a line that is not a record means the file was edited or damaged. */
export function parseRecords(lines: readonly string[], file: string): ManifestRecord[] {
  return lines.map((line, i) => {
    let record: ManifestRecord;
    try {
      record = JSON.parse(line) as ManifestRecord;
    } catch {
      throw new ManifestError(`${file} line ${i + 1} is not JSON: the manifest is damaged; repair or delete that line`);
    }
    if (typeof record?.file !== 'string' || (record.status !== 'done' && record.status !== 'error')) {
      throw new ManifestError(`${file} line ${i + 1} is not an image record (file, status): repair or delete that line`);
    }
    return record;
  });
}

/** Reads a manifest's complete lines without changing the file (a torn last line is left out). */
export function readRecords(file: string): ManifestRecord[] {
  const text = readFileSync(file, 'utf8');
  const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').slice(0, -1);
  return parseRecords(lines, file);
}

/** The last record of each file (a retried error is followed by its new record). */
export function latestRecords(records: readonly ManifestRecord[]): Map<string, ManifestRecord> {
  const latest = new Map<string, ManifestRecord>();
  for (const r of records) latest.set(r.file, r);
  return latest;
}

export function readJobDescription(file: string): JobDescription {
  let job: JobDescription;
  try {
    job = JSON.parse(readFileSync(file, 'utf8')) as JobDescription;
  } catch (error) {
    throw new ManifestError(`cannot read the job file ${file} (${(error as Error).message.split('\n')[0]})`);
  }
  if (job?.format !== 'webgpu-cam-job/1') throw new ManifestError(`${file} is not a webgpu-cam job file`);
  return job;
}
