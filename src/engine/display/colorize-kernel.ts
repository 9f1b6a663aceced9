import source from './colorize.wgsl?raw';
import { withLibraries } from '../gpu/wgsl-library.js';
import { InvalidOptionError } from '../errors.js';
import { BufferUsage, TextureUsage } from '../gpu/flags.js';
import type { GpuContext } from '../gpu/context.js';
import type { KernelDef } from '../gpu/pipelines.js';
import { Recorder, workgroupGrid, type BufferBinding, type StagePass } from '../gpu/recorder.js';
import {
  COLORMAPS,
  COLORMAP_TABLES,
  checkMapSize,
  resolveColorizeOptions,
  type ColorizeOptions,
} from './colormaps.js';

/**
 * GPU twin of colorize() (src/engine/colormaps.ts): a float32 map [H*W] becomes packed RGBA8
 * (one u32 per pixel, bytes r, g, b, a), byte for byte what the CPU function returns. Signed
 * maps first reduce max |value| on the GPU (entry point max_abs), unless options.maxAbs is given.
 * The colour tables are one storage buffer per device (COLORMAPS order, 256 u32 each).
 */
const WG = 256;
const BINDINGS = ['read', 'read', 'write', 'write', 'uniform'] as const;
const colorizeKernel: KernelDef = { name: 'colorize', source: withLibraries(source, 'flatIndex'), bindings: BINDINGS };
const maxAbsKernel: KernelDef = { name: 'colorize_max_abs', source: withLibraries(source, 'flatIndex'), entryPoint: 'max_abs', bindings: BINDINGS };

/** copyBufferToTexture's row alignment. */
export const BYTES_PER_ROW_ALIGNMENT = 256;

/** Bytes per row of a `width`-texel RGBA8 image padded for buffer <-> texture copies. */
export function alignedBytesPerRow(width: number): number {
  return Math.ceil((4 * width) / BYTES_PER_ROW_ALIGNMENT) * BYTES_PER_ROW_ALIGNMENT;
}

export interface GpuColorizeOptions extends ColorizeOptions {
  width: number;
  height: number;
  /**
   * Row pitch of the output in bytes: a multiple of 4, at least 4 * width; default 4 * width
   * (tightly packed). Padding bytes are left as they are. Use alignedBytesPerRow(width) to copy
   * the result into a texture.
   */
  bytesPerRow?: number;
  /** Write into this buffer (STORAGE usage, at least height * bytesPerRow bytes) instead of a temporary one. */
  output?: GPUBuffer;
}

/** A colourised map on the GPU: `height` rows of `bytesPerRow` bytes, RGBA8 texels. */
export interface ColorizedBuffer {
  buffer: GPUBuffer;
  width: number;
  height: number;
  bytesPerRow: number;
}

const tableBuffers = new WeakMap<GPUDevice, GPUBuffer>();

/** All colour tables packed r | g << 8 | b << 16, 256 u32 per map, in COLORMAPS order. */
export function packedColormapTables(): Uint32Array<ArrayBuffer> {
  const packed = new Uint32Array(256 * COLORMAPS.length);
  COLORMAPS.forEach((name, t) => {
    const rgb = COLORMAP_TABLES[name];
    for (let i = 0; i < 256; i++) {
      packed[256 * t + i] = rgb[3 * i] | (rgb[3 * i + 1] << 8) | (rgb[3 * i + 2] << 16);
    }
  });
  return packed;
}

