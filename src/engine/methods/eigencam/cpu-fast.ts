/**
 * Eigen-CAM on the CPU fast path. The same Gram matrix as cpu.ts (the CPU reference) (float64, same
 * summation order, so bit-identical), but its top eigenpair by Lanczos iteration with full
 * reorthogonalisation instead of a full Jacobi diagonalisation: a few dozen matrix-vector
 * products of an n x n matrix (n = min(C, HW)) instead of O(n^3) work per sweep. The Lanczos
 * residual bound is driven to 1e-12 of the eigenvalue; a Krylov space that fills all n
 * dimensions gives the exact answer, so convergence does not hinge on the eigengap.
 */
import type { CamInput, CamResult } from '../../types.js';
import { fixSign, jacobiEigen, type Eigenpair } from './cpu.js';
import { gradcamPostprocessInto } from '../common/postprocess-cpu-fast.js';
import { scratch, zeroedScratch } from '../../util/scratch.js';
import type { SimdKernels } from '../../simd/kernels.js';

/** Relative residual ||M x - theta x|| / |theta| at which a Ritz pair is accepted. */
const RESIDUAL_TOL = 1e-12;
/** Krylov steps before a restart from the current Ritz vector (memory and Jacobi cost bound). */
const MAX_KRYLOV = 64;
/** Restarts before giving up on more accuracy (each one keeps the best Ritz vector so far). */
const MAX_RESTARTS = 50;
/** How often (in steps) the small tridiagonal problem is solved to test convergence. */
const CHECK_EVERY = 6;

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

/** Top eigenpair of the (k+1) x (k+1) tridiagonal Lanczos matrix: value and eigenvector. */
function topOfTridiagonal(alpha: Float64Array, beta: Float64Array, size: number): { value: number; y: Float64Array } {
  const t = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    t[i * size + i] = alpha[i];
    if (i + 1 < size) t[i * size + i + 1] = t[(i + 1) * size + i] = beta[i];
  }
  const { values, vectors } = jacobiEigen(t, size);
  let best = 0;
  for (let i = 1; i < size; i++) if (values[i] > values[best]) best = i;
  const y = new Float64Array(size);
  for (let i = 0; i < size; i++) y[i] = vectors[i * size + best];
  return { value: values[best], y };
}

/** Largest eigenpair of a symmetric positive semi-definite n x n matrix (row-major). */
export function topEigenpairLanczos(M: Float64Array, n: number): Eigenpair {
  if (n === 1) return { value: M[0], vector: Float64Array.of(1) };
  const steps = Math.min(n, MAX_KRYLOV);
  const Q = new Float64Array((steps + 1) * n);
  const alpha = new Float64Array(steps);
  const beta = new Float64Array(steps);
  const w = new Float64Array(n);
  // Deterministic start (a fixed linear congruential sequence, as the reference's subspace start).
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    Q[i] = seed / 2147483648 - 0.5;
  }
  let best: Eigenpair = { value: 0, vector: new Float64Array(n) };
  for (let restart = 0; restart <= MAX_RESTARTS; restart++) {
    const norm0 = Math.sqrt(dot(Q, 0, Q, 0, n));
    if (norm0 === 0) break;
    for (let i = 0; i < n; i++) Q[i] /= norm0;
    let size = 0;
    let converged = false;
    for (let k = 0; k < steps; k++) {
      // w = M q_k
      const qk = k * n;
      for (let r = 0; r < n; r++) w[r] = dot(M, r * n, Q, qk, n);
      alpha[k] = dot(Q, qk, w, 0, n);
      // Full reorthogonalisation (twice) against every Lanczos vector keeps them orthonormal.
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j <= k; j++) {
          const c = dot(Q, j * n, w, 0, n);
          for (let i = 0; i < n; i++) w[i] -= c * Q[j * n + i];
        }
      }
      const b = Math.sqrt(dot(w, 0, w, 0, n));
      beta[k] = b;
      size = k + 1;
      const last = k === steps - 1;
      // Invariant subspace (b ~ 0 against the largest alpha seen): the Ritz pairs are exact.
      const exhausted = b <= 1e-14 * Math.max(Math.abs(alpha[0]), Math.abs(alpha[k]), 1e-300);
      if (exhausted || last || size % CHECK_EVERY === 0) {
        const { value, y } = topOfTridiagonal(alpha, beta, size);
        // ||M x - theta x|| = beta_k |y_k| for the Ritz vector x = Q y.
        const residual = exhausted ? 0 : b * Math.abs(y[size - 1]);
        if (residual <= RESIDUAL_TOL * Math.abs(value) || exhausted || value === 0) converged = true;
        if (converged || last) {
          const x = new Float64Array(n);
          for (let j = 0; j < size; j++) for (let i = 0; i < n; i++) x[i] += y[j] * Q[j * n + i];
          best = { value, vector: x };
          break;
        }
      }
      for (let i = 0; i < n; i++) Q[(k + 1) * n + i] = w[i] / b;
    }
    if (converged) break;
    // Restart from the best Ritz vector so far.
    Q.fill(0);
    Q.set(best.vector, 0);
  }
  // Normalise the vector exactly (the reference's eigenvectors are unit vectors).
  const norm = Math.sqrt(dot(best.vector, 0, best.vector, 0, n));
  if (norm > 0) for (let i = 0; i < n; i++) best.vector[i] /= norm;
  return best;
}

