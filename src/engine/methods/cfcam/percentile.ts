/**
 * Percentiles with numpy's default ('linear') definition, as the CF-CAM reference uses them.
 *
 * For n sorted values s[0..n-1] and q in [0,100]: v = (n-1) * q/100, lo = floor(v),
 * hi = min(lo+1, n-1), frac = v - lo, and the result is the linear interpolation of s[lo] and
 * s[hi] at frac. numpy evaluates that interpolation in float64 with a two-sided formula
 * (from `a` when frac < 0.5, from `b` otherwise) so that frac = 1 gives `b` exactly; we use the
 * same formula so results agree to the last bit.
 */

/** Where the q-th percentile of n sorted values falls: the two ranks and the weight of `hi`. */
export interface PercentileRank {
  lo: number;
  hi: number;
  frac: number;
}

export function percentileRank(n: number, q: number): PercentileRank {
  if (!(n >= 1)) throw new RangeError(`percentile of an empty set (n=${n})`);
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile q must be in [0,100], got ${q}`);
  const v = (n - 1) * (q / 100);
  const lo = Math.min(Math.floor(v), n - 1);
  const hi = Math.min(lo + 1, n - 1);
  return { lo, hi, frac: v - lo };
}

/** numpy's `_lerp`: a + (b-a)*t, computed from the nearer end so t=1 returns b exactly. */
export function lerpNumpy(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** Linear percentile of values already sorted ascending. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const { lo, hi, frac } = percentileRank(sorted.length, q);
  return lerpNumpy(sorted[lo], sorted[hi], frac);
}

/** Linear percentile of unsorted values (copied and sorted; the input is left alone). */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values as ArrayLike<number>);
  sorted.sort();
  return percentileOfSorted(sorted, q);
}

/**
 * Linear percentile of the m*(m-1) ordered off-diagonal entries of a symmetric m x m matrix,
 * computed from the m*(m-1)/2 upper-triangle values only.
 *
 * Every unordered pair {i,j} appears twice among the ordered values (as (i,j) and (j,i)), so
 * the sorted ordered list t is the sorted upper-triangle list u with every entry doubled:
 * t[r] = u[floor(r/2)]. We therefore compute the ranks over N = m*(m-1) and read them from u.
 * `upperSorted` must be sorted ascending and hold m*(m-1)/2 values; m must be >= 2.
 */
export function pairwisePercentileOfSortedUpper(upperSorted: ArrayLike<number>, m: number, q: number): number {
  const pairs = (m * (m - 1)) / 2;
  if (m < 2) throw new RangeError(`pairwise percentile needs at least 2 points, got ${m}`);
  if (upperSorted.length !== pairs) {
    throw new RangeError(`expected ${pairs} upper-triangle values for m=${m}, got ${upperSorted.length}`);
  }
  const { lo, hi, frac } = percentileRank(2 * pairs, q);
  return lerpNumpy(upperSorted[lo >> 1], upperSorted[hi >> 1], frac);
}

/**
 * The same percentile, taken straight from a row-major m x m symmetric matrix (diagonal
 * ignored). Only the strict upper triangle is read.
 */
export function pairwisePercentile(matrix: ArrayLike<number>, m: number, q: number): number {
  const upper = new Float64Array((m * (m - 1)) / 2);
  let k = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) upper[k++] = matrix[i * m + j];
  }
  upper.sort();
  return pairwisePercentileOfSortedUpper(upper, m, q);
}
