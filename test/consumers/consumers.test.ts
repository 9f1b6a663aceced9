/**
 * The package as users get it: `npm pack` once (its `prepack` builds dist/), the tarball
 * installed into fresh folders (npm cache first, the registry for anything missing), then
 *  - the tarball's contents and package.json (no sources, tests or build step; dist/, the CLI
 *    and its default model; not private; webgpu only an optional peer);
 *  - a plain .mjs Node script: the CPU engine (equal to the in-repo CPU reference, with no
 *    WebGPU and no Dawn installed) and the GPU engine on SwiftShader through webgpu-cam/node;
 *  - the installed `webgpu-cam` command;
 *  - `tsc --noEmit` of a consumer .ts (NodeNext, strict, skipLibCheck off);
 *  - esbuild bundles (browser and Node) and their minified sizes;
 *  - a Vite app (vanilla-ts template shape): `tsc && vite build`, then it explains an image
 *    in headless Chromium, built and on the dev server, with no ONNX Runtime paths configured;
 *  - publint and @arethetypeswrong/cli on the tarball.
 * Sizes are printed (the package issue's closing note quotes them).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCamCpu, type CamInput } from '../../src/engine/index';
import { swiftshaderEnvironment } from '../../src/engine/gpu/node';
import { launchChromium } from '../../scripts/chromium';

const ROOT = path.resolve(import.meta.dirname, '../..');
const HERE = import.meta.dirname;
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
/** The versions this repository already has (so installs come from the npm cache). */
const version = (name: string) => lock.packages[`node_modules/${name}`].version;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<Run> {
  const result = await run(command, args, cwd, env);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

const npmInstall = (dir: string, specs: string[]) =>
  ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...specs], dir);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

