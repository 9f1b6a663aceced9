/**
 * Eigen-CAM on the CPU (gradcam-family.md), in float64.
 *
 * X = A reshaped to HW x C (row = position, column = channel), each column centred by its mean
 * over the HW positions; the raw map is X v1 with v1 the first right singular vector of X.
 * Rather than a full SVD we diagonalise the smaller Gram matrix:
 * - C <= HW: M = X^T X (C x C); its top eigenvector is v1, and map = X v1;
 * - C >  HW: M = X X^T (HW x HW); its top eigenvector u1 with eigenvalue s1^2 gives
 *   X v1 = s1 u1, so map = sqrt(lambda1) * u1 (same scale as X v1, no second product needed).
 * The singular vector's sign is arbitrary; we fix it so that the map's entry of largest
 * absolute value is positive (the first such entry on exact ties), then apply the common
 * Grad-CAM post-processing.
 */
import { gradcamPostprocess } from '../common/postprocess-cpu.js';
import type { CamInput, CamResult } from '../../types.js';

/** Largest eigenvalue of a symmetric n x n matrix and a unit eigenvector for it. */
export interface Eigenpair {
  value: number;
  vector: Float64Array;
}

/** Up to this size the Gram matrix is diagonalised fully by cyclic Jacobi (O(n^3) per sweep). */
const JACOBI_MAX_N = 256;

/**
 * All eigenpairs of a symmetric matrix by cyclic Jacobi rotations: accurate to a few ulps of
 * the largest eigenvalue whatever the eigengap, which is what a reference needs.
 * `a` (row-major n x n) is overwritten; returns eigenvalues and eigenvectors (as columns of
 * a row-major n x n matrix), unsorted.
 */
export function jacobiEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i] * a[i];
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    // Converged once the off-diagonal mass is negligible against the whole matrix.
    if (off <= 1e-32 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // Rotation angle that zeroes a[p][q]: t = tan(phi) is the smaller root of t^2 + 2 t theta - 1 = 0.
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          if (k === p || k === q) continue;
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          const nkp = c * akp - s * akq;
          const nkq = s * akp + c * akq;
          a[k * n + p] = nkp;
          a[p * n + k] = nkp;
          a[k * n + q] = nkq;
          a[q * n + k] = nkq;
        }
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

function topOfJacobi(m: Float64Array, n: number): Eigenpair {
  const { values, vectors } = jacobiEigen(Float64Array.from(m), n);
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i] > values[best]) best = i;
  const vector = new Float64Array(n);
  for (let k = 0; k < n; k++) vector[k] = vectors[k * n + best];
  return { value: values[best], vector };
}

/** Orthonormalise the k columns of the row-major n x k matrix q in place (modified Gram-Schmidt, twice). */
function orthonormalizeColumns(q: Float64Array, n: number, k: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let r = 0; r < n; r++) dot += q[r * k + i] * q[r * k + j];
        for (let r = 0; r < n; r++) q[r * k + j] -= dot * q[r * k + i];
      }
      let norm = 0;
      for (let r = 0; r < n; r++) norm += q[r * k + j] * q[r * k + j];
      norm = Math.sqrt(norm);
      // A column that vanished (rank-deficient M) is replaced by a unit vector; the next pass orthogonalises it.
      if (norm < 1e-300) {
        for (let r = 0; r < n; r++) q[r * k + j] = r === j ? 1 : 0;
        continue;
      }
      for (let r = 0; r < n; r++) q[r * k + j] /= norm;
    }
  }
}

/**
 * Top eigenpair of a large symmetric positive semi-definite matrix by block (subspace)
 * iteration with Rayleigh-Ritz: the top Ritz vector converges like (lambda_{k+1}/lambda_1)^iter,
 * far faster than single-vector power iteration when lambda_2 is close to lambda_1.
 * Iterates until the residual ||M x - theta x|| is below 1e-12 * theta.
 */
