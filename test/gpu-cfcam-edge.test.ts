/**
 * CF-CAM on the GPU engine vs the CPU reference (computeCamCpu) beyond the golden cases:
 * batches and distance chunking, mode 'bilateral' with non-default parameters, and edge cases
 * (tiny C, zeros, ties, odd sizes, non-square outputs, a mid-size clustered case).
 * Targets (cfcam.md): labels identical, eps / norm threshold within 1e-5 relative, weights
 * within 1e-5, map within 1e-4. Problems stay small: Dawn runs on SwiftShader in CI.
 */
import { describe, expect, it } from 'vitest';
import { loadGoldenCase, maxAbsDiff, type GoldenCase } from './helpers/golden';
import { testEngine } from './helpers/gpu';
import { createCamEngine } from '../src/engine/engine';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import type { CamInput, CamOptions, CamResult } from '../src/engine/types';
import { gaussian, prng, shuffle } from './helpers/random';

// ---------------------------------------------------------------------------------------------
// Deterministic data

/** Gradients that vary in space (so the two filters differ), per-channel amplitude. */
function spatialGradients(rand: () => number, C: number, H: number, W: number, scale = 0.05): Float32Array {
  const G = new Float32Array(C * H * W);
  for (let k = 0; k < C; k++) {
    const amp = gaussian(rand) * scale;
    const fx = 0.3 + rand();
    const fy = 0.3 + rand();
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        G[(k * H + y) * W + x] = amp * Math.sin(fx * x + fy * y) + gaussian(rand) * scale * 0.2;
      }
    }
  }
  return G;
}

function makeInput(A: Float32Array, G: Float32Array, C: number, H: number, W: number, outH = 2 * H + 1, outW = 2 * W + 3, batch = 1): CamInput {
  return { shape: { batch, channels: C, height: H, width: W, outHeight: outH, outWidth: outW }, activations: A, gradients: G };
}

/**
 * Channels from a few prototype vectors plus small noise (the remaining 75%), and 25% of
 * channels with a much larger norm (important), shuffled.
 */
function clusteredActivations(rand: () => number, C: number, P: number, prototypes: number, noise: number, share?: number[]): Float32Array {
  const protos = Array.from({ length: prototypes }, () => {
    const v = Array.from({ length: P }, () => gaussian(rand));
    const n = Math.hypot(...v);
    return v.map((x) => (3 * x) / n);
  });
  const important = Math.ceil(C / 4);
  const rows: number[][] = [];
  for (let k = 0; k < C; k++) {
    if (k < important) rows.push(Array.from({ length: P }, () => 20 + gaussian(rand) * 5));
    else {
      let j = k % prototypes;
      if (share) {
        // Prototype j with probability share[j] (unequal cluster sizes).
        let u = rand();
        for (j = 0; j < prototypes - 1 && u >= share[j]; j++) u -= share[j];
      }
      const proto = protos[j];
      rows.push(proto.map((x) => x + gaussian(rand) * noise));
    }
  }
  return Float32Array.from(shuffle(rows, rand).flat());
}

// ---------------------------------------------------------------------------------------------
// Comparison

function relative(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
}

/** GPU engine and CPU reference on the same input; asserts the cfcam.md targets per image. */
async function compareWithCpu(input: CamInput, options: CamOptions = {}, what = ''): Promise<{ gpu: CamResult; cpu: CamResult }> {
  const engine = await testEngine();
  const gpu = await engine.compute('cfcam', input, options);
  const cpu = computeCamCpu('cfcam', input, options);
  const g = gpu.cfcam!;
  const c = cpu.cfcam!;
  const { batch: B, channels: C, outHeight, outWidth } = input.shape;
  const S = outHeight * outWidth;
  for (let b = 0; b < B; b++) {
    const ctx = `${what} image ${b}`;
    expect(Array.from(g.labels.subarray(b * C, (b + 1) * C)), `${ctx}: labels`).toEqual(Array.from(c.labels.subarray(b * C, (b + 1) * C)));
    expect(relative(g.eps[b], c.eps[b]), `${ctx}: eps ${g.eps[b]} vs ${c.eps[b]}`).toBeLessThanOrEqual(1e-5);
    expect(relative(g.normThreshold[b], c.normThreshold[b]), `${ctx}: threshold ${g.normThreshold[b]} vs ${c.normThreshold[b]}`).toBeLessThanOrEqual(1e-5);
    expect(g.minSamples[b], `${ctx}: min_samples`).toBe(c.minSamples[b]);
    expect(g.clusters[b], `${ctx}: clusters`).toBe(c.clusters[b]);
    expect(g.important[b], `${ctx}: important`).toBe(c.important[b]);
    expect(g.noise[b], `${ctx}: noise`).toBe(c.noise[b]);
    expect(maxAbsDiff(g.weights.subarray(b * C, (b + 1) * C), c.weights.subarray(b * C, (b + 1) * C)), `${ctx}: weights`).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(gpu.maps.subarray(b * S, (b + 1) * S), cpu.maps.subarray(b * S, (b + 1) * S)), `${ctx}: map`).toBeLessThanOrEqual(1e-4);
  }
  for (const v of gpu.maps) {
    expect(Number.isFinite(v)).toBe(true);
  }
  return { gpu, cpu };
}

