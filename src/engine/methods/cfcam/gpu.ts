import { assertBindable, bindableBytes } from '../../gpu/limits.js';
import type { Recorder } from '../../gpu/recorder.js';
import { IMAGE_STATE_BYTES, STATE_FIELDS } from './cfcam-state.js';
import { recordChannelNorms } from './channel-norms.js';
import { recordRankSort } from './rank-sort.js';
import { recordCfcamSplit } from './cfcam-split.js';
import { recordGatherRemaining, recordPairwiseDistances, type ImageChunk } from './pairwise-distance.js';
import { allocateEpsHistogram, recordEpsPercentile } from './radix-select.js';
import { allocateDbscanBuffers, recordDbscan } from './dbscan.js';
import { recordClusterWeights } from './cluster-filter.js';
import { recordCfcamSoftmax } from './cfcam-softmax.js';
import { recordWeightedSum } from '../common/weighted-sum.js';
import { recordCfcamPostprocess } from '../common/postprocess-gpu.js';
import type { CamOptions, CamShape, CfcamDetails } from '../../types.js';
import type { EncodedCam, GpuCamInputs } from '../contract.js';
import { resolveCfcamOptions } from './options.js';

/** Keep the per-chunk distance matrices within this many bytes even where the device allows more. */
const DISTANCE_BUDGET_BYTES = 512 * 1024 * 1024;

/** CF-CAM's GPU-resident details, read back on request. */
export interface EncodedCfcamDetails {
  labels: GPUBuffer;
  weights: GPUBuffer;
  state: GPUBuffer;
  /** Queue readbacks on `rec`; returns their indices for decodeCfcamDetails. */
  read(rec: Recorder): number[];
}

/** How many images' C x C distance matrices fit in one binding; throws when not even one does. */
export function distanceChunkSize(device: GPUDevice, batch: number, channels: number): number {
  const perImage = channels * channels * 4;
  assertBindable(device, perImage, `the ${channels} x ${channels} distance matrix of C=${channels} channels`, "use fewer channels or the CPU backend (backend: 'cpu')");
  return Math.max(1, Math.min(batch, Math.floor(Math.min(bindableBytes(device), DISTANCE_BUDGET_BYTES) / perImage)));
}

/**
 * CF-CAM (cfcam.md): norms, 75th-percentile split, pairwise distances, 25th-percentile eps,
 * DBSCAN, cluster-filtered gradients, softmax weights, weighted sum + ReLU, bilinear upsampling,
 * max-normalisation. Every image of the batch goes through the same dispatches; the distance
 * matrix is processed in chunks of images that fit the device's binding size.
 */
