/**
 * Unit tests of the tricky CF-CAM kernels, recorded directly with a Recorder (no engine):
 * rank sort, the 75th-percentile split, the exact radix-select eps and the union-find DBSCAN.
 * Oracles are computed here in float64 (percentiles) or with the CPU reference (DBSCAN).
 * Problems are kept small: Dawn runs on SwiftShader in CI.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './helpers/gpu';
import { Recorder } from '../src/engine/gpu/recorder';
import { BufferUsage } from '../src/engine/gpu/flags';
import { writeFloats } from '../src/engine/gpu/upload';
import { recordRankSort } from '../src/engine/methods/cfcam/rank-sort';
import { recordChannelNorms } from '../src/engine/methods/cfcam/channel-norms';
import { recordCfcamSplit } from '../src/engine/methods/cfcam/cfcam-split';
import { IMAGE_STATE_BYTES, STATE_FIELDS } from '../src/engine/methods/cfcam/cfcam-state';
import { recordGatherRemaining, recordPairwiseDistances } from '../src/engine/methods/cfcam/pairwise-distance';
import { allocateEpsHistogram, recordEpsPercentile } from '../src/engine/methods/cfcam/radix-select';
import { allocateDbscanBuffers, recordDbscan } from '../src/engine/methods/cfcam/dbscan';
import { dbscan } from '../src/engine/methods/cfcam/dbscan-cpu';
import { computeEps, minSamplesFor, neighbourThresholdF32, pairwiseDistancesF32 } from '../src/engine/methods/cfcam/cpu';
import { gaussian, prng, shuffle } from './helpers/random';

const f32 = Math.fround;
/** Word offset of ImageState.radius (src/engine/methods/cfcam/cfcam_state.wgsl); STATE_FIELDS stops at noise. */
const RADIUS_WORD = 12;
const STATE_WORDS = IMAGE_STATE_BYTES / 4;

// ---------------------------------------------------------------------------------------------
// Deterministic data

function randInt(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

function oneHot(P: number, entries: Array<[number, number]>): number[] {
  const v = new Array<number>(P).fill(0);
  for (const [p, x] of entries) v[p] += x;
  return v;
}

// ---------------------------------------------------------------------------------------------
// Oracles

/** numpy.percentile(values, q) ('linear'), float64, numpy's two-sided lerp. */
function numpyPercentile(values: ArrayLike<number>, q: number): { value: number; lo: number; hi: number; sorted: Float64Array } {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  const v = (sorted.length - 1) * (q / 100);
  const lo = Math.floor(v);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const t = v - lo;
  const a = sorted[lo];
  const b = sorted[hi];
  const value = t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
  return { value, lo, hi, sorted };
}

/** All m*(m-1) ordered off-diagonal entries of a row-major m x m matrix. */
function orderedPairs(dist: ArrayLike<number>, m: number): Float64Array {
  const out = new Float64Array(m * (m - 1));
  let k = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) if (i !== j) out[k++] = dist[i * m + j];
  return out;
}

/** Float32Array sort, with -0 and +0 both read as 0 (the kernel treats them as equal). */
function jsSorted(values: Float32Array): number[] {
  return Array.from(Float32Array.from(values).sort(), (v) => (v === 0 ? 0 : v));
}

// ---------------------------------------------------------------------------------------------
// Building images whose remaining (non-important) channels are exactly the given vectors

interface Image {
  /** [C, P] activations. */
  A: Float32Array;
  C: number;
  P: number;
  /** Channel index of the r-th crafted (remaining) vector. */
  remaining: number[];
}

/**
 * Interleave the m crafted vectors (kept in order) with K "important" channels of much larger
 * norm, K chosen so that the 75th-percentile split makes exactly the crafted ones remaining:
 * with v = 0.75 (C-1), the cut rank is lo when frac(v) = 0, lo + 1 otherwise; it must be m.
 */
function withImportant(vectors: number[][], P: number, rand: () => number): Image {
  const m = vectors.length;
  let K = 1;
  for (; ; K++) {
    const q = 3 * (m + K - 1);
    const lo = Math.floor(q / 4);
    if ((q % 4 === 0 && lo === m) || (q % 4 !== 0 && lo + 1 === m)) break;
    if (K > 4 * m + 8) throw new Error(`no K for m=${m}`);
  }
  const C = m + K;
  const bigSlots = new Set(shuffle([...Array(C).keys()], rand).slice(0, K));
  const A = new Float32Array(C * P);
  const remaining: number[] = [];
  let r = 0;
  let k = 0;
  for (let c = 0; c < C; c++) {
    if (bigSlots.has(c)) {
      for (let p = 0; p < P; p++) A[c * P + p] = 1000 + k + (p % 3);
      k++;
    } else {
      const v = vectors[r++];
      if (v.length !== P) throw new Error('vector length');
      let norm2 = 0;
      for (let p = 0; p < P; p++) {
        A[c * P + p] = v[p];
        norm2 += v[p] * v[p];
      }
      if (Math.sqrt(norm2) >= 900) throw new Error('crafted vector too large');
      remaining.push(c);
    }
  }
  return { A, C, P, remaining };
}

