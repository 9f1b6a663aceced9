/**
 * The engine's data types. Method names (CamMethod, CAM_METHODS) and capabilities come from the
 * method registry (methods/registry.ts), where each method is declared.
 */
import type { TimingMode } from './gpu/recorder.js';

/**
 * Runs the model on masked copies of its input: what Score-CAM and ClusCAM need besides the
 * activations. The model pipeline (ModelExplainer) provides it; tests can provide any function.
 */
export interface MaskedScorer {
  /** The normalised model inputs [B, 3, outHeight, outWidth] (the masks are made at this size). */
  inputs: Float32Array;
  /** The class explained, per image. */
  classIndices: Int32Array;
  /** f_c(x): the class logit of each unmasked image (ClusCAM subtracts it). */
  baseLogits: Float32Array;
  /**
   * Class logits f_c of `count` masked copies of image `image`: `masked` is [count, 3, H, W],
   * the result holds `count` logits of class `classIndices[image]`.
   */
  score(masked: Float32Array, count: number, image: number): Promise<Float32Array>;
}

/** ClusCAM parameters (see shared/spec/cluscam.md). */
export interface CluscamOptions {
  /** Number of clusters K (default 10). */
  clusters?: number;
  /** Fraction r of the K clusters with the lowest logit change that are dropped (default 0.5). */
  dropRatio?: number;
  /** Softmax temperature tau (default 0.5). */
  temperature?: number;
  /** Seed of the K-Means++ seeding (default 0); the CPU reference draws the same numbers (seeds bit-identical on SwiftShader; a GPU that fuses multiply-adds can differ in a near tie). */
  seed?: number;
  /** K-Means++ initialisations; the one with the lowest inertia is kept (default 3). */
  inits?: number;
  /** Lloyd iterations at most (default 300); they stop earlier when no assignment changes. */
  maxIterations?: number;
  /** Explicit initial centroids as channel indices (length K), instead of K-Means++ seeding. */
  seedChannels?: readonly number[];
}

export interface CluscamDetails {
  /** [B*K] channel index of each initial centroid of the kept initialisation. */
  seedChannels: Int32Array;
  /** [B*C] cluster of each channel. */
  assignments: Int32Array;
  /** [B*K] f_c(x * M_k) - f_c(x). */
  deltas: Float32Array;
  /** [B*K] softmax weights (0 for dropped clusters). */
  alphas: Float32Array;
  /** [B] Lloyd iterations run and final inertia. */
  iterations: Int32Array;
  inertia: Float32Array;
}

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
  /** Score-CAM / ClusCAM: masked copies scored per model call (default 16). */
  scoreBatchSize?: number;
  cluscam?: CluscamOptions;
}

/** Host-side tensors for one call, float32, C-order [B,C,H,W]. */
export interface CamInput {
  shape: CamShape;
  activations: Float32Array;
  /** Required by the methods whose capabilities include gradients (not GRADIENT_FREE_METHODS). */
  gradients?: Float32Array;
  /** Score-CAM and ClusCAM: the model on masked inputs. */
  scorer?: MaskedScorer;
  /** Soft-CAM: the class (evidence-map channel) to show, per image. */
  classIndices?: Int32Array;
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

/** The per-method details a result may carry (CF-CAM's clustering, ClusCAM's clusters). */
export interface MethodDetails {
  cfcam?: CfcamDetails;
  cluscam?: CluscamDetails;
}

export interface CamResult extends MethodDetails {
  shape: CamShape;
  /** [B, outHeight, outWidth] float32 in [0,1]. */
  maps: Float32Array;
  /** Soft-CAM: [B, outHeight, outWidth] the evidence map A_c resized, signed, not normalised. */
  signedMaps?: Float32Array;
}

/** Options of one engine call: the methods' options plus GPU timing. */
export interface ComputeOptions extends CamOptions {
  /** Collect GPU times per stage (true / 'stage') or per kernel ('kernel') with timestamp queries, when the adapter has them. */
  timing?: boolean | TimingMode;
}

/** What an engine call returns: the maps and details, plus GPU time per stage. */
export interface CamRun extends CamResult {
  /** GPU milliseconds per stage (empty on the CPU backend or without timestamp queries). */
  stageMs: Record<string, number>;
}

/** @deprecated The earlier spelling of CluscamOptions. */
export type ClusCamOptions = CluscamOptions;
/** @deprecated The earlier spelling of CluscamDetails. */
export type ClusCamDetails = CluscamDetails;
