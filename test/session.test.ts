import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDemoBrowser } from './helpers/browser';
import type { GpuContext } from '../src/engine/gpu/context';
import { Recorder, STORAGE_USAGE } from '../src/engine/gpu/recorder';
import { parseNpy } from '../src/engine/io/npy';
import { createModelSession, isBufferOfDevice, type ModelSession } from '../src/engine/model/session';
import { nodeGpu } from '../src/engine/gpu/node';
import { testGpu } from './helpers/gpu';

const FIXTURES = join(__dirname, 'fixtures', 'session');
const npy = (name: string) => parseNpy(new Uint8Array(readFileSync(join(FIXTURES, name))), name);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function readFloats(ctx: GpuContext, out: { buffer: GPUBuffer; offset: number; size: number }): Promise<Float32Array> {
  const rec = new Recorder(ctx);
  rec.read(out.buffer, out.size, out.offset);
  return new Float32Array((await rec.submit()).readbacks[0]);
}

describe('ORT session wrapper (Node, wasm EP)', () => {
  const model = new Uint8Array(readFileSync(join(FIXTURES, 'tiny-cnn.onnx')));
  const input = npy('input.npy');
  const logits = npy('logits.npy');
  const features = npy('features.npy');
  let ctx: GpuContext;
  let session: ModelSession;

  beforeAll(async () => {
    ort.env.wasm.numThreads = 1;
    ctx = await testGpu();
    session = await createModelSession(model, { ort, context: ctx, gpuOutputs: ['features'], numThreads: 1 });
  });
  afterAll(async () => {
    await session?.dispose();
  });

  it('reports the model and falls back to wasm in Node', () => {
    expect(session.backend).toBe('wasm');
    expect(session.fallbackReason).toMatch(/wasm/);
    expect(session.inputNames).toEqual(['input']);
    expect([...session.outputNames].sort()).toEqual(['features', 'logits']);
  });

  it('equals torch on host outputs (1e-4)', async () => {
    const run = await session.run({ input: { data: input.data as Float32Array, dims: input.shape } }, { host: ['logits', 'features'] });
    try {
      expect(Object.keys(run.gpu)).toEqual([]);
      expect(run.host.logits.dims).toEqual([1, 10]);
      expect(run.host.features.dims).toEqual([1, 16, 8, 8]);
      expect(maxAbsDiff(run.host.logits.data as Float32Array, logits.data as Float32Array)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(run.host.features.data as Float32Array, features.data as Float32Array)).toBeLessThanOrEqual(1e-4);
    } finally {
      run.dispose();
    }
  });

  it('uploads GPU outputs into our device once, with an exact size; takes GPU inputs', async () => {
    // The input itself comes from a GPU buffer (as pre-processing produces it), at an offset.
    const inBuffer = ctx.device.createBuffer({ size: 256 + input.data.byteLength, usage: STORAGE_USAGE });
    ctx.device.queue.writeBuffer(inBuffer, 256, input.data as Float32Array<ArrayBuffer>);
    try {
      const run = await session.run({ input: { gpuBuffer: inBuffer, dims: input.shape, offset: 256 } }); // defaults: features on GPU, logits on host
      try {
        expect(Object.keys(run.host)).toEqual(['logits']);
        expect(Object.keys(run.gpu)).toEqual(['features']);
        const g = run.gpu.features;
        expect(g.size).toBe(16 * 8 * 8 * 4);
        expect(g.offset).toBe(0);
        expect(g.buffer.size).toBeGreaterThanOrEqual(g.size);
        expect(maxAbsDiff(await readFloats(ctx, g), features.data as Float32Array)).toBeLessThanOrEqual(1e-4);
        expect(maxAbsDiff(run.host.logits.data as Float32Array, logits.data as Float32Array)).toBeLessThanOrEqual(1e-4);
      } finally {
        run.dispose();
      }
    } finally {
      inBuffer.destroy();
    }
  });

  it('rejects unknown outputs with the list of outputs', async () => {
    await expect(session.run({ input: { data: input.data as Float32Array, dims: input.shape } }, { host: ['nope'] })).rejects.toThrow(
      /no output 'nope'.*features/,
    );
  });

  it('does not grow: 200 runs keep the pool size constant and release every tensor', async () => {
    const feed = { input: { data: input.data as Float32Array, dims: input.shape } };
    const once = async () => {
      const run = await session.run(feed, { host: ['logits'], gpu: ['features'] });
      const l = run.host.logits.data as Float32Array;
      run.dispose();
      return l;
    };
    for (let i = 0; i < 5; i++) await once();
    const poolBytes = ctx.pool.bytes;
    const before = session.stats();
    expect(before.liveTensors).toBe(0);
    expect(before.liveUploads).toBe(0);
    let last: Float32Array | undefined;
    for (let i = 0; i < 200; i++) last = await once();
    const after = session.stats();
    expect(after.runs - before.runs).toBe(200);
    expect(after.liveTensors).toBe(0);
    expect(after.liveUploads).toBe(0);
    expect(ctx.pool.bytes).toBe(poolBytes);
    // Host outputs stay valid after their run is disposed.
    expect(maxAbsDiff(last!, logits.data as Float32Array)).toBeLessThanOrEqual(1e-4);
  });

  it('runs without a device (host outputs only) and refuses GPU outputs there', async () => {
    // No `ort` given: the wrapper loads onnxruntime-web itself (Node: the wasm build).
    const plain = await createModelSession(model, { numThreads: 1 });
    try {
      expect(plain.context).toBeUndefined();
      const run = await plain.run({ input: { data: input.data as Float32Array, dims: input.shape } }, { host: ['logits'] });
      expect(maxAbsDiff(run.host.logits.data as Float32Array, logits.data as Float32Array)).toBeLessThanOrEqual(1e-4);
      run.dispose();
      await expect(plain.run({ input: { data: input.data as Float32Array, dims: input.shape } }, { gpu: ['features'] })).rejects.toThrow(
        /need a device/,
      );
      expect(plain.stats().liveTensors).toBe(0);
    } finally {
      await plain.dispose();
    }
    await expect(plain.run({ input: { data: input.data as Float32Array, dims: input.shape } })).rejects.toThrow(/after dispose/);
  });

  it('tells whether a buffer belongs to our device (the device-sharing probe)', async () => {
    const adapter = await (await nodeGpu()).requestAdapter();
    const other = await adapter!.requestDevice();
    const mine = ctx.device.createBuffer({ size: 64, usage: STORAGE_USAGE });
    const foreign = other.createBuffer({ size: 64, usage: STORAGE_USAGE });
    try {
      expect(await isBufferOfDevice(ctx.device, mine)).toBe(true);
      expect(await isBufferOfDevice(ctx.device, foreign)).toBe(false);
      expect(await isBufferOfDevice(other, foreign)).toBe(true);
    } finally {
      mine.destroy();
      foreign.destroy();
      other.destroy();
    }
  });
});

