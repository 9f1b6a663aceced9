import { recordBilinearResize } from './bilinear-resize.js';
import { recordImageStats } from './image-stats.js';
import { recordNormalize, type NormalizeMode } from './normalize.js';
import type { Recorder } from '../../gpu/recorder.js';
import type { CamShape } from '../../types.js';

function normalizeStage(rec: Recorder, values: GPUBuffer, batch: number, n: number, mode: NormalizeMode): void {
  rec.stage('normalize', (pass) => {
    const stats = recordImageStats(rec, pass, values, batch, n);
    recordNormalize(rec, pass, values, stats, batch, n, mode);
  });
}

function upsampleStage(rec: Recorder, map: GPUBuffer, shape: CamShape): GPUBuffer {
  let out!: GPUBuffer;
  rec.stage('upsample', (pass) => {
    out = recordBilinearResize(rec, pass, map, {
      batch: shape.batch,
      inHeight: shape.height,
      inWidth: shape.width,
      outHeight: shape.outHeight,
      outWidth: shape.outWidth,
    });
  });
  return out;
}

/**
 * pytorch-grad-cam's post-processing of a ReLU'd layer-resolution map [B,H,W]:
 * minmax, bilinear resize, minmax again (its layer aggregation re-normalises).
 */
export function recordGradcamPostprocess(rec: Recorder, reluMap: GPUBuffer, shape: CamShape): GPUBuffer {
  normalizeStage(rec, reluMap, shape.batch, shape.height * shape.width, 'minmax');
  const out = upsampleStage(rec, reluMap, shape);
  normalizeStage(rec, out, shape.batch, shape.outHeight * shape.outWidth, 'minmax');
  return out;
}

/** CF-CAM's post-processing of a ReLU'd map: bilinear resize, then divide by the maximum. */
export function recordCfcamPostprocess(rec: Recorder, reluMap: GPUBuffer, shape: CamShape): GPUBuffer {
  const out = upsampleStage(rec, reluMap, shape);
  normalizeStage(rec, out, shape.batch, shape.outHeight * shape.outWidth, 'max');
  return out;
}
