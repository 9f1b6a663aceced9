/**
 * One explanation scored by every metric asked for, and the per-method summary over images.
 */
import { averageDrop, type AverageDropResult } from './average-drop.js';
import { confidenceChange, type ConfidenceChangeResult } from './confidence-change.js';
import { deletionInsertion, type DeletionInsertionOptions, type DeletionInsertionResult } from './deletion-insertion.js';
import { pointingGame, type Box, type PointingResult } from './pointing-game.js';
import { road, type RoadOptions, type RoadResult } from './road.js';
import { robustness, type NoisyMaps, type RobustnessOptions, type RobustnessResult } from './robustness.js';
import { scoreAll, type MetricContext, type MetricImage } from './types.js';

export const METRICS = ['average-drop', 'deletion-insertion', 'road', 'confidence-change', 'robustness', 'pointing-game'] as const;
export type MetricName = (typeof METRICS)[number];

export interface MetricOptions {
  deletionInsertion?: DeletionInsertionOptions;
  road?: RoadOptions;
  robustness?: RobustnessOptions;
  /** Pointing game tolerance in pixels (default 0). */
  pointingTolerance?: number;
}

export interface MapMetrics {
  baseProbability: number;
  averageDrop?: AverageDropResult;
  deletionInsertion?: DeletionInsertionResult;
  road?: RoadResult;
  confidenceChange?: ConfidenceChangeResult;
  robustness?: RobustnessResult;
  pointing?: PointingResult;
  /** Inputs the model scored for these metrics (robustness's explanations not counted). */
  modelRuns: number;
  ms: number;
}

export interface EvaluateRequest {
  metrics: readonly MetricName[];
  /** The explained class's probability on the clean image (scored when omitted). */
  baseProbability?: number;
  box?: Box;
  noisyMaps?: NoisyMaps;
  options?: MetricOptions;
}

export async function evaluateMap(ctx: MetricContext, image: MetricImage, map: Float32Array, request: EvaluateRequest): Promise<MapMetrics> {
  const started = performance.now();
  const runsBefore = ctx.scorer.runs;
  const plane = image.height * image.width;
  if (map.length !== plane) throw new Error(`evaluateMap: the map has ${map.length} values, the image ${image.height}x${image.width}`);
  const base = request.baseProbability ?? (await scoreAll(ctx, image.input, 1, plane, image.classIndex))[0];
  const want = new Set(request.metrics);
  const out: MapMetrics = { baseProbability: base, modelRuns: 0, ms: 0 };
  const o = request.options ?? {};
  if (want.has('average-drop')) out.averageDrop = await averageDrop(ctx, image, map, base);
  if (want.has('deletion-insertion')) out.deletionInsertion = await deletionInsertion(ctx, image, map, o.deletionInsertion);
  if (want.has('road')) out.road = await road(ctx, image, map, base, o.road);
  if (want.has('confidence-change')) out.confidenceChange = await confidenceChange(ctx, image, map, base);
  if (want.has('pointing-game') && request.box) out.pointing = pointingGame(map, image.width, request.box, o.pointingTolerance);
  out.modelRuns = ctx.scorer.runs - runsBefore;
  if (want.has('robustness') && request.noisyMaps) out.robustness = await robustness(request.noisyMaps, map, image.input, image, o.robustness);
  out.ms = performance.now() - started;
  return out;
}

/** Means over images of one method's scalar metrics (the report's table). */
export interface MetricSummary {
  images: number;
  averageDrop?: number;
  averageDropClamped?: number;
  increaseRate?: number;
  averageIncrease?: number;
  deletionAuc?: number;
  insertionAuc?: number;
  roadMorf?: number;
  roadLerf?: number;
  roadCombined?: number;
  confidenceChange?: number;
  /** Per noise level: mean SSIM / MSE. */
  gradientSsim?: { level: number; ssim: number; mse: number }[];
  inputSsim?: { level: number; ssim: number; mse: number }[];
  pointingGame?: number;
  energyPointingGame?: number;
  /** Mean curves (steps + 1 points). */
  deletionCurve?: number[];
  insertionCurve?: number[];
  modelRunsPerImage: number;
  msPerImage: number;
}

const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

function meanCurve(curves: Float32Array[]): number[] | undefined {
  if (!curves.length) return undefined;
  return Array.from(curves[0], (_, k) => mean(curves.map((c) => c[k])));
}

function meanPoints(lists: { level: number; ssim: number; mse: number }[][]): { level: number; ssim: number; mse: number }[] | undefined {
  if (!lists.length) return undefined;
  return lists[0].map((p, i) => ({ level: p.level, ssim: mean(lists.map((l) => l[i].ssim)), mse: mean(lists.map((l) => l[i].mse)) }));
}

export function summarise(results: readonly MapMetrics[]): MetricSummary {
  const pick = <T>(f: (r: MapMetrics) => T | undefined) => results.map(f).filter((v): v is T => v !== undefined);
  const ad = pick((r) => r.averageDrop);
  const di = pick((r) => r.deletionInsertion);
  const rd = pick((r) => r.road);
  const cc = pick((r) => r.confidenceChange);
  const pg = pick((r) => r.pointing);
  const rb = pick((r) => r.robustness);
  const opt = (v: number[]) => {
    const ok = v.filter(Number.isFinite);
    return ok.length ? mean(ok) : undefined;
  };
  return {
    images: results.length,
    averageDrop: opt(ad.map((a) => a.drop)),
    averageDropClamped: opt(ad.map((a) => a.dropClamped)),
    increaseRate: opt(ad.map((a) => (a.increased ? 100 : 0))),
    averageIncrease: opt(ad.map((a) => a.increase)),
    deletionAuc: opt(di.map((d) => d.deletion.auc)),
    insertionAuc: opt(di.map((d) => d.insertion.auc)),
    roadMorf: opt(rd.map((r) => r.morfMean)),
    roadLerf: opt(rd.map((r) => r.lerfMean)),
    roadCombined: opt(rd.map((r) => r.combined)),
    confidenceChange: opt(cc.map((c) => c.change)),
    gradientSsim: meanPoints(rb.map((r) => r.gradient).filter((g): g is NonNullable<typeof g> => g !== null)),
    inputSsim: meanPoints(rb.map((r) => r.input)),
    pointingGame: opt(pg.map((p) => (p.hit ? 100 : 0))),
    energyPointingGame: opt(pg.map((p) => p.energy)),
    deletionCurve: meanCurve(di.map((d) => d.deletion.curve)),
    insertionCurve: meanCurve(di.map((d) => d.insertion.curve)),
    modelRunsPerImage: mean(results.map((r) => r.modelRuns)),
    msPerImage: mean(results.map((r) => r.ms)),
  };
}
