import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JET_RGB, JET_SPOT_CHECKS } from '../src/engine/display/jet-table';
import { colorizeJet, jetColor, jetLevel, overlay } from '../src/engine/display/overlay';
import { decodeImage, encodePng, readImage, writePng } from '../src/engine/model/image-io';
import { ImageFormatError } from '../src/engine/model/errors';
import { jetColor as demoJetColor } from '../src/demo/colormap';
import { resizeBilinear } from '../src/engine/methods/common/resize-cpu';

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'webgpu-cam-overlay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(code: string): string {
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe('JET table (OpenCV COLORMAP_JET)', () => {
  it('matches the cv2 values the generator recorded (entries 0, 64, 128, 191, 255, ...)', () => {
    expect(JET_RGB.length).toBe(256 * 3);
    const levels = JET_SPOT_CHECKS.map(([i]) => i);
    expect(levels).toEqual(expect.arrayContaining([0, 64, 128, 191, 255]));
    for (const [i, r, g, b] of JET_SPOT_CHECKS) expect([JET_RGB[3 * i], JET_RGB[3 * i + 1], JET_RGB[3 * i + 2]]).toEqual([r, g, b]);
    // Hand-checked anchors (RGB): dark blue at 0, dark red at 255.
    expect(jetColor(0)).toEqual([0, 0, 128]);
    expect(jetColor(1)).toEqual([128, 0, 0]);
    expect(jetColor(64 / 255)).toEqual([0, 128, 255]);
  });


  it('quantises like np.uint8(255 * v) and clamps out-of-range values', () => {
    expect(jetLevel(0)).toBe(0);
    expect(jetLevel(1)).toBe(255);
    expect(jetLevel(0.5)).toBe(127);
    expect(jetLevel(-0.2)).toBe(0);
    expect(jetLevel(1.7)).toBe(255);
    expect(jetLevel(Number.NaN)).toBe(0);
    const rgba = colorizeJet(new Float32Array([0, 0.5, 1]));
    expect(Array.from(rgba)).toEqual([0, 0, 128, 255, 126, 255, 130, 255, 128, 0, 0, 255]);
    // The demo page uses the same exact table.
    expect(demoJetColor(0.5)).toEqual([126, 255, 130]);
  });
});

describe('overlay', () => {
  it('computes uint8(0.4 * JET + 0.6 * image) on a tiny image, as by hand', () => {
    const image = { width: 2, height: 1, data: new Uint8Array([100, 50, 200, 255, 255, 255, 255, 128]) };
    const out = overlay(image, new Float32Array([0.5, 0]));
    // Pixel 0: JET(127) = (126,255,130): 0.4*126+0.6*100 = 110.4, 0.4*255+0.6*50 = 132, 0.4*130+0.6*200 = 172.
    // Pixel 1: JET(0) = (0,0,128): 153, 153, 0.4*128+0.6*255 = 204.2; alpha kept.
    expect(Array.from(out.data)).toEqual([110, 132, 172, 255, 153, 153, 204, 128]);
    // Opacity 1 is the heatmap alone, 0 the image alone.
    expect(Array.from(overlay(image, [1, 1], { opacity: 1 }).data)).toEqual([128, 0, 0, 255, 128, 0, 0, 128]);
    expect(Array.from(overlay(image, [1, 1], { opacity: 0 }).data)).toEqual(Array.from(image.data));
    expect(() => overlay(image, [0.5])).toThrow(RangeError);
    expect(() => overlay(image, [0, 0], { opacity: 2 })).toThrow(RangeError);
  });

  it('resizes a smaller map to the image size bilinearly first', () => {
    const image = { width: 4, height: 4, data: new Uint8Array(64).fill(90) };
    const map = { width: 2, height: 2, data: new Float32Array([0, 0.25, 0.75, 1]) };
    const resized = resizeBilinear(map.data, 2, 2, 4, 4);
    const expected = overlay(image, resized);
    expect(Array.from(overlay(image, map).data)).toEqual(Array.from(expected.data));
  });

});

describe('image files', () => {
  it('round-trips RGBA through PNG', async () => {
    const image = { width: 5, height: 3, data: new Uint8Array(60).map((_, i) => (i * 37) % 256) };
    const bytes = encodePng(image);
    expect(Array.from(bytes.slice(1, 4))).toEqual([0x50, 0x4e, 0x47]);
    const back = decodeImage(bytes);
    expect([back.width, back.height]).toEqual([5, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(image.data));
    const path = join(dir, 'round.png');
    await writePng(path, image);
    expect(Array.from((await readImage(path)).data)).toEqual(Array.from(image.data));
  });

  it('decodes a JPEG to RGBA', async () => {
    const jpeg = await import('jpeg-js');
    const data = new Uint8Array(8 * 8 * 4);
    for (let i = 0; i < 64; i++) data.set([200, 40, 40, 255], 4 * i);
    const bytes = jpeg.encode({ width: 8, height: 8, data }, 95).data;
    const path = join(dir, 'red.jpg');
    writeFileSync(path, bytes);
    const back = await readImage(path);
    expect([back.width, back.height, back.data.length]).toEqual([8, 8, 256]);
    expect(Math.abs(back.data[0] - 200)).toBeLessThanOrEqual(4);
    expect(Math.abs(back.data[1] - 40)).toBeLessThanOrEqual(4);
    expect(back.data[3]).toBe(255);
  });

  it('throws ImageFormatError for a text file, a damaged PNG and a missing file', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'this is not an image\n');
    await expect(readImage(text)).rejects.toThrow(ImageFormatError);
    await expect(readImage(text)).rejects.toThrow(/not a PNG or JPEG/);
    const png = encodePng({ width: 4, height: 4, data: new Uint8Array(64) });
    expect(() => decodeImage(png.slice(0, 30), 'cut.png')).toThrow(ImageFormatError);
    await expect(readImage(join(dir, 'missing.png'))).rejects.toThrow(ImageFormatError);
  });
});
