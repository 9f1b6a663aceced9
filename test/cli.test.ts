/**
 * The real command line, run as a child process (`node bin/webgpu-cam.js ...`) on the golden
 * fixtures. `npm test` builds dist/node/cli.js first; the launcher imports it.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, type NpyArray } from '../src/engine/io/npy';
import { GOLDEN_DIR, loadGoldenCase, maxAbsDiff, type GoldenCase } from './helpers/golden';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = path.join(ROOT, 'bin', 'webgpu-cam.js');
const BUNDLE = path.join(ROOT, 'dist', 'node', 'cli.js');
const TOLERANCE = 1e-4;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = process.env, launcher = LAUNCHER): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [launcher, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Fails with both streams in the message, so a broken run says why. */
function expectSuccess(result: CliResult): void {
  expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
}

let tmp: string;
const golden = (name: string, file: string) => path.join(GOLDEN_DIR, name, file);
const out = (file: string) => path.join(tmp, file);
const readNpy = (file: string): NpyArray => parseNpy(new Uint8Array(readFileSync(file)), file);
const saveNpy = (file: string, data: Float32Array | Int32Array, shape: number[]): string => {
  writeFileSync(out(file), encodeNpy(data, shape));
  return out(file);
};

beforeAll(() => {
  if (!existsSync(BUNDLE)) {
    throw new Error(`${path.relative(ROOT, BUNDLE)} is missing: run \`npm run build\` first (\`npm test\` does)`);
  }
  tmp = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-cli-'));
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function camArgs(name: string, method: string, outFile: string, extra: string[] = []): string[] {
  const meta = loadGoldenCase(name).meta;
  return [
    'cam',
    '--method', method,
    '--activations', golden(name, 'activations.npy'),
    ...(method === 'eigencam' ? [] : ['--gradients', golden(name, 'gradients.npy')]),
    '--size', String(meta.output_size),
    '--out', outFile,
    ...extra,
  ];
}

describe('cam cfcam matches the golden maps', () => {
  for (const name of ['small', 'resnet18-layer4']) {
    for (const backend of ['gpu', 'cpu']) {
      it(`${name} on ${backend}`, async () => {
        const g: GoldenCase = loadGoldenCase(name);
        const camFile = out(`${name}-${backend}-cam.npy`);
        const labelsFile = out(`${name}-${backend}-labels.npy`);
        const result = await runCli(camArgs(name, 'cfcam', camFile, ['--labels', labelsFile, '--backend', backend, '--json']));
        expectSuccess(result);

        const report = JSON.parse(result.stdout);
        expect(report.method).toBe('cfcam');
        expect(report.backend).toBe(backend);
        expect(typeof report.adapter).toBe('string');
        expect(report.output).toBe(camFile);
        expect(report.images).toHaveLength(1);
        const image = report.images[0];
        expect(Math.abs(image.eps - g.meta.eps) / g.meta.eps).toBeLessThan(1e-5);
        expect([image.clusters, image.important, image.noise]).toEqual([g.meta.clusters, g.meta.important, g.meta.noise]);
        expect(report.wallMs).toBeGreaterThan(0);

        const cam = readNpy(camFile);
        expect(cam.dtype).toBe('float32');
        expect(cam.shape).toEqual([g.meta.output_size, g.meta.output_size]);
        expect(maxAbsDiff(cam.data as Float32Array, g.maps.cam)).toBeLessThan(TOLERANCE);
        const labels = readNpy(labelsFile);
        expect(labels.dtype).toBe('int32');
        expect(labels.shape).toEqual([g.meta.channels]);
        expect(Array.from(labels.data as Int32Array)).toEqual(Array.from(g.labels));
      });
    }
  }

  it('a [2,C,H,W] batch gives [2,S,S] maps and [2,C] labels', async () => {
    const cases = ['bridges-141', 'bridges-143'].map(loadGoldenCase);
    const { channels: C, height: H, width: W, output_size: S } = cases[0].meta;
    expect(cases[1].meta).toMatchObject({ channels: C, height: H, width: W, output_size: S });
    const stack = (pick: (g: GoldenCase) => Float32Array) => {
      const data = new Float32Array(2 * C * H * W);
      cases.forEach((g, b) => data.set(pick(g), b * C * H * W));
      return data;
    };
    const a = saveNpy('batch-a.npy', stack((g) => g.activations), [2, C, H, W]);
    const gr = saveNpy('batch-g.npy', stack((g) => g.gradients), [2, C, H, W]);
    const camFile = out('batch-cam.npy');
    const labelsFile = out('batch-labels.npy');
    const result = await runCli([
      'cam', '--method', 'cfcam', '--activations', a, '--gradients', gr, '--size', String(S),
      '--out', camFile, '--labels', labelsFile, '--json',
    ]);
    expectSuccess(result);
    expect(JSON.parse(result.stdout).images.map((i: { eps: number }) => i.eps)).toHaveLength(2);

    const cam = readNpy(camFile);
    expect(cam.shape).toEqual([2, S, S]);
    const labels = readNpy(labelsFile);
    expect(labels.shape).toEqual([2, C]);
    cases.forEach((g, b) => {
      expect(maxAbsDiff((cam.data as Float32Array).subarray(b * S * S, (b + 1) * S * S), g.maps.cam)).toBeLessThan(TOLERANCE);
      expect(Array.from((labels.data as Int32Array).subarray(b * C, (b + 1) * C))).toEqual(Array.from(g.labels));
    });
  });
});

describe('cam: other methods and sizes', () => {
  for (const method of ['gradcam', 'eigencam']) {
    it(`${method} on small matches the golden map`, async () => {
      const g = loadGoldenCase('small');
      const camFile = out(`small-${method}.npy`);
      const result = await runCli(camArgs('small', method, camFile));
      expectSuccess(result);
      expect(result.stdout).toContain(`${method} on gpu`);
      const cam = readNpy(camFile);
      expect(cam.shape).toEqual([g.meta.output_size, g.meta.output_size]);
      expect(maxAbsDiff(cam.data as Float32Array, g.maps[method])).toBeLessThan(TOLERANCE);
    });
  }

  it('--size HxW gives an [H,W] map, the same on GPU and CPU', async () => {
    const maps: Float32Array[] = [];
    for (const backend of ['gpu', 'cpu']) {
      const camFile = out(`small-rect-${backend}.npy`);
      const result = await runCli(camArgs('small', 'gradcam', camFile, ['--size', '32x48', '--backend', backend]));
      expectSuccess(result);
      const cam = readNpy(camFile);
      expect(cam.shape).toEqual([32, 48]);
      maps.push(cam.data as Float32Array);
    }
    expect(maxAbsDiff(maps[0], maps[1])).toBeLessThan(TOLERANCE);
  });
});

describe('bad input: one line on stderr, non-zero exit', () => {
  const smallA = () => golden('small', 'activations.npy');
  const smallG = () => golden('small', 'gradients.npy');
  const base = (a: string, g: string, extra: string[] = []) => [
    'cam', '--method', 'cfcam', '--activations', a, '--gradients', g, '--size', '40', '--out', out('bad.npy'), '--backend', 'cpu', ...extra,
  ];

  /** A .npy of float64 values, written by hand (encodeNpy only writes float32 / int32). */
  function saveFloat64(file: string, values: Float64Array, shape: number[]): string {
    let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
    header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
    const bytes = new Uint8Array(10 + header.length + values.byteLength);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
    bytes.set(new Uint8Array(values.buffer), 10 + header.length);
    writeFileSync(out(file), bytes);
    return out(file);
  }

  const small = () => loadGoldenCase('small');
  const cases: { name: string; args: () => string[]; expects: string[]; code?: number }[] = [
    { name: 'missing file', args: () => base(out('nope.npy'), smallG()), expects: ['nope.npy', 'no such file'] },
    {
      name: 'not a .npy file',
      args: () => {
        writeFileSync(out('text.npy'), 'just some text\n');
        return base(out('text.npy'), smallG());
      },
      expects: ['text.npy', 'not a .npy'],
    },
    {
      name: 'float64 dtype',
      args: () => base(saveFloat64('f64.npy', Float64Array.from(small().activations), [12, 5, 5]), smallG()),
      expects: ['f64.npy', 'float64', 'float32'],
    },
    {
      name: 'rank 2',
      args: () => base(saveNpy('rank2.npy', small().activations, [12, 25]), smallG()),
      expects: ['rank2.npy', '[C,H,W]'],
    },
    {
      name: 'A/G shape mismatch',
      args: () => base(smallA(), saveNpy('g-short.npy', small().gradients.subarray(0, 12 * 5 * 4), [12, 5, 4])),
      expects: ['g-short.npy', 'same shape'],
    },
    {
      name: 'NaN in activations',
      args: () => {
        const a = small().activations.slice();
        a[7] = NaN;
        return base(saveNpy('a-nan.npy', a, [12, 5, 5]), smallG());
      },
      expects: ['a-nan.npy', 'NaN'],
    },
    {
      name: 'Inf in gradients',
      args: () => {
        const g = small().gradients.slice();
        g[3] = -Infinity;
        return base(smallA(), saveNpy('g-inf.npy', g, [12, 5, 5]));
      },
      expects: ['g-inf.npy', 'Infinity'],
    },
    {
      // 40000^2 floats = 6.4 GB: above any WebGPU binding limit (SwiftShader's is 1 GiB).
      name: 'C too large for the device',
      args: () => {
        const C = 40000;
        const a = saveNpy('huge-a.npy', Float32Array.from({ length: C }, (_, i) => (i % 97) / 97), [C, 1, 1]);
        const g = saveNpy('huge-g.npy', Float32Array.from({ length: C }, (_, i) => (i % 13) / 13), [C, 1, 1]);
        return base(a, g, ['--backend', 'gpu']);
      },
      expects: ['C=40000', 'limit'],
      code: 1,
    },
    { name: 'bad --size', args: () => base(smallA(), smallG(), ['--size', '0x40']), expects: ['--size', '0x40'] },
    { name: 'non-numeric --size', args: () => base(smallA(), smallG(), ['--size', 'big']), expects: ['--size', 'big'] },
    { name: 'unknown method', args: () => [...base(smallA(), smallG()), '--method', 'foocam'], expects: ['foocam', 'gradcam'] },
    { name: 'unknown mode', args: () => base(smallA(), smallG(), ['--mode', 'fancy']), expects: ['fancy', 'bilateral'] },
    { name: 'unknown backend', args: () => base(smallA(), smallG(), ['--backend', 'tpu']), expects: ['tpu', 'cpu'] },
    { name: 'unknown flag', args: () => base(smallA(), smallG(), ['--colour', 'red']), expects: ['--colour'] },
    {
      name: 'missing --out',
      args: () => ['cam', '--method', 'cfcam', '--activations', smallA(), '--gradients', smallG(), '--size', '40'],
      expects: ['--out'],
    },
    {
      name: 'missing --gradients for cfcam',
      args: () => ['cam', '--method', 'cfcam', '--activations', smallA(), '--size', '40', '--out', out('bad.npy')],
      expects: ['--gradients'],
    },
    {
      name: '--labels with gradcam',
      args: () => [...base(smallA(), smallG(), ['--labels', out('l.npy')]), '--method', 'gradcam'],
      expects: ['--labels', 'cfcam'],
    },
    {
      name: '--out in a missing folder (checked before computing)',
      args: () => [...base(smallA(), smallG()), '--out', out('no-such-dir/cam.npy')],
      expects: ['no-such-dir', 'folder does not exist'],
      code: 1,
    },
    { name: 'unknown command', args: () => ['frobnicate'], expects: ['frobnicate'] },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const result = await runCli(c.args());
      expect(result.code, result.stderr).toBe(c.code ?? 2);
      const lines = result.stderr.split('\n').filter((line) => line.length > 0);
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0].startsWith('webgpu-cam: ')).toBe(true);
      expect(result.stderr).not.toContain('    at ');
      for (const fact of c.expects) expect(lines[0]).toContain(fact);
      expect(result.stdout).toBe('');
    });
  }
});

