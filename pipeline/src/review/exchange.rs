//! Export and import of every decision record and not-applicable mark, as JSON Lines or CSV,
//! so decisions can move between workspaces and into other tools. Both formats carry the same
//! columns ([`Record`]); importing keeps records whose `uid` is already stored out, so
//! importing a file twice adds nothing.

use std::{io::Write, path::Path};

use crate::error::{Context, Result, user_error};
use serde::{Deserialize, Serialize};

use super::{Decision, NotApplicable, Store, Verdict, normalise_time, uid::derived_uid};

/// File formats for export and import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExchangeFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// One exported record: a decision (`kind` = `decision`) or a not-applicable mark (`kind` =
/// `not_applicable`, `verdict` = `not_applicable` or `withdrawn`, `comment` = the
/// justification).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub kind: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub content_hash: Option<String>,
    pub control: String,
    pub verdict: String,
    pub reviewer: String,
    #[serde(default)]
    pub comment: Option<String>,
    pub decided_at: String,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub confidence: Option<f32>,
    #[serde(default)]
    pub document: Option<String>,
    #[serde(default)]
    pub heading: Option<String>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub passage_text: Option<String>,
}

impl From<&Decision> for Record {
    fn from(d: &Decision) -> Self {
        Record {
            kind: "decision".into(),
            uid: Some(d.uid.clone()),
            content_hash: Some(d.content_hash.clone()),
            control: d.control.clone(),
            verdict: d.verdict.as_str().into(),
            reviewer: d.reviewer.clone(),
            comment: d.comment.clone(),
            decided_at: d.decided_at.clone(),
            run_id: d.run_id.clone(),
            confidence: d.confidence,
            document: d.document.clone(),
            heading: d.heading.clone(),
            page: d.page,
            passage_text: Some(d.passage_text.clone()),
        }
    }
}

impl From<&NotApplicable> for Record {
    fn from(m: &NotApplicable) -> Self {
        Record {
            kind: "not_applicable".into(),
            uid: Some(m.uid.clone()),
            content_hash: None,
            control: m.control.clone(),
            verdict: if m.withdrawn {
                "withdrawn"
            } else {
                "not_applicable"
            }
            .into(),
            reviewer: m.reviewer.clone(),
            comment: Some(m.justification.clone()).filter(|j| !j.is_empty()),
            decided_at: m.decided_at.clone(),
            run_id: None,
            confidence: None,
            document: None,
            heading: None,
            page: None,
            passage_text: None,
        }
    }
}

