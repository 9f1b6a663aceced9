import { createGpuContext, type GpuContext, type GpuContextOptions } from './gpu/context.js';
import { Recorder, type TimingMode } from './gpu/recorder.js';
import { writeFloats } from './gpu/upload.js';
import { encodeCam } from './methods/index.js';
import { decodeCfcamDetails } from './methods/cfcam.js';
import { computeCamCpu } from './reference/index.js';
import { computeCamCpuFast, fastValueScans } from './fast/index.js';
import { validateCamInput, TYPESCRIPT_SCANS, type ValueScans } from './validate.js';
import { runScoreCamGpu } from './methods/scorecam.js';
import { runClusCamGpu } from './methods/cluscam.js';
import { scoreCamCpu } from './reference/scorecam.js';
import { clusCamCpu } from './reference/cluscam.js';
import { GRADIENT_FREE_METHODS, type CamInput, type CamMethod, type CamOptions, type CamResult } from './types.js';

export type Backend = 'gpu' | 'cpu';

export interface ComputeOptions extends CamOptions {
  /** Collect GPU times per stage (true / 'stage') or per kernel ('kernel') with timestamp queries, when the adapter has them. */
  timing?: boolean | TimingMode;
}

export interface CamRun extends CamResult {
  /** GPU milliseconds per stage (empty on the CPU backend or without timestamp queries). */
  stageMs: Record<string, number>;
}

/** Computes CAMs from host arrays on one backend. */
export interface CamEngine {
  readonly backend: Backend;
  /** Adapter description on the GPU backend; 'cpu fast (wasm-simd)', 'cpu fast (typescript)' or 'cpu reference' otherwise. */
  readonly adapterName: string;
  /** The GPU context (GPU backend only), to share the device or run lower-level kernels. */
  readonly gpu?: GpuContext;
  compute(method: CamMethod, input: CamInput, options?: ComputeOptions): Promise<CamRun>;
  dispose(): void;
}

/** The CPU backend's code: the fast path (default) or the plain TypeScript reference (the oracle). */
export type CpuPath = 'fast' | 'reference';

export interface EngineOptions extends GpuContextOptions {
  backend?: Backend;
  /** With backend 'cpu': 'fast' (WebAssembly SIMD where available; default) or 'reference'. */
  cpuPath?: CpuPath;
  /** Run on an existing context (shares its device, pipelines and buffer pool). */
  context?: GpuContext;
}

class CpuEngine implements CamEngine {
  readonly backend = 'cpu' as const;
  constructor(
    readonly adapterName: string,
    private readonly path: CpuPath,
    private readonly scans: ValueScans = TYPESCRIPT_SCANS,
  ) {}
  async compute(method: CamMethod, input: CamInput, options: ComputeOptions = {}): Promise<CamRun> {
    validateCamInput(method, input, options, this.scans);
    // Score-CAM and ClusCAM await the model between steps: asynchronous references.
    if (method === 'scorecam') return { ...(await scoreCamCpu(input, options)), stageMs: {} };
    if (method === 'cluscam') return { ...(await clusCamCpu(input, options)), stageMs: {} };
    if (this.path === 'fast') return { ...(await computeCamCpuFast(method, input, options)), stageMs: {} };
    return { ...computeCamCpu(method, input, options), stageMs: {} };
  }
  dispose(): void {}
}

class GpuEngine implements CamEngine {
  readonly backend = 'gpu' as const;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly gpu: GpuContext) {}

  get adapterName(): string {
    return this.gpu.adapterName;
  }

  compute(method: CamMethod, input: CamInput, options: ComputeOptions = {}): Promise<CamRun> {
    // Calls run one after another: each owns its pooled buffers until its readback is done.
    const run = this.queue.then(() => this.computeNow(method, input, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async computeNow(method: CamMethod, input: CamInput, options: ComputeOptions): Promise<CamRun> {
    validateCamInput(method, input, options);
    // Score-CAM and ClusCAM run the model between GPU steps: several submits, their own drivers.
    if (method === 'scorecam') return runScoreCamGpu(this.gpu, input, options);
    if (method === 'cluscam') return runClusCamGpu(this.gpu, input, options);
    const { device } = this.gpu;
    const rec = new Recorder(this.gpu, { timing: options.timing, label: method });
    try {
      const activations = rec.storage(input.activations.byteLength, 'activations');
      writeFloats(device, activations, input.activations);
      let gradients: GPUBuffer | null = null;
      if (input.gradients && !GRADIENT_FREE_METHODS.has(method)) {
        gradients = rec.storage(input.gradients.byteLength, 'gradients');
        writeFloats(device, gradients, input.gradients);
      }
      const { shape } = input;
      const encoded = encodeCam(rec, method, { shape, activations, gradients, classIndices: input.classIndices }, options);
      const mapBytes = shape.batch * shape.outHeight * shape.outWidth * 4;
      const mapIndex = rec.read(encoded.map, mapBytes);
      const detailIndices = encoded.cfcam ? encoded.cfcam.read(rec) : undefined;
      const signedIndex = encoded.signedMap ? rec.read(encoded.signedMap, mapBytes) : undefined;
      const { readbacks, stageMs } = await rec.submit();
      const result: CamRun = { shape, maps: new Float32Array(readbacks[mapIndex]), stageMs };
      if (encoded.cfcam && detailIndices) result.cfcam = decodeCfcamDetails(shape, readbacks, detailIndices);
      if (signedIndex !== undefined) result.signedMaps = new Float32Array(readbacks[signedIndex]);
      return result;
    } catch (error) {
      rec.abandon();
      throw error;
    }
  }

  dispose(): void {
    this.gpu.dispose();
  }
}

/** Create an engine on the GPU (default) or the CPU backend (its fast path unless cpuPath is 'reference'). */
export async function createCamEngine(options: EngineOptions = {}): Promise<CamEngine> {
  if (options.backend === 'cpu') {
    if (options.cpuPath === 'reference') return new CpuEngine('cpu reference', 'reference');
    const scans = await fastValueScans();
    return new CpuEngine(`cpu fast (${scans ? 'wasm-simd' : 'typescript'})`, 'fast', scans ?? TYPESCRIPT_SCANS);
  }
  return new GpuEngine(options.context ?? (await createGpuContext(options)));
}
