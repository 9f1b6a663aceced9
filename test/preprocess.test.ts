import { beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../src/engine/gpu/context';
import { Recorder, STORAGE_USAGE } from '../src/engine/gpu/recorder';
import { preprocessOnGpu, TextureUsage, type PixelSource, type PreprocessedImage } from '../src/engine/model/preprocess';
import { preprocessCpu, preprocessPlan, type PreprocessOptions } from '../src/engine/model/preprocess-cpu';
import { testGpu } from './helpers/gpu';
import { randomImage } from './helpers/random';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function readImage(ctx: GpuContext, r: PreprocessedImage): Promise<Float32Array> {
  const rec = new Recorder(ctx);
  rec.read(r.buffer, r.bytes, 4 * r.offsetFloats);
  const { readbacks } = await rec.submit();
  return new Float32Array(readbacks[0]);
}

describe('pre-processing plan (CPU)', () => {
  it('follows torchvision Resize(int) + CenterCrop geometry', () => {
    // 300 wide, 200 high: shorter side (height) -> 256, width int(256 * 300 / 200) = 384.
    const p = preprocessPlan(200, 300, { resize: 256, size: 224 });
    expect([p.resizedHeight, p.resizedWidth, p.offsetY, p.offsetX]).toEqual([256, 384, 16, 80]);
    // Python's round(): (225 - 224) / 2 = 0.5 rounds to 0.
    expect(preprocessPlan(10, 10, { resize: [225, 227], size: 224 }).offsetY).toBe(0);
    expect(preprocessPlan(10, 10, { resize: [225, 227], size: 224 }).offsetX).toBe(2 /* round(1.5) */);
    expect(() => preprocessPlan(10, 10, { resize: 100, size: 224 })).toThrow(RangeError);
    expect(() => preprocessPlan(0, 10)).toThrow(RangeError);
    expect(() => preprocessPlan(10, 10, { std: [1, 0, 1] })).toThrow(RangeError);
  });

  it('is the identity resize at equal size: (v/255 - mean)/std per pixel', () => {
    const img = randomImage(5, 3, 7);
    const { data } = preprocessCpu(img, { size: [3, 5] });
    for (let i = 0; i < 15; i++) {
      expect(data[i]).toBeCloseTo((img.data[4 * i] / 255 - 0.485) / 0.229, 6);
      expect(data[15 + i]).toBeCloseTo((img.data[4 * i + 1] / 255 - 0.456) / 0.224, 6);
      expect(data[30 + i]).toBeCloseTo((img.data[4 * i + 2] / 255 - 0.406) / 0.225, 6);
    }
  });

});

describe('GPU pre-processing vs the CPU twin', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await testGpu();
  });

  const cases: [string, number, number, PreprocessOptions][] = [
    ['37x53 -> 224x224', 53, 37, { size: 224 }],
    ['300x200 -> 224x224', 300, 200, { size: 224 }],
    ['identity 31x29', 31, 29, { size: [29, 31] }],
    ['Resize(64) + CenterCrop(56) of 91x67, custom mean/std', 91, 67, { resize: 64, size: 56, mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.25] }],
    ['upscale 3x2 -> 17x13', 3, 2, { size: [17, 13] }],
  ];
  for (const [name, w, h, options] of cases) {
    it(`host pixels, ${name}`, async () => {
      const img = randomImage(w, h, w * 1000 + h);
      const expected = preprocessCpu(img, options).data;
      const r = await preprocessOnGpu(ctx, img, options);
      try {
        expect(r.dims).toEqual([1, 3, expected.length / 3 / r.dims[3], r.dims[3]]);
        expect(maxAbsDiff(await readImage(ctx, r), expected)).toBeLessThanOrEqual(1e-5);
      } finally {
        r.release();
      }
    });
  }

  it('packed pixels in a GPU buffer with a row stride, written at an offset of a batch buffer', async () => {
    const img = randomImage(19, 11, 5);
    const stride = 24;
    const padded = new Uint8Array(stride * 11 * 4);
    for (let y = 0; y < 11; y++) padded.set(img.data.subarray(y * 19 * 4, (y + 1) * 19 * 4), y * stride * 4);
    const pixels = ctx.device.createBuffer({ size: padded.byteLength, usage: STORAGE_USAGE });
    ctx.device.queue.writeBuffer(pixels, 0, padded);
    const batch = ctx.device.createBuffer({ size: 2 * 3 * 16 * 16 * 4, usage: STORAGE_USAGE });
    try {
      const source: PixelSource = { buffer: pixels, width: 19, height: 11, strideWords: stride };
      const r = await preprocessOnGpu(ctx, source, { size: 16 }, { buffer: batch, offsetFloats: 3 * 16 * 16 });
      expect(r.buffer).toBe(batch);
      expect(maxAbsDiff(await readImage(ctx, r), preprocessCpu(img, { size: 16 }).data)).toBeLessThanOrEqual(1e-5);
      r.release(); // a caller's buffer: no-op
    } finally {
      pixels.destroy();
      batch.destroy();
    }
  });

  it('an rgba8unorm texture (the copyExternalImageToTexture path)', async () => {
    const img = randomImage(70, 9, 11); // 280-byte rows: padded to 512 for the copy
    const texture = ctx.device.createTexture({
      size: [70, 9, 1],
      format: 'rgba8unorm',
      usage: TextureUsage.COPY_SRC | TextureUsage.COPY_DST | TextureUsage.TEXTURE_BINDING,
    });
    ctx.device.queue.writeTexture({ texture }, img.data as Uint8Array<ArrayBuffer>, { bytesPerRow: 70 * 4, rowsPerImage: 9 }, [70, 9, 1]);
    try {
      const r = await preprocessOnGpu(ctx, { texture }, { size: [24, 32] });
      try {
        expect(maxAbsDiff(await readImage(ctx, r), preprocessCpu(img, { size: [24, 32] }).data)).toBeLessThanOrEqual(1e-5);
      } finally {
        r.release();
      }
    } finally {
      texture.destroy();
    }
  });

  it('rejects bad input before touching the GPU', async () => {
    await expect(preprocessOnGpu(ctx, { width: 4, height: 4, data: new Uint8Array(10) })).rejects.toThrow(RangeError);
    await expect(preprocessOnGpu(ctx, randomImage(4, 4, 1), { size: 0 })).rejects.toThrow(RangeError);
  });
});
