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
import { mulberry32Stream } from '../reference/prng.js';
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
  /** Conjugate-gradient stop: residual norm below tolerance * |b| (default 1e-7), at most maxIterations (default 5000). */
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

/** `image` [3, H, W] with the pixels where removed[p] is true imputed. */
export function noisyLinearImpute(image: Float32Array, removed: Uint8Array, { height, width }: ImageSize, options: ImputationOptions = {}): Float32Array {
  const plane = height * width;
  const unknowns: number[] = [];
  const variable = new Int32Array(plane).fill(-1);
  for (let p = 0; p < plane; p++) if (removed[p]) variable[p] = unknowns.push(p) - 1;
  const out = Float32Array.from(image);
  const n = unknowns.length;
  if (n === 0) return out;
  if (n === plane) throw new Error('noisy linear imputation: every pixel is removed, nothing to impute from');

  // Per unknown: its diagonal, its removed neighbours (as variables) and kept neighbours (as pixels).
  const diag = new Float64Array(n);
  const nbVar: number[][] = [];
  const nbVarW: number[][] = [];
  const nbKept: number[][] = [];
  const nbKeptW: number[][] = [];
  for (let i = 0; i < n; i++) {
    const p = unknowns[i];
    const y = Math.floor(p / width);
    const x = p % width;
    const vs: number[] = [];
    const vw: number[] = [];
    const ks: number[] = [];
    const kw: number[] = [];
    let sum = 0;
    for (const [dy, dx, w] of OFFSETS) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy < 0 || xx < 0 || yy >= height || xx >= width) continue;
      sum += w;
      const q = yy * width + xx;
      if (variable[q] >= 0) {
        vs.push(variable[q]);
        vw.push(w);
      } else {
        ks.push(q);
        kw.push(w);
      }
    }
    diag[i] = sum;
    nbVar.push(vs);
    nbVarW.push(vw);
    nbKept.push(ks);
    nbKeptW.push(kw);
  }
  const apply = (v: Float64Array, result: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let s = diag[i] * v[i];
      const vs = nbVar[i];
      const vw = nbVarW[i];
      for (let k = 0; k < vs.length; k++) s -= vw[k] * v[vs[k]];
      result[i] = s;
    }
  };
  const tolerance = options.tolerance ?? 1e-7;
  const maxIterations = options.maxIterations ?? 5000;
  const noise = options.noise ?? 0.01;
  const draw = noise > 0 ? gaussianStream(options.seed ?? 0) : undefined;
  const x = new Float64Array(n);
  const r = new Float64Array(n);
  const d = new Float64Array(n);
  const q = new Float64Array(n);
  for (let c = 0; c < 3; c++) {
    const offset = c * plane;
    // Right-hand side; start from the mean of the kept neighbours' values (0 if none).
    let bNorm = 0;
    for (let i = 0; i < n; i++) {
      let b = 0;
      const ks = nbKept[i];
      const kw = nbKeptW[i];
      for (let k = 0; k < ks.length; k++) b += kw[k] * image[offset + ks[k]];
      r[i] = b;
      bNorm += b * b;
      x[i] = 0;
    }
    bNorm = Math.sqrt(bNorm);
    if (bNorm > 0) {
      // r = b - A x with x = 0.
      d.set(r);
      let rr = 0;
      for (let i = 0; i < n; i++) rr += r[i] * r[i];
      for (let it = 0; it < maxIterations && Math.sqrt(rr) > tolerance * bNorm; it++) {
        apply(d, q);
        let dq = 0;
        for (let i = 0; i < n; i++) dq += d[i] * q[i];
        const alpha = rr / dq;
        let next = 0;
        for (let i = 0; i < n; i++) {
          x[i] += alpha * d[i];
          r[i] -= alpha * q[i];
          next += r[i] * r[i];
        }
        const beta = next / rr;
        rr = next;
        for (let i = 0; i < n; i++) d[i] = r[i] + beta * d[i];
      }
    }
    for (let i = 0; i < n; i++) out[offset + unknowns[i]] = x[i] + (draw ? noise * draw() : 0);
  }
  return out;
}
