//! Splitting a parsed document into passages: a passage stays inside one section (and page),
//! packs consecutive blocks up to a target size, and never exceeds the model's token limit.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ingest::parse::{Block, Document, Format, normalise_space};

/// A unit of evidence: what gets embedded, indexed, mapped and reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    /// Index key: unique within a run (document path and text).
    pub id: u64,
    /// Hash of the normalised text alone, so a decision survives the file moving.
    pub content_hash: String,
    /// Path relative to the policy folder, with `/` separators.
    pub document: String,
    pub title: String,
    pub headings: Vec<String>,
    pub page: Option<u32>,
    pub format: Format,
    pub text: String,
    /// Byte offsets of `text` in the document's extracted text ([`Document::text`]).
    #[serde(default)]
    pub start: usize,
    #[serde(default)]
    pub end: usize,
    /// For text read from a scanned page, the OCR's confidence in its least sure block
    /// (0–100): a reviewer should read the page itself before relying on a low one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<u8>,
}

impl Passage {
    /// What the model embeds: the nearest heading gives the passage its context (a section
    /// titled "Supplier management" says a lot about the sentences in it).
    pub fn embedding_text(&self) -> String {
        match self.headings.last() {
            Some(h) if !self.text.starts_with(h.as_str()) => format!("{h}: {}", self.text),
            _ => self.text.clone(),
        }
    }

    /// The heading path as one line.
    pub fn heading_path(&self) -> String {
        self.headings.join(" › ")
    }
}

/// Where a passage is, for people: `document p.N › heading`.
pub fn place(document: &str, page: Option<u32>, heading: &str) -> String {
    let page = page.map(|p| format!(" p.{p}")).unwrap_or_default();
    if heading.is_empty() {
        format!("{document}{page}")
    } else {
        format!("{document}{page} › {heading}")
    }
}

/// `text` on one line, at most `n` characters (an ellipsis marks a cut).
pub fn clip(text: &str, n: usize) -> String {
    let one = normalise_space(text);
    if one.chars().count() <= n {
        one
    } else {
        let mut t: String = one.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ChunkOptions {
    /// Blocks are packed into one passage until it reaches about this many words.
    pub target_words: usize,
    /// Hard limit in model tokens (special tokens included).
    pub max_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            target_words: 120,
            max_tokens: 256,
        }
    }
}

