//! Int8 linear layers on AVX-512 VNNI (`vpdpbusd`: 64 byte products per instruction, four
//! times float32's FMA rate), on AVX2 (`vpmaddubsw` + `vpmaddwd`, as oneDNN and FBGEMM do
//! without VNNI), and as portable integer loops.
//!
//! Weights are quantised once per output column (symmetric, scale = max |w| / 127).
//! Activations are quantised per row as they are produced, asymmetrically: unsigned bytes
//! u = (x − min) / s with s = (max − min) / 255, which `vpdpbusd` multiplies by the signed
//! weights directly. Asymmetric matters: GELU's outputs lie in [−0.17, ∞), so a symmetric
//! scale would leave half the codes unused, and on the parity items the empty text's cosine
//! to float32 would be 0.9906 where the asymmetric scale gives 0.995. With x = s·u + min,
//! each output is `(s · Σ u·q + min · Σ q) · w_scale + bias`: exact int32 accumulation, then
//! one rescale in the same pass that adds the bias.
//!
//! AVX2 has no `vpdpbusd`: `vpmaddubsw` multiplies u8 × i8 and adds neighbouring pairs into
//! *saturating* i16, then `vpmaddwd` by ones adds those pairs into i32 (the same four-byte
//! groups as VNNI, so the packing is shared). A pair of 255 × 127 products (64 770) would
//! saturate, so on this path the weights are quantised to ±64 instead of ±127 (oneDNN's
//! choice on AVX2): 2 · 255 · 64 = 32 640 fits. We keep all 8 bits of the activations rather
//! than the weights (FBGEMM's `reduce_range` keeps 7-bit activations) because an activation
//! row shares one scale with its outlier channels while each weight column has its own
//! scale, so the activations are where a lost bit costs most.

#[cfg(test)]
use rayon::prelude::*;

// Register tiles: 6 rows × 4 vectors of 16 lanes = 24 accumulators.
use crate::cpu::tiles::{TC, TR, for_each_tile};

/// Which kernel runs a [`QLinear`], fixed when its weights are quantised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Vnni,
    Avx2,
    Portable,
}

impl Engine {
    fn of_path() -> Self {
        #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
        if crate::cpu::path::avx512_with("vnni") {
            return Self::Vnni;
        }
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::path::avx2() {
            return Self::Avx2;
        }
        Self::Portable
    }

    /// The largest weight code: ±64 where `vpmaddubsw` would saturate (module doc).
    fn weight_levels(self) -> f32 {
        if self == Self::Avx2 { 64.0 } else { 127.0 }
    }
}

/// A linear layer `y = x · W + b` with int8 weights packed for the kernels.
pub struct QLinear {
    engine: Engine,
    /// Per 64-column block, per group of 4 inputs: 64 columns × 4 bytes.
    packed: Vec<i8>,
    /// Per output column (padded to a multiple of 64): the weight scale, the sum of
    /// the column's int8 weights, and the bias.
    col_scale: Vec<f32>,
    col_sum: Vec<f32>,
    bias: Vec<f32>,
    din: usize,
    dout: usize,
}

/// The int8 kernel this process runs: `vnni`, `avx2` (weights on ±64) or `portable`. Each
/// rounds differently, so each gives slightly different vectors.
pub fn kernel() -> &'static str {
    match Engine::of_path() {
        Engine::Vnni => "vnni",
        Engine::Avx2 => "avx2",
        Engine::Portable => "portable",
    }
}

/// Whether this CPU and build can run [`QLinear`]: always, on one kernel or another.
pub fn available() -> bool {
    true
}

/// Round to nearest, vectorisable (f32::round is a libm call).
#[inline(always)]
fn round(x: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0;
    (x + SHIFT) - SHIFT
}

impl QLinear {
    /// Quantises `w` (`(din, dout)` row-major) and `b` (`dout`). `None` when `din` is not a
    /// multiple of 4.
    pub fn new(w: &[f32], b: &[f32], din: usize, dout: usize) -> Option<Self> {
        if !din.is_multiple_of(4) || din == 0 {
            return None;
        }
        let engine = Engine::of_path();
        let levels = engine.weight_levels();
        let padded = dout.next_multiple_of(TC);
        let mut col_scale = vec![0f32; padded];
        let mut col_sum = vec![0f32; padded];
        let mut bias = vec![0f32; padded];
        bias[..dout].copy_from_slice(b);
        let mut q = vec![0i8; din * padded];
        for n in 0..dout {
            let max = (0..din).map(|k| w[k * dout + n].abs()).fold(0f32, f32::max);
            let scale = if max > 0.0 { max / levels } else { 1.0 };
            col_scale[n] = scale;
            let mut sum = 0i32;
            for k in 0..din {
                let v = round(w[k * dout + n] / scale).clamp(-levels, levels) as i8;
                q[k * padded + n] = v;
                sum += v as i32;
            }
            col_sum[n] = sum as f32;
        }
        let groups = din / 4;
        let mut packed = vec![0i8; din * padded];
        for cb in 0..padded / TC {
            for g in 0..groups {
                for c in 0..TC {
                    for i in 0..4 {
                        packed[((cb * groups + g) * TC + c) * 4 + i] =
                            q[(4 * g + i) * padded + cb * TC + c];
                    }
                }
            }
        }
        Some(Self {
            engine,
            packed,
            col_scale,
            col_sum,
            bias,
            din,
            dout,
        })
    }

