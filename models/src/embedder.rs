use crate::Result;

/// A row-major matrix of unit vectors, one row per input text, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    dim: usize,
    data: Vec<f32>,
}

impl Embeddings {
    /// Wraps `data` (`rows * dim` floats, row-major).
    ///
    /// # Panics
    /// If `data.len()` is not a multiple of `dim`.
    pub fn new(dim: usize, data: Vec<f32>) -> Self {
        assert!(
            dim > 0 && data.len().is_multiple_of(dim),
            "data is not a whole number of rows"
        );
        Self { dim, data }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        self.data.chunks_exact(self.dim)
    }

    /// The flat row-major buffer.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
}

/// Turns texts into L2-normalised vectors. Implementations must return one row per input,
/// in input order, and the same vector for a text whether it is embedded alone or in a batch.
pub trait Embedder: Send + Sync {
    /// Length of every vector.
    fn dim(&self) -> usize;

    /// Longest input in tokens (special tokens included); longer inputs are truncated.
    fn max_tokens(&self) -> usize;

    /// Number of tokens `text` becomes, special tokens included, before truncation.
    fn count_tokens(&self, text: &str) -> Result<usize>;

    /// A stable name for the model (used to refuse mixing vectors from different models).
    fn model_id(&self) -> &str;

    /// Embeds `texts`, calling `progress` with the number of texts finished after each batch.
    fn embed_with_progress(
        &self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Embeddings>;

    /// Embeds `texts`. An empty input gives an empty matrix.
    fn embed(&self, texts: &[&str]) -> Result<Embeddings> {
        self.embed_with_progress(texts, &mut |_| {})
    }
}
