import { createGpuContext, type GpuContext, type GpuContextOptions } from './gpu/context.js';
import { Recorder } from './gpu/recorder.js';
import { writeFloats } from './gpu/upload.js';
import { methodDefinition } from './methods/registry.js';
import { validateCamInput } from './validate.js';
import type { CamInput, CamRun, ComputeOptions } from './types.js';
import type { CamMethod } from './methods/registry.js';

export type { CamRun, ComputeOptions } from './types.js';

export type Backend = 'gpu' | 'cpu';

/** Computes CAMs from host arrays on one backend. */
export interface CamEngine {
  readonly backend: Backend;
  /** Adapter description on the GPU backend; 'cpu reference' otherwise. */
  readonly adapterName: string;
  /** The GPU context (GPU backend only), to share the device or run lower-level kernels. */
  readonly gpu?: GpuContext;
  compute(method: CamMethod, input: CamInput, options?: ComputeOptions): Promise<CamRun>;
  dispose(): void;
}

export interface EngineOptions extends GpuContextOptions {
  backend?: Backend;
  /** Run on an existing context (shares its device, pipelines and buffer pool). */
  context?: GpuContext;
}

/** Each method's CPU twin (methods/<method>/cpu.ts); some await the model between steps. */
class CpuEngine implements CamEngine {
  readonly backend = 'cpu' as const;
  readonly adapterName = 'cpu reference';
  async compute(method: CamMethod, input: CamInput, options: ComputeOptions = {}): Promise<CamRun> {
    validateCamInput(method, input, options);
    return { ...(await methodDefinition(method).cpu(input, options)), stageMs: {} };
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
    const definition = methodDefinition(method);
    // Methods that run the model between GPU steps drive their own submits.
    if (definition.gpu.kind === 'driver') return definition.gpu.run(this.gpu, input, options);
    const { device } = this.gpu;
    const rec = new Recorder(this.gpu, { timing: options.timing, label: method });
    try {
      const activations = rec.storage(input.activations.byteLength, 'activations');
      writeFloats(device, activations, input.activations);
      let gradients: GPUBuffer | null = null;
      if (input.gradients && definition.capabilities.gradients) {
        gradients = rec.storage(input.gradients.byteLength, 'gradients');
        writeFloats(device, gradients, input.gradients);
      }
      const { shape } = input;
      const encoded = definition.gpu.encode(rec, { shape, activations, gradients, classIndices: input.classIndices }, options);
      const mapBytes = shape.batch * shape.outHeight * shape.outWidth * 4;
      const mapIndex = rec.read(encoded.map, mapBytes);
      const detailIndices = encoded.details?.read(rec);
      const signedIndex = encoded.signedMap ? rec.read(encoded.signedMap, mapBytes) : undefined;
      const { readbacks, stageMs } = await rec.submit();
      const result: CamRun = { shape, maps: new Float32Array(readbacks[mapIndex]), stageMs };
      if (encoded.details && detailIndices) Object.assign(result, encoded.details.decode(readbacks, detailIndices));
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

/** Create an engine on the GPU (default) or the CPU reference backend. */
export async function createCamEngine(options: EngineOptions = {}): Promise<CamEngine> {
  if (options.backend === 'cpu') return new CpuEngine();
  return new GpuEngine(options.context ?? (await createGpuContext(options)));
}
