//! The pages (GET): coverage, a control, the review queue, search, documents, and the
//! exports and assets. Every value is spliced in with maud, which escapes it; matched words
//! are marked by cutting the text into plain and marked pieces, each escaped, never by
//! inserting markup into text.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use axum::{
    Extension,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use controlmap_index::Filters;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::{AppError, AppState, Session, blocking, store};
use crate::{
    catalog::Control,
    ingest::manifest::Manifest,
    report::{
        Coverage, Report,
        html::CSS as REPORT_CSS,
        outputs::{render_outputs, reviewed_report},
    },
    review::{
        order::ordered_items,
        suggestions::{Item, ReviewWorkspace, Status},
    },
    search::Query as SearchQuery,
    workspace::{self, EVIDENCE_CSV, REPORT_HTML, REPORT_JSON, SOA_CSV},
};

mod control;
mod coverage;
mod documents;
mod queue;
mod search;

pub(super) use control::control;
pub(super) use coverage::coverage;
pub(super) use documents::{document, documents, download};
pub(super) use queue::review;
pub(super) use search::search;

const APP_CSS: &str = include_str!("../assets/app.css");
const APP_JS: &str = include_str!("../assets/app.js");

/// What every page needs to know about the request.
struct Ctx {
    session: Session,
    read_only: bool,
}

impl Ctx {
    fn new(state: &AppState, session: Session) -> Self {
        Ctx {
            session,
            read_only: state.config.read_only,
        }
    }
}

