//! The web UI (`controlmap serve`): coverage at a glance, each control's evidence, the review
//! queue, search and documents, as pages rendered on the server with maud, a little plain
//! JavaScript for keyboard shortcuts and in-place updates, and the exports.
//!
//! It owns no domain logic: coverage comes from [`crate::report`], decisions go through the
//! review [`crate::review::Store`] exactly as the CLI's do, the queue order is
//! [`crate::review::order::ordered_items`], and search is [`crate::search::Engine`].
//!
//! Security model (policy files are untrusted input, and the server may face a network):
//! - every value spliced into a page is HTML-escaped by maud; text is never inserted raw;
//! - a strict Content-Security-Policy ([`CSP`]): scripts and styles only from `/assets/`,
//!   which are embedded in the binary; nothing inline;
//! - every POST carries a CSRF token tied to the session, and a POST whose `Origin` is
//!   another site is refused;
//! - on loopback, requests must name a loopback host (against DNS rebinding); any other bind
//!   address needs access tokens ([`Access::Tokens`]), sent as `Authorization: Bearer` or
//!   kept in an HttpOnly, SameSite=Strict cookie after `/login?token=…`;
//! - `--read-only` shows no actions and refuses every POST;
//! - request bodies are bounded ([`BODY_LIMIT`]), and no request names a file: downloads
//!   are a fixed set, documents are looked up in the workspace's `documents.json`;
//! - connections are bounded in number and time ([`Limits`]), wrong tokens lock their client
//!   out for a while (`throttle.rs`), and only tokens too strong to guess are accepted
//!   (`strength.rs`).
//!
//! Every page answers from the workspace as it is now: pages read its files on each request,
//! and search reopens its index when a run has changed it (`engine.rs`).

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use controlmap_models::{DeviceChoice, Precision};
use sha2::{Digest, Sha256};

use crate::{
    catalog::Catalog,
    review::{Decision, Store},
    workspace,
};

mod actions;
mod auth;
mod conn;
mod engine;
mod pages;
mod strength;
mod throttle;

pub use auth::{Access, check_token as auth_check_token, load_tokens};
pub use conn::Limits;

/// The Content-Security-Policy of every response: nothing inline, nothing from elsewhere.
/// (`connect-src 'self'` lets the page's script post its forms in place.)
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

/// The largest request body accepted (a decision form is well under 1 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The default address: loopback only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8642";

/// What the server serves, to whom, and how.
#[derive(Debug, Clone)]
pub struct Config {
    /// The workspace `controlmap run` wrote.
    pub workspace: PathBuf,
    /// The address asked for (the port may be 0).
    pub bind: SocketAddr,
    pub access: Access,
    /// Show no actions and refuse every POST (for auditors).
    pub read_only: bool,
    /// Who decisions are recorded for when access is open or by a single token.
    pub reviewer: String,
    /// Model directory for search (as `controlmap search --model`).
    pub model: Option<PathBuf>,
    pub device: DeviceChoice,
    /// The search model's number format; `None`: the one the workspace's vectors were made in.
    pub precision: Option<Precision>,
    /// How many connections at once, and how long each may wait.
    pub limits: Limits,
}

/// Why the server will not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "{0} is not a loopback address: serving on it needs an access token (--token TOKEN or \
         --tokens-file FILE with `name:token` lines; make each with `openssl rand -hex 32`); or \
         bind to 127.0.0.1"
    )]
    NeedsToken(SocketAddr),

    #[error(
        "port {port} on {ip} is already in use (another `controlmap serve`?); pass another port \
         with --bind {ip}:PORT, or --bind {ip}:0 for any free one"
    )]
    PortTaken { ip: std::net::IpAddr, port: u16 },

    #[error(
        "{0} is not a controlmap workspace (no report.json); run `controlmap run POLICY_DIR \
         --workspace DIR` first and pass that DIR with --workspace"
    )]
    NoWorkspace(PathBuf),
}

impl From<StartError> for crate::Error {
    fn from(e: StartError) -> Self {
        crate::Error::User(e.to_string())
    }
}

