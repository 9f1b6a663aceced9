import { BufferUsage, MapMode } from './flags.js';
import type { GpuContext } from './context.js';
import type { Defines, KernelDef } from './pipelines.js';

/** A buffer, or a window of one (ORT rounds buffer sizes up, so bind explicit sizes). */
export type BufferBinding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

/** Uniform scalars, each 4 bytes, laid out in order (WGSL structs of u32/i32/f32 fields). */
export type UniformValue = { u32: number } | { i32: number } | { f32: number };

export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
const MAX_TIMED_STAGES = 128;
const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Split `count` workgroups over x and y so neither exceeds the per-dimension limit.
 * Kernels recover the linear workgroup index as `wid.x + wid.y * nwg.x`.
 */
export function workgroupGrid(count: number): [number, number] {
  const n = Math.max(1, count);
  if (n <= MAX_WORKGROUPS_PER_DIM) return [n, 1];
  const y = Math.ceil(n / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(n / y), y];
}

/** What to time with timestamp queries: nothing, each stage, or each kernel dispatch. */
export type TimingMode = 'off' | 'stage' | 'kernel';

/**
 * The handle a stage's body records into. Kernel modules pass it back to `Recorder.dispatch`;
 * the recorder decides which compute pass the dispatch lands in (one per stage, or one per
 * dispatch when kernels are timed one by one).
 */
export interface StagePass {
  readonly stage: string;
}

export interface SubmitResult {
  /** One ArrayBuffer per `read()` call, in order. */
  readbacks: ArrayBuffer[];
  /**
   * GPU milliseconds per stage name, or per 'stage/kernel' in kernel timing mode (summed over
   * repeats); empty without timestamps.
   */
  stageMs: Record<string, number>;
}

/**
 * Records one whole computation into a single command encoder: each stage is one compute pass
 * (so timestamp queries give per-stage GPU times), temporaries come from the context's pool,
 * readbacks are copies at the end of the same encoder. One submit; nothing is read back in
 * between.
 */
export class Recorder {
  readonly encoder: GPUCommandEncoder;
  private readonly timedNames: string[] = [];
  private readonly timing: TimingMode;
  /** The open compute pass of the current stage (stage timing or no timing). */
  private stagePass?: GPUComputePassEncoder;
  private readonly querySet?: GPUQuerySet;
  private readonly temporaries: GPUBuffer[] = [];
  private readonly uniforms: GPUBuffer[] = [];
  private readonly readbackCopies: { target: GPUBuffer; size: number }[] = [];

  constructor(
    readonly ctx: GpuContext,
    options: { timing?: boolean | TimingMode; label?: string } = {},
  ) {
    // Everything recorded (pipelines, bind groups, commands) is checked at submit: a failure
    // rejects the call with the device's message instead of leaving a readback pending forever.
    ctx.device.pushErrorScope('out-of-memory');
    ctx.device.pushErrorScope('validation');
    this.encoder = ctx.device.createCommandEncoder({ label: options.label ?? 'webgpu-cam' });
    const timing = options.timing === true ? 'stage' : options.timing || 'off';
    this.timing = ctx.timestampQuery ? timing : 'off';
    if (this.timing !== 'off') {
      this.querySet = ctx.device.createQuerySet({ type: 'timestamp', count: 2 * MAX_TIMED_STAGES });
    }
  }

  get device(): GPUDevice {
    return this.ctx.device;
  }

  /** A storage buffer that lives until this recorder's work completes (contents undefined). */
  storage(bytes: number, label: string): GPUBuffer {
    const buffer = this.ctx.pool.acquire(bytes, STORAGE_USAGE, label);
    this.temporaries.push(buffer);
    return buffer;
  }

  /**
   * A storage buffer that can also hold indirect dispatch arguments, filled with `words`
   * (written on the queue, so before this recorder's commands run).
   */
  indirectArgs(words: readonly number[], label: string): GPUBuffer {
    const buffer = this.ctx.pool.acquire(words.length * 4, STORAGE_USAGE | BufferUsage.INDIRECT, label);
    this.temporaries.push(buffer);
    this.device.queue.writeBuffer(buffer, 0, new Uint32Array(words));
    return buffer;
  }

  /** A storage buffer cleared to zero before the next stage. */
  zeroed(bytes: number, label: string): GPUBuffer {
    const buffer = this.storage(bytes, label);
    this.encoder.clearBuffer(buffer);
    return buffer;
  }

  uniform(values: readonly UniformValue[]): GPUBuffer {
    const size = Math.max(16, Math.ceil((values.length * 4) / 16) * 16);
    const buffer = this.device.createBuffer({ size, usage: BufferUsage.UNIFORM, mappedAtCreation: true });
    const view = new DataView(buffer.getMappedRange());
    values.forEach((v, i) => {
      if ('u32' in v) view.setUint32(i * 4, v.u32, true);
      else if ('i32' in v) view.setInt32(i * 4, v.i32, true);
      else view.setFloat32(i * 4, v.f32, true);
    });
    buffer.unmap();
    this.uniforms.push(buffer);
    return buffer;
  }

  /** Begin a compute pass, timed under `name` when timing is on and query slots remain. */
  private beginPass(name: string): GPUComputePassEncoder {
    const index = this.timedNames.length;
    const timed = this.querySet !== undefined && index < MAX_TIMED_STAGES;
    if (timed) this.timedNames.push(name);
    return this.encoder.beginComputePass({
      label: name,
      timestampWrites: timed
        ? { querySet: this.querySet!, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 }
        : undefined,
    });
  }

