//! A BERT-family sentence-embedding model (e.g. all-MiniLM-L6-v2) on candle.

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::BertModel;
use tokenizers::Tokenizer;

use crate::cpu::{FastBert, Precision};
use crate::files::{ModelFiles, fingerprint, invalid, model_name, weights_root};
use crate::pooling::{Pooling, padded, pooled_unit};
use crate::{DeviceChoice, Embedder, Embeddings, Error, Result, batch::plan_batches};

/// Knobs for loading and batching.
#[derive(Debug, Clone)]
pub struct EmbedderOptions {
    pub device: DeviceChoice,
    /// Padded tokens per forward pass (batch size × longest member).
    pub token_budget: usize,
    /// Most texts per forward pass.
    pub max_batch: usize,
    /// The number format of the linear layers.
    pub precision: Precision,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        // Measured on 2 cores: larger budgets stop paying off around 4k tokens, and keep
        // memory small (activations are a few MiB per 1k tokens for MiniLM).
        Self {
            device: DeviceChoice::Auto,
            token_budget: 4096,
            max_batch: 64,
            precision: Precision::F32,
        }
    }
}

/// The candle BERT, its tokenizer and the pooling the model was trained with.
pub struct BertEmbedder {
    model: Backend,
    /// Truncates to `max_tokens`; used for embedding.
    tokenizer: Tokenizer,
    /// Does not truncate; used to count tokens.
    counter: Tokenizer,
    device: Device,
    dim: usize,
    max_tokens: usize,
    pad_id: u32,
    pooling: Pooling,
    model_id: String,
    options: EmbedderOptions,
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .field("max_tokens", &self.max_tokens)
            .field("pooling", &self.pooling)
            .field("device", &self.device)
            .finish()
    }
}

/// Which forward pass runs the model.
enum Backend {
    /// candle-transformers' `BertModel`: any device.
    Candle(BertModel),
    /// The fused CPU pass in [`crate::cpu`].
    FastCpu(FastBert),
}

impl BertEmbedder {
    /// Loads the model in `dir` on `device` with default batching.
    pub fn load(dir: &Path, device: DeviceChoice) -> Result<Self> {
        Self::load_with(
            dir,
            EmbedderOptions {
                device,
                ..Default::default()
            },
        )
    }

    /// The id the model in `dir` has in float32 (what [`Embedder::model_id`] gives without a
    /// `+bf16` / `+int8` suffix), read from its files without loading the weights.
    pub fn float32_model_id(dir: &Path) -> Result<String> {
        let weights = dir.join("model.safetensors");
        Ok(format!(
            "{}@{}",
            model_name(dir),
            fingerprint(dir, &weights)?
        ))
    }

