/**
 * `webgpu-cam explain --method scorecam|cluscam` on the bundled model (the built CLI, dist/node):
 * overlays, the JSON report, option errors; and `cam` refusing the model-scored methods.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../src/engine/model/image-io';
import { encodeNpy, parseNpy } from '../src/engine/io/npy';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin/webgpu-cam.js');
const SAMPLE = path.join(ROOT, 'models/digits/samples/sample-2.png');
/** A shallow layer of the bundled model (32 channels of 56x56) keeps the masked runs few. */
const LAYER = '/layer1/layer1.0/relu2/Relu_output_0';

function cli(...args: string[]) {
  if (!existsSync(path.join(ROOT, 'dist/node/cli.js'))) throw new Error('dist/node/cli.js is missing: run `npm run build` first');
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env });
}

function oneLineError(run: ReturnType<typeof cli>, pattern: RegExp) {
  expect(run.status, run.stderr).toBe(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^webgpu-cam: /);
  expect(lines[0]).toMatch(pattern);
}

describe('webgpu-cam explain with model-scored methods', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-scored-'));

  it('scorecam writes an overlay at the image size and reports the model time on masked inputs', () => {
    const out = path.join(dir, 'scorecam.png');
    const run = cli('explain', '--image', SAMPLE, '--method', 'scorecam', '--layer', LAYER, '--score-batch', '12', '--out', out, '--json');
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.method).toBe('scorecam');
    expect(summary.layer).toBe(LAYER);
    expect(summary.timings.scoreMs).toBeGreaterThan(0);
    expect(summary.timings.scoreMs).toBeLessThanOrEqual(summary.timings.camMs);
    const overlay = decodeImage(new Uint8Array(readFileSync(out)));
    expect([overlay.width, overlay.height]).toEqual([224, 224]);
  });

  it('cluscam writes an overlay and reports its clusters', () => {
    const out = path.join(dir, 'cluscam.png');
    const run = cli('explain', '--image', SAMPLE, '--method', 'cluscam', '--layer', LAYER, '--clusters', '4', '--drop-ratio', '0.25', '--temperature', '1', '--seed', '3', '--inits', '2', '--out', out, '--json');
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.cluscam.clusters).toBe(4);
    expect(summary.cluscam.sizes.reduce((a: number, b: number) => a + b, 0)).toBe(32);
    expect(summary.cluscam.assignments).toHaveLength(32);
    // floor(0.25 * 4) = 1 cluster dropped.
    expect(summary.cluscam.alphas.filter((a: number) => a === 0)).toHaveLength(1);
    const overlay = decodeImage(new Uint8Array(readFileSync(out)));
    expect([overlay.width, overlay.height]).toEqual([224, 224]);
  });

  it('prints a readable summary with the kept clusters', () => {
    const run = cli('explain', '--image', SAMPLE, '--method', 'cluscam', '--layer', LAYER, '--clusters', '3', '--backend', 'cpu');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/of which the model on masked inputs/);
    expect(run.stdout).toMatch(/clusters: 3 \(\d+ K-Means iterations/);
    expect(run.stdout.match(/^ {2}cluster \d: /gm)).toHaveLength(2);
  });

  it('rejects bad ClusCAM options with one line and exit 2', () => {
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'cluscam', '--clusters', '0'), /--clusters must be at least 1/);
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'cluscam', '--clusters', 'many'), /--clusters must be an integer/);
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'cluscam', '--drop-ratio', '1'), /--drop-ratio must be in \[0, 1\)/);
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'cluscam', '--temperature', '0'), /--temperature must be > 0/);
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'scorecam', '--clusters', '4'), /--clusters applies to --method cluscam only/);
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'gradcam', '--score-batch', '4'), /--score-batch applies to --method scorecam or cluscam only/);
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'cluscam', '--score-batch', '0'), /--score-batch must be at least 1/);
  });

  it('rejects more clusters than the layer has channels', () => {
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'cluscam', '--layer', LAYER, '--clusters', '33', '--backend', 'cpu'), /clusters must be an integer in 1\.\.32/);
  });
});

describe('webgpu-cam cam with model-scored methods', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-scored-cam-'));
  const activations = path.join(dir, 'a.npy');
  writeFileSync(activations, encodeNpy(new Float32Array(4 * 3 * 3).fill(1), [4, 3, 3]));

  for (const method of ['scorecam', 'cluscam']) {
    it(`refuses --method ${method} and points to explain`, () => {
      oneLineError(cli('cam', '--method', method, '--activations', activations, '--size', '8', '--out', path.join(dir, 'cam.npy')), new RegExp(`use 'webgpu-cam explain --method ${method}'`));
    });
  }
});

describe('webgpu-cam explain --method softcam', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-softcam-'));
  const SOFTCAM = path.join(ROOT, 'models/softcam/softcam-digits.onnx');

  it('explains a Soft-CAM model with its own evidence map, signed, in the diverging colour map', () => {
    const out = path.join(dir, 'softcam.png');
    const heatmap = path.join(dir, 'softcam.npy');
    const run = cli('explain', '--image', SAMPLE, '--model', SOFTCAM, '--method', 'softcam', '--signed', '--out', out, '--heatmap', heatmap, '--json');
    expect(run.status, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.layer).toBe('evidence');
    const map = parseNpy(new Uint8Array(readFileSync(heatmap)));
    expect(map.shape).toEqual([224, 224]);
    const values = Array.from(map.data as Float32Array);
    expect(Math.min(...values)).toBeLessThan(0); // signed: evidence against the class is kept
    expect(Math.max(...values)).toBeGreaterThan(0);
    const image = decodeImage(new Uint8Array(readFileSync(SAMPLE)));
    const overlay = decodeImage(new Uint8Array(readFileSync(out)));
    expect([overlay.width, overlay.height]).toEqual([image.width, image.height]);
    expect(Buffer.compare(Buffer.from(overlay.data), Buffer.from(image.data))).not.toBe(0);
  });

  it('writes a turbo overlay for any method', () => {
    const out = path.join(dir, 'turbo.png');
    const run = cli('explain', '--image', SAMPLE, '--method', 'gradcam', '--colormap', 'turbo', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  it('refuses softcam on a model without a class-evidence map, and --signed for other methods', () => {
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'softcam'), /softcam needs a Soft-CAM model/);
    oneLineError(cli('explain', '--image', SAMPLE, '--method', 'gradcam', '--signed'), /--signed is for softcam/);
    oneLineError(cli('explain', '--image', SAMPLE, '--colormap', 'rainbow'), /unknown colormap 'rainbow'/);
  });
});
