//! Who may use the server, and as whom: open access on loopback (with a loopback `Host`, so a
//! DNS-rebound page cannot reach it), or access tokens, each naming the reviewer its decisions
//! are recorded for. Tokens must be strong ([`super::strength`]), and a client that sends
//! wrong ones is locked out for a while ([`super::throttle`]).

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::Path,
    sync::{Arc, PoisonError},
    time::{Duration, Instant},
};

use crate::error::{Context, Result, user_error};
use axum::{
    Extension,
    extract::{ConnectInfo, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{
    AppError, AppState, Session, host_name, safe_back,
    strength::{self, MIN_BITS, estimate_bits},
};

/// The cookie a `/login?token=…` sets.
const COOKIE: &str = "controlmap_token";

/// Tokens longer than this are refused: they must fit in a header and a cookie.
const MAX_TOKEN_LEN: usize = 1024;

/// Who may use the server.
#[derive(Debug, Clone)]
pub enum Access {
    /// Anyone who can reach it: loopback only.
    Open,
    /// Holders of a token, each `(reviewer, token)`.
    Tokens(Vec<(String, String)>),
}

/// Reads a tokens file: one `name:token` a line (`#` comments and blank lines ignored).
pub fn load_tokens(path: &Path) -> Result<Vec<(String, String)>> {
    let text = fs_err::read_to_string(path)?;
    let mut tokens: Vec<(String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, token)) = line.split_once(':') else {
            user_error!("{}:{}: expected `name:token`", path.display(), n + 1);
        };
        let (name, token) = (name.trim(), token.trim());
        if name.is_empty() {
            user_error!("{}:{}: the reviewer name is empty", path.display(), n + 1);
        }
        check_token(token).with_context(|| format!("{}:{}", path.display(), n + 1))?;
        if tokens.iter().any(|(_, t)| t == token) {
            user_error!("{}:{}: this token is given twice", path.display(), n + 1);
        }
        tokens.push((name.to_string(), token.to_string()));
    }
    if tokens.is_empty() {
        user_error!("{} has no `name:token` lines", path.display());
    }
    Ok(tokens)
}

/// A token must be too strong to guess (see `serve/strength.rs`), and fit in a header and a cookie.
pub fn check_token(token: &str) -> Result<()> {
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || strength::SYMBOLS.contains(&b))
    {
        user_error!("an access token may hold letters, digits and -._~+/= only");
    }
    if token.len() > MAX_TOKEN_LEN {
        user_error!("an access token may be at most {MAX_TOKEN_LEN} characters long");
    }
    let bits = estimate_bits(token);
    if bits < MIN_BITS {
        user_error!(
            "this access token is too easy to guess: about {bits:.0} bits of entropy, and at \
             least {MIN_BITS:.0} are needed; make one with `{}`. (The estimate: {}.)",
            strength::GENERATE,
            strength::RULE
        );
    }
    Ok(())
}

