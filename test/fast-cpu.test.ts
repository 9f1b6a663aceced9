/**
 * The CPU fast path (each method's cpu-fast.ts on src/engine/simd/) against the CPU reference (the oracle) and the golden
 * fixtures: labels identical, eps and threshold within 1e-5 relative, maps within 1e-4, and
 * the SIMD distances bit-identical to the reference's float32 ones. Speed is measured by
 * `npm run bench`, not here.
 */
import { describe, expect, it } from 'vitest';
import { createCamEngine, DeviceLimitError } from '../src/engine/index';
import { computeCamCpuFast } from '../src/engine/methods/compute-cpu-fast';
import { packedDistances, packedDistancesTs } from '../src/engine/methods/cfcam/pairwise-cpu-fast';
import { dbscanEdges, thresholdEdges, thresholdEdgesIn } from '../src/engine/methods/cfcam/dbscan-cpu-fast';
import { selectRanks, selectRanksIn } from '../src/engine/methods/cfcam/select-cpu';
import { loadSimdKernels, simdValueScans } from '../src/engine/simd/kernels';
import { TYPESCRIPT_SCANS } from '../src/engine/util/finite';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import { pairwiseDistancesF32 } from '../src/engine/methods/cfcam/cpu';
import { dbscan } from '../src/engine/methods/cfcam/dbscan-cpu';
import type { CamInput } from '../src/engine/types';
import type { CamMethod } from '../src/engine/methods/registry';
import { goldenCaseNames, loadGoldenCase, maxAbsDiff, type GoldenCase } from './helpers/golden';
import { gaussian, prng } from './helpers/random';

const FAMILY: CamMethod[] = ['gradcam', 'gradcampp', 'xgradcam', 'layercam', 'hirescam', 'eigencam'];
const MAP_TOL = 1e-4;
const REL_TOL = 1e-5;
/** Golden cases on which the (slow) reference CF-CAM also runs here; the rest compare to the golden files. */
const REFERENCE_CASES = new Set(['small', 'zeros-and-ties', 'clustered', 'resnet18-layer4']);

function inputOf(...cases: GoldenCase[]): CamInput {
  const { channels, height, width, output_size } = cases[0].meta;
  const size = channels * height * width;
  const activations = new Float32Array(cases.length * size);
  const gradients = new Float32Array(cases.length * size);
  cases.forEach((c, b) => {
    activations.set(c.activations, b * size);
    gradients.set(c.gradients, b * size);
  });
  return { shape: { batch: cases.length, channels, height, width, outHeight: output_size, outWidth: output_size }, activations, gradients };
}

const relErr = (a: number, e: number) => Math.abs(a - e) / Math.max(Math.abs(e), 1e-30);

function randomInput(seed: number, C: number, H: number, W: number, scale = 1, out = 16): CamInput {
  const rand = prng(seed);
  const n = C * H * W;
  const activations = new Float32Array(n);
  const gradients = new Float32Array(n);
  // Channels drawn around a few centres, so DBSCAN finds clusters, borders and noise.
  const centres = Array.from({ length: 4 }, () => Float32Array.from({ length: H * W }, () => gaussian(rand) * 3));
  for (let k = 0; k < C; k++) {
    const centre = centres[k % centres.length];
    const spread = k % 7 === 0 ? 2.5 : 0.4;
    for (let p = 0; p < H * W; p++) {
      activations[k * H * W + p] = Math.max(0, centre[p] + gaussian(rand) * spread) * scale;
      gradients[k * H * W + p] = gaussian(rand) * 1e-3;
    }
  }
  return { shape: { batch: 1, channels: C, height: H, width: W, outHeight: out, outWidth: out }, activations, gradients };
}

