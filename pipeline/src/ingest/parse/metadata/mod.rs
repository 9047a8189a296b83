//! What a document says about itself: title, version, owner, approver, effective date, last
//! and next review dates, classification. Each value is a [`Fact`] that remembers where it
//! was found, so a reviewer can check it.
//!
//! The parsers collect the format's own properties (DOCX core and custom properties, the PDF
//! information dictionary and XMP packet, HTML `<meta>` tags, Markdown front matter) through
//! [`property`]; [`text::facts`] then reads the document's words (document-control tables,
//! "Version 2.1", "Last reviewed: March 2024", "Owner: Chief Risk Officer"). Values are kept
//! as written: dates are read when a report is made ([`crate::freshness`]), so how an
//! ambiguous date is read can change without parsing the files again.

pub mod text;

use std::fmt;

use serde::{Deserialize, Serialize};

/// The fields controlmap reads about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Title,
    Version,
    Owner,
    Approver,
    EffectiveDate,
    LastReview,
    NextReview,
    Classification,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Title,
        Field::Version,
        Field::Owner,
        Field::Approver,
        Field::EffectiveDate,
        Field::LastReview,
        Field::NextReview,
        Field::Classification,
    ];

    /// Whether the value is a date.
    pub fn is_date(self) -> bool {
        matches!(
            self,
            Field::EffectiveDate | Field::LastReview | Field::NextReview
        )
    }

    /// The field's name for people.
    pub fn label(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Version => "version",
            Field::Owner => "owner",
            Field::Approver => "approver",
            Field::EffectiveDate => "effective date",
            Field::LastReview => "last review",
            Field::NextReview => "next review",
            Field::Classification => "classification",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One value found for a field, as written, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub field: Field,
    pub value: String,
    /// Where it was found, for people: `DOCX custom property "Next review"`,
    /// `text, p.1: "Last reviewed: March 2024"`.
    pub source: String,
}

/// Longest value kept: a label followed by a paragraph is not a value.
const MAX_VALUE_CHARS: usize = 120;

/// Labels as documents write them, normalised by [`normalise_label`], and the field each
/// names. A bare "review date" is the date by which the next review is due, as UK public
/// bodies use it; "approved" alone is left out because it is followed by a name as often
/// as by a date.
const LABELS: &[(&str, Field)] = &[
    ("title", Field::Title),
    ("documenttitle", Field::Title),
    ("policytitle", Field::Title),
    ("version", Field::Version),
    ("versionnumber", Field::Version),
    ("versionno", Field::Version),
    ("documentversion", Field::Version),
    ("policyversion", Field::Version),
    ("docversion", Field::Version),
    ("currentversion", Field::Version),
    ("issuenumber", Field::Version),
    ("issueno", Field::Version),
    ("owner", Field::Owner),
    ("documentowner", Field::Owner),
    ("policyowner", Field::Owner),
    ("ownedby", Field::Owner),
    ("accountableowner", Field::Owner),
    ("businessowner", Field::Owner),
    ("contentowner", Field::Owner),
    ("approver", Field::Approver),
    ("approvedby", Field::Approver),
    ("approvingbody", Field::Approver),
    ("approvalauthority", Field::Approver),
    ("approvingauthority", Field::Approver),
    ("authorisedby", Field::Approver),
    ("authorizedby", Field::Approver),
    ("signedoffby", Field::Approver),
    ("effective", Field::EffectiveDate),
    ("effectivedate", Field::EffectiveDate),
    ("dateeffective", Field::EffectiveDate),
    ("effectivefrom", Field::EffectiveDate),
    ("inforcefrom", Field::EffectiveDate),
    ("issuedate", Field::EffectiveDate),
    ("dateofissue", Field::EffectiveDate),
    ("issued", Field::EffectiveDate),
    ("approvaldate", Field::EffectiveDate),
    ("dateapproved", Field::EffectiveDate),
    ("approvedon", Field::EffectiveDate),
    ("lastreview", Field::LastReview),
    ("lastreviewed", Field::LastReview),
    ("lastreviewdate", Field::LastReview),
    ("lastrevieweddate", Field::LastReview),
    ("lastreviewedon", Field::LastReview),
    ("dateoflastreview", Field::LastReview),
    ("datereviewed", Field::LastReview),
    ("reviewed", Field::LastReview),
    ("reviewedon", Field::LastReview),
    ("nextreview", Field::NextReview),
    ("nextreviewdate", Field::NextReview),
    ("nextreviewdue", Field::NextReview),
    ("nextreviewby", Field::NextReview),
    ("nextreviewduedate", Field::NextReview),
    ("nextscheduledreview", Field::NextReview),
    ("scheduledreview", Field::NextReview),
    ("reviewdue", Field::NextReview),
    ("reviewby", Field::NextReview),
    ("reviewdate", Field::NextReview),
    ("dueforreview", Field::NextReview),
    ("classification", Field::Classification),
    ("securityclassification", Field::Classification),
    ("informationclassification", Field::Classification),
    ("dataclassification", Field::Classification),
    ("documentclassification", Field::Classification),
    ("classificationlevel", Field::Classification),
    ("protectivemarking", Field::Classification),
    ("sensitivity", Field::Classification),
    ("confidentiality", Field::Classification),
];

