/**
 * Getting a WebGPU adapter from Dawn in Node, including on machines without a GPU.
 *
 * Dawn loads the Vulkan loader, which reads VK_ICD_FILENAMES / LD_LIBRARY_PATH once, when the
 * process starts. So when no adapter can be had and Chromium's SwiftShader is installed, the
 * only way to use it is to run the same command again in a child process whose environment
 * points at it. WEBGPU_CAM_REEXEC marks that child so it never restarts itself again.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { GpuUnavailableError } from '../engine/errors.js';
import { chromiumLoaderEnvironment, nodeGpu, SWIFTSHADER_ICD, swiftshaderEnvironment } from '../engine/gpu/node.js';
import { DawnNoiseFilter, firstDawnWarning } from './dawn-noise.js';
import { createCamEngine, type CamEngine } from '../engine/engine.js';

export const REEXEC_VAR = 'WEBGPU_CAM_REEXEC';

/**
 * Not an error: the command already ran in a child process (with SwiftShader) and this
 * process should exit with the child's status. main() handles it.
 */
export class ExitRequest {
  constructor(readonly code: number) {}
}

/**
 * Whether any Vulkan driver is registered where the Linux loader looks for one. Without one,
 * asking Dawn for an adapter cannot succeed and only prints multi-line warnings to stderr, so
 * the SwiftShader restart is taken straight away.
 */
function vulkanDriverRegistered(env: NodeJS.ProcessEnv): boolean {
  if (process.platform !== 'linux' || env.VK_ADD_DRIVER_FILES) return true;
  const split = (value: string | undefined, fallback: string) => (value || fallback).split(':').filter(Boolean);
  const home = env.HOME ?? '';
  // The Vulkan loader's search path for driver manifests on Linux.
  const roots = [
    env.XDG_CONFIG_HOME || (home && path.join(home, '.config')),
    ...split(env.XDG_CONFIG_DIRS, '/etc/xdg'),
    '/usr/local/etc',
    '/etc',
    env.XDG_DATA_HOME || (home && path.join(home, '.local/share')),
    ...split(env.XDG_DATA_DIRS, '/usr/local/share:/usr/share'),
  ].filter(Boolean);
  return roots.some((root) => {
    const dir = path.join(root, 'vulkan', 'icd.d');
    try {
      return existsSync(dir) && readdirSync(dir).some((name) => name.endsWith('.json'));
    } catch {
      return true; // unreadable: let Dawn decide
    }
  });
}

/** What a quiet adapter request in a child process found. */
interface AdapterProbe {
  ok: boolean;
  /** The adapter found is a software one (SwiftShader, llvmpipe/lavapipe, or one Dawn flags as a fallback). */
  software: boolean;
  /** Dawn could not load the Vulkan loader (libvulkan.so.1) at all. */
  loaderMissing: boolean;
  /** Dawn's first warning line, for an error message (its multi-line warnings never reach the user). */
  reason: string;
}

/**
 * Whether Dawn finds an adapter in this environment (and whether it is a software one), asked in
 * a child process whose stderr is captured: registered drivers without their hardware (Mesa's
 * Intel and Radeon drivers on a server), ones Dawn rejects (Mesa's lavapipe) or a missing Vulkan
 * loader make Dawn print multi-line warnings, which must not reach the user.
 */
function probeAdapter(extraEnv: Record<string, string> = {}): AdapterProbe {
  const dawn = import.meta.resolve('webgpu');
  // Exit 0: a hardware adapter; 4: a software one; 3: none.
  const probe = `import { create } from ${JSON.stringify(dawn)};
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const info = adapter?.info ?? {};
const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
process.exit(!adapter ? 3 : info.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(text) ? 4 : 0);`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NODEVICE_SELECT: process.env.NODEVICE_SELECT ?? '1', ...extraEnv },
  });
  const stderr = result.stderr ?? '';
  return { ok: result.status === 0 || result.status === 4, software: result.status === 4, loaderMissing: /Couldn't load Vulkan/.test(stderr), reason: firstDawnWarning(stderr) };
}

/**
 * In the SwiftShader child: exit when the parent is gone (killed with SIGKILL, which it cannot
 * forward), so a folder job killed and restarted never has an orphan writing beside it.
 */
export function exitWithParent(env: NodeJS.ProcessEnv = process.env): void {
  if (!env[REEXEC_VAR]) return;
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(137);
  }, 200).unref();
}

