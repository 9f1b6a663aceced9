/**
 * The method registry: every CAM method the engine runs, by name. The engine, encodeCam, the
 * CPU backend, validation, the CLI and the explainers read a method's capabilities and code from
 * here; adding a method is one folder with its `method.ts` and one line below.
 */
import { InvalidOptionError } from '../errors.js';
import { cfcamMethod } from './cfcam/method.js';
import { cluscamMethod } from './cluscam/method.js';
import type { CamMethodDefinition } from './contract.js';
import { eigencamMethod } from './eigencam/method.js';
import { gradientFamilyMethod } from './gradient-family/method.js';
import { scorecamMethod } from './scorecam/method.js';
import { softcamMethod } from './softcam/method.js';

export const METHODS = {
  cfcam: cfcamMethod,
  gradcam: gradientFamilyMethod('gradcam', 'Grad-CAM'),
  gradcampp: gradientFamilyMethod('gradcampp', 'Grad-CAM++'),
  xgradcam: gradientFamilyMethod('xgradcam', 'XGrad-CAM'),
  layercam: gradientFamilyMethod('layercam', 'LayerCAM'),
  hirescam: gradientFamilyMethod('hirescam', 'HiResCAM'),
  eigencam: eigencamMethod,
  scorecam: scorecamMethod,
  cluscam: cluscamMethod,
  softcam: softcamMethod,
} as const satisfies Record<string, CamMethodDefinition>;

/** A method name; anything else is a type error (and InvalidOptionError at run time). */
export type CamMethod = keyof typeof METHODS;

/** The CAM methods the engine implements (GPU and CPU twin), in registry order. */
export const CAM_METHODS = Object.keys(METHODS) as CamMethod[];

const names = (keep: (d: CamMethodDefinition) => boolean) => new Set(CAM_METHODS.filter((m) => keep(METHODS[m])));

/** Methods that need no gradients. */
export const GRADIENT_FREE_METHODS: ReadonlySet<CamMethod> = names((d) => !d.capabilities.gradients);

/** Methods that score masked copies of the model input with the model (they need `CamInput.scorer`). */
export const MODEL_SCORED_METHODS: ReadonlySet<CamMethod> = names((d) => d.capabilities.scorer);

/**
 * Methods computed from a layer's activations (and gradients) alone, on any layer: what the
 * synthetic-layer benchmarks time. Score-CAM and ClusCAM need the model; Soft-CAM needs a Soft-CAM
 * model's class-evidence map.
 */
export const LAYER_METHODS: readonly CamMethod[] = CAM_METHODS.filter((m) => !METHODS[m].capabilities.scorer && !METHODS[m].capabilities.evidenceLayer);

export function isCamMethod(name: string): name is CamMethod {
  return Object.hasOwn(METHODS, name);
}

export function assertMethod(name: string): asserts name is CamMethod {
  if (!isCamMethod(name)) throw new InvalidOptionError(`unknown method '${name}'; choose one of ${CAM_METHODS.join(', ')}`);
}

/** The definition of `name`; an unknown name is an InvalidOptionError listing the methods. */
export function methodDefinition(name: string): CamMethodDefinition {
  assertMethod(name);
  return METHODS[name];
}
