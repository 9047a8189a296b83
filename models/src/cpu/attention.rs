//! Scaled dot-product attention of packed sequences, one task per (sequence, head), with
//! its own small kernels rather than two general matmul calls per task.
//!
//! On real passages (78 tokens on average) each head's matmuls are 78 × 78 × 32: a general
//! matmul spends as long deciding how to split such a product as computing it. Here each
//! head's keys are transposed once into a `(head dim, length)` scratch, then four queries at
//! a time get their scores (four accumulators of 8 keys, FMA over the head dimension), their
//! softmax while the rows are in L1, and their context (two queries × 32 columns of V at a
//! time). Q, K and V are read in place from the fused QKV output.

use rayon::prelude::*;

use crate::cpu::simd;

/// Queries per block: their score rows (4 × 256 floats at most) stay in L1.
const QB: usize = 4;

struct SendPtr(*mut f32);
// SAFETY: tasks write disjoint parts of the buffer behind the pointer (see `attention`).
unsafe impl Sync for SendPtr {}
unsafe impl Send for SendPtr {}

/// One head of one sequence: where its Q, K and V start (row stride `3 · hidden`), its
/// length, head width and output.
struct Head {
    q: *const f32,
    k: *const f32,
    v: *const f32,
    stride: usize,
    len: usize,
    dh: usize,
    scale: f32,
    out: *mut f32,
    ldo: usize,
}

/// Attention of each sequence (`offsets`: first row, length) with itself; `qkv` is
/// (rows, 3 · hidden) with Q, K, V side by side, `ctx` (rows, hidden) gets each head's output
/// in its columns.
pub(crate) fn attention(
    qkv: &[f32],
    offsets: &[(usize, usize)],
    hidden: usize,
    heads: usize,
    ctx: &mut [f32],
) {
    let h = hidden;
    let dh = h / heads;
    let scale = 1.0 / (dh as f32).sqrt();
    assert!(qkv.len() >= offsets.iter().map(|&(o, l)| o + l).max().unwrap_or(0) * 3 * h);
    assert_eq!(qkv.len() / 3, ctx.len());
    let ctx_ptr = SendPtr(ctx.as_mut_ptr());
    #[cfg(target_arch = "x86_64")]
    let avx2 = crate::cpu::path::avx2() && dh.is_multiple_of(8);
    let tasks: Vec<(usize, usize, usize)> = offsets
        .iter()
        .flat_map(|&(o, len)| (0..heads).map(move |hd| (o, len, hd)))
        .collect();
    tasks.par_iter().for_each_init(
        || (Vec::new(), Vec::new()),
        |(kt, p), &(o, len, hd)| {
            let ctx_ptr = &ctx_ptr;
            let head = Head {
                q: qkv[o * 3 * h + hd * dh..].as_ptr(),
                k: qkv[o * 3 * h + h + hd * dh..].as_ptr(),
                v: qkv[o * 3 * h + 2 * h + hd * dh..].as_ptr(),
                stride: 3 * h,
                len,
                dh,
                scale,
                out: ctx_ptr.0.wrapping_add(o * h + hd * dh),
                ldo: h,
            };
            // SAFETY: the sequence's rows lie within `qkv` (asserted above), and this task
            // alone writes this head's `dh` columns of the sequence's rows of `ctx`.
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: as above, on a CPU with AVX2 and FMA (the path says so).
                unsafe { avx2::head(&head, kt, p) };
                return;
            }
            unsafe { portable(&head, kt, p) };
        },
    );
}

/// Keys of one head transposed into `kt` (`dh` rows of `n` floats, zero past `len`).
///
/// # Safety
/// `head.k` points to `len` rows (stride `head.stride`) of `dh` floats.
unsafe fn transpose_keys(head: &Head, n: usize, kt: &mut Vec<f32>) {
    kt.clear();
    kt.resize(head.dh * n, 0.0);
    for j in 0..head.len {
        // SAFETY: the caller's contract.
        let row = unsafe { std::slice::from_raw_parts(head.k.add(j * head.stride), head.dh) };
        for (d, &x) in row.iter().enumerate() {
            kt[d * n + j] = x;
        }
    }
}

