/**
 * How the masked-forward drivers feed the model: masked inputs in chunks, the next chunk's GPU
 * work started before the model scores the current one.
 */
export interface MaskChunk {
  image: number;
  first: number;
  count: number;
}

/** Chunks of at most `size` channels of every image, in order. */
export function maskChunks(batch: number, channels: number, size: number): MaskChunk[] {
  const chunks: MaskChunk[] = [];
  for (let image = 0; image < batch; image++) {
    for (let first = 0; first < channels; first += size) chunks.push({ image, first, count: Math.min(size, channels - first) });
  }
  return chunks;
}

/**
 * Score every chunk: `masked(chunk)` produces its masked inputs (a GPU submit and readback),
 * `score` runs the model. The next chunk's GPU work is started before the current chunk is
 * scored. A failure leaves no submit pending.
 */
export async function scoreChunksPipelined(
  chunks: readonly MaskChunk[],
  masked: (chunk: MaskChunk) => Promise<Float32Array>,
  score: (chunk: MaskChunk, inputs: Float32Array) => Promise<void>,
): Promise<void> {
  if (chunks.length === 0) return;
  let pending: Promise<Float32Array> | undefined = masked(chunks[0]);
  try {
    for (let i = 0; i < chunks.length; i++) {
      const inputs: Float32Array = await pending!;
      pending = i + 1 < chunks.length ? masked(chunks[i + 1]) : undefined;
      // Handled now: if it fails while the model scores this chunk, that is not an unhandled
      // rejection; the failure still surfaces when it is awaited (next turn, or below).
      pending?.catch(() => undefined);
      await score(chunks[i], inputs);
    }
  } catch (error) {
    // Let the submit in flight finish (its temporaries return to the pool) before failing.
    if (pending) await pending.catch(() => undefined);
    throw error;
  }
}
