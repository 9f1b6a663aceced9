/** The CAM methods the engine implements (GPU and CPU reference). */
export const CAM_METHODS = ['cfcam', 'gradcam', 'gradcampp', 'xgradcam', 'layercam', 'hirescam', 'eigencam'] as const;
export type CamMethod = (typeof CAM_METHODS)[number];

/** Methods that need no gradients. */
export const GRADIENT_FREE_METHODS: ReadonlySet<CamMethod> = new Set(['eigencam']);

/** Shape of one call: B images of C channels of H x W, maps out at outHeight x outWidth. */
export interface CamShape {
  batch: number;
  channels: number;
  height: number;
  width: number;
  outHeight: number;
  outWidth: number;
}

/** CF-CAM filter variant: the reference code's one-kernel filter, or a true bilateral filter. */
export type CfcamMode = 'reference' | 'bilateral';

/** Parameters of mode `bilateral` (OpenCV cv2.bilateralFilter semantics). */
export interface BilateralParams {
  /** Window diameter; <= 0 derives the radius from sigmaSpace as OpenCV does. */
  d: number;
  sigmaColor: number;
  sigmaSpace: number;
}

export const DEFAULT_BILATERAL: BilateralParams = { d: 5, sigmaColor: 0.1, sigmaSpace: 5.0 };

export interface CamOptions {
  mode?: CfcamMode;
  bilateral?: Partial<BilateralParams>;
  /**
   * CF-CAM on the GPU: images whose C x C distance matrices are held at once (default: as many
   * as fit the device's binding size, at most 512 MiB). Lower it to save GPU memory.
   */
  cfcamChunkImages?: number;
  /** Power-iteration steps for Eigen-CAM on the GPU. */
  eigenIterations?: number;
}

/** Host-side tensors for one call, float32, C-order [B,C,H,W]. */
export interface CamInput {
  shape: CamShape;
  activations: Float32Array;
  /** Required by every method but Eigen-CAM. */
  gradients?: Float32Array;
}

/** CF-CAM details for each image of a batch. */
export interface CfcamDetails {
  /** [B*C] int32: -2 important, -1 noise, k cluster id. */
  labels: Int32Array;
  /** [B*C] pre-softmax weights, 0 where dropped (noise). */
  weights: Float32Array;
  eps: Float32Array;
  normThreshold: Float32Array;
  minSamples: Int32Array;
  clusters: Int32Array;
  important: Int32Array;
  noise: Int32Array;
}

export interface CamResult {
  shape: CamShape;
  /** [B, outHeight, outWidth] float32 in [0,1]. */
  maps: Float32Array;
  cfcam?: CfcamDetails;
}
