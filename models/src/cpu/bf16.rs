//! bfloat16 linear layers on AVX-512 BF16 (`vdpbf16ps`: 32 products per instruction, twice
//! float32's FMA rate), and, on CPUs without it, bfloat16 weights widened to float32 in the
//! kernel (AVX2 + FMA, or portable loops).
//!
//! Weights and activations are rounded to bfloat16 (float32's exponent, 8 significant bits;
//! round to nearest even); products are exact and summed in float32. Unlike int8, every
//! value keeps its own exponent, so the large outlier channels of BERT's hidden states cost
//! the other channels nothing: on the parity items the vectors stay within cosine 0.9999 of
//! float32, where int8 (one scale per row) loses about 0.01 on short texts.
//!
//! Widened, only the weights are bfloat16 (half the memory and cache traffic of float32's);
//! the activations stay float32 and every product is a float32 FMA, so this path is as exact
//! as the weights allow and about as fast as float32, no faster: it exists so that a
//! workspace embedded in bfloat16 on one machine can be searched on any other.

#[cfg(test)]
use rayon::prelude::*;

// Register tiles: 6 rows × 4 vectors of 16 lanes = 24 accumulators.
use crate::cpu::{
    float::row_pointers,
    path::KernelPath,
    simd::to_bf16,
    tiles::{TC, TR, for_each_tile},
};

/// bfloat16 → float32 (exact: the bits go on top).
fn widen(x: u16) -> f32 {
    f32::from_bits((x as u32) << 16)
}

/// Whether this CPU and build can run [`BLinear`]: always, natively or widened.
pub fn available() -> bool {
    true
}

/// Whether the path runs the AVX-512 BF16 kernel (bfloat16 activations too).
pub fn native() -> bool {
    #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
    {
        crate::cpu::path::avx512_with("bf16")
    }
    #[cfg(not(all(feature = "avx512", target_arch = "x86_64")))]
    {
        false
    }
}

/// Which kernel runs a [`BLinear`], fixed when its weights are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    /// `vdpbf16ps` on bfloat16 activations.
    Native,
    /// Weights widened with AVX2 ([`crate::cpu::float`]'s kernel), float32 activations.
    Avx2,
    /// Weights widened in portable loops, float32 activations.
    Portable,
}

/// A linear layer `y = x · W + b` with bfloat16 weights packed for the kernel.
pub struct BLinear {
    engine: Engine,
    /// Native: per 64-column block, per pair of inputs, 64 columns × 2 bfloat16. Widened:
    /// per 64-column block, per input, 64 bfloat16 in [`WIDEN_ORDER`] within each 16.
    packed: Vec<u16>,
    /// Padded to a multiple of 64.
    bias: Vec<f32>,
    /// Inputs; native: rounded up to even (the last one padded with a zero weight).
    din: usize,
    dout: usize,
}

/// The column (of 16) stored at each position of a widened group: `vpunpcklwd` and
/// `vpunpckhwd` widen words 0–3 and 8–11, then 4–7 and 12–15, so columns 0–7 go there.
const WIDEN_ORDER: [usize; 16] = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15];

impl BLinear {
    /// Rounds `w` (`(din, dout)` row-major) to bfloat16 and packs it; `b` has `dout` items.
    pub fn new(w: &[f32], b: &[f32], din: usize, dout: usize) -> Self {
        let engine = if native() {
            Engine::Native
        } else if cfg!(target_arch = "x86_64")
            && crate::cpu::path::kernel_path() >= KernelPath::Avx2
        {
            Engine::Avx2
        } else {
            Engine::Portable
        };
        if engine != Engine::Native {
            return Self::widened(engine, w, b, din, dout);
        }
        let padded = dout.next_multiple_of(TC);
        let pairs = din.div_ceil(2);
        let mut bias = vec![0f32; padded];
        bias[..dout].copy_from_slice(b);
        let mut packed = vec![0u16; pairs * 2 * padded];
        for cb in 0..padded / TC {
            for g in 0..pairs {
                for c in 0..TC {
                    let n = cb * TC + c;
                    for i in 0..2 {
                        let k = 2 * g + i;
                        if n < dout && k < din {
                            packed[((cb * pairs + g) * TC + c) * 2 + i] = to_bf16(w[k * dout + n]);
                        }
                    }
                }
            }
        }
        Self {
            engine,
            packed,
            bias,
            din: pairs * 2,
            dout,
        }
    }

