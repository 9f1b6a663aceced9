/**
 * Unit tests of the CPU reference's building blocks: percentiles, DBSCAN, the two filters,
 * resize, Eigen-CAM's eigen solver, and CF-CAM edge cases.
 */
import { describe, expect, it } from 'vitest';
import {
  cfcamImage,
  channelNormsF32,
  computeEps,
  minSamplesFor,
  neighbourThresholdF32,
  pairwiseDistancesF32,
  selectImportant,
} from '../src/engine/methods/cfcam/cpu';
import { dbscan } from '../src/engine/methods/cfcam/dbscan-cpu';
import { eigencamRawMap, fixSign, jacobiEigen, topEigenpair } from '../src/engine/methods/eigencam/cpu';
import {
  bilateralFilterOpenCv,
  bilateralRadius,
  conv2dSame,
  referenceFilter,
  referenceKernel,
  reflect101,
} from '../src/engine/methods/cfcam/filters-cpu';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import {
  pairwisePercentile,
  pairwisePercentileOfSortedUpper,
  percentile,
  percentileOfSorted,
} from '../src/engine/methods/cfcam/percentile';
import { resizeBilinear } from '../src/engine/methods/common/resize-cpu';
import { type CamInput } from '../src/engine/types';
import { LAYER_METHODS } from '../src/engine/methods/registry';
import { prng as rng } from './helpers/random';

function randomArray(n: number, random: () => number, f: (r: number) => number = (r) => r): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(random());
  return out;
}

describe('percentile (numpy linear)', () => {
  /** Textbook definition, written independently: interpolate between the neighbouring order statistics. */
  function naivePercentile(values: ArrayLike<number>, q: number): number {
    const s = Array.from(values).sort((x, y) => x - y);
    const pos = ((s.length - 1) * q) / 100;
    const below = Math.floor(pos);
    const above = Math.ceil(pos);
    return s[below] * (1 - (pos - below)) + s[above] * (pos - below);
  }

  it('matches values computed with numpy', () => {
    // np.percentile(d, q) for q in (0, 10, 25, 33.3, 50, 75, 90, 100), from numpy 2.4 on float64 input.
    const cases: Array<[number[], number[]]> = [
      [[3.5, 1.25, 1.25, 7, 2, 2, 2, 9.75, 0.5], [0.5, 1.1, 1.25, 1.7479999999999998, 2.0, 3.5, 7.550000000000001, 9.75]],
      [[1, 2, 3, 4], [1.0, 1.3, 1.75, 1.9989999999999999, 2.5, 3.25, 3.7, 4.0]],
      [[5], [5, 5, 5, 5, 5, 5, 5, 5]],
      [[2, 2, 2, 2, 1], [1.0, 1.4, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]],
      [[0.1, 0.7, 0.2, 0.9, 0.3, 0.3], [0.1, 0.15000000000000002, 0.225, 0.26649999999999996, 0.3, 0.6, 0.8, 0.9]],
    ];
    const qs = [0, 10, 25, 33.3, 50, 75, 90, 100];
    for (const [data, expected] of cases) {
      qs.forEach((q, i) => expect(percentile(data, q), `q=${q} of ${data}`).toBe(expected[i]));
    }
  });

  it('agrees with a sort-based implementation on random data with ties', () => {
    const random = rng(1);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 60);
      // Coarse values make ties frequent.
      const values = randomArray(n, random, (r) => Math.floor(r * 8) / 4);
      for (const q of [0, 25, 50, 75, 100, 100 * random()]) {
        expect(percentile(values, q)).toBeCloseTo(naivePercentile(values, q), 12);
      }
    }
  });

  it('does not modify its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('pairwise percentile over the upper triangle', () => {
  /** Reference: all m*(m-1) ordered off-diagonal values, sorted. */
  function allOrdered(matrix: ArrayLike<number>, m: number): Float64Array {
    const out: number[] = [];
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (i !== j) out.push(matrix[i * m + j]);
    return Float64Array.from(out).sort();
  }

  function randomSymmetric(m: number, random: () => number, levels: number): Float64Array {
    const a = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let j = i + 1; j < m; j++) {
        const v = Math.floor(random() * levels) / levels;
        a[i * m + j] = v;
        a[j * m + i] = v;
      }
    }
    return a;
  }

  it('equals the percentile of all ordered pairs (exactly), ties included', () => {
    const random = rng(2);
    for (let trial = 0; trial < 300; trial++) {
      const m = 2 + Math.floor(random() * 25);
      const matrix = randomSymmetric(m, random, trial % 2 === 0 ? 4 : 1000);
      const full = allOrdered(matrix, m);
      for (const q of [0, 25, 50, 75, 100, 12.5, 100 * random()]) {
        expect(pairwisePercentile(matrix, m, q), `m=${m} q=${q}`).toBe(percentileOfSorted(full, q));
      }
    }
  });

  it('reads t[r] = u[floor(r/2)] from the sorted upper triangle', () => {
    // m = 3: upper = [1, 2, 4]; ordered = [1,1,2,2,4,4]; 25th: v = 1.25 -> 1 + (2-1)*0.25.
    expect(pairwisePercentileOfSortedUpper([1, 2, 4], 3, 25)).toBe(1.25);
    expect(pairwisePercentileOfSortedUpper([1, 2, 4], 3, 50)).toBe(2);
    expect(() => pairwisePercentileOfSortedUpper([], 1, 25)).toThrow(RangeError);
  });
});

