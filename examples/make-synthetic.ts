/**
 * Writes examples/synthetic/{activations,gradients}.npy: a deterministic 512 x 7 x 7 layer with
 * a few groups of similar channels (so CF-CAM's DBSCAN finds clusters) and a bright region the
 * gradients favour, for the README's quickstart. Run: npx tsx examples/make-synthetic.ts
 */
import { writeFileSync } from 'node:fs';
import { encodeNpy } from '../src/engine/io/npy.js';

const CHANNELS = 512;
const SIZE = 7;
const PIXELS = SIZE * SIZE;

let seed = 20261122;
function random(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
}

function blob(cy: number, cx: number, spread: number): Float32Array {
  const out = new Float32Array(PIXELS);
  for (let p = 0; p < PIXELS; p++) {
    const y = Math.floor(p / SIZE);
    const x = p % SIZE;
    out[p] = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * spread * spread));
  }
  return out;
}

// Prototypes: each channel is a noisy, scaled copy of one of them.
const prototypes = [blob(2, 4, 1.2), blob(4, 2, 1.5), blob(3, 3, 2.5), blob(5, 5, 1.0)];
const activations = new Float32Array(CHANNELS * PIXELS);
const gradients = new Float32Array(CHANNELS * PIXELS);
for (let k = 0; k < CHANNELS; k++) {
  const which = k % prototypes.length;
  const scale = 1 + 0.2 * random();
  for (let p = 0; p < PIXELS; p++) {
    activations[k * PIXELS + p] = Math.max(0, scale * prototypes[which][p] + 0.05 * (random() - 0.5));
    // The "class" likes prototype 0: positive gradients there, small noise elsewhere.
    gradients[k * PIXELS + p] = (which === 0 ? 2e-3 : 0) + 1e-3 * (random() - 0.5);
  }
}

const dir = new URL('./synthetic/', import.meta.url);
writeFileSync(new URL('activations.npy', dir), encodeNpy(activations, [CHANNELS, SIZE, SIZE]));
writeFileSync(new URL('gradients.npy', dir), encodeNpy(gradients, [CHANNELS, SIZE, SIZE]));
console.log(`wrote ${CHANNELS}x${SIZE}x${SIZE} activations and gradients to examples/synthetic/`);