    /// Loads the model in `dir`: `config.json`, `tokenizer.json`, `model.safetensors`, and
    /// `sentence_bert_config.json` / `1_Pooling/config.json` when present.
    pub fn load_with(dir: &Path, options: EmbedderOptions) -> Result<Self> {
        let device = options.device.resolve()?;
        let ModelFiles {
            config,
            weights,
            tokenizer,
            counter,
            max_tokens,
            pooling,
        } = ModelFiles::read(dir)?;

        // SAFETY: the file is memory-mapped read-only; candle copies tensors out of it at
        // load, and we do not keep the map past this function.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| invalid(dir, format!("model.safetensors cannot be read: {e}")))?;
        let mismatch = |e: Error| invalid(dir, format!("weights do not match config.json: {e}"));
        let precision = options.precision;
        let reduced = precision != Precision::F32;
        if reduced && !device.is_cpu() {
            return Err(Error::Device(format!(
                "--precision {precision} runs on the CPU only; use --device cpu or --precision f32"
            )));
        }
        let fast = if device.is_cpu() {
            FastBert::load(&weights_root(vb.clone(), &config), &config, precision)
                .map_err(mismatch)?
        } else {
            None
        };
        let model = match fast {
            Some(f) => Backend::FastCpu(f),
            None if reduced => {
                return Err(invalid(
                    dir,
                    format!(
                        "--precision {precision} supports BERT models with GELU (erf) only; \
                         use --precision f32"
                    ),
                ));
            }
            None => Backend::Candle(BertModel::load(vb, &config).map_err(|e| mismatch(e.into()))?),
        };

        // Reduced precision gives other vectors: a workspace must not mix them with float32's.
        let mut model_id = Self::float32_model_id(dir)?;
        if options.precision != Precision::F32 {
            model_id.push_str(&format!("+{}", options.precision));
        }
        Ok(Self {
            model,
            tokenizer,
            counter,
            device,
            dim: config.hidden_size,
            max_tokens,
            pad_id: config.pad_token_id as u32,
            pooling,
            model_id,
            options,
        })
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Token ids as the model sees them (special tokens included, truncated).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Runs one batch and returns its pooled, normalised rows.
    fn forward(&self, ids: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        match &self.model {
            Backend::Candle(m) => self.forward_candle(m, ids),
            Backend::FastCpu(m) => Ok(self.forward_fast(m, ids)),
        }
    }

    /// The fused CPU pass: sequences packed without padding, pooled per sequence.
    fn forward_fast(&self, model: &FastBert, ids: &[&[u32]]) -> Vec<Vec<f32>> {
        let d = self.dim;
        // An empty id list cannot happen with a tokenizer that adds [CLS]; guard anyway.
        let seqs: Vec<&[u32]> = ids
            .iter()
            .map(|s| if s.is_empty() { &[0u32][..] } else { s })
            .collect();
        let hidden = model.forward(&seqs);
        let mut rows = Vec::with_capacity(seqs.len());
        let mut o = 0;
        for s in &seqs {
            let tokens = &hidden[o * d..(o + s.len()) * d];
            let mut v = match self.pooling {
                Pooling::Cls => tokens[..d].to_vec(),
                Pooling::Mean => {
                    let mut v = vec![0f32; d];
                    for t in tokens.chunks_exact(d) {
                        for (a, b) in v.iter_mut().zip(t) {
                            *a += b;
                        }
                    }
                    let n = s.len() as f32;
                    v.iter_mut().for_each(|a| *a /= n);
                    v
                }
            };
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.iter_mut().for_each(|a| *a /= norm);
            rows.push(v);
            o += s.len();
        }
        rows
    }

    /// Runs one padded batch through candle's `BertModel`.
    fn forward_candle(&self, model: &BertModel, ids: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let (input_ids, mask) = padded(ids, self.pad_id, &self.device)?;
        let type_ids = input_ids.zeros_like()?;
        let hidden = model.forward(&input_ids, &type_ids, Some(&mask))?; // (n, width, dim)
        let unit = pooled_unit(&hidden, &mask, self.pooling)?.to_dtype(DType::F32)?;
        Ok(unit.to_vec2::<f32>()?)
    }
}

impl Embedder for BertEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn count_tokens(&self, text: &str) -> Result<usize> {
        let enc = self
            .counter
            .encode(text, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(enc.len())
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn embed_with_progress(
        &self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Embeddings> {
        if texts.is_empty() {
            return Ok(Embeddings::new(self.dim, Vec::new()));
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let lengths: Vec<usize> = encodings.iter().map(|e| e.len()).collect();
        let plan = plan_batches(&lengths, self.options.token_budget, self.options.max_batch);
        let mut out = vec![0f32; texts.len() * self.dim];
        for batch in &plan.batches {
            let ids: Vec<&[u32]> = batch.iter().map(|&i| encodings[i].get_ids()).collect();
            let rows = self.forward(&ids)?;
            for (&i, row) in batch.iter().zip(rows) {
                out[i * self.dim..(i + 1) * self.dim].copy_from_slice(&row);
            }
            progress(batch.len());
        }
        Ok(Embeddings::new(self.dim, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TinyModel;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn tiny(opts: TinyModel) -> (tempfile::TempDir, BertEmbedder) {
        let dir = tempfile::tempdir().unwrap();
        opts.write(dir.path()).unwrap();
        let e = BertEmbedder::load(dir.path(), DeviceChoice::Cpu).unwrap();
        (dir, e)
    }

    #[test]
    fn candle_bert_embeds_as_the_fast_cpu_pass_does() {
        // The candle backend runs where the fused CPU pass does not (GPUs); on the CPU it is
        // swapped in by hand so its padding and pooling are checked here too.
        let (dir, fast) = tiny(TinyModel::default());
        let files = ModelFiles::read(dir.path()).unwrap();
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[&files.weights], DType::F32, &Device::Cpu)
        }
        .unwrap();
        let mut slow = BertEmbedder::load(dir.path(), DeviceChoice::Cpu).unwrap();
        slow.model = Backend::Candle(BertModel::load(vb, &files.config).unwrap());
        let texts = [
            "the ai policy is reviewed every year",
            "data",
            "risk of the model",
        ];
        let (a, b) = (fast.embed(&texts).unwrap(), slow.embed(&texts).unwrap());
        for i in 0..texts.len() {
            let cos = cosine(a.row(i), b.row(i));
            assert!(cos > 0.9999, "text {i}: cosine {cos}");
        }
    }

    #[test]
    fn loads_with_and_without_bert_prefix() {
        for bert_prefix in [false, true] {
            let (_d, e) = tiny(TinyModel {
                bert_prefix,
                ..Default::default()
            });
            assert_eq!(e.dim(), 32);
            let v = e.embed(&["the ai policy"]).unwrap();
            assert_eq!((v.len(), v.dim()), (1, 32));
        }
    }

    #[test]
    fn vectors_are_unit_length_and_distinct() {
        let (_d, e) = tiny(TinyModel::default());
        let v = e
            .embed(&["the ai policy is reviewed", "data quality risk"])
            .unwrap();
        for row in v.rows() {
            let n: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-5, "norm {n}");
        }
        assert!(cosine(v.row(0), v.row(1)) < 0.9999);
    }

    #[test]
    fn max_length_comes_from_sentence_bert_config_or_model() {
        let (_d, e) = tiny(TinyModel {
            max_seq_length: Some(16),
            ..Default::default()
        });
        assert_eq!(e.max_tokens(), 16);
        let (_d, e) = tiny(TinyModel {
            max_seq_length: None,
            ..Default::default()
        });
        assert_eq!(e.max_tokens(), 64);
    }

    #[test]
    fn long_inputs_are_truncated_not_rejected() {
        let (_d, e) = tiny(TinyModel::default());
        let long = "the ai policy is reviewed every year ".repeat(20);
        assert!(e.count_tokens(&long).unwrap() > 100);
        let ids = e.token_ids(&long).unwrap();
        assert_eq!(ids.len(), 16);
        assert_eq!(
            (ids[0], ids[15]),
            (2, 3),
            "[CLS] … [SEP] survive truncation"
        );
        // Everything past the limit is ignored: a longer tail gives the same vector.
        let longer = format!("{long} data quality risk");
        let v = e.embed(&[&long, &longer]).unwrap();
        assert!(cosine(v.row(0), v.row(1)) > 0.99999);
    }

    #[test]
    fn batch_of_mixed_lengths_equals_one_by_one() {
        let dir = tempfile::tempdir().unwrap();
        TinyModel {
            max_seq_length: Some(64),
            ..Default::default()
        }
        .write(dir.path())
        .unwrap();
        // A small budget forces several batches with padding inside each.
        let opts = EmbedderOptions {
            device: DeviceChoice::Cpu,
            token_budget: 40,
            max_batch: 3,
            ..Default::default()
        };
        let e = BertEmbedder::load_with(dir.path(), opts).unwrap();
        let texts = [
            "ai",
            "the ai policy is reviewed every year by the risk system",
            "data",
            "model quality test",
            "this is a test of the system and the data and the model",
            "shall be",
            "",
        ];
        let batch = e.embed(&texts).unwrap();
        for (i, t) in texts.iter().enumerate() {
            let one = e.embed(&[t]).unwrap();
            let c = cosine(batch.row(i), one.row(0));
            assert!(c > 0.99999, "text {i} ({t:?}): cosine {c}");
        }
    }

    #[test]
    fn progress_counts_every_text() {
        let (_d, e) = tiny(TinyModel::default());
        let mut done = 0;
        e.embed_with_progress(&["a", "b", "c", "the policy"], &mut |n| done += n)
            .unwrap();
        assert_eq!(done, 4);
        assert!(e.embed(&[]).unwrap().is_empty());
    }

    #[test]
    fn model_id_names_the_model_and_changes_with_weights() {
        let (d1, e1) = tiny(TinyModel::default());
        let (_d2, e2) = tiny(TinyModel {
            layers: 1,
            ..Default::default()
        });
        let name = d1
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(e1.model_id().starts_with(&name), "{}", e1.model_id());
        assert_ne!(e1.model_id(), e2.model_id());
    }

    #[test]
    fn missing_or_broken_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        TinyModel::default().write(dir.path()).unwrap();
        let p = dir.path();

        std::fs::write(p.join("config.json"), "{ not json").unwrap();
        let err = BertEmbedder::load(p, DeviceChoice::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("config.json is not valid"), "{err}");

        TinyModel::default().write(p).unwrap();
        std::fs::write(p.join("model.safetensors"), b"garbage").unwrap();
        let err = BertEmbedder::load(p, DeviceChoice::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("model.safetensors"), "{err}");

        // Weights of another shape than the config says.
        TinyModel {
            hidden: 16,
            ..Default::default()
        }
        .write(p)
        .unwrap();
        let cfg = std::fs::read_to_string(p.join("config.json")).unwrap();
        std::fs::write(
            p.join("config.json"),
            cfg.replace("\"hidden_size\": 16", "\"hidden_size\": 32"),
        )
        .unwrap();
        std::fs::remove_dir_all(p.join("1_Pooling")).unwrap();
        let err = BertEmbedder::load(p, DeviceChoice::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("weights do not match config.json"), "{err}");

        std::fs::remove_file(p.join("tokenizer.json")).unwrap();
        let err = BertEmbedder::load(p, DeviceChoice::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("tokenizer.json is missing"), "{err}");
    }
}
