/**
 * Input checks shared by every method (shapes, NaN/Inf, gradients where the method reads them),
 * then the method's own checks as its registry entry declares them.
 */
import { NonFiniteInputError, ShapeMismatchError } from './errors.js';
import { assertMethod, methodDefinition } from './methods/registry.js';
import type { CamInput, CamOptions } from './types.js';
import type { CamMethod } from './methods/registry.js';
import { firstNonFinite } from './util/finite.js';

export { assertMethod };

/** Reject inputs that would give a silently wrong map: bad shapes, NaN/Inf, bad options. */
export function validateCamInput(method: CamMethod, input: CamInput, options: CamOptions = {}): void {
  const definition = methodDefinition(method);
  const { batch, channels, height, width, outHeight, outWidth } = input.shape;
  for (const [name, v] of Object.entries({ batch, channels, height, width, outHeight, outWidth })) {
    if (!Number.isInteger(v) || v < 1) throw new ShapeMismatchError(`${name} must be a positive integer, got ${v}`);
  }
  const expected = batch * channels * height * width;
  if (input.activations.length !== expected) {
    throw new ShapeMismatchError(`activations hold ${input.activations.length} values; [${batch},${channels},${height},${width}] needs ${expected}`);
  }
  let index = firstNonFinite(input.activations);
  if (index >= 0) throw new NonFiniteInputError(`activations contain ${input.activations[index]} at flat index ${index}`);
  if (definition.capabilities.gradients) {
    if (!input.gradients) throw new ShapeMismatchError(`method ${method} needs gradients`);
    if (input.gradients.length !== expected) {
      throw new ShapeMismatchError(`gradients hold ${input.gradients.length} values but activations are [${batch},${channels},${height},${width}]`);
    }
    index = firstNonFinite(input.gradients);
    if (index >= 0) throw new NonFiniteInputError(`gradients contain ${input.gradients[index]} at flat index ${index}`);
  }
  definition.validateInput?.(input, options);
  definition.validateOptions?.(options, { batch, channels, height, width });
}
