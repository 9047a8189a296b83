//! Int8 linear layers on AVX-512 VNNI (`vpdpbusd`: 64 byte products per instruction, four
//! times float32's FMA rate).
//!
//! Weights are quantised once per output column (symmetric, scale = max |w| / 127).
//! Activations are quantised per row as they are produced, asymmetrically: unsigned bytes
//! u = (x − min) / s with s = (max − min) / 255, which `vpdpbusd` multiplies by the signed
//! weights directly. Asymmetric matters: GELU's outputs lie in [−0.17, ∞), so a symmetric
//! scale would leave half the codes unused, and on the parity items the empty text's cosine
//! to float32 would be 0.9906 where the asymmetric scale gives 0.995. With x = s·u + min,
//! each output is `(s · Σ u·q + min · Σ q) · w_scale + bias`: exact int32 accumulation, then
//! one rescale in the same pass that adds the bias.

#[cfg(test)]
use rayon::prelude::*;

// Register tiles: 6 rows × 4 vectors of 16 lanes = 24 accumulators.
use crate::cpu::tiles::{TC, TR, for_each_tile};

/// A linear layer `y = x · W + b` with int8 weights packed for the VNNI kernel.
pub struct QLinear {
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

/// Whether this CPU and build can run [`QLinear`].
pub fn available() -> bool {
    #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(all(feature = "avx512", target_arch = "x86_64")))]
    {
        false
    }
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
        let padded = dout.next_multiple_of(TC);
        let mut col_scale = vec![0f32; padded];
        let mut col_sum = vec![0f32; padded];
        let mut bias = vec![0f32; padded];
        bias[..dout].copy_from_slice(b);
        let mut q = vec![0i8; din * padded];
        for n in 0..dout {
            let max = (0..din).map(|k| w[k * dout + n].abs()).fold(0f32, f32::max);
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            col_scale[n] = scale;
            let mut sum = 0i32;
            for k in 0..din {
                let v = round(w[k * dout + n] / scale).clamp(-127.0, 127.0) as i8;
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
            packed,
            col_scale,
            col_sum,
            bias,
            din,
            dout,
        })
    }

    /// `out = x · W + b` for `x` of shape (rows, din); `out` becomes (rows, dout).
    /// Call only when [`available`] says so.
    #[cfg(test)]
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        let mut xq = QuantRows::default();
        xq.quantise(x, rows, self.din);
        self.forward_quantised(&xq, out);
    }

    /// `out = x · W + b` for rows already quantised (by [`QuantRows::quantise`] or by the
    /// pass that produced them); `out` becomes (rows, dout). Call only when [`available`]
    /// says so.
    pub fn forward_quantised(&self, xq: &QuantRows, out: &mut Vec<f32>) {
        let din = self.din;
        assert_eq!(xq.cols, din, "quantised rows of the wrong width");
        let rows = xq.rows;
        let (bytes, row_scale, row_min) = (&xq.bytes, &xq.scale, &xq.min);
        let dout = self.dout;
        for_each_tile(rows, dout, self.col_scale.len() / TC, out, |t| {
            // SAFETY: the tile reads rows r0..r0+6 of `bytes` (padded), block `t.block` of
            // `packed` and columns c0..c0+64 of the per-column vectors (padded), and writes
            // only rows < `rows` and columns < `dout` of its own tile of `out`.
            #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
            unsafe {
                kernel::tile(
                    bytes.as_ptr().add(t.r0 * din),
                    din,
                    self.packed.as_ptr().add(t.block * (din / 4) * TC * 4),
                    din / 4,
                    t.out,
                    dout,
                    t.rows,
                    t.cols,
                    row_scale.as_ptr().add(t.r0),
                    row_min.as_ptr().add(t.r0),
                    self.col_scale.as_ptr().add(t.c0),
                    self.col_sum.as_ptr().add(t.c0),
                    self.bias.as_ptr().add(t.c0),
                );
            }
            #[cfg(not(all(feature = "avx512", target_arch = "x86_64")))]
            let _ = (
                t,
                bytes,
                row_scale,
                row_min,
                dout,
                &self.packed,
                &self.col_sum,
                &self.bias,
            );
        });
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
mod kernel {
    use std::arch::x86_64::*;

    use super::{TC, TR};

    /// One 6 × 64 tile: int8 dot products over `groups` × 4 inputs, then
    /// `(acc · row_scale + row_min · col_sum) · col_scale + bias` stored for the first
    /// `rows` × `cols`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn tile(
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
    ) {
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
        if !available() {
            eprintln!("skipped: no AVX-512 VNNI on this CPU or build");
            return;
        }
        // Odd sizes: rows not a multiple of 6, columns not a multiple of 64.
        let (rows, din, dout) = (13, 40, 80);
        let (w, b, x) = crate::cpu::tiles::test_layer(rows, din, dout);
        let q = QLinear::new(&w, &b, din, dout).unwrap();
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
                // Rounding moves each weight by at most half a step (max / 127 / 2), each
                // input by at most range / 255 / 2.
                let bound: f32 = (0..din)
                    .map(|k| xr[k].abs() * max_w / 254.0 + col(k).abs() * range / 510.0)
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
