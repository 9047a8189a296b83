//! The evidence register (`evidence.csv`: one row per control and passage) and the draft
//! Statement of Applicability (`soa.csv`: one row per control), written with the `csv` crate,
//! which quotes commas, quotes and line breaks.
//!
//! Policy text is untrusted and these files are opened in spreadsheets, so a cell that would
//! start a formula (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, as
//! OWASP advises (<https://owasp.org/www-community/attacks/CSV_Injection>).

use std::io::Write;

use super::file::{ControlEntry, Coverage, Report};

/// The columns of `evidence.csv`.
pub const EVIDENCE_HEADER: [&str; 11] = [
    "control",
    "status",
    "confidence",
    "document",
    "page",
    "heading",
    "text",
    "decision",
    "passage",
    "document_status",
    "ocr_confidence",
];

/// The columns of `soa.csv`.
pub const SOA_HEADER: [&str; 6] = [
    "control",
    "title",
    "applicable",
    "justification",
    "implementation_status",
    "evidence_references",
];

/// A cell a spreadsheet shows as text, never runs as a formula.
fn cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// Writes `evidence.csv`: for each control in report order, its suggestions (best first)
/// then the passages reviewers decided without a suggestion. A control with no passage has
/// no row.
pub fn write_evidence(report: &Report, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(EVIDENCE_HEADER)?;
    let status: std::collections::HashMap<&str, String> = report
        .documents
        .iter()
        .map(|d| (d.path.as_str(), d.status.to_string()))
        .collect();
    for c in report.controls() {
        for e in c.all_evidence() {
            let confidence = e
                .confidence()
                .map(|x| format!("{x:.3}"))
                .unwrap_or_default();
            let page = e.page.map(|p| p.to_string()).unwrap_or_default();
            w.write_record([
                c.id.as_str(),
                c.coverage.label(),
                &confidence,
                &cell(&e.document),
                &page,
                &cell(&e.heading),
                &cell(&e.text),
                e.review.label(),
                &e.content_hash,
                status.get(e.document.as_str()).map_or("", String::as_str),
                &e.ocr_confidence.map(|c| c.to_string()).unwrap_or_default(),
            ])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// The draft justification of a control's row in the Statement of Applicability.
fn justification(c: &ControlEntry) -> String {
    match c.coverage {
        Coverage::NotApplicable => c.justification.clone().unwrap_or_default(),
        Coverage::Covered => "Applicable; implemented as the accepted evidence shows.".into(),
        Coverage::Proposed => "Applicable; evidence proposed by controlmap, to be reviewed.".into(),
        Coverage::Weak => {
            "Applicable; the policies mention it only in passing: confirm or add evidence.".into()
        }
        Coverage::Gap => "Applicable; no evidence found in the policies.".into(),
    }
}

/// Writes `soa.csv`, one row per control of the report.
pub fn write_soa(report: &Report, out: impl Write) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SOA_HEADER)?;
    for c in report.controls() {
        let mut refs: Vec<String> = c
            .references()
            .iter()
            .map(|e| {
                if e.overdue {
                    format!("{} (document overdue for review)", e.location())
                } else {
                    e.location()
                }
            })
            .collect();
        refs.dedup();
        let applicable = if c.coverage == Coverage::NotApplicable {
            "no"
        } else {
            "yes"
        };
        w.write_record([
            c.id.as_str(),
            &cell(&c.title),
            applicable,
            &cell(&justification(c)),
            c.coverage.label(),
            &cell(&refs.join("; ")),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::report::coverage::tests::{item, sample};
    use crate::review::suggestions::Status as ItemStatus;

    fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::Reader::from_reader(bytes)
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn evidence_csv_quotes_commas_quotes_and_newlines() {
        let mut r = sample();
        r.apply_review(
            &[item("bb22", "A.2.2", ItemStatus::Accepted)],
            &HashMap::new(),
        );
        let mut out = Vec::new();
        write_evidence(&r, &mut out).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with(
            "control,status,confidence,document,page,heading,text,decision,passage,document_status,ocr_confidence\n"
        ));
        // The field is quoted, its quotes doubled, its line break kept inside the quotes.
        assert!(
            text.contains("\"Reviewed, \"\"yearly\"\", by the Board,\nand after incidents.\""),
            "{text}"
        );
        let rows = rows(&out);
        assert_eq!(rows.len(), 3, "one row per passage listed");
        assert_eq!(
            rows[1],
            [
                "A.2.2",
                "covered",
                "0.700",
                "gov/ai.pdf",
                "3",
                "Review",
                "Reviewed, \"yearly\", by the Board,\nand after incidents.",
                "accepted",
                "bb22",
                "",
                ""
            ]
        );
        assert_eq!(rows[0][4], "", "no page");
        assert_eq!(rows[2][7], "pending");
    }

    #[test]
    fn cells_that_would_start_a_formula_are_quoted_as_text() {
        let mut r = sample();
        r.objectives[0].controls[0].evidence[0].text = "=HYPERLINK(\"http://x\")".into();
        r.objectives[0].controls[0].evidence[1].text = "- a list item".into();
        r.apply_review(&[], &HashMap::new());
        let mut out = Vec::new();
        write_evidence(&r, &mut out).unwrap();
        let rows = rows(&out);
        assert_eq!(rows[0][6], "'=HYPERLINK(\"http://x\")");
        assert_eq!(rows[1][6], "'- a list item");
    }

    #[test]
    fn soa_has_a_row_per_control_with_references() {
        let mut r = sample();
        let na = HashMap::from([(
            "A.5.2".to_string(),
            "We build no AI systems, so nothing to assess; see \"scope\".".to_string(),
        )]);
        r.apply_review(&[], &na);
        let mut out = Vec::new();
        write_soa(&r, &mut out).unwrap();
        let rows = rows(&out);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0], "A.2.2");
        assert_eq!(rows[0][2], "yes");
        assert_eq!(rows[0][4], "proposed");
        assert_eq!(
            rows[0][5],
            "gov/ai.md › Policy › Scope; gov/ai.pdf p.3 › Review"
        );
        assert_eq!(
            &rows[2][2..5],
            [
                "no",
                "We build no AI systems, so nothing to assess; see \"scope\".",
                "not applicable"
            ]
        );
        assert_eq!(rows[2][5], "");
    }
}
