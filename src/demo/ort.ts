/**
 * ONNX Runtime Web for the Vite app: the WebGPU bundle (it also has the wasm EP), pointed at its
 * wasm files through Vite `?url` imports so that dev and production builds both find them.
 */
import * as ort from 'onnxruntime-web/webgpu';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import mjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import type { OrtModule } from '../engine/model/session.js';

ort.env.wasm.wasmPaths = { mjs: mjsUrl, wasm: wasmUrl };
// Pages without cross-origin isolation cannot use threads; ORT then falls back to one itself.
ort.env.logLevel = 'error';

export const ortModule = ort as unknown as OrtModule;
