/**
 * The demo's colour map: OpenCV's COLORMAP_JET exactly (the table generated from cv2 in
 * src/engine/jet-table.ts), quantised like `np.uint8(255 * v)`, as the reference overlay does.
 */
export { colorizeJet, jetColor } from '../engine/overlay.js';
