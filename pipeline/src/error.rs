//! The library's error: what went wrong, with the file it concerns; a user's mistake says
//! what to do next ([`Error::User`]), a failure of the program or the machine says what broke.
//! The faces (`commands/`, the web UI) turn it into an exit code or a page.

use std::{
    fmt::Display,
    path::{Path, PathBuf},
};

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user's mistake (a missing workspace, a bad argument, a file that is not ours),
    /// with what to do next.
    #[error("{0}")]
    User(String),

    /// A catalog that cannot be read or does not validate (names its file and line).
    #[error(transparent)]
    Catalog(#[from] CatalogError),

    /// A gold file that cannot be read or does not validate (names its file and line).
    #[error(transparent)]
    Gold(#[from] GoldError),

    /// The decision store.
    #[error(transparent)]
    Review(#[from] StoreError),

    /// The embedding model.
    #[error(transparent)]
    Model(#[from] controlmap_models::Error),

    /// The text index or the vector store.
    #[error(transparent)]
    Index(#[from] controlmap_index::Error),

    /// Reading or writing a file (`fs_err` names it).
    #[error(transparent)]
    Io(#[from] std::io::Error),

    #[error(transparent)]
    Json(#[from] serde_json::Error),

    #[error(transparent)]
    Csv(#[from] csv::Error),

    /// What was being done when `cause` failed; shown as `context: cause` (the cause is part
    /// of the message, not a separate source, so that every way of printing it shows both).
    #[error("{context}: {cause}")]
    Context { context: String, cause: Box<Error> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A user's mistake, with what to do next.
    pub fn user(message: impl Into<String>) -> Self {
        Error::User(message.into())
    }

    /// The whole chain on one line: `context: cause: cause`.
    pub fn chain(&self) -> String {
        let mut s = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            s.push_str(": ");
            s.push_str(&e.to_string());
            next = e.source();
        }
        s
    }

    /// Whether the reader of a closed pipe went away (`controlmap … | head`): not an error.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io(e) => e.kind() == std::io::ErrorKind::BrokenPipe,
            Error::Context { cause, .. } => cause.is_broken_pipe(),
            _ => false,
        }
    }
}

/// Says what was being done when an error happened, as anyhow's `Context` does for the faces.
pub trait Context<T> {
    fn context(self, context: impl Display) -> Result<T>;
    fn with_context<C: Display>(self, context: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Display) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.to_string(),
            cause: Box::new(e.into()),
        })
    }

    fn with_context<C: Display>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context().to_string(),
            cause: Box::new(e.into()),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl Display) -> Result<T> {
        self.ok_or_else(|| Error::User(context.to_string()))
    }

    fn with_context<C: Display>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| Error::User(context().to_string()))
    }
}

/// Returns early with a user's mistake, formatted: the library's `bail!`.
macro_rules! user_error {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::User(format!($($arg)*)))
    };
}
pub(crate) use user_error;

/// A catalog that cannot be read or does not validate.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", source_name.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct CatalogError {
    pub source_name: PathBuf,
    /// 1-based line of the offending item, when known.
    pub line: Option<usize>,
    pub message: String,
}

/// A gold file that cannot be read or does not validate.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", source_name.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct GoldError {
    pub source_name: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub message: String,
}

/// What can go wrong with the decision store and its files.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{0} is not a workspace folder; run `controlmap run POLICY_DIR` first and pass the \
         workspace it wrote (by default .controlmap beside POLICY_DIR) with --workspace"
    )]
    NoWorkspace(PathBuf),

    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    #[error("{path}: {error}")]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },

    #[error(
        "{path} has schema version {found}, newer than the {supported} this controlmap knows; \
         use a newer controlmap (the file is left as it is)"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error(
        "{path} failed SQLite's integrity check ({found}); restore it from a backup or an \
         export (`controlmap review import`)"
    )]
    Corrupt { path: PathBuf, found: String },

    #[error(
        "{path} is not a decision store of controlmap ({why}); nothing was written to it. \
         Restore it from a backup, or move it aside and bring your decisions back with \
         `controlmap review import` from an export"
    )]
    NotAStore { path: PathBuf, why: String },

    #[error(
        "{path} was written by an older controlmap (schema version {found}) and cannot be \
         written here to bring it up to date; run any controlmap command on a writable copy of \
         the workspace once (for example `controlmap review list`), then use that copy"
    )]
    OlderSchemaReadOnly { path: PathBuf, found: u32 },
}

impl StoreError {
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error) -> Self {
        StoreError::Sqlite {
            path: path.to_path_buf(),
            error: source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_chains_read_as_one_line() {
        let e: Result<()> = Err(std::io::Error::other("disk full")).context("cannot write x");
        let e = e.unwrap_err();
        assert_eq!(e.to_string(), "cannot write x: disk full");
        assert_eq!(e.chain(), "cannot write x: disk full");
        // anyhow, at the faces, prints it once.
        assert_eq!(
            format!("{:#}", anyhow::Error::from(e)),
            "cannot write x: disk full"
        );
    }

    #[test]
    fn a_broken_pipe_is_recognised_under_context() {
        let e: Result<()> =
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).context("printing");
        assert!(e.unwrap_err().is_broken_pipe());
    }
}
