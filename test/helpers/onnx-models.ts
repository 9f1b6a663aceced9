import { DataType, encodeModel, floatTensor, makeNode, makeValueInfo } from '../../src/engine/model/onnx-io';

/**
 * A tiny hand-built classifier: Conv(channels -> 2, 3x3) -> <op> -> GlobalAveragePool ->
 * Flatten -> Gemm (3 classes). Lets tests put any op on the path to the logits.
 */
export function tinyModel(op: string, { channels = 2, size = 5 } = {}): Uint8Array {
  const w = floatTensor('w', [2, channels, 3, 3], Array.from({ length: 2 * channels * 9 }, (_, i) => Math.sin(i)));
  const fc = floatTensor('fc', [3, 2], [0.5, -0.25, 1, 0.75, -1, 0.3]);
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny',
      node: [
        makeNode('Conv', ['x', 'w'], ['conv_out'], 'conv', { pads: [1, 1, 1, 1] }),
        makeNode(op, ['conv_out'], ['act'], 'the_act'),
        makeNode('GlobalAveragePool', ['act'], ['gap'], 'gap'),
        makeNode('Flatten', ['gap'], ['flat'], 'flatten'),
        makeNode('Gemm', ['flat', 'fc'], ['logits'], 'fc', { transB: 1 }),
      ],
      initializer: [w, fc],
      input: [makeValueInfo('x', DataType.FLOAT, ['batch', channels, size, size])],
      output: [makeValueInfo('logits', DataType.FLOAT, ['batch', 3])],
    },
  });
}