/// Equal in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The token a request carries: `Authorization: Bearer`, else the login cookie.
fn presented(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The address a request came from, as the throttle counts it: put in each request's
/// extensions by [`authenticate`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Client(IpAddr);

impl Client {
    /// The peer of the request's connection; without one (a router called in-process), all
    /// such requests are one client.
    fn of(req: &Request) -> Self {
        Client(
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        )
    }
}

/// What a token gets a client.
enum Attempt {
    Session(Session),
    /// Too many wrong tokens lately: wait this long.
    Locked(Duration),
    /// No token, or a wrong one (counted).
    Refused,
}

impl AppState {
    /// Checks `token` from `client`, counting it when wrong; refuses every token while the
    /// client is locked out (a request without a token is refused, and not counted). The check and the count are one step, so parallel guesses cannot
    /// slip in between.
    fn attempt(&self, client: Client, token: Option<&str>) -> Attempt {
        let now = Instant::now();
        let mut throttle = self.throttle.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(wait) = throttle.wait(client.0, now) {
            return Attempt::Locked(wait);
        }
        let Some(token) = token else {
            return Attempt::Refused;
        };
        match self.session_for(token) {
            Some(s) => Attempt::Session(s),
            None => {
                throttle.failed(client.0, token, now);
                Attempt::Refused
            }
        }
    }

    /// The session of a request's token, if it is one of ours.
    fn session_for(&self, token: &str) -> Option<Session> {
        match &self.config.access {
            Access::Open => None,
            Access::Tokens(tokens) => {
                tokens
                    .iter()
                    .find(|(_, t)| same(t, token))
                    .map(|(n, t)| Session {
                        reviewer: n.clone(),
                        csrf: self.csrf_for(t),
                    })
            }
        }
    }
}

/// The auth layer: puts a [`Session`] in the request, or answers it.
pub(super) async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = Client::of(&req);
    req.extensions_mut().insert(client);
    let session = match &state.config.access {
        Access::Open => {
            // Open access is for loopback: a page from elsewhere that rebinds its DNS name to
            // 127.0.0.1 sends its own name as Host, and is refused here.
            let local = host_name(req.headers())
                .is_some_and(|h| matches!(h.as_str(), "localhost" | "127.0.0.1" | "::1"));
            if !local {
                return AppError::new(
                    StatusCode::MISDIRECTED_REQUEST,
                    "this server answers only to localhost, 127.0.0.1 or [::1]",
                )
                .into_response();
            }
            Session {
                reviewer: state.config.reviewer.clone(),
                csrf: state.csrf_for(""),
            }
        }
        Access::Tokens(_) => {
            let path = req.uri().path();
            if path == "/login" || path.starts_with("/assets/") {
                return next.run(req).await;
            }
            match state.attempt(client, presented(req.headers()).as_deref()) {
                Attempt::Session(s) => s,
                Attempt::Locked(wait) => return locked_out(wait),
                Attempt::Refused => {
                    return AppError::new(
                        StatusCode::UNAUTHORIZED,
                        "this server needs an access token: open /login?token=YOUR_TOKEN, or \
                         send `Authorization: Bearer YOUR_TOKEN`",
                    )
                    .into_response();
                }
            }
        }
    };
    req.extensions_mut().insert(session);
    next.run(req).await
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginQuery {
    token: Option<String>,
    next: Option<String>,
}

/// 429 with the seconds to wait, whole and at least one.
fn locked_out(wait: Duration) -> Response {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut res = AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many wrong access tokens from your address; every token is refused for {secs} \
             more seconds"
        ),
    )
    .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    res
}

/// `/login?token=…`: a valid token becomes an HttpOnly, SameSite=Strict cookie.
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    Extension(client): Extension<Client>,
    Query(q): Query<LoginQuery>,
) -> Response {
    if matches!(state.config.access, Access::Open) {
        return Redirect::to("/").into_response();
    }
    let token = match state.attempt(client, q.token.as_deref()) {
        Attempt::Session(_) => q.token.unwrap_or_default(),
        Attempt::Locked(wait) => return locked_out(wait),
        Attempt::Refused => {
            return AppError::new(StatusCode::UNAUTHORIZED, "that is not a valid access token")
                .into_response();
        }
    };
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&safe_back(q.next.as_deref())),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_files_name_reviewers() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("tokens");
        let (a, b) = (
            "5f0c1e9a7b3d2c4e6a8f0b1d3c5e7a9b",
            "Zq3xT9vB2mK8wP4rL6nY1cF5hJ7dG0sA",
        );
        fs_err::write(&p, format!("# reviewers\nalice: {a}\n\nbob:{b}\n")).unwrap();
        let tokens = load_tokens(&p).unwrap();
        assert_eq!(
            tokens,
            [
                ("alice".to_string(), a.to_string()),
                ("bob".to_string(), b.to_string())
            ]
        );
        fs_err::write(&p, format!("alice:{a}\nbob:correct-horse-battery-staple\n")).unwrap();
        let e = format!("{:#}", load_tokens(&p).unwrap_err());
        assert!(
            e.contains(":2") && e.contains("96 are needed") && e.contains("openssl rand"),
            "{e}"
        );
        fs_err::write(&p, "no colon here\n").unwrap();
        assert!(load_tokens(&p).is_err());
    }

    #[test]
    fn tokens_are_read_from_bearer_or_cookie() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=b; controlmap_token=xyz".parse().unwrap());
        assert_eq!(presented(&h).as_deref(), Some("xyz"));
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(presented(&h).as_deref(), Some("abc"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
