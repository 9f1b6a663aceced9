;; WebAssembly SIMD kernels of the CPU fast path (methods/*/cpu-fast.ts; loader: kernels.ts).
;;
;; Assembled by `npm run build:wasm` (scripts/build-wasm.mjs, the `wabt` package) into
;; simd-wasm.ts, which is committed: the build and CI need no assembler.
;;
;; Exactness: f32x4 lanes round every sub, mul, add and sqrt to float32 (WebAssembly has no
;; fused multiply-add), and each lane sums its pixels in increasing order, exactly as the
;; TypeScript reference does with Math.fround after every operation. The float32 results are
;; therefore bit-identical to the reference's, whatever the lane or block a pair falls in.
(module
  (memory (export "memory") 1)

  ;; Distances of column i to the four columns starting at pb: lane l sums
  ;; (a_i[p] - a_{j+l}[p])^2 over p = 0..hw-1 in order, then takes the square root.
  ;; pa, pb: byte addresses of row 0 of columns i and j; rs: bytes per pixel row.
  (func $dist4 (param $pa i32) (param $pb i32) (param $rs i32) (param $hw i32) (result v128)
    (local $s v128) (local $d v128) (local $p i32)
    (local.set $p (local.get $hw))
    (block $done
      (loop $px
        (br_if $done (i32.eqz (local.get $p)))
        (local.set $d (f32x4.sub (f32x4.splat (f32.load (local.get $pa))) (v128.load (local.get $pb))))
        (local.set $s (f32x4.add (local.get $s) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $pa (i32.add (local.get $pa) (local.get $rs)))
        (local.set $pb (i32.add (local.get $pb) (local.get $rs)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br $px)))
    (f32x4.sqrt (local.get $s)))

  ;; Euclidean distances between the m columns of a pixel-major float32 matrix at `at`
  ;; (value of pixel p of column j at at + 4*(p*stride + j), stride >= m, readable for 12
  ;; bytes past the last row), written as the packed strict upper triangle at `out`:
  ;; pair (i, j), i < j, at index i*(2m-i-1)/2 + (j-i-1). Rows i0..i1-1 only, so that
  ;; workers can share a matrix; writes stay inside those rows' part of `out`.
  (func (export "pairwise_upper")
    (param $at i32) (param $m i32) (param $stride i32) (param $hw i32) (param $out i32)
    (param $i0 i32) (param $i1 i32)
    (local $i i32) (local $j i32) (local $o i32) (local $rs i32) (local $pa i32) (local $pb i32)
    (local $p i32) (local $x v128) (local $d v128) (local $v v128) (local $left i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $rs (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $i (local.get $i0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $i1)))
        ;; o = out + 4 * (i*(2m-i-1)/2)
        (local.set $o
          (i32.add (local.get $out)
            (i32.shl
              (i32.shr_u
                (i32.mul (local.get $i)
                  (i32.sub (i32.sub (i32.shl (local.get $m) (i32.const 1)) (local.get $i)) (i32.const 1)))
                (i32.const 1))
              (i32.const 2))))
        (local.set $j (i32.add (local.get $i) (i32.const 1)))
        ;; Blocks of 16 columns: one broadcast of a_i[p] serves four vectors.
        (block $b16_done
          (loop $b16
            (br_if $b16_done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $m)))
            (local.set $s0 (v128.const i32x4 0 0 0 0))
            (local.set $s1 (v128.const i32x4 0 0 0 0))
            (local.set $s2 (v128.const i32x4 0 0 0 0))
            (local.set $s3 (v128.const i32x4 0 0 0 0))
            (local.set $pa (i32.add (local.get $at) (i32.shl (local.get $i) (i32.const 2))))
            (local.set $pb (i32.add (local.get $at) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $p (local.get $hw))
            (block $px_done
              (loop $px
                (br_if $px_done (i32.eqz (local.get $p)))
                (local.set $x (f32x4.splat (f32.load (local.get $pa))))
                (local.set $d (f32x4.sub (local.get $x) (v128.load offset=0 (local.get $pb))))
                (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (local.get $x) (v128.load offset=16 (local.get $pb))))
                (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (local.get $x) (v128.load offset=32 (local.get $pb))))
                (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $d (f32x4.sub (local.get $x) (v128.load offset=48 (local.get $pb))))
                (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $d) (local.get $d))))
                (local.set $pa (i32.add (local.get $pa) (local.get $rs)))
                (local.set $pb (i32.add (local.get $pb) (local.get $rs)))
                (local.set $p (i32.sub (local.get $p) (i32.const 1)))
                (br $px)))
            (v128.store offset=0 (local.get $o) (f32x4.sqrt (local.get $s0)))
            (v128.store offset=16 (local.get $o) (f32x4.sqrt (local.get $s1)))
            (v128.store offset=32 (local.get $o) (f32x4.sqrt (local.get $s2)))
            (v128.store offset=48 (local.get $o) (f32x4.sqrt (local.get $s3)))
            (local.set $o (i32.add (local.get $o) (i32.const 64)))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $b16)))
        ;; Blocks of 4 columns.
        (block $b4_done
          (loop $b4
            (br_if $b4_done (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $m)))
            (v128.store (local.get $o)
              (call $dist4
                (i32.add (local.get $at) (i32.shl (local.get $i) (i32.const 2)))
                (i32.add (local.get $at) (i32.shl (local.get $j) (i32.const 2)))
                (local.get $rs) (local.get $hw)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $b4)))
        ;; The last 1-3 columns: the spare lanes read whatever follows and are not stored.
        (local.set $left (i32.sub (local.get $m) (local.get $j)))
        (if (i32.gt_s (local.get $left) (i32.const 0))
          (then
            (local.set $v
              (call $dist4
                (i32.add (local.get $at) (i32.shl (local.get $i) (i32.const 2)))
                (i32.add (local.get $at) (i32.shl (local.get $j) (i32.const 2)))
                (local.get $rs) (local.get $hw)))
            (f32.store offset=0 (local.get $o) (f32x4.extract_lane 0 (local.get $v)))
            (if (i32.gt_s (local.get $left) (i32.const 1))
              (then (f32.store offset=4 (local.get $o) (f32x4.extract_lane 1 (local.get $v)))))
            (if (i32.gt_s (local.get $left) (i32.const 2))
              (then (f32.store offset=8 (local.get $o) (f32x4.extract_lane 2 (local.get $v)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
  ;; Radix-select pass 1: hist[bits >>> 16]++ for the n float32 at `ptr` (u32 bins at `hist`).
  (func (export "hist_high16") (param $ptr i32) (param $n i32) (param $hist i32)
    (local $end i32) (local $a i32)
    (local.set $end (i32.add (local.get $ptr) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $a
          (i32.add (local.get $hist) (i32.shl (i32.shr_u (i32.load (local.get $ptr)) (i32.const 16)) (i32.const 2))))
        (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
        (br $next))))

  ;; Radix-select pass 2: for values whose high 16 bits equal bin0 (bin1), count their low
  ;; 16 bits into hist0 (hist1). Pass bin1 = -1 when only one bin is wanted.
  (func (export "hist_low16")
    (param $ptr i32) (param $n i32) (param $bin0 i32) (param $hist0 i32) (param $bin1 i32) (param $hist1 i32)
    (local $end i32) (local $b i32) (local $h i32) (local $a i32)
    (local.set $end (i32.add (local.get $ptr) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $b (i32.load (local.get $ptr)))
        (local.set $h (i32.shr_u (local.get $b) (i32.const 16)))
        (if (i32.eq (local.get $h) (local.get $bin0))
          (then
            (local.set $a (i32.add (local.get $hist0) (i32.shl (i32.and (local.get $b) (i32.const 0xffff)) (i32.const 2))))
            (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1))))
          (else
            (if (i32.eq (local.get $h) (local.get $bin1))
              (then
                (local.set $a (i32.add (local.get $hist1) (i32.shl (i32.and (local.get $b) (i32.const 0xffff)) (i32.const 2))))
                (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
        (br $next))))

  ;; How many of the n float32 at `ptr` are <= thr (four compares per vector).
  (func (export "count_le") (param $ptr i32) (param $n i32) (param $thr f32) (result i32)
    (local $t v128) (local $acc v128) (local $i i32) (local $count i32)
    (local.set $t (f32x4.splat (local.get $thr)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        ;; A true lane is all ones (-1): subtracting counts it.
        (local.set $acc
          (i32x4.sub (local.get $acc)
            (f32x4.le (v128.load (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))) (local.get $t))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (local.set $count
      (i32.add
        (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
        (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
        (if (f32.le (f32.load (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))) (local.get $thr))
          (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (local.get $count))

  ;; The neighbour edges of the packed upper triangle of m points (layout of pairwise_upper):
  ;; every pair (i, j), i < j, with d <= thr is written as two i32 at `out`, in increasing
  ;; (i, j) order, and counted in the i32 neighbour counts at `deg` (both ends; `deg` starts
  ;; zeroed by the caller). Returns the number of edges. Reads up to 12 bytes past the triangle.
  (func (export "edges_le") (param $packed i32) (param $m i32) (param $thr f32) (param $out i32) (param $deg i32) (result i32)
    (local $t v128) (local $i i32) (local $j i32) (local $row i32) (local $left i32) (local $mask i32)
    (local $bit i32) (local $count i32) (local $rowCount i32) (local $a i32)
    (local.set $t (f32x4.splat (local.get $thr)))
    (local.set $row (local.get $packed))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $m)))
        (local.set $j (i32.add (local.get $i) (i32.const 1)))
        (local.set $rowCount (i32.const 0))
        (block $row_done
          (loop $blocks
            (local.set $left (i32.sub (local.get $m) (local.get $j)))
            (br_if $row_done (i32.le_s (local.get $left) (i32.const 0)))
            (local.set $mask (i32x4.bitmask (f32x4.le (v128.load (local.get $row)) (local.get $t))))
            ;; A partial last block: drop the lanes past the row.
            (if (i32.lt_s (local.get $left) (i32.const 4))
              (then (local.set $mask (i32.and (local.get $mask) (i32.sub (i32.shl (i32.const 1) (local.get $left)) (i32.const 1))))))
            (block $bits_done
              (loop $bits
                (br_if $bits_done (i32.eqz (local.get $mask)))
                (local.set $bit (i32.ctz (local.get $mask)))
                (i32.store offset=0 (local.get $out) (local.get $i))
                (i32.store offset=4 (local.get $out) (i32.add (local.get $j) (local.get $bit)))
                (local.set $out (i32.add (local.get $out) (i32.const 8)))
                (local.set $a (i32.add (local.get $deg) (i32.shl (i32.add (local.get $j) (local.get $bit)) (i32.const 2))))
                (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (i32.const 1)))
                (local.set $rowCount (i32.add (local.get $rowCount) (i32.const 1)))
                (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
                (br $bits)))
            (local.set $row (i32.add (local.get $row) (i32.shl (select (local.get $left) (i32.const 4) (i32.lt_s (local.get $left) (i32.const 4))) (i32.const 2))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $blocks)))
        (local.set $a (i32.add (local.get $deg) (i32.shl (local.get $i) (i32.const 2))))
        (i32.store (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $rowCount)))
        (local.set $count (i32.add (local.get $count) (local.get $rowCount)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (local.get $count))

  ;; Index of the first non-finite float32 (exponent bits all ones: Inf or NaN) of the n at
  ;; `ptr`, or -1. Sixteen values per step are tested with four vector compares.
  (func (export "first_non_finite") (param $ptr i32) (param $n i32) (result i32)
    (local $i i32) (local $e v128) (local $hit v128)
    (local.set $e (i32x4.splat (i32.const 0x7f800000)))
    (block $blocks_done
      (loop $blocks
        (br_if $blocks_done (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $n)))
        (local.set $hit
          (v128.or
            (v128.or
              (i32x4.eq (v128.and (v128.load offset=0 (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))) (local.get $e)) (local.get $e))
              (i32x4.eq (v128.and (v128.load offset=16 (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))) (local.get $e)) (local.get $e)))
            (v128.or
              (i32x4.eq (v128.and (v128.load offset=32 (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))) (local.get $e)) (local.get $e))
              (i32x4.eq (v128.and (v128.load offset=48 (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))) (local.get $e)) (local.get $e)))))
        ;; A hit: the scalar loop below finds it from the start of this block.
        (br_if $blocks_done (v128.any_true (local.get $hit)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $blocks)))
    (block $found
      (loop $scalar
        (br_if $found (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eq
              (i32.and (i32.load (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 0x7f800000))
              (i32.const 0x7f800000))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scalar)))
    (i32.const -1))

  ;; Largest |x| of the n float32 at `ptr` (finite values; 0 when n = 0).
  (func (export "max_abs") (param $ptr i32) (param $n i32) (result f32)
    (local $i i32) (local $acc v128) (local $m f32)
    (block $done
      (loop $blocks
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
        (local.set $acc
          (f32x4.pmax (local.get $acc) (f32x4.abs (v128.load (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $blocks)))
    (local.set $m
      (f32.max
        (f32.max (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
        (f32.max (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $m (f32.max (local.get $m) (f32.abs (f32.load (i32.add (local.get $ptr) (i32.shl (local.get $i) (i32.const 2)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (local.get $m))

  ;; ---- Grad-CAM family, Eigen-CAM: float64 arithmetic on float32 inputs -------------------
  ;; Each float64 lane does the reference's scalar operations in the reference's order, so
  ;; results are bit-identical to reference/gradient-family.ts and reference/eigencam.ts.

  ;; out[k] (f64) = sum over p of x[k*hw + p] (f32 at `x`), pixels in order. Lanes are two
  ;; channels; two vectors (four channels) run side by side to hide the addition latency.
  (func (export "channel_sums") (param $x i32) (param $c i32) (param $hw i32) (param $out i32)
    (local $k i32) (local $p i32) (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $rs i32) (local $s0 v128) (local $s1 v128) (local $v v128) (local $t f64)
    (local.set $rs (i32.shl (local.get $hw) (i32.const 2)))
    (block $quads_done
      (loop $quads
        (br_if $quads_done (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $c)))
        (local.set $a0 (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $rs))))
        (local.set $a1 (i32.add (local.get $a0) (local.get $rs)))
        (local.set $a2 (i32.add (local.get $a1) (local.get $rs)))
        (local.set $a3 (i32.add (local.get $a2) (local.get $rs)))
        (local.set $s0 (v128.const i64x2 0 0))
        (local.set $s1 (v128.const i64x2 0 0))
        (local.set $p (local.get $hw))
        (block $px_done
          (loop $px
            (br_if $px_done (i32.eqz (local.get $p)))
            (local.set $v (v128.load32_lane 1 (local.get $a1) (v128.load32_zero (local.get $a0))))
            (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (local.get $v))))
            (local.set $v (v128.load32_lane 1 (local.get $a3) (v128.load32_zero (local.get $a2))))
            (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4 (local.get $v))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
            (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
            (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
            (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $px)))
        (v128.store offset=0 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $s0))
        (v128.store offset=16 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $s1))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $quads)))
    (block $rest_done
      (loop $rest
        (br_if $rest_done (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $a0 (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $rs))))
        (local.set $t (f64.const 0))
        (local.set $p (local.get $hw))
        (block $px1_done
          (loop $px1
            (br_if $px1_done (i32.eqz (local.get $p)))
            (local.set $t (f64.add (local.get $t) (f64.promote_f32 (f32.load (local.get $a0)))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $px1)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $t))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $rest))))

  ;; XGrad-CAM's channel dot products (float64 [c] at `out`): out[k] = sum over p, in order, of
  ;; g[k*hw + p] * a[k*hw + p] (float32 promoted, float64 products), the reference's sum bit for
  ;; bit; two channels per vector (lanes k, k+1).
  (func (export "channel_dots") (param $a i32) (param $g i32) (param $c i32) (param $hw i32) (param $out i32)
    (local $k i32) (local $p i32) (local $ga i32) (local $gb i32) (local $aa i32) (local $ab i32) (local $rs i32)
    (local $s v128) (local $t f64)
    (local.set $rs (i32.shl (local.get $hw) (i32.const 2)))
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.gt_u (i32.add (local.get $k) (i32.const 2)) (local.get $c)))
        (local.set $ga (i32.add (local.get $g) (i32.mul (local.get $k) (local.get $rs))))
        (local.set $gb (i32.add (local.get $ga) (local.get $rs)))
        (local.set $aa (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $rs))))
        (local.set $ab (i32.add (local.get $aa) (local.get $rs)))
        (local.set $s (v128.const i64x2 0 0))
        (local.set $p (local.get $hw))
        (block $px_done
          (loop $px
            (br_if $px_done (i32.eqz (local.get $p)))
            (local.set $s (f64x2.add (local.get $s)
              (f64x2.mul
                (f64x2.promote_low_f32x4 (v128.load32_lane 1 (local.get $gb) (v128.load32_zero (local.get $ga))))
                (f64x2.promote_low_f32x4 (v128.load32_lane 1 (local.get $ab) (v128.load32_zero (local.get $aa)))))))
            (local.set $ga (i32.add (local.get $ga) (i32.const 4)))
            (local.set $gb (i32.add (local.get $gb) (i32.const 4)))
            (local.set $aa (i32.add (local.get $aa) (i32.const 4)))
            (local.set $ab (i32.add (local.get $ab) (i32.const 4)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $px)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $s))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_u (local.get $k) (local.get $c))
      (then
        (local.set $ga (i32.add (local.get $g) (i32.mul (local.get $k) (local.get $rs))))
        (local.set $aa (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $rs))))
        (local.set $t (f64.const 0))
        (local.set $p (local.get $hw))
        (block $px1_done
          (loop $px1
            (br_if $px1_done (i32.eqz (local.get $p)))
            (local.set $t (f64.add (local.get $t)
              (f64.mul (f64.promote_f32 (f32.load (local.get $ga))) (f64.promote_f32 (f32.load (local.get $aa))))))
            (local.set $ga (i32.add (local.get $ga) (i32.const 4)))
            (local.set $aa (i32.add (local.get $aa) (i32.const 4)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $px1)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $t)))))

  ;; Grad-CAM++ channel weights (float64 [c] at `out`): out[k] = sum over p, in order, of
  ;; g^3 / (2 g^2 + sumA[k] g^3 + 1e-6) where g = g[k*hw + p] > 0 (float32 promoted), evaluated
  ;; as the reference writes it, (g*g2) / ((2*g2 + (sa*g2)*g) + 1e-6), so each channel's float64
  ;; sum is the reference's bit for bit. Two channels per vector (lanes k, k+1), so the order of
  ;; each channel's sum is kept; terms of g <= 0 are masked to +0 (NaN or Inf from their
  ;; denominator included), and s + 0 = s.
  (func (export "gradcampp_weights") (param $g i32) (param $suma i32) (param $c i32) (param $hw i32) (param $out i32)
    (local $k i32) (local $p i32) (local $a0 i32) (local $a1 i32) (local $rs i32)
    (local $sa v128) (local $s v128) (local $v v128) (local $v2 v128) (local $term v128)
    (local $gs f64) (local $g2s f64) (local $sas f64) (local $t f64)
    (local.set $rs (i32.shl (local.get $hw) (i32.const 2)))
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.gt_u (i32.add (local.get $k) (i32.const 2)) (local.get $c)))
        (local.set $a0 (i32.add (local.get $g) (i32.mul (local.get $k) (local.get $rs))))
        (local.set $a1 (i32.add (local.get $a0) (local.get $rs)))
        (local.set $sa (v128.load (i32.add (local.get $suma) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $s (v128.const i64x2 0 0))
        (local.set $p (local.get $hw))
        (block $px_done
          (loop $px
            (br_if $px_done (i32.eqz (local.get $p)))
            (local.set $v (f64x2.promote_low_f32x4 (v128.load32_lane 1 (local.get $a1) (v128.load32_zero (local.get $a0)))))
            (local.set $v2 (f64x2.mul (local.get $v) (local.get $v)))
            (local.set $term
              (f64x2.div
                (f64x2.mul (local.get $v) (local.get $v2))
                (f64x2.add
                  (f64x2.add
                    (f64x2.mul (f64x2.splat (f64.const 2)) (local.get $v2))
                    (f64x2.mul (f64x2.mul (local.get $sa) (local.get $v2)) (local.get $v)))
                  (f64x2.splat (f64.const 1e-6)))))
            (local.set $s (f64x2.add (local.get $s)
              (v128.and (local.get $term) (f64x2.gt (local.get $v) (v128.const i64x2 0 0)))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
            (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $px)))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $s))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_u (local.get $k) (local.get $c))
      (then
        (local.set $a0 (i32.add (local.get $g) (i32.mul (local.get $k) (local.get $rs))))
        (local.set $sas (f64.load (i32.add (local.get $suma) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $t (f64.const 0))
        (local.set $p (local.get $hw))
        (block $px1_done
          (loop $px1
            (br_if $px1_done (i32.eqz (local.get $p)))
            (local.set $gs (f64.promote_f32 (f32.load (local.get $a0))))
            (if (f64.gt (local.get $gs) (f64.const 0))
              (then
                (local.set $g2s (f64.mul (local.get $gs) (local.get $gs)))
                (local.set $t (f64.add (local.get $t)
                  (f64.div
                    (f64.mul (local.get $gs) (local.get $g2s))
                    (f64.add
                      (f64.add
                        (f64.mul (f64.const 2) (local.get $g2s))
                        (f64.mul (f64.mul (local.get $sas) (local.get $g2s)) (local.get $gs)))
                      (f64.const 1e-6)))))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br $px1)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))) (local.get $t)))))

  ;; map[p] (f64, hw values at `map`) += w[k] * a[k*hw + p] for k in order, channels with
  ;; w[k] = 0 skipped (as the reference does); two pixels per vector.
  (func (export "weighted_sum") (param $a i32) (param $w i32) (param $c i32) (param $hw i32) (param $map i32)
    (local $k i32) (local $p i32) (local $wk f64) (local $wv v128) (local $src i32) (local $dst i32)
    (block $done
      (loop $channels
        (br_if $done (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $wk (f64.load (i32.add (local.get $w) (i32.shl (local.get $k) (i32.const 3)))))
        (if (f64.ne (local.get $wk) (f64.const 0))
          (then
            (local.set $wv (f64x2.splat (local.get $wk)))
            (local.set $src (i32.add (local.get $a) (i32.shl (i32.mul (local.get $k) (local.get $hw)) (i32.const 2))))
            (local.set $dst (local.get $map))
            (local.set $p (i32.const 0))
            (block $pairs_done
              (loop $pairs
                (br_if $pairs_done (i32.gt_u (i32.add (local.get $p) (i32.const 2)) (local.get $hw)))
                (v128.store (local.get $dst)
                  (f64x2.add (v128.load (local.get $dst))
                    (f64x2.mul (local.get $wv) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $src))))))
                (local.set $src (i32.add (local.get $src) (i32.const 8)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (local.set $p (i32.add (local.get $p) (i32.const 2)))
                (br $pairs)))
            (if (i32.lt_u (local.get $p) (local.get $hw))
              (then
                (f64.store (local.get $dst)
                  (f64.add (f64.load (local.get $dst))
                    (f64.mul (local.get $wk) (f64.promote_f32 (f32.load (local.get $src))))))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $channels))))

  ;; map[p] += g' * a over all channels in order, g' = max(g, 0) when relu (LayerCAM) else g
  ;; (HiResCAM); a, g float32 [c, hw], map float64 [hw].
  (func (export "elementwise_sum") (param $a i32) (param $g i32) (param $c i32) (param $hw i32) (param $relu i32) (param $map i32)
    (local $n i32) (local $i i32) (local $p i32) (local $dst i32) (local $gv v128) (local $gs f64) (local $zero v128)
    (local.set $n (i32.mul (local.get $c) (local.get $hw)))
    (block $done
      (loop $channels
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $dst (local.get $map))
        (local.set $p (i32.const 0))
        (block $pairs_done
          (loop $pairs
            (br_if $pairs_done (i32.gt_u (i32.add (local.get $p) (i32.const 2)) (local.get $hw)))
            (local.set $gv (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (i32.shl (local.get $i) (i32.const 2))))))
            (if (local.get $relu) (then (local.set $gv (f64x2.pmax (local.get $gv) (local.get $zero)))))
            (v128.store (local.get $dst)
              (f64x2.add (v128.load (local.get $dst))
                (f64x2.mul (local.get $gv)
                  (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))))))
            (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_u (local.get $p) (local.get $hw))
          (then
            (local.set $gs (f64.promote_f32 (f32.load (i32.add (local.get $g) (i32.shl (local.get $i) (i32.const 2))))))
            (if (local.get $relu) (then (local.set $gs (f64.max (local.get $gs) (f64.const 0)))))
            (f64.store (local.get $dst)
              (f64.add (f64.load (local.get $dst))
                (f64.mul (local.get $gs) (f64.promote_f32 (f32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2))))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (br $channels))))

  ;; Bilinear resize, vertical pass: out[y*ow + x] = top + (bottom - top) * fy[y] with
  ;; top/bottom the rows i0[y], i1[y] (i32) of the row-resized `rows` (f64 [ih, ow]);
  ;; writes min and max of the output to range[0], range[1] (f64; pmin/pmax, single instructions:
  ;; the values are finite, so they agree with min/max up to the sign of zero).
  (func (export "resize_vertical") (param $rows i32) (param $i0 i32) (param $i1 i32) (param $fy i32)
    (param $oh i32) (param $ow i32) (param $out i32) (param $range i32)
    (local $y i32) (local $x i32) (local $t i32) (local $b i32) (local $f v128) (local $top v128) (local $v v128)
    (local $lo v128) (local $hi v128) (local $rb i32) (local $vs f64) (local $los f64) (local $his f64)
    (local.set $rb (i32.shl (local.get $ow) (i32.const 3)))
    (local.set $lo (f64x2.splat (f64.const inf)))
    (local.set $hi (f64x2.splat (f64.const -inf)))
    (local.set $los (f64.const inf))
    (local.set $his (f64.const -inf))
    (block $done
      (loop $lines
        (br_if $done (i32.ge_u (local.get $y) (local.get $oh)))
        (local.set $t (i32.add (local.get $rows) (i32.mul (i32.load (i32.add (local.get $i0) (i32.shl (local.get $y) (i32.const 2)))) (local.get $rb))))
        (local.set $b (i32.add (local.get $rows) (i32.mul (i32.load (i32.add (local.get $i1) (i32.shl (local.get $y) (i32.const 2)))) (local.get $rb))))
        (local.set $f (f64x2.splat (f64.load (i32.add (local.get $fy) (i32.shl (local.get $y) (i32.const 3))))))
        (local.set $x (i32.const 0))
        (block $pairs_done
          (loop $pairs
            (br_if $pairs_done (i32.gt_u (i32.add (local.get $x) (i32.const 2)) (local.get $ow)))
            (local.set $top (v128.load (local.get $t)))
            (local.set $v (f64x2.add (local.get $top) (f64x2.mul (f64x2.sub (v128.load (local.get $b)) (local.get $top)) (local.get $f))))
            (v128.store (local.get $out) (local.get $v))
            (local.set $lo (f64x2.pmin (local.get $lo) (local.get $v)))
            (local.set $hi (f64x2.pmax (local.get $hi) (local.get $v)))
            (local.set $t (i32.add (local.get $t) (i32.const 16)))
            (local.set $b (i32.add (local.get $b) (i32.const 16)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $x (i32.add (local.get $x) (i32.const 2)))
            (br $pairs)))
        (if (i32.lt_u (local.get $x) (local.get $ow))
          (then
            (local.set $vs
              (f64.add (f64.load (local.get $t))
                (f64.mul (f64.sub (f64.load (local.get $b)) (f64.load (local.get $t)))
                  (f64.load (i32.add (local.get $fy) (i32.shl (local.get $y) (i32.const 3)))))))
            (f64.store (local.get $out) (local.get $vs))
            (local.set $los (f64.min (local.get $los) (local.get $vs)))
            (local.set $his (f64.max (local.get $his) (local.get $vs)))
            (local.set $out (i32.add (local.get $out) (i32.const 8)))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $lines)))
    (f64.store offset=0 (local.get $range)
      (f64.min (local.get $los) (f64.min (f64x2.extract_lane 0 (local.get $lo)) (f64x2.extract_lane 1 (local.get $lo)))))
    (f64.store offset=8 (local.get $range)
      (f64.max (local.get $his) (f64.max (f64x2.extract_lane 0 (local.get $hi)) (f64x2.extract_lane 1 (local.get $hi))))))

  ;; out[i] (f32) = (x[i] - min) * scale for the n f64 at x: the final normalisation, rounded
  ;; to float32 as the batch's maps store it.
  (func (export "affine_to_f32") (param $x i32) (param $n i32) (param $min f64) (param $scale f64) (param $out i32)
    (local $i i32) (local $m v128) (local $s v128)
    (local.set $m (f64x2.splat (local.get $min)))
    (local.set $s (f64x2.splat (local.get $scale)))
    (block $done
      (loop $pairs
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 2)) (local.get $n)))
        (v128.store64_lane 0 (local.get $out)
          (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.sub (v128.load (local.get $x)) (local.get $m)) (local.get $s))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_u (local.get $i) (local.get $n))
      (then
        (f32.store (local.get $out)
          (f32.demote_f64 (f64.mul (f64.sub (f64.load (local.get $x)) (local.get $min)) (local.get $scale)))))))

  ;; Eigen-CAM, C > HW: m[p*hw + q] += xc[k*hw + p] * xc[k*hw + q] for q >= p, channels in
  ;; order (f64 [c, hw] in, f64 [hw, hw] upper triangle accumulated; m starts zeroed).
  (func (export "gram_positions") (param $xc i32) (param $c i32) (param $hw i32) (param $m i32)
    (local $k i32) (local $p i32) (local $q i32) (local $row i32) (local $xp f64) (local $xv v128)
    (local $src i32) (local $dst i32) (local $base i32)
    (block $done
      (loop $channels
        (br_if $done (i32.ge_u (local.get $k) (local.get $c)))
        (local.set $base (i32.add (local.get $xc) (i32.shl (i32.mul (local.get $k) (local.get $hw)) (i32.const 3))))
        (local.set $p (i32.const 0))
        (block $rows_done
          (loop $rows
            (br_if $rows_done (i32.ge_u (local.get $p) (local.get $hw)))
            (local.set $xp (f64.load (i32.add (local.get $base) (i32.shl (local.get $p) (i32.const 3)))))
            (if (f64.ne (local.get $xp) (f64.const 0))
              (then
                (local.set $xv (f64x2.splat (local.get $xp)))
                (local.set $src (i32.add (local.get $base) (i32.shl (local.get $p) (i32.const 3))))
                (local.set $dst (i32.add (local.get $m) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $hw)) (local.get $p)) (i32.const 3))))
                (local.set $q (local.get $p))
                (block $cols_done
                  (loop $cols
                    (br_if $cols_done (i32.gt_u (i32.add (local.get $q) (i32.const 2)) (local.get $hw)))
                    (v128.store (local.get $dst)
                      (f64x2.add (v128.load (local.get $dst)) (f64x2.mul (local.get $xv) (v128.load (local.get $src)))))
                    (local.set $src (i32.add (local.get $src) (i32.const 16)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                    (local.set $q (i32.add (local.get $q) (i32.const 2)))
                    (br $cols)))
                (if (i32.lt_u (local.get $q) (local.get $hw))
                  (then
                    (f64.store (local.get $dst)
                      (f64.add (f64.load (local.get $dst)) (f64.mul (local.get $xp) (f64.load (local.get $src)))))))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $rows)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $channels))))
)
