/**
 * GPU pre-processing for classifiers: RGBA8 pixels -> bilinear resize (align_corners = false,
 * no antialiasing: torchvision `Resize(antialias=False)` on a float tensor; see
 * preprocess-cpu.ts for the choice and its CPU twin) -> (v/255 - mean)/std -> a float32
 * NCHW GPU buffer that ONNX Runtime Web can take as input (`ort.Tensor.fromGpuBuffer(buffer,
 * { dataType: 'float32', dims })` on the same device).
 *
 * Pixel sources:
 * - host pixels (`RgbaImage`: ImageData, a decoded PNG/JPEG), uploaded once;
 * - a storage buffer of packed RGBA8 (one u32 per pixel, little-endian R,G,B,A);
 * - an `rgba8unorm` texture with COPY_SRC usage, e.g. from `imageSourceTexture` (browser:
 *   ImageBitmap, canvas, video element, VideoFrame via copyExternalImageToTexture). Textures
 *   are copied into a row-padded buffer first (copyTextureToBuffer) so one kernel serves all.
 *
 * Nothing here reads GPU* globals at module load and nothing imports node: modules.
 */
import type { GpuContext } from '../gpu/context.js';
import { Recorder, STORAGE_USAGE } from '../gpu/recorder.js';
import { recordPreprocessKernel } from './preprocess-kernel.js';
import type { RgbaImage } from '../display/overlay.js';
import { TextureUsage } from '../gpu/flags.js';
import { preprocessPlan, type PreprocessOptions, type PreprocessPlan } from './preprocess-cpu.js';

export { IMAGENET_MEAN, IMAGENET_STD, preprocessCpu, preprocessPlan, type PreprocessOptions, type PreprocessPlan } from './preprocess-cpu.js';

export { TextureUsage } from '../gpu/flags.js';

/** Packed RGBA8 pixels already on the GPU. */
export interface GpuPixels {
  buffer: GPUBuffer;
  width: number;
  height: number;
  /** Byte offset of the first pixel (a multiple of the device's minStorageBufferOffsetAlignment, 256). Default 0. */
  offset?: number;
  /** u32 words between rows; default `width`. */
  strideWords?: number;
}

/** An rgba8unorm texture with COPY_SRC usage (its full first mip level is used). */
export interface TexturePixels {
  texture: GPUTexture;
}

export type PixelSource = RgbaImage | GpuPixels | TexturePixels;

/** Where to write: a caller's buffer (e.g. one image of a batch at `offsetFloats`). */
export interface PreprocessTarget {
  buffer: GPUBuffer;
  /** Float index of the first output value; default 0. */
  offsetFloats?: number;
}

/** A pre-processed image on the GPU: float32 [1, 3, H, W] in `buffer` (starting at `offsetFloats`). */
export interface PreprocessedImage {
  buffer: GPUBuffer;
  offsetFloats: number;
  dims: [1, 3, number, number];
  /** Exact size of the tensor in bytes (the buffer may be larger). */
  bytes: number;
  plan: PreprocessPlan;
  /** Return the buffer to the context's pool when this call allocated it (no-op for a caller's target). */
  release(): void;
}

function isTexture(s: PixelSource): s is TexturePixels {
  return 'texture' in s;
}
function isGpuPixels(s: PixelSource): s is GpuPixels {
  return 'buffer' in s;
}

/**
 * Record pre-processing into `rec` (one compute stage, plus an upload or texture copy) so it can
 * share a submit with the model's work. The output buffer is the caller's `target` or a new one
 * from the pool that outlives the recorder: call `release()` when done with it.
 */