/// A parsed import record.
enum Parsed {
    Decision(Decision),
    NotApplicable(NotApplicable),
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl Record {
    fn parse(self) -> Result<Parsed, String> {
        let decided_at = normalise_time(&self.decided_at).ok_or_else(|| {
            format!(
                "decided_at {:?} is not an RFC 3339 time like 2025-03-01T09:30:00Z",
                self.decided_at
            )
        })?;
        if self.control.trim().is_empty() {
            return Err("control is empty".into());
        }
        if self.reviewer.trim().is_empty() {
            return Err("reviewer is empty".into());
        }
        let comment = non_empty(self.comment);
        match self.kind.as_str() {
            "decision" => {
                let verdict = Verdict::parse(&self.verdict).ok_or_else(|| {
                    format!(
                        "verdict {:?} is not accepted, rejected, linked or withdrawn",
                        self.verdict
                    )
                })?;
                let content_hash = non_empty(self.content_hash)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or("content_hash is missing or not hexadecimal")?;
                let passage_text = self.passage_text.unwrap_or_default();
                let uid = non_empty(self.uid).unwrap_or_else(|| {
                    derived_uid(
                        "decision",
                        &[
                            content_hash.clone(),
                            self.control.clone(),
                            verdict.as_str().into(),
                            self.reviewer.clone(),
                            comment.clone().unwrap_or_default(),
                            decided_at.clone(),
                        ],
                    )
                });
                Ok(Parsed::Decision(Decision {
                    uid,
                    content_hash,
                    control: self.control,
                    verdict,
                    reviewer: self.reviewer,
                    comment,
                    decided_at,
                    run_id: non_empty(self.run_id),
                    confidence: self.confidence,
                    passage_text,
                    document: non_empty(self.document),
                    heading: non_empty(self.heading),
                    page: self.page,
                }))
            }
            "not_applicable" => {
                let withdrawn = match self.verdict.as_str() {
                    "not_applicable" => false,
                    "withdrawn" => true,
                    v => {
                        return Err(format!(
                            "verdict {v:?} of a not_applicable record is not not_applicable or withdrawn"
                        ));
                    }
                };
                let justification = comment.unwrap_or_default();
                let uid = non_empty(self.uid).unwrap_or_else(|| {
                    derived_uid(
                        "not_applicable",
                        &[
                            self.control.clone(),
                            justification.clone(),
                            self.reviewer.clone(),
                            decided_at.clone(),
                            u8::from(withdrawn).to_string(),
                        ],
                    )
                });
                Ok(Parsed::NotApplicable(NotApplicable {
                    uid,
                    control: self.control,
                    withdrawn,
                    justification,
                    reviewer: self.reviewer,
                    decided_at,
                }))
            }
            k => Err(format!("kind {k:?} is not decision or not_applicable")),
        }
    }
}

/// Every record of the store, oldest first (decisions, then not-applicable marks).
pub fn records(store: &Store) -> Result<Vec<Record>> {
    let mut out: Vec<Record> = store.history()?.iter().map(Record::from).collect();
    out.extend(store.not_applicable_history()?.iter().map(Record::from));
    Ok(out)
}

/// Writes `records` in `format`.
pub fn write(records: &[Record], format: ExchangeFormat, out: &mut dyn Write) -> Result<()> {
    match format {
        ExchangeFormat::Jsonl => {
            for r in records {
                serde_json::to_writer(&mut *out, r)?;
                out.write_all(b"\n")?;
            }
        }
        ExchangeFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            for r in records {
                w.serialize(r.clone().map_text(|t| to_cell(&t).into_owned()))?;
            }
            if records.is_empty() {
                w.write_record(CSV_HEADER)?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

/// A CSV cell a spreadsheet shows as text and never runs as a formula: one that starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, as evidence.csv's do;
/// so does one that starts with `'`, so that [`from_cell`] takes exactly one off and a
/// record comes back from its export as it was.
fn to_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// A cell of an exported CSV as the text it was made from (see [`to_cell`]).
fn from_cell(s: String) -> String {
    match s.strip_prefix('\'') {
        Some(rest) => rest.to_string(),
        None => s,
    }
}

impl Record {
    /// The record with `f` applied to each of its text fields.
    fn map_text(self, f: impl Fn(String) -> String) -> Record {
        let opt = |o: Option<String>| o.map(&f);
        Record {
            kind: f(self.kind),
            uid: opt(self.uid),
            content_hash: opt(self.content_hash),
            control: f(self.control),
            verdict: f(self.verdict),
            reviewer: f(self.reviewer),
            comment: opt(self.comment),
            decided_at: f(self.decided_at),
            run_id: opt(self.run_id),
            confidence: self.confidence,
            document: opt(self.document),
            heading: opt(self.heading),
            page: self.page,
            passage_text: opt(self.passage_text),
        }
    }
}

const CSV_HEADER: [&str; 14] = [
    "kind",
    "uid",
    "content_hash",
    "control",
    "verdict",
    "reviewer",
    "comment",
    "decided_at",
    "run_id",
    "confidence",
    "document",
    "heading",
    "page",
    "passage_text",
];

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Records read from the file.
    pub read: usize,
    /// Records that were new to the store.
    pub added: usize,
}

/// Reads a file of records (JSON Lines, or CSV when it is named `.csv` or does not start with
/// `{`). A record that does not parse stops the import before anything is stored, with the
/// file and line.
pub fn read_file(path: &Path) -> Result<Vec<Record>> {
    let text = fs_err::read_to_string(path)?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        || !text.trim_start().starts_with('{') && !text.trim().is_empty();
    let mut out = Vec::new();
    if is_csv {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        for (i, rec) in r.deserialize::<Record>().enumerate() {
            let rec = rec.with_context(|| {
                format!(
                    "{}: record {} is not a decision record (columns: {})",
                    path.display(),
                    i + 1,
                    CSV_HEADER.join(",")
                )
            })?;
            out.push(rec.map_text(from_cell));
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let rec: Record = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a decision record", path.display(), i + 1))?;
            out.push(rec);
        }
    }
    Ok(out)
}

/// Imports `records` (read from `source`, named in errors) in one transaction per table.
pub fn import(store: &mut Store, records: Vec<Record>, source: &Path) -> Result<Imported> {
    let mut decisions = Vec::new();
    let mut marks = Vec::new();
    let read = records.len();
    for (i, r) in records.into_iter().enumerate() {
        match r.parse() {
            Ok(Parsed::Decision(d)) => decisions.push(d),
            Ok(Parsed::NotApplicable(m)) => marks.push(m),
            Err(why) => user_error!(
                "{}: record {}: {why}; nothing was imported",
                source.display(),
                i + 1
            ),
        }
    }
    let added = store.record(&decisions)? + store.record_not_applicable(&marks)?;
    Ok(Imported { read, added })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_store(dir: &Path) -> Store {
        let mut s = Store::open(dir).unwrap();
        let mut d = Decision::new(
            "aa01",
            "A.2.2",
            Verdict::Accepted,
            "alice",
            "Text with \"quotes\", commas,\nand a new line.",
        );
        d.comment = Some("fine, \"really\"".into());
        d.confidence = Some(0.6123);
        d.run_id = Some("2025-01-01T00:00:00.000000Z".into());
        d.document = Some("a/b.md".into());
        d.heading = Some("Policy › Scope".into());
        d.page = Some(3);
        s.record(&[
            d,
            Decision::new("bb02", "A.5.2", Verdict::Linked, "bob", "Other."),
        ])
        .unwrap();
        s.record(&[Decision::new(
            "aa01",
            "A.2.2",
            Verdict::Rejected,
            "carol",
            "x",
        )])
        .unwrap();
        s.record_not_applicable(&[
            NotApplicable::new("A.10.3", "No suppliers.", "bob", false),
            NotApplicable::new("A.10.3", "", "bob", true),
        ])
        .unwrap();
        s
    }

    fn exported(s: &Store, f: ExchangeFormat) -> Vec<u8> {
        let mut out = Vec::new();
        write(&records(s).unwrap(), f, &mut out).unwrap();
        out
    }

    #[test]
    fn both_formats_round_trip_and_import_is_idempotent() {
        for f in [ExchangeFormat::Jsonl, ExchangeFormat::Csv] {
            let a = tempfile::tempdir().unwrap();
            let s = sample_store(a.path());
            let bytes = exported(&s, f);
            let file = a.path().join(if f == ExchangeFormat::Csv {
                "x.csv"
            } else {
                "x.jsonl"
            });
            std::fs::write(&file, &bytes).unwrap();

            let b = tempfile::tempdir().unwrap();
            let mut t = Store::open(b.path()).unwrap();
            let got = import(&mut t, read_file(&file).unwrap(), &file).unwrap();
            assert_eq!(got, Imported { read: 5, added: 5 }, "{f:?}");
            assert_eq!(exported(&t, f), bytes, "{f:?}");
            assert_eq!(t.history().unwrap(), s.history().unwrap());
            assert_eq!(
                t.not_applicable_history().unwrap(),
                s.not_applicable_history().unwrap()
            );
            let again = import(&mut t, read_file(&file).unwrap(), &file).unwrap();
            assert_eq!(again, Imported { read: 5, added: 0 });
            assert_eq!(t.history().unwrap().len(), 3);
        }
    }

    #[test]
    fn review_export_csv_cells_that_would_start_a_formula_are_quoted_and_import_back() {
        let a = tempfile::tempdir().unwrap();
        let mut s = Store::open(a.path()).unwrap();
        let mut d = Decision::new("cc03", "A.2.2", Verdict::Accepted, "@mallory", "-1 and +2");
        d.comment = Some("=HYPERLINK(\"http://evil.example\",\"click\")".into());
        d.heading = Some("'quoted".into());
        s.record(&[d]).unwrap();
        let bytes = exported(&s, ExchangeFormat::Csv);
        let text = String::from_utf8(bytes.clone()).unwrap();
        let row = csv::Reader::from_reader(text.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap();
        let cells: Vec<&str> = row.iter().collect();
        for c in &cells {
            assert!(!c.starts_with(['=', '+', '-', '@']), "{c:?} in {cells:?}");
        }
        assert!(cells.contains(&"'=HYPERLINK(\"http://evil.example\",\"click\")"));
        assert!(cells.contains(&"''quoted"));

        let file = a.path().join("x.csv");
        std::fs::write(&file, &bytes).unwrap();
        let b = tempfile::tempdir().unwrap();
        let mut t = Store::open(b.path()).unwrap();
        import(&mut t, read_file(&file).unwrap(), &file).unwrap();
        assert_eq!(t.history().unwrap(), s.history().unwrap());
    }

    #[test]
    fn a_bad_record_names_the_file_and_line_and_imports_nothing() {
        let a = tempfile::tempdir().unwrap();
        let file = a.path().join("in.jsonl");
        std::fs::write(
            &file,
            "{\"kind\":\"decision\",\"content_hash\":\"ab\",\"control\":\"A.2.2\",\"verdict\":\"accepted\",\"reviewer\":\"x\",\"decided_at\":\"2025-01-01T00:00:00Z\"}\n\
             {\"kind\":\"decision\",\"content_hash\":\"ab\",\"control\":\"A.2.2\",\"verdict\":\"maybe\",\"reviewer\":\"x\",\"decided_at\":\"2025-01-01T00:00:00Z\"}\n",
        )
        .unwrap();
        let mut s = Store::open(a.path()).unwrap();
        let e = import(&mut s, read_file(&file).unwrap(), &file)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("in.jsonl: record 2") && e.contains("maybe"),
            "{e}"
        );
        assert!(s.history().unwrap().is_empty());

        std::fs::write(&file, "{not json\n").unwrap();
        let e = format!("{:#}", read_file(&file).unwrap_err());
        assert!(e.contains("in.jsonl:1"), "{e}");
    }

    #[test]
    fn records_without_uid_get_a_stable_one() {
        let a = tempfile::tempdir().unwrap();
        let file = a.path().join("hand.csv");
        std::fs::write(
            &file,
            "kind,content_hash,control,verdict,reviewer,decided_at\n\
             decision,abcd,A.6.2.4,accepted,dana,2025-02-01T08:00:00+01:00\n",
        )
        .unwrap();
        let mut s = Store::open(a.path()).unwrap();
        for added in [1, 0] {
            let got = import(&mut s, read_file(&file).unwrap(), &file).unwrap();
            assert_eq!(got.added, added);
        }
        let h = s.history().unwrap();
        assert_eq!(h[0].decided_at, "2025-02-01T07:00:00.000000Z");
    }
}
