/**
 * Reuses storage buffers between calls: real-time callers explain frame after frame with the
 * same shapes, and creating buffers every frame costs more than the kernels at small sizes.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly all = new Set<GPUBuffer>();

  constructor(private readonly device: GPUDevice) {}

  acquire(size: number, usage: GPUBufferUsageFlags, label = 'webgpu-cam'): GPUBuffer {
    const rounded = Math.max(16, Math.ceil(size / 16) * 16);
    const key = `${rounded}:${usage}`;
    const reused = this.free.get(key)?.pop();
    if (reused) return reused;
    const buffer = this.device.createBuffer({ size: rounded, usage, label });
    this.all.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.all.has(buffer)) return;
    const key = `${buffer.size}:${buffer.usage}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
  }

  /** Bytes held by the pool (in use or free). */
  get bytes(): number {
    let total = 0;
    for (const b of this.all) total += b.size;
    return total;
  }

  destroyAll(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.free.clear();
  }
}
