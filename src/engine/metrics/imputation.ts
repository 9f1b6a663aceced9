/**
 * ROAD's noisy linear imputation (Rong et al. 2022; the NoisyLinearImputer that
 * pytorch-grad-cam ships): every removed pixel takes the weighted mean of its 8 neighbours
 * (weight 1/6 for the 4 direct ones, 1/12 for the diagonals, only neighbours inside the image),
 * where neighbours that are removed too are unknowns of the same linear system; then Gaussian
 * noise of standard deviation `noise` (default 0.01) is added to the imputed values. Each
 * channel of the normalised input is solved on its own.
 *
 * The system (sum_j w_ij) x_i - sum_{j removed} w_ij x_j = sum_{j kept} w_ij v_j is symmetric
 * positive definite whenever each connected removed region touches a kept pixel, so conjugate
 * gradients solve it (pytorch-grad-cam uses a sparse direct solve: the same solution to the
 * tolerance). This solve runs on the CPU for both backends: it is a sparse iterative solve, not
 * a per-pixel perturbation.
 */
import { mulberry32Stream } from '../util/prng.js';
import type { ImageSize } from './perturber.js';

const OFFSETS: readonly [number, number, number][] = [
  [1, 1, 1 / 12],
  [0, 1, 1 / 6],
  [-1, 1, 1 / 12],
  [1, -1, 1 / 12],
  [0, -1, 1 / 6],
  [-1, -1, 1 / 12],
  [1, 0, 1 / 6],
  [-1, 0, 1 / 6],
];

export interface ImputationOptions {
  noise?: number;
  seed?: number;
  /** Conjugate-gradient stop: residual norm below tolerance * |b| (default 1e-5: imputed values within about 1e-3 of the exact solve, well under the 0.01 noise), at most maxIterations (default 2000) per grid level. */
  tolerance?: number;
  maxIterations?: number;
}

/** Standard normal draws from the engine's PRNG (Box-Muller on two 24-bit uniforms). */
export function gaussianStream(seed: number): () => number {
  const rng = mulberry32Stream(seed);
  return () => {
    const u = Math.max(rng.nextFloat24(), 2 ** -25);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat24());
  };
}

/**
 * The starting guess for the fine solve (cascadic conjugate gradients): the same problem on a
 * 2x2-coarser grid (a coarse cell is known when any of its pixels is, with their mean value),
 * solved the same way, its solution copied down to the fine unknowns. The low frequencies,
 * which cost conjugate gradients most iterations on big holes, are then already right.
 */
function coarseGuess(image: Float64Array, removed: Uint8Array, height: number, width: number, tolerance: number, maxIterations: number): Float64Array | undefined {
  if (height < 16 || width < 16) return undefined;
  const ch = Math.ceil(height / 2);
  const cw = Math.ceil(width / 2);
  const sum = new Float64Array(3 * ch * cw);
  const count = new Float64Array(ch * cw);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (removed[p]) continue;
      const q = (y >> 1) * cw + (x >> 1);
      count[q]++;
      for (let c = 0; c < 3; c++) sum[c * ch * cw + q] += image[c * height * width + p];
    }
  }
  const coarseRemoved = Uint8Array.from(count, (k) => (k === 0 ? 1 : 0));
  if (coarseRemoved.every((r) => r === 1)) return undefined;
  for (let q = 0; q < ch * cw; q++) if (count[q]) for (let c = 0; c < 3; c++) sum[c * ch * cw + q] /= count[q];
  const coarse = solveHarmonic(sum, coarseRemoved, ch, cw, tolerance, maxIterations);
  const guess = new Float64Array(3 * height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const q = (y >> 1) * cw + (x >> 1);
      for (let c = 0; c < 3; c++) guess[c * height * width + y * width + x] = coarse[c * ch * cw + q];
    }
  }
  return guess;
}

