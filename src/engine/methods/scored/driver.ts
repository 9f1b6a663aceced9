/**
 * What Score-CAM and ClusCAM share on the GPU: they alternate GPU work and model calls, so
 * unlike the other methods they are drivers of several submits (each one a Recorder), with
 * the inputs held in pooled buffers across them.
 */
import type { GpuContext } from '../../gpu/context.js';
import { Recorder, STORAGE_USAGE, type TimingMode } from '../../gpu/recorder.js';
import { writeFloats } from '../../gpu/upload.js';

/** Add one submit's GPU stage times to the call's totals. */
export function addStageMs(total: Record<string, number>, part: Record<string, number>): void {
  for (const [name, ms] of Object.entries(part)) total[name] = (total[name] ?? 0) + ms;
}

/** Pooled buffers that outlive single submits: acquire, upload, release all at the end. */
export class HeldBuffers {
  private readonly held: GPUBuffer[] = [];
  constructor(private readonly gpu: GpuContext) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const buffer = this.gpu.pool.acquire(bytes, STORAGE_USAGE, label);
    this.held.push(buffer);
    return buffer;
  }

  upload(data: Float32Array, label: string): GPUBuffer {
    const buffer = this.acquire(data.byteLength, label);
    writeFloats(this.gpu.device, buffer, data);
    return buffer;
  }

  /** Hand one buffer back early. */
  release(buffer: GPUBuffer): void {
    const i = this.held.indexOf(buffer);
    if (i >= 0) {
      this.held.splice(i, 1);
      this.gpu.pool.release(buffer);
    }
  }

  releaseAll(): void {
    for (const b of this.held.splice(0)) this.gpu.pool.release(b);
  }
}

/**
 * Record with `body` into a fresh recorder, submit, and return its readbacks; stage times are
 * added to `stageMs`. The recorder's temporaries go back to the pool when it completes.
 */
export async function submitRecorded<T>(
  gpu: GpuContext,
  options: { timing?: boolean | TimingMode; label: string; stageMs: Record<string, number> },
  body: (rec: Recorder) => T,
): Promise<{ value: T; readbacks: ArrayBuffer[] }> {
  const rec = new Recorder(gpu, { timing: options.timing, label: options.label });
  let value: T;
  try {
    value = body(rec);
  } catch (error) {
    rec.abandon();
    throw error;
  }
  const { readbacks, stageMs } = await rec.submit();
  addStageMs(options.stageMs, stageMs);
  return { value, readbacks };
}