/** The device's colour-table buffer, uploaded on first use. */
function colormapTableBuffer(device: GPUDevice): GPUBuffer {
  let buffer = tableBuffers.get(device);
  if (!buffer) {
    const packed = packedColormapTables();
    buffer = device.createBuffer({
      label: 'colormap tables',
      size: packed.byteLength,
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint32Array(buffer.getMappedRange()).set(packed);
    buffer.unmap();
    tableBuffers.set(device, buffer);
  }
  return buffer;
}

function bindingSize(map: BufferBinding): number {
  if ('buffer' in map) return map.size ?? map.buffer.size - (map.offset ?? 0);
  return map.size;
}

/**
 * Record the colouring of `map` (float32 [height * width], row-major) into `pass`; returns the
 * RGBA8 buffer (a temporary of `rec` unless options.output is given). Throws InvalidOptionError
 * for bad options or sizes, before recording anything.
 */
export function recordColorize(
  rec: Recorder,
  pass: StagePass,
  map: BufferBinding,
  options: GpuColorizeOptions,
): ColorizedBuffer {
  const o = resolveColorizeOptions(options);
  const { width, height } = options;
  checkMapSize(width, height, width * height, 'recordColorize');
  const n = width * height;
  const available = bindingSize(map);
  if (available < 4 * n) {
    throw new InvalidOptionError(`recordColorize: map buffer has ${available} bytes, expected ${4 * n} for ${width}x${height} float32`);
  }
  const bytesPerRow = options.bytesPerRow ?? 4 * width;
  if (!Number.isInteger(bytesPerRow) || bytesPerRow % 4 !== 0 || bytesPerRow < 4 * width) {
    throw new InvalidOptionError(`recordColorize: bytesPerRow must be a multiple of 4 and at least ${4 * width}, got ${bytesPerRow}`);
  }
  const bytes = height * bytesPerRow;
  if (options.output && options.output.size < bytes) {
    throw new InvalidOptionError(`recordColorize: output buffer has ${options.output.size} bytes, needs ${bytes}`);
  }
  const dst = options.output ?? rec.storage(bytes, 'colorized map');
  // scale[0]: max |value| bits for signed maps, zeroed on the queue (before this encoder runs).
  const scale = rec.storage(4, 'colorize max |value|');
  const reduce = o.signed && o.maxAbs === undefined;
  if (reduce) rec.device.queue.writeBuffer(scale, 0, new Uint32Array([0]));
  const contour = o.contour;
  const params = rec.uniform([
    { u32: width },
    { u32: height },
    { u32: bytesPerRow / 4 },
    { u32: 256 * o.tableIndex },
    { u32: o.alpha },
    { u32: o.signed ? 1 : 0 },
    { u32: o.maxAbs !== undefined ? 1 : 0 },
    { f32: o.maxAbs ?? 0 },
    { f32: o.threshold },
    { u32: contour ? 1 : 0 },
    { f32: contour ? contour.level : 0 },
    { u32: contour ? (contour.color[0] | (contour.color[1] << 8) | (contour.color[2] << 16) | (255 << 24)) >>> 0 : 0 },
    { u32: n },
  ]);
  const mapBinding: BufferBinding =
    'buffer' in map ? { buffer: map.buffer, offset: map.offset ?? 0, size: 4 * n } : { buffer: map, offset: 0, size: 4 * n };
  const resources: BufferBinding[] = [mapBinding, colormapTableBuffer(rec.device), { buffer: scale, offset: 0, size: 4 }, dst, params];
  const grid = workgroupGrid(Math.ceil(n / WG));
  if (reduce) rec.dispatch(pass, maxAbsKernel, { WG }, resources, grid);
  rec.dispatch(pass, colorizeKernel, { WG }, resources, grid);
  return { buffer: dst, width, height, bytesPerRow };
}

/**
 * Copy a colourised buffer into an rgba8unorm texture (at the texture's origin). Record it on
 * the encoder outside any stage (copies cannot happen inside a compute pass); the buffer's rows
 * must be 256-byte aligned (recordColorize with bytesPerRow: alignedBytesPerRow(width)).
 */
export function recordCopyToTexture(rec: Recorder, colorized: ColorizedBuffer, texture: GPUTexture): void {
  const { width, height, bytesPerRow } = colorized;
  if (texture.format !== 'rgba8unorm') {
    throw new InvalidOptionError(`recordCopyToTexture: texture format is ${texture.format}; use rgba8unorm`);
  }
  if (texture.width < width || texture.height < height) {
    throw new InvalidOptionError(
      `recordCopyToTexture: texture is ${texture.width}x${texture.height}, smaller than the ${width}x${height} map`,
    );
  }
  if ((texture.usage & TextureUsage.COPY_DST) === 0) {
    throw new InvalidOptionError('recordCopyToTexture: the texture needs COPY_DST usage');
  }
  if (bytesPerRow % BYTES_PER_ROW_ALIGNMENT !== 0) {
    throw new InvalidOptionError(
      `recordCopyToTexture: bytesPerRow ${bytesPerRow} is not a multiple of ${BYTES_PER_ROW_ALIGNMENT}; colorize with bytesPerRow: alignedBytesPerRow(${width})`,
    );
  }
  rec.encoder.copyBufferToTexture(
    { buffer: colorized.buffer, offset: 0, bytesPerRow, rowsPerImage: height },
    { texture },
    { width, height, depthOrArrayLayers: 1 },
  );
}

/** An rgba8unorm texture a heatmap can be written to, sampled from, copied from and rendered to. */
export function createHeatmapTexture(device: GPUDevice, width: number, height: number, label = 'heatmap'): GPUTexture {
  checkMapSize(width, height, width * height, 'createHeatmapTexture');
  return device.createTexture({
    label,
    size: { width, height, depthOrArrayLayers: 1 },
    format: 'rgba8unorm',
    usage: TextureUsage.TEXTURE_BINDING | TextureUsage.COPY_DST | TextureUsage.COPY_SRC | TextureUsage.RENDER_ATTACHMENT,
  });
}

/**
 * Record the colouring of `map` into `texture` on `rec`: one stage named `stage`, then the copy.
 * Call it between stages (not inside one).
 */
export function recordColorizeToTexture(
  rec: Recorder,
  map: BufferBinding,
  texture: GPUTexture,
  options: Omit<GpuColorizeOptions, 'bytesPerRow' | 'output'>,
  stage = 'colorize',
): void {
  let colorized: ColorizedBuffer | undefined;
  rec.stage(stage, (pass) => {
    colorized = recordColorize(rec, pass, map, { ...options, bytesPerRow: alignedBytesPerRow(options.width) });
  });
  recordCopyToTexture(rec, colorized!, texture);
}

/**
 * One-shot: colour `map` into `texture` (or a new heatmap texture) with one submit on `ctx`;
 * resolves to the texture once the GPU work is done.
 */
export async function colorizeToTexture(
  ctx: GpuContext,
  map: BufferBinding,
  options: Omit<GpuColorizeOptions, 'bytesPerRow' | 'output'> & { texture?: GPUTexture },
): Promise<GPUTexture> {
  const { texture: given, ...rest } = options;
  resolveColorizeOptions(rest);
  checkMapSize(rest.width, rest.height, rest.width * rest.height, 'colorizeToTexture');
  const texture = given ?? createHeatmapTexture(ctx.device, rest.width, rest.height);
  const rec = new Recorder(ctx, { label: 'colorize' });
  try {
    recordColorizeToTexture(rec, map, texture, rest);
  } catch (e) {
    rec.abandon();
    if (!given) texture.destroy();
    throw e;
  }
  try {
    await rec.submit();
  } catch (e) {
    if (!given) texture.destroy();
    throw e;
  }
  return texture;
}