export function encodeCfcam(rec: Recorder, inputs: GpuCamInputs, options: CamOptions): EncodedCam {
  const { shape, activations } = inputs;
  const gradients = inputs.gradients;
  if (!gradients) throw new Error('CF-CAM needs gradients');
  const { batch, channels, height, width } = shape;
  const pixels = height * width;
  const { mode, bilateral } = resolveCfcamOptions(options);
  const fitting = distanceChunkSize(rec.device, batch, channels);
  const chunkSize = options.cfcamChunkImages ? Math.min(fitting, options.cfcamChunkImages) : fitting;

  let norms!: GPUBuffer;
  rec.stage('channel norms', (pass) => {
    norms = recordChannelNorms(rec, pass, activations, { batch, channels, pixels });
  });

  let split!: ReturnType<typeof recordCfcamSplit>;
  rec.stage('norm threshold', (pass) => {
    const sorted = recordRankSort(rec, pass, norms, batch, channels);
    split = recordCfcamSplit(rec, pass, norms, sorted, batch, channels);
  });

  let columns!: GPUBuffer;
  rec.stage('distances', (pass) => {
    columns = recordGatherRemaining(rec, pass, { activations, remainingIndex: split.remainingIndex, state: split.state }, { batch, channels, pixels });
  });
  const distances = rec.storage(chunkSize * channels * channels * 4, 'pairwise distances');
  const histogram = allocateEpsHistogram(rec, chunkSize);
  const dbscan = allocateDbscanBuffers(rec, batch, channels, chunkSize);
  for (let offset = 0; offset < batch; offset += chunkSize) {
    const chunk: ImageChunk = { offset, count: Math.min(chunkSize, batch - offset) };
    rec.stage('distances', (pass) => {
      recordPairwiseDistances(rec, pass, { columns, state: split.state, distances, histogram }, { channels, pixels }, chunk);
    });
    rec.stage('eps percentile', (pass) => {
      recordEpsPercentile(rec, pass, { distances, state: split.state, histogram }, channels, chunk);
    });
    rec.stage('dbscan', (pass) => {
      recordDbscan(rec, pass, { distances, state: split.state, remainingIndex: split.remainingIndex, labels: split.labels }, dbscan, channels, chunk);
    });
  }

  let clusterWeights!: GPUBuffer;
  rec.stage('cluster filter', (pass) => {
    clusterWeights = recordClusterWeights(
      rec,
      pass,
      {
        gradients,
        state: split.state,
        remainingIndex: split.remainingIndex,
        remainingLabel: dbscan.remainingLabel,
        filterDispatch: dbscan.filterDispatch,
      },
      { batch, channels, height, width },
      mode,
      bilateral,
    );
  });

  let weights!: { rawWeights: GPUBuffer; alpha: GPUBuffer };
  rec.stage('weights', (pass) => {
    weights = recordCfcamSoftmax(rec, pass, { gradients, labels: split.labels, clusterWeights }, { batch, channels, pixels });
  });

  let layerMap!: GPUBuffer;
  rec.stage('weighted sum', (pass) => {
    layerMap = recordWeightedSum(rec, pass, activations, weights.alpha, { batch, channels, pixels });
  });

  const map = recordCfcamPostprocess(rec, layerMap, shape);
  const cfcam: EncodedCfcamDetails = {
    labels: split.labels,
    weights: weights.rawWeights,
    state: split.state,
    read(r) {
      return [r.read(split.labels, batch * channels * 4), r.read(weights.rawWeights, batch * channels * 4), r.read(split.state, batch * IMAGE_STATE_BYTES)];
    },
  };
  return {
    map,
    cfcam,
    details: { read: (r) => cfcam.read(r), decode: (readbacks, indices) => ({ cfcam: decodeCfcamDetails(shape, readbacks, indices) }) },
  };
}

/** Turn the readbacks queued by EncodedCfcamDetails.read into CfcamDetails. */
export function decodeCfcamDetails(shape: CamShape, readbacks: ArrayBuffer[], indices: number[]): CfcamDetails {
  const [labelsIndex, weightsIndex, stateIndex] = indices;
  const words = new Uint32Array(readbacks[stateIndex]);
  const floats = new Float32Array(readbacks[stateIndex]);
  const stride = IMAGE_STATE_BYTES / 4;
  const perImage = <T extends Float32Array | Int32Array>(make: (n: number) => T, read: (base: number) => number): T => {
    const out = make(shape.batch);
    for (let b = 0; b < shape.batch; b++) out[b] = read(b * stride);
    return out;
  };
  return {
    labels: new Int32Array(readbacks[labelsIndex]),
    weights: new Float32Array(readbacks[weightsIndex]),
    eps: perImage((n) => new Float32Array(n), (s) => floats[s + STATE_FIELDS.eps]),
    normThreshold: perImage((n) => new Float32Array(n), (s) => floats[s + STATE_FIELDS.threshold]),
    minSamples: perImage((n) => new Int32Array(n), (s) => words[s + STATE_FIELDS.minSamples]),
    clusters: perImage((n) => new Int32Array(n), (s) => words[s + STATE_FIELDS.clusters]),
    important: perImage((n) => new Int32Array(n), (s) => words[s + STATE_FIELDS.important]),
    noise: perImage((n) => new Int32Array(n), (s) => words[s + STATE_FIELDS.noise]),
  };
}
