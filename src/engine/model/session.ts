/**
 * ONNX Runtime Web session wrapper: runs a model with named inputs and returns the outputs it is
 * asked for, each either as host data or as a window on a GPU buffer of *our* device (so
 * activations and gradients can go straight into `encodeCam`).
 *
 * Where it runs:
 * - Browser with WebGPU: `onnxruntime-web/webgpu` (the C++ WebGPU EP) on our own GPUDevice
 *   (`executionProviders: [{ name: 'webgpu', device }]`, which ORT 1.30 shares) with
 *   `preferredOutputLocation: 'gpu-buffer'` for the GPU outputs: no copies at all. ORT rounds
 *   buffer sizes up, so outputs are handed on as `{ buffer, offset: 0, size: exactBytes }`.
 *   Whether ORT really uses our device is checked on the first GPU output (a 4-byte copy inside
 *   an error scope); if not, outputs are downloaded and uploaded once into our device, and GPU
 *   inputs are read back and fed as host tensors.
 * - Browser without WebGPU (or when the WebGPU EP cannot start): the wasm EP from the same
 *   bundle, plus one upload per GPU output.
 * - Node: the wasm EP (`onnxruntime-web`, whose Node build never loads the WebGPU bundle), plus
 *   one upload into our device (Dawn) per GPU output.
 *
 * ORT is loaded lazily: `onnxruntime-web` in Node, `onnxruntime-web/webgpu` in the browser,
 * or the module given as `options.ort` (tests, apps that configure `ort.env` themselves).
 * This file imports no node: module and does not import ORT statically. In a bundled web app,
 * point ORT at its wasm files first (`ort.env.wasm.wasmPaths`, see the Vite recipe in
 * shared/spec/environment.md) and pass that `ort` module here; the WebGPU EP of ORT 1.30 still
 * loads its wasm (the C++ EP lives in it).
 */
import type * as Ort from 'onnxruntime-web';
import { createGpuContext, type GpuContext } from '../gpu/context.js';
import { BufferUsage, MapMode } from '../gpu/flags.js';
import { STORAGE_USAGE } from '../gpu/recorder.js';

export type OrtModule = typeof Ort;

