/** Model metadata from its parsed JSON (no file access: shared by Node and the browser). */
import type { ModelMetadata } from './explainer.js';

/** Metadata JSON with either camelCase or snake_case keys (as models/digits/model.json). */
export function parseModelMetadata(raw: Record<string, unknown>): ModelMetadata {
  const pick = (...keys: string[]) => keys.map((k) => raw[k]).find((v) => v !== undefined);
  // The feature layer may be a bare tensor name or { name, shape, ... }.
  const layer = pick('featureLayer', 'feature_layer') as string | { name?: string } | undefined;
  const evidence = pick('evidenceOutput', 'evidence_output') as string | { name?: string } | undefined;
  return {
    mean: pick('mean') as ModelMetadata['mean'],
    std: pick('std') as ModelMetadata['std'],
    classNames: pick('classNames', 'class_names', 'classes') as string[] | undefined,
    featureLayer: typeof layer === 'string' ? layer : layer?.name,
    evidenceOutput: typeof evidence === 'string' ? evidence : evidence?.name,
  };
}
