/**
 * ClusCAM on the GPU (shared/spec/cluscam.md; the CPU twin is ./cpu.ts). Per
 * image:
 * 1. one submit: the masks of all C channels [C, H*W] (upsampled, ClusCAM's min-max), kept in a
 *    pooled buffer;
 * 2. K-Means over them on the GPU (./kmeans.ts; its own submits); the K centroids stay on the
 *    GPU as the masks M_k;
 * 3. per chunk of `scoreBatchSize` centroids, one submit for the masked inputs x * M_k, read
 *    back for the model (the next chunk's submit overlaps the model call);
 * 4. on the host: delta_k = f_c(x * M_k) - f_c(x), the drop of the floor(r*K) lowest and the
 *    softmax (K numbers; the same function as the CPU reference);
 * 5. one submit: alpha uploaded, S = ReLU(sum_k alpha_k M_k), per-image min-max, read back.
 * Submits per image: 1 + K-Means's + ceil(K / scoreBatchSize) + 1.
 */
import type { CamRun, ComputeOptions } from '../../types.js';
import type { GpuContext } from '../../gpu/context.js';
import { writeFloats } from '../../gpu/upload.js';
import { recordChannelMasks } from '../scored/channel-masks.js';
import { recordImageStats } from '../common/image-stats.js';
import { recordMaskedInputs } from '../scored/masked-inputs.js';
import { recordNormalize } from '../common/normalize.js';
import { recordWeightedSum } from '../common/weighted-sum.js';
import { cluscamAlphas, newCluscamDetails, setCluscamImageDetails } from './cpu.js';
import { kmeansOptionsOf, resolveCluscamOptions } from './options.js';
import { DEFAULT_SCORE_BATCH, scoreMasked } from '../scored/masks-cpu.js';
import type { CamInput } from '../../types.js';
import { kmeansGpu } from './kmeans/gpu.js';
import { maskChunks, scoreChunksPipelined, type MaskChunk } from '../scored/chunks.js';
import { HeldBuffers, submitRecorded } from '../scored/driver.js';
import { assertBindable } from '../../gpu/limits.js';

export async function runCluscamGpu(gpu: GpuContext, input: CamInput, options: ComputeOptions = {}): Promise<CamRun> {
  const scorer = input.scorer!;
  const { shape } = input;
  const { batch: B, channels: C, outHeight: H, outWidth: W } = shape;
  const o = resolveCluscamOptions(options.cluscam, C);
  const K = o.clusters;
  const batchSize = Math.min(options.scoreBatchSize ?? DEFAULT_SCORE_BATCH, K);
  const plane = H * W;
  const maskBytes = C * plane * 4;
  assertBindable(gpu.device, maskBytes, `ClusCAM: the ${C} channel masks of ${H}x${W} (the K-Means points)`, 'explain a layer with fewer channels, use a smaller input size, or use the CPU backend');
  assertBindable(gpu.device, batchSize * 3 * plane * 4, `ClusCAM: ${batchSize} masked inputs of 3x${H}x${W}`, 'lower scoreBatchSize (--score-batch)');

  const stageMs: Record<string, number> = {};
  const timing = options.timing;
  const details = newCluscamDetails(B, C, K);
  const maps = new Float32Array(B * plane);
  const held = new HeldBuffers(gpu);
  try {
    const activations = held.upload(input.activations, 'cluscam activations');
    const inputs = held.upload(scorer.inputs, 'cluscam inputs');
    for (let b = 0; b < B; b++) {
      const masks = held.acquire(maskBytes, 'cluscam masks');
      await submitRecorded(gpu, { timing, label: 'cluscam masks', stageMs }, (rec) => {
        rec.stage('masks', (pass) => {
          recordChannelMasks(rec, pass, activations, shape, { image: b, first: 0, count: C }, 'cluscam', masks);
        });
      });
      const km = await kmeansGpu(gpu, { buffer: masks, offset: 0, size: maskBytes }, C, plane, kmeansOptionsOf(o));
      held.release(masks);
      try {
        const centroids = { buffer: km.centroids, offset: 0, size: K * plane * 4 };
        const deltas = new Float64Array(K);
        const masked = async (chunk: MaskChunk): Promise<Float32Array> => {
          const { value: index, readbacks } = await submitRecorded(gpu, { timing, label: 'cluscam masked inputs', stageMs }, (rec) => {
            let out!: GPUBuffer;
            rec.stage('masked inputs', (pass) => {
              out = recordMaskedInputs(rec, pass, inputs, centroids, { height: H, width: W }, chunk);
            });
            return rec.read(out, chunk.count * 3 * plane * 4);
          });
          return new Float32Array(readbacks[index]);
        };
        // Chunks over the K centroids of this image (maskChunks' "channels" are the clusters).
        const chunks = maskChunks(1, K, batchSize).map((c) => ({ ...c, image: b }));
        await scoreChunksPipelined(chunks, masked, async (chunk, data) => {
          const logits = await scoreMasked(scorer, data, chunk.count, b, chunk.first);
          for (let j = 0; j < chunk.count; j++) deltas[chunk.first + j] = logits[j] - scorer.baseLogits[b];
        });
        const alphas = cluscamAlphas(deltas, o.dropRatio, o.temperature);

        const { value: index, readbacks } = await submitRecorded(gpu, { timing, label: 'cluscam', stageMs }, (rec) => {
          const alphaBuffer = rec.storage(K * 4, 'cluscam alphas');
          writeFloats(gpu.device, alphaBuffer, Float32Array.from(alphas));
          let map!: GPUBuffer;
          rec.stage('weighted sum', (pass) => {
            map = recordWeightedSum(rec, pass, centroids, alphaBuffer, { batch: 1, channels: K, pixels: plane });
          });
          rec.stage('normalize', (pass) => {
            const stats = recordImageStats(rec, pass, map, 1, plane);
            recordNormalize(rec, pass, map, stats, 1, plane, 'minmax');
          });
          return rec.read(map, plane * 4);
        });
        maps.set(new Float32Array(readbacks[index]), b * plane);

        setCluscamImageDetails(details, b, km, deltas, alphas);
      } finally {
        km.release();
      }
    }
    return { shape: { ...shape }, maps, stageMs, cluscam: details };
  } finally {
    held.releaseAll();
  }
}
