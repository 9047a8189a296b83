use std::path::PathBuf;

/// Everything that can go wrong between a model directory and a batch of vectors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No model directory was found in any of the searched places.
    #[error(
        "no embedding model found. Searched:\n{}\nFetch the default model with:\n    {fetch}",
        searched.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n")
    )]
    ModelNotFound {
        searched: Vec<String>,
        fetch: String,
    },

    /// A model directory lacks a file we need, or a file in it is malformed.
    #[error("model directory {dir}: {reason}")]
    InvalidModel { dir: PathBuf, reason: String },

    /// The user asked for a device this binary cannot use.
    #[error("{0}")]
    Device(String),

    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// Fine-tuning was asked for with nothing it can train on.
    #[error("fine-tuning: {0}")]
    Training(String),

    #[error("model computation failed: {0}")]
    Candle(#[from] candle_core::Error),

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
