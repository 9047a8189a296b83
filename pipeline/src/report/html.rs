//! `report.html`: one self-contained page (inline CSS, no script, nothing fetched) that opens
//! from disk. Coverage at a glance as a grid of the controls coloured by status, the gaps,
//! then each control's evidence with document, page, heading and passage text, and the
//! documents with their owners, review dates and status (a link filters to the overdue ones,
//! with CSS alone).
//!
//! Written with maud, which HTML-escapes every value spliced into the page: passage text
//! comes from untrusted policy files, and a `<script>` in one is shown, never run.

use std::collections::HashSet;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{
    documents::{DocumentEntry, ReviewRecord},
    file::{
        ControlEntry, Coverage, CoverageCounts, CoverageSource, EvidenceEntry, FrameworkView,
        ObjectiveEntry, Report, Review,
    },
};
use crate::ingest::parse::metadata::Field;

/// The report's stylesheet; the web UI (`controlmap serve`) serves it too, so both look alike.
pub const CSS: &str = r#"
:root { --covered:#116329; --proposed:#1f883d; --weak:#9a6700; --gap:#cf222e; --na:#6e7781;
        --line:#d0d7de; --muted:#57606a; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#1f2328;
       margin: 0 auto; padding: 24px 32px 48px; max-width: 1180px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; color: var(--muted); }
