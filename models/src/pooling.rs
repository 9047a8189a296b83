//! From token ids to one unit sentence vector: a batch padded to one width with its attention
//! mask, and the token vectors pooled as the model was trained (mean or `[CLS]`), then
//! L2-normalised. Shared by the loader's candle pass and the fine-tuner's own.

use candle_core::{Device, Tensor};

use crate::Result;

/// How token vectors become one sentence vector (`1_Pooling/config.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the tokens the attention mask keeps (sentence-transformers' default).
    Mean,
    /// The `[CLS]` token's vector.
    Cls,
}

/// `seqs` padded with `pad` to the longest: ids `(n, width)` and a float mask, 1 where a token
/// is (candle's `BertModel` and the tuner's forward pass both take it).
pub(crate) fn padded(seqs: &[&[u32]], pad: u32, device: &Device) -> Result<(Tensor, Tensor)> {
    let width = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let n = seqs.len();
    let mut ids = Vec::with_capacity(n * width);
    let mut mask = Vec::with_capacity(n * width);
    for s in seqs {
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(pad, width - s.len()));
        mask.extend(std::iter::repeat_n(1f32, s.len()));
        mask.extend(std::iter::repeat_n(0f32, width - s.len()));
    }
    Ok((
        Tensor::from_vec(ids, (n, width), device)?,
        Tensor::from_vec(mask, (n, width), device)?,
    ))
}

/// Token vectors `(n, width, dim)` pooled as the model was trained (mean over `mask`, or the
/// `[CLS]` token) and L2-normalised, guarding against a zero vector: `(n, dim)`.
pub(crate) fn pooled_unit(hidden: &Tensor, mask: &Tensor, pooling: Pooling) -> Result<Tensor> {
    let pooled = match pooling {
        Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
        Pooling::Mean => {
            let m = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?; // (n, width, 1)
            let summed = hidden.broadcast_mul(&m)?.sum(1)?; // (n, dim)
            let count = m.sum(1)?.clamp(1e-9f32, f32::MAX)?; // (n, 1)
            summed.broadcast_div(&count)?
        }
    };
    let norm = pooled
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    Ok(pooled.broadcast_div(&norm)?)
}
