//! Facts a document states in its own words: document-control tables (a label and its value
//! on each row, or a row of labels over a row of values), revision-history tables, lines such
//! as "Owner: Chief Risk Officer" or "Version 2.1", and sentences such as "This policy was
//! last reviewed in March 2024".
//!
//! A policy's body also uses these words ("the model owner: the person who…"), so labels are
//! read only where document control lives: the first and last blocks of a document and
//! sections whose heading says so ("Document control", "Version history", "Approval").

use std::sync::LazyLock;

use regex::Regex;

use super::{Fact, Field, clean_value, field_of_label, quote};
use crate::ingest::parse::{Block, BlockKind};

/// Blocks at the start of a document that may hold its control information.
const HEAD_BLOCKS: usize = 25;
/// And at its end.
const TAIL_BLOCKS: usize = 15;
/// Longest block read for "Label: value" pairs; longer ones are prose.
const MAX_LABELLED_BLOCK: usize = 400;

/// Headings under which every block is control information.
static CONTROL_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(document (control|information|details|history|approval)|version (control|history)|revision history|change (history|log)|approval|ownership|about this (document|policy)|review and approval|policy (governance|review))\b",
    )
    .expect("a valid pattern")
});

/// A date in any of the forms [`crate::freshness::dates`] reads.
const DATE: &str = r"(\d{4}-\d{1,2}(?:-\d{1,2})?|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?\s+\d{4}|[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|[A-Za-z]{3,9}\.?\s+\d{4}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}/\d{4})";

/// Sentences that state a date without a label and colon.
static SENTENCES: LazyLock<Vec<(Field, Regex)>> = LazyLock::new(|| {
    let p = |f: Field, pre: &str| {
        (
            f,
            Regex::new(&format!("(?i){pre}{DATE}")).expect("a valid pattern"),
        )
    };
    vec![
        p(Field::LastReview, r"\blast\s+reviewed\s+(?:on\s+|in\s+)?"),
        p(
            Field::NextReview,
            r"\bnext\s+review\s+(?:is\s+)?(?:due\s+|scheduled\s+)?(?:date\s+)?(?:on\s+|by\s+|in\s+|for\s+)?",
        ),
        p(
            Field::NextReview,
            r"\bdue\s+for\s+review\s+(?:on\s+|by\s+|in\s+)?",
        ),
        p(
            Field::EffectiveDate,
            r"\b(?:effective(?:\s+(?:from|on|as\s+of))?|comes?\s+into\s+effect\s+on)\s+",
        ),
    ]
});

/// "Version 2.1", "Version: 2", "Issue 3.0" without a colon.
static VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:[Vv]ersion|VERSION|Issue)\s+[vV]?(\d{1,3}(?:\.\d{1,3}){0,3})\b")
        .expect("a valid pattern")
});

/// Lines of a Markdown or text file's source read for "Label: value" lines, at its start and
/// its end (where document control is written).
const HEAD_LINES: usize = 40;
const TAIL_LINES: usize = 30;

/// The facts the document's text states, in reading order (one fact per field and value).
/// `source` is the file's text for formats whose blocks join their lines (Markdown, plain
/// text): a label's value then ends with its line, as the author wrote it.
pub fn facts(blocks: &[Block], source: Option<&str>) -> Vec<Fact> {
    let mut out: Vec<Fact> = Vec::new();
    if let Some(src) = source {
        source_facts(src, &mut out);
    }
    let n = blocks.len();
    let is_control = |i: usize| {
        i < HEAD_BLOCKS
            || i + TAIL_BLOCKS >= n
            || blocks[i]
                .headings
                .iter()
                .any(|h| CONTROL_HEADING.is_match(h))
    };
    let mut i = 0;
    while i < n {
        let b = &blocks[i];
        if b.kind == BlockKind::TableRow {
            // A table is a run of rows under one heading path.
            let end = (i..n)
                .find(|&j| {
                    blocks[j].kind != BlockKind::TableRow || blocks[j].headings != b.headings
                })
                .unwrap_or(n);
            table_facts(&blocks[i..end], (i..end).any(is_control), &mut out);
            i = end;
            continue;
        }
        if is_control(i) && b.text.len() <= MAX_LABELLED_BLOCK {
            if source.is_none() {
                labelled_facts(&b.text, &format!("text{}", page(b)), &mut out);
            }
            version_facts(b, &mut out);
        }
        sentence_facts(b, &mut out);
        i += 1;
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert((f.field, f.value.to_lowercase())));
    out
}

fn page(b: &Block) -> String {
    b.page.map(|p| format!(" p.{p}")).unwrap_or_default()
}

fn cells(row: &Block) -> Vec<&str> {
    row.text.split(" | ").map(str::trim).collect()
}

