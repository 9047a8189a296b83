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
//! - attention runs per (sequence, head) in parallel, reading Q, K and V in place, with
//!   its own kernels ([`crate::cpu::attention`]);
//! - the float32 linear layers run gemm's matmul on AVX-512 and the packed kernel of
//!   [`crate::cpu::float`] below it, so that `CONTROLMAP_CPU` ([`crate::cpu::path`]) picks
//!   every instruction the pass runs.
//!
//! Weights come from the same safetensors names as candle's `BertModel`; the GPU path keeps
//! using that model.

use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use rayon::prelude::*;

use crate::Result;
use crate::cpu::{
    attention::attention,
    bf16::{BLinear, BfRows},
    float::FLinear,
    int8::{QLinear, QuantChunk, QuantRows},
    path::{KernelPath, kernel_path},
    precision::Precision,
    simd,
};

/// A weight matrix stored transposed, `(in, out)` row-major, as the matmul reads it.
struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    din: usize,
    dout: usize,
    /// The kernel that runs it.
    kernel: Kernel,
}

enum Kernel {
    /// gemm's float32 matmul over `w` (the AVX-512 path).
    Gemm,
    /// The packed float32 kernel (AVX2 and portable paths).
    F32(FLinear),
    Int8(QLinear),
    Bf16(BLinear),
}

impl Kernel {
    /// Whether the kernel reads its input from an [`Encoded`] rather than float32 rows.
    fn reads_encoded(&self) -> bool {
        match self {
            Kernel::Int8(_) => true,
            Kernel::Bf16(b) => b.reads_bf16(),
            Kernel::Gemm | Kernel::F32(_) => false,
        }
    }
}

impl Linear {
    /// The float32 kernel of the path: gemm on AVX-512, the packed kernel below (which
    /// keeps only the packed weights).
    fn use_f32(&mut self) {
        if kernel_path() < KernelPath::Avx512 {
            self.kernel = Kernel::F32(FLinear::new(&self.w, &self.b, self.din, self.dout));
            self.w = Vec::new();
        }
    }

    fn use_int8(&mut self) {
        if let Some(q) = QLinear::new(&self.w, &self.b, self.din, self.dout) {
            self.kernel = Kernel::Int8(q);
        }
    }

    fn use_bf16(&mut self) {
        self.kernel = Kernel::Bf16(BLinear::new(&self.w, &self.b, self.din, self.dout));
    }
}

/// A layer's input in the format its kernel reads, written by the pass that produces the
/// input (layer norm, GELU) while each row is still in cache.
#[derive(Default)]
struct Encoded {
    q: QuantRows,
    b: BfRows,
}

/// Where one chunk of rows goes besides the float32 buffer: see [`Encoded`].
enum Sink<'a> {
    None,
    Int8(QuantChunk<'a>),
    /// The chunk's bfloat16 rows, each `usize` wide (the input width rounded up to even).
    Bf16(&'a mut [u16], usize),
}

impl Sink<'_> {
    /// Writes row `r` of the chunk (`row` is float32).
    fn put(&mut self, r: usize, row: &[f32]) {
        match self {
            Sink::None => {}
            Sink::Int8(chunk) => chunk.put(r, row),
            Sink::Bf16(out, w) => simd::to_bf16_row(row, &mut out[r * *w..(r + 1) * *w]),
        }
    }
}

