/**
 * The CPU fast path: every layer method behind one call with the CPU reference's signature and
 * results (src/engine/reference/ stays the oracle it is tested against). CF-CAM runs its
 * pairwise distances in WebAssembly SIMD (TypeScript loops with the same float32 arithmetic
 * where SIMD is missing); the Grad-CAM family and Eigen-CAM use allocation-free typed loops.
 * Score-CAM and ClusCAM (the model dominates) and Soft-CAM (a resize) use the reference.
 */
import { InvalidOptionError } from '../errors.js';
import { computeCamCpu } from '../reference/index.js';
import type { GradientMethod } from '../reference/gradient-family.js';
import type { CamInput, CamMethod, CamOptions, CamResult, CfcamDetails } from '../types.js';
import { cfcamImageFast } from './cfcam.js';
import { eigencamInto } from './eigencam.js';
import { gradientFamilyInto, gradientFamilySimd } from './gradient-family.js';
import { loadSimdKernels, simdValueScans, type SimdKernels } from './wasm.js';

const GRADIENT_METHODS: ReadonlySet<CamMethod> = new Set(['gradcam', 'gradcampp', 'xgradcam', 'layercam', 'hirescam']);

/** Methods with their own fast-path code (the others are the reference's). */
export const FAST_CPU_METHODS: ReadonlySet<CamMethod> = new Set(['cfcam', 'eigencam', ...GRADIENT_METHODS]);

export interface FastCpuOptions {
  /** Use the WebAssembly SIMD kernels where available (default true); false runs their TypeScript twins. */
  simd?: boolean;
}

/** Which kernels the fast path runs on: 'wasm-simd' or 'typescript'. */
export async function fastCpuKernelKind(options: FastCpuOptions = {}): Promise<'wasm-simd' | 'typescript'> {
  return options.simd !== false && (await loadSimdKernels()) ? 'wasm-simd' : 'typescript';
}

/** Validation scans on the SIMD kernels (null without WebAssembly SIMD). */
export async function fastValueScans(): Promise<ReturnType<typeof simdValueScans> | null> {
  const kernels = await loadSimdKernels();
  return kernels && simdValueScans(kernels);
}

/**
 * Compute `method` for every image of the batch on the fast path. Inputs are assumed
 * validated (validateCamInput); Score-CAM and ClusCAM are asynchronous and not handled here.
 */
export async function computeCamCpuFast(method: CamMethod, input: CamInput, options: CamOptions = {}, fast: FastCpuOptions = {}): Promise<CamResult> {
  if (!FAST_CPU_METHODS.has(method)) {
    if (method === 'scorecam' || method === 'cluscam') {
      throw new InvalidOptionError(`${method} awaits the model between steps: use engine.compute or ${method === 'scorecam' ? 'scoreCamCpu' : 'clusCamCpu'}`);
    }
    return computeCamCpu(method, input, options);
  }
  const kernels = fast.simd === false ? null : await loadSimdKernels();
  return computeLayerMethod(kernels, method, input, options);
}

function computeLayerMethod(kernels: SimdKernels | null, method: CamMethod, input: CamInput, options: CamOptions): CamResult {
  const { batch: B, channels: C, height: H, width: W, outHeight, outWidth } = input.shape;
  const imageSize = C * H * W;
  const mapSize = outHeight * outWidth;
  const maps = new Float32Array(B * mapSize);
  const activationsOf = (b: number) => input.activations.subarray(b * imageSize, (b + 1) * imageSize);
  const gradientsOf = (b: number) => {
    if (!input.gradients) throw new InvalidOptionError(`method ${method} needs gradients`);
    return input.gradients.subarray(b * imageSize, (b + 1) * imageSize);
  };
  const mapOf = (b: number) => maps.subarray(b * mapSize, (b + 1) * mapSize);

  if (method === 'cfcam') {
    const details: CfcamDetails = {
      labels: new Int32Array(B * C),
      weights: new Float32Array(B * C),
      eps: new Float32Array(B),
      normThreshold: new Float32Array(B),
      minSamples: new Int32Array(B),
      clusters: new Int32Array(B),
      important: new Int32Array(B),
      noise: new Int32Array(B),
    };
    for (let b = 0; b < B; b++) {
      const r = cfcamImageFast(kernels, activationsOf(b), gradientsOf(b), C, H, W, outHeight, outWidth, options, mapOf(b));
      details.labels.set(r.labels, b * C);
      details.weights.set(r.weights, b * C);
      details.eps[b] = r.eps;
      details.normThreshold[b] = r.normThreshold;
      details.minSamples[b] = r.minSamples;
      details.clusters[b] = r.clusters;
      details.important[b] = r.important;
      details.noise[b] = r.noise;
    }
    return { shape: { ...input.shape }, maps, cfcam: details };
  }
  for (let b = 0; b < B; b++) {
    if (method === 'eigencam') eigencamInto(activationsOf(b), C, H, W, outHeight, outWidth, mapOf(b), kernels);
    else if (kernels) gradientFamilySimd(kernels, method as GradientMethod, activationsOf(b), gradientsOf(b), C, H, W, outHeight, outWidth, mapOf(b));
    else gradientFamilyInto(method as GradientMethod, activationsOf(b), gradientsOf(b), C, H, W, outHeight, outWidth, mapOf(b));
  }
  return { shape: { ...input.shape }, maps };
}
