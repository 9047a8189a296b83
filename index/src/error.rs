use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("full-text index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),

    #[error("full-text query: {0}")]
    Query(#[from] tantivy::query::QueryParserError),

    #[error("vector file {path}: {reason}")]
    Vectors { path: PathBuf, reason: String },

    /// The vector file was written by another model; its vectors cannot be compared with ours.
    #[error(
        "vector file {path} was written with model '{found}', but this run uses '{expected}'; \
         re-embed by running `controlmap run` again, or delete the workspace"
    )]
    ModelMismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },

    /// The index on disk was written by another version of controlmap.
    #[error(
        "the index in {path} was written by another version of controlmap; run `controlmap run` \
         again to rebuild it"
    )]
    IncompatibleIndex { path: PathBuf },

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
