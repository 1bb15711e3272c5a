;; Pillow's 8-bit resize passes (libImaging/Resample.c, ImagingResampleHorizontal_8bpc and
;; ImagingResampleVertical_8bpc) in WebAssembly SIMD, bit for bit, for any filter: the same 22-bit
;; fixed-point taps (computed by pillow-resize.ts), the same accumulation from 2^21 in wrapping 32-bit
;; integers, the same arithmetic shift and clip to 0..255. Lanes hold channels (RGB horizontal pass:
;; R, G, B and one ignored lane), 16 neighbouring bytes of a row (vertical pass), or four taps of one
;; output pixel (single-channel horizontal pass: the four partial sums are added at the end, which
;; is the same integer modulo 2^32 as Pillow's sequential sum).
;;
;; Memory contract (the caller lays it out, see pillow-resize-wasm.ts): every buffer read or written
;; has at least 16 bytes of slack after it, because the horizontal pass loads and stores 4 bytes per
;; 3-byte pixel, the single-channel pass loads 4 bytes at a time, and the vertical pass works in 16-byte blocks (the block past a row's end spills
;; into the next row, which is written afterwards, or into the slack).
(module
  (memory (export "memory") 1)

  ;; Horizontal pass: `rows` source rows (first at `src`, `srcStride` bytes apart) → `outW` RGB pixels
  ;; per row, rows packed at `dst`. `bounds`: per output pixel [first source column, tap count] (i32);
  ;; `weights`: per output pixel `ksize` i32 taps. Two rows at a time share each pixel's bounds and taps
  ;; (an odd last row is computed twice into the same place). Each pixel is stored as 4 bytes, the 4th
  ;; spilling into the next pixel, which is written after it, except where the first row of a pair ends:
  ;; its spill lands on the second row's first pixel, which is written again (3 bytes) after the pair.
  (func (export "horizontal")
    (param $src i32) (param $srcStride i32) (param $rows i32) (param $dst i32) (param $outW i32)
    (param $bounds i32) (param $weights i32) (param $ksize i32)
    (local $y i32) (local $i i32) (local $p i32) (local $o i32) (local $o1 i32) (local $o1Start i32)
    (local $t i32) (local $taps i32) (local $kp i32) (local $bp i32) (local $srcRow i32) (local $second i32)
    (local $kstride i32) (local $rowBytes i32)
    (local $acc v128) (local $acc1 v128) (local $k v128) (local $first1 v128)
    (local.set $srcRow (local.get $src))
    (local.set $o (local.get $dst))
    (local.set $kstride (i32.shl (local.get $ksize) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $outW) (i32.const 3)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $rows)))
        ;; The pair's second row: the next one, or this one again when it is the last.
        (if (i32.lt_u (i32.add (local.get $y) (i32.const 1)) (local.get $rows))
          (then
            (local.set $second (local.get $srcStride))
            (local.set $o1 (i32.add (local.get $o) (local.get $rowBytes))))
          (else
            (local.set $second (i32.const 0))
            (local.set $o1 (local.get $o))))
        (local.set $o1Start (local.get $o1))
        (local.set $i (i32.const 0))
        (local.set $bp (local.get $bounds))
        (local.set $kp (local.get $weights))
        (block $cols_done
          (loop $cols_loop
            (br_if $cols_done (i32.ge_u (local.get $i) (local.get $outW)))
            (local.set $p (i32.add (local.get $srcRow) (i32.mul (i32.load (local.get $bp)) (i32.const 3))))
            (local.set $taps (i32.load offset=4 (local.get $bp)))
            (local.set $acc (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $acc1 (local.get $acc))
            (local.set $t (i32.const 0))
            (block $taps_done
              (loop $taps_loop
                (br_if $taps_done (i32.ge_u (local.get $t) (local.get $taps)))
                (local.set $k (i32x4.splat (i32.load (i32.add (local.get $kp) (i32.shl (local.get $t) (i32.const 2))))))
                (local.set $acc
                  (i32x4.add (local.get $acc)
                    (i32x4.mul
                      (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero align=1 (local.get $p))))
                      (local.get $k))))
                (local.set $acc1
                  (i32x4.add (local.get $acc1)
                    (i32x4.mul
                      (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u
                        (v128.load32_zero align=1 (i32.add (local.get $p) (local.get $second)))))
                      (local.get $k))))
                (local.set $p (i32.add (local.get $p) (i32.const 3)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $taps_loop)))
            (local.set $acc
              (i32x4.min_s
                (i32x4.max_s (i32x4.shr_s (local.get $acc) (i32.const 22)) (v128.const i32x4 0 0 0 0))
                (v128.const i32x4 255 255 255 255)))
            (local.set $acc (i16x8.narrow_i32x4_u (local.get $acc) (local.get $acc)))
            (local.set $acc (i8x16.narrow_i16x8_u (local.get $acc) (local.get $acc)))
            (local.set $acc1
              (i32x4.min_s
                (i32x4.max_s (i32x4.shr_s (local.get $acc1) (i32.const 22)) (v128.const i32x4 0 0 0 0))
                (v128.const i32x4 255 255 255 255)))
            (local.set $acc1 (i16x8.narrow_i32x4_u (local.get $acc1) (local.get $acc1)))
            (local.set $acc1 (i8x16.narrow_i16x8_u (local.get $acc1) (local.get $acc1)))
            (v128.store32_lane align=1 0 (local.get $o) (local.get $acc))
            (v128.store32_lane align=1 0 (local.get $o1) (local.get $acc1))
            (if (i32.eqz (local.get $i)) (then (local.set $first1 (local.get $acc1))))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $o1 (i32.add (local.get $o1) (i32.const 3)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 8)))
            (local.set $kp (i32.add (local.get $kp) (local.get $kstride)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $cols_loop)))
        (if (local.get $second)
          (then
            (v128.store16_lane align=1 0 (local.get $o1Start) (local.get $first1))
            (v128.store8_lane 2 (i32.add (local.get $o1Start) (i32.const 2)) (local.get $first1))
            (local.set $srcRow (i32.add (local.get $srcRow) (local.get $srcStride)))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))))
        (local.set $o (local.get $o1))
        (local.set $srcRow (i32.add (local.get $srcRow) (local.get $srcStride)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows_loop))))

  ;; Horizontal pass over single-channel (L) pixels: `rows` source rows → `outW` bytes per row, rows
  ;; packed at `dst`; `bounds` and `weights` as above. Taps run four at a time (one per lane), the
  ;; last `taps mod 4` one by one.
  (func (export "horizontal1")
    (param $src i32) (param $srcStride i32) (param $rows i32) (param $dst i32) (param $outW i32)
    (param $bounds i32) (param $weights i32) (param $ksize i32)
    (local $y i32) (local $i i32) (local $p i32) (local $o i32) (local $t i32) (local $taps i32)
    (local $taps4 i32) (local $kp i32) (local $bp i32) (local $srcRow i32) (local $kstride i32)
    (local $acc v128) (local $sum i32)
    (local.set $srcRow (local.get $src))
    (local.set $o (local.get $dst))
    (local.set $kstride (i32.shl (local.get $ksize) (i32.const 2)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $i (i32.const 0))
        (local.set $bp (local.get $bounds))
        (local.set $kp (local.get $weights))
        (block $cols_done
          (loop $cols_loop
            (br_if $cols_done (i32.ge_u (local.get $i) (local.get $outW)))
            (local.set $p (i32.add (local.get $srcRow) (i32.load (local.get $bp))))
            (local.set $taps (i32.load offset=4 (local.get $bp)))
            (local.set $taps4 (i32.and (local.get $taps) (i32.const -4)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $t (i32.const 0))
            (block $quads_done
              (loop $quads_loop
                (br_if $quads_done (i32.ge_u (local.get $t) (local.get $taps4)))
                (local.set $acc
                  (i32x4.add (local.get $acc)
                    (i32x4.mul
                      (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u
                        (v128.load32_zero align=1 (i32.add (local.get $p) (local.get $t)))))
                      (v128.load align=4 (i32.add (local.get $kp) (i32.shl (local.get $t) (i32.const 2)))))))
                (local.set $t (i32.add (local.get $t) (i32.const 4)))
                (br $quads_loop)))
            (local.set $sum
              (i32.add
                (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
                (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
            (local.set $sum (i32.add (local.get $sum) (i32.const 2097152)))
            (block $taps_done
              (loop $taps_loop
                (br_if $taps_done (i32.ge_u (local.get $t) (local.get $taps)))
                (local.set $sum
                  (i32.add (local.get $sum)
                    (i32.mul
                      (i32.load8_u (i32.add (local.get $p) (local.get $t)))
                      (i32.load (i32.add (local.get $kp) (i32.shl (local.get $t) (i32.const 2)))))))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $taps_loop)))
            (local.set $sum (i32.shr_s (local.get $sum) (i32.const 22)))
            (if (i32.lt_s (local.get $sum) (i32.const 0)) (then (local.set $sum (i32.const 0))))
            (if (i32.gt_s (local.get $sum) (i32.const 255)) (then (local.set $sum (i32.const 255))))
            (i32.store8 (local.get $o) (local.get $sum))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 8)))
            (local.set $kp (i32.add (local.get $kp) (local.get $kstride)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $cols_loop)))
        (local.set $srcRow (i32.add (local.get $srcRow) (local.get $srcStride)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows_loop))))

;; Pillow's `convert('L')` of RGB (Convert.c `rgb2l`): `n` pixels at `src` → `n` bytes at `dst`,
  ;; L = (R·19595 + G·38470 + B·7471 + 2^15) >> 16. Sixteen pixels (48 bytes) at a time: the R, G
  ;; and B bytes gathered by shuffles, widened to 32 bits by unsigned 16×16 multiplies (every weight
  ;; fits in 16 bits), the same integer sum per lane; the last `n mod 16` pixels one by one.
  (func (export "luma") (param $src i32) (param $n i32) (param $dst i32)
    (local $end i32) (local $end16 i32) (local $v0 v128) (local $v1 v128) (local $v2 v128)
    (local $r v128) (local $g v128) (local $b v128) (local $lo v128) (local $hi v128)
    (local.set $end (i32.add (local.get $dst) (local.get $n)))
    (local.set $end16 (i32.add (local.get $dst) (i32.and (local.get $n) (i32.const -16))))
    (block $blocks_done
      (loop $blocks
        (br_if $blocks_done (i32.ge_u (local.get $dst) (local.get $end16)))
        (local.set $v0 (v128.load align=1 (local.get $src)))
        (local.set $v1 (v128.load offset=16 align=1 (local.get $src)))
        (local.set $v2 (v128.load offset=32 align=1 (local.get $src)))
        (local.set $r
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 17 20 23 26 29
            (i8x16.shuffle 0 3 6 9 12 15 18 21 24 27 30 0 0 0 0 0 (local.get $v0) (local.get $v1))
            (local.get $v2)))
        (local.set $g
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 18 21 24 27 30
            (i8x16.shuffle 1 4 7 10 13 16 19 22 25 28 31 0 0 0 0 0 (local.get $v0) (local.get $v1))
            (local.get $v2)))
        (local.set $b
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 16 19 22 25 28 31
            (i8x16.shuffle 2 5 8 11 14 17 20 23 26 29 0 0 0 0 0 0 (local.get $v0) (local.get $v1))
            (local.get $v2)))
        ;; pixels 0..7
        (local.set $lo
          (i16x8.narrow_i32x4_u
            (call $luma4 (i16x8.extend_low_i8x16_u (local.get $r)) (i16x8.extend_low_i8x16_u (local.get $g))
              (i16x8.extend_low_i8x16_u (local.get $b)) (i32.const 0))
            (call $luma4 (i16x8.extend_low_i8x16_u (local.get $r)) (i16x8.extend_low_i8x16_u (local.get $g))
              (i16x8.extend_low_i8x16_u (local.get $b)) (i32.const 1))))
        ;; pixels 8..15
        (local.set $hi
          (i16x8.narrow_i32x4_u
            (call $luma4 (i16x8.extend_high_i8x16_u (local.get $r)) (i16x8.extend_high_i8x16_u (local.get $g))
              (i16x8.extend_high_i8x16_u (local.get $b)) (i32.const 0))
            (call $luma4 (i16x8.extend_high_i8x16_u (local.get $r)) (i16x8.extend_high_i8x16_u (local.get $g))
              (i16x8.extend_high_i8x16_u (local.get $b)) (i32.const 1))))
        (v128.store align=1 (local.get $dst) (i8x16.narrow_i16x8_u (local.get $lo) (local.get $hi)))
        (local.set $src (i32.add (local.get $src) (i32.const 48)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $blocks)))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (i32.store8 (local.get $dst)
          (i32.shr_u
            (i32.add
              (i32.add
                (i32.mul (i32.load8_u (local.get $src)) (i32.const 19595))
                (i32.mul (i32.load8_u offset=1 (local.get $src)) (i32.const 38470)))
              (i32.add
                (i32.mul (i32.load8_u offset=2 (local.get $src)) (i32.const 7471))
                (i32.const 32768)))
            (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 3)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (br $pixels))))

  ;; Luma of four pixels: lanes 0..3 (`$high` 0) or 4..7 (`$high` 1) of 16-bit R, G, B → i32x4.
  (func $luma4 (param $r v128) (param $g v128) (param $b v128) (param $high i32) (result v128)
    (if (result v128) (local.get $high)
      (then
        (i32x4.shr_u
          (i32x4.add
            (i32x4.add
              (i32x4.extmul_high_i16x8_u (local.get $r) (i16x8.splat (i32.const 19595)))
              (i32x4.extmul_high_i16x8_u (local.get $g) (i16x8.splat (i32.const 38470))))
            (i32x4.add
              (i32x4.extmul_high_i16x8_u (local.get $b) (i16x8.splat (i32.const 7471)))
              (i32x4.splat (i32.const 32768))))
          (i32.const 16)))
      (else
        (i32x4.shr_u
          (i32x4.add
            (i32x4.add
              (i32x4.extmul_low_i16x8_u (local.get $r) (i16x8.splat (i32.const 19595)))
              (i32x4.extmul_low_i16x8_u (local.get $g) (i16x8.splat (i32.const 38470))))
            (i32x4.add
              (i32x4.extmul_low_i16x8_u (local.get $b) (i16x8.splat (i32.const 7471)))
              (i32x4.splat (i32.const 32768))))
          (i32.const 16)))))

  ;; Vertical pass: rows of `rowLen` bytes packed at `src` → `outRows` rows packed at `dst`.
  ;; `bounds`: per output row [first source row (relative to `src`), tap count]; `weights` as above.
  (func (export "vertical")
    (param $src i32) (param $rowLen i32) (param $outRows i32) (param $dst i32)
    (param $bounds i32) (param $weights i32) (param $ksize i32)
    (local $r i32) (local $x i32) (local $p i32) (local $t i32) (local $taps i32) (local $rowBase i32)
    (local $kp i32) (local $o i32) (local $k v128) (local $v v128) (local $lo v128) (local $hi v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $outRows)))
        (local.set $rowBase
          (i32.add (local.get $src)
            (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $r) (i32.const 3)))) (local.get $rowLen))))
        (local.set $taps (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $r) (i32.const 3)))))
        (local.set $kp (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $r) (local.get $ksize)) (i32.const 2))))
        (local.set $o (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $rowLen))))
        (local.set $x (i32.const 0))
        (block $cols_done
          (loop $cols_loop
            (br_if $cols_done (i32.ge_u (local.get $x) (local.get $rowLen)))
            (local.set $a0 (v128.const i32x4 2097152 2097152 2097152 2097152))
            (local.set $a1 (local.get $a0))
            (local.set $a2 (local.get $a0))
            (local.set $a3 (local.get $a0))
            (local.set $p (i32.add (local.get $rowBase) (local.get $x)))
            (local.set $t (i32.const 0))
            (block $taps_done
              (loop $taps_loop
                (br_if $taps_done (i32.ge_u (local.get $t) (local.get $taps)))
                (local.set $k (i32x4.splat (i32.load (i32.add (local.get $kp) (i32.shl (local.get $t) (i32.const 2))))))
                (local.set $v (v128.load align=1 (local.get $p)))
                (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $k))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $k))))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $k))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $k))))
                (local.set $p (i32.add (local.get $p) (local.get $rowLen)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $taps_loop)))
            (v128.store align=1 (i32.add (local.get $o) (local.get $x))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_u
                  (i32x4.max_s (i32x4.shr_s (local.get $a0) (i32.const 22)) (v128.const i32x4 0 0 0 0))
                  (i32x4.max_s (i32x4.shr_s (local.get $a1) (i32.const 22)) (v128.const i32x4 0 0 0 0)))
                (i16x8.narrow_i32x4_u
                  (i32x4.max_s (i32x4.shr_s (local.get $a2) (i32.const 22)) (v128.const i32x4 0 0 0 0))
                  (i32x4.max_s (i32x4.shr_s (local.get $a3) (i32.const 22)) (v128.const i32x4 0 0 0 0)))))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (br $cols_loop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows_loop))))

  ;; Interleaved RGB bytes → channels-first float32 through a per-channel table: `n` pixels at `src`,
  ;; `lut` holds 3 × 256 float32 (R levels, then G, then B), and plane c of the answer (n float32) starts
  ;; at `dst + c·4n`. A table read per byte, so the values are exactly the table's.
  (func (export "planar_lut") (param $src i32) (param $n i32) (param $lut i32) (param $dst i32)
    (local $end i32) (local $g i32) (local $b i32)
    (local.set $g (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $b (i32.add (local.get $g) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $end (local.get $g))
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst)
          (f32.load (i32.add (local.get $lut) (i32.shl (i32.load8_u (local.get $src)) (i32.const 2)))))
        (f32.store (local.get $g)
          (f32.load offset=1024 (i32.add (local.get $lut) (i32.shl (i32.load8_u offset=1 (local.get $src)) (i32.const 2)))))
        (f32.store (local.get $b)
          (f32.load offset=2048 (i32.add (local.get $lut) (i32.shl (i32.load8_u offset=2 (local.get $src)) (i32.const 2)))))
        (local.set $src (i32.add (local.get $src) (i32.const 3)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 4)))
        (br $pixels))))
)