/** Every installed package (name@version) under a node_modules folder. */
function installedPackages(dir: string): string[] {
  return walk(path.join(dir, 'node_modules'))
    .filter((f) => f.endsWith(`${path.sep}package.json`) && path.basename(path.dirname(path.dirname(f))).match(/^(node_modules|@[^/]+)$/))
    .map((f) => {
      try {
        const p = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
        return `${p.name}@${p.version}`;
      } catch {
        return '';
      }
    });
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

// A small Grad-CAM problem, the same one for every consumer run.
const SHAPE = { batch: 1, channels: 3, height: 4, width: 4, outHeight: 8, outWidth: 8 };
const ACTIVATIONS = Array.from({ length: 48 }, (_, i) => Math.abs(Math.sin(i * 1.3)) * 2);
const GRADIENTS = Array.from({ length: 48 }, (_, i) => Math.cos(i * 0.7));

let tmp = '';
let tarball = '';
let nodeApp = '';
let viteApp = '';
let browser: Browser | undefined;
const sizes: Record<string, string> = {};

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-consumers-'));
  // `npm pack` as a user of the repository runs it: prepack builds dist/.
  await ok('npm', ['pack', '--pack-destination', tmp, '--loglevel=error'], ROOT);
  const packed = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
  expect(packed).toHaveLength(1);
  tarball = path.join(tmp, packed[0]);

  nodeApp = path.join(tmp, 'node-app');
  cpSync(path.join(HERE, 'node-app'), nodeApp, { recursive: true });
  writeFileSync(path.join(nodeApp, 'package.json'), JSON.stringify({ name: 'node-consumer', private: true, type: 'module' }));
  writeFileSync(path.join(nodeApp, 'input.json'), JSON.stringify({ shape: SHAPE, activations: ACTIVATIONS, gradients: GRADIENTS }));

  viteApp = path.join(tmp, 'vite-app');
  cpSync(path.join(HERE, 'vite-app'), viteApp, { recursive: true });
  mkdirSync(path.join(viteApp, 'public'));
  for (const file of ['digits-resnet.onnx', 'model.json', 'samples/sample-0.png']) {
    cpSync(path.join(ROOT, 'models/digits', file), path.join(viteApp, 'public', path.basename(file)));
  }
  cpSync(path.join(HERE, 'node-app/engines.mjs'), path.join(viteApp, 'engines.mjs'));
  cpSync(path.join(nodeApp, 'input.json'), path.join(viteApp, 'input.json'));

  // Two consumers side by side: Node (with Dawn, TypeScript, esbuild) and a browser app (Vite,
  // TypeScript; no Dawn).
  await Promise.all([
    npmInstall(nodeApp, [tarball, `webgpu@${version('webgpu')}`, `typescript@${version('typescript')}`, `esbuild@${version('esbuild')}`]),
    npmInstall(viteApp, [tarball, `vite@${version('vite')}`, `typescript@${version('typescript')}`]),
  ]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  console.log(`consumer sizes:\n${Object.entries(sizes).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  if (tmp && !process.env.KEEP_CONSUMERS) rmSync(tmp, { recursive: true, force: true });
});

const readTar = async (file: string) => (await ok('tar', ['xzOf', tarball, `package/${file}`], tmp)).stdout;

describe('the tarball', () => {
  it('holds dist/, the CLI and its model, and no sources, tests or build step', async () => {
    const listing = (await ok('tar', ['tzf', tarball], tmp)).stdout.trim().split('\n').map((f) => f.replace(/^package\//, ''));
    sizes.tarball = `${kb(statSync(tarball).size)}, ${listing.length} files`;
    for (const file of [
      'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin/webgpu-cam.js', 'dist/node/cli.js',
      'dist/engine/index.js', 'dist/engine/index.d.ts', 'dist/engine/browser/index.js', 'dist/engine/browser/index.d.ts',
      'dist/engine/gpu/node.js', 'dist/engine/gpu/node.d.ts', 'dist/engine/engine.js.map', 'models/digits/digits-resnet.onnx',
      'models/digits/model.json',
    ]) expect(listing, file).toContain(file);
    const map = JSON.parse(await readTar('dist/engine/engine.js.map')) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('createCamEngine'); // maps carry their sources
    const unwanted = listing.filter((f) => /^(src|test|bench|scripts|\.ci|examples|docs|dist\/demo)\/|__pycache__|\.pyc$|\.wgsl$|\.ts$(?<!\.d\.ts)|models\/softcam/.test(f));
    expect(unwanted).toEqual([]);
  });

  it('has a publishable package.json: not private, no install-time build, webgpu an optional peer', () => {
    const pkg = JSON.parse(readFileSync(path.join(nodeApp, 'node_modules/webgpu-cam/package.json'), 'utf8'));
    expect(pkg.private).toBeUndefined();
    for (const script of ['prepare', 'preinstall', 'install', 'postinstall']) expect(pkg.scripts?.[script], script).toBeUndefined();
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.dependencies).not.toHaveProperty('webgpu');
    expect(pkg.dependencies).not.toHaveProperty('onnx-proto');
    expect(pkg.peerDependenciesMeta.webgpu.optional).toBe(true);
    expect(pkg.peerDependencies).toHaveProperty('onnxruntime-web');
    for (const entry of ['.', './browser', './node']) expect(Object.keys(pkg.exports[entry])[0], entry).toBe('types');
    // The repository itself must pack from a clean clone after `npm ci`: nothing builds on install.
    const repo = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(repo.scripts.prepare).toBeUndefined();
    expect(repo.scripts.prepack).toMatch(/build/);
  });

  it('ships JavaScript with the WGSL inlined', () => {
    const dist = path.join(nodeApp, 'node_modules/webgpu-cam/dist');
    const code = walk(dist).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
    const withWgslImports = code.filter((f) => /\.wgsl(\?raw)?['"]/.test(readFileSync(f, 'utf8')));
    expect(withWgslImports).toEqual([]);
    const shaders = code.filter((f) => readFileSync(f, 'utf8').includes('@compute'));
    expect(shaders.length).toBeGreaterThan(10);
  });

  it('passes publint (strict)', async () => {
    const result = await run(path.join(ROOT, 'node_modules/.bin/publint'), ['run', tarball, '--strict', '--level', 'suggestion'], tmp);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toMatch(/suggestion|warning|error/i);
  }, 60_000);

  it('passes @arethetypeswrong/cli (ESM-only profile)', async () => {
    const result = await run(path.join(ROOT, 'node_modules/.bin/attw'), [tarball, '--profile', 'esm-only', '--format', 'json'], tmp);
    // The package is ES modules only: the profile ignores require() (node16-cjs) and pre-exports
    // resolution (node10); every other resolution must find types and JavaScript.
    const report = JSON.parse(result.stdout) as { analysis: { problems: { resolutionKind?: string }[] } };
    const problems = report.analysis.problems.filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
    expect(problems).toEqual([]);
    expect(result.code, result.stderr).toBe(0);
  }, 60_000);
});

describe('a Node consumer', () => {
  const expected = computeCamCpu('gradcam', {
    shape: SHAPE,
    activations: Float32Array.from(ACTIVATIONS),
    gradients: Float32Array.from(GRADIENTS),
  } satisfies CamInput).maps;

  it('runs the CPU and the GPU engine from a plain .mjs script', async () => {
    const env = { ...process.env, ...(swiftshaderEnvironment() ?? {}) };
    const result = await ok(process.execPath, ['engines.mjs', 'input.json', '--gpu'], nodeApp, env);
    const report = JSON.parse(result.stdout.trim().split('\n').pop()!);
    expect(report.gpuGlobalsBefore).toBe('undefined');
    expect(report.cpu.backend).toBe('cpu');
    expect(report.cpu.maps).toEqual(Array.from(expected));
    expect(report.gpu.backend).toBe('gpu');
    const diff = Math.max(...report.gpu.maps.map((v: number, i: number) => Math.abs(v - expected[i])));
    expect(report.gpu.maps).toHaveLength(expected.length);
    expect(diff).toBeLessThan(1e-5);
  }, 120_000);

  it('runs the CPU engine where neither WebGPU nor Dawn is installed', async () => {
    expect(existsSync(path.join(viteApp, 'node_modules/webgpu'))).toBe(false);
    const result = await ok(process.execPath, ['engines.mjs', 'input.json'], viteApp);
    const report = JSON.parse(result.stdout.trim().split('\n').pop()!);
    expect(report.gpuGlobalsAfterCpu).toBe('undefined');
    expect(report.cpu.maps).toEqual(Array.from(expected));
    // Library errors name the library's option, not the CLI's flag.
    expect(report.noGpuError.name).toBe('GpuUnavailableError');
    expect(report.noGpuError.message).toContain("backend: 'cpu'");
    expect(report.noGpuError.message).not.toContain('--backend');
  });

  it('runs the installed webgpu-cam command (CPU; GPU without Dawn says what to install)', async () => {
    const sample = path.join(viteApp, 'public/sample-0.png');
    const cli = await ok(path.join(nodeApp, 'node_modules/.bin/webgpu-cam'), ['explain', '--image', sample, '--backend', 'cpu', '--json'], nodeApp);
    const json = JSON.parse(cli.stdout);
    expect(json.classIndex).toBe(0);
    expect(json.model).toContain(path.join('node_modules', 'webgpu-cam', 'models', 'digits', 'digits-resnet.onnx'));
    const env = { ...process.env };
    delete env.VK_ICD_FILENAMES;
    const noDawn = await run(path.join(viteApp, 'node_modules/.bin/webgpu-cam'), ['explain', '--image', sample, '--backend', 'gpu'], viteApp, env);
    expect(noDawn.code).not.toBe(0);
    expect(noDawn.stderr.trim().split('\n')).toHaveLength(1);
    expect(noDawn.stderr).toContain('npm install webgpu');
  }, 120_000);

  it('type-checks a strict NodeNext consumer against the published .d.ts', async () => {
    const result = await run(path.join(nodeApp, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], nodeApp);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);

  it('bundles with esbuild; importing parseNpy alone stays small', async () => {
    const esbuild = path.join(nodeApp, 'node_modules/.bin/esbuild');
    const bundle = async (entry: string, extra: string[], name = entry.replace('.mjs', '.js')) => {
      const out = path.join(nodeApp, 'out', name);
      await ok(esbuild, [entry, '--bundle', '--minify', '--format=esm', `--outfile=${out}`, '--log-level=error', ...extra], nodeApp);
      return { bytes: statSync(out).size, code: readFileSync(out, 'utf8') };
    };
    const browserFlags = ['--platform=browser', '--external:onnxruntime-web'];
    const npy = await bundle('parse-npy-only.mjs', browserFlags);
    const engine = await bundle('engine-only.mjs', browserFlags);
    const explainer = await bundle('explainer.mjs', browserFlags);
    const node = await bundle('node-entry.mjs', ['--platform=node', '--external:webgpu']);
    // Shared code that imports webgpu-cam/node still bundles for browsers: the `browser`
    // condition gives stand-ins without Dawn or node:fs.
    const nodeForBrowser = await bundle('node-entry.mjs', ['--platform=browser'], 'node-entry-browser.js');
    const loadsDawn = /import\("webgpu"\)/;
    expect(loadsDawn.test(node.code)).toBe(true);
    expect(loadsDawn.test(nodeForBrowser.code) || nodeForBrowser.code.includes('node:fs')).toBe(false);
    sizes['esbuild parseNpy only'] = kb(npy.bytes);
    sizes['esbuild createCamEngine'] = kb(engine.bytes);
    sizes['esbuild createExplainer (ORT external)'] = kb(explainer.bytes);
    sizes['esbuild node entry (Dawn external)'] = kb(node.bytes);
    expect(npy.bytes).toBeLessThan(4 * 1024);
    expect(npy.code.includes('@compute')).toBe(false);
    expect(engine.code.includes('@compute')).toBe(true);
    expect(explainer.bytes).toBeGreaterThan(engine.bytes);
  }, 120_000);
});

describe('a Vite app', () => {
  async function explainIn(url: string): Promise<Record<string, unknown>> {
    browser ??= await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(url, { waitUntil: 'load' });
      await page.waitForFunction(() => (window as { camReport?: unknown }).camReport !== undefined, { timeout: 90_000 });
      const report = (await page.evaluate(() => (window as { camReport?: unknown }).camReport)) as Record<string, unknown>;
      return { ...report, pageErrors: errors };
    } finally {
      await page.close();
    }
  }

  function expectExplained(report: Record<string, unknown>): void {
    expect(report.error).toBeUndefined();
    expect(report.pageErrors).toEqual([]);
    expect(report.classIndex).toBe(0); // sample-0.png: torch predicts 0 (models/digits/samples/expected.json)
    expect(report.max as number).toBeGreaterThan(report.min as number);
    expect(Number.isFinite(report.max)).toBe(true);
  }

  it('builds with tsc && vite build and explains in headless Chromium', async () => {
    await ok('npm', ['run', 'build', '--silent'], viteApp);
    const assets = walk(path.join(viteApp, 'dist/assets'));
    const total = (ext: string) => assets.filter((f) => f.endsWith(ext)).reduce((sum, f) => sum + statSync(f).size, 0);
    sizes['vite build JS (all chunks, ORT included)'] = kb(total('.js'));
    sizes['vite build wasm'] = kb(total('.wasm'));
    const entry = assets.filter((f) => /index-.*\.js$/.test(f));
    sizes['vite build entry chunk'] = kb(entry.reduce((sum, f) => sum + statSync(f).size, 0));
    expect(total('.wasm')).toBeGreaterThan(0);

    const vite = (await import(pathToFileURL(path.join(viteApp, 'node_modules/vite/dist/node/index.js')).href)) as typeof import('vite');
    const server = await vite.preview({ root: viteApp, logLevel: 'error', preview: { host: '127.0.0.1', port: 0 } });
    try {
      const url = server.resolvedUrls!.local[0];
      const gpu = await explainIn(url);
      expectExplained(gpu);
      expect(gpu.backend).toBe('gpu');
      const cpu = await explainIn(`${url}?backend=cpu`);
      expectExplained(cpu);
      expect(cpu.backend).toBe('cpu');
    } finally {
      await server.close();
    }
  }, 240_000);

  it('explains on the Vite dev server (default config)', async () => {
    const vite = (await import(pathToFileURL(path.join(viteApp, 'node_modules/vite/dist/node/index.js')).href)) as typeof import('vite');
    const server = await vite.createServer({ root: viteApp, logLevel: 'error', server: { host: '127.0.0.1', port: 0, hmr: false, watch: null } });
    await server.listen();
    try {
      expectExplained(await explainIn(server.resolvedUrls!.local[0]));
    } finally {
      await server.close();
    }
  }, 240_000);

  it('installs no Dawn and a single protobuf runtime for a browser app', () => {
    const packages = installedPackages(viteApp);
    expect(packages.filter((p) => p.startsWith('webgpu@'))).toEqual([]);
    expect(packages.filter((p) => p.startsWith('onnx-proto@'))).toEqual([]);
    expect(packages.filter((p) => p.startsWith('protobufjs@')).map((p) => p.split('@')[1].split('.')[0])).toEqual(['7']);
  });
});