impl Config {
    /// Refuses what must not start: a non-loopback address without tokens, a folder that is
    /// not a workspace.
    pub fn check(&self) -> Result<(), StartError> {
        if !self.bind.ip().is_loopback() && matches!(self.access, Access::Open) {
            return Err(StartError::NeedsToken(self.bind));
        }
        if !self.workspace.join(workspace::REPORT_JSON).is_file() {
            return Err(StartError::NoWorkspace(self.workspace.clone()));
        }
        Ok(())
    }
}

/// A reviewer's verdicts through the UI, newest last, for undo: each the pairs it decided and
/// what each was before.
type UndoStack = Vec<Vec<((String, String), Option<Decision>)>>;

/// What every request shares.
pub struct AppState {
    config: Config,
    /// Per-process secret the CSRF tokens are derived from.
    secret: [u8; 32],
    catalog: Catalog,
    /// Opened on the first search (loading the model takes seconds), then kept, and opened
    /// again when a run changes the workspace.
    engines: engine::Engines,
    /// Wrong tokens by client.
    throttle: Mutex<throttle::Throttle>,
    undo: Mutex<HashMap<String, UndoStack>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(config: Config) -> crate::Result<Arc<Self>> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| {
            std::io::Error::other(format!("no random numbers for the CSRF secret: {e}"))
        })?;
        // Every framework's controls, so that pages and search find any the run mapped.
        Ok(Arc::new(AppState {
            catalog: crate::frameworks::Frameworks::for_workspace(
                &crate::report::Report::recorded_catalogs(&config.workspace),
                &[],
            )?
            .combined(),
            config,
            secret,
            engines: engine::Engines::default(),
            throttle: Mutex::new(throttle::Throttle::default()),
            undo: Mutex::new(HashMap::new()),
        }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn workspace(&self) -> &Path {
        &self.config.workspace
    }

    /// The CSRF token of a session (the reviewer's access token, or none on open access).
    fn csrf_for(&self, session_key: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(b"csrf\0");
        h.update(session_key.as_bytes());
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The search engine of the workspace as it is now (see [`engine`]).
    fn engine(&self) -> Result<engine::Current, String> {
        self.engines.current(&self.config, &self.catalog)
    }
}

/// Who is asking, as the auth layer found out: put in each request's extensions.
#[derive(Debug, Clone)]
pub struct Session {
    /// Recorded on their decisions.
    pub reviewer: String,
    /// Must come back with each POST.
    pub csrf: String,
}

/// The whole application: pages, actions, assets and downloads behind the security layers.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(pages::coverage))
        .route("/control/{id}", get(pages::control))
        .route("/review", get(pages::review))
        .route("/search", get(pages::search))
        .route("/documents", get(pages::documents))
        .route("/document", get(pages::document))
        .route("/download/{name}", get(pages::download))
        .route("/assets/app.css", get(pages::css))
        .route("/assets/app.js", get(pages::js))
        .route("/login", get(auth::login))
        .route("/decide", post(actions::decide))
        .route("/na", post(actions::not_applicable))
        .route("/undo", post(actions::undo))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Headers on every response: the CSP and its companions.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// An error page with a status; the message is escaped like everything else.
#[derive(Debug)]
pub(crate) struct AppError {
    status: StatusCode,
    message: String,
}

impl AppError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        AppError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }

    pub(crate) fn forbidden(why: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, why)
    }
}

impl From<crate::Error> for AppError {
    fn from(e: crate::Error) -> Self {
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.chain())
    }
}

impl From<crate::review::Error> for AppError {
    fn from(e: crate::review::Error) -> Self {
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, pages::error_page(self.status, &self.message)).into_response()
    }
}

/// Runs `f` (file and SQLite work) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// A local path to send the browser back to after a POST: only paths on this site
/// (`/…`, never `//host` or a URL), else `/`.
pub(crate) fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b)
            if b.starts_with('/')
                && !b.starts_with("//")
                && !b.contains('\\')
                && !b.chars().any(char::is_control) =>
        {
            b.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The `Host` header's host name, without the port.
pub(crate) fn host_name(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next()?.to_string()
    } else {
        host.rsplit_once(':')
            .map(|(n, _)| n)
            .unwrap_or(host)
            .to_string()
    };
    Some(name.to_ascii_lowercase())
}

