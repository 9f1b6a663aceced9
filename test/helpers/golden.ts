import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseNpy } from '../../src/engine/io/npy';

/** The golden fixtures live beside the repository (../shared/golden); never copied in. */
export const GOLDEN_DIR =
  process.env.WEBGPU_CAM_GOLDEN ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/golden');

export interface GoldenMeta {
  eps: number;
  norm_threshold: number;
  min_samples: number;
  clusters: number;
  important: number;
  noise: number;
  channels: number;
  height: number;
  width: number;
  output_size: number;
  class_index: number;
}

export interface GoldenCase {
  name: string;
  meta: GoldenMeta;
  activations: Float32Array;
  gradients: Float32Array;
  labels: Int32Array;
  weights: Float32Array;
  /** Reference maps by file stem: cam (CF-CAM), gradcam, gradcampp, xgradcam, layercam, hirescam, eigencam. */
  maps: Record<string, Float32Array>;
}

export function goldenCaseNames(): string[] {
  if (!existsSync(GOLDEN_DIR)) {
    throw new Error(`golden fixtures not found at ${GOLDEN_DIR}; set WEBGPU_CAM_GOLDEN to their folder`);
  }
  return readdirSync(GOLDEN_DIR).filter((d) => existsSync(path.join(GOLDEN_DIR, d, 'meta.json'))).sort();
}

function load<T extends Float32Array | Int32Array>(dir: string, file: string): T {
  return parseNpy(new Uint8Array(readFileSync(path.join(dir, file))), file).data as T;
}

export function loadGoldenCase(name: string): GoldenCase {
  const dir = path.join(GOLDEN_DIR, name);
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as GoldenMeta;
  const maps: Record<string, Float32Array> = {};
  for (const stem of ['cam', 'gradcam', 'gradcampp', 'xgradcam', 'layercam', 'hirescam', 'eigencam']) {
    if (existsSync(path.join(dir, `${stem}.npy`))) maps[stem] = load(dir, `${stem}.npy`);
  }
  return {
    name,
    meta,
    activations: load(dir, 'activations.npy'),
    gradients: load(dir, 'gradients.npy'),
    labels: load(dir, 'labels.npy'),
    weights: load(dir, 'weights.npy'),
    maps,
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
