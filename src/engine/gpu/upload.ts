/**
 * Write host floats into a GPU buffer. Views on a SharedArrayBuffer (ONNX Runtime's threaded
 * wasm heap, for one) are copied first: Dawn's writeBuffer rejects them.
 */
export function writeFloats(device: GPUDevice, target: GPUBuffer, data: Float32Array): void {
  const plain = data.buffer instanceof ArrayBuffer ? (data as Float32Array<ArrayBuffer>) : new Float32Array(data);
  device.queue.writeBuffer(target, 0, plain);
}
