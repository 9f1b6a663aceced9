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
import { nodeGpu, SWIFTSHADER_ICD, swiftshaderEnvironment } from '../engine/gpu/node.js';
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

/**
 * Whether Dawn finds an adapter with the registered drivers, asked in a child process whose
 * output is discarded: registered drivers without their hardware (Mesa's Intel and Radeon
 * drivers on a server) or ones Dawn rejects (Mesa's lavapipe) make Dawn print multi-line
 * warnings, which must not reach the user when SwiftShader is there to fall back on.
 */
function adapterProbeSucceeds(): boolean {
  const dawn = import.meta.resolve('webgpu');
  const probe = `import { create } from ${JSON.stringify(dawn)};
const gpu = create([]);
const adapter = await gpu.requestAdapter();
process.exit(adapter ? 0 : 3);`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { stdio: 'ignore', timeout: 30_000 });
  return result.status === 0;
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
      stdio: 'inherit',
      env: { ...process.env, ...extraEnv, [REEXEC_VAR]: '1' },
    });
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
 * May instead throw an ExitRequest (the command ran in a SwiftShader child) or a
 * GpuUnavailableError whose message says what to do; `alternative` names the CPU fallback.
 */
export async function acquireGpu(alternative = 'use --backend cpu'): Promise<GPU> {
  // Dawn is an optional peer dependency of the package: say how to get it, in CLI terms.
  const missingDawn = () => new GpuUnavailableError(`Dawn, the optional \`webgpu\` package, is not installed; npm install webgpu, or ${alternative}`);
  try {
    import.meta.resolve('webgpu');
  } catch {
    throw missingDawn();
  }
  const env = process.env;
  const swiftshader = swiftshaderEnvironment(env);
  const mayRestart = swiftshader !== null && !env[REEXEC_VAR];
  if (mayRestart && !(vulkanDriverRegistered(env) && adapterProbeSucceeds())) throw await rerun(swiftshader);

  let gpu: GPU;
  try {
    gpu = await nodeGpu();
  } catch (error) {
    throw error instanceof GpuUnavailableError ? missingDawn() : error;
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) return gpu;
  if (mayRestart) throw await rerun(swiftshader);

  if (env[REEXEC_VAR] && env.VK_ICD_FILENAMES === SWIFTSHADER_ICD) {
    throw new GpuUnavailableError(`no WebGPU adapter found, even with Chromium's SwiftShader (${SWIFTSHADER_ICD}); ${alternative}`);
  }
  const chosen = env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES;
  if (chosen) throw new GpuUnavailableError(`no WebGPU adapter found with the Vulkan driver ${chosen}; check that driver or ${alternative}`);
  throw new GpuUnavailableError(
    `no WebGPU adapter found (no usable GPU driver); without a GPU install Chromium (apt-get install chromium) for its SwiftShader driver, or ${alternative}`,
  );
}

/** The engine for a --backend choice: WebGPU through acquireGpu (may re-run with SwiftShader), or the CPU reference. */
export async function engineForBackend(backend: 'gpu' | 'cpu'): Promise<CamEngine> {
  return backend === 'gpu' ? createCamEngine({ gpu: await acquireGpu() }) : createCamEngine({ backend: 'cpu' });
}