describe('DBSCAN (scikit-learn labels)', () => {
  /** Distance matrix of points on a line. */
  function lineDistances(xs: number[]): Float64Array {
    const m = xs.length;
    const d = new Float64Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) d[i * m + j] = Math.abs(xs[i] - xs[j]);
    return d;
  }

  /**
   * scikit-learn's algorithm as it runs (sklearn/cluster/_dbscan_inner): visit points in index
   * order, start a cluster at each unlabelled core point and grow it depth-first, pushing the
   * unlabelled neighbours of every core point reached; a point keeps its first label.
   */
  function sklearnDbscan(dist: ArrayLike<number>, m: number, eps: number, minSamples: number): Int32Array {
    const neighbours: number[][] = [];
    for (let i = 0; i < m; i++) {
      const list: number[] = [];
      for (let j = 0; j < m; j++) if (i === j || dist[i * m + j] <= eps) list.push(j);
      neighbours.push(list);
    }
    const core = neighbours.map((list) => list.length >= minSamples);
    const labels = new Int32Array(m).fill(-1);
    let next = 0;
    for (let start = 0; start < m; start++) {
      if (labels[start] !== -1 || !core[start]) continue;
      const stack = [start];
      while (stack.length > 0) {
        const i = stack.pop()!;
        if (labels[i] !== -1) continue;
        labels[i] = next;
        if (core[i]) for (const j of neighbours[i]) if (labels[j] === -1) stack.push(j);
      }
      next++;
    }
    return labels;
  }

  it('separates two clusters and a noise point', () => {
    const xs = [0, 1, 2, 10, 11, 12, 50];
    const { labels, clusters } = dbscan(lineDistances(xs), xs.length, 1, 2);
    expect(Array.from(labels)).toEqual([0, 0, 0, 1, 1, 1, -1]);
    expect(clusters).toBe(2);
  });

  it('numbers clusters by their smallest core index', () => {
    // The right-hand cluster holds index 0, so it is cluster 0.
    const xs = [10, 0, 11, 1, 12, 2];
    expect(Array.from(dbscan(lineDistances(xs), xs.length, 1, 2).labels)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('gives a border point shared by two clusters to the cluster with the smallest core index', () => {
    // L = 0..0.8 (step 0.2), B = 1.7, R = 2.6..3.4; eps 1, min_samples 4: B touches 0.8 and 2.6 only (3 neighbours with itself).
    const L = [0, 0.2, 0.4, 0.6, 0.8];
    const R = [2.6, 2.8, 3.0, 3.2, 3.4];
    // Order 1: R first -> R is cluster 0 and B joins it.
    let xs = [...R, 1.7, ...L];
    expect(Array.from(dbscan(lineDistances(xs), xs.length, 1, 4).labels)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    // Order 2: L's far point first (index 0), then R, then B, then L's other points; B's
    // core neighbour of lowest index is R's 2.6 (index 1), but L's cluster started first
    // (root 0), so scikit-learn gives B to L.
    xs = [0, ...R, 1.7, 0.2, 0.4, 0.6, 0.8];
    const labels = Array.from(dbscan(lineDistances(xs), xs.length, 1, 4).labels);
    expect(labels).toEqual([0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect(labels).toEqual(Array.from(sklearnDbscan(lineDistances(xs), xs.length, 1, 4)));
  });

  it('counts distances exactly at eps as neighbours', () => {
    const xs = [0, 1, 2, 3, 4];
    // Ends have 2 neighbours (not core) but touch a core point: border points of one cluster.
    expect(Array.from(dbscan(lineDistances(xs), 5, 1, 3).labels)).toEqual([0, 0, 0, 0, 0]);
    // Just below the spacing, nobody has a neighbour: all noise.
    expect(Array.from(dbscan(lineDistances(xs), 5, 0.999999, 2).labels)).toEqual([-1, -1, -1, -1, -1]);
  });

  it('marks everything noise when no point is core', () => {
    const xs = [0, 10, 20];
    const r = dbscan(lineDistances(xs), 3, 1, 2);
    expect(Array.from(r.labels)).toEqual([-1, -1, -1]);
    expect(r.clusters).toBe(0);
    expect(Array.from(dbscan(lineDistances([5]), 1, 1e-5, 2).labels)).toEqual([-1]);
  });

  it('with min_samples 1 makes every isolated point its own cluster', () => {
    expect(Array.from(dbscan(lineDistances([0, 10, 0.5]), 3, 1, 1).labels)).toEqual([0, 1, 0]);
  });

  it('agrees with scikit-learn\'s expansion order on random point sets', () => {
    const random = rng(3);
    for (let trial = 0; trial < 300; trial++) {
      const m = 1 + Math.floor(random() * 40);
      // Points on a coarse 2-D grid: many exact ties with eps.
      const pts = Array.from({ length: m }, () => [Math.floor(random() * 8), Math.floor(random() * 8)]);
      const dist = new Float64Array(m * m);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) dist[i * m + j] = Math.hypot(pts[i][0] - pts[j][0], pts[i][1] - pts[j][1]);
      }
      const eps = [1, Math.SQRT2, 2, 1.5][trial % 4];
      const minSamples = 2 + Math.floor(random() * 5);
      expect(Array.from(dbscan(dist, m, eps, minSamples).labels), `trial ${trial}`).toEqual(Array.from(sklearnDbscan(dist, m, eps, minSamples)));
    }
  });
});

describe('OpenCV bilateral filter', () => {
  const params = { d: 5, sigmaColor: 0.3, sigmaSpace: 2 };

  it('derives the radius as OpenCV does', () => {
    expect(bilateralRadius(5, 100)).toBe(2);
    expect(bilateralRadius(4, 100)).toBe(2);
    expect(bilateralRadius(1, 100)).toBe(1); // max(0, 1)
    expect(bilateralRadius(0, 5)).toBe(8); // cvRound(7.5) = 8 (ties to even)
    expect(bilateralRadius(0, 3)).toBe(4); // cvRound(4.5) = 4 (ties to even)
    expect(bilateralRadius(-1, 1)).toBe(2); // cvRound(1.5) = 2
    expect(bilateralRadius(0, 0.2)).toBe(1);
    expect(bilateralRadius(0, -3)).toBe(2); // sigma <= 0 -> 1
  });

  it('reflects borders like OpenCV BORDER_REFLECT_101', () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 7].map((p) => reflect101(p, 5))).toEqual([3, 2, 1, 0, 4, 3, 2, 1]);
    expect(reflect101(-5, 3)).toBe(1);
    expect(reflect101(9, 3)).toBe(1);
    expect(reflect101(-2, 1)).toBe(0);
    expect(reflect101(3, 2)).toBe(1);
    expect(reflect101(-3, 2)).toBe(1);
  });

  it('returns a constant image unchanged', () => {
    const img = new Float32Array(30).fill(0.37);
    expect(bilateralFilterOpenCv(img, 5, 6, params)).toEqual(img);
    // Range below FLT_EPSILON counts as constant too.
    const almost = Float32Array.from(img);
    almost[7] = Math.fround(0.37 + 2 ** -25);
    expect(bilateralFilterOpenCv(almost, 5, 6, params)).toEqual(almost);
  });

  it('keeps a mirror-symmetric image symmetric', () => {
    const random = rng(4);
    const H = 6;
    const W = 7;
    const img = new Float32Array(H * W);
    for (let x = 0; x < H; x++) {
      for (let y = 0; y <= (W - 1) / 2; y++) {
        const v = Math.fround(random());
        img[x * W + y] = v;
        img[x * W + (W - 1 - y)] = v;
      }
    }
    const out = bilateralFilterOpenCv(img, H, W, params);
    for (let x = 0; x < H; x++) for (let y = 0; y < W; y++) expect(out[x * W + y]).toBeCloseTo(out[x * W + (W - 1 - y)], 6);
  });

  /** Direct evaluation: exact exp colour weights, explicit mirrored padding, float64 throughout. */
  function bruteForceBilateral(img: Float32Array, H: number, W: number, radius: number, sc: number, ss: number): Float64Array {
    const mirror = (p: number, n: number): number => {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      const r = ((p % period) + period) % period;
      return r < n ? r : period - r;
    };
    const out = new Float64Array(H * W);
    for (let x = 0; x < H; x++) {
      for (let y = 0; y < W; y++) {
        const v0 = img[x * W + y];
        let num = 0;
        let den = 0;
        for (let i = -radius; i <= radius; i++) {
          for (let j = -radius; j <= radius; j++) {
            if (i * i + j * j > radius * radius) continue;
            const v = img[mirror(x + i, H) * W + mirror(y + j, W)];
            const w = Math.exp(-(i * i + j * j) / (2 * ss * ss)) * Math.exp(-((v - v0) ** 2) / (2 * sc * sc));
            num += w * v;
            den += w;
          }
        }
        out[x * W + y] = num / den;
      }
    }
    return out;
  }

  it.each([
    { d: 5, sigmaColor: 0.3, sigmaSpace: 2 },
    { d: 5, sigmaColor: 0.1, sigmaSpace: 5 },
    { d: 0, sigmaColor: 1.5, sigmaSpace: 1.2 },
    { d: 9, sigmaColor: 0.05, sigmaSpace: 3 },
  ])('matches a brute-force evaluation on a 5x6 image (%o)', (p) => {
    const random = rng(5);
    const img = randomArray(30, random, (r) => r * 2 - 0.5);
    const out = bilateralFilterOpenCv(img, 5, 6, p);
    const expected = bruteForceBilateral(img, 5, 6, bilateralRadius(p.d, p.sigmaSpace), p.sigmaColor, p.sigmaSpace);
    for (let i = 0; i < 30; i++) expect(Math.abs(out[i] - expected[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected[i])));
  });

  it('handles 1-pixel-wide images (reflect of length 1)', () => {
    const img = Float32Array.from([0, 1, 0.5, 0.25]);
    const out = bilateralFilterOpenCv(img, 4, 1, params);
    const expected = bruteForceBilateral(img, 4, 1, 2, params.sigmaColor, params.sigmaSpace);
    for (let i = 0; i < 4; i++) expect(out[i]).toBeCloseTo(expected[i], 5);
  });
});

