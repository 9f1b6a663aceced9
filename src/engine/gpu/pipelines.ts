import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { ShaderStage } from './flags.js';

/** Binding kinds, in binding-index order: read-only storage, read-write storage, uniform. */
export type BindingKind = 'read' | 'write' | 'uniform';

/** A WGSL kernel: its source file, entry point and bindings (group 0, in order). */
export interface KernelDef {
  name: string;
  source: string;
  entryPoint?: string;
  bindings: readonly BindingKind[];
}

/** Compile-time values: booleans drive `#if ${NAME}`, numbers are substituted as text. */
export type Defines = Record<string, boolean | number>;

/**
 * Expand a .wgsl source: `${NAME}` placeholders become template values for
 * wgsl-preprocessor, so `#if ${NAME}` / `#elif` / `#else` / `#endif` work in plain files.
 */
export function preprocessWgsl(source: string, defines: Defines): string {
  const parts = source.split(/\$\{(\w+)\}/);
  const strings: string[] = [];
  const values: unknown[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) strings.push(parts[i]);
    else {
      const name = parts[i];
      if (!(name in defines)) throw new Error(`WGSL placeholder \${${name}} has no value`);
      const value = defines[name];
      values.push(typeof value === 'number' ? String(value) : value);
    }
  }
  return wgsl(strings, ...values);
}

export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Compiles each (kernel, defines) pair once, with an explicit bind-group layout. */
export class PipelineCache {
  private readonly compiled = new Map<string, CompiledKernel>();

  constructor(private readonly device: GPUDevice) {}

  get(kernel: KernelDef, defines: Defines): CompiledKernel {
    const key = `${kernel.name}:${kernel.entryPoint ?? 'main'}:${JSON.stringify(defines, Object.keys(defines).sort())}`;
    let entry = this.compiled.get(key);
    if (!entry) {
      const code = preprocessWgsl(kernel.source, defines);
      const module = this.device.createShaderModule({ code, label: kernel.name });
      const layout = this.device.createBindGroupLayout({
        label: kernel.name,
        entries: kernel.bindings.map((kind, binding) => ({
          binding,
          visibility: ShaderStage.COMPUTE,
          buffer: { type: kind === 'read' ? 'read-only-storage' : kind === 'write' ? 'storage' : 'uniform' },
        })),
      });
      const pipeline = this.device.createComputePipeline({
        label: kernel.name,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: kernel.entryPoint ?? 'main' },
      });
      entry = { pipeline, layout };
      this.compiled.set(key, entry);
    }
    return entry;
  }

  get size(): number {
    return this.compiled.size;
  }
}
