/**
 * `webgpu-cam explain --images ... --out-dir OUT`: explains every image of a folder, glob or list
 * (or this task's shard of them), N images per model run, and records each in the manifest.
 *
 * Safe to kill at any instant and to rerun: an image's map and overlay are written atomically
 * first, then its manifest line (one write, fsync'd) commits it; a rerun skips the images the
 * manifest has and redoes the rest, overwriting any output a killed run left uncommitted with
 * the same bytes. A bad image is recorded (status "error") and the job goes on; a rerun leaves
 * it be unless --retry-errors. Failures of the machine (disk full, lost GPU) end the job.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CamMethod, CamOptions, Colormap } from '../../engine/index.js';
import { encodeNpy, InputRangeError, NonFiniteInputError, NoValidChannelsError } from '../../engine/index.js';
import { ImageFormatError } from '../../engine/model/errors.js';
import { encodePng, readImage, type RgbaImage } from '../../engine/model/image-io.js';
import { ModelExplainer, type Explanation } from '../../engine/model/explainer.js';
import { loadModelMetadata } from '../../engine/model/metadata.js';
import { UsageError } from '../args.js';
import { engineForBackend, type BackendChoice } from '../gpu-environment.js';
import { overlayPicture } from '../overlay-picture.js';
import { AppendLog, writeFileAtomic } from './durable.js';
import { listInputs, namesDigest, outputStems, type JobInput } from './inputs.js';
import { jobFiles, latestRecords, parseRecords, readJobDescription, type DoneRecord, type ErrorRecord, type JobDescription, type ManifestRecord } from './manifest.js';
import { ProgressBar } from './progress.js';
import { shardRange, type Shard } from './shard.js';

export interface FolderJobOptions {
  /** --images: folder, glob, list file or one image. */
  images: string;
  outDir: string;
  /** Images per model run. */
  batch: number;
  shard: Shard;
  modelPath: string;
  modelBytes: Uint8Array;
  layer?: string;
  method: CamMethod;
  classIndex?: number;
  camOptions: CamOptions;
  backend: BackendChoice;
  colormap: Colormap;
  opacity: number;
  signed: boolean;
  writeMaps: boolean;
  writeOverlays: boolean;
  retryErrors: boolean;
  /** Draw the progress bar (default: when stderr is a terminal). */
  progress?: boolean;
}

export interface FolderJobSummary {
  shard: { index: number; count: number; source: Shard['source'] };
  /** Inputs in this shard, and what happened to them in this run. */
  inputs: number;
  alreadyDone: number;
  done: number;
  errors: number;
  /** Wall time of the run, and of its part before the first image (model, session, GPU start). */
  seconds: number;
  startupSeconds: number;
  imagesPerSecond: number;
  /** Images per model run actually used (1 when the model pins its batch). */
  batch: number;
  batchFallbackReason?: string;
  manifest: string;
  backend?: 'gpu' | 'cpu';
}

/**
 * Errors that come from one image's content (its activations have no valid channel, overflow,
 * are not finite): recorded, and the job goes on. Anything else (a lost GPU device, a bug)
 * would fail every image alike and ends the job instead, with nothing recorded for them.
 */
function isImageFault(error: unknown): boolean {
  return error instanceof NoValidChannelsError || error instanceof NonFiniteInputError || error instanceof InputRangeError || error instanceof ImageFormatError;
}

/** The first line of an error's message (the manifest and the log keep one line per image). */
const oneLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ').trim();

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Starts the job file, or checks that an existing one describes this same job. */
function claimJob(file: string, job: JobDescription): void {
  if (!existsSync(file)) {
    writeFileAtomic(file, Buffer.from(`${JSON.stringify(job, null, 1)}\n`));
    return;
  }
  const old = readJobDescription(file);
  const where = path.dirname(file);
  if (old.images.digest !== job.images.digest) {
    throw new UsageError(
      `the inputs changed since ${where} was started (${old.images.count} images then, ${job.images.count} now): finish the job with the same inputs, or use a new --out-dir`,
    );
  }
  if (old.shard.index !== job.shard.index || old.shard.count !== job.shard.count) {
    throw new UsageError(`${file} belongs to shard ${old.shard.index}/${old.shard.count}, not ${job.shard.index}/${job.shard.count}`);
  }
  const a = JSON.stringify(old.settings);
  const b = JSON.stringify(job.settings);
  if (a !== b) {
    const changed = Object.keys({ ...old.settings, ...job.settings }).filter((k) => JSON.stringify(old.settings[k]) !== JSON.stringify(job.settings[k]));
    throw new UsageError(`${where} was started with other settings (${changed.join(', ')}): rerun with the same options, or use a new --out-dir`);
  }
}

interface Decoded {
  input: JobInput;
  stem: string;
  image: RgbaImage;
  decodeMs: number;
}

