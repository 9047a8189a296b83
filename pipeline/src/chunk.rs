//! Splitting a parsed document into passages: a passage stays inside one section (and page),
//! packs consecutive blocks up to a target size, and never exceeds the model's token limit.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::parse::{Document, Format, normalise_space};

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
/// model tokens.
pub fn chunk(
    doc: &Document,
    rel_path: &str,
    opts: ChunkOptions,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Passage> {
    let mut texts: Vec<(Vec<String>, Option<u32>, String)> = Vec::new();
    let mut current: Option<(Vec<String>, Option<u32>, String)> = None;
    for b in &doc.blocks {
        let words = b.text.split_whitespace().count();
        match &mut current {
            Some((h, p, text))
                if *h == b.headings
                    && *p == b.page
                    && text.split_whitespace().count() + words <= opts.target_words =>
            {
                text.push('\n');
                text.push_str(&b.text);
            }
            _ => {
                texts.extend(current.take());
                current = Some((b.headings.clone(), b.page, b.text.clone()));
            }
        }
    }
    texts.extend(current);

    let mut out = Vec::new();
    for (headings, page, text) in texts {
        for piece in fit(&text, opts.max_tokens, count_tokens) {
            let normalised = normalise_space(&piece);
            let content = sha(&[&normalised]);
            let id_bytes = sha(&[rel_path, &out.len().to_string(), &normalised]);
            out.push(Passage {
                id: u64::from_le_bytes(id_bytes[..8].try_into().unwrap()) >> 1,
                content_hash: content[..16].iter().map(|b| format!("{b:02x}")).collect(),
                document: rel_path.to_string(),
                title: doc.title.clone(),
                headings: headings.clone(),
                page,
                format: doc.format,
                text: piece,
            });
        }
    }
    out
}

/// Splits `text` into pieces of at most `max_tokens`: at line breaks, then sentence ends,
/// then words.
fn fit(text: &str, max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Vec<String> {
    if count(text) <= max_tokens {
        return vec![text.to_string()];
    }
    let units: Vec<String> = if text.contains('\n') {
        text.lines().map(str::to_string).collect()
    } else {
        let sentences = split_sentences(text);
        if sentences.len() > 1 {
            sentences
        } else {
            // One endless sentence: halve it by words until each half fits.
            let words: Vec<&str> = text.split_whitespace().collect();
            if words.len() <= 1 {
                return vec![text.to_string()]; // a single giant token run; the model truncates it
            }
            let mid = words.len() / 2;
            vec![words[..mid].join(" "), words[mid..].join(" ")]
        }
    };
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for u in units {
        let joined = if cur.is_empty() {
            u.clone()
        } else {
            format!("{cur}\n{u}")
        };
        if count(&joined) <= max_tokens {
            cur = joined;
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if count(&u) <= max_tokens {
                cur = u;
            } else {
                out.extend(fit(&u, max_tokens, count));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | ';') && bytes.get(i + 1) == Some(&b' ') {
            out.push(text[start..=i].trim().to_string());
            start = i + 1;
        }
    }
    if start < text.len() && !text[start..].trim().is_empty() {
        out.push(text[start..].trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_markdown;

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
}
