/**
 * Score-CAM on the GPU (shared/spec/cluscam.md; pytorch-grad-cam's ScoreCAM). Per image and per
 * chunk of `scoreBatchSize` channels, one submit makes the masked inputs x * A^_k (channel
 * stats, then masks applied as they are computed) and reads them back for the model; the next chunk's submit is queued before
 * the model scores the current one, so the GPU and the model overlap. Then one submit for the
 * whole batch: the B*C scores uploaded once, softmax over channels, ReLU(sum_k w_k A_k) and the
 * family's post-processing (min-max, bilinear resize, min-max).
 * Submits per call: B * ceil(C / scoreBatchSize) + 1.
 */
import type { CamRun, ComputeOptions } from '../../types.js';
import type { GpuContext } from '../../gpu/context.js';
import { recordChannelMaskedInputs } from '../scored/channel-masks.js';
import { recordScoreSoftmax } from './score-softmax.js';
import { recordWeightedSum } from '../common/weighted-sum.js';
import { writeFloats } from '../../gpu/upload.js';
import { DEFAULT_SCORE_BATCH, scoreMasked } from '../scored/masks-cpu.js';
import { maskChunks, scoreChunksPipelined, type MaskChunk } from '../scored/chunks.js';
import type { CamInput } from '../../types.js';
import { recordGradcamPostprocess } from '../common/postprocess-gpu.js';
import { HeldBuffers, submitRecorded } from '../scored/driver.js';
import { assertBindable } from '../../gpu/limits.js';

export async function runScorecamGpu(gpu: GpuContext, input: CamInput, options: ComputeOptions = {}): Promise<CamRun> {
  const scorer = input.scorer!;
  const { shape } = input;
  const { batch: B, channels: C, outHeight: H, outWidth: W } = shape;
  const batchSize = Math.min(options.scoreBatchSize ?? DEFAULT_SCORE_BATCH, C);
  const plane = H * W;
  assertBindable(gpu.device, batchSize * 3 * plane * 4, `Score-CAM: ${batchSize} masked inputs of 3x${H}x${W}`, 'lower scoreBatchSize (--score-batch)');
  assertBindable(gpu.device, input.activations.byteLength, `the activations [${B},${C},${shape.height},${shape.width}]`, 'explain fewer images at once');

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
      const map = recordGradcamPostprocess(rec, reluMap, shape);
      return rec.read(map, B * plane * 4);
    });
    return { shape: { ...shape }, maps: new Float32Array(readbacks[index]), stageMs };
  } finally {
    held.releaseAll();
  }
}
