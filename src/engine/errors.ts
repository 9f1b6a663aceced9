/**
 * Typed errors. Every message is one line that says what is wrong and, where it can,
 * what to do about it; the CLI prints `error.message` alone (no stack trace).
 */
export class CamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor file could not be read or has the wrong dtype / layout. */
export class InputFormatError extends CamError {}

/** Shapes of activations, gradients or options do not fit together. */
export class ShapeMismatchError extends CamError {}

/** Input holds NaN or Inf values. */
export class NonFiniteInputError extends CamError {}

/** Input values outside what the method's float32 arithmetic can handle. */
export class InputRangeError extends CamError {}

/** An option has a value the method cannot use. */
export class InvalidOptionError extends CamError {}

/** The problem does not fit this device's limits (e.g. C too large). */
export class DeviceLimitError extends CamError {}

/** No WebGPU adapter could be found. */
export class GpuUnavailableError extends CamError {}

/** The algorithm cannot produce a map for this input (the reference raises too). */
export class NoValidChannelsError extends CamError {}

/** An explainer (or one of its results) was used after dispose(), or disposed while a request waited. */
export class DisposedError extends CamError {}

/** A queued explanation was cancelled through its AbortSignal before it ran. */
export class ExplainAbortedError extends CamError {}