describe('SIMD kernels', async () => {
  const kernels = await loadSimdKernels();

  it('load in Node (WebAssembly SIMD is available)', () => {
    expect(kernels).not.toBeNull();
  });

  it.each([
    [1, 5, 7, 1],
    [2, 17, 9, 1],
    [3, 33, 49, 1],
    [4, 70, 13, 1],
    [5, 41, 49, 1e-21], // squares are float32 subnormals: no flush to zero
  ])('pairwise distances are bit-identical to the reference (seed %i, m=%i, HW=%i, scale %d)', (seed, m, HW, scale) => {
    const rand = prng(seed);
    const C = m + 3;
    const A = Float32Array.from({ length: C * HW }, () => (rand() < 0.2 ? 0 : gaussian(rand) * scale));
    // Every other channel, and a repeated channel to make exact ties.
    const channels = Int32Array.from({ length: m }, (_, i) => (i === 1 ? 0 : (i * 7) % C));
    const dense = pairwiseDistancesF32(A, channels, HW);
    const upper: number[] = [];
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) upper.push(dense[i * m + j]);
    const expected = Float32Array.from(upper);
    const simd = packedDistances(kernels, A, channels, HW).values;
    expect(new Uint32Array(Float32Array.from(simd).buffer)).toEqual(new Uint32Array(expected.buffer));
    expect(new Uint32Array(packedDistancesTs(A, channels, HW).buffer)).toEqual(new Uint32Array(expected.buffer));
  });

  it('refuses scratch beyond what the kernels can address with a typed error, and keeps working', () => {
    kernels!.reset();
    expect(() => kernels!.allocFloats(2 ** 30)).toThrow(DeviceLimitError);
    const at = kernels!.allocFloats(4);
    expect(at).toBe(0);
  });

  it('radix selection returns the sorted order statistics, in TypeScript and WebAssembly', () => {
    const rand = prng(11);
    const sets = [
      Float32Array.from({ length: 5000 }, () => Math.abs(gaussian(rand)) * 10),
      Float32Array.from({ length: 3001 }, () => Math.floor(rand() * 5)), // many ties
      Float32Array.from({ length: 777 }, () => (rand() < 0.5 ? 0 : -0)),
      Float32Array.of(3),
    ];
    for (const values of sets) {
      const sorted = Float32Array.from(values).sort();
      const ranks = [0, values.length - 1, values.length >> 1, Math.floor(values.length / 4), Math.min(Math.floor(values.length / 4) + 1, values.length - 1)];
      const expected = ranks.map((r) => sorted[r]);
      expect(selectRanks(values, ranks).map((v) => v + 0)).toEqual(expected.map((v) => v + 0));
      kernels!.reset();
      const at = kernels!.allocFloats(values.length);
      kernels!.floats(at, values.length).set(values);
      expect(selectRanksIn(kernels!, at, values.length, ranks).map((v) => v + 0)).toEqual(expected.map((v) => v + 0));
    }
    expect(selectRanks(Float32Array.of(2, -1, 5), [0, 2])).toEqual([-1, 5]);
  });

  it('validation scans (first NaN/Inf, largest |x|) agree with the TypeScript ones, across chunk edges', () => {
    const scans = simdValueScans(kernels!);
    const rand = prng(12);
    const data = Float32Array.from({ length: 70_001 }, () => gaussian(rand));
    expect(scans.firstNonFinite(data)).toBe(-1);
    expect(scans.maxAbs(data)).toBe(TYPESCRIPT_SCANS.maxAbs(data));
    for (const [at, value] of [[0, NaN], [17, Infinity], [65_535, -Infinity], [65_536, NaN], [70_000, Infinity]] as const) {
      const copy = data.slice();
      copy[at] = value;
      copy[at + 1 < copy.length ? at + 1 : 0] = NaN;
      expect(scans.firstNonFinite(copy), `at ${at}`).toBe(Math.min(at, at + 1 < copy.length ? at : 0));
      expect(scans.firstNonFinite(copy)).toBe(TYPESCRIPT_SCANS.firstNonFinite(copy));
    }
    data[69_999] = -1e30;
    expect(scans.maxAbs(data)).toBe(Math.fround(1e30));
  });

  it('DBSCAN on neighbour edges gives the reference labels (WebAssembly and TypeScript edges)', () => {
    for (const [seed, m] of [[21, 50], [22, 203], [23, 9]]) {
      const rand = prng(seed);
      const HW = 6;
      const A = Float32Array.from({ length: m * HW }, () => Math.round(gaussian(rand) * 4) / 4);
      const channels = Int32Array.from({ length: m }, (_, i) => i);
      const dense = pairwiseDistancesF32(A, channels, HW);
      const packed = packedDistances(kernels, A, channels, HW);
      for (const [threshold, minSamples] of [[0.8, 3], [1.5, 5], [0.3, 2]]) {
        const expected = dbscan(dense, m, threshold, minSamples);
        const ts = dbscanEdges(thresholdEdges(packed.values, m, threshold), m, minSamples);
        expect(ts.labels).toEqual(expected.labels);
        expect(ts.clusters).toBe(expected.clusters);
        const wasm = dbscanEdges(thresholdEdgesIn(kernels!, packed.offset!, m, threshold), m, minSamples);
        expect(wasm.labels).toEqual(expected.labels);
        expect(wasm.core).toEqual(expected.core);
      }
    }
  });
});

