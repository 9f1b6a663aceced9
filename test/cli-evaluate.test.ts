/**
 * `webgpu-cam evaluate` (the built CLI, dist/node) on a small folder scored by the tiny fixture
 * CNN (test/fixtures/metrics): the table, the JSON and HTML reports, a quiet stderr when it is
 * not a terminal, option errors; and the progress bar on a terminal.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProgressBar } from '../src/cli/evaluate-report';
import { trapezoidAuc } from '../src/engine/metrics/index';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin/webgpu-cam.js');
const MODEL = path.join(ROOT, 'test/fixtures/metrics/tiny-cnn.onnx');

function cli(...args: string[]) {
  if (!existsSync(path.join(ROOT, 'dist/node/cli.js'))) throw new Error('dist/node/cli.js is missing: run `npm run build` first');
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env });
}

function folder(withBoxes: boolean): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'webgpu-cam-evaluate-'));
  for (const f of ['sample-0.png', 'sample-1.png']) copyFileSync(path.join(ROOT, 'models/digits/samples', f), path.join(dir, f));
  if (withBoxes) copyFileSync(path.join(ROOT, 'models/digits/samples/boxes.json'), path.join(dir, 'boxes.json'));
  return dir;
}

const FAST = ['--model', MODEL, '--steps', '10', '--road-percentiles', '50', '--gradient-noise', '1', '--input-noise', '0.1'];

describe('webgpu-cam evaluate', () => {
  it('scores a folder: summary table on stdout, JSON and HTML reports, nothing on stderr off a terminal', () => {
    const dir = folder(true);
    const out = path.join(dir, 'report.json');
    const run = cli('evaluate', '--images', dir, '--methods', 'gradcam,cfcam', ...FAST, '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^method\s+AD%/m);
    expect(run.stdout).toMatch(/^gradcam\s/m);
    expect(run.stdout).toMatch(/^cfcam\s/m);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.images).toBe(2);
    for (const label of ['gradcam', 'cfcam']) {
      const s = report.summary[label];
      expect(s.images).toBe(2);
      expect(s.deletionAuc).toBeGreaterThanOrEqual(0);
      expect(s.insertionAuc).toBeLessThanOrEqual(1);
      expect(s.deletionCurve).toHaveLength(11);
      expect(s.pointingGame).toBeGreaterThanOrEqual(0);
      expect(s.gradientSsim).toHaveLength(1);
      // AD 3, deletion + insertion 22, ROAD 2, confidence change 1.
      expect(s.modelRunsPerImage).toBe(28);
      for (const image of report.perImage[label]) {
        expect(image.deletionInsertion.deletion.auc).toBeCloseTo(trapezoidAuc(image.deletionInsertion.deletion.curve), 4);
        expect(image.deletionInsertion.deletion.curve[0]).toBeCloseTo(image.baseProbability, 4);
      }
    }
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html.match(/data:image\/png;base64,/g)).toHaveLength(4);
  });

  it('skips the pointing game without boxes unless asked, and refuses bad options with one line and exit 2', () => {
    const dir = folder(false);
    const run = cli('evaluate', '--images', dir, '--methods', 'gradcam', '--metrics', 'average-drop,confidence-change', '--model', MODEL);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(/PG%/);
    const bad = [
      [['--metrics', 'pointing-game'], /pointing-game needs boxes/],
      [['--metrics', 'accuracy'], /unknown metric 'accuracy'/],
      [['--methods', 'nocam'], /unknown method 'nocam'/],
      [['--deletion-baseline', 'grey'], /unknown deletion-baseline 'grey'; choose one of zero, blur, mean, black/],
      [['--road-percentiles', '0,100'], /--road-percentiles must lie in \(0, 100\)/],
    ] as const;
    for (const [args, pattern] of bad) {
      const r = cli('evaluate', '--images', dir, '--model', MODEL, ...args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });
});

describe('the progress bar', () => {
  it('draws in place on a terminal and says nothing otherwise', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const bar = new ProgressBar(4, tty);
    bar.update(1, 'a.png gradcam');
    bar.update(4, 'done');
    bar.finish();
    expect(written[0]).toMatch(/^\r\[#{8}-{22}\] 1\/4 a\.png gradcam/);
    expect(written[1]).toMatch(/^\r\[#{30}\] 4\/4 done/);
    expect(written[2]).toBe('\n');
    const quiet: string[] = [];
    const pipe = { isTTY: false, write: (s: string) => quiet.push(s) } as unknown as NodeJS.WriteStream;
    const silent = new ProgressBar(4, pipe);
    silent.update(2, 'x');
    silent.finish();
    expect(quiet).toEqual([]);
  });
});