/**
 * Eigen-CAM's raw H x W map (sign fixed) for one image, activations [C, H, W]. With kernels,
 * the position Gram matrix (C > HW) is accumulated in WebAssembly float64x2 lanes.
 */
export function eigencamRawMapFast(A: Float32Array, C: number, H: number, W: number, kernels: SimdKernels | null = null): Float64Array {
  const HW = H * W;
  let xcAt = 0;
  if (kernels && C > HW) {
    kernels.reset();
    xcAt = kernels.allocDoubles(C * HW);
  }
  const xc = kernels && C > HW ? kernels.doubles(xcAt, C * HW) : scratch('eigencam.centred', C * HW);
  for (let k = 0; k < C; k++) {
    const base = k * HW;
    let mean = 0;
    for (let p = 0; p < HW; p++) mean += A[base + p];
    mean /= HW;
    for (let p = 0; p < HW; p++) xc[base + p] = A[base + p] - mean;
  }
  const map = zeroedScratch('eigencam.map', HW);
  if (C <= HW) {
    const m = scratch('eigencam.gram', C * C);
    for (let i = 0; i < C; i++) {
      for (let j = i; j < C; j++) {
        let s = 0;
        for (let p = 0; p < HW; p++) s += xc[i * HW + p] * xc[j * HW + p];
        m[i * C + j] = s;
        m[j * C + i] = s;
      }
    }
    const { vector } = topEigenpairLanczos(m, C);
    for (let k = 0; k < C; k++) {
      const vk = vector[k];
      const base = k * HW;
      for (let p = 0; p < HW; p++) map[p] += xc[base + p] * vk;
    }
  } else {
    // X X^T, accumulated channel by channel into the upper triangle as the reference does.
    const m = zeroedScratch('eigencam.gram', HW * HW);
    if (kernels) {
      const mAt = kernels.allocZeroedDoubles(HW * HW);
      kernels.gramPositions(xcAt, C, HW, mAt);
      m.set(kernels.doubles(mAt, HW * HW));
    } else {
      for (let k = 0; k < C; k++) {
        const base = k * HW;
        for (let p = 0; p < HW; p++) {
          const xp = xc[base + p];
          if (xp === 0) continue;
          const row = p * HW;
          for (let q = p; q < HW; q++) m[row + q] += xp * xc[base + q];
        }
      }
    }
    for (let p = 0; p < HW; p++) for (let q = p + 1; q < HW; q++) m[q * HW + p] = m[p * HW + q];
    const { value, vector } = topEigenpairLanczos(m, HW);
    const sigma = Math.sqrt(Math.max(value, 0));
    for (let p = 0; p < HW; p++) map[p] = sigma * vector[p];
  }
  return fixSign(map);
}

/** One image's normalised Eigen-CAM map into `out`. */
export function eigencamInto(A: Float32Array, C: number, H: number, W: number, outH: number, outW: number, out: Float32Array, kernels: SimdKernels | null = null): void {
  gradcamPostprocessInto(eigencamRawMapFast(A, C, H, W, kernels), H, W, outH, outW, out);
}

/** Eigen-CAM for every image of the batch on the fast path. */
export function eigencamCpuFast(input: CamInput, kernels: SimdKernels | null): CamResult {
  const { batch: B, channels: C, height: H, width: W, outHeight, outWidth } = input.shape;
  const imageSize = C * H * W;
  const mapSize = outHeight * outWidth;
  const maps = new Float32Array(B * mapSize);
  for (let b = 0; b < B; b++) {
    const A = input.activations.subarray(b * imageSize, (b + 1) * imageSize);
    eigencamInto(A, C, H, W, outHeight, outWidth, maps.subarray(b * mapSize, (b + 1) * mapSize), kernels);
  }
  return { shape: { ...input.shape }, maps };
}
