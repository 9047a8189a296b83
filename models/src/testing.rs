//! A tiny random BERT written to disk, for tests that need the loading code but not the
//! real model. Its vectors mean nothing; its shapes, tokenizer and files are real.

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
