/**
 * The demo's colour maps. JET is OpenCV's COLORMAP_JET exactly (the table generated from cv2 in
 * src/engine/jet-table.ts), quantised like `np.uint8(255 * v)`, as the reference overlay does;
 * turbo / viridis / inferno / diverging, opacity, threshold, contours and compositing come from
 * src/engine/colormaps.ts.
 */
export { colorizeJet, jetColor } from '../engine/display/overlay.js';
export {
  COLORMAPS,
  COLORMAP_TABLES,
  blendOver,
  colorize,
  type Colormap,
  type ColorizeOptions,
  type ContourOptions,
} from '../engine/display/colormaps.js';