export interface ModelSessionOptions {
  /** Our GPU device: ORT's WebGPU EP runs on it (browser), and GPU outputs are buffers of it. */
  device?: GPUDevice;
  /** Or a whole context (its pool holds uploaded outputs); takes precedence over `device`. */
  context?: GpuContext;
  /** Run the model on the WebGPU EP when possible (browser only; default: true when a device is given). */
  preferGpu?: boolean;
  /** Outputs that should stay on / go to the GPU by default (declared up front: ORT fixes output locations per session). */
  gpuOutputs?: readonly string[];
  /** The ORT module to use instead of loading one (`import * as ort from 'onnxruntime-web'` or `.../webgpu`). */
  ort?: OrtModule;
  /** wasm EP threads (sets `ort.env.wasm.numThreads` before the first session); tests use 1. */
  numThreads?: number;
  /** ORT log severity (0 verbose .. 4 fatal); default 3 (errors). */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

export type HostData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Float64Array;

/** A model input: host data, or a float32 (etc.) tensor in a GPU buffer of our device. */
export type SessionFeed =
  | { data: HostData; dims: readonly number[] }
  | { gpuBuffer: GPUBuffer; dims: readonly number[]; dataType?: 'float32' | 'int32' | 'int64'; offset?: number };

export interface HostOutput {
  data: HostData;
  dims: number[];
  type: string;
}

/** A GPU output: bind `buffer` at `offset` with exactly `size` bytes (the buffer may be larger). */
export interface GpuOutput {
  buffer: GPUBuffer;
  offset: number;
  size: number;
  dims: number[];
  type: string;
}

export interface SessionRun {
  host: Record<string, HostOutput>;
  gpu: Record<string, GpuOutput>;
  /** Release this run's ORT tensors and uploaded buffers (GPU outputs are invalid afterwards). */
  dispose(): void;
}

export interface RunRequest {
  /** Outputs wanted as host arrays. */
  host?: readonly string[];
  /** Outputs wanted as GPU buffers of our device. */
  gpu?: readonly string[];
}

export interface ModelSession {
  /** 'webgpu' when ORT runs on the GPU, else 'wasm'. */
  readonly backend: 'webgpu' | 'wasm';
  /** Why the WebGPU EP is not used, when it was wanted. */
  readonly fallbackReason?: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** true/false once known: whether ORT's GPU outputs are buffers of our device (no copies). */
  readonly sharesDevice: boolean | undefined;
  /** The context holding GPU outputs (uploaded ones come from its pool). */
  readonly context: GpuContext | undefined;
  run(feeds: Record<string, SessionFeed>, request?: RunRequest): Promise<SessionRun>;
  /** Counters for leak checks: ORT tensors and uploaded buffers not yet released, runs so far. */
  stats(): { runs: number; liveTensors: number; liveUploads: number };
  /** Release the ORT session and buffers this session created (not the device). */
  dispose(): Promise<void>;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, int64: 8, uint8: 1, float64: 8, float16: 2, bool: 1, int8: 1, uint32: 4 };

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

async function loadOrt(): Promise<OrtModule> {
  if (isNode()) {
    // Kept out of bundlers' sight: Node resolves this to ORT's Node build (wasm EP).
    const spec = 'onnxruntime-web';
    return (await import(/* @vite-ignore */ spec)) as OrtModule;
  }
  return (await import('onnxruntime-web/webgpu')) as unknown as OrtModule;
}

function tensorType(data: HostData): Ort.Tensor.Type {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array) return 'uint8';
  return 'float64';
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Copy `size` bytes of a GPU buffer to the host. */
async function readGpu(device: GPUDevice, buffer: GPUBuffer, offset: number, size: number): Promise<ArrayBuffer> {
  const padded = Math.ceil(size / 4) * 4;
  const staging = device.createBuffer({ size: padded, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: 'session readback' });
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, padded);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MapMode.READ);
    return staging.getMappedRange(0, padded).slice(0, size);
  } finally {
    staging.destroy();
  }
}

/**
 * Whether `buffer` (e.g. made by ORT) belongs to `device`: a 4-byte copy inside an error scope
 * (a foreign buffer is a validation error: "is associated with [Device], and cannot be used with
 * [Device]"). The buffer needs COPY_SRC usage.
 */
export async function isBufferOfDevice(device: GPUDevice, buffer: GPUBuffer): Promise<boolean> {
  const probe = device.createBuffer({ size: 4, usage: BufferUsage.COPY_DST });
  device.pushErrorScope('validation');
  try {
    const encoder = device.createCommandEncoder({ label: 'session device probe' });
    encoder.copyBufferToBuffer(buffer, 0, probe, 0, 4);
    device.queue.submit([encoder.finish()]);
  } catch {
    await device.popErrorScope();
    probe.destroy();
    return false;
  }
  const error = await device.popErrorScope();
  probe.destroy();
  return !error;
}

function hostArray(type: string, bytes: ArrayBuffer): HostData {
  switch (type) {
    case 'float32':
      return new Float32Array(bytes);
    case 'int32':
      return new Int32Array(bytes);
    case 'int64':
      return new BigInt64Array(bytes);
    case 'uint8':
      return new Uint8Array(bytes);
    default:
      return new Float64Array(bytes);
  }
}

/**
 * Create a session for `modelBytes` (an ONNX ModelProto). Without `ort`, loads
 * `onnxruntime-web` (Node) or `onnxruntime-web/webgpu` (browser).
 */
