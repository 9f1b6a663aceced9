/**
 * The zero-copy path, end to end in the browser: ONNX Runtime Web's WebGPU EP runs the gradient
 * model on *our* GPUDevice, and the CAM kernels bind the very GPU buffers ORT returns
 * (activations and d logit / d activations never leave the GPU; only the final map is read back).
 *
 *   model bytes ──buildGradientModel──▶ gradient model (outputs: logits, activations, gradients)
 *   input ──ORT WebGPU EP (our device)──▶ ORT's GPUBuffers ──encodeCam──▶ map ──readback──▶ host
 *
 * The pieces, in the order used below:
 * 1. `createGpuContext()` — our device (navigator.gpu), pipeline cache and buffer pool.
 * 2. `buildGradientModel(bytes, { target })` — the model rewritten so one forward run also
 *    returns the target layer's activations and gradients; `class_index = -1` = top-1 class.
 * 3. `createModelSession(gm.bytes, { ort, context, gpuOutputs })` — ORT on the WebGPU EP with
 *    our device; GPU outputs come back as `{ buffer, offset, size }` windows. ORT rounds buffer
 *    sizes up, so always bind with the explicit `size` (never the whole buffer).
 * 4. `encodeCam(rec, method, { shape, activations, gradients })` recorded into one Recorder
 *    together with the map's readback; one submit.
 *
 * `ort` must be `onnxruntime-web/webgpu` (the C++ WebGPU EP; plain `onnxruntime-web` ignores our
 * device) with `ort.env.wasm.wasmPaths` already pointing at its wasm files.
 *
 * Besides the map, the result reports what a zero-copy check needs: whether ORT shares our
 * device, how many outputs had to be uploaded (0 on the zero-copy path), and the GPUBuffer
 * objects ORT returned and the ones the kernels actually bound (compare identity with ===).
 * Those buffers are released when this function returns: use them for identity checks only.
 */
import { createGpuContext, type GpuContext } from '../engine/gpu/context.js';
import { Recorder, type BufferBinding, type StagePass } from '../engine/gpu/recorder.js';
import type { Defines, KernelDef } from '../engine/gpu/pipelines.js';
import { encodeCam } from '../engine/methods/encode.js';
import { listCandidateLayers } from '../engine/model/candidates.js';
import { buildGradientModel } from '../engine/model/gradient-graph.js';
import { createModelSession, type OrtModule } from '../engine/model/session.js';
import { type CamOptions } from '../engine/types.js';
import type { CamMethod } from '../engine/methods/registry.js';
import { GRADIENT_FREE_METHODS } from '../engine/methods/registry.js';

export interface ExplainOnGpuOptions {
  method: CamMethod;
  /** Target layer (a node output name); default: the deepest candidate layer. */
  layer?: string;
  /** Class to explain; default -1 (the model's top-1 class, resolved inside the graph). */
  classIndex?: number;
  /** CAM options (CF-CAM mode, bilateral parameters, ...). */
  cam?: CamOptions;
  /** Use this context (its device) instead of creating one; it is not disposed here. */
  context?: GpuContext;
}

export interface ExplainOnGpuResult {
  /** [outHeight, outWidth] = the model's input size, values in [0, 1]. */
  map: Float32Array;
  mapHeight: number;
  mapWidth: number;
  /** Host copy of the logits [numClasses]. */
  logits?: Float32Array;
  /** argmax of the logits (the class explained when classIndex is -1). */
  topClass?: number;
  layer: string;
  /** [N, C, H, W] of the activations and gradients. */
  activationsShape: number[];
  /** 'webgpu' when ORT ran on the GPU. */
  backend: 'webgpu' | 'wasm';
  /** Whether ORT's GPU outputs are buffers of our device (the zero-copy condition). */
  sharesDevice: boolean | undefined;
  /** Outputs that had to be uploaded into our device (0 on the zero-copy path). */
  uploads: number;
  /** Every GPUBuffer bound by the CAM kernels' bind groups (identity checks only). */
  boundBuffers: GPUBuffer[];
  /** The GPUBuffers ORT returned, and their exact byte sizes vs the buffers' allocated sizes. */
  ortBuffers: { activations: GPUBuffer; gradients: GPUBuffer };
  ortSizes: { activations: { size: number; bufferSize: number }; gradients: { size: number; bufferSize: number } };
}

