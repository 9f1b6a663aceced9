/**
 * examples/kubernetes/job.yaml, run as Kubernetes would run it: the container command and env
 * are read from the YAML, the volume's mountPath is mapped to a temporary folder, and one
 * process per completion index runs at once with JOB_COMPLETION_INDEX set (as the Indexed Job
 * controller sets it). The pods together must leave one merged manifest with every image once.
 * (The Slurm example runs on a real Slurm in scripts/slurm-test.sh.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { parseYamlSubset } from './helpers/yaml-subset';
import { writeJobImages } from './helpers/job-images';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = path.join(ROOT, 'bin', 'webgpu-cam.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-k8s-'));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Container {
  command: string[];
  args?: string[];
  env?: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string }[];
}

function runPod(command: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

it('the Indexed Job: every completion index explains its shard and the last one merges', async () => {
  const job = parseYamlSubset(readFileSync(path.join(ROOT, 'examples', 'kubernetes', 'job.yaml'), 'utf8')) as {
    kind: string;
    spec: { completionMode: string; completions: number; parallelism: number; template: { spec: { containers: Container[] } } };
  };
  expect(job.kind).toBe('Job');
  expect(job.spec.completionMode).toBe('Indexed');
  const completions = job.spec.completions;
  expect(completions).toBeGreaterThan(1);
  const [container] = job.spec.template.spec.containers;
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, String(e.value)]));
  // Kubernetes has no count variable: the YAML must give the same count as completions.
  expect(env.WEBGPU_CAM_SHARD_COUNT).toBe(String(completions));

  // The volume, here; the container's `webgpu-cam` is this checkout's launcher.
  const [mount] = container.volumeMounts;
  const data = path.join(tmp, 'data');
  const command = [...container.command, ...(container.args ?? [])].map((arg) => (arg.startsWith(mount.mountPath) ? data + arg.slice(mount.mountPath.length) : arg));
  expect(command[0]).toBe('webgpu-cam');
  const images = command[command.indexOf('--images') + 1];
  const out = command[command.indexOf('--out-dir') + 1];
  writeJobImages(images, 10, 48);
  writeFileSync(path.join(images, 'broken.png'), 'not an image');

  const pods = Array.from({ length: completions }, (_, index) =>
    runPod([process.execPath, LAUNCHER, ...command.slice(1)], { ...process.env, ...env, JOB_COMPLETION_INDEX: String(index) }),
  );
  const results = await Promise.all(pods);
  for (const r of results) expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  results.forEach((r, index) => expect(r.stdout).toMatch(new RegExp(`^shard ${index}/${completions} \\(from Kubernetes\\)`)));
  expect(results.some((r) => r.stdout.includes(`merged ${completions} shards: 11 images (1 failed)`)), results.map((r) => r.stdout).join('\n')).toBe(true);

  const lines = readFileSync(path.join(out, 'manifest.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((r) => r.file)).toEqual(readdirSync(images).sort());
  expect(lines.filter((r) => r.status === 'error').map((r) => r.file)).toEqual(['broken.png']);

  // A pod retried after it finished (backoffLimitPerIndex) finds its shard done.
  const retry = await runPod([process.execPath, LAUNCHER, ...command.slice(1)], { ...process.env, ...env, JOB_COMPLETION_INDEX: '1' });
  expect(retry.code, retry.stderr).toBe(0);
  expect(retry.stdout).toMatch(/explained, 0 failed, \d+ already done/);
});