.meta { color: var(--muted); margin: 0; font-size: 13px; }
.meta b { color: #1f2328; font-weight: 600; }
.summary { display: flex; gap: 12px; margin: 20px 0 8px; flex-wrap: wrap; }
.card { flex: 1 1 140px; border: 1px solid var(--line); border-top: 5px solid; border-radius: 6px;
        padding: 10px 14px; }
.card .n { font-size: 30px; font-weight: 700; line-height: 1.1; }
.card .l { color: var(--muted); text-transform: capitalize; }
.card.covered { border-top-color: var(--covered); } .card.proposed { border-top-color: var(--proposed); }
.card.weak { border-top-color: var(--weak); } .card.gap { border-top-color: var(--gap); }
.card.na { border-top-color: var(--na); }
.legend { display: flex; gap: 16px; flex-wrap: wrap; font-size: 13px; color: var(--muted); margin: 4px 0 12px; }
.legend span::before { content: ""; display: inline-block; width: 12px; height: 12px;
        border-radius: 3px; margin-right: 5px; vertical-align: -1px; }
.objective { display: grid; grid-template-columns: 210px 1fr; gap: 10px; padding: 8px 0;
        border-top: 1px solid #eaeef2; }
.objective .name { font-size: 13px; } .objective .name b { display: block; }
.cells { display: flex; flex-wrap: wrap; gap: 6px; }
.cell { display: block; width: 150px; padding: 6px 8px; border-radius: 5px; text-decoration: none;
        font-size: 12px; line-height: 1.25; border: 2px solid; min-height: 52px; }
.cell .id { display: block; font-weight: 700; font-size: 13px; }
.covered.cell, .legend .covered::before { background: var(--covered); border-color: var(--covered); color: #fff; }
.proposed.cell, .legend .proposed::before { background: #dafbe1; border-color: var(--proposed); color: #0f4a1f; }
.weak.cell, .legend .weak::before { background: #fff8c5; border-color: #d4a72c; color: #633c01; }
.gap.cell, .legend .gap::before { background: var(--gap); border-color: var(--gap); color: #fff; }
.na.cell, .legend .na::before { background: #f6f8fa; border: 2px dashed var(--na); color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
         font-weight: 600; white-space: nowrap; border: 1px solid; }
.badge.covered { background: var(--covered); border-color: var(--covered); color: #fff; }
.badge.proposed { background: #dafbe1; border-color: var(--proposed); color: #0f4a1f; }
.badge.weak { background: #fff8c5; border-color: #d4a72c; color: #633c01; }
.badge.gap { background: var(--gap); border-color: var(--gap); color: #fff; }
.badge.na, .badge.pending { background: #f6f8fa; border-color: var(--line); color: var(--muted); }
.badge.accepted, .badge.linked { background: #dafbe1; border-color: var(--proposed); color: #0f4a1f; }
.badge.rejected, .badge.stale { background: #ffebe9; border-color: #ff8182; color: #82071e; }
.control { border: 1px solid var(--line); border-left: 6px solid; border-radius: 6px;
           padding: 12px 16px; margin: 12px 0; }
.control.covered { border-left-color: var(--covered); } .control.proposed { border-left-color: var(--proposed); }
.control.weak { border-left-color: #d4a72c; } .control.gap { border-left-color: var(--gap); }
.control.na { border-left-color: var(--na); }
.control > header { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.control h4 { margin: 0; font-size: 16px; }
.control .score { margin-left: auto; color: var(--muted); font-size: 13px; }
.note { color: var(--muted); margin: 8px 0 0; }
ol.evidence { list-style: none; padding: 0; margin: 10px 0 0; }
ol.evidence li { border-top: 1px solid #eaeef2; padding: 8px 0; }
ol.evidence li.rejected, ol.evidence li.stale { opacity: .6; }
.where { font-size: 13px; display: flex; gap: 8px; flex-wrap: wrap; align-items: baseline; }
.where .doc { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600; }
.where .conf { color: var(--muted); }
.decision { font-size: 12px; color: var(--muted); }
.why { font-size: 12px; color: var(--muted); margin: 0 0 4px; }
blockquote { margin: 6px 0 0; padding: 6px 12px; background: #f6f8fa; border-left: 3px solid var(--line);
             white-space: pre-wrap; overflow-wrap: anywhere; }
ul.files { font-size: 13px; } ul.files code { font-weight: 600; }
nav.frameworks { display: flex; gap: 8px; flex-wrap: wrap; margin: 16px 0 0; font-size: 14px; }
nav.frameworks a { padding: 4px 12px; border: 1px solid var(--line); border-radius: 14px;
        text-decoration: none; color: #0969da; }
nav.frameworks a.current { background: #0969da; color: #fff; border-color: #0969da; }
.disagree { color: #82071e; font-weight: 600; }
.badge.overdue { background: #ffebe9; border-color: #ff8182; color: #82071e; }
.badge.current { background: #dafbe1; border-color: var(--proposed); color: #0f4a1f; }
.badge.unknown, .badge.ocr { background: #f6f8fa; border-color: var(--line); color: var(--muted); }
table.documents { border-collapse: collapse; width: 100%; font-size: 13px; }
table.documents th, table.documents td { text-align: left; padding: 5px 8px; border-top: 1px solid #eaeef2;
        vertical-align: top; }
table.documents td.doc { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
table.documents .src { display: block; color: var(--muted); font-size: 11px; }
#overdue-only:target ~ table.documents tbody tr:not(.overdue) { display: none; }
.filter { font-size: 13px; margin: 0 0 8px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { .cell { min-height: 0; } .control { break-inside: avoid; } }
"#;

/// The whole page.
pub fn render(report: &Report) -> String {
    let gaps = report.gaps();
    let unread: Vec<_> = report
        .file_outcomes
        .iter()
        .filter(|o| o.outcome == "failed" || o.outcome == "skipped")
        .collect();
    let outside: Vec<_> = report
        .file_outcomes
        .iter()
        .filter(|o| o.out_of_scope)
        .collect();
    let title = if report.catalog.is_empty() {
        "Controls coverage".to_string()
    } else {
        format!("{} coverage", report.catalog)
    };
    let f = &report.files;
    let views = report.framework_views();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (report.policy_folder) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { (title) }
                    p.meta {
                        "Policy folder " b { (report.policy_folder) }
                        @if !report.model.is_empty() { " · model " b { (report.model) } }
                        " · " (report.tool)
                    }
                    @if let Some(how) = how_mapped(report) { p.meta { (how) } }
                    @if views.len() > 1 {
                        nav.frameworks aria-label="Frameworks" {
                            @for v in &views {
                                a href={ "#framework-" (anchor(&v.info.id)) } { (v.info.name) }
                            }
                        }
                    }
                    p.meta {
                        (f.found) " files: " (f.parsed + f.unchanged) " read ("
                        (f.passages) " passages), " (f.skipped) " skipped, " (f.failed) " failed"
                        @if f.out_of_scope > 0 {
                            ", " a href="#out-of-scope" { (f.out_of_scope) " out of scope" }
                        }
                    }
                }
                section.summary id={ "framework-" (anchor(&views[0].info.id)) } {
                    (cards(&report.coverage))
                }
                section #grid {
                    h2 { "Coverage at a glance" }
                    (legend())
                    (grid(&report.objectives))
                }
                section #gaps {
                    h2 { "Gaps (" (gaps.len()) ")" }
                    @if gaps.is_empty() {
                        p.note { "Every control has evidence or is marked not applicable." }
                    }
                    @for c in &gaps { (control(c)) }
                }
                section #controls {
                    h2 { "Evidence by control" }
                    @for o in &report.objectives {
                        @if o.controls.iter().any(|c| c.coverage != Coverage::Gap) {
                            h3 { (o.id) " " (o.title) }
                            @for c in o.controls.iter().filter(|c| c.coverage != Coverage::Gap) {
                                (control(c))
                            }
                        }
                    }
                }
                @for v in views.iter().skip(1) { (framework(v)) }
                @if !report.documents.is_empty() {
                    section #documents {
                        h2 { "Documents (" (report.documents.len()) ")" }
                        @if let Some(fr) = &report.freshness {
                            p.note {
                                "Judged as of " b { (fr.as_of) } " with a " (fr.review_cycle_months)
                                "-month review cycle: " (fr.current) " current, " (fr.overdue)
                                " overdue, " (fr.unknown) " without review dates."
                            }
                        }
                        p.filter {
                            a href="#overdue-only" { "Only overdue documents" } " · "
                            a href="#documents" { "All documents" }
                        }
                        div #overdue-only {}
                        (documents_table(
                            &report.documents.iter().collect::<Vec<_>>(),
                            |_| None,
                            &report.out_of_scope(),
                        ))
                    }
                }
                @if !unread.is_empty() {
                    section #files {
                        h2 { "Files not read (" (unread.len()) ")" }
                        ul.files {
                            @for o in &unread {
                                li {
                                    code { (o.path) } " — " (o.outcome)
                                    @if let Some(r) = &o.reason { ": " (r) }
                                }
                            }
                        }
                    }
                }
                @if !outside.is_empty() {
                    section #out-of-scope {
                        h2 { "Documents out of scope (" (outside.len()) ")" }
                        p.note {
                            "Read and searchable, but evidence for no control: they mention none of "
                            "the catalog's scope terms. " code { "controlmap run --all-documents" }
                            " maps them too."
                        }
                        ul.files {
                            @for o in &outside { li { code { (o.path) } } }
                        }
                    }
                }
                footer {
                    "Written by " (report.tool) " from " code { "report.json" }
                    " (schema " (report.schema_version) ") and the workspace's review decisions. "
                    "Covered: accepted by a reviewer. Proposed: suggested, not yet reviewed. "
                    "Weak: only passing mentions. Gap: nothing found, or every suggestion rejected."
                }
            }
        }
    }
    .into_string()
}

/// What shaped the confidences, from the fields `run` wrote: the calibration (when not the
/// built-in one) and the label files the mapper learned from. `None` for a plain run.
pub(crate) fn how_mapped(report: &Report) -> Option<String> {
    let mut parts = Vec::new();
    let stored = report.calibration.as_ref().filter(|c| c.source == "stored");
    if let Some(c) = stored {
        let mut part = "Confidences from the calibration stored with the model".to_string();
        if let Some(on) = &c.fitted_on {
            part += &format!(", fitted on {on}");
        }
        if let Some(ece) = c.ece {
            part += &format!(" (ECE {ece:.3})");
        }
        parts.push(part);
    }
    let learned: Vec<String> = report
        .learned_from
        .iter()
        .map(|l| format!("{} ({} items)", l.file, l.items))
        .collect();
    if !learned.is_empty() {
        parts.push(format!("Learned from labels in {}", learned.join(", ")));
    }
    let d = report.decisions_learned;
    if d.total() > 0 {
        parts.push(format!(
            "Learned from {} reviewer decisions ({} accepted, {} rejected)",
            d.total(),
            d.accepted,
            d.rejected
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// A framework besides the primary one: its counts, how the direct mapping and the crosswalk
/// agree, its grid, and its controls with evidence.
fn framework(v: &FrameworkView<'_>) -> Markup {
    html! {
        section.framework id={ "framework-" (anchor(&v.info.id)) } {
            h2 { (v.info.name) }
            p.meta {
                "Catalog: " (v.info.source)
                @if let Some(x) = &v.info.crosswalk { " · crosswalk: " (x) }
            }
            @if let Some(a) = v.agreement {
                p.note {
                    "Direct mapping and crosswalk: both find evidence for " (a.both)
                    " controls, neither for " (a.neither) ", only the direct mapping for "
                    (a.direct_only) ", only the crosswalk for " (a.crosswalk_only) "."
                }
            }
            div.summary { (cards(v.coverage)) }
            (grid(v.objectives))
            @for o in v.objectives {
                h3 { (o.id) " " (o.title) }
                @for c in &o.controls { (control(c)) }
            }
        }
    }
}

/// A card per coverage status with its count.
fn cards(counts: &CoverageCounts) -> Markup {
    html! {
        @for c in Coverage::ALL {
            div class={ "card " (c.key()) } {
                div.n { (counts.get(c)) }
                div.l { (c.label()) }
            }
        }
    }
}

/// The objectives' controls as cells coloured by coverage, each linking to its evidence.
fn grid(objectives: &[ObjectiveEntry]) -> Markup {
    html! {
        @for o in objectives {
            div.objective {
                div.name { b { (o.id) } (o.title) }
                div.cells {
                    @for c in &o.controls {
                        a class={ "cell " (c.coverage.key()) }
                            href={ "#control-" (anchor(&c.id)) }
                            title={ (c.id) " " (c.title) ": " (c.coverage.label()) } {
                            span.id { (c.id) }
                            (c.title)
                        }
                    }
                }
            }
        }
    }
}

/// Do a crosswalked control's two sources disagree on whether there is evidence?
pub(crate) fn disagrees(c: &ControlEntry) -> bool {
    let evidence = |k: Coverage| matches!(k, Coverage::Covered | Coverage::Proposed);
    match (&c.crosswalk, c.direct_coverage) {
        (Some(x), Some(d)) => d != Coverage::NotApplicable && evidence(x.coverage) != evidence(d),
        _ => false,
    }
}

/// A control or framework ID as a fragment identifier: IDs like `GOVERN 1.1` or
/// `Art. 26(2)` hold characters a fragment should not.
pub(crate) fn anchor(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn legend() -> Markup {
    html! {
        div.legend {
            @for c in Coverage::ALL { span class=(c.key()) { (c.label()) } }
        }
    }
}

fn control(c: &ControlEntry) -> Markup {
    let evidence: Vec<&EvidenceEntry> = c.all_evidence().collect();
    html! {
        article class={ "control " (c.coverage.key()) } id={ "control-" (anchor(&c.id)) } {
            header {
                h4 { (c.id) " " (c.title) }
                span class={ "badge " (c.coverage.key()) } { (c.coverage.label()) }
                span.score title="The best score of a passage whose closest control this is" {
                    "mapper score " (format!("{:.2}", c.best_score))
                }
            }
            @if let Some(j) = &c.justification {
                p.note { "Not applicable: " (j) }
            }
            @if let Some(x) = &c.crosswalk {
                p.note.crosswalk {
                    "Crosswalk to " (x.to.join(", ")) ": " (x.coverage.label())
                    @if !x.from.is_empty() { " (from " (x.from.join(", ")) ")" }
                    @if let Some(d) = c.direct_coverage { " · direct mapping: " (d.label()) }
                    @if let Some(from) = c.coverage_from {
                        " · status from " (match from {
                            CoverageSource::Direct => "the direct mapping",
                            CoverageSource::Crosswalk => "the crosswalk",
                            CoverageSource::Both => "both",
                        })
                    }
                    @if disagrees(c) { " · " span.disagree { "the two disagree" } }
                }
            }
            @if !c.review_records.is_empty() {
                (review_records(&c.review_records))
            }
            @if evidence.is_empty() {
                p.note { "No passage of the policies comes close to this control." }
            } @else {
                @if c.coverage == Coverage::Gap {
                    @if c.evidence.iter().all(|e| e.review == Review::Rejected) {
                        p.note { "No evidence: reviewers rejected every passage suggested." }
                    } @else {
                        p.note { "No evidence; the nearest passages:" }
                    }
                }
                ol.evidence {
                    @for e in evidence { (passage(e)) }
                }
            }
        }
    }
}

fn passage(e: &EvidenceEntry) -> Markup {
    html! {
        li class=(e.review.label()) {
            div.where {
                span.doc { (e.document) }
                @if let Some(p) = e.page { span { "p. " (p) } }
                @if !e.heading.is_empty() { span { "› " (e.heading) } }
                @if let Some(x) = e.confidence() {
                    span.conf { "confidence " (format!("{x:.2}")) }
                }
                span class={ "badge " (e.review.label()) } { (e.review.label()) }
                @if e.overdue {
                    span.badge.overdue title="The document is overdue for review" { "overdue document" }
                }
                @if let Some(c) = e.ocr_confidence {
                    span.badge.ocr title="Read from a scanned page by OCR; check the page itself" {
                        "OCR " (c) "%"
                    }
                }
                @if let Some(d) = &e.decision {
                    span.decision {
                        (d.reviewer) ", " (d.decided_at.get(..10).unwrap_or(&d.decided_at))
                        @if let Some(comment) = &d.comment { ": " (comment) }
                    }
                }
            }
            @if e.review == Review::Stale {
                div.decision { "The passage is no longer in the policies (text as decided):" }
            }
            blockquote { (e.text) }
            @if let Some(r) = &e.rationale {
                div.why { "Why: " (r.line()) }
            }
        }
    }
}

/// What "out of scope" means, on its badge.
const OUTSIDE_SCOPE: &str = "It mentions none of the catalog's scope terms (AI, model, \
     algorithm…): read and searchable, but evidence for no control.";

/// The documents as a table: owner, version, review dates and status, each value with its
/// source. `link` gives a document's page, if any; `outside` are the documents the run
/// found outside the catalog's scope (searchable, evidence for no control), marked so.
pub(crate) fn documents_table(
    docs: &[&DocumentEntry],
    link: impl Fn(&str) -> Option<String>,
    outside: &HashSet<&str>,
) -> Markup {
    let cell = |d: &DocumentEntry, f: Field| {
        html! {
            @if let Some(v) = d.fields.get(&f) {
                (v.value)
                span.src { (v.source) }
            }
        }
    };
    html! {
        table.documents {
            thead {
                tr {
                    th { "Document" } th { "Owner" } th { "Version" } th { "Last review" }
                    th { "Next review" } th { "Status" }
                }
            }
            tbody {
                @for d in docs {
                    tr class=(d.status.to_string()) {
                        td.doc {
                            @if let Some(href) = link(&d.path) {
                                a href=(href) { (d.path) }
                            } @else {
                                (d.path)
                            }
                            @if !d.title.is_empty() { span.src { (d.title) } }
                            @if outside.contains(d.path.as_str()) {
                                " " span.badge.na title=(OUTSIDE_SCOPE) { "out of scope" }
                            }
                        }
                        td { (cell(d, Field::Owner)) }
                        td { (cell(d, Field::Version)) }
                        td { (cell(d, Field::LastReview)) }
                        td { (cell(d, Field::NextReview)) }
                        td {
                            span class={ "badge " (d.status) } { (d.status) }
                            span.src { (d.status_reason) }
                            @for n in &d.notes { span.src.disagree { "Check: " (n) } }
                        }
                    }
                }
            }
        }
    }
}

/// The review records a review-of-policy control lists.
fn review_records(records: &[ReviewRecord]) -> Markup {
    html! {
        div.records {
            p.note { "Review records found:" }
            ul.files {
                @for r in records {
                    li {
                        code { (r.document) }
                        @if let Some(v) = &r.version { " · version " (v) }
                        @if let Some(a) = &r.approver { " · approved by " (a) }
                        @if let Some(l) = &r.last_review { " · last reviewed " (l) }
                        @if let Some(n) = &r.next_review { " · next review " (n) }
                        " " span class={ "badge " (r.status) } { (r.status) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::report::coverage::tests::{item, sample};
    use crate::review::suggestions::Status as ItemStatus;

    #[test]
    fn document_text_is_escaped() {
        let mut r = sample();
        let hostile = "<script>document.title='pwned'</script> & <img src=x onerror=alert(1)>";
        r.objectives[0].controls[0].evidence[0].text = hostile.into();
        r.objectives[0].controls[0].evidence[0].document = "a\"><b>.md".into();
        r.objectives[0].controls[0].title = "<i>AI</i> policy".into();
        r.policy_folder = "</title><script>x()</script>".into();
        let mut it = item("bb22", "A.2.2", ItemStatus::Accepted);
        it.decision.as_mut().unwrap().comment = Some("<b>ok</b>".into());
        r.apply_review(&[it], &HashMap::new());
        let page = render(&r);
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<img"));
        assert!(!page.contains("<b>ok") && !page.contains("<i>AI"));
        assert!(page.contains(
            "&lt;script&gt;document.title='pwned'&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;"
        ));
        assert!(page.contains("a&quot;&gt;&lt;b&gt;.md"));
        assert!(page.contains("title=\"A.2.2 &lt;i&gt;AI&lt;/i&gt; policy: covered\""));
    }

    #[test]
    fn a_stored_calibration_and_learned_labels_are_named_under_the_title() {
        let mut r = sample();
        r.apply_review(&[], &HashMap::new());
        r.calibration = Some(crate::report::CalibrationUsed {
            source: "built-in".into(),
            ..Default::default()
        });
        assert!(!render(&r).contains("Confidences from"));
        assert!(!render(&r).contains("Learned from"));
        r.calibration = Some(crate::report::CalibrationUsed {
            source: "stored".into(),
            fitted_on: Some("corpora/<b>sample-org".into()),
            ece: Some(0.0171),
            ..Default::default()
        });
        r.learned_from = vec![crate::eval::labels::LearnedFrom {
            file: "crosswalk.json".into(),
            items: 60,
        }];
        let page = render(&r);
        assert!(
            page.contains(
                "Confidences from the calibration stored with the model, fitted on \
                 corpora/&lt;b&gt;sample-org (ECE 0.017) · Learned from labels in crosswalk.json (60 items)"
            ),
            "{page}"
        );
    }

    #[test]
    fn documents_out_of_scope_are_counted_and_listed() {
        let mut r = sample();
        r.apply_review(&[], &HashMap::new());
        assert!(!render(&r).contains("out-of-scope"));
        for (path, out_of_scope) in [("travel.docx", true), ("ai-policy.md", false)] {
            r.file_outcomes.push(crate::report::FileOutcome {
                path: path.into(),
                outcome: "parsed".into(),
                out_of_scope,
                ..Default::default()
            });
        }
        r.files.out_of_scope = 1;
        let page = render(&r);
        assert!(
            page.contains("<a href=\"#out-of-scope\">1 out of scope</a>"),
            "{page}"
        );
        assert!(page.contains("Documents out of scope (1)"));
        assert!(page.contains("<li><code>travel.docx</code></li>"));
        assert!(!page.contains("<li><code>ai-policy.md</code></li>"));
    }

    #[test]
    fn page_is_self_contained_with_a_cell_per_control_and_gaps_first() {
        let mut r = sample();
        r.apply_review(&[], &HashMap::new());
        let page = render(&r);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert_eq!(page.matches("class=\"cell ").count(), 3);
        for url in ["http:", "https:", "src=", "<link", "@import"] {
            assert!(!page.contains(url), "{url} in the page");
        }
        let gap = page.find("id=\"control-A.5.2\"").unwrap();
        let proposed = page.find("id=\"control-A.2.2\"").unwrap();
        assert!(gap < proposed, "gaps come first");
        assert!(page.contains("href=\"#control-A.5.2\""));
    }
}