/// Binds the address (a clear error when the port is taken), prints the URL on stdout, then
/// serves until the process is stopped. `on_bound` gets the URL (for `--open`).
pub async fn serve(config: Config, on_bound: impl FnOnce(&str)) -> crate::Result<()> {
    config.check()?;
    let listener = match tokio::net::TcpListener::bind(config.bind).await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(StartError::PortTaken {
                ip: config.bind.ip(),
                port: config.bind.port(),
            }
            .into());
        }
        Err(e) => {
            return Err(crate::Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot listen on {}: {e}", config.bind),
            )));
        }
    };
    let addr = listener.local_addr()?;
    let url = match addr {
        SocketAddr::V6(a) => format!("http://[{}]:{}/", a.ip(), a.port()),
        SocketAddr::V4(a) => format!("http://{a}/"),
    };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{url}")?;
        out.flush()?;
    }
    on_bound(&url);
    let limits = config.limits;
    let app = router(AppState::new(config)?);
    conn::serve_connections(listener, app, limits).await;
    Ok(())
}

/// Opens the decision store of the workspace for one request (SQLite serialises writers; a
/// connection per request keeps concurrent requests apart).
pub(crate) fn store(state: &AppState) -> Result<Store, AppError> {
    Ok(Store::open(state.workspace())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_back() {
        assert_eq!(safe_back(Some("/control/A.2.2")), "/control/A.2.2");
        assert_eq!(safe_back(Some("/review?skip=2")), "/review?skip=2");
        for bad in [
            "//evil.example/x",
            "https://evil.example/",
            "/\\evil",
            "x",
            "",
        ] {
            assert_eq!(safe_back(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_back(None), "/");
    }

    #[test]
    fn host_names_without_ports() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, HeaderValue::from_str(v).unwrap());
            host_name(&m)
        };
        assert_eq!(h("127.0.0.1:8642").as_deref(), Some("127.0.0.1"));
        assert_eq!(h("LocalHost").as_deref(), Some("localhost"));
        assert_eq!(h("[::1]:80").as_deref(), Some("::1"));
    }

    /// A workspace whose vectors were made in bf16 is searched with a bf16 model unless the
    /// server is told otherwise: with the model's f32 vectors the search would compare vectors
    /// of two kinds (the store refuses that, naming both models).
    #[test]
    fn search_uses_the_precision_the_workspace_was_built_in() {
        use controlmap_index::VectorStore;
        use controlmap_models::{BertEmbedder, Embedder, testing::TinyModel};

        let model = tempfile::tempdir().unwrap();
        TinyModel::default().write(model.path()).unwrap();
        let f32_id = BertEmbedder::load(model.path(), DeviceChoice::Cpu)
            .unwrap()
            .model_id()
            .to_string();
        let ws = tempfile::tempdir().unwrap();
        let bf16_id = format!("{f32_id}+bf16");
        VectorStore::write(&ws.path().join(workspace::VECTORS), &bf16_id, 4, &[], &[]).unwrap();
        controlmap_index::TextIndex::create_or_open(&ws.path().join(workspace::INDEX_DIR)).unwrap();
        let state = |precision| {
            AppState::new(Config {
                workspace: ws.path().to_path_buf(),
                bind: DEFAULT_BIND.parse().unwrap(),
                access: Access::Open,
                read_only: true,
                reviewer: "tester".into(),
                model: Some(model.path().to_path_buf()),
                device: DeviceChoice::Cpu,
                precision,
                limits: Limits::default(),
            })
            .unwrap()
        };

        let mismatch = |e: &str| e.contains("was written with model");
        match state(None).engine() {
            Ok(_) => assert!(Precision::Bf16.available_on_cpu()),
            // A CPU without bf16 says so; it never compares the vectors with f32 ones.
            Err(e) => assert!(!mismatch(&e) && e.to_lowercase().contains("bf16"), "{e}"),
        }
        let e = state(Some(Precision::F32))
            .engine()
            .map(|_| ())
            .unwrap_err();
        assert!(mismatch(&e) && e.contains(&bf16_id), "{e}");
    }
}
