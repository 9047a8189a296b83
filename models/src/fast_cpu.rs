//! A BERT encoder forward pass for the CPU, written over plain `f32` buffers.
//!
//! candle's `BertModel` runs each layer as some thirty separate tensor ops on padded
//! batches; on a small CPU the time goes to matmuls (as it should), and then to libm's scalar
//! `erf`, `exp`, and allocating and copying between ops. This pass computes the same function
//! with fewer, fused steps:
//!
//! - sequences are packed end to end, so linear layers see no padding and attention needs no
//!   mask (each sequence attends only to itself);
//! - Q, K and V come from one matmul against concatenated weights, with the bias folded into
//!   the matmul's output buffer;
//! - bias + GELU, residual + layer norm, and scale + softmax are single passes over a row;
//! - attention runs per (sequence, head) in parallel, reading Q, K and V in place.
//!
//! Weights come from the same safetensors names as candle's `BertModel`; the GPU path keeps
//! using that model.

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use rayon::prelude::*;

use crate::{Result, int8::QLinear};

/// A weight matrix stored transposed, `(in, out)` row-major, as the matmul reads it.
struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    din: usize,
    dout: usize,
    /// The same layer in int8, when asked for.
    q: Option<QLinear>,
}

impl Linear {
    fn quantise(&mut self) {
        self.q = QLinear::new(&self.w, &self.b, self.din, self.dout);
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// The encoder's weights and shapes.
pub struct FastBert {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type0: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    eps: f32,
}

fn flat(t: Tensor) -> Result<Vec<f32>> {
    Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

fn linear(vbs: &[VarBuilder], din: usize, dout: usize) -> Result<Linear> {
    let mut w = Vec::with_capacity(din * dout * vbs.len());
    let mut b = Vec::with_capacity(dout * vbs.len());
    let parts: Vec<Vec<f32>> = vbs
        .iter()
        .map(|vb| flat(vb.get((dout, din), "weight")?))
        .collect::<Result<_>>()?;
    for vb in vbs {
        b.extend(flat(vb.get(dout, "bias")?)?);
    }
    let total = dout * vbs.len();
    // Transpose (out, in) blocks into one (in, total) matrix.
    w.resize(din * total, 0.0);
    for (p, part) in parts.iter().enumerate() {
        for o in 0..dout {
            for i in 0..din {
                w[i * total + p * dout + o] = part[o * din + i];
            }
        }
    }
    Ok(Linear {
        w,
        b,
        din,
        dout: total,
        q: None,
    })
}

fn norm(vb: VarBuilder, n: usize) -> Result<Norm> {
    Ok(Norm {
        gamma: flat(vb.get(n, "weight")?)?,
        beta: flat(vb.get(n, "bias")?)?,
    })
}

impl FastBert {
    /// Loads from `vb` (already pointing at the model's root: `embeddings.…`, `encoder.…`),
    /// with the linear layers in int8 when `int8` (see [`crate::int8`]).
    /// `None` when the config asks for something this pass does not implement.
    pub fn load(vb: &VarBuilder, c: &Config, int8: bool) -> Result<Option<Self>> {
        if c.hidden_act != HiddenAct::Gelu || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Ok(None);
        }
        let h = c.hidden_size;
        let e = vb.pp("embeddings");
        let tt = flat(
            e.pp("token_type_embeddings")
                .get((c.type_vocab_size, h), "weight")?,
        )?;
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for l in 0..c.num_hidden_layers {
            let lb = vb.pp(format!("encoder.layer.{l}"));
            let a = lb.pp("attention");
            let s = a.pp("self");
            layers.push(Layer {
                qkv: linear(&[s.pp("query"), s.pp("key"), s.pp("value")], h, h)?,
                attn_out: linear(&[a.pp("output").pp("dense")], h, h)?,
                attn_norm: norm(a.pp("output").pp("LayerNorm"), h)?,
                up: linear(&[lb.pp("intermediate").pp("dense")], h, c.intermediate_size)?,
                down: linear(&[lb.pp("output").pp("dense")], c.intermediate_size, h)?,
                out_norm: norm(lb.pp("output").pp("LayerNorm"), h)?,
            });
        }
        if int8 {
            // Q, K and V stay float32: in int8 they cost the most accuracy (measured on the
            // parity items, an empty text's cosine to float32 falls from 0.991 to 0.986).
            for l in &mut layers {
                for lin in [&mut l.attn_out, &mut l.up, &mut l.down] {
                    lin.quantise();
                }
            }
        }
        Ok(Some(Self {
            word: flat(e.pp("word_embeddings").get((c.vocab_size, h), "weight")?)?,
            position: flat(
                e.pp("position_embeddings")
                    .get((c.max_position_embeddings, h), "weight")?,
            )?,
            token_type0: tt[..h].to_vec(),
            emb_norm: norm(e.pp("LayerNorm"), h)?,
            layers,
            hidden: h,
            heads: c.num_attention_heads,
            eps: c.layer_norm_eps as f32,
        }))
    }

    /// The last hidden states of `seqs` packed end to end: `(Σ len, hidden)` row-major.
    /// Every sequence must be non-empty and no longer than the position table.
    pub fn forward(&self, seqs: &[&[u32]]) -> Vec<f32> {
        let h = self.hidden;
        let total: usize = seqs.iter().map(|s| s.len()).sum();
        let mut offsets = Vec::with_capacity(seqs.len());
        let mut x = vec![0f32; total * h];
        let mut o = 0;
        for s in seqs {
            offsets.push((o, s.len()));
            for (p, &id) in s.iter().enumerate() {
                let row = &mut x[(o + p) * h..(o + p + 1) * h];
                let w = &self.word[id as usize * h..(id as usize + 1) * h];
                let pos = &self.position[p * h..(p + 1) * h];
                for (((r, w), pos), t) in row.iter_mut().zip(w).zip(pos).zip(&self.token_type0) {
                    *r = w + pos + t;
                }
            }
            o += s.len();
        }
        layer_norm_rows(&mut x, None, &self.emb_norm, h, self.eps);

        let mut qkv = Vec::new();
        let mut ctx = vec![0f32; total * h];
        let mut y = Vec::new();
        let mut up = Vec::new();
        for layer in &self.layers {
            matmul_bias(&x, total, &layer.qkv, &mut qkv);
            self.attention(&qkv, &offsets, &mut ctx);
            matmul_bias(&ctx, total, &layer.attn_out, &mut y);
            layer_norm_rows(&mut x, Some(&y), &layer.attn_norm, h, self.eps);
            matmul_bias(&x, total, &layer.up, &mut up);
            gelu_rows(&mut up, layer.up.dout);
            matmul_bias(&up, total, &layer.down, &mut y);
            layer_norm_rows(&mut x, Some(&y), &layer.out_norm, h, self.eps);
        }
        x
    }

    /// Scaled dot-product attention of each sequence with itself, one task per
    /// (sequence, head); writes each head's output into its columns of `ctx`.
    fn attention(&self, qkv: &[f32], offsets: &[(usize, usize)], ctx: &mut [f32]) {
        let h = self.hidden;
        let dh = h / self.heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let ctx_ptr = SendPtr(ctx.as_mut_ptr());
        let tasks: Vec<(usize, usize, usize)> = offsets
            .iter()
            .flat_map(|&(o, len)| (0..self.heads).map(move |hd| (o, len, hd)))
            .collect();
        tasks
            .par_iter()
            .for_each_init(Vec::new, |scores, &(o, len, hd)| {
                let ctx_ptr = &ctx_ptr;
                scores.resize(len * len, 0.0);
                let q = &qkv[o * 3 * h + hd * dh..];
                let k = &qkv[o * 3 * h + h + hd * dh..];
                let v = &qkv[o * 3 * h + 2 * h + hd * dh..];
                // SAFETY: every pointer and stride stays inside the (len, 3h) block of this
                // sequence in `qkv`, the (len, len) scratch, and this head's (len, dh) columns of
                // `ctx`, which no other task writes.
                unsafe {
                    // scores = Q · Kᵀ
                    gemm::gemm(
                        len,
                        len,
                        dh,
                        scores.as_mut_ptr(),
                        1,
                        len as isize,
                        false,
                        q.as_ptr(),
                        1,
                        3 * h as isize,
                        k.as_ptr(),
                        3 * h as isize,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                for row in scores.chunks_exact_mut(len) {
                    softmax(row);
                }
                unsafe {
                    // ctx_head = P · V
                    gemm::gemm(
                        len,
                        dh,
                        len,
                        ctx_ptr.0.add(o * h + hd * dh),
                        1,
                        h as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        len as isize,
                        v.as_ptr(),
                        1,
                        3 * h as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            });
    }
}

struct SendPtr(*mut f32);
// SAFETY: tasks write disjoint parts of the buffer behind the pointer (see `attention`).
unsafe impl Sync for SendPtr {}
unsafe impl Send for SendPtr {}

/// `out = x · W + b` for `x` of shape (rows, din).
fn matmul_bias(x: &[f32], rows: usize, l: &Linear, out: &mut Vec<f32>) {
    if let Some(q) = &l.q {
        return q.forward(x, rows, out);
    }
    out.clear();
    out.reserve(rows * l.dout);
    for _ in 0..rows {
        out.extend_from_slice(&l.b);
    }
    let threads = candle_core::utils::get_num_threads();
    let par = if threads > 1 && rows * l.dout * l.din > 1 << 18 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: shapes and row-major strides match the buffers' lengths.
    unsafe {
        gemm::gemm(
            rows,
            l.dout,
            l.din,
            out.as_mut_ptr(),
            1,
            l.dout as isize,
            true,
            x.as_ptr(),
            1,
            l.din as isize,
            l.w.as_ptr(),
            1,
            l.dout as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// Rows per parallel task in the element-wise passes.
const ROWS_PER_TASK: usize = 16;

/// `x = LayerNorm(x + add)` row by row (`add` absent: `x = LayerNorm(x)`).
fn layer_norm_rows(x: &mut [f32], add: Option<&[f32]>, n: &Norm, h: usize, eps: f32) {
    x.par_chunks_mut(h * ROWS_PER_TASK)
        .enumerate()
        .for_each(|(c, chunk)| {
            for (r, row) in chunk.chunks_exact_mut(h).enumerate() {
                if let Some(add) = add {
                    let start = (c * ROWS_PER_TASK + r) * h;
                    for (a, b) in row.iter_mut().zip(&add[start..start + h]) {
                        *a += b;
                    }
                }
                let mean = row.iter().sum::<f32>() / h as f32;
                let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
                let inv = 1.0 / (var + eps).sqrt();
                for ((v, g), b) in row.iter_mut().zip(&n.gamma).zip(&n.beta) {
                    *v = (*v - mean) * inv * g + b;
                }
            }
        });
}

fn gelu_rows(x: &mut [f32], width: usize) {
    x.par_chunks_mut(width * ROWS_PER_TASK).for_each(|chunk| {
        for v in chunk {
            // GELU with the exact erf, as BERT was trained
            // (https://github.com/huggingface/transformers/blob/main/src/transformers/activations.py).
            *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
        }
    });
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = exp(*v - max);
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `e^x` to about 2 ulp for x in [-87, 88], without a libm call so loops vectorise:
/// x = n·ln2 + r, e^r by a degree-6 polynomial, 2^n through the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest by adding and removing 1.5·2²³ (f32::round is a libm call).
    const SHIFT: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + SHIFT) - SHIFT;
    // ln 2 split in two for an exact product with n (Cody–Waite).
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// erf(x) to about 1.5e-7 absolute (Abramowitz & Stegun 7.1.26).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let y = 1.0
        - t * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))))
            * exp(-a * a);
    y.copysign(x)
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
        let mut row = [1.0f32, 3.0, -2.0, 0.5];
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[1] > row[0] && row[0] > row[3] && row[3] > row[2]);
    }
}
