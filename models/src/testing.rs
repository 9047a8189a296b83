//! Models for tests: [`TinyModel`], a tiny random BERT written to disk, for tests that need
//! the loading code but not the real model (its vectors mean nothing; its shapes, tokenizer
//! and files are real); and [`FakeEmbedder`], a deterministic bag-of-words embedder for tests
//! above this crate that need vectors and no model at all.

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config, HiddenAct};
use tokenizers::{
    Tokenizer, models::wordpiece::WordPiece, normalizers::BertNormalizer,
    pre_tokenizers::bert::BertPreTokenizer, processors::bert::BertProcessing,
};

/// How to write the tiny model.
#[derive(Debug, Clone, Copy)]
pub struct TinyModel {
    /// Store weights as `bert.embeddings…` rather than `embeddings…`.
    pub bert_prefix: bool,
    /// `max_seq_length` in `sentence_bert_config.json` (None: no such file).
    pub max_seq_length: Option<usize>,
    pub hidden: usize,
    pub layers: usize,
}

impl Default for TinyModel {
    fn default() -> Self {
        Self {
            bert_prefix: false,
            max_seq_length: Some(16),
            hidden: 32,
            layers: 2,
        }
    }
}

const WORDS: &[&str] = &[
    "the", "ai", "policy", "is", "reviewed", "every", "year", "model", "data", "quality", "a",
    "test", "this", "of", "and", "to", "shall", "be", "risk", "system",
];

fn vocab() -> Vec<String> {
    let mut v: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(WORDS.iter().map(|s| s.to_string()));
    v.extend(".,;:!?()-'\"/".chars().map(|c| c.to_string()));
    v.extend(('a'..='z').map(|c| c.to_string()));
    v.extend(('a'..='z').map(|c| format!("##{c}")));
    v.extend(('0'..='9').map(|c| c.to_string()));
    v.extend(('0'..='9').map(|c| format!("##{c}")));
    v
}

impl TinyModel {
    /// Writes `config.json`, `tokenizer.json`, `model.safetensors` and, when asked,
    /// `sentence_bert_config.json` and `1_Pooling/config.json` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow_free::Result {
        std::fs::create_dir_all(dir)?;
        let vocab = vocab();
        let config = serde_json::json!({
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": vocab.len(),
            "hidden_size": self.hidden,
            "num_hidden_layers": self.layers,
            "num_attention_heads": 4,
            "intermediate_size": self.hidden * 2,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": 64,
            "type_vocab_size": 2,
            "initializer_range": 0.02,
            "layer_norm_eps": 1e-12,
            "pad_token_id": 0
        });
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_string_pretty(&config)?,
        )?;
        if let Some(n) = self.max_seq_length {
            std::fs::write(
                dir.join("sentence_bert_config.json"),
                format!(r#"{{"max_seq_length": {n}, "do_lower_case": false}}"#),
            )?;
            std::fs::create_dir_all(dir.join("1_Pooling"))?;
            std::fs::write(
                dir.join("1_Pooling/config.json"),
                format!(
                    r#"{{"word_embedding_dimension": {}, "pooling_mode_cls_token": false,
                        "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false}}"#,
                    self.hidden
                ),
            )?;
        }

        let vocab_txt = dir.join("vocab.txt");
        std::fs::write(&vocab_txt, vocab.join("\n"))?;
        let wordpiece = WordPiece::from_file(&vocab_txt.to_string_lossy())
            .unk_token("[UNK]".into())
            .build()?;
        let mut tok = Tokenizer::new(wordpiece);
        tok.with_normalizer(Some(BertNormalizer::new(true, true, Some(true), true)));
        tok.with_pre_tokenizer(Some(BertPreTokenizer));
        tok.with_post_processor(Some(BertProcessing::new(
            ("[SEP]".into(), 3),
            ("[CLS]".into(), 2),
        )));
        tok.save(dir.join("tokenizer.json"), false)?;

        let cfg: Config = serde_json::from_value(config)?;
        debug_assert_eq!(cfg.hidden_act, HiddenAct::Gelu);
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let vb = if self.bert_prefix { vb.pp("bert") } else { vb };
        BertModel::load(vb, &cfg)?;
        varmap.save(dir.join("model.safetensors"))?;
        Ok(())
    }
}

/// A boxed-error result, so this helper needs no error enum of its own.
mod anyhow_free {
    pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}

/// A deterministic stand-in for a model, for tests above this crate that need vectors but
/// not a transformer: each word (lower-cased, alphanumeric runs) adds a fixed pseudo-random
/// direction, and the sum is normalised. Texts sharing words are close; the same text gives
/// the same vector alone or in a batch. One token per word, plus two for the special tokens.
#[derive(Debug, Clone)]
pub struct FakeEmbedder {
    dim: usize,
    model_id: String,
}

impl FakeEmbedder {
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            model_id: format!("fake-bag-of-words@{dim}"),
        }
    }

    fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let mut state = word
                .to_lowercase()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
            let mut rng = crate::SplitMix64::new(state);
            for x in &mut v {
                state = rng.next_u64();
                *x += (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        } else {
            v[0] = 1.0;
        }
        v
    }
}

impl crate::Embedder for FakeEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn max_tokens(&self) -> usize {
        256
    }

    fn count_tokens(&self, text: &str) -> crate::Result<usize> {
        Ok(text.split_whitespace().count() + 2)
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn embed_with_progress(
        &self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize),
    ) -> crate::Result<crate::Embeddings> {
        let mut data = Vec::with_capacity(texts.len() * self.dim);
        for t in texts {
            data.extend(self.vector(t));
        }
        progress(texts.len());
        Ok(crate::Embeddings::new(self.dim, data))
    }
}

#[cfg(test)]
mod fake_tests {
    use super::*;
    use crate::Embedder;

    #[test]
    fn the_fake_embedder_is_deterministic_and_batch_independent() {
        let e = FakeEmbedder::new(16);
        let both = e.embed(&["AI policy review", "travel meals"]).unwrap();
        let one = e.embed(&["travel meals"]).unwrap();
        assert_eq!(both.row(1), one.row(0));
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        assert!((dot(one.row(0), one.row(0)) - 1.0).abs() < 1e-5);
        let near = e.embed(&["the AI policy"]).unwrap();
        assert!(dot(near.row(0), both.row(0)) > dot(near.row(0), both.row(1)));
    }
}