fn layout(ctx: Option<&Ctx>, page: &str, title: &str, body: Markup) -> Markup {
    let nav = [
        ("coverage", "/", "Coverage"),
        ("review", "/review", "Review queue"),
        ("search", "/search", "Search"),
        ("documents", "/documents", "Documents"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — controlmap" }
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body data-page=(page) {
                nav.top {
                    span.brand { "controlmap" }
                    @for (key, href, label) in nav {
                        a href=(href) class=[(key == page).then_some("here")] { (label) }
                    }
                    span.exports {
                        "Export: "
                        @for name in [REPORT_HTML, REPORT_JSON, EVIDENCE_CSV, SOA_CSV] {
                            a href={ "/download/" (name) } download { (name) }
                        }
                    }
                    @if let Some(ctx) = ctx {
                        span.who {
                            @if ctx.read_only { span.badge.na { "read-only" } " " }
                            "reviewer " b { (ctx.session.reviewer) }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The page of an error.
pub(super) fn error_page(status: StatusCode, message: &str) -> Html<String> {
    Html(
        layout(
            None,
            "error",
            status.canonical_reason().unwrap_or("Error"),
            html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p.error { (message) }
                p { a href="/" { "Back to coverage" } }
            },
        )
        .into_string(),
    )
}

fn page(markup: Markup) -> Response {
    Html(markup.into_string()).into_response()
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn document_href(document: &str, passage_id: Option<u64>) -> String {
    let anchor = passage_id.map(|id| format!("#p-{id}")).unwrap_or_default();
    format!("/document?path={}{anchor}", enc(document))
}

/// Byte ranges of `text` where one of `terms` occurs as whole words (ASCII case ignored),
/// sorted and merged.
pub(super) fn term_ranges(text: &str, terms: &[String]) -> Vec<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut ranges = Vec::new();
    for t in terms {
        let t = t.trim().to_ascii_lowercase();
        if t.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(i) = lower[from..].find(&t) {
            let (a, b) = (from + i, from + i + t.len());
            if !word(lower[..a].chars().next_back()) && !word(lower[b..].chars().next()) {
                ranges.push((a, b));
            }
            from = a + lower[a..].chars().next().map_or(1, char::len_utf8);
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// `text` cut into plain and marked pieces at `ranges` (ranges out of order, out of bounds or
/// not on character boundaries are left out).
pub(super) fn pieces<'a>(text: &'a str, ranges: &[(usize, usize)]) -> Vec<(bool, &'a str)> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(a, b) in ranges {
        if a < at
            || b <= a
            || b > text.len()
            || !text.is_char_boundary(a)
            || !text.is_char_boundary(b)
        {
            continue;
        }
        if a > at {
            out.push((false, &text[at..a]));
        }
        out.push((true, &text[a..b]));
        at = b;
    }
    if at < text.len() {
        out.push((false, &text[at..]));
    }
    out
}

/// `text` with `ranges` in `<mark>`; every piece escaped.
fn marked(text: &str, ranges: &[(usize, usize)]) -> Markup {
    html! {
        @for (m, piece) in pieces(text, ranges) {
            @if m { mark { (piece) } } @else { (piece) }
        }
    }
}

/// Why the mapper suggested an item: the report's rationale when it has one, else its score
/// and which of the control's keywords the passage contains.
fn rationale(item: &Item, control: Option<&Control>) -> String {
    if let Some(r) = &item.rationale {
        return r.clone();
    }
    let score = match item.confidence {
        Some(c) => format!("score {c:.2} against the control's description and evidence examples"),
        None => "mapped by hand".to_string(),
    };
    let keywords = control.map(|c| c.keywords.as_slice()).unwrap_or_default();
    let found: Vec<&str> = keywords
        .iter()
        .filter(|k| !term_ranges(&item.text, std::slice::from_ref(k)).is_empty())
        .map(String::as_str)
        .collect();
    if found.is_empty() {
        format!("{score}; none of its keywords appear in the passage")
    } else {
        format!("{score}; its keywords in the passage: {}", found.join(", "))
    }
}

fn status_badge(s: Status) -> Markup {
    html! { span class={ "badge " (s.as_str()) } { (s.as_str()) } }
}

fn hidden(name: &str, value: &str) -> Markup {
    html! { input type="hidden" name=(name) value=(value); }
}

/// The verdict form of an item. `queue`: the review queue's, with the keyboard hooks.
fn decide_form(ctx: &Ctx, item: &Item, back: &str, queue: bool) -> Markup {
    let decided = item.decision.is_some();
    let key = |k: &'static str| queue.then_some(k);
    html! {
        form.act.decide method="post" action="/decide" {
            (hidden("csrf", &ctx.session.csrf))
            (hidden("hash", &item.content_hash))
            (hidden("control", &item.control))
            (hidden("back", back))
            input.comment type="text" name="comment" maxlength="4000"
                id=[queue.then_some("comment")]
                placeholder=(if queue { "comment (c), Enter keeps it" } else { "comment (optional)" })
                aria-label="comment";
            button.accept type="submit" name="verdict" value="accept" data-key=[key("a")] {
                "Accept" @if queue { kbd { "a" } }
            }
            button.reject type="submit" name="verdict" value="reject" data-key=[key("r")] {
                "Reject" @if queue { kbd { "r" } }
            }
            @if decided {
                button type="submit" name="verdict" value="comment" { "Comment" }
                button type="submit" name="verdict" value="withdraw" { "Withdraw decision" }
            }
        }
    }
}

fn decision_note(item: &Item) -> Markup {
    html! {
        @if let Some(d) = &item.decision {
            p.decision {
                (d.verdict) " by " b { (d.reviewer) } " on " (d.decided_at.get(..16).unwrap_or(&d.decided_at).replace('T', " "))
                @if let Some(c) = &d.comment { " — “" (c) "”" }
            }
        }
    }
}

/// One piece of evidence: where it is, the passage with the control's keywords marked, why,
/// its decision and the actions.
fn evidence(ctx: &Ctx, item: &Item, control: Option<&Control>, back: &str, queue: bool) -> Markup {
    let keywords = control.map(|c| c.keywords.clone()).unwrap_or_default();
    html! {
        div.where {
            a.doc href=(document_href(&item.document, item.passage_id)) { (item.document) }
            @if let Some(p) = item.page { span.page { "page " (p) } }
            @if !item.heading.is_empty() { span.heading { "› " (item.heading) } }
            @if let Some(c) = item.confidence { span.conf { "confidence " (format!("{c:.2}")) } }
            (status_badge(item.status))
        }
        blockquote.passage { (marked(&item.text, &term_ranges(&item.text, &keywords))) }
        @if item.status == Status::Stale {
            p.note {
                "The passage's text has changed since it was decided."
                @if let Some(r) = &item.replacement { " Now in its place: “" (r.text) "”" }
            }
        }
        p.rationale { "Why: " (rationale(item, control)) }
        (decision_note(item))
        @if !ctx.read_only { (decide_form(ctx, item, back, queue)) }
    }
}

fn load_items(state: &AppState) -> Result<(ReviewWorkspace, Vec<Item>), AppError> {
    let ws = ReviewWorkspace::load(state.workspace())?;
    let current = match crate::review::Store::open_if_exists(state.workspace())? {
        Some(s) => s.current_decisions()?,
        None => HashMap::new(),
    };
    let items = ws.items(&current);
    Ok((ws, items))
}

/// `GET /assets/app.css`: the report's stylesheet and the UI's own.
pub(super) async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        format!("{REPORT_CSS}\n{APP_CSS}"),
    )
        .into_response()
}

/// `GET /assets/app.js`: keyboard shortcuts and in-place updates.
pub(super) async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_JS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_marked_as_whole_words() {
        let text = "The RACI chart; raci-based. Tracing is not raci.";
        let r = term_ranges(text, &["raci".to_string()]);
        assert_eq!(r.len(), 3, "{r:?}");
        let p = pieces(text, &r);
        assert_eq!(p[1], (true, "RACI"));
        assert!(p.iter().all(|(m, s)| !m || s.eq_ignore_ascii_case("raci")));
    }

    #[test]
    fn marked_text_is_escaped() {
        let text = "<script>alert(1)</script> model drift";
        let r = term_ranges(text, &["drift".to_string(), "script".to_string()]);
        let html = marked(text, &r).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;<mark>script</mark>&gt;"), "{html}");
        assert!(html.contains("<mark>drift</mark>"), "{html}");
    }

    #[test]
    fn bad_ranges_are_left_out() {
        let text = "é drift";
        assert_eq!(pieces(text, &[(1, 3)]), vec![(false, text)]);
        assert_eq!(
            pieces(text, &[(3, 8), (0, 2)]),
            vec![(false, "é "), (true, "drift")]
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(enc("gov/a b&c.md"), "gov/a%20b%26c.md");
    }
}
