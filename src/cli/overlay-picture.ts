/** The overlay picture `explain` writes, for one image and for folder jobs alike. */
import { overlay, type Colormap, type RgbaImage } from '../engine/index.js';
import { colormapOverlay } from '../engine/display/colormaps.js';

export interface OverlayChoice {
  colormap: Colormap;
  opacity: number;
  /** Soft-CAM's signed evidence (values not in [0,1]). */
  signed: boolean;
}

/** The map (at the model's input size) over the image, at the image's size. */
export function overlayPicture(image: RgbaImage, map: { width: number; height: number; data: Float32Array }, choice: OverlayChoice): RgbaImage {
  // JET on the [0,1] map is the reference's exact blend; the other maps composite colorize's layer.
  return choice.colormap === 'jet' && !choice.signed
    ? overlay(image, map, { opacity: choice.opacity })
    : colormapOverlay(image, map, { colormap: choice.colormap, opacity: choice.opacity, signed: choice.signed });
}