/// The portable kernel: the same steps as [`avx2::head`], as plain loops.
///
/// # Safety
/// `head`'s pointers cover its `len` rows; nothing else writes its output columns.
unsafe fn portable(head: &Head, kt: &mut Vec<f32>, p: &mut Vec<f32>) {
    let (len, dh) = (head.len, head.dh);
    // SAFETY: the caller's contract.
    unsafe { transpose_keys(head, len, kt) };
    p.clear();
    p.resize(len, 0.0);
    let mut acc = vec![0f32; dh];
    for i in 0..len {
        // SAFETY: the caller's contract.
        let q = unsafe { std::slice::from_raw_parts(head.q.add(i * head.stride), dh) };
        p.fill(0.0);
        for (d, &qd) in q.iter().enumerate() {
            for (s, &k) in p.iter_mut().zip(&kt[d * len..(d + 1) * len]) {
                *s += qd * k;
            }
        }
        p.iter_mut().for_each(|s| *s *= head.scale);
        simd::softmax(p);
        acc.fill(0.0);
        for (j, &pj) in p.iter().enumerate() {
            // SAFETY: the caller's contract.
            let v = unsafe { std::slice::from_raw_parts(head.v.add(j * head.stride), dh) };
            for (a, &x) in acc.iter_mut().zip(v) {
                *a += pj * x;
            }
        }
        // SAFETY: the caller's contract.
        unsafe { std::ptr::copy_nonoverlapping(acc.as_ptr(), head.out.add(i * head.ldo), dh) };
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Head, QB, simd, transpose_keys};

    /// One head: scores, softmax and context, [`QB`] queries at a time.
    ///
    /// # Safety
    /// AVX2 and FMA; `head.dh` a multiple of 8; as [`super::portable`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn head(head: &Head, kt: &mut Vec<f32>, p: &mut Vec<f32>) {
        let (len, dh) = (head.len, head.dh);
        let n = len.next_multiple_of(8);
        // SAFETY: the caller's contract.
        unsafe { transpose_keys(head, n, kt) };
        p.clear();
        p.resize(QB * n, 0.0);
        let kt = kt.as_ptr();
        let scale = _mm256_set1_ps(head.scale);
        for i0 in (0..len).step_by(QB) {
            let nr = (len - i0).min(QB);
            // Past the last query, the last again (computed, never stored).
            let q: [*const f32; QB] =
                std::array::from_fn(|r| head.q.wrapping_add((i0 + r.min(nr - 1)) * head.stride));
            // SAFETY: `kt` is dh × n, `p` QB × n, the query rows are the caller's.
            unsafe {
                for j0 in (0..n).step_by(8) {
                    let mut acc = [_mm256_setzero_ps(); QB];
                    for d in 0..dh {
                        let kv = _mm256_loadu_ps(kt.add(d * n + j0));
                        for (r, acc) in acc.iter_mut().enumerate() {
                            *acc = _mm256_fmadd_ps(_mm256_broadcast_ss(&*q[r].add(d)), kv, *acc);
                        }
                    }
                    for (r, acc) in acc.iter().enumerate() {
                        _mm256_storeu_ps(
                            p.as_mut_ptr().add(r * n + j0),
                            _mm256_mul_ps(*acc, scale),
                        );
                    }
                }
            }
            for r in 0..nr {
                simd::softmax(&mut p[r * n..r * n + len]);
            }
            for r in (0..nr).step_by(2) {
                let rows = [r, (r + 1).min(nr - 1)];
                let mut c0 = 0;
                while c0 < dh {
                    // SAFETY: as above; columns c0.. of V and of the output are the head's.
                    unsafe {
                        if dh - c0 >= 32 {
                            context::<4>(head, p, n, rows, i0, c0, r + 1 < nr);
                            c0 += 32;
                        } else {
                            context::<1>(head, p, n, rows, i0, c0, r + 1 < nr);
                            c0 += 8;
                        }
                    }
                }
            }
        }
    }

    /// Columns `c0..c0 + 8·NV` of two queries' context: `Σⱼ p[j] · V[j]`; the second row is
    /// stored only when `both`.
    ///
    /// # Safety
    /// AVX2 and FMA; as [`head`].
    #[target_feature(enable = "avx2,fma")]
    unsafe fn context<const NV: usize>(
        head: &Head,
        p: &[f32],
        n: usize,
        rows: [usize; 2],
        i0: usize,
        c0: usize,
        both: bool,
    ) {
        // SAFETY: the caller's contract.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); NV]; 2];
            for j in 0..head.len {
                let v = head.v.add(j * head.stride + c0);
                let pj = [
                    _mm256_broadcast_ss(&p[rows[0] * n + j]),
                    _mm256_broadcast_ss(&p[rows[1] * n + j]),
                ];
                for c in 0..NV {
                    let vv = _mm256_loadu_ps(v.add(8 * c));
                    for (acc, pj) in acc.iter_mut().zip(&pj) {
                        acc[c] = _mm256_fmadd_ps(*pj, vv, acc[c]);
                    }
                }
            }
            for (k, &r) in rows.iter().enumerate().take(if both { 2 } else { 1 }) {
                let o = head.out.add((i0 + r) * head.ldo + c0);
                for (c, acc) in acc[k].iter().enumerate() {
                    _mm256_storeu_ps(o.add(8 * c), *acc);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both kernels (the path's and the portable one) against attention written out in
    /// float64, on lengths that leave partial blocks of queries and keys.
    #[test]
    fn matches_textbook_attention() {
        let (heads, dh) = (3, 40);
        let h = heads * dh;
        let offsets = [(0, 1), (1, 13), (14, 9)];
        let rows = 23;
        let qkv: Vec<f32> = (0..rows * 3 * h)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0)
            .collect();
        let mut got = vec![0f32; rows * h];
        attention(&qkv, &offsets, h, heads, &mut got);
        let mut portable_out = vec![0f32; rows * h];
        for &(o, len) in &offsets {
            for hd in 0..heads {
                let head = Head {
                    q: qkv[o * 3 * h + hd * dh..].as_ptr(),
                    k: qkv[o * 3 * h + h + hd * dh..].as_ptr(),
                    v: qkv[o * 3 * h + 2 * h + hd * dh..].as_ptr(),
                    stride: 3 * h,
                    len,
                    dh,
                    scale: 1.0 / (dh as f32).sqrt(),
                    out: portable_out[o * h + hd * dh..].as_mut_ptr(),
                    ldo: h,
                };
                // SAFETY: the head lies within `qkv` and `portable_out`.
                unsafe { portable(&head, &mut Vec::new(), &mut Vec::new()) };
            }
        }
        let at = |r: usize, c: usize| qkv[r * 3 * h + c] as f64;
        for &(o, len) in &offsets {
            for hd in 0..heads {
                for i in 0..len {
                    let s: Vec<f64> = (0..len)
                        .map(|j| {
                            (0..dh)
                                .map(|d| at(o + i, hd * dh + d) * at(o + j, h + hd * dh + d))
                                .sum::<f64>()
                                / (dh as f64).sqrt()
                        })
                        .collect();
                    let m = s.iter().copied().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
                    let z: f64 = e.iter().sum();
                    for d in 0..dh {
                        let want: f64 = (0..len)
                            .map(|j| e[j] / z * at(o + j, 2 * h + hd * dh + d))
                            .sum();
                        let idx = (o + i) * h + hd * dh + d;
                        for out in [&got, &portable_out] {
                            assert!(
                                (out[idx] as f64 - want).abs() < 1e-4,
                                "{} vs {want}",
                                out[idx]
                            );
                        }
                    }
                }
            }
        }
    }
}
