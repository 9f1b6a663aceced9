/**
 * What the benchmark scripts (bench/run.mjs, bench/scaling.mjs) share: running a command that
 * prints one JSON object, and whether the Python reference can be timed here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const python = '/usr/bin/python3';

/** Whether /usr/bin/python3 has torch and scikit-learn (what bench/python_reference.py needs). */
export function pythonReferenceAvailable() {
  if (!existsSync(python)) return false;
  return spawnSync(python, ['-c', 'import torch, sklearn'], { stdio: 'ignore' }).status === 0;
}

/** Runs `command args` in the repository root and parses its stdout as JSON; throws with stderr on failure. */
export function runJson(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}
