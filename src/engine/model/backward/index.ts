/** Registry of backward rules by op type, and which inputs of an op can carry a gradient at all. */
import type { BackwardRule } from './context.js';
import { add, div, mul, sub } from './elementwise.js';
import { clip, hardSigmoid, hardSwish, leakyRelu, relu, sigmoid } from './activations.js';
import { gemm, matMul } from './linear.js';
import { batchNormalization, conv } from './conv.js';
import { averagePool, globalAveragePool, maxPool, reduceMean } from './pooling.js';
import { concat, pad, passThrough, reshapeBack, transpose } from './shape-ops.js';
import { TRANSFORMER_RULES } from './transformer.js';
import { IMPORT_BACKWARD_RULES } from './import-rules.js';

export const BACKWARD_RULES: Record<string, BackwardRule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Relu: relu,
  LeakyRelu: leakyRelu,
  Clip: clip,
  Sigmoid: sigmoid,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Gemm: gemm,
  MatMul: matMul,
  Conv: conv,
  BatchNormalization: batchNormalization,
  GlobalAveragePool: globalAveragePool,
  AveragePool: averagePool,
  MaxPool: maxPool,
  ReduceMean: reduceMean,
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Identity: passThrough,
  Dropout: passThrough,
  Pad: pad,
  // Vision transformers (issue 9, item 5): LayerNorm, attention Softmax, token Gather/Slice/Split, ...
  ...TRANSFORMER_RULES,
  // Imported models (issue 9): other exporters' activations, sums and upsampling.
  ...IMPORT_BACKWARD_RULES,
};

/**
 * Ops whose outputs are integers or booleans: no gradient flows through them, so a tensor
 * computed from the target through one of these (e.g. Shape(x) feeding a Reshape) is not on the
 * differentiable path.
 */
export const NON_DIFFERENTIABLE_OUTPUT = new Set([
  'Shape', 'Size', 'ArgMax', 'ArgMin', 'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual',
  'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf', 'NonZero', 'ConstantOfShape',
]);

/** Inputs that are integer shape/axes/index arguments by definition (never differentiable). */
export const NON_DIFFERENTIABLE_INPUTS: Record<string, number[]> = {
  Reshape: [1],
  Squeeze: [1],
  Unsqueeze: [1],
  ReduceMean: [1],
  ReduceSum: [1],
  ReduceMax: [1],
  Pad: [1, 2, 3],
  Resize: [1, 2, 3],
  Upsample: [1],
  ConstantOfShape: [0],
  Slice: [1, 2, 3, 4],
  Split: [1],
  Expand: [1],
  Tile: [1],
  Gather: [1],
  Dropout: [1, 2],
  OneHot: [0, 1],
};
