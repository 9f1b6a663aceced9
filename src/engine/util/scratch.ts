/**
 * Reusable float64 work arrays: the fast path runs image after image with the same sizes, so
 * its temporaries are kept per (name, size) instead of allocated per image. Callers must not
 * hold one across calls of another user of the same name.
 */
const pool = new Map<string, Float64Array>();

/** A float64 array of `length` for `name`; its contents are whatever the last user left. */
export function scratch(name: string, length: number): Float64Array {
  let a = pool.get(name);
  if (!a || a.length !== length) {
    a = new Float64Array(length);
    pool.set(name, a);
  }
  return a;
}

/** Like scratch, zero-filled. */
export function zeroedScratch(name: string, length: number): Float64Array {
  return scratch(name, length).fill(0);
}