    /// `out = x · W + b` for `x` of shape (rows, din); `out` becomes (rows, dout).
    #[cfg(test)]
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        let mut xq = QuantRows::default();
        xq.quantise(x, rows, self.din);
        self.forward_quantised(&xq, out);
    }

    /// `out = x · W + b` for rows already quantised (by [`QuantRows::quantise`] or by the
    /// pass that produced them); `out` becomes (rows, dout).
    pub fn forward_quantised(&self, xq: &QuantRows, out: &mut Vec<f32>) {
        let din = self.din;
        assert_eq!(xq.cols, din, "quantised rows of the wrong width");
        let rows = xq.rows;
        let (bytes, row_scale, row_min) = (&xq.bytes, &xq.scale, &xq.min);
        let dout = self.dout;
        let engine = self.engine;
        for_each_tile(rows, dout, self.col_scale.len() / TC, out, |t| {
            let tile = Tile {
                a: bytes[t.r0 * din..].as_ptr(),
                lda: din,
                b: self.packed[t.block * din * TC..].as_ptr(),
                groups: din / 4,
                out: t.out,
                ldo: dout,
                rows: t.rows,
                cols: t.cols,
                row_scale: row_scale[t.r0..].as_ptr(),
                row_min: row_min[t.r0..].as_ptr(),
                col_scale: self.col_scale[t.c0..].as_ptr(),
                col_sum: self.col_sum[t.c0..].as_ptr(),
                bias: self.bias[t.c0..].as_ptr(),
            };
            // SAFETY: the tile reads rows r0..r0+6 of `bytes` (padded), block `t.block` of
            // `packed` and columns c0..c0+64 of the per-column vectors (padded), and writes
            // only rows < `rows` and columns < `dout` of its own tile of `out`; each kernel
            // runs only on the path that has its instructions (`Engine::of_path`).
            unsafe {
                match engine {
                    #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
                    Engine::Vnni => vnni::tile(&tile),
                    #[cfg(target_arch = "x86_64")]
                    Engine::Avx2 => avx2::tile(&tile),
                    _ => portable(&tile),
                }
            }
        });
    }
}

/// One 6 × 64 tile's operands: six rows of `groups` × 4 bytes from `a` (stride `lda`), the
/// 64-column block of packed weights at `b`, and the tile's corner of the output (stride
/// `ldo`), of which the first `rows` × `cols` are written.
#[derive(Clone, Copy)]
struct Tile {
    a: *const u8,
    lda: usize,
    b: *const i8,
    groups: usize,
    out: *mut f32,
    ldo: usize,
    rows: usize,
    cols: usize,
    row_scale: *const f32,
    row_min: *const f32,
    col_scale: *const f32,
    col_sum: *const f32,
    bias: *const f32,
}

/// The output `(acc · row_scale + row_min · col_sum) · col_scale + bias` of row `r`, column
/// `c` (the module doc's formula).
///
/// # Safety
/// `r` < 6 and `c` < 64 within the tile's vectors.
#[inline(always)]
unsafe fn rescale(t: &Tile, r: usize, c: usize, acc: i32) -> f32 {
    // SAFETY: the caller's contract.
    unsafe {
        (acc as f32 * *t.row_scale.add(r) + *t.row_min.add(r) * *t.col_sum.add(c))
            * *t.col_scale.add(c)
            + *t.bias.add(c)
    }
}

