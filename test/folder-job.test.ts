/**
 * Folder jobs: input listing (folder, glob, list), sharding from flags and scheduler variables,
 * the append-only manifest (torn last line), merge's checks, batched explanation vs one image
 * at a time (CPU and GPU engines), and the CLI end to end: bad images recorded, resume, shards
 * merged into the unsharded run's manifest.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCamEngine, type CamEngine } from '../src/engine/index';
import { ModelExplainer } from '../src/engine/model/explainer';
import { loadModelMetadata } from '../src/engine/model/metadata';
import { decodeImage } from '../src/engine/model/image-io';
import { makeStaticBatch } from '../src/engine/model/batched-model';
import { buildGradientModel } from '../src/engine/model/gradient-graph';
import { globFiles } from '../src/cli/jobs/glob';
import { listInputs, outputStems } from '../src/cli/jobs/inputs';
import { parseShard, resolveShard, shardRange } from '../src/cli/jobs/shard';
import { AppendLog } from '../src/cli/jobs/durable';
import { mergeShards } from '../src/cli/jobs/merge';
import { formatDuration, ProgressBar } from '../src/cli/jobs/progress';
import { UsageError } from '../src/cli/args';
import { testEngine } from './helpers/gpu';
import { jobImage, writeJobImages } from './helpers/job-images';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = path.join(ROOT, 'bin', 'webgpu-cam.js');
const MODEL = path.join(ROOT, 'models', 'digits', 'digits-resnet.onnx');

let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-jobs-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function touch(file: string, text = 'x'): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

describe('inputs', () => {
  it('lists a folder recursively, sorted, without hidden entries or the output folder', () => {
    const dir = path.join(tmp, 'tree');
    for (const f of ['b.png', 'a.JPG', 'sub/c.jpeg', 'sub/deep/d.png', '.hidden.png', '.cache/e.png', 'notes.txt', 'out/maps/x.png']) touch(path.join(dir, f));
    const set = listInputs(dir, { exclude: path.join(dir, 'out') });
    expect(set.kind).toBe('folder');
    expect(set.inputs.map((i) => i.name)).toEqual(['a.JPG', 'b.png', 'sub/c.jpeg', 'sub/deep/d.png']);
    expect(set.inputs[3].path).toBe(path.join(dir, 'sub', 'deep', 'd.png'));
  });

  it('expands globs: *, ?, [..], ** and no hidden matches', () => {
    const dir = path.join(tmp, 'globs');
    for (const f of ['x1.png', 'x2.png', 'y1.png', 'x10.png', '.x3.png', 'a/x4.png', 'a/b/x5.png', 'a/b/notes.txt']) touch(path.join(dir, f));
    const names = (pattern: string) => globFiles(path.join(dir, pattern)).map((p) => path.relative(dir, p)).sort();
    expect(names('x?.png')).toEqual(['x1.png', 'x2.png']);
    expect(names('[xy]1.png')).toEqual(['x1.png', 'y1.png']);
    expect(names('[!x]*.png')).toEqual(['y1.png']);
    expect(names('**/x*.png')).toEqual(['a/b/x5.png', 'a/x4.png', 'x1.png', 'x10.png', 'x2.png']);
    expect(names('a/**')).toEqual(['a/b/notes.txt', 'a/b/x5.png', 'a/x4.png']);
    const set = listInputs(path.join(dir, 'a', '**', '*.png'));
    expect(set.kind).toBe('glob');
    expect(set.inputs.map((i) => i.name)).toEqual(['b/x5.png', 'x4.png']);
    expect(() => listInputs(path.join(dir, '*.jpg'))).toThrow(/no files match/);
  });

  it('reads a list file: paths relative to it, comments, names below the common folder', () => {
    const dir = path.join(tmp, 'listed');
    touch(path.join(dir, 'data', 'one.png'));
    touch(path.join(dir, 'data', 'two', 'three.png'));
    const list = touch(path.join(dir, 'lists', 'set.txt'), `# the test set\n../data/two/three.png\n\n${path.join(dir, 'data', 'one.png')}  # absolute\n../data/one.png\n`);
    const set = listInputs(list);
    expect(set.kind).toBe('list');
    expect(set.root).toBe(path.join(dir, 'data'));
    expect(set.inputs.map((i) => i.name)).toEqual(['one.png', 'two/three.png']);
  });

  it('refuses inputs whose outputs would collide, and specs that name nothing', () => {
    expect(() => outputStems([{ name: 'a/x.png', path: '' }, { name: 'a/x.jpg', path: '' }])).toThrow(/a\/x.png and a\/x.jpg would write the same outputs/);
    expect(outputStems([{ name: 'a/x.png', path: '' }, { name: 'x.v2.jpg', path: '' }])).toEqual(['a/x', 'x.v2']);
    expect(() => listInputs(path.join(tmp, 'nowhere'))).toThrow(UsageError);
  });
});

