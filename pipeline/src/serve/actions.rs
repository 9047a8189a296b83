//! The POST actions: a verdict on a suggestion, a comment, a not-applicable mark, undo. Each
//! is checked (read-only, origin, CSRF) before anything is read, goes through the review
//! [`Store`] in one transaction as the CLI's commands do, then redirects back (303), so forms
//! work without JavaScript.

use std::sync::Arc;

use axum::{
    Extension, Form,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{AppError, AppState, Session, blocking, safe_back, store};
use crate::review::{
    Decision, NotApplicable, Verdict,
    decide::{item_records, pair_record, undo_records},
    suggestions::ReviewWorkspace,
};

/// Longest comment or justification kept.
const MAX_TEXT: usize = 4000;

/// Refuses a POST that must not act: on a read-only server, from another site, or without
/// the session's CSRF token.
fn check_post(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(), AppError> {
    if state.config.read_only {
        return Err(AppError::forbidden(
            "this server is read-only: decisions cannot be made here",
        ));
    }
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return Err(AppError::forbidden("a request from another site"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, h)| h);
        if host.is_none() || origin_host != host {
            return Err(AppError::forbidden("a request from another origin"));
        }
    }
    let given = csrf.map(str::to_string).or_else(|| {
        headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let ok = given.is_some_and(|g| {
        g.len() == session.csrf.len()
            && g.bytes()
                .zip(session.csrf.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if !ok {
        return Err(AppError::forbidden(
            "missing or wrong CSRF token: reload the page and try again",
        ));
    }
    Ok(())
}

fn text_field(v: Option<String>, what: &str) -> Result<Option<String>, AppError> {
    let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if v.as_ref().is_some_and(|s| s.chars().count() > MAX_TEXT) {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            format!("the {what} is longer than {MAX_TEXT} characters"),
        ));
    }
    Ok(v)
}

#[derive(Debug, Deserialize)]
pub(super) struct DecideForm {
    csrf: Option<String>,
    /// The passage's content hash.
    hash: String,
    control: String,
    /// `accept`, `reject`, `withdraw`, or `comment` (the current verdict again, with a comment).
    verdict: String,
    comment: Option<String>,
    back: Option<String>,
}

/// `POST /decide`.
pub(super) async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Form(f): Form<DecideForm>,
) -> Result<Response, AppError> {
    check_post(&state, &session, &headers, f.csrf.as_deref())?;
    let back = safe_back(f.back.as_deref());
    let comment = text_field(f.comment, "comment")?;
    let st = state.clone();
    blocking(move || {
        let ws = ReviewWorkspace::load(st.workspace())?;
        let mut store = store(&st)?;
        let current = store.current_decisions()?;
        let items = ws.items(&current);
        let Some(item) = items
            .iter()
            .find(|i| i.content_hash == f.hash && i.control == f.control)
        else {
            return Err(AppError::not_found(format!(
                "no suggestion of {} for that passage in this workspace",
                f.control
            )));
        };
        let conflict = |why: String| AppError::new(StatusCode::CONFLICT, why);
        let who = session.reviewer.as_str();
        let records: Vec<Decision> = match f.verdict.as_str() {
            "accept" | "reject" => {
                let v = if f.verdict == "accept" {
                    Verdict::Accepted
                } else {
                    Verdict::Rejected
                };
                item_records(&ws, &store, &current, item, v, who, comment)?.map_err(conflict)?
            }
            "withdraw" | "comment" => {
                let Some(now) = current.get(&(item.content_hash.clone(), item.control.clone()))
                else {
                    return Err(conflict(
                        "there is no decision on it yet: accept or reject it (a comment goes \
                         with the verdict)"
                            .into(),
                    ));
                };
                let v = if f.verdict == "withdraw" {
                    Verdict::Withdrawn
                } else {
                    now.verdict
                };
                let d = pair_record(
                    &ws,
                    &store,
                    &current,
                    &item.content_hash,
                    &item.control,
                    v,
                    who,
                )
                .map_err(|e| conflict(format!("{e:#}")))?;
                vec![Decision { comment, ..d }]
            }
            other => {
                return Err(AppError::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown verdict {other:?}"),
                ));
            }
        };
        let before = records
            .iter()
            .map(|d| (d.key(), current.get(&d.key()).cloned()))
            .collect();
        store.record(&records)?;
        st.undo
            .lock()
            .expect("the undo stacks are never left half-written")
            .entry(session.reviewer.clone())
            .or_default()
            .push(before);
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&back).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct NaForm {
    csrf: Option<String>,
    control: String,
    justification: Option<String>,
    /// Present: take the mark back.
    withdraw: Option<String>,
    back: Option<String>,
}

/// `POST /na`: mark a control not applicable with a justification, or withdraw the mark.
pub(super) async fn not_applicable(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Form(f): Form<NaForm>,
) -> Result<Response, AppError> {
    check_post(&state, &session, &headers, f.csrf.as_deref())?;
    let back = safe_back(f.back.as_deref());
    let justification = text_field(f.justification, "justification")?;
    let withdraw = f.withdraw.is_some();
    let st = state.clone();
    blocking(move || {
        let ws = ReviewWorkspace::load(st.workspace())?;
        if !ws.has_control(&f.control) {
            return Err(AppError::not_found(format!(
                "no control {} in this workspace",
                f.control
            )));
        }
        let mut store = store(&st)?;
        let marked = store.not_applicable()?.contains_key(&f.control);
        let mark = match (withdraw, justification) {
            (true, _) if !marked => {
                return Err(AppError::new(
                    StatusCode::CONFLICT,
                    format!("{} is not marked not applicable", f.control),
                ));
            }
            (true, _) => NotApplicable::new(&f.control, "", &session.reviewer, true),
            (false, Some(j)) => NotApplicable::new(&f.control, &j, &session.reviewer, false),
            (false, None) => {
                return Err(AppError::new(
                    StatusCode::BAD_REQUEST,
                    format!("say why {} does not apply", f.control),
                ));
            }
        };
        store.record_not_applicable(&[mark])?;
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&back).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct UndoForm {
    csrf: Option<String>,
    back: Option<String>,
}

/// `POST /undo`: takes back this reviewer's last verdict made here (a new record restoring
/// what was there before; the history keeps both).
pub(super) async fn undo(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    Form(f): Form<UndoForm>,
) -> Result<Response, AppError> {
    check_post(&state, &session, &headers, f.csrf.as_deref())?;
    let back = safe_back(f.back.as_deref());
    let st = state.clone();
    blocking(move || {
        let step = st
            .undo
            .lock()
            .expect("the undo stacks are never left half-written")
            .get_mut(&session.reviewer)
            .and_then(Vec::pop);
        let Some(before) = step else {
            return Err(AppError::new(
                StatusCode::CONFLICT,
                "nothing to undo: no verdict of yours since the server started",
            ));
        };
        let ws = ReviewWorkspace::load(st.workspace())?;
        let records = undo_records(&ws, before, &session.reviewer);
        store(&st)?.record(&records)?;
        Ok(())
    })
    .await?;
    Ok(Redirect::to(&back).into_response())
}