/// The portable tile: exact i32 sums of the same products, then [`rescale`].
///
/// # Safety
/// As [`Tile`] says.
unsafe fn portable(t: &Tile) {
    for r in 0..t.rows {
        let mut acc = [0i32; TC];
        for g in 0..t.groups {
            // SAFETY: the tile's rows and block (see `Tile`).
            let (a, b) = unsafe {
                (
                    std::slice::from_raw_parts(t.a.add(r * t.lda + 4 * g), 4),
                    std::slice::from_raw_parts(t.b.add(g * TC * 4), TC * 4),
                )
            };
            for (acc, b) in acc.iter_mut().zip(b.chunks_exact(4)) {
                *acc += (0..4).map(|i| a[i] as i32 * b[i] as i32).sum::<i32>();
            }
        }
        for (c, &acc) in acc.iter().enumerate().take(t.cols) {
            // SAFETY: as above; (r, c) is within the tile's first rows × cols.
            unsafe { *t.out.add(r * t.ldo + c) = rescale(t, r, c, acc) };
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{TC, TR, Tile, rescale};

    /// One 6 × 64 tile as four 6 × 16 register tiles (12 i32 accumulators of 8 columns): per
    /// group of 4 inputs, `vpmaddubsw` (u8 × i8, pairs summed into i16, which cannot
    /// saturate with ±64 weights) then `vpmaddwd` by ones (pairs into i32).
    ///
    /// # Safety
    /// AVX2 and FMA; as [`Tile`] says.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn tile(t: &Tile) {
        // SAFETY: the tile's rows and block (see `Tile`).
        unsafe {
            let ones = _mm256_set1_epi16(1);
            for c0 in (0..t.cols).step_by(16) {
                let mut acc = [[_mm256_setzero_si256(); 2]; TR];
                for g in 0..t.groups {
                    let bp = t.b.add(g * TC * 4 + c0 * 4);
                    let b0 = _mm256_loadu_si256(bp as *const __m256i);
                    let b1 = _mm256_loadu_si256(bp.add(32) as *const __m256i);
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let a = (t.a.add(r * t.lda + 4 * g) as *const i32).read_unaligned();
                        let av = _mm256_set1_epi32(a);
                        let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(av, b0), ones);
                        let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(av, b1), ones);
                        acc[0] = _mm256_add_epi32(acc[0], p0);
                        acc[1] = _mm256_add_epi32(acc[1], p1);
                    }
                }
                for (r, acc) in acc.iter().enumerate().take(t.rows) {
                    let s = _mm256_set1_ps(*t.row_scale.add(r));
                    let m = _mm256_set1_ps(*t.row_min.add(r));
                    for (v, acc) in acc.iter().enumerate() {
                        let c = c0 + 8 * v;
                        if c >= t.cols {
                            break;
                        }
                        let o = t.out.add(r * t.ldo + c);
                        if t.cols - c >= 8 {
                            let x = _mm256_fmadd_ps(
                                _mm256_cvtepi32_ps(*acc),
                                s,
                                _mm256_mul_ps(m, _mm256_loadu_ps(t.col_sum.add(c))),
                            );
                            let y = _mm256_fmadd_ps(
                                x,
                                _mm256_loadu_ps(t.col_scale.add(c)),
                                _mm256_loadu_ps(t.bias.add(c)),
                            );
                            _mm256_storeu_ps(o, y);
                        } else {
                            let mut lanes = [0i32; 8];
                            _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, *acc);
                            for (i, &l) in lanes.iter().enumerate().take(t.cols - c) {
                                *o.add(i) = rescale(t, r, c + i, l);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Activations quantised row by row for [`QLinear`] (see the module doc): bytes, and each
/// row's scale and minimum; padded with zero rows to a whole number of the kernel's row
/// tiles.
#[derive(Default)]
pub struct QuantRows {
    bytes: Vec<u8>,
    scale: Vec<f32>,
    min: Vec<f32>,
    rows: usize,
    cols: usize,
}

/// A run of consecutive rows of a [`QuantRows`], to fill in parallel with the others.
pub struct QuantChunk<'a> {
    bytes: &'a mut [u8],
    scale: &'a mut [f32],
    min: &'a mut [f32],
}

impl QuantChunk<'_> {
    /// Quantises `row` into row `r` of this chunk.
    pub fn put(&mut self, r: usize, row: &[f32]) {
        let w = row.len();
        (self.scale[r], self.min[r]) =
            crate::cpu::simd::quantise(row, &mut self.bytes[r * w..(r + 1) * w]);
    }
}

impl QuantRows {
    /// Sizes the buffers for `rows` × `cols` and zeroes the padding rows; the rows themselves
    /// are left for the caller to fill through [`QuantRows::chunks`].
    pub fn reset(&mut self, rows: usize, cols: usize) {
        let padded = rows.next_multiple_of(TR);
        self.rows = rows;
        self.cols = cols;
        for v in [&mut self.scale, &mut self.min] {
            v.resize(padded, 0.0);
            v[rows..].fill(0.0);
        }
        self.bytes.resize(padded * cols, 0);
        self.bytes[rows * cols..].fill(0);
    }

    /// Chunks of `n` rows, for filling in parallel.
    pub fn chunks(&mut self, n: usize) -> impl Iterator<Item = QuantChunk<'_>> {
        let rows = self.rows;
        self.bytes[..rows * self.cols]
            .chunks_mut(n * self.cols)
            .zip(self.scale[..rows].chunks_mut(n))
            .zip(self.min[..rows].chunks_mut(n))
            .map(|((bytes, scale), min)| QuantChunk { bytes, scale, min })
    }

    /// Quantises `x` (`rows` × `cols`, row-major) into these buffers.
    #[cfg(test)]
    pub fn quantise(&mut self, x: &[f32], rows: usize, cols: usize) {
        self.reset(rows, cols);
        let chunks: Vec<_> = self.chunks(16).collect();
        chunks
            .into_par_iter()
            .zip(x.par_chunks(16 * cols))
            .for_each(|(mut q, x)| {
                for (r, x) in x.chunks_exact(cols).enumerate() {
                    q.put(r, x);
                }
            });
    }
}

// AVX-512 intrinsics are stable from Rust 1.89; the `avx512` feature that compiles this
// module is documented as needing 1.89 (the workspace's 1.88 builds without it).
#[cfg(all(feature = "avx512", target_arch = "x86_64"))]
#[allow(clippy::incompatible_msrv)]
mod vnni {
    use std::arch::x86_64::*;

    use super::{TC, TR, Tile};

    /// One 6 × 64 tile: int8 dot products over `groups` × 4 inputs, then
    /// `(acc · row_scale + row_min · col_sum) · col_scale + bias` stored for the first
    /// `rows` × `cols`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn tile(t: &Tile) {
        let Tile {
            a,
            lda,
            b,
            groups,
            out,
            ldo,
            rows,
            cols,
            row_scale,
            row_min,
            col_scale,
            col_sum,
            bias,
        } = *t;
        unsafe {
            let mut acc = [[_mm512_setzero_si512(); 4]; TR];
            for g in 0..groups {
                let bp = b.add(g * TC * 4);
                let bv = [
                    _mm512_loadu_si512(bp as *const _),
                    _mm512_loadu_si512(bp.add(64) as *const _),
                    _mm512_loadu_si512(bp.add(128) as *const _),
                    _mm512_loadu_si512(bp.add(192) as *const _),
                ];
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let av =
                        _mm512_set1_epi32((a.add(r * lda + 4 * g) as *const i32).read_unaligned());
                    for (acc_rv, bvv) in acc_r.iter_mut().zip(&bv) {
                        *acc_rv = _mm512_dpbusd_epi32(*acc_rv, av, *bvv);
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate().take(rows) {
                let s = _mm512_set1_ps(*row_scale.add(r));
                let m = _mm512_set1_ps(*row_min.add(r));
                for (v, acc_rv) in acc_r.iter().enumerate() {
                    let c0 = v * 16;
                    if c0 >= cols {
                        break;
                    }
                    let mask: __mmask16 = if cols - c0 >= 16 {
                        0xFFFF
                    } else {
                        (1u16 << (cols - c0)) - 1
                    };
                    let t = _mm512_fmadd_ps(
                        _mm512_cvtepi32_ps(*acc_rv),
                        s,
                        _mm512_mul_ps(m, _mm512_loadu_ps(col_sum.add(c0))),
                    );
                    let y = _mm512_fmadd_ps(
                        t,
                        _mm512_loadu_ps(col_scale.add(c0)),
                        _mm512_loadu_ps(bias.add(c0)),
                    );
                    _mm512_mask_storeu_ps(out.add(r * ldo + c0), mask, y);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_float_matmul_within_quantisation_error() {
        // Odd sizes: rows not a multiple of 6, columns not a multiple of 64.
        let (rows, din, dout) = (13, 40, 80);
        let (w, b, x) = crate::cpu::tiles::test_layer(rows, din, dout);
        let q = QLinear::new(&w, &b, din, dout).unwrap();
        let levels = q.engine.weight_levels();
        let mut got = Vec::new();
        q.forward(&x, rows, &mut got);
        assert_eq!(got.len(), rows * dout);
        for r in 0..rows {
            let xr = &x[r * din..(r + 1) * din];
            let range = xr.iter().fold(f32::MIN, |m, &v| m.max(v))
                - xr.iter().fold(f32::MAX, |m, &v| m.min(v));
            for n in 0..dout {
                let col = |k: usize| w[k * dout + n];
                let max_w = (0..din).fold(0f32, |m, k| m.max(col(k).abs()));
                let want: f32 = (0..din).map(|k| xr[k] * col(k)).sum::<f32>() + b[n];
                // Rounding moves each weight by at most half a step (max / levels / 2), each
                // input by at most range / 255 / 2.
                let bound: f32 = (0..din)
                    .map(|k| xr[k].abs() * max_w / levels / 2.0 + col(k).abs() * range / 510.0)
                    .sum::<f32>()
                    + 1e-4;
                let err = (got[r * dout + n] - want).abs();
                assert!(
                    err <= bound,
                    "({r}, {n}): {} vs {want}, bound {bound}",
                    got[r * dout + n]
                );
            }
        }
        assert!(QLinear::new(&w, &b, 3, 1).is_none());
    }
}