export async function runFolderJob(options: FolderJobOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<FolderJobSummary> {
  const started = performance.now();
  const outDir = path.resolve(options.outDir);
  const set = listInputs(options.images, { exclude: outDir });
  const stems = outputStems(set.inputs);
  const { start, end } = shardRange(set.inputs.length, options.shard);
  const mine = set.inputs.slice(start, end);
  const stemOf = new Map(set.inputs.map((input, i) => [input.name, stems[i]]));

  const files = jobFiles(outDir, options.shard.index, options.shard.count);
  claimJob(files.job, {
    format: 'webgpu-cam-job/1',
    images: { spec: options.images, root: set.root, count: set.inputs.length, digest: namesDigest(set.inputs.map((i) => i.name)) },
    shard: { index: options.shard.index, count: options.shard.count, inputs: mine.length, digest: namesDigest(mine.map((i) => i.name)) },
    settings: {
      model: path.basename(options.modelPath),
      modelSha256: sha256(options.modelBytes),
      layer: options.layer ?? null,
      method: options.method,
      class: options.classIndex ?? null,
      camOptions: options.camOptions,
      colormap: options.colormap,
      opacity: options.opacity,
      signed: options.signed,
      maps: options.writeMaps,
      overlays: options.writeOverlays,
    },
  });

  const { log: manifest, lines, tornBytes } = AppendLog.open(files.manifest);
  try {
    if (tornBytes > 0) log(`webgpu-cam: ignored a torn last line (${tornBytes} bytes) of ${files.manifest}, left by an interrupted run`);
    const latest = latestRecords(parseRecords(lines, files.manifest));
    const finished = (r: ManifestRecord | undefined) => r !== undefined && (r.status === 'done' || !options.retryErrors);
    const todo = mine.filter((input) => !finished(latest.get(input.name)));
    const summary: FolderJobSummary = {
      shard: { index: options.shard.index, count: options.shard.count, source: options.shard.source },
      inputs: mine.length,
      alreadyDone: mine.length - todo.length,
      done: 0,
      errors: 0,
      seconds: 0,
      startupSeconds: 0,
      imagesPerSecond: 0,
      batch: options.batch,
      manifest: files.manifest,
    };
    if (todo.length > 0) await explainAll(todo, options, outDir, stemOf, manifest, summary);
    summary.seconds = (performance.now() - started) / 1000;
    summary.imagesPerSecond = summary.seconds > 0 ? (summary.done + summary.errors) / summary.seconds : 0;
    return summary;
  } finally {
    manifest.close();
  }
}

async function explainAll(
  todo: JobInput[],
  options: FolderJobOptions,
  outDir: string,
  stemOf: Map<string, string>,
  manifest: AppendLog,
  summary: FolderJobSummary,
): Promise<void> {
  const startedAt = performance.now();
  const engine = await engineForBackend(options.backend);
  let explainer: ModelExplainer;
  try {
    explainer = await ModelExplainer.create({
      model: options.modelBytes,
      layer: options.layer,
      metadata: loadModelMetadata(options.modelPath),
      engine,
      numThreads: 1,
      batchSize: options.batch,
    });
  } catch (error) {
    engine.dispose();
    throw error;
  }
  summary.startupSeconds = (performance.now() - startedAt) / 1000;
  summary.batch = explainer.batchSize;
  summary.backend = engine.backend;
  if (explainer.batchFallbackReason) summary.batchFallbackReason = explainer.batchFallbackReason;
  const progress = new ProgressBar(todo.length, process.stderr, options.progress ?? !!process.stderr.isTTY);
  const append = (r: ManifestRecord) => {
    manifest.append(JSON.stringify(r));
    if (r.status === 'done') summary.done++;
    else summary.errors++;
    progress.update(summary.done + summary.errors, summary.errors);
  };
  const request = { method: options.method, classIndex: options.classIndex, camOptions: options.camOptions };

  /** Writes one image's outputs, then commits its manifest line. */
  const commit = (d: Decoded, e: Explanation, batch: number) => {
    const t0 = performance.now();
    const values = options.signed ? e.signedMap! : e.map;
    const map = { width: e.width, height: e.height, data: values };
    const done: DoneRecord = {
      file: d.input.name,
      status: 'done',
      class: e.classIndex,
      ...(e.className !== undefined ? { className: e.className } : {}),
      score: e.classProbability,
      top5: e.top5,
      width: d.image.width,
      height: d.image.height,
      timings: { decodeMs: 0, preprocessMs: 0, modelMs: 0, camMs: 0, writeMs: 0 },
      batch,
      backend: engine.backend,
    };
    if (options.writeMaps) {
      done.map = `maps/${d.stem}.npy`;
      writeFileAtomic(path.join(outDir, done.map), encodeNpy(values, [e.height, e.width]));
    }
    if (options.writeOverlays) {
      done.overlay = `overlays/${d.stem}.png`;
      writeFileAtomic(path.join(outDir, done.overlay), encodePng(overlayPicture(d.image, map, options)));
    }
    done.timings = { decodeMs: d.decodeMs, ...e.timings, writeMs: performance.now() - t0 };
    append(done);
  };

  try {
    for (let first = 0; first < todo.length; first += explainer.batchSize) {
      const chunk = todo.slice(first, first + explainer.batchSize);
      const decoded: Decoded[] = [];
      for (const input of chunk) {
        const t0 = performance.now();
        try {
          const image = await readImage(input.path);
          decoded.push({ input, stem: stemOf.get(input.name)!, image, decodeMs: performance.now() - t0 });
        } catch (error) {
          append({ file: input.name, status: 'error', stage: 'decode', error: oneLine(error) } satisfies ErrorRecord);
        }
      }
      if (decoded.length === 0) continue;
      let results: Explanation[] | undefined;
      try {
        results = await explainer.explainBatch(decoded.map((d) => d.image), request);
      } catch (error) {
        if (!isImageFault(error)) throw error;
        if (decoded.length === 1) {
          append({ file: decoded[0].input.name, status: 'error', stage: 'explain', error: oneLine(error) });
          continue;
        }
      }
      if (results) {
        decoded.forEach((d, i) => commit(d, results![i], decoded.length));
        continue;
      }
      // The batch failed: one image at a time, so only the image at fault is recorded as failed.
      for (const d of decoded) {
        let result: Explanation;
        try {
          [result] = await explainer.explainBatch([d.image], request);
        } catch (error) {
          if (!isImageFault(error)) throw error;
          append({ file: d.input.name, status: 'error', stage: 'explain', error: oneLine(error) });
          continue;
        }
        commit(d, result, 1);
      }
    }
  } finally {
    progress.finish();
    await explainer.dispose();
    engine.dispose();
  }
}
