/**
 * Cross-checks against the Python libraries the references are built on (torch, OpenCV).
 * Not part of `npm test` (CI installs no Python stack): run `npm run test:python` on a machine
 * with Debian's python3-torch and python3-opencv. A missing library fails these tests.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JET_RGB } from '../../src/engine/display/jet-table';
import { overlay } from '../../src/engine/display/overlay';
import { preprocessCpu } from '../../src/engine/model/preprocess-cpu';
import { maxAbsDiff } from '../helpers/golden';
import { randomImage } from '../helpers/random';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'webgpu-cam-python-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(code: string): string {
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe('pre-processing vs torch', () => {
  it('matches torch F.interpolate(bilinear, align_corners=False, antialias=False) + normalise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgpu-cam-pre-'));
    try {
      const img = randomImage(53, 37, 3);
      writeFileSync(join(dir, 'img.bin'), img.data);
      const code = [
        'import numpy as np, torch, torch.nn.functional as F',
        `x = torch.from_numpy(np.fromfile("${dir}/img.bin", np.uint8).reshape(37, 53, 4)[..., :3].copy())`,
        'x = x.permute(2, 0, 1).float()[None] / 255',
        'y = F.interpolate(x, size=(40, 60), mode="bilinear", align_corners=False)',
        'm = torch.tensor([0.485, 0.456, 0.406])[:, None, None]; s = torch.tensor([0.229, 0.224, 0.225])[:, None, None]',
        `((y[0] - m) / s).numpy().astype(np.float32).tofile("${dir}/out.bin")`,
      ].join('\n');
      const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const b = readFileSync(join(dir, 'out.bin'));
      const expected = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      expect(maxAbsDiff(preprocessCpu(img, { size: [40, 60] }).data, expected)).toBeLessThan(1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('JET and overlay vs OpenCV', () => {
  it('equals cv2.applyColorMap on all 256 levels (live cv2)', () => {
    const out = python(
      'import cv2, numpy as np\n' +
        't = cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv2.COLORMAP_JET)[:, 0, ::-1]\n' +
        'print(",".join(str(int(v)) for v in t.reshape(-1)))',
    );
    expect(Array.from(JET_RGB)).toEqual(out.trim().split(',').map(Number));
  });

  it('is bit-exact with numpy/cv2 on a random image', () => {
    const w = 23;
    const h = 17;
    const data = new Uint8Array(w * h * 4);
    const map = new Float32Array(w * h);
    let s = 12345;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
    for (let i = 0; i < map.length; i++) map[i] = i < 256 ? i / 255 : rand();
    writeFileSync(join(dir, 'img.bin'), data);
    writeFileSync(join(dir, 'map.bin'), new Uint8Array(map.buffer));
    python(
      'import cv2, numpy as np\n' +
        `img = np.fromfile("${dir}/img.bin", np.uint8).reshape(${h}, ${w}, 4)\n` +
        `m = np.fromfile("${dir}/map.bin", np.float32).reshape(${h}, ${w})\n` +
        'heat = cv2.applyColorMap(np.uint8(255 * m), cv2.COLORMAP_JET)[..., ::-1]\n' +
        'out = np.uint8(0.4 * heat + 0.6 * img[..., :3])\n' +
        `out.tofile("${dir}/out.bin")`,
    );
    const expected = readFileSync(join(dir, 'out.bin'));
    const got = overlay({ width: w, height: h, data }, map).data;
    const rgb = Array.from(got).filter((_, i) => i % 4 !== 3);
    expect(rgb).toEqual(Array.from(expected));
  });
});