fn sha(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

/// Splits `doc` (found at `rel_path`) into passages. `count_tokens` gives a text's length in
/// model tokens. Every passage's text is `doc.text()[start..end]`.
pub fn chunk(
    doc: &Document,
    rel_path: &str,
    opts: ChunkOptions,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Passage> {
    let full = doc.text();
    // Group consecutive blocks of one section and page into spans of `full`, up to the target
    // size. `Document::text` puts each block on a line of its own, in order.
    let mut groups: Vec<(&Block, usize, usize, Option<u8>)> = Vec::new();
    let mut at = 0;
    let mut words_in_group = 0;
    for b in &doc.blocks {
        let (start, end) = (at, at + b.text.len());
        at = end + 1;
        let words = b.text.split_whitespace().count();
        match groups.last_mut() {
            Some((first, _, gend, ocr))
                if first.headings == b.headings
                    && first.page == b.page
                    && words_in_group + words <= opts.target_words =>
            {
                *gend = end;
                *ocr = match (*ocr, b.ocr_confidence) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                words_in_group += words;
            }
            _ => {
                groups.push((b, start, end, b.ocr_confidence));
                words_in_group = words;
            }
        }
    }

    let mut out = Vec::new();
    for (first, start, end, ocr_confidence) in groups {
        for (s, e) in fit(&full, start, end, opts.max_tokens, count_tokens) {
            let piece = &full[s..e];
            if is_boilerplate(piece) {
                continue;
            }
            let normalised = normalise_space(piece);
            let content = sha(&[&normalised]);
            let id_bytes = sha(&[rel_path, &out.len().to_string(), &normalised]);
            out.push(Passage {
                id: u64::from_le_bytes(id_bytes[..8].try_into().unwrap()) >> 1,
                content_hash: content[..16].iter().map(|b| format!("{b:02x}")).collect(),
                document: rel_path.to_string(),
                title: doc.title.clone(),
                headings: first.headings.clone(),
                page: first.page,
                format: doc.format,
                text: piece.to_string(),
                start: s,
                end: e,
                ocr_confidence,
            });
        }
    }
    out
}

/// A passage with nothing to say: a lone page number, a contents heading, a rule of dashes.
fn is_boilerplate(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    let wordy = words
        .iter()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count();
    if wordy == 0 {
        return true;
    }
    let lower = normalise_space(text).to_lowercase();
    let lower = lower.trim_end_matches(['.', ':']);
    matches!(
        lower,
        "contents" | "table of contents" | "page" | "continued" | "intentionally left blank"
    ) || (words.len() <= 4
        && lower.starts_with("page ")
        && words[1..]
            .iter()
            .all(|w| w.chars().all(|c| c.is_ascii_digit()) || *w == "of"))
}

/// `[start, end)` of `text` trimmed of surrounding whitespace.
fn trim(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let trimmed = slice.trim();
    (!trimmed.is_empty()).then(|| (start + lead, start + lead + trimmed.len()))
}

/// Splits the span `[start, end)` of `text` into spans of at most `max_tokens`: at line
/// breaks, then sentence ends, then between words.
fn fit(
    text: &str,
    start: usize,
    end: usize,
    max_tokens: usize,
    count: &dyn Fn(&str) -> usize,
) -> Vec<(usize, usize)> {
    let Some((start, end)) = trim(text, start, end) else {
        return Vec::new();
    };
    if count(&text[start..end]) <= max_tokens {
        return vec![(start, end)];
    }
    let span = &text[start..end];
    let mut units: Vec<(usize, usize)> = Vec::new();
    let mut cut = |from: usize, to: usize| {
        if let Some(u) = trim(text, from, to) {
            units.push(u);
        }
    };
    if span.contains('\n') {
        let mut from = start;
        for (i, _) in span.match_indices('\n') {
            cut(from, start + i);
            from = start + i + 1;
        }
        cut(from, end);
    } else {
        let mut from = start;
        for (i, c) in span.char_indices() {
            if matches!(c, '.' | '!' | '?' | ';') && span.as_bytes().get(i + 1) == Some(&b' ') {
                cut(from, start + i + 1);
                from = start + i + 1;
            }
        }
        cut(from, end);
        if units.len() <= 1 {
            // One endless sentence: halve it at the whitespace nearest the middle.
            let mid = start + span.len() / 2;
            let split = span
                .char_indices()
                .filter(|(_, c)| c.is_whitespace())
                .map(|(i, _)| start + i)
                .min_by_key(|&i| i.abs_diff(mid));
            let Some(split) = split else {
                return vec![(start, end)]; // one giant token run: the model truncates it
            };
            units = [trim(text, start, split), trim(text, split, end)]
                .into_iter()
                .flatten()
                .collect();
        }
    }
    let mut out = Vec::new();
    let mut cur: Option<(usize, usize)> = None;
    for (us, ue) in units {
        match cur {
            Some((cs, _)) if count(&text[cs..ue]) <= max_tokens => cur = Some((cs, ue)),
            _ => {
                out.extend(cur.take());
                if count(&text[us..ue]) <= max_tokens {
                    cur = Some((us, ue));
                } else {
                    out.extend(fit(text, us, ue, max_tokens, count));
                }
            }
        }
    }
    out.extend(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse::parse_markdown;

    fn words(s: &str) -> usize {
        s.split_whitespace().count() + 2
    }

    #[test]
    fn passages_stay_inside_sections() {
        let md = "# P\n\n## A\n\none two.\n\nthree four.\n\n## B\n\nfive six.\n";
        let d = parse_markdown(md, "p");
        let ps = chunk(&d, "p.md", ChunkOptions::default(), &words);
        let got: Vec<(String, &str)> = ps
            .iter()
            .map(|p| (p.heading_path(), p.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("P › A".into(), "one two.\nthree four."),
                ("P › B".into(), "five six.")
            ]
        );
        assert_ne!(ps[0].id, ps[1].id);
    }

    #[test]
    fn long_text_is_split_under_the_token_limit() {
        let sentence = "The model is validated before release by an independent team. ";
        let md = format!(
            "# P\n\n{}\n\n{}\n",
            sentence.repeat(30),
            "word ".repeat(500)
        );
        let d = parse_markdown(&md, "p");
        let opts = ChunkOptions {
            target_words: 120,
            max_tokens: 64,
        };
        let ps = chunk(&d, "p.md", opts, &words);
        assert!(ps.len() > 10);
        for p in &ps {
            assert!(
                words(&p.text) <= 64,
                "{} tokens: {}",
                words(&p.text),
                p.text
            );
        }
        // Nothing is lost: the words come back out in order.
        let all: Vec<&str> = ps.iter().flat_map(|p| p.text.split_whitespace()).collect();
        let src: Vec<&str> = d
            .blocks
            .iter()
            .flat_map(|b| b.text.split_whitespace())
            .collect();
        assert_eq!(all, src);
    }

    #[test]
    fn content_hash_ignores_location_but_id_does_not() {
        let d = parse_markdown("# T\n\nSame   text here.", "t");
        let a = chunk(&d, "a.md", ChunkOptions::default(), &words);
        let b = chunk(&d, "moved/b.md", ChunkOptions::default(), &words);
        assert_eq!(a[0].content_hash, b[0].content_hash);
        assert_ne!(a[0].id, b[0].id);
    }

    #[test]
    fn boilerplate_passages_are_dropped() {
        let md = "# T\n\n## Contents\n\nTable of Contents\n\n## 1 Scope\n\nPage 3 of 9\n\n## 2 Body\n\nThe policy applies to all staff.\n\n## 3\n\n12\n";
        let d = parse_markdown(md, "t");
        let ps = chunk(&d, "t.md", ChunkOptions::default(), &words);
        let texts: Vec<&str> = ps.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, vec!["The policy applies to all staff."]);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::ingest::parse::{Block, BlockKind};

        fn word() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z]{1,12}",
                "[A-Z][a-z]{0,9}[.;]",
                Just("café".to_string()),
                Just("naïve—“quoted”".to_string()),
                "[0-9]{1,4}",
            ]
        }

        fn block() -> impl Strategy<Value = Block> {
            (
                0usize..3,
                prop::collection::vec(word(), 1..80),
                any::<bool>(),
                0u32..3,
            )
                .prop_map(|(h, words, newline, page)| {
                    let sep = if newline { "\n" } else { " " };
                    Block {
                        headings: (0..h).map(|i| format!("H{i}")).collect(),
                        kind: BlockKind::Paragraph,
                        text: words.join(sep),
                        page: Some(page),
                        ocr_confidence: None,
                    }
                })
        }

        fn document() -> impl Strategy<Value = Document> {
            prop::collection::vec(block(), 0..12).prop_map(|blocks| Document {
                title: "T".into(),
                format: Format::Text,
                blocks,
                metadata: Vec::new(),
            })
        }

        /// A stand-in tokenizer: one token a word, plus one per 4 bytes of long words.
        fn tokens(s: &str) -> usize {
            2 + s.split_whitespace().map(|w| 1 + w.len() / 4).sum::<usize>()
        }

        proptest! {
            #[test]
            fn offsets_slice_the_passage_out_of_the_document(doc in document(), max in 8usize..64) {
                let full = doc.text();
                let opts = ChunkOptions { target_words: 30, max_tokens: max };
                for p in chunk(&doc, "d.txt", opts, &tokens) {
                    prop_assert_eq!(&full[p.start..p.end], p.text.as_str());
                }
            }

            #[test]
            fn no_passage_exceeds_the_token_limit(doc in document(), max in 8usize..64) {
                let opts = ChunkOptions { target_words: 30, max_tokens: max };
                for p in chunk(&doc, "d.txt", opts, &tokens) {
                    // A single word longer than the limit cannot be split; the model truncates it.
                    let one_word = p.text.split_whitespace().count() == 1;
                    prop_assert!(one_word || tokens(&p.text) <= max, "{} tokens: {:?}", tokens(&p.text), p.text);
                }
            }

            #[test]
            fn same_input_same_ids_and_no_words_lost(doc in document()) {
                let a = chunk(&doc, "d.txt", ChunkOptions::default(), &tokens);
                let b = chunk(&doc, "d.txt", ChunkOptions::default(), &tokens);
                prop_assert_eq!(a.iter().map(|p| p.id).collect::<Vec<_>>(), b.iter().map(|p| p.id).collect::<Vec<_>>());
                // Only boilerplate (no word of two letters) may be dropped.
                let kept: usize = a.iter().map(|p| p.text.split_whitespace().count()).sum();
                let wordy: usize = doc.blocks.iter().map(|b| b.text.split_whitespace().count()).sum();
                prop_assert!(kept <= wordy);
                for p in &a {
                    prop_assert!(!is_boilerplate(&p.text));
                }
            }
        }
    }
}
