/** Reading a model's metadata JSON (Node): normalisation, class names, the layer to explain. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ModelMetadata } from './explainer.js';
import { parseModelMetadata } from './metadata-parse.js';

/** The metadata file for `modelPath`: MODEL.json beside it, else model.json in its folder. */
export function modelMetadataPath(modelPath: string): string | undefined {
  const candidates = [modelPath.replace(/\.onnx$/i, '.json'), path.join(path.dirname(modelPath), 'model.json')];
  return candidates.find((f) => f !== modelPath && existsSync(f));
}

/** Metadata JSON beside the model (see modelMetadataPath); {} when there is none. */
export function loadModelMetadata(modelPath: string): ModelMetadata {
  const file = modelMetadataPath(modelPath);
  return file ? readModelMetadata(file) : {};
}

/** A metadata JSON file, with either camelCase or snake_case keys. */
export function readModelMetadata(jsonPath: string): ModelMetadata {
  return parseModelMetadata(JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown>);
}
