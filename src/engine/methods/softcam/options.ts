/** Soft-CAM's input check: one evidence channel per image. */
import { InvalidOptionError, ShapeMismatchError } from '../../errors.js';

/**
 * Soft-CAM shows one evidence-map channel per image: `classIndices` must hold `batch` integers
 * in 0..channels-1 (the channels of the evidence are the classes).
 */
export function assertSoftcamClassIndices(classIndices: ArrayLike<number> | undefined, batch: number, channels: number): void {
  if (!classIndices) {
    throw new InvalidOptionError(`method softcam needs classIndices: one class (evidence-map channel, 0..${channels - 1}) per image`);
  }
  if (classIndices.length !== batch) {
    throw new ShapeMismatchError(`softcam classIndices hold ${classIndices.length} values; batch ${batch} needs one per image`);
  }
  for (let b = 0; b < batch; b++) {
    const c = classIndices[b];
    if (!Number.isInteger(c) || c < 0 || c >= channels) {
      throw new InvalidOptionError(`softcam classIndices[${b}] = ${c} is not a class of the evidence map: use an integer in 0..${channels - 1}`);
    }
  }
}