function topBySubspaceIteration(m: Float64Array, n: number): Eigenpair {
  const k = Math.min(n, 16);
  // Deterministic start: a fixed linear congruential sequence.
  const q = new Float64Array(n * k);
  let seed = 12345;
  for (let i = 0; i < q.length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    q[i] = seed / 2147483648 - 0.5;
  }
  orthonormalizeColumns(q, n, k);
  const z = new Float64Array(n * k);
  let result: Eigenpair = { value: 0, vector: new Float64Array(n) };
  for (let iter = 0; iter < 10000; iter++) {
    // Z = M Q.
    z.fill(0);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const mrc = m[r * n + c];
        if (mrc === 0) continue;
        for (let j = 0; j < k; j++) z[r * k + j] += mrc * q[c * k + j];
      }
    }
    // Rayleigh-Ritz on span(Q): T = Q^T Z.
    const t = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += q[r * k + i] * z[r * k + j];
        t[i * k + j] = s;
      }
    }
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) t[i * k + j] = t[j * k + i] = 0.5 * (t[i * k + j] + t[j * k + i]);
    const top = topOfJacobi(t, k);
    // Ritz vector x = Q y, and M x = Z y.
    const x = new Float64Array(n);
    const mx = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let sx = 0;
      let smx = 0;
      for (let j = 0; j < k; j++) {
        sx += q[r * k + j] * top.vector[j];
        smx += z[r * k + j] * top.vector[j];
      }
      x[r] = sx;
      mx[r] = smx;
    }
    let residual = 0;
    for (let r = 0; r < n; r++) residual += (mx[r] - top.value * x[r]) ** 2;
    result = { value: top.value, vector: x };
    if (Math.sqrt(residual) <= 1e-12 * Math.abs(top.value) || top.value === 0) break;
    q.set(z);
    orthonormalizeColumns(q, n, k);
  }
  return result;
}

/** Largest eigenpair of a symmetric positive semi-definite n x n matrix. */
export function topEigenpair(m: Float64Array, n: number): Eigenpair {
  return n <= JACOBI_MAX_N ? topOfJacobi(m, n) : topBySubspaceIteration(m, n);
}

/** Flip the sign so that the entry of largest absolute value is positive (first one on ties). */
export function fixSign(map: Float64Array): Float64Array {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (Math.abs(map[i]) > Math.abs(map[best])) best = i;
  if (map[best] < 0) for (let i = 0; i < map.length; i++) map[i] = -map[i];
  return map;
}

/** Eigen-CAM's raw H x W map X v1 for one image (sign fixed), activations [C,H,W]. */
export function eigencamRawMap(A: ArrayLike<number>, C: number, H: number, W: number): Float64Array {
  const HW = H * W;
  // Centred channels: xc[k*HW + p] = A_k(p) - mean_p A_k.
  const xc = new Float64Array(C * HW);
  for (let k = 0; k < C; k++) {
    let mean = 0;
    for (let p = 0; p < HW; p++) mean += A[k * HW + p];
    mean /= HW;
    for (let p = 0; p < HW; p++) xc[k * HW + p] = A[k * HW + p] - mean;
  }
  const map = new Float64Array(HW);
  if (C <= HW) {
    // M = X^T X: channel-by-channel inner products over positions.
    const m = new Float64Array(C * C);
    for (let i = 0; i < C; i++) {
      for (let j = i; j < C; j++) {
        let s = 0;
        for (let p = 0; p < HW; p++) s += xc[i * HW + p] * xc[j * HW + p];
        m[i * C + j] = s;
        m[j * C + i] = s;
      }
    }
    const { vector } = topEigenpair(m, C);
    for (let k = 0; k < C; k++) {
      const vk = vector[k];
      for (let p = 0; p < HW; p++) map[p] += xc[k * HW + p] * vk;
    }
  } else {
    // M = X X^T: position-by-position inner products over channels.
    const m = new Float64Array(HW * HW);
    for (let k = 0; k < C; k++) {
      const base = k * HW;
      for (let p = 0; p < HW; p++) {
        const xp = xc[base + p];
        if (xp === 0) continue;
        for (let q = p; q < HW; q++) m[p * HW + q] += xp * xc[base + q];
      }
    }
    for (let p = 0; p < HW; p++) for (let q = p + 1; q < HW; q++) m[q * HW + p] = m[p * HW + q];
    const { value, vector } = topEigenpair(m, HW);
    const sigma = Math.sqrt(Math.max(value, 0));
    for (let p = 0; p < HW; p++) map[p] = sigma * vector[p];
  }
  return fixSign(map);
}

/** Final normalised [outH, outW] Eigen-CAM map for one image. */
export function eigencamMap(A: ArrayLike<number>, C: number, H: number, W: number, outH: number, outW: number): Float64Array {
  return gradcamPostprocess(eigencamRawMap(A, C, H, W), H, W, outH, outW);
}

/** Eigen-CAM for every image of the batch (inputs validated; gradients are not used). */
export function eigencamCpu(input: CamInput): CamResult {
  const { batch: B, channels: C, height: H, width: W, outHeight, outWidth } = input.shape;
  const imageSize = C * H * W;
  const mapSize = outHeight * outWidth;
  const maps = new Float32Array(B * mapSize);
  for (let b = 0; b < B; b++) {
    maps.set(eigencamMap(input.activations.subarray(b * imageSize, (b + 1) * imageSize), C, H, W, outHeight, outWidth), b * mapSize);
  }
  return { shape: { ...input.shape }, maps };
}
