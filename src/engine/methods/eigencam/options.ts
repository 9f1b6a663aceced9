/** Eigen-CAM's options. */
import { InvalidOptionError } from '../../errors.js';
import type { CamOptions } from '../../types.js';

/**
 * Upper bound on power-iteration steps when options.eigenIterations is not given; the kernel
 * stops earlier once the eigenvector stops moving (typically tens of steps). The error shrinks
 * like (lambda2 / lambda1)^steps: the golden cases' worst ratio, about 0.946, needs about 290
 * steps to reach float32 resolution, and real layers can be closer, so the cap leaves margin.
 */
export const DEFAULT_EIGEN_ITERATIONS = 1000;

export function eigenIterationsOf(options: CamOptions): number {
  const iterations = options.eigenIterations ?? DEFAULT_EIGEN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new InvalidOptionError(`eigenIterations must be a positive integer, got ${iterations}`);
  }
  return iterations;
}