describe('reference "bilateral" filter', () => {
  it('matches a hand computation on a 2x2 map', () => {
    const g = [0, 0.1, 0.2, 0.3];
    // mean 0.15; S centred at (H/2, W/2) = (1, 1): squared distances 2, 1, 1, 0 over 2*5^2.
    const S = [Math.exp(-2 / 50), Math.exp(-1 / 50), Math.exp(-1 / 50), 1];
    // R: (g - 0.15)^2 / (2*0.1^2) = 1.125, 0.125, 0.125, 1.125.
    const R = [Math.exp(-1.125), Math.exp(-0.125), Math.exp(-0.125), Math.exp(-1.125)];
    const SR = S.map((s, i) => s * R[i]);
    const sum = SR.reduce((a, b) => a + b, 0);
    const K = SR.map((v) => v / (sum + 1e-6));
    const kernel = referenceKernel(g, 2, 2);
    K.forEach((k, i) => expect(kernel[i]).toBeCloseTo(k, 15));
    // 'same' with an even 2x2 kernel pads only bottom/right: out(x,y) = sum K(u,v) g(x+u, y+v).
    const [k00, k01, k10, k11] = K;
    const [g00, g01, g10, g11] = g;
    const expected = [
      k00 * g00 + k01 * g01 + k10 * g10 + k11 * g11,
      k00 * g01 + k10 * g11,
      k00 * g10 + k01 * g11,
      k00 * g11,
    ];
    const out = referenceFilter(g, 2, 2);
    expected.forEach((e, i) => expect(out[i]).toBeCloseTo(e, 15));
  });

  it('pads odd kernels symmetrically (3x3 box on a delta)', () => {
    const img = [0, 0, 0, 0, 1, 0, 0, 0, 0];
    const kernel = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    // Cross-correlation of a centred delta gives the kernel flipped in both axes.
    expect(Array.from(conv2dSame(img, 3, 3, kernel, 3, 3))).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('keeps a constant map\'s value where the whole kernel fits, and shrinks it at the border', () => {
    // For a constant map R = 1; the centre pixel of a 3x3 sees the whole kernel: value * sum(K) ~ value.
    const out = referenceFilter(new Float64Array(9).fill(2), 3, 3);
    expect(out[4]).toBeCloseTo(2, 5);
    expect(out[0]).toBeLessThan(2);
  });
});

describe('bilinear resize', () => {
  it('is the identity when sizes are equal', () => {
    const src = randomArray(35, rng(6));
    expect(Array.from(resizeBilinear(src, 5, 7, 5, 7))).toEqual(Array.from(src));
  });

  it('samples at (dst + 0.5) * in/out - 0.5, clamped at both ends', () => {
    expect(Array.from(resizeBilinear([0, 4], 1, 2, 1, 4))).toEqual([0, 1, 3, 4]);
    expect(Array.from(resizeBilinear([0, 4], 2, 1, 4, 1))).toEqual([0, 1, 3, 4]);
    // Downsampling by 2 averages pairs: src = 2*dst + 0.5.
    expect(Array.from(resizeBilinear([0, 2, 4, 6], 1, 4, 1, 2))).toEqual([1, 5]);
  });
});

describe('Eigen-CAM solver', () => {
  function randomGram(n: number, random: () => number): Float64Array {
    const k = n + 3;
    const x = Array.from({ length: n * k }, () => random() - 0.5);
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) m[i * n + j] += x[i * k + p] * x[j * k + p];
    return m;
  }

  it.each([3, 20, 300])('finds the top eigenpair (n=%i)', (n) => {
    const m = randomGram(n, rng(7 + n));
    const { value, vector } = topEigenpair(m, n);
    let residual = 0;
    let norm = 0;
    for (let i = 0; i < n; i++) {
      let mv = 0;
      for (let j = 0; j < n; j++) mv += m[i * n + j] * vector[j];
      residual += (mv - value * vector[i]) ** 2;
      norm += vector[i] ** 2;
    }
    expect(norm).toBeCloseTo(1, 10);
    expect(Math.sqrt(residual)).toBeLessThan(1e-9 * value);
    if (n <= 20) {
      const { values } = jacobiEigen(Float64Array.from(m), n);
      expect(value).toBeCloseTo(Math.max(...values), 10);
    }
  });

  it('fixes the sign by the entry of largest magnitude', () => {
    expect(Array.from(fixSign(Float64Array.from([0.5, -2, 1])))).toEqual([-0.5, 2, -1]);
    expect(Array.from(fixSign(Float64Array.from([0.5, 2, -1])))).toEqual([0.5, 2, -1]);
  });

  it('gives the same map whichever Gram matrix is used', () => {
    // C < HW uses X^T X, C > HW uses X X^T; transposing roles must not change X v1.
    const random = rng(8);
    const H = 3;
    const W = 4;
    const A = randomArray(10 * H * W, random);
    const small = eigencamRawMap(A, 10, H, W); // C=10 <= HW=12
    const A2 = new Float32Array(20 * H * W);
    A2.set(A);
    A2.set(A, A.length); // duplicated channels: C=20 > HW, v1 spreads over copies, X v1 scales by sqrt(2)
    const big = eigencamRawMap(A2, 20, H, W);
    for (let p = 0; p < H * W; p++) expect(big[p]).toBeCloseTo(Math.SQRT2 * small[p], 9);
  });
});

describe('CF-CAM edge cases', () => {
  function makeInput(C: number, H: number, W: number, seed: number, outH = 2 * H + 1, outW = 3 * W): CamInput {
    const random = rng(seed);
    return {
      shape: { batch: 1, channels: C, height: H, width: W, outHeight: outH, outWidth: outW },
      activations: randomArray(C * H * W, random, (r) => Math.max(0, r * 2 - 0.6)),
      gradients: randomArray(C * H * W, random, (r) => (r - 0.5) * 0.02),
    };
  }

  function expectValidMap(maps: Float32Array): void {
    let max = 0;
    for (const v of maps) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
      max = Math.max(max, v);
    }
    expect(max === 0 || Math.abs(max - 1) < 1e-6).toBe(true);
  }

  /** ReLU(A_k) upsampled and divided by its max: the map when channel k alone has weight. */
  function singleChannelMap(input: CamInput, k: number): Float64Array {
    const { height: H, width: W, outHeight, outWidth } = input.shape;
    const a = Array.from(input.activations.subarray(k * H * W, (k + 1) * H * W), (v) => Math.max(v, 0));
    const up = resizeBilinear(a, H, W, outHeight, outWidth);
    const max = Math.max(...up);
    return up.map((v) => (max > 0 ? v / max : 0));
  }

  it('C = 1: the only channel is important and the map is that channel', () => {
    const input = makeInput(1, 5, 4, 10);
    const { maps, cfcam } = computeCamCpu('cfcam', input);
    expect(Array.from(cfcam!.labels)).toEqual([-2]);
    expect(cfcam!.important[0]).toBe(1);
    expect(cfcam!.clusters[0]).toBe(0);
    expect(cfcam!.eps[0]).toBe(Math.fround(1e-5));
    const expected = singleChannelMap(input, 0);
    for (let i = 0; i < maps.length; i++) expect(maps[i]).toBeCloseTo(expected[i], 6);
  });

  it('C = 2: the lone remaining channel is noise and is dropped', () => {
    const input = makeInput(2, 4, 4, 11);
    input.activations.subarray(16).fill(0.05); // channel 1 has the smaller norm
    const { maps, cfcam } = computeCamCpu('cfcam', input);
    expect(Array.from(cfcam!.labels)).toEqual([-2, -1]);
    expect(cfcam!.noise[0]).toBe(1);
    expect(cfcam!.weights[1]).toBe(0);
    const expected = singleChannelMap(input, 0);
    for (let i = 0; i < maps.length; i++) expect(maps[i]).toBeCloseTo(expected[i], 6);
  });

  it('all-zero activations: every channel important, map all zero', () => {
    const input = makeInput(16, 4, 5, 12);
    input.activations.fill(0);
    const { maps, cfcam } = computeCamCpu('cfcam', input);
    expect(Array.from(cfcam!.labels).every((l) => l === -2)).toBe(true);
    expect(cfcam!.normThreshold[0]).toBe(0);
    expect(Array.from(maps).every((v) => v === 0)).toBe(true);
    // Important weights are the raw gradient means.
    const HW = 20;
    for (let k = 0; k < 16; k++) {
      let s = 0;
      for (let p = 0; p < HW; p++) s += input.gradients![k * HW + p];
      expect(cfcam!.weights[k]).toBeCloseTo(s / HW, 7);
    }
  });

  it('the important set follows the rank rule on ties', () => {
    // Norms 1,1,2,2,2 (C=5): v = 3, frac 0, threshold s[3] = 2: the three 2s are important.
    const norms = Float32Array.from([2, 1, 2, 1, 2]);
    expect(Array.from(selectImportant(norms).important)).toEqual([1, 0, 1, 0, 1]);
    // C=4: v = 2.25, threshold between s[2] and s[3]: only values >= s[3].
    const four = Float32Array.from([1, 3, 2, 3.0000002]);
    const r = selectImportant(four);
    expect(Array.from(r.important)).toEqual([0, 0, 0, 1]);
    expect(r.threshold).toBeCloseTo(3 + 0.25 * (Math.fround(3.0000002) - 3), 12);
  });

  it('eps, min_samples and distances follow the reference definitions', () => {
    expect(minSamplesFor(0)).toBe(2);
    expect(minSamplesFor(59)).toBe(2);
    expect(minSamplesFor(60)).toBe(3);
    expect(minSamplesFor(1536)).toBe(76);
    expect(computeEps([], 0)).toBe(1e-5);
    expect(computeEps([0], 1)).toBe(1e-5);
    expect(computeEps([0, 0, 0, 0], 2)).toBe(1e-5);
    // Two channels of 3 positions: distance sqrt(1 + 4 + 0) in float32.
    const A = Float32Array.from([1, 2, 3, 0, 0, 3]);
    const dist = pairwiseDistancesF32(A, [0, 1], 3);
    expect(dist[1]).toBe(Math.fround(Math.sqrt(5)));
    expect(dist[2]).toBe(dist[1]);
    expect(channelNormsF32(A, 2, 3)[1]).toBe(3);
  });

  it('turns eps into the float32 threshold that decides d <= eps exactly', () => {
    // 1e-5 rounds down in float32 already.
    expect(neighbourThresholdF32(1e-5)).toBe(Math.fround(1e-5));
    expect(Math.fround(1e-5)).toBeLessThan(1e-5);
    const random = rng(9);
    for (let trial = 0; trial < 2000; trial++) {
      // eps strictly between two neighbouring float32 values, or exactly on one.
      const a = Math.fround(0.001 + random() * 100);
      const b = new Float32Array(Uint32Array.of(new Uint32Array(Float32Array.of(a).buffer)[0] + 1).buffer)[0];
      const eps = trial % 5 === 0 ? a : a + (b - a) * [0.25, 0.5, 0.75, 0.9][trial % 4];
      const t = neighbourThresholdF32(eps);
      expect(t).toBe(a);
      for (const d of [a, b]) expect(d <= t).toBe(d <= eps);
    }
  });

  it.each([
    [7, 7],
    [6, 8],
    [5, 9],
    [4, 4],
    [1, 7],
    [7, 1],
    [1, 1],
    [14, 3],
  ])('runs on H=%i, W=%i in both modes with consistent details', (H, W) => {
    for (const mode of ['reference', 'bilateral'] as const) {
      const C = 48;
      const input = makeInput(C, H, W, 100 + H * 31 + W);
      const { maps, cfcam } = computeCamCpu('cfcam', input, { mode });
      expect(maps.length).toBe(input.shape.outHeight * input.shape.outWidth);
      expectValidMap(maps);
      const d = cfcam!;
      const labels = Array.from(d.labels);
      expect(labels.filter((l) => l === -2).length).toBe(d.important[0]);
      expect(labels.filter((l) => l === -1).length).toBe(d.noise[0]);
      expect(new Set(labels.filter((l) => l >= 0))).toEqual(new Set(Array.from({ length: d.clusters[0] }, (_, i) => i)));
      expect(d.minSamples[0]).toBe(minSamplesFor(C - d.important[0]));
      // Members of one cluster share a weight; noise weighs 0.
      for (let j = 0; j < d.clusters[0]; j++) {
        const ws = labels.flatMap((l, k) => (l === j ? [d.weights[k]] : []));
        expect(new Set(ws).size).toBe(1);
      }
      labels.forEach((l, k) => l === -1 && expect(d.weights[k]).toBe(0));
    }
  });

  it('bilateral mode merges partial options over the defaults', () => {
    const input = makeInput(40, 6, 6, 13);
    // Spatially varying gradients so that the filter matters.
    const a = cfcamImage(input.activations, input.gradients!, 40, 6, 6, 12, 12, { mode: 'bilateral' });
    const b = cfcamImage(input.activations, input.gradients!, 40, 6, 6, 12, 12, { mode: 'bilateral', bilateral: { d: 5, sigmaColor: 0.1, sigmaSpace: 5 } });
    const c = cfcamImage(input.activations, input.gradients!, 40, 6, 6, 12, 12, { mode: 'bilateral', bilateral: { sigmaColor: 0.001 } });
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    expect(Array.from(a.labels)).toEqual(Array.from(c.labels));
    expect(a.clusters).toBeGreaterThan(0);
    expect(Array.from(a.weights)).not.toEqual(Array.from(c.weights));
  });
});

describe('every method', () => {
  // Score-CAM and ClusCAM await a model (asynchronous references, test/scorecam and cluscam).
  it.each([...LAYER_METHODS, 'softcam' as const].filter((m) => m !== 'cfcam'))('%s gives finite maps in [0,1], also for zero input', (method) => {
    for (const zero of [false, true]) {
      const random = rng(20);
      const n = 6 * 5 * 3;
      const input: CamInput = {
        shape: { batch: 2, channels: 6, height: 5, width: 3, outHeight: 9, outWidth: 7 },
        activations: zero ? new Float32Array(2 * n) : randomArray(2 * n, random),
        gradients: randomArray(2 * n, random, (r) => r - 0.5),
        classIndices: Int32Array.from([1, 4]), // Soft-CAM's evidence channels
      };
      const { maps } = computeCamCpu(method, input);
      expect(maps.length).toBe(2 * 63);
      for (const v of maps) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });
});
