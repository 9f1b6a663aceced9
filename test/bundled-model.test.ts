/**
 * The README's quickstart on the bundled model: `webgpu-cam explain` on each sample image with
 * the default model gives torch's logits (recorded by models/digits/export.py) and a map, and
 * writes an overlay PNG at the image's size.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../src/engine/model/image-io';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLES = path.join(ROOT, 'models/digits/samples');

interface Expected {
  label: number;
  predicted: number;
  logits: number[];
}

const expected = JSON.parse(readFileSync(path.join(SAMPLES, 'expected.json'), 'utf8')).images as Record<string, Expected>;

describe('bundled model quickstart', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-quickstart-'));
  for (const [file, want] of Object.entries(expected)) {
    it(`explain ${file} (default model, CF-CAM on the GPU)`, () => {
      if (!existsSync(path.join(ROOT, 'dist/node/cli.js'))) throw new Error('dist/node/cli.js is missing: run `npm run build` first');
      const out = path.join(dir, `overlay-${file}`);
      const run = spawnSync(process.execPath, [path.join(ROOT, 'bin/webgpu-cam.js'), 'explain', '--image', path.join(SAMPLES, file), '--out', out, '--json'], {
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout) as { classIndex: number; top5: { index: number; logit: number }[]; layer: string };
      expect(summary.layer).toBe('/layer4/layer4.0/relu2/Relu_output_0');
      expect(summary.classIndex).toBe(want.predicted);
      for (const score of summary.top5) expect(score.logit).toBeCloseTo(want.logits[score.index], 3);
      const overlay = decodeImage(new Uint8Array(readFileSync(out)));
      expect([overlay.width, overlay.height]).toEqual([224, 224]);
    });
  }
});
