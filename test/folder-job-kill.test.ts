/**
 * A folder job killed with SIGKILL at several points and restarted ends exactly as an
 * uninterrupted run: every image recorded once, the same records (timings aside), byte-equal
 * maps and overlays, and no torn or temporary file left. The real CLI (dist/node/cli.js, built
 * by `npm test`) on 30 small images, two of them broken.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseNpy } from '../src/engine/io/npy';
import { decodeImage } from '../src/engine/model/image-io';
import { writeJobImages } from './helpers/job-images';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = path.join(ROOT, 'bin', 'webgpu-cam.js');

let tmp: string;
let images: string;

beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist', 'node', 'cli.js'))) throw new Error('dist/node/cli.js is missing: run `npm run build` first (`npm test` does)');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-kill-'));
  images = path.join(tmp, 'images');
  const files = writeJobImages(images, 28, 64);
  writeFileSync(path.join(images, 'broken.png'), 'not an image');
  writeFileSync(path.join(images, 'truncated.png'), readFileSync(files[0]).subarray(0, 120));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const jobArgs = (out: string) => ['explain', '--images', images, '--out-dir', out, '--batch', '4', '--backend', 'cpu'];

function start(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [LAUNCHER, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}

/** Complete manifest lines right now (a line being written has no newline yet). */
function committed(manifest: string): number {
  try {
    return readFileSync(manifest, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
}

/** Every file below `dir`, hidden ones too, relative and sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** A record without what legitimately differs between runs: times, and how many images shared its model run. */
function comparable(line: string) {
  const { timings, batch, ...rest } = JSON.parse(line);
  return rest;
}

it('survives kill -9 at several points: every image once, byte-equal outputs, no torn file', async () => {
  const reference = path.join(tmp, 'reference');
  const ref = await start(jobArgs(reference)).done;
  expect(ref.code, ref.stderr).toBe(0);

  const killed = path.join(tmp, 'killed');
  const manifest = path.join(killed, 'manifest.jsonl');
  let kills = 0;
  // Kill after 2, 8 and 17 committed images (each threshold polled every 5 ms, so the kill lands
  // anywhere in decoding, the model run, writing outputs or appending a line).
  for (const threshold of [2, 8, 17]) {
    const run = start(jobArgs(killed));
    const poll = setInterval(() => {
      if (committed(manifest) >= threshold) run.child.kill('SIGKILL');
    }, 5);
    const result = await run.done;
    clearInterval(poll);
    if (result.signal === 'SIGKILL') kills++;
    else expect(result.code, result.stderr).toBe(0);
  }
  expect(kills, 'the job finished before it could be killed').toBeGreaterThanOrEqual(2);
  const last = await start(jobArgs(killed)).done;
  expect(last.code, last.stderr).toBe(0);

  // The same files, nothing torn or temporary left over.
  const files = tree(killed);
  expect(files).toEqual(tree(reference));
  expect(files.filter((f) => f.includes('.partial'))).toEqual([]);

  // Every input exactly once, with the same record as the uninterrupted run.
  const lines = readFileSync(manifest, 'utf8').trimEnd().split('\n');
  const refLines = readFileSync(path.join(reference, 'manifest.jsonl'), 'utf8').trimEnd().split('\n');
  expect(lines).toHaveLength(30);
  const byFile = (all: string[]) => new Map(all.map((l) => [JSON.parse(l).file as string, comparable(l)]));
  const got = byFile(lines);
  expect(got.size).toBe(30);
  expect(got).toEqual(byFile(refLines));
  expect([...got.values()].filter((r) => r.status === 'error').map((r) => r.file).sort()).toEqual(['broken.png', 'truncated.png']);

  // Byte-equal outputs, each one whole.
  for (const f of files.filter((f) => f.startsWith('maps/') || f.startsWith('overlays/'))) {
    const bytes = readFileSync(path.join(killed, f));
    expect(bytes.equals(readFileSync(path.join(reference, f))), f).toBe(true);
    if (f.endsWith('.npy')) expect(parseNpy(new Uint8Array(bytes), f).shape).toEqual([224, 224]);
    else expect(decodeImage(new Uint8Array(bytes), f).width).toBe(64);
  }
  expect(files.filter((f) => f.startsWith('maps/'))).toHaveLength(28);
});
