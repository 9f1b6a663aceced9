/**
 * Who builds the perturbed inputs: the GPU (WGSL kernels, perturb.wgsl and blur.wgsl) or its
 * CPU twin (the same arithmetic in TypeScript, in float32). The metrics are written once
 * against this interface; the model then scores what either one built.
 */
import type { GpuContext } from '../gpu/context.js';
import { Recorder } from '../gpu/recorder.js';
import { writeFloats } from '../gpu/upload.js';
import { recordBlurAxis } from './blur-kernel.js';
import { recordPerturb, type PerturbMode } from './perturb-kernel.js';

export type { PerturbMode } from './perturb-kernel.js';

export interface ImageSize {
  height: number;
  width: number;
}

export interface Perturber {
  readonly backend: 'gpu' | 'cpu';
  /**
   * `thresholds.length` copies (shape `[n, 3, H, W]`) of `x` (shape `[3, H, W]`); each pixel is x or `base` by key vs
   * threshold (keepAbove: key > t keeps x; keepBelow: key < t keeps x); soft mode blends
   * base + key * (x - base) and makes thresholds.length copies of that one blend.
   */
  perturb(x: Float32Array, base: Float32Array, key: Float32Array, thresholds: Float32Array, mode: PerturbMode, size: ImageSize): Promise<Float32Array>;
  /** The zero-padded separable Gaussian blur of `x` [3, H, W] with normalised `taps` (odd count). */
  blur(x: Float32Array, taps: Float32Array, size: ImageSize): Promise<Float32Array>;
}

/** Normalised Gaussian taps exp(-t^2 / (2 sigma^2)), t in [-r, r], r = (length - 1) / 2. */
export function gaussianTaps(length: number, sigma: number): Float32Array {
  const r = (length - 1) / 2;
  const taps = Array.from({ length }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  return Float32Array.from(taps, (t) => t / total);
}

const f32 = Math.fround;

export const cpuPerturber: Perturber = {
  backend: 'cpu',
  async perturb(x, base, key, thresholds, mode, { height, width }) {
    const plane = height * width;
    const out = new Float32Array(thresholds.length * 3 * plane);
    for (let j = 0; j < thresholds.length; j++) {
      const t = thresholds[j];
      for (let c = 0; c < 3; c++) {
        const o = (3 * j + c) * plane;
        for (let p = 0; p < plane; p++) {
          const xv = x[c * plane + p];
          const bv = base[c * plane + p];
          const k = key[p];
          out[o + p] = mode === 'keepAbove' ? (k > t ? xv : bv) : mode === 'keepBelow' ? (k < t ? xv : bv) : f32(bv + f32(k * f32(xv - bv)));
        }
      }
    }
    return out;
  },
  async blur(x, taps, { height, width }) {
    const r = (taps.length - 1) / 2;
    const pass = (src: Float32Array, axis: 0 | 1) => {
      const dst = new Float32Array(src.length);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < height; y++) {
          for (let xx = 0; xx < width; xx++) {
            let acc = 0;
            for (let t = -r; t <= r; t++) {
              const sx = axis === 0 ? xx + t : xx;
              const sy = axis === 1 ? y + t : y;
              if (sx >= 0 && sx < width && sy >= 0 && sy < height) acc = f32(acc + f32(taps[t + r] * src[c * height * width + sy * width + sx]));
            }
            dst[c * height * width + y * width + xx] = acc;
          }
        }
      }
      return dst;
    };
    return pass(pass(x, 0), 1);
  },
};

/** The GPU perturber: one submit per call, the copies read back for the model. */
export function gpuPerturber(gpu: GpuContext): Perturber {
  const upload = (rec: Recorder, data: Float32Array, label: string) => {
    const buffer = rec.storage(Math.max(4, data.byteLength), label);
    writeFloats(gpu.device, buffer, data);
    return buffer;
  };
  return {
    backend: 'gpu',
    async perturb(x, base, key, thresholds, mode, size) {
      const plane = size.height * size.width;
      const count = thresholds.length;
      const rec = new Recorder(gpu, { label: 'metrics perturb' });
      try {
        const buffers = { x: upload(rec, x, 'x'), base: upload(rec, base, 'base'), key: upload(rec, key, 'key'), thresholds: upload(rec, thresholds, 'thresholds') };
        let out!: GPUBuffer;
        rec.stage('perturb', (pass) => {
          out = recordPerturb(rec, pass, buffers, plane, count, mode);
        });
        rec.read(out, count * 3 * plane * 4);
      } catch (error) {
        rec.abandon();
        throw error;
      }
      const { readbacks } = await rec.submit();
      return new Float32Array(readbacks[0]);
    },
    async blur(x, taps, size) {
      const rec = new Recorder(gpu, { label: 'metrics blur' });
      try {
        const src = upload(rec, x, 'image');
        const tapBuffer = upload(rec, taps, 'taps');
        const r = (taps.length - 1) / 2;
        let out!: GPUBuffer;
        rec.stage('blur', (pass) => {
          out = recordBlurAxis(rec, pass, recordBlurAxis(rec, pass, src, tapBuffer, size, 0, r), tapBuffer, size, 1, r);
        });
        rec.read(out, x.byteLength);
      } catch (error) {
        rec.abandon();
        throw error;
      }
      const { readbacks } = await rec.submit();
      return new Float32Array(readbacks[0]);
    },
  };
}
