;; WebAssembly SIMD kernels of the CPU fast path (src/engine/fast/).
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
)