/** A Recorder that also notes every buffer it binds (instrumentation for the zero-copy check). */
class BindingRecorder extends Recorder {
  readonly bound = new Set<GPUBuffer>();

  private note(resources: readonly BufferBinding[]): void {
    for (const r of resources) this.bound.add('buffer' in r ? r.buffer : r);
  }

  override dispatch(pass: StagePass, kernel: KernelDef, defines: Defines, resources: readonly BufferBinding[], workgroups: readonly [number, number?, number?]): void {
    this.note(resources);
    super.dispatch(pass, kernel, defines, resources, workgroups);
  }

  override dispatchIndirect(pass: StagePass, kernel: KernelDef, defines: Defines, resources: readonly BufferBinding[], args: GPUBuffer, offset = 0): void {
    this.note(resources);
    super.dispatchIndirect(pass, kernel, defines, resources, args, offset);
  }
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Run `modelBytes` on `input` (the model's input tensor, NCHW float32) and explain it on the GPU, zero-copy. */
export async function explainOnGpu(ort: OrtModule, modelBytes: Uint8Array, input: Float32Array, options: ExplainOnGpuOptions): Promise<ExplainOnGpuResult> {
  const ctx = options.context ?? (await createGpuContext());
  const layer = options.layer ?? listCandidateLayers(modelBytes)[0]?.name;
  if (!layer) throw new Error('the model has no 4-D feature layer on the path to its logits');
  const gm = buildGradientModel(modelBytes, { target: layer });
  const { activations: actName, gradients: gradName, logits: logitsName } = gm.outputs;

  const session = await createModelSession(gm.bytes, { ort, context: ctx, gpuOutputs: [actName, gradName] });
  try {
    const run = await session.run(
      {
        [gm.inputName]: { data: input, dims: gm.inputShape },
        [gm.classInputName]: { data: BigInt64Array.from([BigInt(options.classIndex ?? -1)]), dims: [1] },
      },
      { host: [logitsName], gpu: [actName, gradName] },
    );
    try {
      const activations = run.gpu[actName];
      const gradients = run.gpu[gradName];
      const [batch, channels, height, width] = gm.activationsShape;
      const [, , mapHeight, mapWidth] = gm.inputShape;
      const shape = { batch, channels, height, width, outHeight: mapHeight, outWidth: mapWidth };

      // ORT's buffers, bound as they are: explicit offset and size (the buffers are rounded up).
      const rec = new BindingRecorder(ctx);
      let mapIndex: number;
      try {
        const encoded = encodeCam(
          rec,
          options.method,
          {
            shape,
            activations: { buffer: activations.buffer, offset: activations.offset, size: activations.size },
            gradients: GRADIENT_FREE_METHODS.has(options.method) ? null : { buffer: gradients.buffer, offset: gradients.offset, size: gradients.size },
          },
          options.cam ?? {},
        );
        mapIndex = rec.read(encoded.map, batch * mapHeight * mapWidth * 4);
      } catch (error) {
        rec.abandon();
        throw error;
      }
      const { readbacks } = await rec.submit();

      const logits = Float32Array.from(run.host[logitsName].data as Float32Array);
      return {
        map: new Float32Array(readbacks[mapIndex]),
        mapHeight,
        mapWidth,
        logits,
        topClass: argmax(logits),
        layer,
        activationsShape: [...gm.activationsShape],
        backend: session.backend,
        sharesDevice: session.sharesDevice,
        uploads: session.stats().liveUploads,
        boundBuffers: [...rec.bound],
        ortBuffers: { activations: activations.buffer, gradients: gradients.buffer },
        ortSizes: {
          activations: { size: activations.size, bufferSize: activations.buffer.size },
          gradients: { size: gradients.size, bufferSize: gradients.buffer.size },
        },
      };
    } finally {
      run.dispose();
    }
  } finally {
    await session.dispose();
    if (!options.context) ctx.dispose();
  }
}