export function recordPreprocess(
  rec: Recorder,
  source: PixelSource,
  options: PreprocessOptions = {},
  target?: PreprocessTarget,
): PreprocessedImage {
  const device = rec.device;
  const { width, height } = isTexture(source) ? source.texture : source;
  // Validate everything before recording or allocating anything.
  const plan = preprocessPlan(height, width, options);
  let pixels: { buffer: GPUBuffer; offset?: number; size?: number };
  let strideWords: number;

  if (isTexture(source)) {
    const { texture } = source;
    if (texture.format !== 'rgba8unorm') {
      throw new RangeError(`preprocess: texture format ${texture.format} is not supported (use rgba8unorm)`);
    }
    const bytesPerRow = Math.ceil((width * 4) / 256) * 256;
    const size = bytesPerRow * (height - 1) + width * 4;
    const buffer = rec.storage(size, 'preprocess pixels');
    rec.encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow, rowsPerImage: height }, [width, height, 1]);
    pixels = { buffer, size: Math.ceil(size / 4) * 4 };
    strideWords = bytesPerRow / 4;
  } else if (isGpuPixels(source)) {
    strideWords = source.strideWords ?? width;
    const size = 4 * (strideWords * (height - 1) + width);
    if (strideWords < width || (source.offset ?? 0) + size > source.buffer.size) {
      throw new RangeError(`preprocess: a ${width}x${height} image with rows ${strideWords} words apart does not fit its buffer (${source.buffer.size} bytes)`);
    }
    pixels = { buffer: source.buffer, offset: source.offset ?? 0, size };
  } else {
    if (source.data.length !== 4 * width * height) {
      throw new RangeError(`preprocess: ${source.data.length} bytes for a ${width}x${height} RGBA image`);
    }
    const buffer = rec.storage(source.data.length, 'preprocess pixels');
    const bytes = source.data;
    device.queue.writeBuffer(buffer, 0, bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
    pixels = { buffer, size: bytes.byteLength };
    strideWords = width;
  }

  const floats = 3 * plan.outHeight * plan.outWidth;
  const offsetFloats = target?.offsetFloats ?? 0;
  let output: GPUBuffer;
  let release = () => {};
  if (target) {
    output = target.buffer;
    if (output.size < 4 * (offsetFloats + floats)) {
      throw new RangeError(`preprocess: target buffer of ${output.size} bytes cannot hold ${floats} floats at ${offsetFloats}`);
    }
  } else {
    const pool = rec.ctx.pool;
    const buffer = pool.acquire(4 * floats, STORAGE_USAGE, 'preprocessed image');
    output = buffer;
    let released = false;
    release = () => {
      if (!released) pool.release(buffer);
      released = true;
    };
  }
  rec.stage('preprocess', (pass) => recordPreprocessKernel(rec, pass, pixels, output, plan, strideWords, offsetFloats));
  return { buffer: output, offsetFloats, dims: [1, 3, plan.outHeight, plan.outWidth], bytes: 4 * floats, plan, release };
}

/** Pre-process one image on the GPU and submit (waits for the GPU work to be accepted). */
export async function preprocessOnGpu(
  ctx: GpuContext,
  source: PixelSource,
  options: PreprocessOptions = {},
  target?: PreprocessTarget,
): Promise<PreprocessedImage> {
  const rec = new Recorder(ctx, { label: 'preprocess' });
  let result: PreprocessedImage;
  try {
    result = recordPreprocess(rec, source, options, target);
  } catch (error) {
    rec.abandon();
    throw error;
  }
  try {
    await rec.submit();
  } catch (error) {
    result.release();
    throw error;
  }
  return result;
}

/** Width and height of a browser image source (ImageBitmap, canvas, video element, VideoFrame, image). */
export function imageSourceSize(source: GPUCopyExternalImageSource): { width: number; height: number } {
  const s = source as unknown as Record<string, number | undefined>;
  const width = s.displayWidth ?? s.videoWidth ?? s.naturalWidth ?? s.width ?? 0;
  const height = s.displayHeight ?? s.videoHeight ?? s.naturalHeight ?? s.height ?? 0;
  if (!(width > 0 && height > 0)) throw new RangeError('preprocess: the image source has no size yet (not loaded, or a video without a frame)');
  return { width, height };
}

/**
 * Browser: copy an ImageBitmap / canvas / video element / VideoFrame / image into a new
 * rgba8unorm texture (straight, not premultiplied, alpha) that `recordPreprocess` can read.
 * The caller destroys the texture (or reuses it for frames of the same size via `into`).
 */
export function imageSourceTexture(device: GPUDevice, source: GPUCopyExternalImageSource, into?: GPUTexture): GPUTexture {
  const { width, height } = imageSourceSize(source);
  const texture =
    into && into.width === width && into.height === height
      ? into
      : device.createTexture({
          label: 'preprocess source',
          size: [width, height, 1],
          format: 'rgba8unorm',
          usage: TextureUsage.COPY_SRC | TextureUsage.COPY_DST | TextureUsage.RENDER_ATTACHMENT | TextureUsage.TEXTURE_BINDING,
        });
  device.queue.copyExternalImageToTexture({ source }, { texture, premultipliedAlpha: false }, [width, height]);
  return texture;
}
