/**
 * The method contract: what one CAM method declares so that the engine, encodeCam, the CPU
 * backend, the CLI and the explainers can run it without knowing its name. Each method folder
 * exports one CamMethodDefinition (its `method.ts`); methods/registry.ts lists them.
 */
import type { GpuContext } from '../gpu/context.js';
import type { BufferBinding, Recorder } from '../gpu/recorder.js';
import type { CamInput, CamOptions, CamResult, CamRun, CamShape, ComputeOptions } from '../types.js';

/** What a method needs and what it gives, beyond activations in and maps out. */
export interface MethodCapabilities {
  /** Reads the class-logit gradients d f_c / dA (CamInput.gradients). */
  readonly gradients: boolean;
  /** Scores masked copies of the model input with the model (CamInput.scorer). */
  readonly scorer: boolean;
  /**
   * Explains a self-explaining model's own class-evidence layer (one channel per class), not any
   * layer: it needs CamInput.classIndices and returns the signed map at layer resolution too.
   */
  readonly evidenceLayer: boolean;
}

/** Device-resident inputs of one call: [B,C,H,W] float32 each (explicit sizes allowed). */
export interface GpuCamInputs {
  shape: CamShape;
  activations: BufferBinding;
  /** null for methods that read no gradients. */
  gradients: BufferBinding | null;
  /** Soft-CAM: the class (evidence-map channel) shown for each image, length B. */
  classIndices?: Int32Array;
}

/** Extra results a method leaves on the GPU: queued for readback, then decoded on the host. */
export interface EncodedDetails {
  /** Queue the readbacks on `rec`; returns their indices for `decode`. */
  read(rec: Recorder): number[];
  /** The result fields (e.g. `cfcam`) made from the readbacks queued by `read`. */
  decode(readbacks: ArrayBuffer[], indices: number[]): Partial<CamResult>;
}

/** What a recorded method leaves on the GPU. */
export interface EncodedCam {
  /** [B, outHeight, outWidth] float32, final normalised maps (a recorder temporary). */
  map: GPUBuffer;
  /** [B, outHeight, outWidth] a signed, unnormalised map (Soft-CAM's resized evidence). */
  signedMap?: GPUBuffer;
  /** Method details to read back with the map (CF-CAM's labels, weights, eps, ...). */
  details?: EncodedDetails;
  /** CF-CAM: its label, weight and per-image state buffers (also read through `details`). */
  cfcam?: { labels: GPUBuffer; weights: GPUBuffer; state: GPUBuffer; read(rec: Recorder): number[] };
}

/**
 * How a method runs on the GPU: recorded into one command encoder (one submit, nothing read back
 * in between), or driven as several submits because the model runs between GPU steps.
 */
export type GpuImplementation =
  | { readonly kind: 'recorded'; encode(rec: Recorder, inputs: GpuCamInputs, options: CamOptions): EncodedCam }
  | { readonly kind: 'driver'; run(gpu: GpuContext, input: CamInput, options: ComputeOptions): Promise<CamRun> };

/** Everything the engine needs to know about one method. */
export interface CamMethodDefinition {
  /** Display name, e.g. 'Grad-CAM++'. */
  readonly label: string;
  readonly capabilities: MethodCapabilities;
  /**
   * Check this method's options against the layer before anything runs (the explainers call it
   * before the model; the engine calls it through validateCamInput). Throws InvalidOptionError.
   */
  validateOptions?(options: CamOptions, layer: { batch: number; channels: number; height: number; width: number }): void;
  /** Method-specific checks of the input, after the shared shape and finiteness checks. */
  validateInput?(input: CamInput, options: CamOptions): void;
  readonly gpu: GpuImplementation;
  /** The CPU twin: the same result for the whole batch (inputs validated). */
  cpu(input: CamInput, options: CamOptions): CamResult | Promise<CamResult>;
}