/** `image` [3, H, W] with the pixels where removed[p] is true imputed. */
export function noisyLinearImpute(image: Float32Array, removed: Uint8Array, { height, width }: ImageSize, options: ImputationOptions = {}): Float32Array {
  const plane = height * width;
  let missing = 0;
  for (let p = 0; p < plane; p++) missing += removed[p];
  if (missing === plane) throw new Error('noisy linear imputation: every pixel is removed, nothing to impute from');
  const solved = solveHarmonic(Float64Array.from(image), removed, height, width, options.tolerance ?? 1e-5, options.maxIterations ?? 2000);
  const out = Float32Array.from(image);
  const noise = options.noise ?? 0.01;
  const draw = noise > 0 ? gaussianStream(options.seed ?? 0) : undefined;
  // Channel by channel, pixel order: the noise stream is consumed in a fixed order.
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) if (removed[p]) out[c * plane + p] = solved[c * plane + p] + (draw ? noise * draw() : 0);
  }
  return out;
}

/** The noiseless linear imputation of `image` (float64, [3, H, W]): a filled copy. */
function solveHarmonic(image: Float64Array, removed: Uint8Array, height: number, width: number, tolerance: number, maxIterations: number): Float64Array {
  const plane = height * width;
  const unknowns: number[] = [];
  const variable = new Int32Array(plane).fill(-1);
  for (let p = 0; p < plane; p++) if (removed[p]) variable[p] = unknowns.push(p) - 1;
  const out = Float64Array.from(image);
  const n = unknowns.length;
  if (n === 0) return out;

  // The system in compressed rows: per unknown its diagonal, its removed neighbours (columns)
  // and the right-hand side from its kept neighbours, for the three channels at once.
  const diag = new Float64Array(n);
  const rowStart = new Int32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  const b = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const p = unknowns[i];
    const y = Math.floor(p / width);
    const x = p % width;
    let sum = 0;
    for (const [dy, dx, w] of OFFSETS) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy < 0 || xx < 0 || yy >= height || xx >= width) continue;
      sum += w;
      const q = yy * width + xx;
      if (variable[q] >= 0) {
        cols.push(variable[q]);
        vals.push(w);
      } else {
        for (let c = 0; c < 3; c++) b[c * n + i] += w * image[c * plane + q];
      }
    }
    diag[i] = sum;
    rowStart[i + 1] = cols.length;
  }
  const col = Int32Array.from(cols);
  const val = Float64Array.from(vals);
  const apply = (v: Float64Array, result: Float64Array, offset: number) => {
    for (let i = 0; i < n; i++) {
      let s = diag[i] * v[offset + i];
      for (let k = rowStart[i]; k < rowStart[i + 1]; k++) s -= val[k] * v[offset + col[k]];
      result[offset + i] = s;
    }
  };
  const guess = coarseGuess(image, removed, height, width, tolerance, maxIterations);
  const x = new Float64Array(3 * n);
  if (guess) for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) x[c * n + i] = guess[c * plane + unknowns[i]];
  const r = new Float64Array(3 * n);
  const d = new Float64Array(3 * n);
  const q = new Float64Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const o = c * n;
    let bNorm = 0;
    for (let i = 0; i < n; i++) bNorm += b[o + i] * b[o + i];
    bNorm = Math.sqrt(bNorm);
    apply(x, q, o);
    let rr = 0;
    for (let i = 0; i < n; i++) {
      r[o + i] = b[o + i] - q[o + i];
      d[o + i] = r[o + i];
      rr += r[o + i] * r[o + i];
    }
    const stop = tolerance * Math.max(bNorm, 1e-30);
    for (let it = 0; it < maxIterations && Math.sqrt(rr) > stop; it++) {
      apply(d, q, o);
      let dq = 0;
      for (let i = 0; i < n; i++) dq += d[o + i] * q[o + i];
      const alpha = rr / dq;
      let next = 0;
      for (let i = 0; i < n; i++) {
        x[o + i] += alpha * d[o + i];
        r[o + i] -= alpha * q[o + i];
        next += r[o + i] * r[o + i];
      }
      const beta = next / rr;
      rr = next;
      for (let i = 0; i < n; i++) d[o + i] = r[o + i] + beta * d[o + i];
    }
    for (let i = 0; i < n; i++) out[c * plane + unknowns[i]] = x[o + i];
  }
  return out;
}