function goldenInput(c: GoldenCase, batch = 1): CamInput {
  const { channels, height, width, output_size } = c.meta;
  return {
    shape: { batch, channels, height, width, outHeight: output_size, outWidth: output_size },
    activations: c.activations,
    gradients: c.gradients,
  };
}

// ---------------------------------------------------------------------------------------------

describe('batch = singles (bridges-141/143/249 as one [3,C,H,W] batch)', () => {
  const names = ['bridges-141', 'bridges-143', 'bridges-249'];

  it('per-image results equal each image alone and golden, for default, 1- and 2-image distance chunks', async () => {
    const cases = names.map(loadGoldenCase);
    const { channels: C, height: H, width: W, output_size: S } = cases[0].meta;
    for (const c of cases) expect([c.meta.channels, c.meta.height, c.meta.width, c.meta.output_size]).toEqual([C, H, W, S]);
    const engine = await testEngine();
    const singles = [];
    for (const c of cases) singles.push(await engine.compute('cfcam', goldenInput(c)));

    const activations = new Float32Array(3 * C * H * W);
    const gradients = new Float32Array(3 * C * H * W);
    cases.forEach((c, b) => {
      activations.set(c.activations, b * C * H * W);
      gradients.set(c.gradients, b * C * H * W);
    });
    const input: CamInput = { shape: { batch: 3, channels: C, height: H, width: W, outHeight: S, outWidth: S }, activations, gradients };

    for (const options of [{}, { cfcamChunkImages: 1 }, { cfcamChunkImages: 2 }] as CamOptions[]) {
      const run = await engine.compute('cfcam', input, options);
      const d = run.cfcam!;
      for (let b = 0; b < 3; b++) {
        const ctx = `${names[b]} in batch, options ${JSON.stringify(options)}`;
        const alone = singles[b];
        const a = alone.cfcam!;
        // Identical to the image alone (same kernels, same per-image arithmetic).
        expect(Array.from(d.labels.subarray(b * C, (b + 1) * C)), ctx).toEqual(Array.from(a.labels));
        expect(d.eps[b], ctx).toBe(a.eps[0]);
        expect(d.normThreshold[b], ctx).toBe(a.normThreshold[0]);
        expect(d.minSamples[b], ctx).toBe(a.minSamples[0]);
        expect(d.clusters[b], ctx).toBe(a.clusters[0]);
        expect(d.important[b], ctx).toBe(a.important[0]);
        expect(d.noise[b], ctx).toBe(a.noise[0]);
        expect(Array.from(d.weights.subarray(b * C, (b + 1) * C)), `${ctx}: weights`).toEqual(Array.from(a.weights));
        expect(maxAbsDiff(run.maps.subarray(b * S * S, (b + 1) * S * S), alone.maps), `${ctx}: map vs alone`).toBe(0);
        // And to golden.
        const golden = cases[b];
        expect(Array.from(d.labels.subarray(b * C, (b + 1) * C)), ctx).toEqual(Array.from(golden.labels));
        expect(relative(d.eps[b], golden.meta.eps), ctx).toBeLessThanOrEqual(1e-5);
        expect(relative(d.normThreshold[b], golden.meta.norm_threshold), ctx).toBeLessThanOrEqual(1e-5);
        expect(d.clusters[b], ctx).toBe(golden.meta.clusters);
        expect(maxAbsDiff(d.weights.subarray(b * C, (b + 1) * C), golden.weights), ctx).toBeLessThanOrEqual(1e-5);
        expect(maxAbsDiff(run.maps.subarray(b * S * S, (b + 1) * S * S), golden.maps.cam), ctx).toBeLessThanOrEqual(1e-4);
      }
    }
  });

  it('a batch mixing very different images (bridges, a zero image, a clustered one) with 1-image chunks', async () => {
    const c = loadGoldenCase('bridges-141');
    const { channels: C, height: H, width: W } = c.meta;
    const n = C * H * W;
    const rand = prng(5);
    const A = new Float32Array(3 * n);
    const G = new Float32Array(3 * n);
    A.set(c.activations, 0);
    G.set(c.gradients, 0);
    // image 1: all-zero activations; image 2: synthetic clusters.
    G.set(spatialGradients(rand, C, H, W), n);
    A.set(clusteredActivations(rand, C, H * W, 4, 0.2), 2 * n);
    G.set(spatialGradients(rand, C, H, W), 2 * n);
    const input = makeInput(A, G, C, H, W, 20, 24, 3);
    await compareWithCpu(input, { cfcamChunkImages: 1 }, 'mixed batch, chunk 1');
    await compareWithCpu(input, { cfcamChunkImages: 2, mode: 'bilateral' }, 'mixed batch, chunk 2, bilateral');
  });
});