    /// Packs for the widening kernels: per block, per input, 64 weights in
    /// [`WIDEN_ORDER`].
    fn widened(engine: Engine, w: &[f32], b: &[f32], din: usize, dout: usize) -> Self {
        let padded = dout.next_multiple_of(TC);
        let mut bias = vec![0f32; padded];
        bias[..dout].copy_from_slice(b);
        let mut packed = vec![0u16; din * padded];
        for block in 0..padded / TC {
            for k in 0..din {
                for p in 0..TC {
                    let n = block * TC + p / 16 * 16 + WIDEN_ORDER[p % 16];
                    if n < dout {
                        packed[(block * din + k) * TC + p] = to_bf16(w[k * dout + n]);
                    }
                }
            }
        }
        Self {
            engine,
            packed,
            bias,
            din,
            dout,
        }
    }

    /// Whether [`BLinear::forward`] (bfloat16 activations) runs this layer; otherwise
    /// [`BLinear::forward_f32`] does.
    pub fn reads_bf16(&self) -> bool {
        self.engine == Engine::Native
    }

    /// Width of the rows this layer reads (native: inputs rounded up to even).
    pub fn input_width(&self) -> usize {
        self.din
    }

    /// `out = x · W + b` with the weights widened, for `x` of shape (rows, din) in float32;
    /// `out` becomes (rows, dout). Only when [`BLinear::reads_bf16`] is false.
    pub fn forward_f32(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        assert!(
            !self.reads_bf16(),
            "a native bfloat16 layer reads bfloat16 rows"
        );
        let din = self.din;
        assert_eq!(x.len(), rows * din, "input of the wrong shape");
        let dout = self.dout;
        for_each_tile(rows, dout, self.bias.len() / TC, out, |t| {
            let a = row_pointers(x, din, &t);
            let w = &self.packed[t.block * din * TC..][..din * TC];
            let bias = &self.bias[t.c0..][..TC];
            #[cfg(target_arch = "x86_64")]
            if self.engine == Engine::Avx2 {
                // SAFETY: the path had AVX2 and FMA when this layer was packed; `a` holds six
                // rows of `din` floats, `w` the block's din × 64 weights, and the kernel
                // writes only the first rows × cols of its tile of `out` (stride `dout`).
                unsafe {
                    crate::cpu::float::avx2::tile::<true>(
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
            for (r, &row) in a.iter().enumerate().take(t.rows) {
                let mut acc = [0f32; TC];
                acc.copy_from_slice(bias);
                // SAFETY: `row` points to a row of `din` floats.
                let xr = unsafe { std::slice::from_raw_parts(row, din) };
                for (k, &xv) in xr.iter().enumerate() {
                    for (p, &wv) in w[k * TC..(k + 1) * TC].iter().enumerate() {
                        acc[p / 16 * 16 + WIDEN_ORDER[p % 16]] += xv * widen(wv);
                    }
                }
                // SAFETY: row r < rows and `cols` columns of this tile of `out`.
                unsafe { std::ptr::copy_nonoverlapping(acc.as_ptr(), t.out.add(r * dout), t.cols) };
            }
        });
    }

    /// `out = x · W + b`; `out` becomes (rows, dout). Only when [`BLinear::reads_bf16`].
    pub fn forward(&self, x: &BfRows, out: &mut Vec<f32>) {
        assert!(
            self.reads_bf16(),
            "a widened bfloat16 layer reads float32 rows"
        );
        let din = self.din;
        assert_eq!(x.cols, din, "bfloat16 rows of the wrong width");
        let rows = x.rows;
        let data = &x.data;
        let dout = self.dout;
        for_each_tile(rows, dout, self.bias.len() / TC, out, |t| {
            // SAFETY: the tile reads rows r0..r0+6 of `data` (padded to whole tiles), block
            // `t.block` of `packed` and columns c0..c0+64 of `bias` (padded), and writes only
            // rows < `rows` and columns < `dout` of its own tile of `out`.
            #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
            unsafe {
                kernel::tile(
                    data.as_ptr().add(t.r0 * din),
                    din,
                    self.packed.as_ptr().add(t.block * din * TC),
                    din / 2,
                    t.out,
                    dout,
                    t.rows,
                    t.cols,
                    self.bias.as_ptr().add(t.c0),
                );
            }
            #[cfg(not(all(feature = "avx512", target_arch = "x86_64")))]
            let _ = (t, data, dout, &self.packed);
        });
    }
}

/// Activations in bfloat16, row-major, padded with zero rows to a whole number of the
/// kernel's row tiles (and with a zero column to an even width).
#[derive(Default)]
pub struct BfRows {
    data: Vec<u16>,
    rows: usize,
    cols: usize,
}

impl BfRows {
    /// Sizes the buffer for `rows` × `cols` (`cols` even) and zeroes the padding rows.
    pub fn reset(&mut self, rows: usize, cols: usize) {
        debug_assert!(cols.is_multiple_of(2));
        self.rows = rows;
        self.cols = cols;
        self.data.resize(rows.next_multiple_of(TR) * cols, 0);
        self.data[rows * cols..].fill(0);
    }

    /// Chunks of `n` rows, for filling in parallel.
    pub fn rows_mut(&mut self, n: usize) -> std::slice::ChunksMut<'_, u16> {
        let end = self.rows * self.cols;
        self.data[..end].chunks_mut(n * self.cols)
    }

    /// Rounds `x` (`rows` × `width`, row-major, `width` ≤ `cols`) into these buffers.
    #[cfg(test)]
    pub fn convert(&mut self, x: &[f32], rows: usize, width: usize, cols: usize) {
        self.reset(rows, cols);
        let chunks: Vec<&mut [u16]> = self.rows_mut(16).collect();
        // Chunks of 16 rows: enough work per task to be worth a rayon split.
        chunks
            .into_par_iter()
            .zip(x.par_chunks(16 * width))
            .for_each(|(out, x)| {
                for (o, x) in out.chunks_exact_mut(cols).zip(x.chunks_exact(width)) {
                    crate::cpu::simd::to_bf16_row(x, o);
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

    /// One 6 × 64 tile: bfloat16 pair products over `pairs` × 2 inputs, summed in float32,
    /// plus the bias, stored for the first `rows` × `cols`.
    #[target_feature(enable = "avx512f,avx512bf16")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn tile(
        a: *const u16,
        lda: usize,
        b: *const u16,
        pairs: usize,
        out: *mut f32,
        ldo: usize,
        rows: usize,
        cols: usize,
        bias: *const f32,
    ) {
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); 4]; TR];
            for g in 0..pairs {
                let bp = b.add(g * TC * 2);
                let bv: [__m512bh; 4] = [
                    std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(bp as *const _)),
                    std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                        bp.add(32) as *const _
                    )),
                    std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                        bp.add(64) as *const _
                    )),
                    std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                        bp.add(96) as *const _
                    )),
                ];
                for (r, acc_r) in acc.iter_mut().enumerate() {
                    let av = std::mem::transmute::<__m512i, __m512bh>(_mm512_set1_epi32(
                        (a.add(r * lda + 2 * g) as *const i32).read_unaligned(),
                    ));
                    for (acc_rv, bvv) in acc_r.iter_mut().zip(&bv) {
                        *acc_rv = _mm512_dpbf16_ps(*acc_rv, av, *bvv);
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate().take(rows) {
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
                    let y = _mm512_add_ps(*acc_rv, _mm512_loadu_ps(bias.add(c0)));
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
    fn rounds_to_nearest_even() {
        assert_eq!(to_bf16(1.0), 0x3F80);
        assert_eq!(to_bf16(-2.0), 0xC000);
        // 1 + 2⁻⁸ is halfway between two bfloat16 values: ties go to the even one (1.0).
        assert_eq!(to_bf16(1.0 + 1.0 / 256.0), 0x3F80);
        // 1 + 3·2⁻⁸ is halfway too: the even neighbour is above.
        assert_eq!(to_bf16(1.0 + 3.0 / 256.0), 0x3F82);
        assert_eq!(to_bf16(1.0 + 1.0 / 128.0 + 1.0 / 1024.0), 0x3F81);
    }

    #[test]
    fn matches_float_matmul_within_rounding_error() {
        // Odd sizes: rows not a multiple of 6, columns not of 64, inputs odd.
        let (rows, din, dout) = (13, 41, 80);
        let (w, b, x) = crate::cpu::tiles::test_layer(rows, din, dout);
        let l = BLinear::new(&w, &b, din, dout);
        let mut got = Vec::new();
        if l.reads_bf16() {
            assert_eq!(l.input_width(), 42);
            let mut xb = BfRows::default();
            xb.convert(&x, rows, din, l.input_width());
            l.forward(&xb, &mut got);
        } else {
            assert_eq!(l.input_width(), 41);
            l.forward_f32(&x, rows, &mut got);
        }
        assert_eq!(got.len(), rows * dout);
        for r in 0..rows {
            for n in 0..dout {
                let terms = (0..din).map(|k| x[r * din + k] * w[k * dout + n]);
                let want: f32 = terms.clone().sum::<f32>() + b[n];
                // Each factor moves by at most 2⁻⁹ of itself.
                let bound: f32 = terms.map(|t| t.abs() * 2.0 * 2f32.powi(-8)).sum::<f32>() + 1e-4;
                let err = (got[r * dout + n] - want).abs();
                assert!(
                    err <= bound,
                    "({r}, {n}): {} vs {want}, bound {bound}",
                    got[r * dout + n]
                );
            }
        }
    }
}
