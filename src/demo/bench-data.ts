/**
 * Deterministic synthetic layers for the browser benchmark (src/demo/bench.ts) and for Node
 * (tests, comparisons): the same generator everywhere, so every case of every run sees the same
 * numbers. Plain TypeScript, no DOM and no node: imports.
 *
 * Each image has seven groups of channels of unequal sizes (GROUP_SHARES). A group shares a
 * prototype H x W pattern (a Gaussian blob at a group-specific place and width); its channels
 * are the prototype times a small per-channel gain plus a little noise, so channels of one group
 * lie close together and far from other groups: CF-CAM's DBSCAN finds real clusters (4 to 6 at
 * the benchmark's layers) and noise channels, as at a trained network's layer. One channel in eight is a strong "important" channel (high norm),
 * one in sixteen pure noise. Gradients are per group (a shared sign and size, spatially
 * varying) plus noise, so every gradient method gets non-trivial weights.
 *
 * Image b of a batch uses its own seed, so a batch of 8 is the first 8 images of a batch of 32.
 */
import type { CamInput, CamShape } from '../engine/types.js';
import { mulberry32Floats } from '../engine/util/prng.js';

export interface LayerShape {
  channels: number;
  height: number;
  width: number;
}

/** '2048x7x7' -> { channels: 2048, height: 7, width: 7 } (also 'CxS' for a square layer). */
export function parseLayerShape(text: string): LayerShape {
  const parts = text.trim().toLowerCase().split('x').map((p) => Number(p));
  if ((parts.length !== 3 && parts.length !== 2) || parts.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new Error(`bad layer shape '${text}': expected CxHxW, e.g. 2048x7x7`);
  }
  const [channels, height, width = height] = parts;
  return { channels, height, width };
}

export function formatLayerShape(s: LayerShape): string {
  return `${s.channels}x${s.height}x${s.width}`;
}

/** A small, fast, deterministic PRNG (mulberry32) giving floats in [0, 1): the engine's. */
export const mulberry32 = mulberry32Floats;

/**
 * Share of the clustered channels in each group. Unequal on purpose: CF-CAM's eps is the 25th
 * percentile of all pairwise distances, so the within-group pairs must make up more than a
 * quarter of all pairs (here about 30%) for eps to separate the groups instead of merging them.
 */
export const GROUP_SHARES = [0.45, 0.15, 0.12, 0.09, 0.08, 0.06, 0.05] as const;

/**
 * Fill one image's activations and gradients ([C,H,W] each) from `seed`.
 * Writes into the given arrays at `offset` (in floats).
 */
export function fillBenchImage(
  shape: LayerShape,
  seed: number,
  activations: Float32Array,
  gradients: Float32Array,
  offset = 0,
): void {
  const { channels: C, height: H, width: W } = shape;
  const HW = H * W;
  const random = mulberry32(0x9e3779b9 ^ Math.imul(seed + 1, 0x85ebca6b));
  const groups = GROUP_SHARES.length;
  // Per-group prototype (a blob, scaled to an RMS of `level`) and gradient size/slopes.
  const proto = new Float32Array(groups * HW);
  const gradScale = new Float32Array(groups);
  const gradSlopeY = new Float32Array(groups);
  const gradSlopeX = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    const cy = random() * (H - 1);
    const cx = random() * (W - 1);
    const sigma = Math.max(0.7, (0.15 + 0.25 * random()) * Math.min(H, W));
    const level = 0.3 + 0.4 * random();
    let sumSq = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma * sigma));
        proto[g * HW + y * W + x] = v;
        sumSq += v * v;
      }
    }
    const scale = level / Math.sqrt(sumSq / HW);
    for (let p = 0; p < HW; p++) proto[g * HW + p] *= scale;
    gradScale[g] = (random() - 0.35) * 2e-3;
    gradSlopeY[g] = (random() - 0.5) * 1e-3;
    gradSlopeX[g] = (random() - 0.5) * 1e-3;
  }
  for (let k = 0; k < C; k++) {
    const base = offset + k * HW;
    // One channel in eight is strong (an "important" channel by norm), one in sixteen is noise.
    const kind = k % 16 === 15 ? 'noise' : k % 8 === 3 ? 'strong' : 'group';
    let g = 0;
    for (let u = random(), acc = GROUP_SHARES[0]; u >= acc && g < groups - 1; acc += GROUP_SHARES[++g]);
    const gain = kind === 'strong' ? 3 + 2 * random() : 0.95 + 0.1 * random();
    for (let p = 0; p < HW; p++) {
      const y = Math.floor(p / W);
      const x = p - y * W;
      activations[base + p] = kind === 'noise' ? 0.8 * random() : gain * proto[g * HW + p] + 0.02 * random();
      gradients[base + p] =
        gradScale[g] + gradSlopeY[g] * (y / H - 0.5) + gradSlopeX[g] * (x / W - 0.5) + (random() - 0.5) * 2e-4;
    }
  }
}

/** A batch of `batch` synthetic images of `shape`, maps out at outSize x outSize. */
export function benchInput(shape: LayerShape, batch: number, outSize = 224): CamInput {
  const imageSize = shape.channels * shape.height * shape.width;
  const activations = new Float32Array(batch * imageSize);
  const gradients = new Float32Array(batch * imageSize);
  for (let b = 0; b < batch; b++) fillBenchImage(shape, b, activations, gradients, b * imageSize);
  const camShape: CamShape = { batch, ...shape, outHeight: outSize, outWidth: outSize };
  return { shape: camShape, activations, gradients };
}

/** The first `batch` images of `input` (a view, no copy). */
export function sliceBatch(input: CamInput, batch: number): CamInput {
  const { shape } = input;
  if (batch > shape.batch) throw new Error(`sliceBatch: ${batch} > ${shape.batch}`);
  const n = batch * shape.channels * shape.height * shape.width;
  return {
    shape: { ...shape, batch },
    activations: input.activations.subarray(0, n),
    gradients: input.gradients?.subarray(0, n),
  };
}

/**
 * A deterministic model input [N,3,H,W] (float32, already normalised: values of an ImageNet-
 * normalised image): smooth colour gradients, a few bright discs and a little noise.
 */
export function benchImageTensor(dims: readonly number[], seed = 7): Float32Array {
  if (dims.length !== 4) throw new Error(`benchImageTensor: expected [N,C,H,W], got [${dims.join(',')}]`);
  const [N, C, H, W] = dims;
  const out = new Float32Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    const random = mulberry32(seed * 7919 + n);
    const discs = Array.from({ length: 4 }, () => ({ y: random() * H, x: random() * W, r: (0.08 + 0.12 * random()) * Math.min(H, W), v: random() }));
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          let v = 0.3 + 0.4 * ((c + 1) * (x / W) + (C - c) * (y / H)) / (C + 1);
          for (const d of discs) if ((y - d.y) ** 2 + (x - d.x) ** 2 <= d.r * d.r) v = 0.5 + 0.5 * ((d.v + c * 0.37) % 1);
          v += 0.05 * (random() - 0.5);
          out[((n * C + c) * H + y) * W + x] = (v - 0.45) / 0.226;
        }
      }
    }
  }
  return out;
}
