/**
 * The CLI's Vulkan environment (issue 12, item 5): a caller who points VK_ICD_FILENAMES at
 * Chromium's SwiftShader without setting LD_LIBRARY_PATH gets a working run, also where the
 * first libvulkan.so.1 the dynamic linker finds cannot be loaded, and none of Dawn's or Mesa's
 * warning lines on stderr. Real child processes, real Dawn on SwiftShader.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DawnNoiseFilter, firstDawnWarning } from '../src/cli/dawn-noise';
import { parseNpy } from '../src/engine/io/npy';
import { GOLDEN_DIR, loadGoldenCase, maxAbsDiff } from './helpers/golden';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = path.join(ROOT, 'bin', 'webgpu-cam.js');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let tmp: string;
beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist', 'node', 'cli.js'))) throw new Error('dist/node/cli.js is missing: run `npm run build` first');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-vulkan-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LAUNCHER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The environment of the bug report: SwiftShader's ICD chosen, no LD_LIBRARY_PATH, nothing else. */
function swiftshaderWithoutLibraryPath(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER_ICD, ...extra };
  for (const name of ['LD_LIBRARY_PATH', 'WEBGPU_CAM_REEXEC', 'NODEVICE_SELECT', 'VK_DRIVER_FILES']) delete env[name];
  Object.assign(env, extra);
  return env;
}

async function expectGoldenRun(env: NodeJS.ProcessEnv, file: string): Promise<void> {
  const camFile = path.join(tmp, file);
  const result = await runCli(
    ['cam', '--method', 'cfcam', '--backend', 'gpu', '--activations', path.join(GOLDEN_DIR, 'small', 'activations.npy'),
      '--gradients', path.join(GOLDEN_DIR, 'small', 'gradients.npy'), '--size', String(loadGoldenCase('small').meta.output_size), '--out', camFile],
    env,
  );
  expect(result.code, `stderr: ${result.stderr}`).toBe(0);
  // Nothing but our own output: no Dawn warning blocks, no Mesa XDG_RUNTIME_DIR lines.
  expect(result.stderr).toBe('');
  expect(result.stdout).toContain('cfcam on gpu');
  const cam = parseNpy(new Uint8Array(readFileSync(camFile)), camFile).data as Float32Array;
  expect(maxAbsDiff(cam, loadGoldenCase('small').maps.cam)).toBeLessThan(1e-4);
}

describe('VK_ICD_FILENAMES set to SwiftShader without LD_LIBRARY_PATH', () => {
  it('runs on SwiftShader and prints no Dawn or Mesa lines', async () => {
    await expectGoldenRun(swiftshaderWithoutLibraryPath(), 'plain.npy');
  });

  it("finds Chromium's loader when the first libvulkan.so.1 on the path cannot be loaded", async () => {
    // An empty libvulkan.so.1 first on the search path: Dawn reports "Couldn't load Vulkan",
    // as on a machine with no system loader at all.
    const broken = path.join(tmp, 'broken-loader');
    rmSync(broken, { recursive: true, force: true });
    mkdirSync(broken);
    writeFileSync(path.join(broken, 'libvulkan.so.1'), '');
    await expectGoldenRun(swiftshaderWithoutLibraryPath({ LD_LIBRARY_PATH: broken }), 'broken-loader.npy');
  });

  it('a driver that does not exist is one line that names it', async () => {
    const env = swiftshaderWithoutLibraryPath({ VK_ICD_FILENAMES: path.join(tmp, 'no-such-icd.json') });
    const result = await runCli(['cam', '--method', 'gradcam', '--backend', 'gpu', '--activations', path.join(GOLDEN_DIR, 'small', 'activations.npy'),
      '--gradients', path.join(GOLDEN_DIR, 'small', 'gradients.npy'), '--size', '32', '--out', path.join(tmp, 'none.npy')], env);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^webgpu-cam: no WebGPU adapter found with the Vulkan driver .*no-such-icd\.json/);
  });
});

describe('DawnNoiseFilter', () => {
  const filtered = async (chunks: string[]): Promise<string> => {
    const filter = new DawnNoiseFilter();
    let out = '';
    filter.on('data', (d) => (out += d));
    const ended = new Promise((resolve) => filter.on('end', resolve));
    for (const c of chunks) filter.write(c);
    filter.end();
    await ended;
    return out;
  };

  it('drops warning blocks and Mesa session lines, keeps everything else, across chunk borders', async () => {
    const text = [
      'error: XDG_RUNTIME_DIR is invalid or not set in the environment.',
      "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file",
      '    at operator() (/x/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)',
      '',
      'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
      ' - While initializing adapter (backend=BackendType::Vulkan)',
      '    at InitializeImpl (/x/PhysicalDeviceVk.cpp:257)',
      'webgpu-cam: something the user must see',
      '',
      'last line without newline',
    ].join('\n');
    const out = await filtered([text.slice(0, 37), text.slice(37, 150), text.slice(150)]);
    expect(out).toBe('webgpu-cam: something the user must see\n\nlast line without newline');
  });

  it('firstDawnWarning gives the message of the first block', () => {
    expect(firstDawnWarning("noise\nWarning: Couldn't load Vulkan: x\n    at y\n")).toBe("Couldn't load Vulkan: x");
    expect(firstDawnWarning('nothing here')).toBe('');
  });
});