describe('shards', () => {
  it('splits the sorted inputs into contiguous blocks that cover each input once', () => {
    for (const [total, count] of [[10, 3], [7, 7], [3, 5], [1000, 16], [0, 2]]) {
      const seen: number[] = [];
      for (let index = 0; index < count; index++) {
        const { start, end } = shardRange(total, { index, count });
        expect(end - start).toBeGreaterThanOrEqual(Math.floor(total / count));
        expect(end - start).toBeLessThanOrEqual(Math.ceil(total / count));
        for (let k = start; k < end; k++) seen.push(k);
      }
      expect(seen).toEqual(Array.from({ length: total }, (_, k) => k));
    }
  });

  it('takes --shard, then Slurm array variables, then Kubernetes JOB_COMPLETION_INDEX', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5, source: 'flag' });
    expect(() => parseShard('5/5')).toThrow(/0-based/);
    expect(() => parseShard('1-of-4')).toThrow(/i\/n/);
    expect(resolveShard({ shard: '1/2' }, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({ index: 1, count: 2 });
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' })).toEqual({ index: 3, count: 4, source: 'slurm' });
    // --array=1-4 and --array=0-30:10
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' })).toMatchObject({ index: 0, count: 4 });
    expect(resolveShard({}, { SLURM_ARRAY_TASK_ID: '20', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_STEP: '10' })).toMatchObject({ index: 2, count: 4 });
    expect(() => resolveShard({}, { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_STEP: '3' })).toThrow(/regular range/);
    expect(resolveShard({}, { JOB_COMPLETION_INDEX: '2', WEBGPU_CAM_SHARD_COUNT: '3' })).toEqual({ index: 2, count: 3, source: 'kubernetes' });
    expect(resolveShard({ shardCount: 8 }, { JOB_COMPLETION_INDEX: '7' })).toMatchObject({ index: 7, count: 8 });
    expect(() => resolveShard({}, { JOB_COMPLETION_INDEX: '0' })).toThrow(/--shard-count/);
    expect(() => resolveShard({}, { JOB_COMPLETION_INDEX: '3', WEBGPU_CAM_SHARD_COUNT: '3' })).toThrow(/not below/);
    expect(resolveShard({}, {})).toEqual({ index: 0, count: 1, source: 'none' });
  });
});

describe('manifest log', () => {
  it('cuts off a torn last line when opened again, and appends whole lines', () => {
    const file = path.join(tmp, 'log', 'manifest.jsonl');
    const first = AppendLog.open(file);
    expect(first.lines).toEqual([]);
    first.log.append('{"file":"a","status":"done"}');
    first.log.close();
    appendFileSync(file, '{"file":"b","sta'); // a write cut short
    const again = AppendLog.open(file);
    expect(again.tornBytes).toBe(16);
    expect(again.lines).toEqual(['{"file":"a","status":"done"}']);
    again.log.append('{"file":"b","status":"done"}');
    again.log.close();
    expect(readFileSync(file, 'utf8')).toBe('{"file":"a","status":"done"}\n{"file":"b","status":"done"}\n');
  });
});

