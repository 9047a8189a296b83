//! Fine-tuning a sentence-embedding model with a contrastive objective, on the device candle
//! runs on.
//!
//! Each training pair is an *anchor* text and the index of its *target* among a fixed list of
//! target texts; a step embeds a batch of anchors and every target, scores each anchor against
//! every target by `scale × cosine`, and lowers the cross-entropy of each anchor's own target
//! (the in-batch contrastive loss of sentence-transformers' `MultipleNegativesRankingLoss`, with
//! all targets as the candidates). The weights are updated with AdamW and written back in the
//! base model's layout, so the result loads wherever the base model does ([`crate::BertEmbedder`],
//! or sentence-transformers).
//!
//! The forward pass here is a differentiable BERT of its own: candle-transformers' `BertModel`
//! normalises layers with a fused kernel that has no backward pass, so gradients would stop at
//! the first layer norm. Dropout masks come from a seeded generator of our own, so a run is
//! repeatable for a given seed, device and thread count.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Linear, Module, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use candle_transformers::models::bert::{Config, HiddenAct};

use crate::files::{ModelFiles, PROVENANCE_FILE, invalid, weights_root};
use crate::pooling::{Pooling, padded, pooled_unit};
use crate::{DeviceChoice, Error, Result, SplitMix64};

/// Files copied from the base model's directory when they exist, so the tuned directory loads
/// in controlmap and in sentence-transformers alike.
const COPIED: &[&str] = &[
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "modules.json",
    "1_Pooling/config.json",
    "2_Normalize",
];

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneOptions {
    /// Passes over the anchors.
    pub epochs: usize,
    /// Anchors per step.
    pub batch_size: usize,
    /// AdamW's learning rate (weight decay 0.01, betas 0.9 / 0.999).
    pub learning_rate: f64,
    /// Multiplies the cosines before the softmax.
    pub scale: f64,
    /// Seeds the order of the anchors and the dropout masks.
    pub seed: u64,
    /// Dropout while training; `None` takes the model config's `hidden_dropout_prob`.
    pub dropout: Option<f32>,
}

impl Default for TuneOptions {
    /// sentence-transformers' usual recipe for this loss: lr 2e-5, scale 20, batch 16.
    fn default() -> Self {
        Self {
            epochs: 4,
            batch_size: 16,
            learning_rate: 2e-5,
            scale: 20.0,
            seed: 0,
            dropout: None,
        }
    }
}

/// One optimiser step, as reported to the caller.
#[derive(Debug, Clone, Copy)]
pub struct TuneStep {
    /// 0-based.
    pub epoch: usize,
    /// 1-based within the epoch.
    pub step: usize,
    pub steps_per_epoch: usize,
    /// The batch's mean cross-entropy before the update.
    pub loss: f32,
}

/// A finished training run.
#[derive(Debug, Clone)]
pub struct TuneSummary {
    /// The mean training loss of each epoch (dropout on, as trained).
    pub epoch_losses: Vec<f32>,
    /// Optimiser steps taken.
    pub steps: usize,
}

/// Dropout state for one forward pass: off for embedding, seeded while training.
struct Dropout<'a> {
    p: f32,
    rng: Option<&'a mut SplitMix64>,
}

impl Dropout<'_> {
    fn apply(&mut self, x: &Tensor) -> Result<Tensor> {
        let Some(rng) = self.rng.as_deref_mut().filter(|_| self.p > 0.0) else {
            return Ok(x.clone());
        };
        let keep = 1.0 / (1.0 - self.p);
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| if rng.unit() >= self.p { keep } else { 0.0 })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    fn load(vb: VarBuilder, n: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: vb.get(n, "weight")?,
            bias: vb.get(n, "bias")?,
            eps,
        })
    }

    /// Layer normalisation over the last dimension, from ops that all have a backward pass.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }
}

