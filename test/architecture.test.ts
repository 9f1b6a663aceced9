/**
 * The source layout the method registry relies on: no import circles, one folder per method with
 * its GPU code, CPU twin and definition, each kernel's WGSL beside it, and the registry as the
 * one place that decides what runs where.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCamEngine } from '../src/engine/engine';
import { InvalidOptionError } from '../src/engine/errors';
import { encodeCam } from '../src/engine/methods/encode';
import { computeCamCpu } from '../src/engine/methods/compute-cpu';
import { CAM_METHODS, GRADIENT_FREE_METHODS, LAYER_METHODS, METHODS, MODEL_SCORED_METHODS, methodDefinition } from '../src/engine/methods/registry';
import { validateCamInput } from '../src/engine/validate';
import type { CamInput } from '../src/engine/types';
import type { CamMethod } from '../src/engine/methods/registry';
import { importCycles, importGraph } from './helpers/import-graph';

const SRC = path.resolve(__dirname, '../src');
const ENGINE = path.join(SRC, 'engine');
const rel = (file: string) => path.relative(SRC, file);

function filesUnder(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full, suffix) : e.name.endsWith(suffix) ? [full] : [];
  });
}

describe('import graph', () => {
  it('has no circles at run time', () => {
    const cycles = importCycles(importGraph(SRC)).map((c) => c.map(rel).join(' -> '));
    expect(cycles).toEqual([]);
  });

  it('has no circles through type imports either', () => {
    const cycles = importCycles(importGraph(SRC, { types: true })).map((c) => c.map(rel).join(' -> '));
    expect(cycles).toEqual([]);
  });

  it('finds a circle when there is one (the checker itself)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(importCycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
  });
});

describe('layout', () => {
  it('keeps no kernels/, shaders/ or reference/ folders', () => {
    for (const gone of ['engine/kernels', 'shaders', 'engine/reference']) expect(fs.existsSync(path.join(SRC, gone)), gone).toBe(false);
  });

  it('imports every WGSL file from beside its module (or the shared snippets), and none is orphaned', () => {
    const imported = new Set<string>();
    const strays: string[] = [];
    for (const file of filesUnder(SRC, '.ts')) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/from '([^']+\.wgsl)\?raw'/g)) {
        const target = path.resolve(path.dirname(file), m[1]);
        imported.add(target);
        const shared = target.startsWith(path.join(ENGINE, 'gpu', 'wgsl') + path.sep);
        if (!shared && path.dirname(target) !== path.dirname(file)) strays.push(`${rel(file)} imports ${m[1]}`);
      }
    }
    expect(strays).toEqual([]);
    const orphans = filesUnder(SRC, '.wgsl').filter((w) => !imported.has(w)).map(rel);
    expect(orphans).toEqual([]);
  });

  it('gives every method folder a definition, a GPU part and a CPU twin', () => {
    const folders = ['cfcam', 'gradient-family', 'eigencam', 'softcam', 'scorecam', 'cluscam'];
    for (const folder of folders) {
      for (const file of ['method.ts', 'gpu.ts', 'cpu.ts']) expect(fs.existsSync(path.join(ENGINE, 'methods', folder, file)), `${folder}/${file}`).toBe(true);
    }
  });
});

describe('method registry', () => {
  it('lists each method once, in the order of CAM_METHODS, with a GPU implementation and a CPU twin', () => {
    expect(CAM_METHODS).toEqual(Object.keys(METHODS));
    expect(new Set(CAM_METHODS).size).toBe(CAM_METHODS.length);
    for (const m of CAM_METHODS) {
      const d = methodDefinition(m);
      expect(typeof d.cpu, m).toBe('function');
      expect(d.gpu.kind === 'recorded' ? typeof d.gpu.encode : typeof d.gpu.run, m).toBe('function');
      expect(d.label.length, m).toBeGreaterThan(0);
    }
  });

  it('derives the capability sets from the definitions', () => {
    expect([...GRADIENT_FREE_METHODS]).toEqual(CAM_METHODS.filter((m) => !METHODS[m].capabilities.gradients));
    expect([...MODEL_SCORED_METHODS]).toEqual(CAM_METHODS.filter((m) => METHODS[m].capabilities.scorer));
    expect(LAYER_METHODS).toEqual(CAM_METHODS.filter((m) => !METHODS[m].capabilities.scorer && !METHODS[m].capabilities.evidenceLayer));
    // What the seed methods are known to need.
    expect([...GRADIENT_FREE_METHODS].sort()).toEqual(['cluscam', 'eigencam', 'scorecam', 'softcam']);
    expect([...MODEL_SCORED_METHODS].sort()).toEqual(['cluscam', 'scorecam']);
    // Methods whose GPU part runs the model between submits are exactly the scored ones.
    expect(CAM_METHODS.filter((m) => METHODS[m].gpu.kind === 'driver').sort()).toEqual(['cluscam', 'scorecam']);
  });

  const input: CamInput = {
    shape: { batch: 1, channels: 2, height: 2, width: 2, outHeight: 4, outWidth: 4 },
    activations: new Float32Array(8).fill(1),
    gradients: new Float32Array(8).fill(1),
  };

  it('rejects an unknown method everywhere with one message (it is a type error too)', async () => {
    // `npm test` type-checks this file: the line below must stay a compile error.
    // @ts-expect-error 'nosuchcam' is not a CamMethod
    const typed: CamMethod = 'nosuchcam';
    expect(typed).toBe('nosuchcam');
    const unknown = 'nosuchcam' as never;
    const message = /unknown method 'nosuchcam'; choose one of cfcam, gradcam/;
    expect(() => methodDefinition(unknown)).toThrow(InvalidOptionError);
    expect(() => validateCamInput(unknown, input)).toThrow(message);
    expect(() => computeCamCpu(unknown, input)).toThrow(message);
    expect(() => encodeCam({} as never, unknown, { shape: input.shape, activations: {} as never, gradients: null }, {})).toThrow(message);
    const cpu = await createCamEngine({ backend: 'cpu' });
    await expect(cpu.compute(unknown, input)).rejects.toThrow(message);
  });
});
