//! The search page: free text or a control, with filters, as `controlmap search`.

use super::*;

#[derive(Debug, Default, Deserialize)]
pub(in crate::serve) struct SearchParams {
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
pub(in crate::serve) async fn search(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(p): Query<SearchParams>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let text = given(&p.q);
        let control = if text.is_some() { None } else { given(&p.control) };
        let limit = p.limit.unwrap_or(20).clamp(1, 100);
        let mut stale = None;
        let results = if text.is_none() && control.is_none() {
            None
        } else {
            let current = state.engine().map_err(|e| {
                AppError::new(StatusCode::SERVICE_UNAVAILABLE, format!("search is unavailable: {e}"))
            })?;
            stale = current.stale;
            Some(
                current
                    .engine
                    .search(&SearchQuery {
                        text: text.clone(),
                        control: control.clone(),
                        filters: Filters {
                            folder: given(&p.folder).map(|f| f.trim_matches('/').to_string()),
                            format: given(&p.format),
                            document: given(&p.document),
                        },
                        limit,
                        fusion: crate::search::WEIGHTED,
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
            @if let Some(note) = &stale { p.note { (note) } }
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
                                @if r.document_status.as_deref() == Some("overdue") {
                                    span.badge.overdue title="The document is overdue for review" { "overdue document" }
                                }
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