  /** Record one stage: its dispatches share one compute pass (or get one each in kernel timing). */
  stage(name: string, body: (pass: StagePass) => void): void {
    if (this.timing !== 'kernel') this.stagePass = this.beginPass(name);
    try {
      body({ stage: name });
    } finally {
      this.stagePass?.end();
      this.stagePass = undefined;
    }
  }

  /** Bind `resources` in binding order and dispatch `kernel` compiled with `defines`. */
  dispatch(
    pass: StagePass,
    kernel: KernelDef,
    defines: Defines,
    resources: readonly BufferBinding[],
    workgroups: readonly [number, number?, number?],
  ): void {
    this.inPass(pass, kernel, (gpuPass) => {
      this.bind(gpuPass, kernel, defines, resources);
      gpuPass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
    });
  }

  /** Like dispatch, with the workgroup counts read on the GPU from `args` at `offset` (3 u32). */
  dispatchIndirect(
    pass: StagePass,
    kernel: KernelDef,
    defines: Defines,
    resources: readonly BufferBinding[],
    args: GPUBuffer,
    offset = 0,
  ): void {
    this.inPass(pass, kernel, (gpuPass) => {
      this.bind(gpuPass, kernel, defines, resources);
      gpuPass.dispatchWorkgroupsIndirect(args, offset);
    });
  }

  private inPass(pass: StagePass, kernel: KernelDef, record: (gpuPass: GPUComputePassEncoder) => void): void {
    if (this.stagePass) {
      record(this.stagePass);
      return;
    }
    if (this.timing !== 'kernel') throw new Error(`${kernel.name}: dispatch outside a stage`);
    const own = this.beginPass(`${pass.stage}/${kernel.name}`);
    record(own);
    own.end();
  }

  private bind(pass: GPUComputePassEncoder, kernel: KernelDef, defines: Defines, resources: readonly BufferBinding[]): void {
    if (resources.length !== kernel.bindings.length) {
      throw new Error(`${kernel.name}: ${resources.length} resources for ${kernel.bindings.length} bindings`);
    }
    const { pipeline, layout } = this.ctx.pipelines.get(kernel, defines);
    const bindGroup = this.device.createBindGroup({
      label: kernel.name,
      layout,
      entries: resources.map((r, binding) => ({
        binding,
        resource: 'buffer' in r ? { buffer: r.buffer, offset: r.offset ?? 0, size: r.size } : { buffer: r },
      })),
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
  }

  /** Copy `size` bytes of `source` out at the end of this encoder; returns the readback index. */
  read(source: GPUBuffer, size: number, offset = 0): number {
    const target = this.device.createBuffer({
      size: Math.ceil(size / 4) * 4,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
    this.encoder.copyBufferToBuffer(source, offset, target, 0, Math.ceil(size / 4) * 4);
    this.readbackCopies.push({ target, size });
    return this.readbackCopies.length - 1;
  }

  /** Submit everything and wait for readbacks and timings. Temporaries return to the pool. */
  async submit(): Promise<SubmitResult> {
    let timingBuffer: GPUBuffer | undefined;
    const timedStages = this.timedNames.length;
    if (this.querySet && timedStages > 0) {
      const resolve = this.device.createBuffer({
        size: 16 * timedStages,
        usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
      });
      this.encoder.resolveQuerySet(this.querySet, 0, 2 * timedStages, resolve, 0);
      timingBuffer = this.device.createBuffer({ size: 16 * timedStages, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      this.encoder.copyBufferToBuffer(resolve, 0, timingBuffer, 0, 16 * timedStages);
      this.uniforms.push(resolve);
    }
    this.device.queue.submit([this.encoder.finish()]);
    const validation = await this.device.popErrorScope();
    const memory = await this.device.popErrorScope();
    const error = validation ?? memory;
    if (error) {
      this.releaseAll();
      for (const { target } of this.readbackCopies) target.destroy();
      timingBuffer?.destroy();
      throw new Error(`WebGPU error: ${error.message}`);
    }
    try {
      const readbacks = await Promise.all(
        this.readbackCopies.map(async ({ target, size }) => {
          await target.mapAsync(MapMode.READ);
          const copy = target.getMappedRange(0, Math.ceil(size / 4) * 4).slice(0, size);
          target.destroy();
          return copy;
        }),
      );
      const stageMs: Record<string, number> = {};
      if (timingBuffer) {
        await timingBuffer.mapAsync(MapMode.READ);
        const ticks = new BigInt64Array(timingBuffer.getMappedRange());
        for (let i = 0; i < timedStages; i++) {
          const ms = Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6;
          const name = this.timedNames[i];
          stageMs[name] = (stageMs[name] ?? 0) + (Number.isFinite(ms) && ms > 0 ? ms : 0);
        }
        timingBuffer.destroy();
      }
      return { readbacks, stageMs };
    } finally {
      this.releaseAll();
    }
  }

  /** Hand temporaries back without submitting (used when encoding fails). */
  abandon(): void {
    void this.device.popErrorScope();
    void this.device.popErrorScope();
    this.releaseAll();
  }

  private releaseAll(): void {
    this.querySet?.destroy();
    for (const u of this.uniforms) u.destroy();
    for (const t of this.temporaries) this.ctx.pool.release(t);
  }
}
