//! float32 linear layers on AVX2 + FMA, and the portable loop every path can fall back to.
//!
//! On AVX-512 CPUs the forward pass keeps gemm's float32 matmul; below that it runs this
//! kernel, so that `CONTROLMAP_CPU` decides the instructions end to end (gemm picks its own).
//! Weights are packed once into 64-column blocks, `din` rows of 64 floats each, so a tile
//! reads them as one stream. A 6 × 64 tile is computed as four 6 × 16 register tiles (12
//! accumulators, two weight vectors and one broadcast input: 15 of the 16 ymm registers, the
//! layout BLIS uses for Haswell), over chunks of [`KC`] inputs so that the tile's six input
//! rows stay in L1 while the weight stream comes from L2.

use crate::cpu::tiles::{TC, TR, Tile, for_each_tile};

/// Inputs per pass over a tile: six rows of 256 floats are 6 KiB, a fifth of L1.
const KC: usize = 256;

/// A linear layer `y = x · W + b` with float32 weights packed for [`tile`].
pub struct FLinear {
    /// Per 64-column block, per input: 64 weights (zero past `dout`).
    packed: Vec<f32>,
    /// Padded to a multiple of 64.
    bias: Vec<f32>,
    din: usize,
    dout: usize,
}

impl FLinear {
    /// Packs `w` (`(din, dout)` row-major); `b` has `dout` items.
    pub fn new(w: &[f32], b: &[f32], din: usize, dout: usize) -> Self {
        let padded = dout.next_multiple_of(TC);
        let mut bias = vec![0f32; padded];
        bias[..dout].copy_from_slice(b);
        let mut packed = vec![0f32; din * padded];
        for block in 0..padded / TC {
            for k in 0..din {
                let cols = dout.saturating_sub(block * TC).min(TC);
                let src = &w[k * dout + block * TC..][..cols];
                packed[(block * din + k) * TC..][..cols].copy_from_slice(src);
            }
        }
        Self {
            packed,
            bias,
            din,
            dout,
        }
    }

    /// `out = x · W + b` for `x` of shape (rows, din); `out` becomes (rows, dout).
    pub fn forward(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        let din = self.din;
        assert_eq!(x.len(), rows * din, "input of the wrong shape");
        let dout = self.dout;
        #[cfg(target_arch = "x86_64")]
        let avx2 = crate::cpu::path::avx2();
        for_each_tile(rows, dout, self.bias.len() / TC, out, |t| {
            let a = row_pointers(x, din, &t);
            let w = &self.packed[t.block * din * TC..][..din * TC];
            let bias = &self.bias[t.c0..][..TC];
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU has AVX2 and FMA (the path says so); `a` holds six pointers
                // to rows of `din` floats, `w` and `bias` are the block's, and `t.out` is
                // this tile's corner of the output (row stride `dout`), written only for the
                // first `t.rows` × `t.cols`.
                unsafe {
                    avx2::tile::<false>(
                        &a,
                        w.as_ptr().cast(),
                        din,
                        bias,
                        t.out,
                        dout,
                        t.rows,
                        t.cols,
                    )
                };
                return;
            }
            // SAFETY: as above, without the CPU requirement.
            unsafe { tile(&a, w, din, bias, t.out, dout, t.rows, t.cols) };
        });
    }
}

/// Pointers to the tile's six input rows; past the last row, the last row again (read but
/// never stored), so the kernels need no row count in their inner loop.
pub(crate) fn row_pointers<T>(x: &[T], width: usize, t: &Tile) -> [*const T; TR] {
    std::array::from_fn(|r| x[(t.r0 + r.min(t.rows - 1)) * width..].as_ptr())
}

