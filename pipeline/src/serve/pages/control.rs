//! A control's page: its evidence, best first, with accept and reject.

use super::*;

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
pub(in crate::serve) async fn control(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    blocking(move || {
        let ctx = Ctx::new(&state, session);
        let report = reviewed_report(state.workspace())?;
        let Some(entry) = report.all_controls().find(|c| c.id == id) else {
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
        let overdue: HashSet<&str> = report
            .overdue_documents()
            .map(|d| d.path.as_str())
            .collect();
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
            @if !entry.review_records.is_empty() {
                h2 { "Review records (" (entry.review_records.len()) ")" }
                ul.records {
                    @for r in &entry.review_records {
                        li {
                            a.doc href=(document_href(&r.document, None)) { (r.document) }
                            @if let Some(v) = &r.version { " · version " (v) }
                            @if let Some(a) = &r.approver { " · approved by " (a) }
                            @if let Some(l) = &r.last_review { " · last reviewed " (l) }
                            @if let Some(n) = &r.next_review { " · next review " (n) }
                            " " span class={ "badge " (r.status) } title=(r.status_reason) { (r.status) }
                        }
                    }
                }
            }
            h2 { "Evidence (" (items.len()) ")" }
            @if items.is_empty() {
                p.note { "The mapper found no passage for this control." }
            }
            ol.evidence {
                @for item in &items {
                    li class={ "item " (item.status.as_str()) } id={ "i-" (item.content_hash) } {
                        (evidence(&ctx, item, control, &back, false))
                        @if overdue.contains(item.document.as_str()) {
                            p.note {
                                span.badge.overdue { "overdue document" }
                                " " a href="/documents?status=overdue" { (item.document) } " is overdue for review"
                            }
                        }
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