/// Whether `value` may stand for `field`: dates carry a digit, other values are not labels
/// themselves.
fn plausible(field: Field, value: &str) -> bool {
    if field.is_date() {
        value.chars().any(|c| c.is_ascii_digit())
    } else {
        field_of_label(value).is_none()
    }
}

fn table_facts(rows: &[Block], control: bool, out: &mut Vec<Fact>) {
    let header = cells(&rows[0]);
    let columns: Vec<Option<Field>> = header.iter().map(|c| field_of_label(c)).collect();
    let labelled = columns.iter().filter(|c| c.is_some()).count();
    let has_date_column = header.iter().any(|c| c.to_lowercase().contains("date"));
    // A revision history: versions with their dates, newest anywhere in the table.
    if let Some(v) = columns.iter().position(|c| *c == Some(Field::Version))
        && has_date_column
        && labelled < 2
    {
        let latest = rows[1..]
            .iter()
            .filter_map(|r| {
                let c = cells(r);
                let version = c.get(v)?.trim_start_matches(['v', 'V']).to_string();
                let key: Vec<u32> = version
                    .split('.')
                    .map(|p| p.parse().ok())
                    .collect::<Option<_>>()?;
                Some((key, version, r))
            })
            .max_by(|a, b| a.0.cmp(&b.0));
        if let Some((_, version, row)) = latest {
            // Its date is when the text last changed, not when it was last reviewed: a review
            // that changes nothing adds no row. Only the version is taken.
            out.push(Fact {
                field: Field::Version,
                value: version,
                source: format!("revision history{}: {}", page(row), quote(&row.text)),
            });
        }
        return;
    }
    if !control {
        return;
    }
    // A row of labels over a row of values.
    if labelled >= 2 && rows.len() >= 2 {
        let values = cells(&rows[1]);
        for (field, value) in columns.iter().zip(values) {
            if let (Some(field), Some(value)) = (field, clean_value(value))
                && plausible(*field, &value)
            {
                out.push(Fact {
                    field: *field,
                    value,
                    source: format!(
                        "document-control table{}: {}",
                        page(&rows[1]),
                        quote(&format!("{} | {}", rows[0].text, rows[1].text))
                    ),
                });
            }
        }
        return;
    }
    // A label and its value on each row (or two pairs on a row). A table of roles or terms
    // may have one row that starts with "Owner": two rows at least must start with a label.
    let labelled_rows = rows
        .iter()
        .filter(|r| field_of_label(cells(r)[0].trim_end_matches(':')).is_some())
        .count();
    if labelled_rows < 2 {
        return;
    }
    for row in rows {
        let c = cells(row);
        for pair in c.chunks(2) {
            if let [label, value] = pair
                && let Some(field) = field_of_label(label.trim_end_matches(':'))
                && let Some(value) = clean_value(value)
                && plausible(field, &value)
            {
                out.push(Fact {
                    field,
                    value,
                    source: format!("document-control table{}: {}", page(row), quote(&row.text)),
                });
            }
        }
    }
}

/// "Label: value" lines at the start and end of a Markdown or text source, front matter
/// left out (the Markdown parser reads it), emphasis and list markers taken off.
fn source_facts(src: &str, out: &mut Vec<Fact>) {
    let mut lines: Vec<&str> = src.lines().collect();
    if lines.first().is_some_and(|l| l.trim_end() == "---")
        && let Some(end) = lines[1..]
            .iter()
            .position(|l| matches!(l.trim_end(), "---" | "..."))
    {
        lines.drain(..end + 2);
    }
    let lines: Vec<&str> = lines.into_iter().filter(|l| !l.trim().is_empty()).collect();
    let n = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let table = line.trim_start().starts_with('|');
        if (i >= HEAD_LINES && i + TAIL_LINES < n) || table {
            continue;
        }
        let clean: String = line
            .trim()
            .trim_start_matches(['#', '>', '-', '*', '+'])
            .replace("**", "")
            .replace("__", "")
            .replace('`', "");
        labelled_facts(clean.trim(), "text", out);
    }
}

/// Separators between the pairs of one line: "Owner: X · Version 2 | Classification: Y".
const SEPARATORS: [&str; 3] = [" | ", " · ", "; "];

/// "Owner: Head of Risk | Version: 2.1 · Next review: March 2025", or a line a PDF ran
/// together ("Document ID: ENG-030 Version: 2.1 Owner: Head of Model Risk"): each known label
/// (up to four words before a colon, the longest that names a field) takes the text up to the
/// next label of any kind, a separator or the end.
fn labelled_facts(text: &str, place: &str, out: &mut Vec<Fact>) {
    let mut segments = vec![text];
    for sep in SEPARATORS {
        segments = segments.iter().flat_map(|s| s.split(sep)).collect();
    }
    for segment in segments {
        labelled_segment(segment, text, place, out);
    }
}