function stack(images: Image[]): Float32Array {
  const total = images.reduce((s, im) => s + im.A.length, 0);
  const out = new Float32Array(total);
  let off = 0;
  for (const im of images) {
    if (im.C !== images[0].C || im.P !== images[0].P) throw new Error('images must share C and P');
    out.set(im.A, off);
    off += im.A.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running the kernels

interface DecodedState {
  remaining: number;
  important: number;
  threshold: number;
  eps: number;
  minSamples: number;
  clusters: number;
  noise: number;
  radius: number;
}

function decodeStates(buffer: ArrayBuffer, batch: number): DecodedState[] {
  const words = new Uint32Array(buffer);
  const floats = new Float32Array(buffer);
  return Array.from({ length: batch }, (_, b) => {
    const s = b * STATE_WORDS;
    return {
      remaining: words[s + STATE_FIELDS.remaining],
      important: words[s + STATE_FIELDS.important],
      threshold: floats[s + STATE_FIELDS.threshold],
      eps: floats[s + STATE_FIELDS.eps],
      minSamples: words[s + STATE_FIELDS.minSamples],
      clusters: words[s + STATE_FIELDS.clusters],
      noise: words[s + STATE_FIELDS.noise],
      radius: floats[s + RADIUS_WORD],
    };
  });
}

/** DBSCAN parameters written over the state between the eps and DBSCAN stages. */
interface StatePatch {
  minSamples?: number;
  radius?: number;
}

interface PipelineResult {
  norms: Float32Array;
  labels: Int32Array;
  remainingIndex: Uint32Array;
  states: DecodedState[];
  /** [B, C, C] (only the m x m corner of each plane is defined). */
  distances?: Float32Array;
}

/**
 * Norms -> rank sort -> split, then optionally distances -> eps and DBSCAN, for a [B, C, P]
 * batch in a single chunk; reads back everything the checks need.
 */
async function runPipeline(
  A: Float32Array,
  batch: number,
  C: number,
  P: number,
  upto: 'split' | 'eps' | 'dbscan',
  patches: Array<StatePatch | undefined> = [],
): Promise<PipelineResult> {
  const ctx = await testGpu();
  const rec = new Recorder(ctx, { label: 'kernel test' });
  const staging: GPUBuffer[] = [];
  try {
    const activations = rec.storage(A.byteLength, 'activations');
    writeFloats(ctx.device, activations, A);
    let norms!: GPUBuffer;
    let split!: ReturnType<typeof recordCfcamSplit>;
    rec.stage('split', (pass) => {
      norms = recordChannelNorms(rec, pass, activations, { batch, channels: C, pixels: P });
      const sorted = recordRankSort(rec, pass, norms, batch, C);
      split = recordCfcamSplit(rec, pass, norms, sorted, batch, C);
    });
    let distances: GPUBuffer | undefined;
    if (upto !== 'split') {
      const chunk = { offset: 0, count: batch };
      const dist = rec.storage(batch * C * C * 4, 'distances');
      distances = dist;
      const histogram = allocateEpsHistogram(rec, batch);
      rec.stage('distances', (pass) => {
        const columns = recordGatherRemaining(rec, pass, { activations, remainingIndex: split.remainingIndex, state: split.state }, { batch, channels: C, pixels: P });
        recordPairwiseDistances(rec, pass, { columns, state: split.state, distances: dist, histogram }, { channels: C, pixels: P }, chunk);
      });
      rec.stage('eps', (pass) => {
        recordEpsPercentile(rec, pass, { distances: dist, state: split.state, histogram }, C, chunk);
      });
      if (upto === 'dbscan') {
        patches.forEach((patch, b) => {
          if (!patch) return;
          for (const [word, value, kind] of [
            [STATE_FIELDS.minSamples, patch.minSamples, 'u32'],
            [RADIUS_WORD, patch.radius, 'f32'],
          ] as const) {
            if (value === undefined) continue;
            const src = ctx.device.createBuffer({ size: 4, usage: BufferUsage.COPY_SRC, mappedAtCreation: true });
            if (kind === 'u32') new Uint32Array(src.getMappedRange())[0] = value;
            else new Float32Array(src.getMappedRange())[0] = value;
            src.unmap();
            staging.push(src);
            rec.encoder.copyBufferToBuffer(src, 0, split.state, b * IMAGE_STATE_BYTES + word * 4, 4);
          }
        });
        const scratch = allocateDbscanBuffers(rec, batch, C);
        rec.stage('dbscan', (pass) => {
          recordDbscan(rec, pass, { distances: dist, state: split.state, remainingIndex: split.remainingIndex, labels: split.labels }, scratch, C, chunk);
        });
      }
    }
    const iNorms = rec.read(norms, batch * C * 4);
    const iLabels = rec.read(split.labels, batch * C * 4);
    const iRemaining = rec.read(split.remainingIndex, batch * C * 4);
    const iState = rec.read(split.state, batch * IMAGE_STATE_BYTES);
    const iDist = distances ? rec.read(distances, batch * C * C * 4) : -1;
    const { readbacks } = await rec.submit();
    return {
      norms: new Float32Array(readbacks[iNorms]),
      labels: new Int32Array(readbacks[iLabels]),
      remainingIndex: new Uint32Array(readbacks[iRemaining]),
      states: decodeStates(readbacks[iState], batch),
      distances: iDist >= 0 ? new Float32Array(readbacks[iDist]) : undefined,
    };
  } finally {
    for (const s of staging) s.destroy();
  }
}

/** The m x m distance matrix of image b, from the GPU's [B, C, C] readback. */
function gpuDistances(result: PipelineResult, b: number, C: number, m: number): Float32Array {
  const out = new Float32Array(m * m);
  const plane = result.distances!.subarray(b * C * C, (b + 1) * C * C);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[i * m + j] = plane[i * C + j];
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('rank sort (recordRankSort) equals a JS sort', () => {
  async function sortOnGpu(values: Float32Array, batch: number, n: number): Promise<Float32Array> {
    const ctx = await testGpu();
    const rec = new Recorder(ctx);
    const input = rec.storage(values.byteLength, 'values');
    writeFloats(ctx.device, input, values);
    let sorted!: GPUBuffer;
    rec.stage('sort', (pass) => {
      sorted = recordRankSort(rec, pass, input, batch, n);
    });
    const index = rec.read(sorted, batch * n * 4);
    const { readbacks } = await rec.submit();
    return new Float32Array(readbacks[index]);
  }

  function tiedValues(rand: () => number, n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const kind = rand();
      if (kind < 0.15) out[i] = 0;
      else if (kind < 0.2) out[i] = -0;
      else if (kind < 0.7) out[i] = randInt(rand, -6, 6) * 0.5; // heavy ties, negatives
      else if (kind < 0.75) out[i] = rand() < 0.5 ? 3.4e38 : -3.4e38;
      else out[i] = f32(gaussian(rand) * 10);
    }
    return out;
  }

  for (const n of [1, 7, 127, 128, 129, 300]) {
    it(`n = ${n}: random values with many ties, negatives and zeros`, async () => {
      const rand = prng(1000 + n);
      const values = tiedValues(rand, n);
      const got = await sortOnGpu(values, 1, n);
      expect(Array.from(got, (v) => (v === 0 ? 0 : v))).toEqual(jsSorted(values));
    });
  }

  it('batch of 3 images (n = 7 and n = 300): each image sorted on its own', async () => {
    for (const n of [7, 300]) {
      const rand = prng(77 + n);
      const values = tiedValues(rand, 3 * n);
      const got = await sortOnGpu(values, 3, n);
      for (let b = 0; b < 3; b++) {
        expect(Array.from(got.subarray(b * n, (b + 1) * n), (v) => (v === 0 ? 0 : v))).toEqual(jsSorted(values.subarray(b * n, (b + 1) * n)));
      }
    }
  });

  it('all values equal and already sorted / reversed inputs', async () => {
    const n = 300;
    const equal = new Float32Array(n).fill(2.5);
    expect(Array.from(await sortOnGpu(equal, 1, n))).toEqual(Array.from(equal));
    const asc = Float32Array.from({ length: n }, (_, i) => i - 150);
    expect(Array.from(await sortOnGpu(asc, 1, n))).toEqual(Array.from(asc));
    const desc = Float32Array.from({ length: n }, (_, i) => 150 - i);
    expect(Array.from(await sortOnGpu(desc, 1, n))).toEqual(jsSorted(desc));
  });
});

// ---------------------------------------------------------------------------------------------

describe('norm threshold: channel norms + rank sort + split vs numpy percentile(n, 75)', () => {
  /** Channels [a, 0] (P = 2): norms are |a| exactly for small integers / halves. */
  function fromNorms(norms: number[], rand: () => number): Float32Array {
    const A = new Float32Array(norms.length * 2);
    norms.forEach((n, k) => {
      // Split some norms over both pixels with Pythagorean triples (equal norm, other direction).
      if (n % 5 === 0 && n > 0 && rand() < 0.5) {
        const s = n / 5;
        A[k * 2] = (rand() < 0.5 ? 3 : 4) * s * (rand() < 0.5 ? -1 : 1);
        A[k * 2 + 1] = Math.sqrt(n * n - A[k * 2] * A[k * 2]) * (rand() < 0.5 ? -1 : 1);
      } else {
        A[k * 2 + (rand() < 0.5 ? 0 : 1)] = n * (rand() < 0.5 ? -1 : 1);
      }
    });
    return A;
  }

  async function checkSplit(A: Float32Array, batch: number, C: number, P: number, expectedNorms?: number[][]): Promise<void> {
    const result = await runPipeline(A, batch, C, P, 'split');
    for (let b = 0; b < batch; b++) {
      const norms = result.norms.subarray(b * C, (b + 1) * C);
      if (expectedNorms) expect(Array.from(norms)).toEqual(expectedNorms[b].map(f32));
      const { value: t } = numpyPercentile(norms, 75);
      const state = result.states[b];
      // numpy decides importance in float64: n >= t.
      const important = Array.from(norms, (n) => n >= t);
      const count = important.filter(Boolean).length;
      const m = C - count;
      const ctx = `b=${b} C=${C} t=${t}`;
      if (t === 0) expect(state.threshold, ctx).toBe(0);
      else expect(Math.abs(state.threshold - t) / Math.abs(t), ctx).toBeLessThanOrEqual(1e-6);
      expect(state.important, ctx).toBe(count);
      expect(state.remaining, ctx).toBe(m);
      expect(state.minSamples, ctx).toBe(Math.max(2, Math.floor(0.05 * m)));
      const labels = Array.from(result.labels.subarray(b * C, (b + 1) * C));
      expect(labels, ctx).toEqual(important.map((imp) => (imp ? -2 : -1)));
      const remaining = [...Array(C).keys()].filter((k) => !important[k]);
      expect(Array.from(result.remainingIndex.subarray(b * C, b * C + m)), ctx).toEqual(remaining);
    }
  }

  // (C-1)*0.75: C=5,101 -> frac 0; C=4,104 -> .25; C=3,103 -> .5; C=2,102 -> .75.
  for (const C of [1, 2, 3, 4, 5, 8, 9, 101, 102, 103, 104, 300, 513]) {
    const frac = ((C - 1) * 0.75) % 1;
    it(`C = ${C} (frac ${frac}): random integer norms with ties`, async () => {
      const rand = prng(500 + C);
      const norms = Array.from({ length: C }, () => randInt(rand, 0, 12));
      await checkSplit(fromNorms(norms, rand), 1, C, 2, [norms]);
    });
  }

  it('C = 300, 513: random float norms (no ties)', async () => {
    for (const C of [300, 513]) {
      const rand = prng(9000 + C);
      const A = Float32Array.from({ length: C * 5 }, () => gaussian(rand) * (1 + rand()));
      await checkSplit(A, 1, C, 5);
    }
  });

  const crafted: Array<[string, number[]]> = [
    ['C=5 frac 0, ties from s[lo] up', [2, 1, 2, 2, 2]],
    ['C=5 frac 0, three tied at the top', [3, 1, 3, 2, 3]],
    ['C=4 frac .25, s[lo] = s[hi]', [1, 3, 3, 3]],
    ['C=4 frac .25, s[lo] < s[hi] tied at the top', [3, 1, 2, 3]],
    ['C=4 all equal (every channel important)', [1, 1, 1, 1]],
    ['C=6 all zero', [0, 0, 0, 0, 0, 0]],
    ['C=8 frac .25 with s[5] = s[6]', [2, 0, 1, 2, 3, 0, 2, 1]],
    ['C=8 frac .25 with s[5] < s[6]', [1, 0, 2, 1, 3, 0, 1, 1]],
    ['C=9 frac 0, five tied norms', [5, 5, 1, 5, 2, 5, 5, 0, 3]],
    ['C=10 frac .75, s[6] < s[7] = s[8] = s[9]', [4, 1, 4, 2, 0, 4, 3, 2, 1, 3]],
    ['C=3 frac .5 with ties', [2, 2, 1]],
    ['C=2 frac .75 equal', [7, 7]],
  ];
  for (const [name, norms] of crafted) {
    it(`crafted: ${name}`, async () => {
      const rand = prng(norms.length * 31 + norms[0]);
      await checkSplit(fromNorms(norms, rand), 1, norms.length, 2, [norms]);
    });
  }

  it('C=2: norms one float32 ulp apart (threshold strictly between them)', async () => {
    const a = 1;
    const b = 1 + 2 ** -23;
    await checkSplit(Float32Array.of(b, 0, a, 0), 1, 2, 2, [[b, a]]);
    await checkSplit(Float32Array.of(a, 0, b, 0, a, 0, b, 0, b, 0), 1, 5, 2, [[a, b, a, b, b]]);
    // C=4, frac .25: lerp(s[2]=a, s[3]=b) lies between; only b >= t.
    await checkSplit(Float32Array.of(a, 0, b, 0, a, 0, a, 0), 1, 4, 2, [[a, b, a, a]]);
  });

  it('batch of 3 images in one dispatch, each with its own threshold', async () => {
    const C = 103;
    const rand = prng(4242);
    const all: number[][] = [];
    const A = new Float32Array(3 * C * 2);
    for (let b = 0; b < 3; b++) {
      const norms = Array.from({ length: C }, () => randInt(rand, b, 6 + 4 * b));
      all.push(norms);
      A.set(fromNorms(norms, rand), b * C * 2);
    }
    await checkSplit(A, 3, C, 2, all);
  });
});

// ---------------------------------------------------------------------------------------------

describe('eps: pairwise distances + radix select vs the percentile of all m(m-1) distances', () => {
  /**
   * For each image: the GPU's distance matrix equals the CPU float32 one exactly, and eps is
   * numpy's percentile(25) of the m(m-1) ordered distances (floored at 1e-5): bit-exact when
   * it falls on a data value, within float32 rounding of the interpolation otherwise; the
   * DBSCAN radius is the lower order statistic (or f32(1e-5)).
   */
  async function checkEps(images: Image[]): Promise<void> {
    const { C, P } = images[0];
    const result = await runPipeline(stack(images), images.length, C, P, 'eps');
    images.forEach((image, b) => {
      const m = image.remaining.length;
      const state = result.states[b];
      const ctx = `image ${b}, m=${m}`;
      expect(state.remaining, ctx).toBe(m);
      expect(Array.from(result.remainingIndex.subarray(b * C, b * C + m)), ctx).toEqual(image.remaining);
      const cpu = pairwiseDistancesF32(image.A, image.remaining, P);
      const gpu = gpuDistances(result, b, C, m);
      let mismatch = -1;
      for (let i = 0; i < gpu.length && mismatch < 0; i++) if (gpu[i] !== cpu[i]) mismatch = i;
      const where = mismatch < 0 ? '' : `(${Math.floor(mismatch / m)}, ${mismatch % m}): gpu ${gpu[mismatch]} cpu ${cpu[mismatch]}`;
      expect(where, `${ctx}: distance matrix equals the CPU float32 one`).toBe('');
      if (m < 2) {
        expect(state.eps, ctx).toBe(f32(1e-5));
        return;
      }
      const ordered = orderedPairs(cpu, m);
      expect(ordered.length).toBe(m * (m - 1));
      const { value, lo, hi, sorted } = numpyPercentile(ordered, 25);
      const expected = Math.max(value, 1e-5);
      if (sorted[lo] === sorted[hi] || value < 1e-5) {
        expect(state.eps, `${ctx}: eps on a data value`).toBe(f32(expected));
      } else {
        expect(Math.abs(state.eps - expected) / expected, `${ctx}: interpolated eps`).toBeLessThanOrEqual(2 ** -23);
      }
      expect(state.radius, `${ctx}: radius`).toBe(value < 1e-5 ? f32(1e-5) : sorted[lo]);
      // Same as the CPU reference's eps.
      expect(Math.abs(state.eps - computeEps(cpu, m)) / computeEps(cpu, m), ctx).toBeLessThanOrEqual(1e-6);
    });
  }

  function randomVectors(rand: () => number, m: number, P: number, scale = 1): number[][] {
    return Array.from({ length: m }, () => Array.from({ length: P }, () => f32(gaussian(rand) * scale)));
  }

  for (const m of [2, 3, 4, 5, 6, 7, 8, 9, 40, 61]) {
    it(`random gaussian channels, m = ${m}`, async () => {
      const rand = prng(3000 + m);
      await checkEps([withImportant(randomVectors(rand, m, 6), 6, rand)]);
    });
  }

  it('all distances equal (one-hot channels of equal magnitude)', async () => {
    for (const m of [2, 3, 6, 10]) {
      const rand = prng(10 + m);
      const P = m + 2;
      const vectors = shuffle([...Array(m).keys()], rand).map((p) => oneHot(P, [[p, 3]]));
      await checkEps([withImportant(vectors, P, rand)]);
    }
  });

  it('m = 2 with the two channels identical (eps floored to 1e-5)', async () => {
    const rand = prng(2);
    await checkEps([withImportant([[1, 2, 3], [1, 2, 3]], 3, rand)]);
  });

  it('half of the distances are 0', async () => {
    const rand = prng(55);
    const P = 4;
    const a = [1, 0, 2, 0];
    const b = [0, 3, 0, 1];
    const c = [2, 2, 2, 2];
    // m=4: 3 of 6 pairs are 0 -> eps on 0, floored.
    await checkEps([withImportant([a, a, b, a], P, rand)]);
    // m=3: 1 of 3 pairs is 0 -> eps = 0.25 * d, interpolated between 0 and d.
    await checkEps([withImportant([a, b, a], P, rand)]);
    // m=6: 4 of 15 pairs are 0, the percentile interpolates between u[3] = 0 and u[4] > 0.
    await checkEps([withImportant([a, b, a, c, b, a], P, rand)]);
    // m=8: two groups of four identical channels: 12 of 28 pairs are 0.
    await checkEps([withImportant(shuffle([a, a, a, a, b, b, b, b], rand), P, rand)]);
    // m=40: 20 copies of one channel and 20 random ones (190 of 780 pairs are 0: ~24%).
    const vectors = [...Array(20)].map(() => a).concat(randomVectors(rand, 20, P));
    await checkEps([withImportant(shuffle(vectors, rand), P, rand)]);
  });

  it('few distinct distances: many pairs sit exactly on the percentile', async () => {
    for (const m of [6, 7, 30, 63]) {
      const rand = prng(700 + m);
      const P = 8;
      const vectors = Array.from({ length: m }, () => oneHot(P, [[randInt(rand, 0, P - 1), randInt(rand, 1, 2)]]));
      await checkEps([withImportant(vectors, P, rand)]);
    }
  });

  it('m = 200, integer coordinates (heavy ties across all radix passes)', async () => {
    const rand = prng(200);
    const P = 3;
    const vectors = Array.from({ length: 200 }, () => Array.from({ length: P }, () => randInt(rand, -3, 3)));
    await checkEps([withImportant(vectors, P, rand)]);
  });

  it('m = 150, wide dynamic range (distances from 1e-4 to 1e4)', async () => {
    const rand = prng(150);
    const P = 4;
    const vectors = Array.from({ length: 150 }, () => {
      const scale = 10 ** randInt(rand, -4, 2);
      return Array.from({ length: P }, () => f32(gaussian(rand) * scale));
    });
    await checkEps([withImportant(vectors, P, rand)]);
  });

  it('m = 2100 (rows span two histogram segments of 2048 columns), integer coordinates', async () => {
    const rand = prng(2100);
    const vectors = Array.from({ length: 2100 }, () => [randInt(rand, -20, 20), randInt(rand, -20, 20)]);
    await checkEps([withImportant(vectors, 2, rand)]);
  });

  it('batch of 3 images with different distributions in one chunk', async () => {
    const rand = prng(31337);
    const P = 5;
    const m = 30;
    const a = withImportant(randomVectors(rand, m, P, 0.01), P, rand);
    const b = withImportant(randomVectors(rand, m, P, 100), P, rand);
    const same = [0.5, 0.25, 0, 1, 2];
    const c = withImportant([...Array(m)].map(() => same), P, rand);
    await checkEps([a, b, c]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('DBSCAN (union-find) vs the CPU reference dbscan', () => {
  /**
   * Labels of every channel equal the CPU reference: dbscan() over the float32 distances of the
   * remaining channels, with the pipeline's eps (or the patched radius / min_samples).
   * Returns the per-image labels of the remaining channels for extra checks.
   */
  async function checkDbscan(images: Image[], patches: Array<StatePatch | undefined> = []): Promise<Int32Array[]> {
    const { C, P } = images[0];
    const result = await runPipeline(stack(images), images.length, C, P, 'dbscan', patches);
    return images.map((image, b) => {
      const m = image.remaining.length;
      const state = result.states[b];
      const ctx = `image ${b}, m=${m}`;
      expect(state.remaining, ctx).toBe(m);
      const dist = pairwiseDistancesF32(image.A, image.remaining, P);
      const patch = patches[b];
      const radius = patch?.radius !== undefined ? f32(patch.radius) : neighbourThresholdF32(computeEps(dist, m));
      const minSamples = patch?.minSamples ?? minSamplesFor(m);
      expect(state.minSamples, ctx).toBe(minSamples);
      expect(state.radius, ctx).toBe(radius);
      const ref = dbscan(dist, m, radius, minSamples);
      const expected = new Int32Array(C).fill(-2);
      image.remaining.forEach((c, r) => (expected[c] = ref.labels[r]));
      expect(Array.from(result.labels.subarray(b * C, (b + 1) * C)), `${ctx}: labels`).toEqual(Array.from(expected));
      expect(state.clusters, ctx).toBe(ref.clusters);
      expect(state.noise, ctx).toBe(ref.labels.filter((l) => l === -1).length);
      return ref.labels;
    });
  }

  /** Cluster id -> members (remaining indices); noise under -1. */
  function groups(labels: Int32Array): Map<number, number[]> {
    const out = new Map<number, number[]>();
    labels.forEach((l, i) => out.set(l, [...(out.get(l) ?? []), i]));
    return out;
  }

  it('natural eps: one big cluster and 9 clusters of 5 (10 clusters, shuffled order)', async () => {
    const rand = prng(9);
    const P = 65;
    const points: number[][] = [];
    for (let i = 0; i < 55; i++) points.push(oneHot(P, [[55, 10], [i, 1]]));
    for (let c = 0; c < 9; c++) for (let i = 0; i < 5; i++) points.push(oneHot(P, [[56 + c, 10], [i, 1]]));
    const [labels] = await checkDbscan([withImportant(shuffle(points, rand), P, rand)]);
    expect(Math.max(...labels) + 1).toBe(10);
    expect(labels.every((l) => l >= 0)).toBe(true);
  });

  it('natural eps: a chain of 29 points (each within eps of the next only) beside a blob', async () => {
    const rand = prng(29);
    const P = 42;
    const chain = Array.from({ length: 29 }, (_, i) => oneHot(P, [[i, 1], [i + 1, 1]]));
    const blob = Array.from({ length: 29 }, () => oneHot(P, [[40, 10]]));
    const order = shuffle([...Array(58).keys()], rand);
    const points = order.map((k) => (k < 29 ? chain[k] : blob[k - 29]));
    const [labels] = await checkDbscan([withImportant(points, P, rand)]);
    const chainLabels = new Set(order.map((k, r) => (k < 29 ? labels[r] : undefined)).filter((l) => l !== undefined));
    expect(chainLabels.size).toBe(1);
    expect([...chainLabels][0]).toBeGreaterThanOrEqual(0);
    expect(Math.max(...labels) + 1).toBe(2);
  });

  it('40 clusters of 5 points plus isolated points (patched radius 1.5, min_samples 5)', async () => {
    const rand = prng(40);
    const P = 46;
    const points: number[][] = [];
    for (let c = 0; c < 40; c++) for (let i = 0; i < 5; i++) points.push(oneHot(P, [[5 + c, 10], [i, 1]]));
    for (let k = 0; k < 12; k++) points.push(oneHot(P, [[45, 10 + 5 * k]]));
    const image = withImportant(shuffle(points, rand), P, rand);
    const [labels] = await checkDbscan([image], [{ radius: 1.5, minSamples: 5 }]);
    const g = groups(labels);
    expect(Math.max(...labels) + 1).toBe(40);
    expect(g.get(-1)?.length).toBe(12);
    for (const [id, members] of g) if (id >= 0) expect(members.length).toBe(5);
  });

  it('a long chain of 250 points in shuffled order: one cluster, label 0 (patched radius 1.5, min_samples 2)', async () => {
    const rand = prng(250);
    const points = shuffle([...Array(250).keys()], rand).map((x) => [x, 0]);
    const [labels] = await checkDbscan([withImportant(points, 2, rand)], [{ radius: 1.5, minSamples: 2 }]);
    expect(Array.from(labels)).toEqual(new Array(250).fill(0));
  });

  it('two interleaved chains and a 2-D grid (patched radius 1.5, min_samples 3)', async () => {
    const rand = prng(77);
    const points: number[][] = [];
    for (let x = 0; x < 60; x++) points.push([x, 0, 0]);
    for (let x = 0; x < 60; x++) points.push([x, 0, 50]);
    for (let x = 0; x < 8; x++) for (let y = 0; y < 8; y++) points.push([x, 100 + y, 0]);
    const [labels] = await checkDbscan([withImportant(shuffle(points, rand), 3, rand)], [{ radius: 1.5, minSamples: 3 }]);
    expect(Math.max(...labels) + 1).toBe(3);
    expect(labels.every((l) => l >= 0)).toBe(true);
  });

  it('border points shared by two clusters go to the cluster with the smaller root', async () => {
    // Per copy, on a line: cluster A at 0,0,1,2; border b at 4; cluster B at 6,7,8,8.
    // radius 2.5, min_samples 4: b has 3 neighbours (2, itself, 6), A and B are not linked.
    const rand = prng(4);
    const copies = 8;
    const P = copies + 1;
    const points: Array<{ v: number[]; copy: number; role: 'A' | 'B' | 'b' }> = [];
    for (let t = 0; t < copies; t++) {
      const at = (x: number) => oneHot(P, [[0, x], [1 + t, 100]]);
      for (const x of [0, 0, 1, 2]) points.push({ v: at(x), copy: t, role: 'A' });
      points.push({ v: at(4), copy: t, role: 'b' });
      for (const x of [6, 7, 8, 8]) points.push({ v: at(x), copy: t, role: 'B' });
    }
    const order = shuffle(points, rand);
    const [labels] = await checkDbscan([withImportant(order.map((p) => p.v), P, rand)], [{ radius: 2.5, minSamples: 4 }]);
    expect(Math.max(...labels) + 1).toBe(2 * copies);
    let smallerIsB = 0;
    for (let t = 0; t < copies; t++) {
      const first = (role: 'A' | 'B') => order.findIndex((p) => p.copy === t && p.role === role);
      const border = order.findIndex((p) => p.copy === t && p.role === 'b');
      const winner = first('A') < first('B') ? first('A') : first('B');
      if (first('B') < first('A')) smallerIsB++;
      expect(labels[border]).toBe(labels[winner]);
      expect(labels[first('A')]).not.toBe(labels[first('B')]);
    }
    // Both orders occur, so the rule is exercised both ways.
    expect(smallerIsB).toBeGreaterThan(0);
    expect(smallerIsB).toBeLessThan(copies);
  });

  it('all noise: m = 1 (natural), tiny radius, and min_samples above m (patched)', async () => {
    const rand = prng(1);
    // m = 1: a lone remaining channel is noise (eps floored, min_samples 2).
    const [lone] = await checkDbscan([withImportant([[1, 2]], 2, rand)]);
    expect(Array.from(lone)).toEqual([-1]);
    const points = Array.from({ length: 60 }, () => [f32(gaussian(rand)), f32(gaussian(rand)), f32(gaussian(rand))]);
    const image = withImportant(points, 3, rand);
    const [tiny] = await checkDbscan([image], [{ radius: 1e-6, minSamples: 2 }]);
    expect(tiny.every((l) => l === -1)).toBe(true);
    const [many] = await checkDbscan([image], [{ minSamples: 61 }]);
    expect(many.every((l) => l === -1)).toBe(true);
  });

  it('random 2-D point clouds, 12 seeds (patched radius and min_samples; many merges per component)', async () => {
    for (let seed = 0; seed < 12; seed++) {
      const rand = prng(6000 + seed);
      const m = 120 + 20 * (seed % 4);
      const points = Array.from({ length: m }, () => [randInt(rand, 0, 30), randInt(rand, 0, 30)]);
      await checkDbscan([withImportant(points, 2, rand)], [{ radius: 2.5 + (seed % 3), minSamples: 2 + (seed % 5) }]);
    }
  });

  it('m = 1100 (several union segments per row, > 256 channels per numbering thread): 2-D grid blobs', async () => {
    const rand = prng(1100);
    const points: number[][] = [];
    for (let blob = 0; blob < 44; blob++) {
      const cx = (blob % 11) * 20;
      const cy = Math.floor(blob / 11) * 20;
      for (let k = 0; k < 25; k++) points.push([cx + (k % 5), cy + Math.floor(k / 5)]);
    }
    const image = withImportant(shuffle(points, rand), 2, rand);
    const [labels] = await checkDbscan([image], [{ radius: 1.1, minSamples: 3 }]);
    expect(Math.max(...labels) + 1).toBe(44);
    // Natural eps and min_samples as well.
    await checkDbscan([image]);
  });

  it('random clustered data, natural eps, batch of 3 images in one chunk', async () => {
    const rand = prng(333);
    const P = 9;
    const m = 100;
    const images = [0, 1, 2].map((b) => {
      const prototypes = Array.from({ length: 3 + b }, () => Array.from({ length: P }, () => gaussian(rand) * 4));
      const points = Array.from({ length: m }, (_, i) => {
        const proto = prototypes[i % prototypes.length];
        return proto.map((x) => f32(x + gaussian(rand) * 0.3));
      });
      return withImportant(shuffle(points, rand), P, rand);
    });
    const labels = await checkDbscan(images);
    for (const l of labels) expect(Math.max(...l) + 1).toBeGreaterThanOrEqual(2);
  });
});

