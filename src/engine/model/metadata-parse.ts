/** Model metadata from its parsed JSON (no file access: shared by Node and the browser). */
import type { ModelMetadata } from './explainer.js';
import { InvalidOptionError } from '../errors.js';

/** An input size as [h, w], "HxW" or a single side; undefined when absent. */
export function parseInputSize(value: unknown, where: string): [number, number] | undefined {
  if (value === undefined || value === null) return undefined;
  let pair: unknown[] | undefined;
  if (typeof value === 'number') pair = [value, value];
  else if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?$/.exec(value);
    pair = m ? [Number(m[1]), Number(m[2] ?? m[1])] : undefined;
  } else if (Array.isArray(value)) pair = value;
  // [h, w] or a full [N, C, H, W] / [H, W, C] shape is not guessed at: two positive integers only.
  if (!pair || pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && (v as number) > 0)) {
    throw new InvalidOptionError(`${where} must be HxW or [height, width] with positive integers, got ${JSON.stringify(value)}`);
  }
  return pair as [number, number];
}

/** Metadata JSON with either camelCase or snake_case keys (as models/digits/model.json). */
export function parseModelMetadata(raw: Record<string, unknown>): ModelMetadata {
  const pick = (...keys: string[]) => keys.map((k) => raw[k]).find((v) => v !== undefined);
  // The feature layer may be a bare tensor name or { name, shape, ... }.
  const layer = pick('featureLayer', 'feature_layer') as string | { name?: string } | undefined;
  const evidence = pick('evidenceOutput', 'evidence_output') as string | { name?: string } | undefined;
  const input = pick('input') as { layout?: unknown; size?: unknown } | undefined;
  const rawLayout = pick('inputLayout', 'input_layout', 'layout') ?? (typeof input === 'object' ? input?.layout : undefined);
  const layout = typeof rawLayout === 'string' ? rawLayout.toLowerCase() : rawLayout;
  const output = pick('output', 'logitsOutput', 'logits_output') as string | { name?: string } | undefined;
  if (layout !== undefined && layout !== 'nchw' && layout !== 'nhwc') {
    throw new InvalidOptionError(`model metadata: input_layout must be "nchw" or "nhwc", got ${JSON.stringify(layout)}`);
  }
  return {
    mean: pick('mean') as ModelMetadata['mean'],
    std: pick('std') as ModelMetadata['std'],
    classNames: pick('classNames', 'class_names', 'classes') as string[] | undefined,
    featureLayer: typeof layer === 'string' ? layer : layer?.name,
    evidenceOutput: typeof evidence === 'string' ? evidence : evidence?.name,
    inputSize: parseInputSize(pick('inputSize', 'input_size'), 'model metadata input_size'),
    inputLayout: layout as ModelMetadata['inputLayout'],
    output: typeof output === 'string' ? output : output?.name,
  };
}
