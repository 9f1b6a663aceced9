/**
 * One explanation as a web page uses it: the map as a Float32Array (a copy, on demand), as a
 * GPUBuffer and a GPUTexture on the explainer's device (made on first use, for viewers that
 * render with WebGPU), coloured into ImageData, drawn over a canvas, or saved as .npy.
 */
import { colorize, type ColorizeOptions } from '../display/colormaps.js';
import { DisposedError, InvalidOptionError } from '../errors.js';
import { BufferUsage } from '../gpu/flags.js';
import { encodeNpy } from '../io/npy.js';
import type { GpuContext } from '../gpu/context.js';
import { colorizeToTexture } from '../display/colorize-kernel.js';
import type { ClassScore, Explanation } from '../model/explainer.js';
import type { CfcamDetails, CluscamDetails } from '../types.js';
import type { CamMethod } from '../methods/registry.js';
import type { Region } from './sources.js';
import { TextureUsage } from '../gpu/flags.js';


export interface DrawOverlayOptions extends ColorizeOptions {
  /**
   * Where the map goes on the canvas, in canvas pixels (default: the whole canvas). A viewer
   * passes the on-screen rectangle of the image region that was explained.
   */
  region?: Region;
  /** Clear the canvas first (default false: the overlay is composited over what is there). */
  clear?: boolean;
  /** Show Soft-CAM's signed evidence (default: true with the 'diverging' colour map when there is one). */
  signed?: boolean;
}

/** What a browser result holds: the model explainer's Explanation plus the method and region. */
export interface ExplanationData extends Omit<Explanation, 'timings'> {
  method: CamMethod;
  /** The source rectangle that was explained (source pixels). */
  region: Region;
  timings: Explanation['timings'] & { totalMs: number };
}

export class CamExplanation {
  private gpuBuffer?: GPUBuffer;
  private gpuTexture?: GPUTexture;
  private disposed = false;

  private readonly colorTextures: GPUTexture[] = [];

  constructor(
    private readonly data: ExplanationData,
    private readonly gpu: GpuContext | undefined,
    private readonly onDispose: (result: CamExplanation) => void,
  ) {}

  private get device(): GPUDevice | undefined {
    return this.gpu?.device;
  }

  get method(): CamMethod {
    return this.data.method;
  }
  get classIndex(): number {
    return this.data.classIndex;
  }
  get className(): string | undefined {
    return this.data.className;
  }
  get top5(): ClassScore[] {
    return this.data.top5;
  }
  get width(): number {
    return this.data.width;
  }
  get height(): number {
    return this.data.height;
  }
  get region(): Region {
    return this.data.region;
  }
  get timings(): ExplanationData['timings'] {
    return this.data.timings;
  }
  /** GPU milliseconds per stage of the CAM step (GPU engine with timestamp queries). */
  get stageMs(): Record<string, number> {
    return this.data.stageMs;
  }
  get cfcam(): CfcamDetails | undefined {
    return this.data.cfcam;
  }
  get cluscam(): CluscamDetails | undefined {
    return this.data.cluscam;
  }
  /** Soft-CAM: the class-evidence map A_c at the layer's resolution, signed (its mean is the class logit); a copy. */
  get evidence(): { data: Float32Array; height: number; width: number } | undefined {
    const e = this.data.evidence;
    return e && { data: e.data.slice(), height: e.height, width: e.width };
  }

  /** Whether the map has a signed version (Soft-CAM's evidence). */
  get signed(): boolean {
    return this.data.signedMap !== undefined;
  }

  private gpuDevice(what: string): GPUDevice {
    if (this.disposed) throw new DisposedError(`${what}: this explanation's GPU resources were freed (by its dispose() or its explainer's); its host data is still readable`);
    if (!this.device) throw new InvalidOptionError(`${what} needs WebGPU; this explainer runs on the CPU reference (use toFloat32Array())`);
    return this.device;
  }

  /** A copy of the map, [height * width] row-major, values in [0, 1]. */
  toFloat32Array(): Float32Array {
    return this.data.map.slice();
  }

  /** A copy of the signed map (Soft-CAM), or undefined for other methods. */
  signedFloat32Array(): Float32Array | undefined {
    return this.data.signedMap?.slice();
  }

  /** The map as an `.npy` file (float32, shape [height, width]); `signed` picks Soft-CAM's signed map. */
  toNpy(signed = false): Uint8Array {
    const values = signed ? this.data.signedMap : this.data.map;
    if (!values) throw new InvalidOptionError(`method ${this.method} has no signed map`);
    return encodeNpy(values, [this.height, this.width]);
  }