describe.each(goldenCaseNames())('golden case %s on the fast path', (name) => {
  const golden = loadGoldenCase(name);
  const { meta } = golden;

  it.each([true, false])('CF-CAM (simd %s): labels, eps, threshold, counts, weights, map', async (simd) => {
    const input = inputOf(golden);
    const { maps, cfcam } = await computeCamCpuFast('cfcam', input, {}, { simd });
    const d = cfcam!;
    expect(Array.from(d.labels)).toEqual(Array.from(golden.labels));
    expect(relErr(d.eps[0], meta.eps)).toBeLessThanOrEqual(REL_TOL);
    expect(relErr(d.normThreshold[0], meta.norm_threshold)).toBeLessThanOrEqual(REL_TOL);
    expect([d.minSamples[0], d.clusters[0], d.important[0], d.noise[0]]).toEqual([meta.min_samples, meta.clusters, meta.important, meta.noise]);
    expect(maxAbsDiff(d.weights, golden.weights)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(maps, golden.maps.cam)).toBeLessThanOrEqual(MAP_TOL);
    if (simd && REFERENCE_CASES.has(name)) {
      const ref = computeCamCpu('cfcam', input);
      expect(d.labels).toEqual(ref.cfcam!.labels);
      expect(d.eps).toEqual(ref.cfcam!.eps);
      expect(d.normThreshold).toEqual(ref.cfcam!.normThreshold);
      expect(maxAbsDiff(maps, ref.maps)).toBeLessThanOrEqual(MAP_TOL);
    }
  });

  it.each(FAMILY)('%s matches pytorch-grad-cam and the reference', async (method) => {
    const input = inputOf(golden);
    const { maps } = await computeCamCpuFast(method, input);
    expect(maxAbsDiff(maps, golden.maps[method])).toBeLessThanOrEqual(MAP_TOL);
    // Eigen-CAM's reference Jacobi is slow on the 14x14 layers: compare there to the golden map only.
    if (method !== 'eigencam' || meta.height * meta.width <= 49) {
      expect(maxAbsDiff(maps, computeCamCpu(method, input).maps)).toBeLessThanOrEqual(MAP_TOL);
    }
  });
});

describe('random inputs', () => {
  it.each([
    [31, 97, 3, 5],
    [32, 130, 7, 7],
    [33, 64, 4, 4],
  ])('CF-CAM equals the reference (seed %i, C=%i, %ix%i)', async (seed, C, H, W) => {
    const input = randomInput(seed, C, H, W);
    const ref = computeCamCpu('cfcam', input);
    for (const simd of [true, false]) {
      const fast = await computeCamCpuFast('cfcam', input, {}, { simd });
      expect(fast.cfcam!.labels).toEqual(ref.cfcam!.labels);
      expect(fast.cfcam!.eps).toEqual(ref.cfcam!.eps);
      expect(fast.cfcam!.weights).toEqual(ref.cfcam!.weights);
      expect(maxAbsDiff(fast.maps, ref.maps)).toBeLessThanOrEqual(MAP_TOL);
    }
    const bilateral = { mode: 'bilateral' as const };
    expect(maxAbsDiff((await computeCamCpuFast('cfcam', input, bilateral)).maps, computeCamCpu('cfcam', input, bilateral).maps)).toBeLessThanOrEqual(MAP_TOL);
  });

  it('the SIMD and TypeScript gradient-family and Eigen-CAM paths give the same maps', async () => {
    for (const [seed, C, H, W] of [[51, 37, 5, 3], [52, 64, 7, 7]]) {
      const input = randomInput(seed, C, H, W, 1, 23);
      for (const method of FAMILY) {
        const simd = await computeCamCpuFast(method, input);
        const ts = await computeCamCpuFast(method, input, {}, { simd: false });
        expect(maxAbsDiff(simd.maps, ts.maps), method).toBe(0);
        expect(maxAbsDiff(simd.maps, computeCamCpu(method, input).maps), method).toBeLessThanOrEqual(MAP_TOL);
      }
    }
  });

  it('Eigen-CAM equals the reference when C <= HW and when C > HW', async () => {
    for (const [seed, C, H, W] of [[41, 20, 6, 6], [42, 90, 4, 5]]) {
      const input = randomInput(seed, C, H, W);
      const fast = await computeCamCpuFast('eigencam', input);
      expect(maxAbsDiff(fast.maps, computeCamCpu('eigencam', input).maps)).toBeLessThanOrEqual(MAP_TOL);
    }
  });
});

describe('engine', () => {
  it("backend 'cpu' runs the fast path; cpuPath 'reference' the reference; batches equal images alone", async () => {
    const fast = await createCamEngine({ backend: 'cpu' });
    const reference = await createCamEngine({ backend: 'cpu', cpuPath: 'reference' });
    expect(fast.adapterName).toBe('cpu fast (wasm-simd)');
    expect(reference.adapterName).toBe('cpu reference');
    const cases = ['bridges-141', 'bridges-143', 'bridges-249'].map(loadGoldenCase);
    const batch = inputOf(...cases);
    const mapSize = batch.shape.outHeight * batch.shape.outWidth;
    for (const method of ['cfcam', 'gradcam', 'eigencam'] as CamMethod[]) {
      const batched = await fast.compute(method, batch);
      for (const [b, c] of cases.entries()) {
        const alone = await fast.compute(method, inputOf(c));
        expect(maxAbsDiff(batched.maps.subarray(b * mapSize, (b + 1) * mapSize), alone.maps)).toBe(0);
        if (method === 'cfcam') expect(Array.from(batched.cfcam!.labels.subarray(b * 700, (b + 1) * 700))).toEqual(Array.from(c.labels));
      }
      if (method !== 'cfcam') expect(maxAbsDiff(batched.maps, (await reference.compute(method, batch)).maps)).toBeLessThanOrEqual(MAP_TOL);
    }
    // The engine validates before it computes, as on the reference.
    const bad = inputOf(cases[0]);
    bad.activations[5] = NaN;
    await expect(fast.compute('cfcam', bad)).rejects.toThrow(/NaN/);
  });
});
