//! The element-wise row passes of the CPU forward pass (layer norm, GELU, softmax, int8
//! quantisation, bfloat16 rounding), compiled three times and chosen at run time: AVX-512,
//! AVX2 + FMA, and the portable baseline.
//!
//! A portable build targets x86-64 v1, where these loops get SSE2 at best, and there they are
//! about a third of the int8 forward pass on an AVX-512 CPU (the `erf` and `exp` of GELU and
//! softmax mostly). Each function's body is written once, as plain loops that LLVM
//! vectorises, and `#[target_feature]` wrappers let it use the wider registers where the CPU
//! has them, without `-C target-cpu=native`. Sums are taken over 16 lanes so that they
//! vectorise too (a strict left-to-right float sum cannot).

/// Width of the lane-wise accumulators in reductions.
const LANES: usize = 16;

/// Defines `pub fn $name` from one body, plus copies of it compiled for AVX-512 and AVX2,
/// picked by [`kernel_path`](crate::cpu::path::kernel_path) at each call (a cached load).
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
            #[allow(clippy::incompatible_msrv)]
            unsafe fn v4($($arg: $ty),*) $(-> $ret)? {
                imp($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn v3($($arg: $ty),*) $(-> $ret)? {
                imp($($arg),*)
            }

            #[cfg(all(feature = "avx512", target_arch = "x86_64"))]
            if crate::cpu::path::kernel_path() == crate::cpu::path::KernelPath::Avx512 {
                // SAFETY: the path is AVX-512 only on a CPU with the features `v4` needs.
                return unsafe { v4($($arg),*) };
            }
            #[cfg(target_arch = "x86_64")]
            if crate::cpu::path::avx2() {
                // SAFETY: the path is AVX2 or above only on a CPU with AVX2 and FMA.
                return unsafe { v3($($arg),*) };
            }
            imp($($arg),*)
        }
    };
}

#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The larger of two numbers as one `vmaxps` (`f32::max` adds NaN handling, which no value
/// here needs).
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if b > a { b } else { a }
}

/// The smaller of two numbers as one `vminps`.
#[inline(always)]
fn min_of(a: f32, b: f32) -> f32 {
    if b < a { b } else { a }
}

/// 1.5·2²³: adding it to |x| < 2²² leaves x rounded to nearest in the low mantissa bits.
const SHIFT: f32 = 12_582_912.0;

/// Round to nearest, as an integer, for |x| < 2²². Bit arithmetic rather than `as i32`,
/// whose saturating conversion does not vectorise (and f32::round is a libm call).
#[inline(always)]
fn round_to_int(x: f32) -> i32 {
    (x + SHIFT).to_bits() as i32 - SHIFT.to_bits() as i32
}

/// `e^x` to about 2 ulp for x in [-87, 88], without a libm call so loops vectorise:
/// x = n·ln2 + r, e^r by a degree-6 polynomial, 2^n through the exponent bits.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + SHIFT;
    let n = t - SHIFT;
    // ln 2 split in two for an exact product with n (Cody–Waite).
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    let e = t.to_bits() as i32 - SHIFT.to_bits() as i32;
    p * f32::from_bits(((e + 127) as u32) << 23)
}

/// erf(x) to about 1.5e-7 absolute (Abramowitz & Stegun 7.1.26).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let y = 1.0
        - t * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))))
            * exp(-a * a);
    y.copysign(x)
}

