/**
 * Sharding a folder job over the tasks of an array job: shard i of n takes the i-th contiguous
 * block of the sorted inputs (block sizes differ by at most one), so every task computes the
 * same split from the same listing without talking to the others.
 *
 * Where the shard comes from, first match wins:
 *   1. `--shard i/n` (0-based);
 *   2. Slurm job arrays: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN (arrays may start at 1),
 *      SLURM_ARRAY_TASK_STEP (`--array=0-30:10`) and SLURM_ARRAY_TASK_COUNT;
 *   3. Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX, with the count from `--shard-count` or
 *      WEBGPU_CAM_SHARD_COUNT (Kubernetes sets no count variable; use the Job's completions);
 *   4. otherwise the whole input is one shard (0/1).
 */
import { UsageError } from '../args.js';

export interface Shard {
  index: number;
  count: number;
  /** Where the shard came from, for the summary line. */
  source: 'flag' | 'slurm' | 'kubernetes' | 'none';
}

function wholeNumber(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${what} must be a whole number, got '${text}'`);
  return Number(text.trim());
}

function checked(index: number, count: number, source: Shard['source'], what: string): Shard {
  if (count < 1) throw new UsageError(`${what}: the shard count must be at least 1, got ${count}`);
  if (index >= count) throw new UsageError(`${what}: shard index ${index} is not below the shard count ${count} (indices are 0-based)`);
  return { index, count, source };
}

/** `i/n` from `--shard`. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new UsageError(`--shard takes i/n (shard i of n, 0-based), got '${text}'`);
  return checked(Number(match[1]), Number(match[2]), 'flag', `--shard ${text}`);
}

/** The shard from the flags, else from the scheduler's environment (see the module comment). */
export function resolveShard(flags: { shard?: string; shardCount?: number }, env: NodeJS.ProcessEnv = process.env): Shard {
  if (flags.shard !== undefined) {
    if (flags.shardCount !== undefined) throw new UsageError('give --shard i/n or --shard-count N, not both');
    return parseShard(flags.shard);
  }
  const slurmId = wholeNumber(env.SLURM_ARRAY_TASK_ID, 'SLURM_ARRAY_TASK_ID');
  if (slurmId !== undefined) {
    const count = wholeNumber(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT');
    if (count === undefined) throw new UsageError('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: give --shard i/n');
    const min = wholeNumber(env.SLURM_ARRAY_TASK_MIN, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const step = wholeNumber(env.SLURM_ARRAY_TASK_STEP, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    const offset = slurmId - min;
    if (offset < 0 || step < 1 || offset % step !== 0) {
      throw new UsageError(`Slurm array task ${slurmId} (min ${min}, step ${step}) is not on a regular range: use --array=A-B[:S], or give --shard i/n`);
    }
    const count2 = flags.shardCount ?? count;
    return checked(offset / step, count2, 'slurm', `Slurm array task ${slurmId}`);
  }
  const k8sIndex = wholeNumber(env.JOB_COMPLETION_INDEX, 'JOB_COMPLETION_INDEX');
  if (k8sIndex !== undefined) {
    const count = flags.shardCount ?? wholeNumber(env.WEBGPU_CAM_SHARD_COUNT, 'WEBGPU_CAM_SHARD_COUNT');
    if (count === undefined) {
      throw new UsageError('JOB_COMPLETION_INDEX is set but the shard count is not: give --shard-count N or WEBGPU_CAM_SHARD_COUNT (the Job\'s completions)');
    }
    return checked(k8sIndex, count, 'kubernetes', `JOB_COMPLETION_INDEX=${k8sIndex}`);
  }
  if (flags.shardCount !== undefined) throw new UsageError('--shard-count needs a shard index: JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, or give --shard i/n');
  return { index: 0, count: 1, source: 'none' };
}

/** Shard `index` of `count`: the half-open range [start, end) of the sorted inputs. */
export function shardRange(total: number, shard: Pick<Shard, 'index' | 'count'>): { start: number; end: number } {
  const start = Math.floor((shard.index * total) / shard.count);
  const end = Math.floor(((shard.index + 1) * total) / shard.count);
  return { start, end };
}