fn linear(vb: VarBuilder, din: usize, dout: usize) -> Result<Linear> {
    Ok(Linear::new(
        vb.get((dout, din), "weight")?,
        Some(vb.get(dout, "bias")?),
    ))
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// BERT's encoder over variables, pooled and normalised as the embedder does.
struct Net {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    emb_norm: Norm,
    layers: Vec<Layer>,
    heads: usize,
    pooling: Pooling,
}

impl Net {
    fn load(vb: VarBuilder, c: &Config, pooling: Pooling) -> Result<Self> {
        let h = c.hidden_size;
        let eps = c.layer_norm_eps;
        let e = vb.pp("embeddings");
        let layers = (0..c.num_hidden_layers)
            .map(|l| {
                let lb = vb.pp(format!("encoder.layer.{l}"));
                let a = lb.pp("attention");
                let s = a.pp("self");
                Ok(Layer {
                    query: linear(s.pp("query"), h, h)?,
                    key: linear(s.pp("key"), h, h)?,
                    value: linear(s.pp("value"), h, h)?,
                    attn_out: linear(a.pp("output").pp("dense"), h, h)?,
                    attn_norm: Norm::load(a.pp("output").pp("LayerNorm"), h, eps)?,
                    up: linear(lb.pp("intermediate").pp("dense"), h, c.intermediate_size)?,
                    down: linear(lb.pp("output").pp("dense"), c.intermediate_size, h)?,
                    out_norm: Norm::load(lb.pp("output").pp("LayerNorm"), h, eps)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            word: e.pp("word_embeddings").get((c.vocab_size, h), "weight")?,
            position: e
                .pp("position_embeddings")
                .get((c.max_position_embeddings, h), "weight")?,
            token_type: e
                .pp("token_type_embeddings")
                .get((c.type_vocab_size, h), "weight")?,
            emb_norm: Norm::load(e.pp("LayerNorm"), h, eps)?,
            layers,
            heads: c.num_attention_heads,
            pooling,
        })
    }

    /// Unit sentence vectors `(n, hidden)` for padded `ids` `(n, t)` with `mask` (1 = token).
    fn forward(&self, ids: &Tensor, mask: &Tensor, drop: &mut Dropout) -> Result<Tensor> {
        let (n, t) = ids.dims2()?;
        let h = self.word.dim(1)?;
        let hd = h / self.heads;
        let x = self
            .word
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((n, t, h))?
            .broadcast_add(&self.position.narrow(0, 0, t)?)?
            .broadcast_add(&self.token_type.narrow(0, 0, 1)?)?;
        let mut x = drop.apply(&self.emb_norm.forward(&x)?)?;
        // 0 where a token is, a large negative where padding is: padding gets no attention.
        let bias = ((mask - 1.0)? * 1e4)?.reshape((n, 1, 1, t))?;
        let scale = 1.0 / (hd as f64).sqrt();
        let split = |y: Tensor| -> Result<Tensor> {
            Ok(y.reshape((n, t, self.heads, hd))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        for l in &self.layers {
            let q = split(l.query.forward(&x)?)?;
            let k = split(l.key.forward(&x)?)?;
            let v = split(l.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = drop.apply(&candle_nn::ops::softmax(&scores, D::Minus1)?)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((n, t, h))?;
            let attended = drop.apply(&l.attn_out.forward(&ctx)?)?;
            let a = l.attn_norm.forward(&(attended + &x)?)?;
            let up = l.up.forward(&a)?.gelu_erf()?;
            let down = drop.apply(&l.down.forward(&up)?)?;
            x = l.out_norm.forward(&(down + a)?)?;
        }
        pooled_unit(&x, mask, self.pooling)
    }
}

/// Texts tokenised once, padded per batch.
struct Tokenised {
    ids: Vec<Vec<u32>>,
}

/// A model loaded for training: its weights as variables, its tokenizer, and the forward pass
/// above.
pub struct Tuner {
    base: PathBuf,
    files: ModelFiles,
    device: Device,
    varmap: VarMap,
    /// Tensors the optimiser does not touch (integer buffers some checkpoints carry), written
    /// back unchanged.
    fixed: HashMap<String, Tensor>,
    net: Net,
    dropout: f32,
}

impl std::fmt::Debug for Tuner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tuner")
            .field("base", &self.base)
            .field("device", &self.device)
            .finish()
    }
}

impl Tuner {
    /// Loads the model in `dir` (the same files [`crate::BertEmbedder`] reads) for training on
    /// `device`. Only BERT with GELU (erf) is supported, as in the fast CPU pass.
    pub fn load(dir: &Path, device: DeviceChoice) -> Result<Self> {
        let device = device.resolve()?;
        let files = ModelFiles::read(dir)?;
        let c = &files.config;
        if c.hidden_act != HiddenAct::Gelu || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(invalid(
                dir,
                "fine-tuning supports BERT models with GELU (erf) activations only",
            ));
        }
        let tensors = candle_core::safetensors::load(&files.weights, &device)
            .map_err(|e| invalid(dir, format!("model.safetensors cannot be read: {e}")))?;
        let varmap = VarMap::new();
        let mut fixed = HashMap::new();
        {
            let mut vars = varmap
                .data()
                .lock()
                .expect("a fresh VarMap is not poisoned");
            for (name, t) in tensors {
                if t.dtype().is_float() {
                    vars.insert(name, Var::from_tensor(&t.to_dtype(DType::F32)?)?);
                } else {
                    fixed.insert(name, t);
                }
            }
        }
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
        let net = Net::load(weights_root(vb, c), c, files.pooling)
            .map_err(|e| invalid(dir, format!("weights do not match config.json: {e}")))?;
        Ok(Self {
            base: dir.to_path_buf(),
            dropout: c.hidden_dropout_prob as f32,
            files,
            device,
            varmap,
            fixed,
            net,
        })
    }

    /// The device training runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn tokenise(&self, texts: &[&str]) -> Result<Tokenised> {
        let enc = self
            .files
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Tokenised {
            ids: enc.iter().map(|e| e.get_ids().to_vec()).collect(),
        })
    }

    /// `(ids, mask)` tensors for the rows `which` of `tok`, padded to the longest.
    fn batch(&self, tok: &Tokenised, which: &[usize]) -> Result<(Tensor, Tensor)> {
        let seqs: Vec<&[u32]> = which.iter().map(|&i| tok.ids[i].as_slice()).collect();
        padded(&seqs, self.files.config.pad_token_id as u32, &self.device)
    }

    /// `(ids, mask)` for every row of `tok`.
    fn batch_all(&self, tok: &Tokenised) -> Result<(Tensor, Tensor)> {
        let all: Vec<usize> = (0..tok.ids.len()).collect();
        self.batch(tok, &all)
    }

    /// Unit vectors of `texts` with the current weights, dropout off (one batch; for checks).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let (ids, mask) = self.batch_all(&self.tokenise(texts)?)?;
        let mut off = Dropout { p: 0.0, rng: None };
        Ok(self.net.forward(&ids, &mask, &mut off)?.to_vec2::<f32>()?)
    }

    /// The contrastive loss of `anchors` (text, index into `targets`) with dropout off, at the
    /// default scale.
    pub fn loss(&self, anchors: &[(&str, usize)], targets: &[&str]) -> Result<f32> {
        let texts: Vec<&str> = anchors.iter().map(|a| a.0).collect();
        let a = self.batch_all(&self.tokenise(&texts)?)?;
        let t = self.batch_all(&self.tokenise(targets)?)?;
        let labels: Vec<u32> = anchors.iter().map(|a| a.1 as u32).collect();
        let mut off = Dropout { p: 0.0, rng: None };
        let scale = TuneOptions::default().scale;
        let loss = self.batch_loss(&a, &labels, &t, scale, &mut off)?;
        Ok(loss.to_scalar::<f32>()?)
    }

    /// The loss of padded `anchors` (ids, mask) with `labels` against padded `targets`.
    fn batch_loss(
        &self,
        anchors: &(Tensor, Tensor),
        labels: &[u32],
        targets: &(Tensor, Tensor),
        scale: f64,
        drop: &mut Dropout,
    ) -> Result<Tensor> {
        let a = self.net.forward(&anchors.0, &anchors.1, drop)?;
        let t = self.net.forward(&targets.0, &targets.1, drop)?;
        let logits = (a.matmul(&t.t()?)? * scale)?;
        let labels = Tensor::from_vec(labels.to_vec(), labels.len(), &self.device)?;
        Ok(candle_nn::loss::cross_entropy(&logits, &labels)?)
    }

    /// Trains on `anchors` (text, index into `targets`): each step takes `batch_size` anchors
    /// in a seeded order and every target. `on_step` hears of each step.
    pub fn train(
        &mut self,
        anchors: &[(&str, usize)],
        targets: &[&str],
        options: &TuneOptions,
        on_step: &mut dyn FnMut(&TuneStep),
    ) -> Result<TuneSummary> {
        if anchors.is_empty() || targets.is_empty() {
            return Err(Error::Training(
                "needs at least one anchor and one target".into(),
            ));
        }
        if let Some(&(_, bad)) = anchors.iter().find(|a| a.1 >= targets.len()) {
            return Err(Error::Training(format!(
                "an anchor names target {bad}, but there are {} targets",
                targets.len()
            )));
        }
        let texts: Vec<&str> = anchors.iter().map(|a| a.0).collect();
        let a = self.tokenise(&texts)?;
        // Every step embeds every target: padded once.
        let t = self.batch_all(&self.tokenise(targets)?)?;
        let vars: Vec<Var> = self
            .varmap
            .all_vars()
            .into_iter()
            .filter(|v| v.dtype() == DType::F32)
            .collect();
        let mut opt = AdamW::new(
            vars,
            ParamsAdamW {
                lr: options.learning_rate,
                ..Default::default()
            },
        )?;
        let mut rng = SplitMix64::new(options.seed);
        let p = options.dropout.unwrap_or(self.dropout);
        let batch = options.batch_size.max(1);
        let mut order: Vec<usize> = (0..anchors.len()).collect();
        let steps_per_epoch = order.len().div_ceil(batch);
        let mut epoch_losses = Vec::with_capacity(options.epochs);
        let mut steps = 0;
        for epoch in 0..options.epochs {
            rng.shuffle(&mut order);
            let mut total = 0.0;
            for (k, which) in order.chunks(batch).enumerate() {
                let labels: Vec<u32> = which.iter().map(|&i| anchors[i].1 as u32).collect();
                let mut drop = Dropout {
                    p,
                    rng: Some(&mut rng),
                };
                let batch = self.batch(&a, which)?;
                let loss = self.batch_loss(&batch, &labels, &t, options.scale, &mut drop)?;
                let value = loss.to_scalar::<f32>()?;
                opt.backward_step(&loss)?;
                total += value * which.len() as f32;
                steps += 1;
                on_step(&TuneStep {
                    epoch,
                    step: k + 1,
                    steps_per_epoch,
                    loss: value,
                });
            }
            epoch_losses.push(total / anchors.len() as f32);
        }
        Ok(TuneSummary {
            epoch_losses,
            steps,
        })
    }

    /// Whether [`Tuner::save`] may write to `out` (call it before training, so a refusal
    /// does not come minutes later): not the base model's own directory, nor a directory
    /// holding a model that was not tuned here.
    pub fn check_destination(&self, out: &Path) -> Result<()> {
        let refuse = |why: &str| {
            Err(Error::InvalidModel {
                dir: out.to_path_buf(),
                reason: why.to_string(),
            })
        };
        if same_dir(out, &self.base) {
            return refuse("is the base model's own directory; choose another --out");
        }
        if out.join("model.safetensors").exists() && !out.join(PROVENANCE_FILE).exists() {
            return refuse("holds a model that controlmap did not tune; it is left alone");
        }
        Ok(())
    }

    /// Writes the tuned model to `out`: the base's configuration and tokenizer files, the
    /// weights under their original names, and `provenance` as [`PROVENANCE_FILE`]. Refuses
    /// what [`Tuner::check_destination`] refuses.
    pub fn save(&self, out: &Path, provenance: &serde_json::Value) -> Result<()> {
        self.check_destination(out)?;
        fs_err::create_dir_all(out)?;
        // The old provenance goes first: a directory with new weights and old provenance would
        // share an identity with the earlier run.
        let provenance_path = out.join(PROVENANCE_FILE);
        if provenance_path.exists() {
            fs_err::remove_file(&provenance_path)?;
        }
        for name in COPIED {
            let from = self.base.join(name);
            let to = out.join(name);
            if from.is_file() {
                if let Some(parent) = to.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                fs_err::copy(&from, &to)?;
            } else if from.is_dir() {
                fs_err::create_dir_all(&to)?;
            }
        }
        let mut tensors: HashMap<String, Tensor> = self
            .varmap
            .data()
            .lock()
            .expect("the VarMap is not poisoned")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        tensors.extend(self.fixed.iter().map(|(k, v)| (k.clone(), v.clone())));
        let tmp = out.join("model.safetensors.partial");
        candle_core::safetensors::save(&tensors, &tmp)?;
        fs_err::rename(&tmp, out.join("model.safetensors"))?;
        let mut text = serde_json::to_string_pretty(provenance).map_err(std::io::Error::other)?;
        text.push('\n');
        fs_err::write(&provenance_path, text)?;
        Ok(())
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TinyModel;
    use crate::{BertEmbedder, Embedder};

    fn tiny() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        TinyModel::default().write(dir.path()).unwrap();
        dir
    }

    const TEXTS: &[&str] = &[
        "the ai policy is reviewed every year",
        "data quality",
        "risk of the system shall be a test",
    ];

    #[test]
    fn the_training_pass_embeds_as_the_embedder_does() {
        let dir = tiny();
        let tuner = Tuner::load(dir.path(), DeviceChoice::Cpu).unwrap();
        let embedder = BertEmbedder::load(dir.path(), DeviceChoice::Cpu).unwrap();
        let ours = tuner.embed(TEXTS).unwrap();
        let theirs = embedder.embed(TEXTS).unwrap();
        for (i, row) in ours.iter().enumerate() {
            let cos: f32 = row.iter().zip(theirs.row(i)).map(|(a, b)| a * b).sum();
            assert!(cos > 0.9999, "text {i}: cosine {cos}");
        }
    }

    #[test]
    fn training_lowers_the_loss_and_the_saved_model_loads_with_its_new_weights() {
        let dir = tiny();
        let anchors = [
            ("the ai policy", 0),
            ("policy is reviewed every year", 0),
            ("data quality of the model", 1),
            ("quality data", 1),
            ("risk of the system", 2),
            ("system risk test", 2),
        ];
        let targets = ["ai policy review", "data quality", "system risk"];
        let mut tuner = Tuner::load(dir.path(), DeviceChoice::Cpu).unwrap();
        let before = tuner.loss(&anchors, &targets).unwrap();
        // The tiny model is random each time it is written: no dropout and a gentle rate keep
        // the descent steady whatever the start.
        let options = TuneOptions {
            epochs: 30,
            batch_size: 4,
            learning_rate: 3e-3,
            dropout: Some(0.0),
            ..Default::default()
        };
        let mut heard = 0;
        let summary = tuner
            .train(&anchors, &targets, &options, &mut |s| {
                assert!(s.loss.is_finite());
                assert_eq!(s.steps_per_epoch, 2);
                heard += 1;
            })
            .unwrap();
        assert_eq!((summary.steps, heard), (60, 60));
        let after = tuner.loss(&anchors, &targets).unwrap();
        assert!(
            after < before * 0.5,
            "loss {before} -> {after} (epochs {:?})",
            summary.epoch_losses
        );

        let out = tempfile::tempdir().unwrap();
        let tuned_dir = out.path().join("tuned");
        let provenance = serde_json::json!({"seed": 0});
        tuner.save(&tuned_dir, &provenance).unwrap();
        let tuned = BertEmbedder::load(&tuned_dir, DeviceChoice::Cpu).unwrap();
        let base = BertEmbedder::load(dir.path(), DeviceChoice::Cpu).unwrap();
        assert_ne!(tuned.model_id(), base.model_id());
        // What the embedder reads back is what was trained.
        let ours = tuner.embed(TEXTS).unwrap();
        let theirs = tuned.embed(TEXTS).unwrap();
        let was = base.embed(TEXTS).unwrap();
        for (i, row) in ours.iter().enumerate() {
            let cos: f32 = row.iter().zip(theirs.row(i)).map(|(a, b)| a * b).sum();
            assert!(cos > 0.9999, "text {i}: cosine {cos}");
            let moved: f32 = row.iter().zip(was.row(i)).map(|(a, b)| a * b).sum();
            assert!(moved < 0.999, "text {i} did not move: {moved}");
        }
        let written: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tuned_dir.join(PROVENANCE_FILE)).unwrap(),
        )
        .unwrap();
        assert_eq!(written, provenance);
    }

    #[test]
    fn a_seed_fixes_the_run() {
        let dir = tiny();
        let anchors = [("the ai policy", 0), ("data quality", 1), ("risk", 0)];
        let targets = ["policy", "quality"];
        let options = TuneOptions {
            epochs: 2,
            batch_size: 2,
            learning_rate: 1e-2,
            ..Default::default()
        };
        let run = |seed| {
            let mut t = Tuner::load(dir.path(), DeviceChoice::Cpu).unwrap();
            let o = TuneOptions {
                seed,
                ..options.clone()
            };
            t.train(&anchors, &targets, &o, &mut |_| {})
                .unwrap()
                .epoch_losses
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn save_refuses_the_base_directory_and_a_model_it_did_not_tune() {
        let dir = tiny();
        let tuner = Tuner::load(dir.path(), DeviceChoice::Cpu).unwrap();
        let err = tuner.save(dir.path(), &serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("base model"), "{err}");
        let other = tiny();
        let err = tuner
            .save(other.path(), &serde_json::json!({}))
            .unwrap_err();
        assert!(err.to_string().contains("did not tune"), "{err}");
        // A directory it tuned before is overwritten.
        let out = tempfile::tempdir().unwrap();
        tuner
            .save(out.path(), &serde_json::json!({"run": 1}))
            .unwrap();
        tuner
            .save(out.path(), &serde_json::json!({"run": 2}))
            .unwrap();
        let text = std::fs::read_to_string(out.path().join(PROVENANCE_FILE)).unwrap();
        assert!(text.contains("2"));
    }
}