export async function createModelSession(modelBytes: Uint8Array, options: ModelSessionOptions = {}): Promise<ModelSession> {
  const ort = options.ort ?? (await loadOrt());
  if (options.numThreads !== undefined) ort.env.wasm.numThreads = options.numThreads;

  let context = options.context;
  const ownsContext = !context && !!options.device;
  if (!context && options.device) context = await createGpuContext({ device: options.device });
  const device = context?.device;

  const gpuOutputs = [...(options.gpuOutputs ?? [])];
  const wantGpu = (options.preferGpu ?? !!device) && !!device && !isNode();
  const logSeverityLevel = options.logSeverityLevel ?? 3;

  let session: Ort.InferenceSession | undefined;
  let backend: 'webgpu' | 'wasm' = 'wasm';
  let fallbackReason: string | undefined;
  let sharesDevice: boolean | undefined;
  if (wantGpu) {
    try {
      const location: Record<string, Ort.OnnxValueDataLocation> = {};
      for (const name of gpuOutputs) location[name] = 'gpu-buffer';
      session = await ort.InferenceSession.create(modelBytes, {
        executionProviders: [{ name: 'webgpu', device } as Ort.InferenceSession.WebGpuExecutionProviderOption],
        preferredOutputLocation: location,
        logSeverityLevel,
      });
      backend = 'webgpu';
      // Whether ORT really runs on our device is learnt from the first GPU output (a probe
      // copy): with the C++ EP, `ort.env.webgpu.device` resolves to undefined in ORT 1.30.
    } catch (error) {
      fallbackReason = `WebGPU execution provider failed to start (${error instanceof Error ? error.message : String(error)}); running on wasm`;
    }
  } else if ((options.preferGpu ?? !!device) && device && isNode()) {
    fallbackReason = 'Node: ONNX Runtime Web runs on the wasm EP; GPU outputs are uploaded';
  }
  if (!session) {
    session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'], logSeverityLevel });
  }
  const ortSession = session;

  let runs = 0;
  let liveTensors = 0;
  let liveUploads = 0;
  let disposed = false;

  const disposeTensor = (t: Ort.Tensor) => {
    t.dispose();
    liveTensors--;
  };

  async function toTensor(name: string, feed: SessionFeed, scratch: GPUBuffer[]): Promise<Ort.Tensor> {
    if ('data' in feed) {
      liveTensors++;
      return new ort.Tensor(tensorType(feed.data), feed.data as never, feed.dims as number[]);
    }
    if (!device) throw new Error(`session: input ${name} is a GPU buffer but the session has no device`);
    const dataType = feed.dataType ?? 'float32';
    const size = elementCount(feed.dims) * BYTES[dataType];
    const offset = feed.offset ?? 0;
    if (backend === 'webgpu' && sharesDevice !== false) {
      let buffer = feed.gpuBuffer;
      if (offset !== 0) {
        // ORT tensors start at a buffer's first byte: copy the window out.
        buffer = context!.pool.acquire(size, STORAGE_USAGE, `session input ${name}`);
        scratch.push(buffer);
        const encoder = device.createCommandEncoder({ label: 'session input copy' });
        encoder.copyBufferToBuffer(feed.gpuBuffer, offset, buffer, 0, Math.ceil(size / 4) * 4);
        device.queue.submit([encoder.finish()]);
      }
      liveTensors++;
      return ort.Tensor.fromGpuBuffer(buffer, { dataType, dims: feed.dims as number[] });
    }
    const bytes = await readGpu(device, feed.gpuBuffer, offset, size);
    liveTensors++;
    return new ort.Tensor(dataType, hostArray(dataType, bytes) as never, feed.dims as number[]);
  }

  function upload(name: string, data: HostData): GpuOutput['buffer'] {
    const buffer = context!.pool.acquire(data.byteLength, STORAGE_USAGE, `session output ${name}`);
    const copy = data.buffer instanceof ArrayBuffer ? data : data.slice();
    device!.queue.writeBuffer(buffer, 0, copy.buffer as ArrayBuffer, copy.byteOffset, copy.byteLength);
    liveUploads++;
    return buffer;
  }

  return {
    get backend() {
      return backend;
    },
    fallbackReason,
    inputNames: ortSession.inputNames,
    outputNames: ortSession.outputNames,
    get sharesDevice() {
      return sharesDevice;
    },
    context,

    async run(feeds, request = {}) {
      if (disposed) throw new Error('session: run() after dispose()');
      const wantGpuNames = request.gpu ?? (request.host ? [] : gpuOutputs);
      const wantHostNames = request.host ?? (request.gpu ? [] : ortSession.outputNames.filter((n) => !gpuOutputs.includes(n)));
      for (const name of [...wantGpuNames, ...wantHostNames]) {
        if (!ortSession.outputNames.includes(name)) {
          throw new Error(`session: the model has no output '${name}' (outputs: ${ortSession.outputNames.join(', ')})`);
        }
      }
      if (wantGpuNames.length > 0 && !device) throw new Error('session: GPU outputs need a device (pass device or context)');

      const scratch: GPUBuffer[] = [];
      const inputs: Ort.Tensor[] = [];
      const held: Ort.Tensor[] = [];
      const uploads: GPUBuffer[] = [];
      let released = false;
      const releaseAll = () => {
        if (released) return;
        released = true;
        for (const t of held) disposeTensor(t);
        for (const b of uploads) {
          context!.pool.release(b);
          liveUploads--;
        }
      };
      const fetches = [...new Set([...wantGpuNames, ...wantHostNames])];
      const attempt = async (): Promise<Ort.InferenceSession.ReturnType> => {
        const ortFeeds: Record<string, Ort.Tensor> = {};
        for (const [name, feed] of Object.entries(feeds)) {
          const t = await toTensor(name, feed, scratch);
          inputs.push(t);
          ortFeeds[name] = t;
        }
        return ortSession.run(ortFeeds, fetches);
      };
      try {
        let results: Ort.InferenceSession.ReturnType;
        try {
          results = await attempt();
        } catch (error) {
          // GPU inputs fed before device sharing is known: if ORT is on another device, the
          // run fails; read the inputs back and feed them as host tensors from now on.
          const gpuFed = Object.values(feeds).some((f) => 'gpuBuffer' in f);
          if (!(backend === 'webgpu' && sharesDevice === undefined && gpuFed)) throw error;
          sharesDevice = false;
          for (const t of inputs.splice(0)) disposeTensor(t);
          results = await attempt();
        }
        runs++;
        for (const name of fetches) {
          liveTensors++;
          held.push(results[name] as Ort.Tensor);
        }

        const host: Record<string, HostOutput> = {};
        const gpu: Record<string, GpuOutput> = {};
        for (const name of fetches) {
          const t = results[name] as Ort.Tensor;
          const dims = [...t.dims];
          const size = elementCount(dims) * (BYTES[t.type] ?? 4);
          if (t.location === 'gpu-buffer') {
            if (sharesDevice === undefined && device) sharesDevice = await isBufferOfDevice(device, t.gpuBuffer as GPUBuffer);
            if (wantHostNames.includes(name)) host[name] = { data: (await t.getData()) as HostData, dims, type: t.type };
            if (wantGpuNames.includes(name)) {
              if (sharesDevice) gpu[name] = { buffer: t.gpuBuffer as GPUBuffer, offset: 0, size, dims, type: t.type };
              else {
                const data = (host[name]?.data ?? (await t.getData())) as HostData;
                const buffer = upload(name, data);
                uploads.push(buffer);
                gpu[name] = { buffer, offset: 0, size, dims, type: t.type };
              }
            }
          } else {
            const data = t.data as HostData;
            if (wantHostNames.includes(name)) host[name] = { data, dims, type: t.type };
            if (wantGpuNames.includes(name)) {
              const buffer = upload(name, data);
              uploads.push(buffer);
              gpu[name] = { buffer, offset: 0, size, dims, type: t.type };
            }
          }
        }
        return { host, gpu, dispose: releaseAll };
      } catch (error) {
        releaseAll();
        throw error;
      } finally {
        for (const t of inputs) disposeTensor(t);
        for (const b of scratch) context!.pool.release(b);
      }
    },

    stats: () => ({ runs, liveTensors, liveUploads }),

    async dispose() {
      if (disposed) return;
      disposed = true;
      await ortSession.release();
      if (ownsContext) context?.dispose();
    },
  };
}