impl Encoded {
    /// One sink per chunk of `ROWS_PER_TASK` rows of `rows` × `width` for `next`'s kernel
    /// (no sinks needed for float32 or when there is no next layer).
    fn sinks(&mut self, next: Option<&Linear>, rows: usize, width: usize) -> Vec<Sink<'_>> {
        let chunks = rows.div_ceil(ROWS_PER_TASK);
        match next.map(|l| &l.kernel) {
            Some(Kernel::Int8(_)) => {
                self.q.reset(rows, width);
                self.q.chunks(ROWS_PER_TASK).map(Sink::Int8).collect()
            }
            Some(Kernel::Bf16(l)) if l.reads_bf16() => {
                let w = l.input_width();
                self.b.reset(rows, w);
                self.b
                    .rows_mut(ROWS_PER_TASK)
                    .map(|c| Sink::Bf16(c, w))
                    .collect()
            }
            _ => (0..chunks).map(|_| Sink::None).collect(),
        }
    }

    /// Encodes `x` (`rows` × `width`) for `next`, as a pass of its own.
    fn encode(&mut self, next: &Linear, x: &[f32], width: usize) {
        let rows = x.len() / width;
        self.sinks(Some(next), rows, width)
            .into_par_iter()
            .zip(x.par_chunks(width * ROWS_PER_TASK))
            .for_each(|(mut sink, chunk)| {
                for (r, row) in chunk.chunks_exact(width).enumerate() {
                    sink.put(r, row);
                }
            });
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
        kernel: Kernel::Gemm,
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
    /// with the linear layers in the format `precision` names (see [`crate::cpu::int8`] and
    /// [`crate::cpu::bf16`]). `None` when the config asks for something this pass does not
    /// implement.
    pub fn load(vb: &VarBuilder, c: &Config, precision: Precision) -> Result<Option<Self>> {
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
        for l in &mut layers {
            match precision {
                Precision::F32 => {
                    for lin in [&mut l.qkv, &mut l.attn_out, &mut l.up, &mut l.down] {
                        lin.use_f32();
                    }
                }
                Precision::Int8 => {
                    // Q, K and V not in int8: there they cost the most accuracy (simulated on
                    // the parity items, the empty text's cosine to float32 falls from 0.995
                    // to 0.992). bfloat16 where the CPU has it costs almost nothing.
                    for lin in [&mut l.attn_out, &mut l.up, &mut l.down] {
                        lin.use_int8();
                    }
                    // Widened bfloat16 (no AVX-512 BF16) would be no faster than float32.
                    if crate::cpu::bf16::native() {
                        l.qkv.use_bf16();
                    } else {
                        l.qkv.use_f32();
                    }
                }
                Precision::Bf16 => {
                    for lin in [&mut l.qkv, &mut l.attn_out, &mut l.up, &mut l.down] {
                        lin.use_bf16();
                    }
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
        let first = self.layers.first().map(|l| &l.qkv);
        let mut enc_x = Encoded::default();
        layer_norm_rows(
            &mut x,
            None,
            &self.emb_norm,
            self.eps,
            enc_x.sinks(first, total, h),
        );

        let mut qkv = Vec::new();
        let mut ctx = vec![0f32; total * h];
        let mut y = Vec::new();
        let mut up = Vec::new();
        let mut enc_ctx = Encoded::default();
        let mut enc_up = Encoded::default();
        for (i, layer) in self.layers.iter().enumerate() {
            apply(&layer.qkv, &x, &enc_x, total, &mut qkv);
            attention(&qkv, &offsets, h, self.heads, &mut ctx);
            if layer.attn_out.kernel.reads_encoded() {
                enc_ctx.encode(&layer.attn_out, &ctx, h);
            }
            apply(&layer.attn_out, &ctx, &enc_ctx, total, &mut y);
            let sinks = enc_x.sinks(Some(&layer.up), total, h);
            layer_norm_rows(&mut x, Some(&y), &layer.attn_norm, self.eps, sinks);
            apply(&layer.up, &x, &enc_x, total, &mut up);
            let sinks = enc_up.sinks(Some(&layer.down), total, layer.up.dout);
            gelu_rows(&mut up, layer.up.dout, sinks);
            apply(&layer.down, &up, &enc_up, total, &mut y);
            let next = self.layers.get(i + 1).map(|l| &l.qkv);
            let sinks = enc_x.sinks(next, total, h);
            layer_norm_rows(&mut x, Some(&y), &layer.out_norm, self.eps, sinks);
        }
        x
    }
}

/// `out = x · W + b` for `x` of shape (rows, din); an int8 or bfloat16 layer reads `enc`,
/// which must hold `x` encoded for it.
fn apply(l: &Linear, x: &[f32], enc: &Encoded, rows: usize, out: &mut Vec<f32>) {
    match &l.kernel {
        Kernel::Gemm => matmul_bias(x, rows, l, out),
        Kernel::F32(f) => f.forward(x, rows, out),
        Kernel::Int8(q) => q.forward_quantised(&enc.q, out),
        Kernel::Bf16(b) if b.reads_bf16() => b.forward(&enc.b, out),
        Kernel::Bf16(b) => b.forward_f32(x, rows, out),
    }
}

/// `out = x · W + b` for `x` of shape (rows, din), in float32.
fn matmul_bias(x: &[f32], rows: usize, l: &Linear, out: &mut Vec<f32>) {
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

/// `x = LayerNorm(x + add)` row by row (`add` absent: `x = LayerNorm(x)`), each row also
/// written to its chunk's sink (one per `ROWS_PER_TASK` rows).
fn layer_norm_rows(x: &mut [f32], add: Option<&[f32]>, n: &Norm, eps: f32, sinks: Vec<Sink>) {
    let h = n.gamma.len();
    x.par_chunks_mut(h * ROWS_PER_TASK)
        .zip(sinks)
        .enumerate()
        .for_each(|(c, (chunk, mut sink))| {
            for (r, row) in chunk.chunks_exact_mut(h).enumerate() {
                let start = (c * ROWS_PER_TASK + r) * h;
                let add = add.map_or(&[][..], |a| &a[start..start + h]);
                simd::layer_norm(row, add, &n.gamma, &n.beta, eps);
                sink.put(r, row);
            }
        });
}

/// GELU of every element, each row (of `width`) also written to its chunk's sink.
fn gelu_rows(x: &mut [f32], width: usize, sinks: Vec<Sink>) {
    x.par_chunks_mut(width * ROWS_PER_TASK)
        .zip(sinks)
        .for_each(|(chunk, mut sink)| {
            for (r, row) in chunk.chunks_exact_mut(width).enumerate() {
                simd::gelu(row);
                sink.put(r, row);
            }
        });
}
