//! The documents: each with its metadata and review status, a document's passages, and the
//! downloads.

use super::*;
use crate::{
    ingest::manifest::DocRecord,
    report::{DocumentEntry, html::documents_table},
};

fn load_manifest(state: &AppState) -> Result<Manifest, AppError> {
    let path = state.workspace().join(workspace::MANIFEST);
    let text = fs_err::read_to_string(&path).map_err(crate::Error::from)?;
    serde_json::from_str(&text).map_err(|e| {
        AppError::from(crate::Error::user(format!(
            "{}: {e}; run `controlmap run` again to rewrite it",
            path.display()
        )))
    })
}

const OUT_OF_SCOPE: &str = "the document mentions none of the catalog's scope terms (AI, model, \
     algorithm…), so it is searchable but evidence for no control; `controlmap run \
     --all-documents` maps it too";

#[derive(Debug, Deserialize)]
pub(in crate::serve) struct DocumentsQuery {
    /// `overdue` lists only the documents overdue for review.
    status: Option<String>,
}

/// `GET /documents`: every document the last run read, with its owner, version, review dates
/// and status (as of today, or the day the run was given), `?status=overdue` only those
/// overdue; and the documents read without a report to judge them by.
pub(in crate::serve) async fn documents(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(q): Query<DocumentsQuery>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let m = load_manifest(&state)?;
        let report = reviewed_report(state.workspace()).ok();
        let outside = report.as_ref().map(|r| r.out_of_scope()).unwrap_or_default();
        let judged: Vec<&DocumentEntry> = report.iter().flat_map(|r| &r.documents).collect();
        let only_overdue = q.status.as_deref() == Some("overdue");
        let shown: Vec<&DocumentEntry> = judged
            .iter()
            .copied()
            .filter(|d| !only_overdue || d.status == crate::freshness::Status::Overdue)
            .collect();
        let overdue = judged
            .iter()
            .filter(|d| d.status == crate::freshness::Status::Overdue)
            .count();
        let body = html! {
            h1 { "Documents (" (m.documents.len()) ")" }
            @if let Some(fr) = report.as_ref().and_then(|r| r.freshness.as_ref()) {
                p.meta {
                    "As of " (fr.as_of) ", " (fr.review_cycle_months) "-month review cycle: "
                    (fr.current) " current, " (fr.overdue) " overdue, " (fr.unknown) " without review dates"
                }
            }
            @if !judged.is_empty() {
                nav.filter {
                    @if only_overdue {
                        a href="/documents" { "All documents" } " · " b { "Overdue (" (overdue) ")" }
                    } @else {
                        b { "All documents" } " · " a href="/documents?status=overdue" { "Overdue (" (overdue) ")" }
                    }
                }
                (documents_table(&shown, |path| Some(document_href(path, None)), &outside))
            }
            @let unjudged: Vec<(&String, &DocRecord)> = m
                .documents
                .iter()
                .filter(|(p, _)| !judged.iter().any(|d| &d.path == *p))
                .collect();
            @if !only_overdue && !unjudged.is_empty() {
                ul.documents {
                    @for (path, d) in unjudged {
                        li {
                            a.doc href=(document_href(path, None)) { (path) }
                            " — " (d.passages.len()) " passages"
                            @if outside.contains(path.as_str()) {
                                " · " span.badge.na title=(OUT_OF_SCOPE) { "out of scope" }
                            }
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
pub(in crate::serve) struct DocumentQuery {
    /// The document's path relative to the policy folder, as `documents.json` keys it (a
    /// lookup key: no file is opened by this name).
    path: Option<String>,
}

/// `GET /document?path=…`: a document's passages in order, each with its mappings.
pub(in crate::serve) async fn document(
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
        let report = reviewed_report(state.workspace()).ok();
        let outside = report.as_ref().map(|r| r.out_of_scope()).unwrap_or_default();
        let judged = report.as_ref().and_then(|r| r.documents.iter().find(|d| d.path == path));
        let body = html! {
            p.crumbs { a href="/documents" { "Documents" } " › " (path) }
            h1 { (path) }
            p.meta { (doc.format.to_string()) " · " (passages.len()) " passages" }
            @if outside.contains(path.as_str()) {
                p.note { "Out of scope: " (OUT_OF_SCOPE) }
            }
            @if let Some(d) = judged {
                (documents_table(&[d], |_| None, &outside))
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
pub(in crate::serve) async fn download(
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
