import type { ClassifierHead, ExplainedScore } from './head.js';
import type { InputOptions, PreparedInput } from './prepare.js';

/**
 * Contracts between the gradient-graph builder (gradient-graph.ts), the ONNX Runtime session
 * wrapper (session.ts) and the `explain` pipeline.
 */
import type { ReshapeTransform, ReshapeTransformOption } from './reshape-transform.js';

/** A layer whose activations can be explained: a 4-D node output, e.g. of Conv/Relu/Add/Concat. */
export interface CandidateLayer {
  /** The tensor name (node output) to pass as `target`. */
  name: string;
  /** The op that produces it. */
  op: string;
  /** Static shape [N, C, H, W] (N may be the model's batch size, usually 1). */
  shape: number[];
  /** Longest path length from the model input; candidates are listed deepest first. */
  depth: number;
  /** Transformer token / channels-last layers: the layout and the [N, D, h, w] grid the CAM methods see. */
  layout?: 'tokens' | 'channels-last';
  grid?: number[];
}

export interface GradientModelOptions extends InputOptions {
  /** Tensor (node output) name of the target layer. */
  target: string;
  /** Graph output holding the class scores (default: the first 2-D float output). */
  logits?: string;
  /**
   * What is explained when the output ends in Softmax / LogSoftmax / Sigmoid: the
   * pre-activation logits (default, as the CAM papers do) or the probability of the class.
   */
  explain?: ExplainedScore;
  /**
   * How the class is given: int64 indices [N] named `class_index` (default; a negative index
   * selects the top-1 class, argmax of the logits, inside the graph) or a float one-hot [N, K]
   * named `class_onehot`.
   */
  classInput?: 'index' | 'onehot';
  /**
   * Transformer layers: how the target becomes [B, D, h, w] (tokens with the class token dropped,
   * channels-last transposed); default 'auto' (from the shape). See reshape-transform.ts.
   */
  reshapeTransform?: ReshapeTransformOption;
}

/** The rewritten model: one forward run returns logits, the target's activations and d logit[class] / d activations. */
export interface GradientModel {
  /** The new ONNX model (serialised ModelProto). */
  bytes: Uint8Array;
  /** Name and static shape of the image input, e.g. 'input' and [1, 3, 224, 224]. */
  inputName: string;
  inputShape: number[];
  /** Name of the class input ('class_index' or 'class_onehot'). */
  classInputName: string;
  numClasses: number;
  /** Static shape of the activations and gradients, [N, C, H, W] (after the reshape-transform). */
  activationsShape: number[];
  /** The reshape-transform applied to the target layer ('none' for [N, C, H, W] layers). */
  reshape: ReshapeTransform;
  /** Output names in the new model; `logits` are the pre-activation scores (below any Softmax head). */
  outputs: { logits: string; activations: string; gradients: string };
  /** The output read, its head activation and which score the gradients explain. */
  head: ClassifierHead & { explained: ExplainedScore };
  /** How the image input was resolved (layout, dynamic dims, opset upgrade). */
  input: PreparedInput;
}

/** Options of the candidate listing: which output, and how to resolve the input. */
export interface CandidateOptions extends InputOptions {
  /** Graph output holding the class scores (default: the first 2-D float output). */
  output?: string;
}