  /** The map in a storage buffer (float32 [height * width]) of the explainer's device; freed by dispose(). */
  get buffer(): GPUBuffer {
    const device = this.gpuDevice('result.buffer');
    if (!this.gpuBuffer) {
      this.gpuBuffer = device.createBuffer({
        label: `${this.method} map`,
        size: this.data.map.byteLength,
        usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(this.gpuBuffer, 0, this.data.map as Float32Array<ArrayBuffer>);
    }
    return this.gpuBuffer;
  }

  /**
   * The map as an `r32float` texture (width x height) of the explainer's device, for
   * `textureLoad` in a viewer's shaders; freed by dispose().
   */
  get texture(): GPUTexture {
    const device = this.gpuDevice('result.texture');
    if (!this.gpuTexture) {
      this.gpuTexture = device.createTexture({
        label: `${this.method} map`,
        size: [this.width, this.height],
        format: 'r32float',
        usage: TextureUsage.TEXTURE_BINDING | TextureUsage.COPY_SRC | TextureUsage.COPY_DST,
      });
      device.queue.writeTexture({ texture: this.gpuTexture }, this.data.map as Float32Array<ArrayBuffer>, { bytesPerRow: this.width * 4 }, [this.width, this.height]);
    }
    return this.gpuTexture;
  }

  /** Whether to colour the signed map: as asked, else for Soft-CAM shown in the diverging colour map. */
  private showsSigned(options: DrawOverlayOptions): boolean {
    return options.signed ?? (this.data.signedMap !== undefined && options.colormap === 'diverging');
  }

  /**
   * The coloured map as an `rgba8unorm` texture (map resolution, straight alpha = opacity, 0
   * below the threshold), coloured on the GPU by the colorize kernel with the same tables and
   * rules as toImageData(); a new texture per call, freed by dispose().
   */
  async colorTexture(options: DrawOverlayOptions = {}): Promise<GPUTexture> {
    const signed = this.showsSigned(options);
    const gpu = this.gpu;
    this.gpuDevice('result.colorTexture()');
    if (signed && !this.data.signedMap) throw new InvalidOptionError(`method ${this.method} has no signed map; signed overlays are for softcam`);
    let source = this.buffer;
    let temporary: GPUBuffer | undefined;
    if (signed) {
      temporary = gpu!.device.createBuffer({ size: this.data.signedMap!.byteLength, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
      gpu!.device.queue.writeBuffer(temporary, 0, this.data.signedMap as Float32Array<ArrayBuffer>);
      source = temporary;
    }
    try {
      const { region: _region, clear: _clear, ...colour } = options;
      const texture = await colorizeToTexture(gpu!, source, { ...colour, signed, width: this.width, height: this.height });
      this.colorTextures.push(texture);
      return texture;
    } finally {
      temporary?.destroy();
    }
  }

  /** The coloured map as ImageData (map resolution), with the colour map, opacity, threshold and contour asked for. */
  toImageData(options: DrawOverlayOptions = {}): ImageData {
    const signed = this.showsSigned(options);
    const values = signed ? this.data.signedMap : this.data.map;
    if (!values) throw new InvalidOptionError(`method ${this.method} has no signed map; signed overlays are for softcam`);
    const rgba = colorize(values, this.width, this.height, { ...options, signed });
    return new ImageData(new Uint8ClampedArray(rgba), this.width, this.height);
  }

  /**
   * Draw the coloured map over `canvas` (its 2D context), scaled into `options.region` (canvas
   * pixels; default the whole canvas) with the browser's smoothing. The map's alpha is the
   * opacity (0 below the threshold), so what is already on the canvas shows through.
   */
  drawOverlay(canvas: HTMLCanvasElement | OffscreenCanvas, options: DrawOverlayOptions = {}): void {
    const heat = this.toImageData(options);
    const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
    if (!ctx) throw new InvalidOptionError('drawOverlay needs a canvas with a 2D context (this one already has another kind)');
    const layer = new OffscreenCanvas(this.width, this.height);
    layer.getContext('2d')!.putImageData(heat, 0, 0);
    const r = options.region ?? { x: 0, y: 0, width: canvas.width, height: canvas.height };
    if (options.clear) ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.save();
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(layer, r.x, r.y, r.width, r.height);
    ctx.restore();
  }

  /**
   * Free the GPU buffer and texture (if made); `buffer` and `texture` throw afterwards, the host
   * data (toFloat32Array, drawOverlay, ...) stays readable. Idempotent.
   */
  dispose(): void {
    if (this.disposed) return;
    this.releaseGpu();
    this.onDispose(this);
  }

  /** dispose() without telling the explainer (it calls this while it disposes itself). */
  releaseGpu(): void {
    this.disposed = true;
    this.gpuBuffer?.destroy();
    this.gpuTexture?.destroy();
    for (const texture of this.colorTextures.splice(0)) texture.destroy();
    this.gpuBuffer = undefined;
    this.gpuTexture = undefined;
  }
}
