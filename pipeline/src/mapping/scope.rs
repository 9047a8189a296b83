//! Which documents a framework applies to, and which text is about the document itself.

use std::collections::{BTreeSet, HashSet};

use super::mute;
use crate::{ingest::chunk::Passage, ingest::parse::normalise_space};

/// The documents a catalog's framework applies to: those that mention at least one of its
/// scope terms (whole words, any case) in a passage's text, heading path or title. An AI
/// management standard says nothing about a travel expenses policy, however close its
/// sentences come to a control's wording ("customers", "approved by", "responsible for").
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Lower-cased; empty: every document is in scope.
    terms: Vec<String>,
}

impl Scope {
    pub fn new(terms: &[String]) -> Self {
        Self {
            terms: terms
                .iter()
                .map(|t| normalise_space(t).to_lowercase())
                .collect(),
        }
    }

    /// Every document is in scope.
    pub fn everything() -> Self {
        Self::default()
    }

    /// The terms, lower-cased.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Whether `text` mentions a scope term (always, when there are none).
    pub fn mentions(&self, text: &str) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        // One space between words, so that a term of two words matches across a line break.
        let lower = normalise_space(text).to_lowercase();
        self.terms.iter().any(|t| contains_word(&lower, t))
    }

    /// The documents among `passages` none of whose passages mentions a scope term, sorted.
    pub fn out_of_scope(&self, passages: &[&Passage]) -> Vec<String> {
        if self.terms.is_empty() {
            return Vec::new();
        }
        let mut in_scope: HashSet<&str> = HashSet::new();
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for p in passages {
            seen.insert(&p.document);
            if in_scope.contains(p.document.as_str()) {
                continue;
            }
            if self.mentions(&p.text) || self.mentions(&p.heading_path()) || self.mentions(&p.title)
            {
                in_scope.insert(&p.document);
            }
        }
        seen.into_iter()
            .filter(|d| !in_scope.contains(d))
            .map(str::to_string)
            .collect()
    }

    /// Mutes the score rows of the passages of documents outside the scope and returns those
    /// documents.
    pub fn mute_outside(
        &self,
        scores: &mut [f32],
        n_controls: usize,
        passages: &[&Passage],
    ) -> Vec<String> {
        let out = self.out_of_scope(passages);
        if !out.is_empty() {
            let outside: HashSet<&str> = out.iter().map(String::as_str).collect();
            mute(
                scores,
                n_controls,
                passages
                    .iter()
                    .map(|p| outside.contains(p.document.as_str())),
            );
        }
        out
    }
}
/// Document-control text — revision tables, `"Approved by … on <date>"` lines — describes the
/// document, not what the organisation does. It is close to the policy controls in meaning
/// (a revision history reads like a policy review), so it is indexed and searchable but is
/// evidence for nothing. On the sample corpus these lines were the best passage for A.2.2,
/// A.2.4 and A.8.5.
pub fn is_document_control(p: &Passage) -> bool {
    let heading = p
        .headings
        .last()
        .map(|h| h.to_lowercase())
        .unwrap_or_default();
    let section = [
        "revision history",
        "document control",
        "version history",
        "change history",
        "change log",
        "distribution list",
    ];
    if section.iter().any(|s| heading.contains(s)) {
        return true;
    }
    let text = normalise_space(&p.text);
    let lower = text.to_lowercase();
    let approval_line = lower.starts_with("approved by ")
        && text.split(' ').count() <= 25
        && lower.contains(" on ");
    let revision_table = lower.starts_with("version | date");
    approval_line || revision_table
}

/// `needle` occurs in `haystack` at word boundaries (both lower-case).
pub fn contains_word(haystack: &str, needle: &str) -> bool {
    whole_words(haystack, needle).next().is_some()
}

/// How many times `needle` occurs in `haystack` as whole words.
pub fn count_words(haystack: &str, needle: &str) -> usize {
    whole_words(haystack, needle).count()
}

