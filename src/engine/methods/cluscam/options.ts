/** ClusCAM's options: defaults and checks against the layer, used by the engine, the explainers and the CLI. */
import { InvalidOptionError } from '../../errors.js';
import type { CluscamOptions } from '../../types.js';
import type { KMeansOptions } from './kmeans/cpu.js';

/** ClusCAM's defaults (the reference's: K = 10, r = 0.5, tau = 0.5; K-Means with seed 0, one init, 300 iterations). */
/** Defaults; 3 K-Means++ initialisations (the spec keeps the lowest inertia of several; each costs about a second at 256 x 224 x 224 on SwiftShader). */
export const CLUSCAM_DEFAULTS = { clusters: 10, dropRatio: 0.5, temperature: 0.5, seed: 0, inits: 3, maxIterations: 300 } as const;

export interface ResolvedCluscamOptions {
  clusters: number;
  dropRatio: number;
  temperature: number;
  seed: number;
  inits: number;
  maxIterations: number;
  seedChannels?: readonly number[];
}

/** ClusCAM options with defaults filled in, checked against C channels (InvalidOptionError). */
export function resolveCluscamOptions(options: CluscamOptions | undefined, channels: number): ResolvedCluscamOptions {
  const o = { ...CLUSCAM_DEFAULTS, ...options };
  const { clusters: K, dropRatio: r, temperature: tau, seed, inits, maxIterations } = o;
  if (!Number.isInteger(K) || K < 1 || K > channels) {
    throw new InvalidOptionError(`cluscam clusters must be an integer in 1..${channels} (the layer's channel count), got ${K}`);
  }
  if (!(typeof r === 'number' && r >= 0 && r < 1)) throw new InvalidOptionError(`cluscam dropRatio must be in [0, 1), got ${r}`);
  if (Math.floor(r * K) >= K) {
    throw new InvalidOptionError(`cluscam dropRatio ${r} drops all ${K} clusters; lower it so at least one cluster is kept`);
  }
  if (!(Number.isFinite(tau) && tau > 0)) throw new InvalidOptionError(`cluscam temperature must be a number > 0, got ${tau}`);
  if (!Number.isSafeInteger(seed)) throw new InvalidOptionError(`cluscam seed must be an integer, got ${seed}`);
  if (!Number.isInteger(inits) || inits < 1) throw new InvalidOptionError(`cluscam inits must be an integer >= 1, got ${inits}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw new InvalidOptionError(`cluscam maxIterations must be an integer >= 0, got ${maxIterations}`);
  }
  const seeds = o.seedChannels;
  if (seeds !== undefined) {
    if (seeds.length !== K) throw new InvalidOptionError(`cluscam seedChannels lists ${seeds.length} channels; give one per cluster (${K})`);
    const seen = new Set<number>();
    for (const c of seeds) {
      if (!Number.isInteger(c) || c < 0 || c >= channels) throw new InvalidOptionError(`cluscam seedChannels holds ${c}, not a channel in 0..${channels - 1}`);
      if (seen.has(c)) throw new InvalidOptionError(`cluscam seedChannels lists channel ${c} twice; the initial centroids must be distinct channels`);
      seen.add(c);
    }
  }
  return { clusters: K, dropRatio: r, temperature: tau, seed, inits, maxIterations, seedChannels: seeds };
}

export function kmeansOptionsOf(o: ResolvedCluscamOptions): KMeansOptions {
  return { clusters: o.clusters, seed: o.seed, inits: o.inits, maxIterations: o.maxIterations, seedPoints: o.seedChannels };
}
