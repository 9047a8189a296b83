//! The coverage table `run` and `report` print: controls grouped by objective, each with its
//! coverage and best passage, then the counts.

use std::io::{self, Write};

use super::file::{Coverage, CoverageSource, FrameworkView, Report, Review};
use crate::{
    ingest::{chunk::clip, parse::metadata::Field},
    messages::printable,
};

fn paint(s: &str, c: Coverage, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match c {
        Coverage::Covered => "32;1",
        Coverage::Proposed => "32",
        Coverage::Weak => "33",
        Coverage::Gap => "31;1",
        Coverage::NotApplicable => "2",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

impl Report {
    /// The coverage table, grouped by objective, with the best passage of each control (the
    /// first accepted one when a reviewer accepted some), one section per framework when the
    /// run mapped several.
    pub fn write_text(&self, out: &mut dyn Write, color: bool) -> io::Result<()> {
        let views = self.framework_views();
        let several = views.len() > 1;
        for v in &views {
            if several {
                writeln!(out, "== {} ==", printable(&v.info.name))?;
            }
            write_framework(out, v, color)?;
            if several {
                writeln!(out)?;
            }
        }
        let f = &self.files;
        if !several {
            writeln!(out)?;
        }
        for v in &views {
            let s = v.coverage;
            let of = if several {
                format!("{}: ", v.info.name)
            } else {
                String::new()
            };
            writeln!(
                out,
                "{of}{} controls: {} covered, {} proposed, {} weak, {} gaps, {} not applicable",
                s.total(),
                s.covered,
                s.proposed,
                s.weak,
                s.gap,
                s.not_applicable
            )?;
            if let Some(a) = v.agreement {
                writeln!(
                    out,
                    "  direct mapping and crosswalk: both find evidence for {}, neither for {}, only direct for {}, only crosswalk for {}",
                    a.both, a.neither, a.direct_only, a.crosswalk_only
                )?;
            }
        }
        writeln!(
            out,
            "{} files: {} parsed, {} unchanged ({} passages), {} skipped, {} failed",
            f.found, f.parsed, f.unchanged, f.passages, f.skipped, f.failed
        )?;
        if f.out_of_scope > 0 {
            writeln!(
                out,
                "{} documents out of scope (they mention none of the catalog's scope terms): evidence for nothing",
                f.out_of_scope
            )?;
        }
        self.write_freshness(out)
    }

    /// How many documents are current, and each overdue one with its dates.
    fn write_freshness(&self, out: &mut dyn Write) -> io::Result<()> {
        let Some(fr) = &self.freshness else {
            return Ok(());
        };
        if self.documents.is_empty() {
            return Ok(());
        }
        writeln!(
            out,
            "{} documents as of {} ({}-month review cycle): {} current, {} overdue, {} without review dates",
            self.documents.len(),
            fr.as_of,
            fr.review_cycle_months,
            fr.current,
            fr.overdue,
            fr.unknown
        )?;
        for d in self.overdue_documents() {
            let dates = [
                ("last review", d.date(Field::LastReview)),
                ("next review", d.date(Field::NextReview)),
                ("owner", d.value(Field::Owner)),
            ]
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
            .collect::<Vec<_>>()
            .join(", ");
            writeln!(
                out,
                "  overdue: {}  ({}; review was due by {})",
                printable(&d.path),
                printable(&dates),
                d.review_due.as_deref().unwrap_or("?")
            )?;
        }
        Ok(())
    }
}

/// One framework's objectives and controls.
fn write_framework(out: &mut dyn Write, v: &FrameworkView<'_>, color: bool) -> io::Result<()> {
    let width = v
        .controls()
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    for o in v.objectives {
        writeln!(out, "{}  {}", printable(&o.id), printable(&o.title))?;
        for c in &o.controls {
            let label = match c.coverage {
                Coverage::NotApplicable => "n/a",
                other => other.label(),
            };
            let shown = c
                .all_evidence()
                .find(|e| e.review.is_evidence())
                .or_else(|| c.evidence.iter().find(|e| e.review != Review::Rejected));
            let best = match (c.coverage, c.coverage_from, &c.crosswalk, shown) {
                (Coverage::NotApplicable, ..) => {
                    clip(c.justification.as_deref().unwrap_or_default(), 60)
                }
                (_, Some(CoverageSource::Crosswalk), Some(x), _) => {
                    clip(&format!("via crosswalk from {}", x.from.join(", ")), 60)
                }
                (_, _, _, Some(e)) => {
                    let page = e.page.map(|p| format!(" p.{p}")).unwrap_or_default();
                    let heading = e.heading.rsplit(" › ").next().unwrap_or_default();
                    let overdue = if e.overdue { "[overdue] " } else { "" };
                    clip(&format!("{overdue}{}{page} › {heading}", e.document), 60)
                }
                _ => String::new(),
            };
            // Names, headings and justifications come from files and reviewers.
            writeln!(
                out,
                "  {:<width$} {:<46} {} {:>5.2}  {}",
                printable(&c.id),
                printable(&clip(&c.title, 46)),
                paint(&format!("{label:<8}"), c.coverage, color),
                c.best_score,
                printable(&best)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    #[test]
    fn table_shows_coverage_and_counts() {
        let mut r = crate::report::coverage::tests::sample();
        let na = HashMap::from([("A.2.3".to_string(), "Nothing to align with.".to_string())]);
        r.apply_review(&[], &na);
        let mut out = Vec::new();
        r.write_text(&mut out, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("A.2  Policies related to AI\n"), "{text}");
        assert!(
            text.contains("  A.2.2    AI policy")
                && text.contains("proposed  0.80  gov/ai.md › Scope"),
            "{text}"
        );
        assert!(
            text.contains("n/a       0.55  Nothing to align with."),
            "{text}"
        );
        assert!(
            text.contains("3 controls: 0 covered, 1 proposed, 0 weak, 1 gaps, 1 not applicable"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
    }
}
