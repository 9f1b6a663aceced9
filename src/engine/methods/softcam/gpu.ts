import type { Recorder } from '../../gpu/recorder.js';
import { recordBilinearResize } from '../common/bilinear-resize.js';
import { recordImageStats } from '../common/image-stats.js';
import { recordNormalize } from '../common/normalize.js';
import { recordSoftcamSelect } from './softcam-select.js';
import type { CamOptions } from '../../types.js';
import { assertSoftcamClassIndices } from './options.js';
import type { EncodedCam, GpuCamInputs } from '../contract.js';

/**
 * Soft-CAM (Djoumessi & Berens): the network itself outputs class-evidence maps
 * [B, classes, h, w] (`inputs.activations`, shape.channels = classes) whose spatial mean is the
 * logit. For image b the explanation is A_{classIndices[b]}: selected, resized bilinearly
 * (align_corners=false) to outHeight x outWidth and kept signed (`signedMap`); `map` is its
 * per-image min-max normalisation, (v - min) / ((max - min) + 1e-7), so a constant map gives
 * zeros as in the other methods. No gradients, no ReLU.
 */
export function encodeSoftcam(rec: Recorder, inputs: GpuCamInputs, _options: CamOptions = {}): EncodedCam {
  const { shape, activations, classIndices } = inputs;
  assertSoftcamClassIndices(classIndices, shape.batch, shape.channels);
  const indices = rec.storage(shape.batch * 4, 'softcam class indices');
  rec.device.queue.writeBuffer(indices, 0, Uint32Array.from(classIndices!));

  let selected!: GPUBuffer;
  rec.stage('softcam select', (pass) => {
    selected = recordSoftcamSelect(rec, pass, activations, indices, {
      batch: shape.batch,
      channels: shape.channels,
      pixels: shape.height * shape.width,
    });
  });
  const resizeShape = {
    batch: shape.batch,
    inHeight: shape.height,
    inWidth: shape.width,
    outHeight: shape.outHeight,
    outWidth: shape.outWidth,
  };
  let signedMap!: GPUBuffer;
  let map!: GPUBuffer;
  rec.stage('upsample', (pass) => {
    // Two resizes of the same small map (one kept signed, one normalised in place below)
    // instead of a buffer copy: the same kernel, and no copy outside a compute pass.
    signedMap = recordBilinearResize(rec, pass, selected, resizeShape);
    map = recordBilinearResize(rec, pass, selected, resizeShape);
  });
  const n = shape.outHeight * shape.outWidth;
  rec.stage('normalize', (pass) => {
    const stats = recordImageStats(rec, pass, map, shape.batch, n);
    recordNormalize(rec, pass, map, stats, shape.batch, n, 'minmax');
  });
  return { map, signedMap };
}