interface BrowserProbe {
  error?: string;
  backend: string;
  shares: boolean | undefined;
  bufferSize: number;
  size: number;
  features: number[];
  logits: number[];
  poolBefore: number;
  poolAfter: number;
  stats: { runs: number; liveTensors: number; liveUploads: number };
}

/** Runs in the page (plain JS): ORT's WebGPU EP on our device, via the session wrapper served by Vite. */
const PAGE_PROBE = String.raw`async (root, modelBytes, inputValues) => {
  try {
    const ort = await import('/@fs' + root + '/node_modules/onnxruntime-web/dist/ort.webgpu.min.mjs');
    ort.env.wasm.wasmPaths = '/@fs' + root + '/node_modules/onnxruntime-web/dist/';
    ort.env.wasm.numThreads = 1;
    const { createModelSession } = await import('/@fs' + root + '/src/engine/model/session.ts');
    const { createGpuContext } = await import('/@fs' + root + '/src/engine/gpu/context.ts');
    const { Recorder } = await import('/@fs' + root + '/src/engine/gpu/recorder.ts');
    const ctx = await createGpuContext();
    const session = await createModelSession(new Uint8Array(modelBytes), { ort, context: ctx, gpuOutputs: ['features'] });
    const data = new Float32Array(inputValues);
    // The input as a GPU buffer of our device (fed with Tensor.fromGpuBuffer).
    const inBuffer = ctx.device.createBuffer({ size: data.byteLength, usage: 0x80 | 0x4 | 0x8 });
    ctx.device.queue.writeBuffer(inBuffer, 0, data);
    const run = await session.run({ input: { gpuBuffer: inBuffer, dims: [1, 3, 32, 32] } });
    const g = run.gpu.features;
    const rec = new Recorder(ctx);
    rec.read(g.buffer, g.size, g.offset);
    const features = Array.from(new Float32Array((await rec.submit()).readbacks[0]));
    const logits = Array.from(run.host.logits.data);
    const bufferSize = g.buffer.size;
    run.dispose();
    const feed = { input: { data, dims: [1, 3, 32, 32] } };
    (await session.run(feed)).dispose();
    const poolBefore = ctx.pool.bytes;
    for (let i = 0; i < 10; i++) (await session.run(feed)).dispose();
    const out = { backend: session.backend, shares: session.sharesDevice, bufferSize, size: g.size, features, logits,
      poolBefore, poolAfter: ctx.pool.bytes, stats: session.stats() };
    await session.dispose();
    inBuffer.destroy();
    return out;
  } catch (error) {
    return { error: String(error) + '\n' + (error && error.stack) };
  }
}`;

describe('ORT session wrapper in the browser (headless Chromium, WebGPU EP on our device)', () => {
  const chromium = useDemoBrowser();

  it('shares our GPUDevice: GPU outputs are ORT buffers usable by our kernels, nothing leaks', async () => {
    const root = process.cwd();
    const model = Array.from(readFileSync(join(FIXTURES, 'tiny-cnn.onnx')));
    const input = Array.from(npy('input.npy').data as Float32Array);
    const page = await chromium.browser.newPage();
    await page.goto(chromium.url);
    // A string, not a function: vitest rewrites import() inside test code for Node.
    const result = (await page.evaluate(`(${PAGE_PROBE})(${JSON.stringify(root)}, ${JSON.stringify(model)}, ${JSON.stringify(input)})`)) as BrowserProbe;
    await page.close();
    expect(result.error).toBeUndefined();
    expect(result.backend).toBe('webgpu');
    expect(result.shares).toBe(true);
    expect(result.size).toBe(16 * 8 * 8 * 4);
    expect(result.bufferSize).toBeGreaterThanOrEqual(result.size);
    expect(maxAbsDiff(result.features, npy('features.npy').data as Float32Array)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(result.logits, npy('logits.npy').data as Float32Array)).toBeLessThanOrEqual(1e-4);
    expect(result.poolAfter).toBe(result.poolBefore);
    expect(result.stats).toEqual({ runs: 12, liveTensors: 0, liveUploads: 0 });
  });
});