fn labelled_segment(text: &str, line: &str, place: &str, out: &mut Vec<Fact>) {
    // (label start, value start, field) for every colon preceded by a label; `None` for a
    // label that is not ours ("Document ID:"), which still ends the value before it.
    let mut labels: Vec<(usize, usize, Option<Field>)> = Vec::new();
    let mut floor = 0;
    for (colon, _) in text.match_indices(':') {
        // "12:30" or "https://" is not a label.
        if text[colon + 1..].starts_with(|c: char| !c.is_whitespace()) {
            continue;
        }
        let before = &text[floor..colon];
        // Word starts within `before`, last four.
        let starts: Vec<usize> = before
            .char_indices()
            .filter(|&(i, c)| {
                !c.is_whitespace() && (i == 0 || before[..i].ends_with(char::is_whitespace))
            })
            .map(|(i, _)| i)
            .collect();
        let last4 = &starts[starts.len().saturating_sub(4)..];
        let found = last4
            .iter()
            .find_map(|&s| field_of_label(&before[s..]).map(|f| (floor + s, Some(f))))
            .or_else(|| {
                // Another label: from its nearest capitalised word.
                last4
                    .iter()
                    .rev()
                    .find(|&&s| before[s..].starts_with(char::is_uppercase))
                    .map(|&s| (floor + s, None))
            });
        if let Some((start, field)) = found {
            labels.push((start, colon + 1, field));
        }
        floor = colon + 1;
    }
    for (k, &(_, value_start, field)) in labels.iter().enumerate() {
        let Some(field) = field else { continue };
        let value_end = labels.get(k + 1).map_or(text.len(), |next| next.0);
        if let Some(value) = clean_value(&text[value_start..value_end.max(value_start)])
            && plausible(field, &value)
        {
            out.push(Fact {
                field,
                value,
                source: format!("{place}: {}", quote(line)),
            });
        }
    }
}

/// Longest block read for "Version 2.1" without a colon: a title line or a reference line,
/// not a paragraph that cites another document's version.
const MAX_VERSION_BLOCK: usize = 160;

fn version_facts(b: &Block, out: &mut Vec<Fact>) {
    if b.text.len() > MAX_VERSION_BLOCK {
        return;
    }
    if let Some(m) = VERSION.captures(&b.text).and_then(|c| c.get(1)) {
        out.push(Fact {
            field: Field::Version,
            value: m.as_str().to_string(),
            source: format!("text{}: {}", page(b), quote(&b.text)),
        });
    }
}

/// Longest block whose dates count without the sentence saying whose they are.
const MAX_DATED_LINE: usize = 200;

/// "This policy was last reviewed in March 2024": in a longer block, the sentence must say
/// it is about this document, since minutes and reports state other documents' dates.
fn sentence_facts(b: &Block, out: &mut Vec<Fact>) {
    for (field, re) in SENTENCES.iter() {
        if let Some(m) = re.captures(&b.text).and_then(|c| c.get(1))
            && crate::freshness::dates::looks_like_date(m.as_str())
            && (b.text.len() <= MAX_DATED_LINE || about_this(&b.text, m.start()))
        {
            out.push(Fact {
                field: *field,
                value: m.as_str().trim().to_string(),
                source: format!("text{}: {}", page(b), quote(&b.text)),
            });
        }
    }
}