/// A label with case, spaces, punctuation and a namespace prefix (`dcterms.`, `pdfx:`)
/// taken away: "Next Review Date", "next_review_date" and "next-review-date" are one label.
pub fn normalise_label(label: &str) -> String {
    let label = label.trim();
    let label = label
        .rsplit_once([':', '.'])
        .filter(|(prefix, rest)| {
            !rest.is_empty() && prefix.len() <= 8 && !prefix.contains(char::is_whitespace)
        })
        .map_or(label, |(_, rest)| rest);
    label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The field a label names, if any.
pub fn field_of_label(label: &str) -> Option<Field> {
    let key = normalise_label(label);
    LABELS.iter().find(|(l, _)| *l == key).map(|&(_, f)| f)
}

/// A fact from a named property of the file (`source` says which, e.g. `DOCX custom
/// property "Owner"`), when its name is one of ours and its value is not empty.
pub fn property(name: &str, value: &str, source: impl FnOnce() -> String) -> Option<Fact> {
    let field = field_of_label(name)?;
    let value = clean_value(value)?;
    Some(Fact {
        field,
        value,
        source: source(),
    })
}

/// A value on one line, without surrounding punctuation; `None` when empty or too long to
/// be a value.
pub fn clean_value(value: &str) -> Option<String> {
    let v = crate::ingest::parse::normalise_space(value);
    let v = v
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '|' | ';' | ',' | '"' | '“' | '”'))
        .trim_end_matches('.')
        .trim();
    let ok = !v.is_empty() && v.chars().count() <= MAX_VALUE_CHARS;
    ok.then(|| v.to_string())
}

/// `text` clipped for a source note.
pub(crate) fn quote(text: &str) -> String {
    format!("\"{}\"", crate::ingest::chunk::clip(text, 80))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_their_many_spellings_name_one_field() {
        for l in [
            "Next Review Date",
            "next_review_date",
            "next-review",
            "NextReview",
            "Review due",
            "Review date",
        ] {
            assert_eq!(field_of_label(l), Some(Field::NextReview), "{l}");
        }
        assert_eq!(field_of_label("dcterms.issued"), Some(Field::EffectiveDate));
        assert_eq!(field_of_label("pdfx:Owner"), Some(Field::Owner));
        assert_eq!(field_of_label("Document owner"), Some(Field::Owner));
        assert_eq!(field_of_label("Approved by"), Some(Field::Approver));
        assert_eq!(
            field_of_label("Date of last review"),
            Some(Field::LastReview)
        );
        assert_eq!(
            field_of_label("Protective marking"),
            Some(Field::Classification)
        );
        for l in ["Author", "Creator", "Approved", "Keywords", "Producer", ""] {
            assert_eq!(field_of_label(l), None, "{l}");
        }
    }

    #[test]
    fn values_are_cleaned_and_long_ones_refused() {
        assert_eq!(clean_value("  2.1. ").as_deref(), Some("2.1"));
        assert_eq!(
            clean_value("| Chief Risk Officer |").as_deref(),
            Some("Chief Risk Officer")
        );
        assert_eq!(clean_value("   "), None);
        assert_eq!(clean_value(&"word ".repeat(40)), None);
    }
}