// ---------------------------------------------------------------------------------------------

describe("mode 'bilateral' (GPU vs CPU)", () => {
  // Gradients that vary in space, plus the layer4 / vgg cases (spatially constant gradients:
  // the bilateral filter returns a constant map unchanged) and the ties case.
  const spatialCases = ['spatial-grad', 'resnet50-layer3', 'clustered', 'small', 'resnet18-layer4', 'vgg16-features29', 'zeros-and-ties'];

  for (const name of spatialCases) {
    it(`${name}: default parameters`, async () => {
      await compareWithCpu(goldenInput(loadGoldenCase(name)), { mode: 'bilateral' }, name);
    });
  }

  const variants: Array<[string, CamOptions['bilateral']]> = [
    ['d: 0 (radius from sigmaSpace 5 -> 8)', { d: 0 }],
    ['d: 3', { d: 3 }],
    ['sigmaColor 0.01', { sigmaColor: 0.01 }],
    ['sigmaColor 1.0', { sigmaColor: 1.0 }],
    ['d: 0, sigmaSpace 1 (radius round(1.5) = 2)', { d: 0, sigmaSpace: 1 }],
    ['d: 0, sigmaSpace 3 (cvRound(4.5) = 4, half to even)', { d: 0, sigmaSpace: 3 }],
    ['d: -1, sigmaSpace 2, sigmaColor 0.05', { d: -1, sigmaSpace: 2, sigmaColor: 0.05 }],
  ];
  for (const name of ['spatial-grad', 'small']) {
    for (const [label, bilateral] of variants) {
      it(`${name}: ${label}`, async () => {
        await compareWithCpu(goldenInput(loadGoldenCase(name)), { mode: 'bilateral', bilateral }, `${name} ${label}`);
      });
    }
  }

  it('resnet50-layer3: d: 0, d: 3 and sigmaColor 0.01 / 1.0', async () => {
    const input = goldenInput(loadGoldenCase('resnet50-layer3'));
    for (const bilateral of [{ d: 0 }, { d: 3 }, { sigmaColor: 0.01 }, { sigmaColor: 1.0 }]) {
      await compareWithCpu(input, { mode: 'bilateral', bilateral }, `resnet50-layer3 ${JSON.stringify(bilateral)}`);
    }
  });

  // Synthetic 9x9 clusters with strongly varying gradients (the radius and colour weights matter).
  const synthetic = (() => {
    const rand = prng(99);
    const C = 80;
    const H = 9;
    const W = 9;
    const A = clusteredActivations(rand, C, H * W, 3, 0.3);
    const G = spatialGradients(rand, C, H, W, 1);
    return makeInput(A, G, C, H, W, 18, 18);
  })();
  const syntheticVariants: Array<[string, CamOptions['bilateral']]> = [
    ['defaults', {}],
    ['d: 0 (radius 8)', { d: 0 }],
    ['d: 0, sigmaSpace 3 (OpenCV radius cvRound(4.5) = 4)', { d: 0, sigmaSpace: 3 }],
    ['d: 0, sigmaSpace 7 (OpenCV radius cvRound(10.5) = 10)', { d: 0, sigmaSpace: 7 }],
    ['d: 0, sigmaSpace 1.5 (radius cvRound(2.25) = 2)', { d: 0, sigmaSpace: 1.5 }],
    ['d: 3', { d: 3 }],
    ['d: 9', { d: 9 }],
    ['sigmaColor 0.01', { sigmaColor: 0.01 }],
    ['sigmaColor 1.0', { sigmaColor: 1.0 }],
  ];
  for (const [label, bilateral] of syntheticVariants) {
    it(`synthetic 9x9 clusters, strongly varying gradients: ${label}`, async () => {
      const { cpu } = await compareWithCpu(synthetic, { mode: 'bilateral', bilateral }, `synthetic ${label}`);
      expect(cpu.cfcam!.clusters[0]).toBeGreaterThan(0);
    });
  }

  for (const name of ['spatial-grad', 'resnet50-layer3']) {
    it(`${name}: modes 'reference' and 'bilateral' give different cluster weights (gradients vary in space)`, async () => {
      const input = goldenInput(loadGoldenCase(name));
      const { gpu: ref, cpu: refCpu } = await compareWithCpu(input, { mode: 'reference' }, `${name} reference`);
      const { gpu: bil, cpu: bilCpu } = await compareWithCpu(input, { mode: 'bilateral' }, `${name} bilateral`);
      const labels = ref.cfcam!.labels;
      expect(Array.from(bil.cfcam!.labels)).toEqual(Array.from(labels));
      const clustered = [...labels.keys()].filter((k) => labels[k] >= 0);
      expect(clustered.length).toBeGreaterThan(0);
      const differs = (a: Float32Array, b: Float32Array) => clustered.some((k) => a[k] !== b[k]);
      expect(differs(ref.cfcam!.weights, bil.cfcam!.weights)).toBe(true);
      expect(differs(refCpu.cfcam!.weights, bilCpu.cfcam!.weights)).toBe(true);
      // Important channels use the raw gradient mean in both modes.
      const important = [...labels.keys()].filter((k) => labels[k] === -2);
      expect(important.map((k) => bil.cfcam!.weights[k])).toEqual(important.map((k) => ref.cfcam!.weights[k]));
      expect(maxAbsDiff(ref.maps, bil.maps)).toBeGreaterThan(0);
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('edge cases (GPU vs CPU)', () => {
  it('C = 1: the single channel is important, eps floored, no clustering', async () => {
    const rand = prng(1);
    const A = Float32Array.from({ length: 9 }, () => gaussian(rand));
    A[4] = Math.abs(A[4]) + 1; // some positive activation
    const G = spatialGradients(rand, 1, 3, 3);
    for (const mode of ['reference', 'bilateral'] as const) {
      const { gpu } = await compareWithCpu(makeInput(A, G, 1, 3, 3, 6, 6), { mode }, `C=1 ${mode}`);
      expect(Array.from(gpu.cfcam!.labels)).toEqual([-2]);
      expect(gpu.cfcam!.eps[0]).toBe(Math.fround(1e-5));
    }
  });

  it('C = 2: one important channel, one noise channel (dropped)', async () => {
    const rand = prng(2);
    const H = 4;
    const W = 3;
    const A = new Float32Array(2 * H * W);
    for (let p = 0; p < H * W; p++) {
      A[p] = 0.1 * gaussian(rand); // small: noise (the only remaining channel)
      A[H * W + p] = 2 + gaussian(rand); // large: important
    }
    const G = spatialGradients(rand, 2, H, W);
    const { gpu } = await compareWithCpu(makeInput(A, G, 2, H, W, 8, 5), {}, 'C=2');
    expect(Array.from(gpu.cfcam!.labels)).toEqual([-1, -2]);
    expect(gpu.cfcam!.weights[0]).toBe(0);
    expect(gpu.cfcam!.noise[0]).toBe(1);
  });

  it('all-zero activations: every channel important, map all zero', async () => {
    const rand = prng(3);
    const C = 16;
    const A = new Float32Array(C * 16);
    const G = spatialGradients(rand, C, 4, 4);
    const { gpu } = await compareWithCpu(makeInput(A, G, C, 4, 4), {}, 'zero activations');
    expect(gpu.cfcam!.important[0]).toBe(C);
    expect(gpu.maps.every((v) => v === 0)).toBe(true);
  });

  it('all activations negative: ReLU gives an all-zero map (no normalisation)', async () => {
    const rand = prng(44);
    const C = 32;
    const A = Float32Array.from(clusteredActivations(rand, C, 16, 3, 0.1), (v) => -Math.abs(v) - 0.01);
    const G = spatialGradients(rand, C, 4, 4);
    const { gpu } = await compareWithCpu(makeInput(A, G, C, 4, 4), {}, 'negative activations');
    expect(gpu.maps.every((v) => v === 0)).toBe(true);
  });

  it('all-zero gradients: every weight 0, uniform softmax', async () => {
    const rand = prng(4);
    const C = 40;
    const A = clusteredActivations(rand, C, 25, 2, 0.1);
    const G = new Float32Array(C * 25);
    for (const mode of ['reference', 'bilateral'] as const) {
      const { gpu } = await compareWithCpu(makeInput(A, G, C, 5, 5), { mode }, `zero gradients ${mode}`);
      expect(gpu.cfcam!.weights.every((w) => w === 0)).toBe(true);
    }
  });

  it('every remaining channel identical: distances 0, eps floored to 1e-5, one cluster', async () => {
    const rand = prng(5);
    const C = 40;
    const P = 16;
    const same = Array.from({ length: P }, () => gaussian(rand));
    const rows = Array.from({ length: C }, (_, k) => (k < 10 ? Array.from({ length: P }, () => 10 + rand()) : same));
    const A = Float32Array.from(shuffle(rows, rand).flat());
    const G = spatialGradients(rand, C, 4, 4);
    for (const mode of ['reference', 'bilateral'] as const) {
      const { gpu } = await compareWithCpu(makeInput(A, G, C, 4, 4), { mode }, `identical ${mode}`);
      expect(gpu.cfcam!.eps[0]).toBe(Math.fround(1e-5));
      expect(gpu.cfcam!.clusters[0]).toBe(1);
      expect(gpu.cfcam!.important[0]).toBe(10);
      expect(gpu.cfcam!.noise[0]).toBe(0);
    }
  });

  it('ties exactly at eps: one-hot channels of equal magnitude on different pixels', async () => {
    for (const seed of [6, 7, 8]) {
      const rand = prng(seed);
      const H = 5;
      const W = 6;
      const P = H * W;
      const C = 48;
      // 36 one-hot channels (magnitude 1 or 2; pixels drawn with repeats) and 12 large ones.
      const rows = Array.from({ length: C }, (_, k) => {
        const v = new Array<number>(P).fill(0);
        if (k < 12) v.fill(5 + k);
        else v[Math.floor(rand() * P)] = seed === 6 ? 1 : 1 + Math.floor(rand() * 2);
        return v;
      });
      const A = Float32Array.from(shuffle(rows, rand).flat());
      const G = spatialGradients(rand, C, H, W);
      await compareWithCpu(makeInput(A, G, C, H, W), {}, `one-hot ties seed ${seed}`);
      await compareWithCpu(makeInput(A, G, C, H, W), { mode: 'bilateral' }, `one-hot ties seed ${seed} bilateral`);
    }
  });

  it('duplicated norms at the 75th-percentile boundary (equal norms, different directions)', async () => {
    const rand = prng(9);
    const H = 2;
    const W = 2;
    // Integer vectors with norms from a small set: many channels share the norm at s[lo] / s[hi].
    const pool = [
      [3, 4, 0, 0], [0, 0, 4, 3], [5, 0, 0, 0], [0, -5, 0, 0], [0, 3, 0, -4], // norm 5
      [2, 2, 1, 0], [0, 1, 2, 2], [3, 0, 0, 0], [1, 2, 0, 2], // norm 3
      [6, 0, 0, 0], [0, 6, 0, 0], [2, 4, 4, 0], // norm 6
    ];
    for (const C of [41, 42, 43, 44]) {
      const rows = Array.from({ length: C }, () => pool[Math.floor(rand() * pool.length)]);
      const A = Float32Array.from(rows.flat());
      const G = spatialGradients(rand, C, H, W);
      await compareWithCpu(makeInput(A, G, C, H, W, 7, 3), {}, `norm ties C=${C}`);
    }
  });

  const sizes: Array<[number, number, number, number]> = [
    [1, 1, 7, 7],
    [2, 2, 2, 2], // output = layer size
    [3, 5, 9, 13], // non-square output
    [4, 6, 4, 6], // output = layer size, even
    [5, 4, 16, 11],
    [7, 3, 13, 9],
    [1, 6, 3, 12], // a single row: reflect-101 over a length-1 axis
    [6, 6, 1, 1], // output 1x1
    [5, 4, 2, 3], // output smaller than the layer
  ];
  for (const [H, W, outH, outW] of sizes) {
    it(`layer ${H}x${W} -> output ${outH}x${outW}, both modes`, async () => {
      const rand = prng(100 * H + W);
      const C = 60;
      const A = clusteredActivations(rand, C, H * W, 3, 0.15);
      const G = spatialGradients(rand, C, H, W, 0.5);
      for (const mode of ['reference', 'bilateral'] as const) {
        const { gpu } = await compareWithCpu(makeInput(A, G, C, H, W, outH, outW), { mode }, `${H}x${W} ${mode}`);
        expect(gpu.maps.length).toBe(outH * outW);
      }
    });
  }

  it('mid-size random case (C = 300, 7x7): prototype clusters, GPU finds the same >= 3 clusters as the CPU', async () => {
    const rand = prng(300);
    const C = 300;
    const H = 7;
    const W = 7;
    const A = clusteredActivations(rand, C, H * W, 3, 0.25);
    const G = spatialGradients(rand, C, H, W, 0.2);
    for (const mode of ['reference', 'bilateral'] as const) {
      const { gpu, cpu } = await compareWithCpu(makeInput(A, G, C, H, W, 224, 224), { mode }, `C=300 ${mode}`);
      expect(cpu.cfcam!.important[0]).toBe(75);
      expect(gpu.cfcam!.clusters[0]).toBeGreaterThanOrEqual(3);
    }
  });

  it('mid-size random case with 5 prototypes of unequal sizes and outliers (C = 300, 7x7)', async () => {
    const rand = prng(301);
    const C = 300;
    // One big cluster holds half the remaining channels, so within-cluster pairs pass 25% and
    // eps stays below the gaps between prototypes.
    const A = clusteredActivations(rand, C, 49, 5, 0.2, [0.5, 0.125, 0.125, 0.125, 0.125]);
    // A few outlier channels (noise for DBSCAN) with moderate norms.
    let outliers = 0;
    for (let c = 0; c < C && outliers < 6; c++) {
      let n = 0;
      for (let p = 0; p < 49; p++) n += A[c * 49 + p] ** 2;
      if (Math.sqrt(n) > 10) continue; // keep the important ones
      for (let p = 0; p < 49; p++) A[c * 49 + p] = gaussian(rand) * 0.5;
      outliers++;
    }
    const G = spatialGradients(rand, C, 7, 7, 0.2);
    for (const mode of ['reference', 'bilateral'] as const) {
      const { gpu } = await compareWithCpu(makeInput(A, G, C, 7, 7, 32, 32), { mode }, `C=300 outliers ${mode}`);
      expect(gpu.cfcam!.clusters[0]).toBeGreaterThanOrEqual(3);
      expect(gpu.cfcam!.noise[0]).toBeGreaterThan(0);
    }
  });

  it('activations scaled by 1e-12 and by 1e15 (far from 1, still normal float32 squares)', async () => {
    for (const scale of [1e-12, 1e15]) {
      const rand = prng(12);
      const C = 40;
      const A = Float32Array.from(clusteredActivations(rand, C, 25, 3, 0.2), (v) => v * scale);
      const G = spatialGradients(rand, C, 5, 5);
      await compareWithCpu(makeInput(A, G, C, 5, 5), {}, `scale ${scale}`);
    }
  });

  // Squares of |a| < ~1e-19 are float32 subnormals. The CPU reference (like numpy) keeps them;
  // here the GPU flushes them to zero (WGSL allows it), so every norm is 0 and every channel
  // becomes important. Kept as a documented discrepancy: see the report.
  // Below ~1e-19 the squares are float32 subnormals, which GPUs may flush to zero (WGSL
  // permits it): a documented limitation. Far above, the squared norms would overflow, so
  // CF-CAM rejects such input instead of returning a NaN-driven map.
  it('rejects activations whose squared norms would overflow float32', async () => {
    const C = 8;
    const A = new Float32Array(C * 4).fill(1);
    A[5] = 1e20;
    const G = new Float32Array(C * 4).fill(0.1);
    const input = makeInput(A, G, C, 2, 2, 4, 4);
    for (const engine of [await testEngine(), await createCamEngine({ backend: 'cpu' })]) {
      await expect(engine.compute('cfcam', input)).rejects.toThrow(/overflow float32/);
    }
  });
});