/// Whether the sentence around byte `at` speaks of this document ("this policy", "this
/// standard", "this document"…).
fn about_this(text: &str, at: usize) -> bool {
    let start = text[..at].rfind(". ").map_or(0, |i| i + 2);
    let end = text[at..].find(". ").map_or(text.len(), |i| at + i);
    let sentence = text[start..end].to_lowercase();
    sentence.contains("this ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: BlockKind, headings: &[&str], text: &str, page: Option<u32>) -> Block {
        Block {
            headings: headings.iter().map(|h| h.to_string()).collect(),
            kind,
            text: text.into(),
            page,
            ocr_confidence: None,
        }
    }

    fn p(text: &str) -> Block {
        block(BlockKind::Paragraph, &["Policy"], text, None)
    }

    fn values(facts: &[Fact], field: Field) -> Vec<&str> {
        facts
            .iter()
            .filter(|f| f.field == field)
            .map(|f| f.value.as_str())
            .collect()
    }

    #[test]
    fn labelled_lines_and_sentences() {
        let blocks = vec![
            p(
                "Document ID: ENG-030 Version: 2.1 Owner: Head of Model Risk Classification: Internal",
            ),
            p("Last reviewed: March 2024 | Next review due: 1 March 2025"),
            p(
                "This standard was last reviewed on 12 March 2024 and comes into effect on 1 April 2024.",
            ),
            // Minutes speak of another document's dates.
            p(&format!(
                "{} The committee noted that the next review of AIP-001 is due by 28 February 2026.",
                "The committee met and discussed several papers at length. ".repeat(4)
            )),
        ];
        let f = facts(&blocks, None);
        assert_eq!(values(&f, Field::Version), ["2.1"]);
        assert_eq!(values(&f, Field::Owner), ["Head of Model Risk"]);
        assert_eq!(values(&f, Field::Classification), ["Internal"]);
        assert_eq!(
            values(&f, Field::LastReview),
            ["March 2024", "12 March 2024"]
        );
        assert_eq!(values(&f, Field::NextReview), ["1 March 2025"]);
        assert_eq!(values(&f, Field::EffectiveDate), ["1 April 2024"]);
        let src = &f.iter().find(|f| f.field == Field::Owner).unwrap().source;
        assert!(src.starts_with("text: \"Document ID: ENG-030"), "{src}");
    }

    #[test]
    fn vertical_horizontal_and_revision_tables() {
        let row = |t: &str, h: &str| block(BlockKind::TableRow, &[h], t, Some(1));
        let blocks = vec![
            row("Owner | Chief Risk Officer", "Document control"),
            row("Approved by | AI Governance Committee", "Document control"),
            row("Review date | 03/2025", "Document control"),
            p("Body."),
            row("Owner | Approver | Effective date", "Approval"),
            row("Head of Data | Data Council | 2024-01-15", "Approval"),
            row("Version | Date | Author | Changes", "Revision history"),
            row("1.0 | 2023-01-10 | A. Li | First issue", "Revision history"),
            row(
                "1.10 | 2024-02-01 | A. Li | Annual review",
                "Revision history",
            ),
            row("1.2 | 2023-06-01 | A. Li | Typo", "Revision history"),
        ];
        let f = facts(&blocks, None);
        assert_eq!(
            values(&f, Field::Owner),
            ["Chief Risk Officer", "Head of Data"]
        );
        assert_eq!(
            values(&f, Field::Approver),
            ["AI Governance Committee", "Data Council"]
        );
        assert_eq!(values(&f, Field::NextReview), ["03/2025"]);
        assert_eq!(values(&f, Field::EffectiveDate), ["2024-01-15"]);
        // The highest version, compared as numbers (1.10 after 1.2); its date is when the
        // text changed, not a review.
        assert_eq!(values(&f, Field::Version), ["1.10"]);
        assert!(values(&f, Field::LastReview).is_empty());
        let src = &f
            .iter()
            .find(|f| f.field == Field::NextReview)
            .unwrap()
            .source;
        assert_eq!(src, "document-control table p.1: \"Review date | 03/2025\"");
    }

    #[test]
    fn source_lines_end_their_values_and_separators_split_pairs() {
        let src = "---\nowner: From front matter\n---\n# Speak Up\n\n**Document ID:** PPL-062\n**Owner:** Chief People Officer\n**Whistleblowing Champion:** A Director\nLast reviewed:   2 September 2024\n\nBody text.\n";
        let f = facts(&[p("Body text.")], Some(src));
        assert_eq!(values(&f, Field::Owner), ["Chief People Officer"]);
        assert_eq!(values(&f, Field::LastReview), ["2 September 2024"]);
        let line = p(
            "GEN-083 · Version 1.6 · Owner: Facilities Manager · Effective 1 June 2023 · Classification: Internal",
        );
        let f = facts(&[line], None);
        assert_eq!(values(&f, Field::Owner), ["Facilities Manager"]);
        assert_eq!(values(&f, Field::Classification), ["Internal"]);
        assert_eq!(values(&f, Field::Version), ["1.6"]);
        assert_eq!(values(&f, Field::EffectiveDate), ["1 June 2023"]);
        // Another label ends a value even when it is not ours.
        let f = facts(
            &[p(
                "Owner: Chief Technology Officer Maintained by: Head of Platform",
            )],
            None,
        );
        assert_eq!(values(&f, Field::Owner), ["Chief Technology Officer"]);
    }

    #[test]
    fn body_text_far_from_document_control_is_not_read_for_labels() {
        let mut blocks: Vec<Block> = (0..60).map(|i| p(&format!("Clause {i}."))).collect();
        blocks[30] = p("Owner: the person accountable for a model in production.");
        blocks[31] = p("Review date: annually");
        assert!(
            facts(&blocks, None).is_empty(),
            "{:?}",
            facts(&blocks, None)
        );
        // A date-valued label needs a date; a label needs a value that is not a label.
        let f = facts(&[p("Next review: annually"), p("Owner: Approver")], None);
        assert!(f.is_empty(), "{f:?}");
    }
}
