/**
 * CPU twin of the GPU Soft-CAM method (./gpu.ts). The activations are the
 * network's class-evidence maps [B, classes, h, w]; image b shows A_{classIndices[b]}, resized
 * bilinearly (align_corners=false) to outHeight x outWidth: signed (`signedMaps`) and min-max
 * normalised, (v - min) / ((max - min) + 1e-7) (`maps`; a constant map gives zeros).
 * Inputs are assumed validated (validateCamInput).
 */
import type { CamInput, CamResult } from '../../types.js';
import { minmaxInPlace } from '../common/postprocess-cpu.js';
import { resizeBilinear } from '../common/resize-cpu.js';

/** Soft-CAM of one image: the resized evidence map of `classIndex`, signed and normalised. */
export function softcamImage(
  evidence: Float32Array,
  classIndex: number,
  H: number,
  W: number,
  outH: number,
  outW: number,
): { signedMap: Float64Array; map: Float64Array } {
  const plane = evidence.subarray(classIndex * H * W, (classIndex + 1) * H * W);
  const signedMap = resizeBilinear(plane, H, W, outH, outW);
  return { signedMap, map: minmaxInPlace(Float64Array.from(signedMap)) };
}

/** Soft-CAM for every image of the batch. */
export function softcamCpu(input: CamInput): CamResult {
  const { batch: B, channels: C, height: H, width: W, outHeight, outWidth } = input.shape;
  if (!input.classIndices) throw new Error('method softcam needs classIndices');
  const mapSize = outHeight * outWidth;
  const maps = new Float32Array(B * mapSize);
  const signedMaps = new Float32Array(B * mapSize);
  for (let b = 0; b < B; b++) {
    const evidence = input.activations.subarray(b * C * H * W, (b + 1) * C * H * W);
    const r = softcamImage(evidence, input.classIndices[b], H, W, outHeight, outWidth);
    maps.set(r.map, b * mapSize);
    signedMaps.set(r.signedMap, b * mapSize);
  }
  return { shape: { ...input.shape }, maps, signedMaps };
}
