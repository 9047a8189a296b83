//! Sentence-embedding models for controlmap, run with [candle](https://github.com/huggingface/candle).
//!
//! This crate owns everything between "a list of texts" and "a list of unit vectors":
//! finding a model directory on disk ([`locate_model`]), loading a BERT-family
//! sentence-embedding model from it ([`BertEmbedder`]), tokenising with truncation to the
//! model's own sequence limit, grouping texts into length-sorted batches under a token budget
//! ([`plan_batches`]), mean pooling over the attention mask and L2 normalisation.
//! It knows nothing of documents or controls.
//!
//! Modules: `files` reads and checks a model directory; `pooling` pads batches and pools token
//! vectors; `bert` is the embedder and `tune` the fine-tuner, both built on those two; `cpu/`
//! holds the fused CPU forward pass and its kernels (SIMD row passes, int8 and bfloat16
//! layers, tiling) with the `Precision` choice; `batch`, `device`, `discovery`, `probe` and
//! `seeded` stand alone.
//!
//! ```no_run
//! use controlmap_models::{BertEmbedder, DeviceChoice, Embedder, ModelSearch};
//!
//! let dir = controlmap_models::locate_model(&ModelSearch::from_env(None))?;
//! let embedder = BertEmbedder::load(&dir, DeviceChoice::Auto)?;
//! let vectors = embedder.embed(&["The AI policy is reviewed every year."])?;
//! assert_eq!(vectors.dim(), embedder.dim());
//! # Ok::<(), controlmap_models::Error>(())
//! ```

mod batch;
mod bert;
mod cpu;
mod device;
mod discovery;
mod embedder;
mod error;
mod files;
mod pooling;
mod probe;
mod seeded;
mod tune;

pub use batch::{BatchPlan, plan_batches};
pub use bert::{BertEmbedder, EmbedderOptions};
pub use cpu::{KernelPath, Precision, cpu_threads, kernel_path, set_cpu_threads};
pub use device::DeviceChoice;
pub use discovery::{DEFAULT_MODEL_REPO, FETCH_COMMAND, ModelSearch, locate_model};
pub use embedder::{Embedder, Embeddings};
pub use error::{Error, Result};
pub use files::PROVENANCE_FILE;
pub use pooling::Pooling;
pub use probe::LinearProbe;
pub use seeded::SplitMix64;
pub use tune::{TuneOptions, TuneStep, TuneSummary, Tuner};

pub mod testing;