describe('bench', () => {
  it('--json on small reports GPU, CPU and kernel times', async () => {
    const result = await runCli([
      'bench', '--activations', golden('small', 'activations.npy'), '--gradients', golden('small', 'gradients.npy'),
      '--method', 'cfcam', '--batch', '4', '--runs', '2', '--warmup', '1', '--json',
    ]);
    expectSuccess(result);
    const report = JSON.parse(result.stdout);
    expect(report.batch).toBe(4);
    expect(report.shape).toEqual([12, 5, 5]);
    expect(typeof report.adapter).toBe('string');
    expect(report.adapter.length).toBeGreaterThan(0);
    expect(report.gpu.perImageMs).toBeGreaterThan(0);
    expect(report.gpu.batchMs).toBeCloseTo(report.gpu.perImageMs * 4, 2);
    expect(report.gpu.runs).toBe(2);
    expect(report.cpu.perImageMs).toBeGreaterThan(0);
    expect(report.speedup).toBeGreaterThan(0);
    const kernels = Object.entries(report.kernels) as [string, { batchMs: number; perImageMs: number }][];
    expect(kernels.length).toBeGreaterThan(0);
    for (const [name, times] of kernels) {
      expect(name).toContain('/');
      expect(times.batchMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('--paths times only the paths asked for, and rejects unknown ones', async () => {
    const inputs = ['--activations', golden('small', 'activations.npy'), '--gradients', golden('small', 'gradients.npy')];
    const result = await runCli(['bench', ...inputs, '--batch', '2', '--runs', '1', '--paths', 'cpu-fast,cpu-reference', '--json']);
    expectSuccess(result);
    const report = JSON.parse(result.stdout);
    expect(report.gpu).toBeNull();
    expect(report.adapter).toBeNull();
    expect(report.kernels).toEqual({});
    expect(report.cpuFast.perImageMs).toBeGreaterThan(0);
    expect(report.cpu.perImageMs).toBeGreaterThan(0);
    expect(report.cpuFastSpeedup).toBeGreaterThan(0);
    const bad = await runCli(['bench', ...inputs, '--paths', 'gpu,tpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--paths: expected a comma list of gpu, cpu-fast, cpu-reference');
  });
});

describe('launcher', () => {
  it('--version and --help', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const version = await runCli(['--version']);
    expectSuccess(version);
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = await runCli(['cam', '--help']);
    expectSuccess(help);
    expect(help.stdout).toContain('--activations');
  });

  it('finds SwiftShader by itself when the Vulkan variables are unset', async () => {
    const env = { ...process.env };
    delete env.VK_ICD_FILENAMES;
    delete env.LD_LIBRARY_PATH;
    delete env.WEBGPU_CAM_REEXEC;
    const camFile = out('reexec-cam.npy');
    const result = await runCli(camArgs('small', 'cfcam', camFile, ['--backend', 'gpu']), env);
    expectSuccess(result);
    expect(result.stderr).not.toContain('webgpu-cam:');
    expect(maxAbsDiff(readNpy(camFile).data as Float32Array, loadGoldenCase('small').maps.cam)).toBeLessThan(TOLERANCE);
  });

  it('--backend auto runs on the CPU fast path where the only adapter is a software one (SwiftShader)', async () => {
    const bare = { ...process.env };
    delete bare.VK_ICD_FILENAMES;
    delete bare.LD_LIBRARY_PATH;
    delete bare.WEBGPU_CAM_REEXEC;
    for (const [label, env] of [['SwiftShader chosen', process.env], ['no Vulkan variables', bare]] as const) {
      const camFile = out(`auto-${label.replace(/ /g, '-')}.npy`);
      const result = await runCli(camArgs('small', 'cfcam', camFile, ['--backend', 'auto', '--json']), env);
      expectSuccess(result);
      const report = JSON.parse(result.stdout);
      expect(report.backend, label).toBe('cpu');
      expect(report.adapter, label).toMatch(/^cpu fast/);
      expect(maxAbsDiff(readNpy(camFile).data as Float32Array, loadGoldenCase('small').maps.cam)).toBeLessThan(TOLERANCE);
    }
    const text = await runCli(camArgs('small', 'gradcam', out('auto-text.npy'), ['--backend', 'auto']));
    expectSuccess(text);
    expect(text.stdout).toMatch(/^gradcam on cpu fast \((wasm-simd|typescript)\):/);
  });

  it('says to build when dist/node/cli.js is missing', async () => {
    const bin = path.join(tmp, 'unbuilt', 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync(LAUNCHER, path.join(bin, 'webgpu-cam.js'));
    // As in the package: its package.json makes the launcher an ES module.
    writeFileSync(path.join(tmp, 'unbuilt', 'package.json'), '{ "type": "module" }\n');
    const result = await runCli(['--version'], process.env, path.join(bin, 'webgpu-cam.js'));
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('npm run build');
  });
});
