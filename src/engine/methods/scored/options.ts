/** What the masked-forward methods (Score-CAM, ClusCAM) check: the scorer and its batch size. */
import { InvalidOptionError, NonFiniteInputError, ShapeMismatchError } from '../../errors.js';
import type { CamInput, CamOptions } from '../../types.js';
import { firstNonFinite } from '../../util/finite.js';

/**
 * Score-CAM and ClusCAM: a scorer whose inputs, classes and base logits fit the batch, finite
 * values, and scoreBatchSize.
 */
export function assertScoredInput(method: string, input: CamInput, options: CamOptions): void {
  const { batch, outHeight, outWidth } = input.shape;
  const scorer = input.scorer;
  if (!scorer) {
    throw new ShapeMismatchError(`method ${method} scores masked inputs with the model: pass CamInput.scorer (ModelExplainer and \`webgpu-cam explain\` do)`);
  }
  const inputs = batch * 3 * outHeight * outWidth;
  if (scorer.inputs?.length !== inputs) {
    throw new ShapeMismatchError(`scorer inputs hold ${scorer.inputs?.length} values; ${method} masks them at the map size, so [${batch},3,${outHeight},${outWidth}] needs ${inputs}`);
  }
  const index = firstNonFinite(scorer.inputs);
  if (index >= 0) throw new NonFiniteInputError(`scorer inputs contain ${scorer.inputs[index]} at flat index ${index}`);
  if (scorer.classIndices?.length !== batch) throw new ShapeMismatchError(`scorer classIndices hold ${scorer.classIndices?.length} values; batch ${batch} needs one per image`);
  if (scorer.baseLogits?.length !== batch) throw new ShapeMismatchError(`scorer baseLogits hold ${scorer.baseLogits?.length} values; batch ${batch} needs one per image`);
  for (let b = 0; b < batch; b++) {
    if (!Number.isFinite(scorer.baseLogits[b])) throw new NonFiniteInputError(`scorer baseLogits[${b}] is ${scorer.baseLogits[b]}`);
    if (scorer.classIndices[b] < 0) throw new InvalidOptionError(`scorer classIndices[${b}] is ${scorer.classIndices[b]}; use a class index >= 0`);
  }
  const size = options.scoreBatchSize;
  if (size !== undefined && !(Number.isInteger(size) && size >= 1)) {
    throw new InvalidOptionError(`scoreBatchSize must be a positive integer (masked inputs per model call), got ${size}`);
  }
}
