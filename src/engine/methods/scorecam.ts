/**
 * Score-CAM on the GPU (shared/spec/cluscam.md; pytorch-grad-cam's ScoreCAM). Per image and per
 * chunk of `scoreBatchSize` channels, one submit makes the masked inputs x * A^_k (channel
 * stats, then masks applied as they are computed) and reads them back for the model; the next chunk's submit is queued before
 * the model scores the current one, so the GPU and the model overlap. Then one submit for the
 * whole batch: the B*C scores uploaded once, softmax over channels, ReLU(sum_k w_k A_k) and the
 * family's post-processing (min-max, bilinear resize, min-max).
 * Submits per call: B * ceil(C / scoreBatchSize) + 1.
 */
import type { CamRun, ComputeOptions } from '../engine.js';
import type { GpuContext } from '../gpu/context.js';
import { recordChannelMaskedInputs } from '../kernels/channel-masks.js';
import { recordScoreSoftmax } from '../kernels/score-softmax.js';
import { recordWeightedSum } from '../kernels/weighted-sum.js';
import { writeFloats } from '../gpu/upload.js';
import { DEFAULT_SCORE_BATCH, scoreMasked } from '../reference/scorecam.js';
import type { CamInput } from '../types.js';
import { recordGradCamPostprocess } from './postprocess.js';
import { assertBindable, HeldBuffers, submitRecorded } from './scored.js';

export interface MaskChunk {
  image: number;
  first: number;
  count: number;
}

/** Chunks of at most `size` channels of every image, in order. */
export function maskChunks(batch: number, channels: number, size: number): MaskChunk[] {
  const chunks: MaskChunk[] = [];
  for (let image = 0; image < batch; image++) {
    for (let first = 0; first < channels; first += size) chunks.push({ image, first, count: Math.min(size, channels - first) });
  }
  return chunks;
}

/**
 * Score every chunk: `masked(chunk)` produces its masked inputs (a GPU submit and readback),
 * `score` runs the model. The next chunk's GPU work is started before the current chunk is
 * scored. A failure leaves no submit pending.
 */
export async function scoreChunksPipelined(
  chunks: readonly MaskChunk[],
  masked: (chunk: MaskChunk) => Promise<Float32Array>,
  score: (chunk: MaskChunk, inputs: Float32Array) => Promise<void>,
): Promise<void> {
  if (chunks.length === 0) return;
  let pending: Promise<Float32Array> | undefined = masked(chunks[0]);
  try {
    for (let i = 0; i < chunks.length; i++) {
      const inputs: Float32Array = await pending!;
      pending = i + 1 < chunks.length ? masked(chunks[i + 1]) : undefined;
      // Handled now: if it fails while the model scores this chunk, that is not an unhandled
      // rejection; the failure still surfaces when it is awaited (next turn, or below).
      pending?.catch(() => undefined);
      await score(chunks[i], inputs);
    }
  } catch (error) {
    // Let the submit in flight finish (its temporaries return to the pool) before failing.
    if (pending) await pending.catch(() => undefined);
    throw error;
  }
}

export async function runScoreCamGpu(gpu: GpuContext, input: CamInput, options: ComputeOptions = {}): Promise<CamRun> {
  const scorer = input.scorer!;
  const { shape } = input;
  const { batch: B, channels: C, outHeight: H, outWidth: W } = shape;
  const batchSize = Math.min(options.scoreBatchSize ?? DEFAULT_SCORE_BATCH, C);
  const plane = H * W;
  assertBindable(gpu, batchSize * 3 * plane * 4, `Score-CAM: ${batchSize} masked inputs of 3x${H}x${W}`, 'lower scoreBatchSize');
  assertBindable(gpu, input.activations.byteLength, `the activations [${B},${C},${shape.height},${shape.width}]`, 'explain fewer images at once');

  const stageMs: Record<string, number> = {};
  const held = new HeldBuffers(gpu);
  try {
    const activations = held.upload(input.activations, 'scorecam activations');
    const inputs = held.upload(scorer.inputs, 'scorecam inputs');
    const scores = new Float32Array(B * C);

    const masked = async (chunk: MaskChunk): Promise<Float32Array> => {
      const { value: index, readbacks } = await submitRecorded(gpu, { timing: options.timing, label: 'scorecam masks', stageMs }, (rec) => {
        let out!: GPUBuffer;
        rec.stage('masked inputs', (pass) => {
          out = recordChannelMaskedInputs(rec, pass, activations, inputs, shape, chunk, 'scorecam');
        });
        return rec.read(out, chunk.count * 3 * plane * 4);
      });
      return new Float32Array(readbacks[index]);
    };
    await scoreChunksPipelined(maskChunks(B, C, batchSize), masked, async (chunk, data) => {
      scores.set(await scoreMasked(scorer, data, chunk.count, chunk.image, chunk.first), chunk.image * C + chunk.first);
    });

    const { value: index, readbacks } = await submitRecorded(gpu, { timing: options.timing, label: 'scorecam', stageMs }, (rec) => {
      const scoreBuffer = rec.storage(scores.byteLength, 'scorecam scores');
      writeFloats(gpu.device, scoreBuffer, scores);
      let weights!: GPUBuffer;
      rec.stage('weights', (pass) => {
        weights = recordScoreSoftmax(rec, pass, scoreBuffer, { batch: B, channels: C });
      });
      let reluMap!: GPUBuffer;
      rec.stage('weighted sum', (pass) => {
        reluMap = recordWeightedSum(rec, pass, activations, weights, { batch: B, channels: C, pixels: shape.height * shape.width });
      });
      const map = recordGradCamPostprocess(rec, reluMap, shape);
      return rec.read(map, B * plane * 4);
    });
    return { shape: { ...shape }, maps: new Float32Array(readbacks[index]), stageMs };
  } finally {
    held.releaseAll();
  }
}
