//! A model directory on disk: reading and checking `config.json`, `tokenizer.json`,
//! `model.safetensors` and the sentence-transformers configs beside them, finding the model's
//! root in the weights, and the directory's identity (name and fingerprint).
//!
//! The loader ([`crate::BertEmbedder`]) and the fine-tuner ([`crate::Tuner`]) both read a
//! model through here, so neither depends on the other.

use std::path::{Path, PathBuf};

use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use crate::pooling::Pooling;
use crate::{Error, Result};

/// The file a fine-tuned model directory carries beside its weights: what it was tuned from
/// and how. Its presence also sets the model's identity apart from its base's.
pub const PROVENANCE_FILE: &str = "controlmap-tune.json";

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    word_embedding_dimension: Option<usize>,
}

/// The model's root in the weights file: `embeddings.…`, `bert.embeddings.…`, or
/// `MODEL_TYPE.embeddings.…`, as candle's `BertModel::load` accepts.
pub(crate) fn weights_root<'a>(vb: VarBuilder<'a>, config: &Config) -> VarBuilder<'a> {
    let probe = "embeddings.word_embeddings.weight";
    if vb.contains_tensor(probe) {
        return vb;
    }
    for prefix in ["bert"].into_iter().chain(config.model_type.as_deref()) {
        if vb.contains_tensor(&format!("{prefix}.{probe}")) {
            return vb.pp(prefix);
        }
    }
    vb
}

pub(crate) fn invalid(dir: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidModel {
        dir: dir.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> Result<Option<T>> {
    let path = dir.join(name);
    if !path.is_file() {
        return Ok(None);
    }
    let text = fs_err::read_to_string(&path)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| invalid(dir, format!("{name} is not valid: {e}")))
}

/// A short fingerprint of the model files: config, tokenizer, and the weights' size and
/// header, so two different models never share an identity without hashing 90 MB each load.
pub(crate) fn fingerprint(dir: &Path, weights: &Path) -> Result<String> {
    use std::io::Read;
    let mut h = Sha256::new();
    h.update(fs_err::read(dir.join("config.json"))?);
    h.update(fs_err::read(dir.join("tokenizer.json"))?);
    let mut f = fs_err::File::open(weights)?;
    h.update(f.metadata()?.len().to_le_bytes());
    let mut head = Vec::with_capacity(1 << 16);
    f.by_ref().take(1 << 16).read_to_end(&mut head)?;
    h.update(&head);
    // A fine-tuned model has the same names, shapes and size as its base; its provenance file
    // (seed, catalog, losses) sets it apart even where the first 64 KiB of weights do not.
    if let Ok(provenance) = fs_err::read(dir.join(PROVENANCE_FILE)) {
        h.update(provenance);
    }
    let digest = h.finalize();
    Ok(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
}

/// A readable name for the model directory: the Hugging Face repo name when it sits in a
/// hub cache, else the folder name.
pub(crate) fn model_name(dir: &Path) -> String {
    let comps: Vec<String> = dir
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(pos) = comps.iter().rposition(|c| c.starts_with("models--")) {
        return comps[pos]
            .trim_start_matches("models--")
            .replacen("--", "/", 1);
    }
    comps.last().cloned().unwrap_or_else(|| "model".into())
}

/// What a model directory holds, read and checked: everything but the weights themselves.
pub(crate) struct ModelFiles {
    pub config: Config,
    pub weights: PathBuf,
    /// Truncates to `max_tokens`.
    pub tokenizer: Tokenizer,
    /// Does not truncate; counts tokens.
    pub counter: Tokenizer,
    pub max_tokens: usize,
    pub pooling: Pooling,
}

impl ModelFiles {
    /// Reads `config.json`, `tokenizer.json`, `sentence_bert_config.json` and
    /// `1_Pooling/config.json` in `dir`, and checks that `model.safetensors` is there.
    pub fn read(dir: &Path) -> Result<Self> {
        let config: Config =
            read_json(dir, "config.json")?.ok_or_else(|| invalid(dir, "config.json is missing"))?;
        let weights: PathBuf = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(invalid(dir, "model.safetensors is missing"));
        }
        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.is_file() {
            return Err(invalid(dir, "tokenizer.json is missing"));
        }

        let st: Option<SentenceBertConfig> = read_json(dir, "sentence_bert_config.json")?;
        let max_tokens = st
            .and_then(|c| c.max_seq_length)
            .unwrap_or(config.max_position_embeddings)
            .min(config.max_position_embeddings);

        let pooling = match read_json::<PoolingConfig>(dir, "1_Pooling/config.json")? {
            None => Pooling::Mean,
            Some(p) => {
                if let Some(d) = p
                    .word_embedding_dimension
                    .filter(|&d| d != config.hidden_size)
                {
                    return Err(invalid(
                        dir,
                        format!(
                            "pooling dimension {d} differs from hidden_size {}",
                            config.hidden_size
                        ),
                    ));
                }
                match (
                    p.pooling_mode_mean_tokens,
                    p.pooling_mode_cls_token,
                    p.pooling_mode_max_tokens,
                ) {
                    (true, false, false) => Pooling::Mean,
                    (false, true, false) => Pooling::Cls,
                    _ => {
                        return Err(invalid(
                            dir,
                            "1_Pooling/config.json asks for a pooling other than mean or CLS alone; not supported",
                        ));
                    }
                }
            }
        };

        let mut counter = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| invalid(dir, format!("tokenizer.json cannot be loaded: {e}")))?;
        counter.with_padding(None);
        counter
            .with_truncation(None)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut tokenizer = counter.clone();
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Self {
            config,
            weights,
            tokenizer,
            counter,
            max_tokens,
            pooling,
        })
    }
}
