/**
 * Image files in Node (not for the browser bundle: it reads files with node:fs). PNG through
 * pngjs, JPEG through jpeg-js, both decoded to 8-bit RGBA; PNG written back from RGBA.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { ImageFormatError } from './errors.js';
import type { RgbaImage } from '../display/overlay.js';

export type { RgbaImage } from '../display/overlay.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export type ImageKind = 'png' | 'jpeg';

/** The format given by the file's first bytes, or null when it is neither PNG nor JPEG. */
export function sniffImage(bytes: Uint8Array): ImageKind | null {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Decode PNG or JPEG bytes to RGBA (8 bits per channel; 16-bit PNGs are scaled down). */
export function decodeImage(bytes: Uint8Array, name = 'image'): RgbaImage {
  const kind = sniffImage(bytes);
  if (!kind) {
    throw new ImageFormatError(`${name} is not a PNG or JPEG image (unrecognised file header); give a .png or .jpg file`);
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (kind === 'png') {
      const png = PNG.sync.read(buffer);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    const decoded = jpeg.decode(buffer, { useTArray: true, formatAsRGBA: true });
    return { width: decoded.width, height: decoded.height, data: decoded.data };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ImageFormatError(`${name}: damaged ${kind.toUpperCase()} file (${reason})`);
  }
}

/** Read and decode a PNG or JPEG file. */
export async function readImage(path: string): Promise<RgbaImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ImageFormatError(`cannot read image ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  return decodeImage(bytes, path);
}

/** Encode RGBA pixels as a PNG (8-bit RGBA, lossless). */
export function encodePng(image: RgbaImage): Uint8Array {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) {
    throw new RangeError(`encodePng: ${data.length} bytes for a ${width}x${height} RGBA image (expected ${width * height * 4})`);
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = PNG.sync.write(png);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Write RGBA pixels to a PNG file. */
export async function writePng(path: string, image: RgbaImage): Promise<void> {
  await writeFile(path, encodePng(image));
}