/// The portable tile: the same sums as [`avx2::tile`], as plain loops.
///
/// # Safety
/// `a` points to six rows of `din` floats, `out` to `rows` rows (stride `ldo`) of at least
/// `cols` writable floats.
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    a: &[*const f32; TR],
    w: &[f32],
    din: usize,
    bias: &[f32],
    out: *mut f32,
    ldo: usize,
    rows: usize,
    cols: usize,
) {
    let mut acc = [[0f32; TC]; TR];
    for (r, acc) in acc.iter_mut().enumerate() {
        acc.copy_from_slice(bias);
        // SAFETY: the caller's contract.
        let x = unsafe { std::slice::from_raw_parts(a[r], din) };
        for (k, &xv) in x.iter().enumerate() {
            for (o, &wv) in acc.iter_mut().zip(&w[k * TC..(k + 1) * TC]) {
                *o += xv * wv;
            }
        }
    }
    for (r, acc) in acc.iter().enumerate().take(rows) {
        // SAFETY: the caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(acc.as_ptr(), out.add(r * ldo), cols) };
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::*;

    use super::{KC, TC, TR};

    /// One 6 × 64 tile, as four 6 × 16 register tiles per chunk of [`KC`] inputs; the first
    /// chunk starts from the bias, later ones from what the earlier ones stored. `w` is the
    /// block's `din` rows of 64 weights: float32, or with `BF16` bfloat16 in the order
    /// [`crate::cpu::bf16`] packs them for widening.
    ///
    /// # Safety
    /// AVX2 and FMA; as [`super::tile`], with `w` holding `din` × 64 weights.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn tile<const BF16: bool>(
        a: &[*const f32; TR],
        w: *const u8,
        din: usize,
        bias: &[f32],
        out: *mut f32,
        ldo: usize,
        rows: usize,
        cols: usize,
    ) {
        let size = if BF16 { 2 } else { 4 };
        let mut k0 = 0;
        while k0 < din {
            let k1 = (k0 + KC).min(din);
            for c0 in (0..cols).step_by(16) {
                let full = cols - c0 >= 16;
                // SAFETY: k < din and c0 + 16 ≤ 64 stay in the block; rows as the caller
                // promised; stores stay within `rows` × `cols`.
                unsafe {
                    let acc = micro::<BF16>(a, k0, k1 - k0, w.add((k0 * TC + c0) * size));
                    for r in 0..rows {
                        let o = out.add(r * ldo + c0);
                        let mut base = [0f32; 16];
                        if k0 == 0 {
                            base.copy_from_slice(&bias[c0..c0 + 16]);
                        } else {
                            std::ptr::copy_nonoverlapping(
                                o,
                                base.as_mut_ptr(),
                                (cols - c0).min(16),
                            );
                        }
                        let y0 = _mm256_add_ps(acc[2 * r], _mm256_loadu_ps(base.as_ptr()));
                        let y1 =
                            _mm256_add_ps(acc[2 * r + 1], _mm256_loadu_ps(base.as_ptr().add(8)));
                        if full {
                            _mm256_storeu_ps(o, y0);
                            _mm256_storeu_ps(o.add(8), y1);
                        } else {
                            _mm256_storeu_ps(base.as_mut_ptr(), y0);
                            _mm256_storeu_ps(base.as_mut_ptr().add(8), y1);
                            std::ptr::copy_nonoverlapping(base.as_ptr(), o, cols - c0);
                        }
                    }
                }
            }
            k0 = k1;
        }
    }

    /// Sixteen weights of input row `k` of a block (at `w`), as two vectors of eight.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn weights<const BF16: bool>(w: *const u8) -> (__m256, __m256) {
        // SAFETY: the caller's `w` points to 16 weights.
        unsafe {
            if BF16 {
                // bfloat16 is float32's top half: interleaving zeros below each weight widens
                // eight per instruction (within 128-bit lanes, which the packing order undoes).
                let raw = _mm256_loadu_si256(w as *const __m256i);
                let zero = _mm256_setzero_si256();
                (
                    _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, raw)),
                    _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, raw)),
                )
            } else {
                let w = w as *const f32;
                (_mm256_loadu_ps(w), _mm256_loadu_ps(w.add(8)))
            }
        }
    }

    /// The 6 × 16 register tile over inputs `k0..k0 + kc`: twelve named accumulators (an
    /// array of them spilled to the stack), rows as six advancing pointers.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn micro<const BF16: bool>(
        a: &[*const f32; TR],
        k0: usize,
        kc: usize,
        w: *const u8,
    ) -> [__m256; 2 * TR] {
        let step = TC * if BF16 { 2 } else { 4 };
        // SAFETY: the caller's rows have k0 + kc floats, `w` kc rows of the block.
        unsafe {
            let [a0, a1, a2, a3, a4, a5] = a.map(|p| p.add(k0));
            let z = _mm256_setzero_ps();
            let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21) = (z, z, z, z, z, z);
            let (mut c30, mut c31, mut c40, mut c41, mut c50, mut c51) = (z, z, z, z, z, z);
            let mut wp = w;
            for k in 0..kc {
                let (b0, b1) = weights::<BF16>(wp);
                wp = wp.add(step);
                let x = _mm256_broadcast_ss(&*a0.add(k));
                c00 = _mm256_fmadd_ps(x, b0, c00);
                c01 = _mm256_fmadd_ps(x, b1, c01);
                let x = _mm256_broadcast_ss(&*a1.add(k));
                c10 = _mm256_fmadd_ps(x, b0, c10);
                c11 = _mm256_fmadd_ps(x, b1, c11);
                let x = _mm256_broadcast_ss(&*a2.add(k));
                c20 = _mm256_fmadd_ps(x, b0, c20);
                c21 = _mm256_fmadd_ps(x, b1, c21);
                let x = _mm256_broadcast_ss(&*a3.add(k));
                c30 = _mm256_fmadd_ps(x, b0, c30);
                c31 = _mm256_fmadd_ps(x, b1, c31);
                let x = _mm256_broadcast_ss(&*a4.add(k));
                c40 = _mm256_fmadd_ps(x, b0, c40);
                c41 = _mm256_fmadd_ps(x, b1, c41);
                let x = _mm256_broadcast_ss(&*a5.add(k));
                c50 = _mm256_fmadd_ps(x, b0, c50);
                c51 = _mm256_fmadd_ps(x, b1, c51);
            }
            [c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel this CPU runs (and, under `CONTROLMAP_CPU=scalar`, the portable one)
    /// against a plain triple loop, on sizes that leave partial tiles and input chunks.
    #[test]
    fn matches_a_plain_matmul() {
        for (rows, din, dout) in [(13, 40, 80), (7, 300, 64), (1, 3, 5)] {
            let (w, b, x) = crate::cpu::tiles::test_layer(rows, din, dout);
            let l = FLinear::new(&w, &b, din, dout);
            let mut got = Vec::new();
            l.forward(&x, rows, &mut got);
            assert_eq!(got.len(), rows * dout);
            for r in 0..rows {
                for n in 0..dout {
                    let want: f64 = (0..din)
                        .map(|k| x[r * din + k] as f64 * w[k * dout + n] as f64)
                        .sum::<f64>()
                        + b[n] as f64;
                    let err = (got[r * dout + n] as f64 - want).abs();
                    assert!(err < 1e-3, "({r}, {n}): {} vs {want}", got[r * dout + n]);
                }
            }
        }
    }
}