fn whole_words<'a>(haystack: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    let is_word = |c: char| c.is_alphanumeric();
    haystack
        .match_indices(needle)
        .map(|(i, _)| i)
        .filter(move |&i| {
            let before = haystack[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !is_word(c));
            let after = haystack[i + needle.len()..]
                .chars()
                .next()
                .is_none_or(|c| !is_word(c));
            before && after
        })
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Calibration;

    fn passage(heading: &str, text: &str) -> Passage {
        Passage {
            id: 1,
            content_hash: String::new(),
            document: "d.md".into(),
            title: "D".into(),
            headings: vec!["D".into(), heading.into()],
            page: None,
            format: crate::ingest::parse::Format::Markdown,
            text: text.into(),
            start: 0,
            end: text.len(),
            ocr_confidence: None,
        }
    }

    #[test]
    fn documents_that_mention_no_scope_term_are_out_of_scope_and_muted() {
        let at = |doc: &str, title: &str, heading: &str, text: &str| Passage {
            document: doc.into(),
            title: title.into(),
            ..passage(heading, text)
        };
        let ps = [
            at(
                "travel.md",
                "Travel",
                "1 Flights",
                "Economy class for short flights.",
            ),
            at(
                "travel.md",
                "Travel",
                "2 Meals",
                "Meals are paid up to a daily limit.",
            ),
            // "mail" and "maintain" hold "ai" but not as a word; "Model" in a heading counts.
            at("it.md", "IT", "Mail", "We maintain the mail servers."),
            at(
                "risk.md",
                "Risk",
                "Model risk",
                "Each is validated before use.",
            ),
            at(
                "use.md",
                "Use of A.I. tools",
                "Rules",
                "Staff follow these rules.",
            ),
        ];
        let refs: Vec<&Passage> = ps.iter().collect();
        let scope = Scope::new(&["AI".into(), "A.I.".into(), "model".into()]);
        assert!(scope.mentions("Our AI policy") && !scope.mentions("Email the maintainer"));
        assert!(Scope::new(&["machine learning".into()]).mentions("uses Machine\n  Learning"));
        assert_eq!(scope.out_of_scope(&refs), ["it.md", "travel.md"]);
        assert!(Scope::everything().out_of_scope(&refs).is_empty());

        let mut scores = vec![0.5f32; ps.len() * 2];
        let out = scope.mute_outside(&mut scores, 2, &refs);
        assert_eq!(out, ["it.md", "travel.md"]);
        assert_eq!(
            scores,
            [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 0.5, 0.5, 0.5, 0.5]
        );
        let conf = Calibration::default().confidence(&scores, 2);
        assert!(conf[..6].iter().all(|&c| c == 0.0) && conf[6..].iter().all(|&c| c > 0.0));
    }

    #[test]
    fn document_control_text_is_recognised() {
        assert!(is_document_control(&passage(
            "12. Approval",
            "Approved by the AI Governance Committee on 21 February 2024."
        )));
        assert!(is_document_control(&passage(
            "9. Revision history",
            "3.0 | January 2021 | Independent line introduced"
        )));
        assert!(is_document_control(&passage(
            "Annex",
            "Version | Date | Change\n1.0 | 2022 | First issue"
        )));
        // An approval section about approving assessments is content, not document control.
        assert!(!is_document_control(&passage(
            "7. Approval",
            "Assessments shall be approved at the level shown in section 6."
        )));
        assert!(!is_document_control(&passage(
            "4.3 Roles",
            "The Board Risk Committee approves this policy."
        )));
        let mut scores = vec![0.9, 0.8, 0.7, 0.6];
        mute(&mut scores, 2, [true, false]);
        assert_eq!(scores, vec![-1.0, -1.0, 0.7, 0.6]);
    }

    #[test]
    fn keyword_match_respects_word_boundaries() {
        assert!(contains_word("the ai policy is set", "ai policy"));
        assert!(!contains_word("the maintain policy", "ai policy"));
        assert!(contains_word("raci.", "raci"));
        assert!(!contains_word("racing", "raci"));
    }
}
