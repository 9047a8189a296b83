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
    commands::search::Query as SearchQuery,
    manifest::{self, Manifest},
    report::{
        Coverage,
        coverage::ReportFile,
        html::CSS as REPORT_CSS,
        outputs::{
            EVIDENCE_CSV, REPORT_HTML, REPORT_JSON, SOA_CSV, render_outputs, reviewed_report,
        },
    },
    review::{
        queue::ordered_items,
        suggestions::{Item, ReviewWorkspace, Status},
    },
};

const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");

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

#[derive(Debug, Deserialize)]
pub(super) struct CoverageQuery {
    /// `gaps` or `pending`.
    show: Option<String>,
}

/// `GET /`: the controls by objective, coloured by status, with counts; filters for gaps and
/// for controls with suggestions waiting for review.
pub(super) async fn coverage(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(q): Query<CoverageQuery>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let report = reviewed_report(state.workspace())?;
        let (_, items) = load_items(&state)?;
        let mut pending: HashMap<&str, usize> = HashMap::new();
        for i in items.iter().filter(|i| i.status == Status::Pending) {
            *pending.entry(i.control.as_str()).or_default() += 1;
        }
        let show = q.show.as_deref().unwrap_or("all");
        let shown = |c: &crate::report::coverage::ControlEntry| match show {
            "gaps" => c.coverage == Coverage::Gap,
            "pending" => c.coverage != Coverage::NotApplicable && pending.contains_key(c.id.as_str()),
            _ => true,
        };
        let body = html! {
            h1 { (title_of(&report)) }
            p.meta {
                "Policy folder " b { (report.policy_folder) } " · "
                (report.files.found) " files, " (report.files.passages) " passages · "
                (report.controls().count()) " controls"
            }
            section.summary {
                @for c in Coverage::ALL {
                    div class={ "card " (c.key()) } {
                        div.n { (report.coverage.get(c)) }
                        div.l { (c.label()) }
                    }
                }
                div.card.pending {
                    div.n { (pending.values().sum::<usize>()) }
                    div.l { "suggestions to review" }
                }
            }
            nav.filters {
                "Show: "
                @for (key, label) in [("all", "all controls"), ("gaps", "gaps"), ("pending", "pending review")] {
                    a href={ "/?show=" (key) } class=[(key == show).then_some("here")] { (label) }
                }
            }
            div.legend { @for c in Coverage::ALL { span class=(c.key()) { (c.label()) } } }
            @for o in &report.objectives {
                @let controls: Vec<_> = o.controls.iter().filter(|c| shown(c)).collect();
                @if !controls.is_empty() {
                    div.objective {
                        div.name {
                            b { (o.id) } (o.title)
                            span.counts {
                                @for c in Coverage::ALL {
                                    @if o.coverage.get(c) > 0 {
                                        span class=(c.key()) { (o.coverage.get(c)) " " (c.label()) }
                                    }
                                }
                            }
                        }
                        div.cells {
                            @for c in controls {
                                a class={ "cell " (c.coverage.key()) } href={ "/control/" (enc(&c.id)) }
                                    title={ (c.id) " " (c.title) ": " (c.coverage.label()) } {
                                    span.id { (c.id) }
                                    (c.title)
                                    span.status { (c.coverage.label()) }
                                    @if let Some(n) = pending.get(c.id.as_str()) {
                                        span.pending { (n) " to review" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(page(layout(Some(&ctx), "coverage", "Coverage", body)))
    })
    .await
}

fn title_of(report: &ReportFile) -> String {
    if report.catalog.is_empty() {
        "Controls coverage".to_string()
    } else {
        format!("{} coverage", report.catalog)
    }
}

/// Evidence order on a control's page: accepted or linked first, then suggestions by
/// confidence, then stale, then rejected.
fn evidence_rank(i: &Item) -> u8 {
    match i.status {
        Status::Accepted | Status::Linked => 0,
        Status::Pending => 1,
        Status::Stale => 2,
        Status::Rejected => 3,
    }
}

/// `GET /control/{id}`: the control's description, then its evidence with the actions.
pub(super) async fn control(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let report = reviewed_report(state.workspace())?;
        let Some(entry) = report.controls().find(|c| c.id == id) else {
            return Err(AppError::not_found(format!("no control {id} in this workspace")));
        };
        let control = state.catalog.control(&id);
        let (_, items) = load_items(&state)?;
        let mut items: Vec<&Item> = items.iter().filter(|i| i.control == id).collect();
        items.sort_by(|a, b| {
            evidence_rank(a).cmp(&evidence_rank(b)).then_with(|| {
                b.confidence
                    .unwrap_or(0.0)
                    .total_cmp(&a.confidence.unwrap_or(0.0))
            })
        });
        let back = format!("/control/{}", enc(&id));
        let body = html! {
            p.crumbs { a href="/" { "Coverage" } " › " (id) }
            header.control-head {
                h1 { (entry.id) " " (entry.title) }
                span class={ "badge " (entry.coverage.key()) } { (entry.coverage.label()) }
            }
            @if let Some(c) = control {
                p.summary-text { (c.summary) }
                @if !c.evidence_examples.is_empty() {
                    details {
                        summary { "What evidence looks like (" (c.evidence_examples.len()) " examples)" }
                        ul { @for e in &c.evidence_examples { li { (e) } } }
                    }
                }
                @if !c.counter_examples.is_empty() {
                    details {
                        summary { "What is not evidence for it (" (c.counter_examples.len()) " look-alikes)" }
                        ul { @for e in &c.counter_examples { li { (e) } } }
                    }
                }
                @if !c.keywords.is_empty() {
                    p.keywords { "Keywords (marked in the passages): " (c.keywords.join(", ")) }
                }
            }
            @if let Some(j) = &entry.justification {
                p.note { "Marked not applicable: “" (j) "”" }
            }
            p { a href={ "/search?control=" (enc(&id)) } { "Search for more evidence of " (id) } }
            h2 { "Evidence (" (items.len()) ")" }
            @if items.is_empty() {
                p.note { "The mapper found no passage for this control." }
            }
            ol.evidence {
                @for item in &items {
                    li class={ "item " (item.status.as_str()) } id={ "i-" (item.content_hash) } {
                        (evidence(&ctx, item, control, &back, false))
                    }
                }
            }
            @if !ctx.read_only {
                h2 { "Applicability" }
                form.act.na method="post" action="/na" {
                    (hidden("csrf", &ctx.session.csrf))
                    (hidden("control", &id))
                    (hidden("back", &back))
                    @if entry.justification.is_some() {
                        (hidden("withdraw", "1"))
                        button type="submit" { "The control applies again" }
                    } @else {
                        input.comment type="text" name="justification" maxlength="4000"
                            placeholder="why the control does not apply" aria-label="justification"
                            required;
                        button type="submit" { "Mark not applicable" }
                    }
                }
            }
        };
        Ok(page(layout(Some(&ctx), "control", &id, body)))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct ReviewQuery {
    /// How many items of the queue to pass over (skipped ones).
    skip: Option<usize>,
}

/// `GET /review`: one suggestion at a time, in the terminal queue's order.
pub(super) async fn review(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let ws = ReviewWorkspace::load(state.workspace())?;
        let items = ordered_items(&ws, &store(&state)?)?;
        let skip = q.skip.unwrap_or(0).min(items.len());
        let can_undo = state
            .undo
            .lock()
            .expect("the undo stacks are never left half-written")
            .get(&ctx.session.reviewer)
            .is_some_and(|s| !s.is_empty());
        let back = if skip == 0 { "/review".to_string() } else { format!("/review?skip={skip}") };
        let body = html! {
            h1 { "Review queue" }
            p.meta {
                (items.len()) " suggestions to review"
                @if skip > 0 { " · " (skip) " skipped" }
                " · most useful first: controls without accepted evidence, the mapper's gaps and weak controls, then by confidence"
            }
            @match items.get(skip) {
                Some(item) => {
                    @let control = state.catalog.control(&item.control);
                    @let title = ws.controls.iter().find(|c| c.id == item.control).map(|c| c.title.as_str()).unwrap_or("");
                    article.queue-item {
                        h2 {
                            a href={ "/control/" (enc(&item.control)) } { (item.control) " " (title) }
                        }
                        (evidence(&ctx, item, control, &back, true))
                        div.queue-nav {
                            @if skip > 0 {
                                a href={ "/review?skip=" (skip - 1) } { "Previous" }
                            }
                            a.skip href={ "/review?skip=" (skip + 1) } data-key="s" { "Skip " kbd { "s" } }
                            @if !ctx.read_only {
                                form.act.undo method="post" action="/undo" {
                                    (hidden("csrf", &ctx.session.csrf))
                                    (hidden("back", &back))
                                    button type="submit" data-key="u" disabled[!can_undo] { "Undo " kbd { "u" } }
                                }
                            }
                        }
                        p.keys { "Keys: " kbd { "a" } " accept · " kbd { "r" } " reject · " kbd { "c" } " comment · " kbd { "s" } " skip · " kbd { "u" } " undo" }
                    }
                }
                None => {
                    p.note {
                        @if items.is_empty() { "Nothing left to review." }
                        @else { "End of the queue. " a href="/review" { "Back to the start" } " for the skipped ones." }
                    }
                    @if !ctx.read_only && can_undo {
                        form.act.undo method="post" action="/undo" {
                            (hidden("csrf", &ctx.session.csrf))
                            (hidden("back", &back))
                            button type="submit" data-key="u" { "Undo " kbd { "u" } }
                        }
                    }
                }
            }
        };
        Ok(page(layout(Some(&ctx), "review", "Review queue", body)))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct SearchParams {
    q: Option<String>,
    control: Option<String>,
    folder: Option<String>,
    document: Option<String>,
    format: Option<String>,
    limit: Option<usize>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `GET /search`: free text or a control's evidence, with the same engine as
/// `controlmap search`.
pub(super) async fn search(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(p): Query<SearchParams>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let text = given(&p.q);
        let control = if text.is_some() { None } else { given(&p.control) };
        let limit = p.limit.unwrap_or(20).clamp(1, 100);
        let results = if text.is_none() && control.is_none() {
            None
        } else {
            let engine = state.engine().map_err(|e| {
                AppError::new(StatusCode::SERVICE_UNAVAILABLE, format!("search is unavailable: {e}"))
            })?;
            Some(
                engine
                    .search(&SearchQuery {
                        text: text.clone(),
                        control: control.clone(),
                        filters: Filters {
                            folder: given(&p.folder).map(|f| f.trim_matches('/').to_string()),
                            format: given(&p.format),
                            document: given(&p.document),
                        },
                        limit,
                        fusion: crate::cli::FusionChoice::Weighted.into(),
                    })
                    .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, format!("{e:#}")))?,
            )
        };
        let body = html! {
            h1 { "Search" }
            form.search method="get" action="/search" {
                input type="search" name="q" value=[text.as_deref()] placeholder="free text, e.g. model drift" aria-label="query" autofocus;
                select name="control" aria-label="control" {
                    option value="" { "or by control…" }
                    @for (_, c) in state.catalog.controls() {
                        option value=(c.id) selected[control.as_deref() == Some(c.id.as_str())] { (c.id) " " (c.title) }
                    }
                }
                input type="text" name="folder" value=[given(&p.folder)] placeholder="folder" aria-label="folder";
                select name="format" aria-label="file format" {
                    option value="" { "any format" }
                    @for f in ["pdf", "docx", "markdown", "html", "text"] {
                        option value=(f) selected[given(&p.format).as_deref() == Some(f)] { (f) }
                    }
                }
                @if let Some(d) = given(&p.document) { (hidden("document", &d)) }
                button type="submit" { "Search" }
            }
            @if let Some(results) = &results {
                p.meta { (results.len()) " results" @if let Some(c) = &control { " for evidence of " a href={ "/control/" (enc(c)) } { (c) } } }
                ol.results {
                    @for r in results {
                        li {
                            div.where {
                                span.rank { (r.rank) "." }
                                a.doc href=(document_href(&r.document, Some(r.passage_id))) { (r.document) }
                                @if let Some(pg) = r.page { span.page { "page " (pg) } }
                                @if !r.heading.is_empty() { span.heading { "› " (r.heading) } }
                                span.conf { "score " (format!("{:.3}", r.score)) }
                                @if let Some(d) = &r.decision { span class={ "badge " (d) } { (d) } }
                            }
                            blockquote.passage { (marked(&r.snippet, &r.highlights)) }
                        }
                    }
                }
            }
        };
        Ok(page(layout(Some(&ctx), "search", "Search", body)))
    })
    .await
}

fn load_manifest(state: &AppState) -> Result<Manifest, AppError> {
    let path = state.workspace().join(manifest::FILE_NAME);
    let text = fs_err::read_to_string(&path).map_err(anyhow::Error::from)?;
    serde_json::from_str(&text).map_err(|e| {
        AppError::from(anyhow::anyhow!(
            "{}: {e}; run `controlmap run` again to rewrite it",
            path.display()
        ))
    })
}

const OUT_OF_SCOPE: &str = "the document mentions none of the catalog's scope terms (AI, model, \
     algorithm…), so it is searchable but evidence for no control; `controlmap run \
     --all-documents` maps it too";

/// The documents the last run found outside the catalog's scope (none if its report cannot be
/// read: the pages that need the report say so themselves).
fn out_of_scope(state: &AppState) -> HashSet<String> {
    crate::report::outputs::read_report(state.workspace())
        .map(|r| {
            r.file_outcomes
                .into_iter()
                .filter(|o| o.out_of_scope)
                .map(|o| o.path)
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /documents`: every document the last run read, with links to each.
pub(super) async fn documents(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let m = load_manifest(&state)?;
        let outside = out_of_scope(&state);
        let body = html! {
            h1 { "Documents (" (m.documents.len()) ")" }
            ul.documents {
                @for (path, d) in &m.documents {
                    li {
                        a.doc href=(document_href(path, None)) { (path) }
                        " — " (d.passages.len()) " passages"
                        @if outside.contains(path.as_str()) {
                            " · " span.badge.na title=(OUT_OF_SCOPE) { "out of scope" }
                        }
                    }
                }
            }
        };
        Ok(page(layout(Some(&ctx), "documents", "Documents", body)))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct DocumentQuery {
    /// The document's path relative to the policy folder, as `documents.json` keys it (a
    /// lookup key: no file is opened by this name).
    path: Option<String>,
}

/// `GET /document?path=…`: a document's passages in order, each with its mappings.
pub(super) async fn document(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(q): Query<DocumentQuery>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let Some(path) = q.path else {
            return Err(AppError::new(StatusCode::BAD_REQUEST, "which document? /document?path=…"));
        };
        let m = load_manifest(&state)?;
        let Some(doc) = m.documents.get(&path) else {
            return Err(AppError::not_found(format!("no document {path} in this workspace")));
        };
        let (_, items) = load_items(&state)?;
        let hashes: HashSet<&str> = doc.passages.iter().map(|p| p.content_hash.as_str()).collect();
        let mut mappings: HashMap<&str, Vec<&Item>> = HashMap::new();
        for i in items.iter().filter(|i| hashes.contains(i.content_hash.as_str())) {
            mappings.entry(i.content_hash.as_str()).or_default().push(i);
        }
        let mut passages: Vec<_> = doc.passages.iter().collect();
        passages.sort_by_key(|p| (p.page, p.start, p.id));
        let body = html! {
            p.crumbs { a href="/documents" { "Documents" } " › " (path) }
            h1 { (path) }
            p.meta { (doc.format.to_string()) " · " (passages.len()) " passages" }
            @if out_of_scope(&state).contains(path.as_str()) {
                p.note { "Out of scope: " (OUT_OF_SCOPE) }
            }
            @for p in &passages {
                section.passage-block id={ "p-" (p.id) } {
                    div.where {
                        @if let Some(pg) = p.page { span.page { "page " (pg) } }
                        span.heading { (p.heading_path()) }
                    }
                    blockquote.passage { (p.text) }
                    @if let Some(ms) = mappings.get(p.content_hash.as_str()) {
                        ul.mappings {
                            @for i in ms {
                                li {
                                    a href={ "/control/" (enc(&i.control)) "#i-" (i.content_hash) } { (i.control) }
                                    " " (status_badge(i.status))
                                    @if let Some(c) = i.confidence { " " span.conf { (format!("{c:.2}")) } }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(page(layout(Some(&ctx), "document", &path, body)))
    })
    .await
}

/// `GET /download/{name}`: one of the four exports, made now from `report.json` and the
/// current decisions. Only these names: nothing else of the workspace can be fetched.
pub(super) async fn download(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let content_type = match name.as_str() {
        REPORT_JSON => "application/json",
        REPORT_HTML => "text/html; charset=utf-8",
        EVIDENCE_CSV | SOA_CSV => "text/csv; charset=utf-8",
        _ => return Err(AppError::not_found(format!("no export {name}"))),
    };
    blocking(move || {
        let report = reviewed_report(state.workspace())?;
        let (fname, bytes) = render_outputs(&report)?
            .into_iter()
            .find(|(n, _)| *n == name)
            .expect("every export name above is rendered");
        Ok((
            [
                (header::CONTENT_TYPE, content_type.to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{fname}\""),
                ),
            ],
            bytes,
        )
            .into_response())
    })
    .await
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
