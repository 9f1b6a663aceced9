/** Shape inference's shared pieces: known constant values and broadcasting (used by shapes.ts and shapes-transformer.ts). */

/** A statically known value (small integer tensors and float scalars). */
export interface ConstValue {
  dims: number[];
  values: number[];
}

/** NumPy broadcasting of several shapes. */
export function broadcastShapes(shapes: number[][]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}
