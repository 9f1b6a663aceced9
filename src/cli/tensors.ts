/**
 * Loading the activation / gradient .npy files the CLI is given, and writing its outputs.
 * Every failure is a one-line typed error that names the file, so a batch job's log says
 * which input was wrong without a stack trace.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CamError, InputFormatError, NonFiniteInputError, ShapeMismatchError } from '../engine/errors.js';
import { encodeNpy, parseNpy } from '../engine/io/npy.js';
import type { CamInput } from '../engine/types.js';
import { UsageError } from './args.js';

/** Output maps are held in memory as float32; this keeps a typo like 224000 from exhausting it. */
const MAX_OUTPUT_SIDE = 16384;

/** An output file could not be written (exit code 1: the inputs were fine). */
export class OutputError extends CamError {}

const DESCR: Record<string, string> = { float32: '<f4', float64: '<f8', int32: '<i4', int64: '<i8' };

export interface Tensor {
  path: string;
  shape: number[];
  data: Float32Array;
}

export interface LoadedInput {
  input: CamInput;
  /** Shape of the activations file as given: [C,H,W] or [B,C,H,W]. */
  fileShape: number[];
  /** True when the files carry a batch dimension (outputs then keep one too). */
  batched: boolean;
}

export const formatShape = (shape: readonly number[]): string => `[${shape.join(',')}]`;

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return code ?? String((error as Error).message ?? error).split('\n')[0];
  }
}

export function readBytes(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new InputFormatError(`cannot read ${path}: ${describeFsError(error)}`);
  }
}

/** A float32 tensor of rank 3 or 4 with no empty dimension. */
export function readFloat32Tensor(path: string): Tensor {
  const array = parseNpy(readBytes(path), path);
  if (array.dtype !== 'float32') {
    throw new InputFormatError(`${path} has dtype ${array.dtype} (${DESCR[array.dtype]}); expected float32`);
  }
  const { shape } = array;
  if (shape.length !== 3 && shape.length !== 4) {
    throw new InputFormatError(`${path} has shape ${formatShape(shape)} (rank ${shape.length}); expected [C,H,W] or [B,C,H,W]`);
  }
  if (shape.some((n) => !(n >= 1))) throw new InputFormatError(`${path} has an empty dimension: shape ${formatShape(shape)}`);
  return { path, shape, data: array.data as Float32Array };
}

/**
 * NaN / Inf check with the file and the [b,c,y,x] position, which says more than the engine's
 * flat index (the engine checks again; this only makes the message point at the file).
 */
function assertFinite(tensor: Tensor): void {
  const { data, shape } = tensor;
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    const position: number[] = [];
    let rest = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      position.unshift(rest % shape[d]);
      rest = Math.floor(rest / shape[d]);
    }
    throw new NonFiniteInputError(`${tensor.path} contains ${data[i]} at index ${formatShape(position)}; inputs must be finite`);
  }
}

/** `--size S` (square) or `--size HxW`. */
export function parseSize(text: string): { height: number; width: number } {
  const match = /^\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?$/.exec(text);
  const height = match ? Number(match[1]) : NaN;
  const width = match ? Number(match[2] ?? match[1]) : NaN;
  if (!(height >= 1 && width >= 1)) throw new UsageError(`--size must be S or HxW with positive integers, got '${text}'`);
  if (height > MAX_OUTPUT_SIDE || width > MAX_OUTPUT_SIDE) {
    throw new UsageError(`--size ${text} is too large; at most ${MAX_OUTPUT_SIDE} per side`);
  }
  return { height, width };
}

/**
 * Load activations (and gradients, when given) into one CamInput. `checkGradients` is false
 * for methods that ignore gradients: their values are then not inspected.
 */
export function loadCamInput(options: {
  activations: string;
  gradients?: string;
  size: { height: number; width: number };
  checkGradients?: boolean;
}): LoadedInput {
  const a = readFloat32Tensor(options.activations);
  const g = options.gradients !== undefined ? readFloat32Tensor(options.gradients) : undefined;
  if (g && formatShape(g.shape) !== formatShape(a.shape)) {
    throw new ShapeMismatchError(
      `${g.path} has shape ${formatShape(g.shape)} but ${a.path} has ${formatShape(a.shape)}; activations and gradients must have the same shape`,
    );
  }
  assertFinite(a);
  if (g && options.checkGradients !== false) assertFinite(g);
  const batched = a.shape.length === 4;
  const [batch, channels, height, width] = batched ? a.shape : [1, ...a.shape];
  const input: CamInput = {
    shape: { batch, channels, height, width, outHeight: options.size.height, outWidth: options.size.width },
    activations: a.data,
    gradients: g?.data,
  };
  return { input, fileShape: a.shape, batched };
}

export function writeNpyFile(path: string, data: Float32Array | Int32Array, shape: readonly number[]): void {
  try {
    writeFileSync(path, encodeNpy(data, shape));
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'its folder does not exist' : describeFsError(error);
    throw new OutputError(`cannot write ${path}: ${why}`);
  }
}

/** Fail before the (possibly long) computation when an output cannot be written anyway. */
export function assertWritablePath(path: string): void {
  const isDirectory = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return undefined;
    }
  };
  if (isDirectory(path)) throw new OutputError(`cannot write ${path}: it is a directory`);
  if (!isDirectory(dirname(resolve(path)))) throw new OutputError(`cannot write ${path}: its folder does not exist`);
}
