/** Typed errors of the ONNX model tooling (gradient-graph builder, candidate listing). */
import { CamError } from '../errors.js';

/** The bytes are not an ONNX model this tooling can read. */
export class ModelFormatError extends CamError {}

/** The requested target tensor is not a node output of the model (or does not reach the logits). */
export class UnknownLayerError extends CamError {}

/** No layer of the model can be explained; the message says why (unknown shapes, no 4-D map, ...). */
export class NoCandidateLayerError extends UnknownLayerError {}

/**
 * The model's input has dynamic dimensions that nothing resolved (height/width without an input
 * size), or a layout that cannot be told apart.
 */
export class DynamicInputError extends ModelFormatError {}

/** An op on the path from the target to the logits has no backward rule. */
export class UnsupportedOpError extends CamError {
  constructor(
    readonly opType: string,
    readonly nodeName: string,
    detail = '',
    advice = 'pick a deeper target layer or a model without this op',
    where = 'on the path from the target layer to the logits',
  ) {
    super(`unsupported op ${opType} (node '${nodeName}') ${where}` + (detail ? `: ${detail}` : '') + `; ${advice}`);
  }
}

/** A file is not a PNG or JPEG image, or it is damaged. */
export class ImageFormatError extends CamError {}
