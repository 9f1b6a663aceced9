/**
 * Small deterministic test images for folder jobs: crops of the bundled model's six samples,
 * shifted and scaled (nearest neighbour) per index, written as PNG.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage, encodePng } from '../../src/engine/model/image-io';
import { readFileSync } from 'node:fs';

const SAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'digits', 'samples');

/** Image `index` (size x size): sample index % 6, a crop of 160..224 px moved by the index. */
export function jobImage(index: number, size: number) {
  const sample = decodeImage(readFileSync(path.join(SAMPLES, `sample-${index % 6}.png`)));
  const crop = 160 + ((index * 37) % 65);
  const x0 = (index * 13) % (sample.width - crop + 1);
  const y0 = (index * 29) % (sample.height - crop + 1);
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sx = x0 + Math.floor((x * crop) / size);
      const sy = y0 + Math.floor((y * crop) / size);
      data.set(sample.data.subarray((sy * sample.width + sx) * 4, (sy * sample.width + sx) * 4 + 4), (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}

/** Writes `count` images as DIR/NAME(index) and returns their paths. */
export function writeJobImages(dir: string, count: number, size: number, name: (index: number) => string = (i) => `img-${String(i).padStart(4, '0')}.png`): string[] {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, name(i));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, encodePng(jobImage(i, size)));
    files.push(file);
  }
  return files;
}
