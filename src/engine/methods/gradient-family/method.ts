import type { CamMethodDefinition } from '../contract.js';
import { gradientFamilyCpu, type GradientMethod } from './cpu.js';
import { encodeGradientFamily } from './gpu.js';

/**
 * One definition per member of the family: Grad-CAM, Grad-CAM++, XGrad-CAM (channel weights)
 * and LayerCAM, HiResCAM (per-pixel products), all with pytorch-grad-cam's post-processing.
 */
export function gradientFamilyMethod(method: GradientMethod, label: string): CamMethodDefinition {
  return {
    label,
    capabilities: { gradients: true, scorer: false, evidenceLayer: false },
    gpu: { kind: 'recorded', encode: (rec, inputs) => encodeGradientFamily(rec, method, inputs) },
    cpu: (input) => gradientFamilyCpu(method, input),
  };
}
