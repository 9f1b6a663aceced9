/**
 * Backward rules for the ops of models from other exporters (issue 9): smooth activations,
 * sums and nearest upsampling. Kept apart from index.ts so each family of rules is one entry there.
 */
import type { BackwardRule } from './context.js';
import { castFloat, celu, elu, erf, exp, gelu, mish, neg, pow, prelu, reciprocal, selu, softplus, softsign, sqrt, tanh } from './smooth-activations.js';
import { globalMaxPool, max, mean, min, reduceMax, reduceSum, sum } from './reductions.js';
import { resize } from './resize.js';

export const IMPORT_BACKWARD_RULES: Record<string, BackwardRule> = {
  PRelu: prelu,
  Elu: elu,
  Selu: selu,
  Celu: celu,
  Softplus: softplus,
  Softsign: softsign,
  Tanh: tanh,
  Erf: erf,
  Exp: exp,
  Sqrt: sqrt,
  Neg: neg,
  Reciprocal: reciprocal,
  Pow: pow,
  Cast: castFloat,
  Mish: mish,
  Gelu: gelu,
  ReduceSum: reduceSum,
  ReduceMax: reduceMax,
  GlobalMaxPool: globalMaxPool,
  Sum: sum,
  Mean: mean,
  Max: max,
  Min: min,
  Resize: resize,
};