multiversion! {
    /// `row = LayerNorm(row + add) · gamma + beta` (`add` may be empty: no residual).
    pub fn layer_norm(row: &mut [f32], add: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
        if !add.is_empty() {
            for (a, b) in row.iter_mut().zip(add) {
                *a += b;
            }
        }
        let n = row.len() as f32;
        let mean = sum(row) / n;
        let mut acc = [0f32; LANES];
        let chunks = row.chunks_exact(LANES);
        let tail: f32 = chunks.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
        for c in chunks {
            for (a, v) in acc.iter_mut().zip(c) {
                *a += (v - mean) * (v - mean);
            }
        }
        let var = (acc.iter().sum::<f32>() + tail) / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

multiversion! {
    /// GELU with the exact erf, as BERT was trained
    /// (<https://github.com/huggingface/transformers/blob/main/src/transformers/activations.py>).
    pub fn gelu(x: &mut [f32]) {
        for v in x {
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    }
}

multiversion! {
    /// Softmax of one row, in place.
    pub fn softmax(row: &mut [f32]) {
        let mut m = [f32::NEG_INFINITY; LANES];
        let chunks = row.chunks_exact(LANES);
        let tail = chunks.remainder().iter().copied().fold(f32::NEG_INFINITY, max);
        for c in chunks {
            for (a, &v) in m.iter_mut().zip(c) {
                *a = max(*a, v);
            }
        }
        let top = m.iter().copied().fold(tail, max);
        let mut acc = [0f32; LANES];
        let mut chunks = row.chunks_exact_mut(LANES);
        for c in &mut chunks {
            for (a, v) in acc.iter_mut().zip(c) {
                *v = exp(*v - top);
                *a += *v;
            }
        }
        let mut total = 0.0;
        for v in chunks.into_remainder() {
            *v = exp(*v - top);
            total += *v;
        }
        let inv = 1.0 / (acc.iter().sum::<f32>() + total);
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}

multiversion! {
    /// Quantises one row to bytes for the int8 kernel, `q = (x − min) / scale` with
    /// `scale = (max − min) / 255` (see [`crate::cpu::int8`]); returns `(scale, min)`.
    pub fn quantise(x: &[f32], q: &mut [u8]) -> (f32, f32) {
        let mut lo = [f32::MAX; LANES];
        let mut hi = [f32::MIN; LANES];
        let chunks = x.chunks_exact(LANES);
        let (mut min, mut top) = (f32::MAX, f32::MIN);
        for &v in chunks.remainder() {
            min = min_of(min, v);
            top = max(top, v);
        }
        for c in chunks {
            for ((l, h), &v) in lo.iter_mut().zip(&mut hi).zip(c) {
                *l = min_of(*l, v);
                *h = max(*h, v);
            }
        }
        let min = lo.iter().copied().fold(min, min_of);
        let top = hi.iter().copied().fold(top, max);
        if top <= min {
            // A constant row (or an empty one): min alone says it.
            q.fill(0);
            return (0.0, if x.is_empty() { 0.0 } else { min });
        }
        let inv = 255.0 / (top - min);
        for (q, v) in q.iter_mut().zip(x) {
            *q = round_to_int(((v - min) * inv).clamp(0.0, 255.0)) as u8;
        }
        ((top - min) / 255.0, min)
    }
}

multiversion! {
    /// `x` rounded to bfloat16 into `out`; `out`'s items past `x.len()` become zero.
    pub fn to_bf16_row(x: &[f32], out: &mut [u16]) {
        for (o, &v) in out.iter_mut().zip(x) {
            *o = to_bf16(v);
        }
        out[x.len()..].fill(0);
    }
}

/// float32 → bfloat16, rounded to nearest even (finite inputs; no NaN reaches here).
#[inline(always)]
pub(crate) fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    (bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) >> 16) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_are_close_to_libm() {
        for i in -2000..=2000 {
            let x = i as f32 * 0.01;
            let (got, want) = (exp(x), x.exp());
            assert!(
                (got - want).abs() <= want * 1e-6,
                "exp({x}): {got} vs {want}"
            );
        }
        // Reference values of erf (Abramowitz & Stegun, table 7.1).
        for (x, want) in [
            (0.0f32, 0.0f32),
            (0.1, 0.112_462_92),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (2.0, 0.995_322_3),
            (-1.5, -0.966_105_1),
            (4.0, 0.999_999_98),
        ] {
            assert!((erf(x) - want).abs() < 3e-7, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        // Longer than one lane block, so the vector and tail paths both run.
        let mut row: Vec<f32> = (0..37).map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.0).collect();
        let want: Vec<f32> = {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
            let s: f32 = e.iter().sum();
            e.iter().map(|v| v / s).collect()
        };
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        for (g, w) in row.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
    }

    #[test]
    fn layer_norm_matches_the_textbook_formula() {
        let h = 40;
        let x: Vec<f32> = (0..h)
            .map(|i| (i as f32 * 0.37).sin() * 3.0 + 1.0)
            .collect();
        let add: Vec<f32> = (0..h).map(|i| i as f32 * 0.01).collect();
        let gamma: Vec<f32> = (0..h).map(|i| 1.0 + i as f32 * 0.02).collect();
        let beta: Vec<f32> = (0..h).map(|i| -(i as f32) * 0.03).collect();
        let s: Vec<f64> = x.iter().zip(&add).map(|(a, b)| (a + b) as f64).collect();
        let mean = s.iter().sum::<f64>() / h as f64;
        let var = s.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / h as f64;
        let mut got = x.clone();
        layer_norm(&mut got, &add, &gamma, &beta, 1e-12);
        for i in 0..h {
            let want = (s[i] - mean) / var.sqrt() * gamma[i] as f64 + beta[i] as f64;
            assert!(
                (got[i] as f64 - want).abs() < 1e-5,
                "{i}: {} vs {want}",
                got[i]
            );
        }
    }

    #[test]
    fn quantise_keeps_each_value_within_half_a_step() {
        // Skewed like GELU's outputs: the codes must span min..max, not -max..max.
        let x: Vec<f32> = (0..50).map(|i| (i as f32 - 5.0) * 0.13).collect();
        let mut q = vec![0u8; x.len()];
        let (scale, min) = quantise(&x, &mut q);
        assert!((scale - 49.0 * 0.13 / 255.0).abs() < 1e-6);
        assert_eq!(min, -5.0 * 0.13);
        assert_eq!((q[0], q[49]), (0, 255));
        for (v, &b) in x.iter().zip(&q) {
            let back = b as f32 * scale + min;
            assert!(
                (back - v).abs() <= scale / 2.0 + 1e-6,
                "{v} came back as {back}"
            );
        }
        let mut flat = vec![7u8; 3];
        assert_eq!(quantise(&[0.5; 3], &mut flat), (0.0, 0.5));
        assert_eq!(flat, [0; 3]);
    }

    #[test]
    fn gelu_matches_its_definition() {
        let mut x: Vec<f32> = (-40..40).map(|i| i as f32 * 0.1).collect();
        let want: Vec<f32> = x
            .iter()
            .map(|&v| 0.5 * v * (1.0 + erf(v / std::f32::consts::SQRT_2)))
            .collect();
        gelu(&mut x);
        for (a, w) in x.iter().zip(&want) {
            assert!((a - w).abs() < 1e-6, "{a} vs {w}");
        }
    }
}