/** Run this same command again with `extraEnv`; resolves once the child has exited. */
function rerun(extraEnv: Record<string, string>): Promise<ExitRequest> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      // stderr passes through a filter that drops Dawn's and the Vulkan loader's warnings.
      stdio: ['inherit', 'inherit', 'pipe'],
      env: { ...process.env, ...extraEnv, [REEXEC_VAR]: '1' },
    });
    child.stderr!.pipe(new DawnNoiseFilter()).pipe(process.stderr);
    // The child does the work: signals meant for this process go to it.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const done = () => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    };
    child.on('error', (error) => {
      done();
      reject(new GpuUnavailableError(`could not restart with SwiftShader: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(new ExitRequest(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)));
    });
  });
}

/**
 * Dawn's GPU entry point with at least one adapter behind it, for createCamEngine({ gpu }).
 * May instead throw an ExitRequest (the command ran in a child process with a better Vulkan
 * environment) or a GpuUnavailableError whose message says what to do; `alternative` names
 * the CPU fallback.
 *
 * The top-level process asks a quiet child first (probeAdapter) and only then Dawn itself, so
 * Dawn's warnings never reach the terminal: with no driver chosen and none usable it re-runs
 * with Chromium's SwiftShader; with a driver chosen (VK_ICD_FILENAMES / VK_DRIVER_FILES) but
 * no loadable libvulkan.so.1 it re-runs with Chromium's loader on LD_LIBRARY_PATH.
 */
export async function acquireGpu(alternative = 'use --backend cpu', probed?: AdapterProbe): Promise<GPU> {
  // Dawn is an optional peer dependency of the package: say how to get it, in CLI terms.
  const missingDawn = () => new GpuUnavailableError(`Dawn, the optional \`webgpu\` package, is not installed; npm install webgpu, or ${alternative}`);
  try {
    import.meta.resolve('webgpu');
  } catch {
    throw missingDawn();
  }
  const env = process.env;
  const chosen = env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES;
  if (!env[REEXEC_VAR]) {
    if (!chosen) {
      const swiftshader = swiftshaderEnvironment(env);
      const probe = probed ?? (vulkanDriverRegistered(env) ? probeAdapter() : null);
      if (!probe?.ok) {
        if (swiftshader) throw await rerun(swiftshader);
        const why = probe?.reason ? ` (Dawn: ${probe.reason})` : '';
        throw new GpuUnavailableError(
          `no WebGPU adapter found (no usable GPU driver${why}); without a GPU install Chromium (apt-get install chromium) for its SwiftShader driver, or ${alternative}`,
        );
      }
    } else {
      const probe = probed ?? probeAdapter();
      if (!probe.ok) {
        const loader = chromiumLoaderEnvironment(env);
        if (probe.loaderMissing && loader) throw await rerun(loader);
        throw new GpuUnavailableError(
          `no WebGPU adapter found with the Vulkan driver ${chosen}${probe.reason ? ` (Dawn: ${probe.reason})` : ''}; check that driver or ${alternative}`,
        );
      }
    }
  }
  // Mesa's implicit device-select layer prints "XDG_RUNTIME_DIR is invalid" lines without a
  // desktop session; Dawn picks the adapter itself. The Vulkan loader reads this when Dawn
  // creates its instance, so setting it here is early enough.
  env.NODEVICE_SELECT ??= '1';

  let gpu: GPU;
  try {
    gpu = await nodeGpu();
  } catch (error) {
    throw error instanceof GpuUnavailableError ? missingDawn() : error;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) return gpu;
  // Only a re-run child gets here (the parent's probe succeeded otherwise); its stderr is filtered.
  if (chosen === SWIFTSHADER_ICD) {
    throw new GpuUnavailableError(`no WebGPU adapter found, even with Chromium's SwiftShader (${SWIFTSHADER_ICD}); ${alternative}`);
  }
  if (chosen) throw new GpuUnavailableError(`no WebGPU adapter found with the Vulkan driver ${chosen}; check that driver or ${alternative}`);
  throw new GpuUnavailableError(
    `no WebGPU adapter found (no usable GPU driver); without a GPU install Chromium (apt-get install chromium) for its SwiftShader driver, or ${alternative}`,
  );
}

/** What --backend takes: WebGPU, the CPU, or WebGPU only where a hardware adapter is present. */
export type BackendChoice = 'gpu' | 'cpu' | 'auto';
export const BACKEND_CHOICES = ['gpu', 'cpu', 'auto'] as const;

/**
 * The engine for a --backend choice: WebGPU through acquireGpu (may re-run with SwiftShader),
 * the CPU backend (its fast path), or for 'auto' WebGPU when this environment offers a hardware
 * adapter and the CPU backend otherwise: a software adapter (SwiftShader, llvmpipe/lavapipe, a
 * fallback adapter) emulates the GPU on the CPU, where the fast path is faster for every method
 * (docs/bench).
 */
export async function engineForBackend(backend: BackendChoice): Promise<CamEngine> {
  if (backend === 'cpu') return createCamEngine({ backend: 'cpu' });
  if (backend === 'gpu') return createCamEngine({ gpu: await acquireGpu() });
  // auto: the quiet probe acquireGpu would make, handed on so that it runs once. Without Dawn
  // there is no GPU to use.
  let dawnInstalled = true;
  try {
    import.meta.resolve('webgpu');
  } catch {
    dawnInstalled = false;
  }
  const probe = dawnInstalled ? probeAdapter() : undefined;
  return probe?.ok && !probe.software ? createCamEngine({ gpu: await acquireGpu(undefined, probe) }) : createCamEngine({ backend: 'cpu' });
}