describe('progress bar', () => {
  it('draws count, share, rate and time left on a terminal, and nothing elsewhere', async () => {
    const written: string[] = [];
    const terminal = { isTTY: true, columns: 120, write: (t: string) => written.push(t) };
    const bar = new ProgressBar(40, terminal);
    await new Promise((r) => setTimeout(r, 50));
    bar.update(10, 1);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\r\[######\.{18}\] 10\/40 25% [\d.]+ img\/s ETA \d+:\d\d, 1 error\x1b\[K$/);
    bar.update(11, 1); // within 100 ms of the last draw: skipped
    expect(written).toHaveLength(1);
    bar.update(40, 1); // the last one is always drawn
    bar.finish();
    expect(written.slice(1)).toEqual([expect.stringMatching(/40\/40 100%.*ETA 0:00/), '\r\x1b[K']);
    const log: string[] = [];
    const file = new ProgressBar(40, { isTTY: false, write: (t: string) => log.push(t) });
    file.update(40, 0);
    file.finish();
    expect(log).toEqual([]);
    expect([formatDuration(59.4), formatDuration(3725), formatDuration(Infinity)]).toEqual(['0:59', '1:02:05', '--']);
  });
});

describe('batched explanation', () => {
  const images = [0, 1, 2, 3, 4, 5, 6].map((i) => jobImage(i, 80 + 16 * i));
  const explainers = async (engine: CamEngine) => {
    const bytes = new Uint8Array(readFileSync(MODEL));
    const options = { model: bytes, metadata: loadModelMetadata(MODEL), engine, numThreads: 1 };
    return [await ModelExplainer.create(options), await ModelExplainer.create({ ...options, batchSize: 4 })];
  };

  for (const backend of ['cpu', 'gpu'] as const) {
    it(`${backend}: a batch of 4 (and a padded batch of 3) gives each image's own explanation`, async () => {
      const engine = backend === 'cpu' ? await createCamEngine({ backend: 'cpu' }) : await testEngine();
      const [single, batched] = await explainers(engine);
      try {
        expect(batched.batchSize).toBe(4);
        const one = [];
        for (const image of images) one.push(await single.explain(image));
        const many = [...(await batched.explainBatch(images.slice(0, 4))), ...(await batched.explainBatch(images.slice(4)))];
        for (let i = 0; i < images.length; i++) {
          expect(many[i].classIndex).toBe(one[i].classIndex);
          expect(many[i].top5).toEqual(one[i].top5);
          expect(many[i].classProbability).toBeCloseTo(one[i].top5[0].probability, 12);
          expect(many[i].map.length).toBe(224 * 224);
          // CPU: ORT's per-image arithmetic does not depend on the batch (bit-equal); the GPU
          // kernels reduce per image too.
          let max = 0;
          for (let k = 0; k < many[i].map.length; k++) max = Math.max(max, Math.abs(many[i].map[k] - one[i].map[k]));
          expect(max, `image ${i}`).toBeLessThanOrEqual(backend === 'cpu' ? 0 : 1e-6);
        }
        await expect(batched.explainBatch(images.slice(0, 5))).rejects.toThrow(/1 to 4 images/);
      } finally {
        await single.dispose();
        await batched.dispose();
        if (backend === 'cpu') engine.dispose();
      }
    });
  }

  it('the static-batch copy of the model gives a gradient model of that batch', () => {
    const fixed = makeStaticBatch(new Uint8Array(readFileSync(MODEL)), 8);
    expect(fixed.ok).toBe(true);
    if (!fixed.ok) return;
    const gm = buildGradientModel(fixed.bytes, { target: '/layer4/layer4.0/relu2/Relu_output_0' });
    expect(gm.inputShape).toEqual([8, 3, 224, 224]);
    expect(gm.activationsShape).toEqual([8, 256, 7, 7]);
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const ok = (r: Run) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).toBe(0);
const records = (file: string) =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
const withoutTimes = (r: Record<string, unknown>) => {
  const { timings, batch, ...rest } = r;
  return rest;
};

describe('explain --images (CLI)', () => {
  let images: string;
  beforeAll(() => {
    if (!existsSync(path.join(ROOT, 'dist', 'node', 'cli.js'))) throw new Error('dist/node/cli.js is missing: run `npm run build` first (`npm test` does)');
    images = path.join(tmp, 'cli-images');
    writeJobImages(images, 9, 72, (i) => (i < 6 ? `set-a/img-${i}.png` : `set-b/img-${i}.png`));
    touch(path.join(images, 'set-b', 'broken.jpg'), 'not a jpeg');
  });

  it('explains a folder in batches, records the bad image and goes on; a rerun skips everything', async () => {
    const out = path.join(tmp, 'cli-out');
    const run = await cli(['explain', '--images', images, '--out-dir', out, '--batch', '4', '--backend', 'gpu', '--method', 'gradcam']);
    ok(run);
    // Not a terminal: no progress bar, one summary line.
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^10 images: 9 explained, 1 failed in [\d.]+ s, [\d.]+ images\/s, batch 4 on gpu; manifest .*manifest.jsonl\n$/);
    const lines = records(path.join(out, 'manifest.jsonl'));
    expect(lines.map((r) => r.file).sort()).toEqual([...Array.from({ length: 6 }, (_, i) => `set-a/img-${i}.png`), 'set-b/broken.jpg', 'set-b/img-6.png', 'set-b/img-7.png', 'set-b/img-8.png']);
    const broken = lines.find((r) => r.file === 'set-b/broken.jpg');
    expect(broken).toMatchObject({ status: 'error', stage: 'decode' });
    expect(broken.error).toMatch(/not a PNG or JPEG/);
    const done = lines.find((r) => r.file === 'set-a/img-2.png');
    expect(done).toMatchObject({ status: 'done', map: 'maps/set-a/img-2.npy', overlay: 'overlays/set-a/img-2.png', width: 72, height: 72, backend: 'gpu' });
    expect(done.top5).toHaveLength(5);
    expect(done.score).toBeCloseTo(done.top5.find((s: { index: number }) => s.index === done.class).probability, 12);
    expect(Object.keys(done.timings).sort()).toEqual(['camMs', 'decodeMs', 'modelMs', 'preprocessMs', 'writeMs']);
    expect(decodeImage(new Uint8Array(readFileSync(path.join(out, done.overlay)))).width).toBe(72);

    const again = await cli(['explain', '--images', images, '--out-dir', out, '--batch', '2', '--backend', 'gpu', '--method', 'gradcam', '--json']);
    ok(again);
    expect(JSON.parse(again.stdout)).toMatchObject({ inputs: 10, alreadyDone: 10, done: 0, errors: 0 });
    expect(records(path.join(out, 'manifest.jsonl'))).toHaveLength(10);

    const other = await cli(['explain', '--images', images, '--out-dir', out, '--backend', 'gpu']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/started with other settings \(method\)/);
  });

  it('three shards (from Slurm and Kubernetes variables and --shard) merge into the unsharded manifest', async () => {
    const whole = path.join(tmp, 'whole');
    ok(await cli(['explain', '--images', images, '--out-dir', whole, '--backend', 'cpu', '--no-overlays', '--batch', '3']));
    const sharded = path.join(tmp, 'sharded');
    const args = ['explain', '--images', images, '--out-dir', sharded, '--backend', 'cpu', '--no-overlays', '--batch', '3', '--merge'];
    const first = await cli(args, { ...process.env, SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '3' });
    ok(first);
    expect(first.stdout).toMatch(/^shard 0\/3 \(from Slurm\): 3 images: 3 explained.*\nmerge: shards 1, 2 not finished yet/);
    const early = await cli(['merge', '--out-dir', sharded]);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/shards 1, 2 of 3 not finished/);
    ok(await cli([...args, '--shard', '2/3']));
    const last = await cli(args, { ...process.env, JOB_COMPLETION_INDEX: '1', WEBGPU_CAM_SHARD_COUNT: '3' });
    ok(last);
    expect(last.stdout).toMatch(/shard 1\/3 \(from Kubernetes\): 3 images.*\nmerged 3 shards: 10 images \(1 failed\)/);
    expect(existsSync(path.join(sharded, 'overlays'))).toBe(false);

    const merged = records(path.join(sharded, 'manifest.jsonl'));
    const reference = records(path.join(whole, 'manifest.jsonl')).sort((a, b) => (a.file < b.file ? -1 : 1));
    expect(merged.map(withoutTimes)).toEqual(reference.map(withoutTimes));
    for (const r of merged.filter((r) => r.map)) expect(readFileSync(path.join(sharded, r.map)).equals(readFileSync(path.join(whole, r.map))), r.map).toBe(true);
    const again = await cli(['merge', '--out-dir', sharded, '--json']);
    ok(again);
    expect(JSON.parse(again.stdout)).toMatchObject({ complete: true, shards: 3, images: 10, done: 9, errors: 1 });
  });

  it('merges running at once (the last shards finishing together) all succeed with the same manifest; stale temporaries of dead merges are removed', async () => {
    const out = path.join(tmp, 'sharded');
    const manifest = path.join(out, 'manifest.jsonl');
    const expected = readFileSync(manifest);
    // A merge killed mid-write on this host (its process is gone) and one on another host.
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((resolve) => dead.on('close', () => resolve(dead.pid!)));
    const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, '_');
    const stale = touch(path.join(out, `.manifest.jsonl.${host}-${deadPid}.partial`), 'torn');
    const foreign = touch(path.join(out, `.manifest.jsonl.elsewhere-1.partial`), 'other host');
    // Processes that start merging at the same instant, many times each: with one temporary
    // file per target they truncated each other's bytes and a rename found it gone (ENOENT).
    const start = Date.now() + 4000;
    const script = `import { mergeShards } from ${JSON.stringify(path.join(ROOT, 'src/cli/jobs/merge.ts'))};
      while (Date.now() < ${start}) {}
      for (let i = 0; i < 40; i++) mergeShards(${JSON.stringify(out)});`;
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        new Promise<Run>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (c) => (stderr += c));
          child.on('close', (code) => resolve({ code, stdout: '', stderr }));
        }),
      ),
    );
    for (const run of runs) ok(run);
    expect(readFileSync(manifest).equals(expected)).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(foreign)).toBe(true);
    rmSync(foreign);
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('merge refuses a shard that recorded an image twice', () => {
    const out = path.join(tmp, 'sharded');
    const file = path.join(out, 'shards', 'manifest-0002-of-0003.jsonl');
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.includes('"status":"done"'));
    appendFileSync(file, `${line}\n`);
    expect(() => mergeShards(out)).toThrow(/twice as done/);
  });

  it('--retry-errors redoes the images recorded as failed, once they are fixed', async () => {
    const dir = path.join(tmp, 'retry');
    writeJobImages(dir, 1, 40);
    const bad = touch(path.join(dir, 'late.png'), 'still uploading');
    const out = path.join(tmp, 'retry-out');
    const args = ['explain', '--images', dir, '--out-dir', out, '--backend', 'cpu', '--json'];
    expect(JSON.parse((await cli(args)).stdout)).toMatchObject({ done: 1, errors: 1 });
    writeFileSync(bad, readFileSync(path.join(dir, 'img-0000.png')));
    expect(JSON.parse((await cli(args)).stdout)).toMatchObject({ alreadyDone: 2, done: 0, errors: 0 });
    expect(JSON.parse((await cli([...args, '--retry-errors'])).stdout)).toMatchObject({ alreadyDone: 1, done: 1, errors: 0 });
    const lines = records(path.join(out, 'manifest.jsonl'));
    expect(lines.map((r) => [r.file, r.status])).toEqual([['img-0000.png', 'done'], ['late.png', 'error'], ['late.png', 'done']]);
    expect(readFileSync(path.join(out, 'maps', 'late.npy')).equals(readFileSync(path.join(out, 'maps', 'img-0000.npy')))).toBe(true);
  });

  it('refuses folder flags without --images and one-image flags with it', async () => {
    const a = await cli(['explain', '--image', path.join(images, 'set-a', 'img-0.png'), '--batch', '4']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--batch is for folder jobs/);
    const b = await cli(['explain', '--images', images, '--out-dir', path.join(tmp, 'x'), '--heatmap', 'h.npy']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--heatmap is for one image/);
    const c = await cli(['explain', '--images', images]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/missing required option --out-dir/);
  });
});
