//! PDF through pdf-extract (on lopdf): the positioned glyphs of each page become lines,
//! lines become paragraphs, and every block knows its page. Running headers, footers and
//! page numbers (lines at the top or bottom of most pages that match once digits are
//! ignored) are dropped; words hyphenated at a line end are joined; short lines set in a
//! larger size, or numbered like "4.2 Scope", become headings.
//!
//! Encrypted PDFs that need a password and PDFs without a text layer (scans) fail with a
//! reason that says so; OCR is not attempted.

use std::collections::HashMap;

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use super::{
    Block, BlockKind, Document, Format, HeadingPath, NotParsed, normalise_space,
    text::text_heading_level,
};

/// One glyph (or a run pdf-extract reports as one), in page space with y growing down.
#[derive(Debug, Clone)]
struct Glyph {
    x: f64,
    y: f64,
    /// Right edge.
    end: f64,
    size: f64,
    text: String,
}

/// Collects the glyphs of every page.
#[derive(Default)]
struct Collector {
    pages: Vec<Page>,
    current: Vec<Glyph>,
    height: f64,
}

struct Page {
    number: u32,
    height: f64,
    glyphs: Vec<Glyph>,
}

impl Collector {
    fn start(&mut self, media_box: &MediaBox) {
        self.current.clear();
        self.height = media_box.ury - media_box.lly;
    }
}

impl OutputDev for Collector {
    fn begin_page(
        &mut self,
        _page_num: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.start(media_box);
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        // The text rendering matrix maps glyph space to the page; its translation is the
        // glyph's origin, its scale the rendered size (as pdf-extract's PlainTextOutput).
        let (sx, sy) = (
            font_size * trm.m11 + font_size * trm.m21,
            font_size * trm.m12 + font_size * trm.m22,
        );
        let size = (sx * sy).abs().sqrt();
        if !size.is_finite() || !trm.m31.is_finite() || !trm.m32.is_finite() {
            return Ok(());
        }
        self.current.push(Glyph {
            x: trm.m31,
            y: self.height - trm.m32,
            end: trm.m31 + width * size,
            size,
            text: char.to_string(),
        });
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// A line of text on a page.
#[derive(Debug, Clone)]
struct Line {
    x: f64,
    end: f64,
    y: f64,
    size: f64,
    text: String,
}

/// Says what to do next: the file is fine, controlmap just cannot open it.
fn encrypted(detail: &str) -> NotParsed {
    NotParsed::Failed(format!(
        "encrypted PDF: {detail}; save an unprotected copy, or list it in .controlmapignore"
    ))
}

/// Parses a PDF's bytes.
pub fn parse_pdf(bytes: &[u8], fallback_title: &str) -> Result<Document, NotParsed> {
    let mut doc = match pdf_extract::Document::load_mem(bytes) {
        Ok(d) => d,
        Err(e) if has_encrypt_dictionary(bytes) => {
            return Err(encrypted(&format!("it cannot be opened ({e})")));
        }
        Err(e) => return Err(NotParsed::Failed(format!("corrupt PDF: {e}"))),
    };
    if doc.is_encrypted() {
        // Files with only an owner password open with the empty user password.
        if doc.decrypt("").is_err() {
            return Err(encrypted("a password is needed to open it"));
        }
    }
    let page_ids = doc.get_pages();
    if page_ids.is_empty() {
        return Err(NotParsed::Failed("corrupt PDF: no pages found".into()));
    }
    let mut collector = Collector::default();
    let mut first_error = None;
    for &number in page_ids.keys() {
        // pdf-extract panics on many malformed inputs; one bad page should cost that page.
        let page = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pdf_extract::output_doc_page(&doc, &mut collector, number)
        }));
        let error = match page {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(panic) => Some(format!(
                "the PDF reader crashed ({})",
                super::panic_message(&*panic)
            )),
        };
        if let Some(e) = error {
            first_error.get_or_insert((number, e));
        }
        collector.pages.push(Page {
            number,
            height: collector.height,
            glyphs: std::mem::take(&mut collector.current),
        });
    }
    let pages = collector.pages;
    let glyphs: usize = pages.iter().map(|p| p.glyphs.len()).sum();
    if glyphs == 0 {
        return Err(match first_error {
            Some((page, e)) => NotParsed::Failed(format!("corrupt PDF: page {page}: {e}")),
            None => NotParsed::Failed(format!(
                "no text layer: {} (a scan?); OCR is not supported",
                match pages.len() {
                    1 => "its one page is only an image".to_string(),
                    n => format!("its {n} pages are only images"),
                }
            )),
        });
    }
    let title = info_title(&doc);
    Ok(build_document(pages, title, fallback_title))
}

/// A trailer `/Encrypt` entry, for files lopdf refuses to load.
fn has_encrypt_dictionary(bytes: &[u8]) -> bool {
    bytes.windows(8).any(|w| w == b"/Encrypt")
}

/// The `/Title` of the document information dictionary, when it is a real title.
fn info_title(doc: &pdf_extract::Document) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = match info {
        pdf_extract::Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        pdf_extract::Object::Dictionary(d) => d,
        _ => return None,
    };
    let raw = info.get(b"Title").ok()?.as_str().ok()?;
    let title = normalise_space(&pdf_string(raw));
    let generic = ["untitled", "microsoft word", "document"];
    (!title.is_empty()
        && !title.ends_with(".docx")
        && !generic.iter().any(|g| title.to_lowercase().starts_with(g)))
    .then_some(title)
}

/// A PDF text string: UTF-16BE with a BOM, else PDFDocEncoding (Latin-1 for our purposes).
fn pdf_string(raw: &[u8]) -> String {
    if let Some(rest) = raw.strip_prefix(b"\xFE\xFF") {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    raw.iter().map(|&b| char::from(b)).collect()
}

/// Ligatures some fonts map to one code point, spelled out so words match.
fn expand_ligatures(s: &str) -> String {
    if !s.chars().any(|c| ('\u{FB00}'..='\u{FB06}').contains(&c)) {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            '\u{FB00}' => "ff".to_string(),
            '\u{FB01}' => "fi".to_string(),
            '\u{FB02}' => "fl".to_string(),
            '\u{FB03}' => "ffi".to_string(),
            '\u{FB04}' => "ffl".to_string(),
            '\u{FB05}' | '\u{FB06}' => "st".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Glyphs in content-stream order into lines: a glyph continues the line when it sits on
/// the same baseline, to the right of (or just overlapping) the previous one.
fn lines_of(glyphs: &[Glyph]) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for g in glyphs {
        if g.text.is_empty() {
            continue;
        }
        let text = expand_ligatures(&g.text);
        if let Some(l) = lines.last_mut() {
            let same_baseline = (g.y - l.y).abs() <= 0.4 * l.size.max(g.size);
            // Wider gaps separate table cells or columns that share a baseline; a list
            // marker is followed by an indent.
            let reach = if is_list_marker(&l.text) { 6.0 } else { 1.2 };
            let onward = g.x >= l.end - 0.5 * g.size && g.x <= l.end + reach * g.size;
            if same_baseline && onward {
                let gap = g.x - l.end;
                if gap > 0.15 * g.size && !l.text.ends_with(' ') && !text.starts_with(' ') {
                    l.text.push(' ');
                }
                l.text.push_str(&text);
                l.end = l.end.max(g.end);
                l.size = l.size.max(g.size);
                continue;
            }
        }
        if text.trim().is_empty() {
            continue;
        }
        lines.push(Line {
            x: g.x,
            end: g.end,
            y: g.y,
            size: g.size,
            text,
        });
    }
    for l in &mut lines {
        l.text = normalise_space(&l.text);
    }
    lines.retain(|l| !l.text.is_empty());
    lines
}

/// Text streams written out of order (bottom first, scattered) are put top to bottom;
/// streams already in reading order, including table cells written cell by cell, are kept.
fn reading_order(mut lines: Vec<Line>) -> Vec<Line> {
    let upward = lines
        .windows(2)
        .filter(|w| {
            let overlap = w[1].x < w[0].end && w[0].x < w[1].end;
            overlap && w[1].y < w[0].y - 2.0 * w[0].size
        })
        .count();
    if lines.len() > 4 && upward * 3 > lines.len() {
        lines.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    }
    lines
}

/// The key under which running headers and footers repeat: digits do not count, so
/// "Page 3 of 4" and "Page 4 of 4" match.
fn running_key(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// A line that is only a page number: "7", "- 7 -", "Page 7", "Page 7 of 9", "7/9".
fn is_page_number(text: &str) -> bool {
    let t = text
        .trim()
        .trim_matches(|c: char| c == '-' || c == '–' || c.is_whitespace());
    let t = t
        .strip_prefix("Page ")
        .or_else(|| t.strip_prefix("page "))
        .unwrap_or(t);
    let mut parts = t.split(" of ").flat_map(|p| p.split('/'));
    parts.all(|p| {
        let p = p.trim();
        !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit())
    })
}

/// How many lines at each end of a page may be running headers or footers.
const MARGIN_LINES: usize = 3;

/// Drops running headers and footers: lines near the top or bottom of a page whose key
/// occurs in the same band on at least half the pages (and on two at least), and lone
/// page numbers there.
fn drop_running_lines(pages: &mut [(u32, f64, Vec<Line>)]) {
    let in_band = |lines: &[Line], i: usize, height: f64| {
        let l = &lines[i];
        let top = i < MARGIN_LINES && l.y < height * 0.15;
        let bottom = i + MARGIN_LINES >= lines.len() && l.y > height * 0.85;
        top || bottom
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (_, height, lines) in pages.iter() {
        let mut seen: Vec<String> = Vec::new();
        for i in 0..lines.len() {
            if in_band(lines, i, *height) {
                let k = running_key(&lines[i].text);
                if !seen.contains(&k) {
                    seen.push(k);
                }
            }
        }
        for k in seen {
            *counts.entry(k).or_default() += 1;
        }
    }
    let needed = (pages.len() / 2).max(2);
    for (_, height, lines) in pages.iter_mut() {
        let keep: Vec<bool> = (0..lines.len())
            .map(|i| {
                if !in_band(lines, i, *height) {
                    return true;
                }
                let repeated = counts
                    .get(&running_key(&lines[i].text))
                    .copied()
                    .unwrap_or(0)
                    >= needed;
                !(repeated || is_page_number(&lines[i].text))
            })
            .collect();
        let mut k = keep.iter();
        lines.retain(|_| *k.next().unwrap_or(&true));
    }
}

/// Words in the document, to decide how to join a word split at a line end.
fn vocabulary(pages: &[(u32, f64, Vec<Line>)]) -> HashMap<String, usize> {
    let mut words = HashMap::new();
    for (_, _, lines) in pages {
        for l in lines {
            for w in l.text.split_whitespace() {
                let w = w
                    .trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
                    .to_lowercase();
                if !w.is_empty() {
                    *words.entry(w).or_default() += 1;
                }
            }
        }
    }
    words
}

/// Appends `next` to a paragraph's text, joining a word hyphenated at the line end: the
/// hyphen goes when the document spells the word without it elsewhere, or when it splits
/// a lower-case word the document never spells with a hyphen; otherwise it stays
/// ("NCS-3", "risk-based") and only the line break goes.
fn join_line(text: &mut String, next: &str, vocab: &HashMap<String, usize>) {
    if let Some(stem) = text.strip_suffix('\u{AD}') {
        let stem_len = stem.len();
        text.truncate(stem_len);
        text.push_str(next);
        return;
    }
    let ends_hyphen = text.ends_with('-') || text.ends_with('\u{2010}');
    let before = text.trim_end_matches(['-', '\u{2010}']).chars().last();
    if ends_hyphen && before.is_some_and(char::is_alphanumeric) {
        let head: String = text
            .trim_end_matches(['-', '\u{2010}'])
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .trim_start_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let tail: String = next
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let joined = vocab.contains_key(&format!("{head}{tail}"));
        let hyphenated = vocab.contains_key(&format!("{head}-{tail}"));
        let lower_split = before.is_some_and(char::is_lowercase)
            && next.chars().next().is_some_and(char::is_lowercase);
        if joined || (lower_split && !hyphenated) {
            let cut = text.trim_end_matches(['-', '\u{2010}']).len();
            text.truncate(cut);
        }
        text.push_str(next);
        return;
    }
    text.push(' ');
    text.push_str(next);
}

/// A paragraph being built.
struct Para {
    page: u32,
    lines: usize,
    size: f64,
    /// Baseline of the first line, and the horizontal extent of all lines.
    top: f64,
    x0: f64,
    x1: f64,
    last: Line,
    text: String,
}

/// Lines into paragraphs: a line continues the paragraph when it is the next line down
/// (at most about one and a half line heights below), overlaps it horizontally and is set
/// in the same size.
fn paragraphs(pages: &[(u32, f64, Vec<Line>)], vocab: &HashMap<String, usize>) -> Vec<Para> {
    let mut out: Vec<Para> = Vec::new();
    for (number, _, lines) in pages {
        let mut current: Option<Para> = None;
        for l in lines {
            if let Some(p) = &mut current {
                let dy = l.y - p.last.y;
                let close = dy > 0.3 * l.size && dy <= 1.6 * p.last.size.max(l.size);
                let overlap = l.x < p.last.end && p.last.x < l.end;
                let same_size = (l.size - p.size).abs() <= 0.12 * p.size;
                // A numbered clause ("4.2 The owner …") starts a paragraph of its own.
                let new_clause = starts_clause(&l.text) || is_bullet(&l.text);
                if close && overlap && same_size && !new_clause {
                    join_line(&mut p.text, &l.text, vocab);
                    p.lines += 1;
                    p.x0 = p.x0.min(l.x);
                    p.x1 = p.x1.max(l.end);
                    p.last = l.clone();
                    continue;
                }
            }
            out.extend(current.take());
            current = Some(Para {
                page: *number,
                lines: 1,
                size: l.size,
                top: l.y,
                x0: l.x,
                x1: l.end,
                last: l.clone(),
                text: l.text.clone(),
            });
        }
        out.extend(current);
    }
    out
}

/// A paragraph, or the cells of one table row.
enum Unit {
    Para(Para),
    Row(Vec<Para>),
}

/// Table rows from paragraphs: consecutive paragraphs on one page that start on the same
/// baseline, each to the right of the one before, are the cells of a row (writers emit a
/// table row by row, cell by cell).
fn table_rows(paras: Vec<Para>) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let mut row: Vec<Para> = Vec::new();
    let flush = |row: &mut Vec<Para>, out: &mut Vec<Unit>| match row.len() {
        0 => {}
        1 => out.push(Unit::Para(row.pop().expect("one cell"))),
        _ => out.push(Unit::Row(std::mem::take(row))),
    };
    for p in paras {
        let continues = row.last().is_some_and(|prev| {
            prev.page == p.page
                && (p.top - row[0].top).abs() <= 0.4 * p.size.max(prev.size)
                && p.x0 >= prev.x1 - 0.5 * p.size
        });
        if !continues {
            flush(&mut row, &mut out);
        }
        row.push(p);
    }
    flush(&mut row, &mut out);
    out
}

/// A line that starts a numbered clause or section: "4.2 The owner …", "3. Roles".
fn starts_clause(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let (Some(first), Some(second)) = (words.next(), words.next()) else {
        return false;
    };
    is_clause_number(first) && second.starts_with(|c: char| c.is_uppercase())
}

/// "4.2", "4.2.1", "12." — a clause number (a dot, parts of at most three digits, not a
/// decimal such as "0.80").
fn is_clause_number(word: &str) -> bool {
    let parts: Vec<&str> = word.strip_suffix('.').unwrap_or(word).split('.').collect();
    word.contains('.')
        && !word.starts_with("0")
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()))
}

/// The size most of the text is set in.
fn body_size(paras: &[Para]) -> f64 {
    let mut by_size: HashMap<i64, usize> = HashMap::new();
    for p in paras {
        *by_size.entry((p.size * 2.0).round() as i64).or_default() += p.text.len();
    }
    by_size
        .into_iter()
        .max_by_key(|&(s, n)| (n, -s))
        .map(|(s, _)| s as f64 / 2.0)
        .unwrap_or(10.0)
}

fn build_document(pages: Vec<Page>, info_title: Option<String>, fallback: &str) -> Document {
    let mut pages: Vec<(u32, f64, Vec<Line>)> = pages
        .into_iter()
        .map(|p| (p.number, p.height, reading_order(lines_of(&p.glyphs))))
        .collect();
    drop_running_lines(&mut pages);
    let vocab = vocabulary(&pages);
    let paras = paragraphs(&pages, &vocab);
    let body = body_size(&paras);

    // Heading sizes, largest first: an unnumbered heading's level is its size's rank.
    let is_heading_shape =
        |p: &Para| p.lines <= 2 && p.text.len() <= 120 && !p.text.ends_with(['.', ',', ';', ':']);
    let mut sizes: Vec<i64> = paras
        .iter()
        .filter(|p| is_heading_shape(p) && p.size >= body * 1.12)
        .map(|p| (p.size * 2.0).round() as i64)
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();

    let mut headings = HeadingPath::default();
    let mut blocks = Vec::new();
    let mut first_heading: Option<String> = None;
    for unit in table_rows(paras) {
        let p = match unit {
            Unit::Para(p) => p,
            Unit::Row(cells) => {
                blocks.push(Block {
                    headings: headings.path(),
                    kind: BlockKind::TableRow,
                    text: cells
                        .iter()
                        .map(|c| c.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" | "),
                    page: Some(cells[0].page),
                });
                continue;
            }
        };
        let larger = p.size >= body * 1.12;
        let numbered = text_heading_level(&p.text)
            .filter(|_| p.text.starts_with(|c: char| c.is_ascii_digit()));
        let level = if is_heading_shape(&p) && larger {
            let rank = sizes
                .iter()
                .position(|&s| s == (p.size * 2.0).round() as i64)
                .unwrap_or(0) as u32;
            Some(numbered.map(|n| n as u32).unwrap_or(rank))
        } else if p.lines == 1 && is_numbered_heading(&p.text) {
            numbered.map(|n| n as u32)
        } else {
            None
        };
        if let Some(level) = level {
            if first_heading.is_none() && blocks.is_empty() {
                first_heading = Some(p.text.clone());
            }
            headings.push(level, p.text);
            continue;
        }
        // A bullet marks a list item; like the other formats, the text leaves it out.
        let (kind, text) = if is_bullet(&p.text) {
            (
                BlockKind::ListItem,
                p.text[p.text.find(' ').unwrap_or(0)..].trim().to_string(),
            )
        } else {
            (BlockKind::Paragraph, p.text)
        };
        blocks.push(Block {
            headings: headings.path(),
            kind,
            text,
            page: Some(p.page),
        });
    }
    Document {
        title: info_title
            .or(first_heading)
            .unwrap_or_else(|| fallback.to_string()),
        format: Format::Pdf,
        blocks,
    }
}

/// A body-size line numbered like a section heading: "4.2 Scope", "3. Roles". Numbered
/// clauses ("4.1 The owner shall …") run on and end with a full stop, and table cells
/// ("1 Initiation") have no dot, so they do not match.
fn is_numbered_heading(text: &str) -> bool {
    let Some(first) = text.split_whitespace().next() else {
        return false;
    };
    let words = text.split_whitespace().count();
    first.chars().next().is_some_and(|c| c.is_ascii_digit())
        && first.contains('.')
        && words <= 8
        && !text.ends_with(':')
        && text_heading_level(text).is_some()
}

const BULLETS: &[char] = &[
    '•', '▪', '◦', '‣', '●', '○', '■', '□', '–', '-', '*', '·', '\u{F0B7}',
];

fn is_bullet(text: &str) -> bool {
    text.starts_with(BULLETS) && text.chars().nth(1) == Some(' ')
}

/// A bullet or a list number standing alone: "•", "1.", "a)", "(iv)".
fn is_list_marker(text: &str) -> bool {
    let t = text.trim();
    if t.chars().count() == 1 && t.starts_with(BULLETS) {
        return true;
    }
    let inner = t.strip_prefix('(').unwrap_or(t);
    let Some(inner) = inner.strip_suffix(['.', ')']) else {
        return false;
    };
    !inner.is_empty()
        && inner.len() <= 4
        && ((inner.len() <= 3 && inner.chars().all(|c| c.is_ascii_digit()))
            || inner.chars().all(|c| c.is_ascii_lowercase())
            || inner
                .chars()
                .all(|c| matches!(c, 'i' | 'v' | 'x' | 'I' | 'V' | 'X')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rel: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../corpora/sample-org")
            .join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn sample_pdf_has_pages_headings_and_no_running_lines() {
        let d = parse_pdf(
            &sample("engineering/model-development-and-validation-sop.pdf"),
            "x",
        )
        .unwrap();
        let pages: Vec<u32> = d.blocks.iter().filter_map(|b| b.page).collect();
        assert_eq!(pages.first(), Some(&1));
        assert_eq!(pages.iter().max(), Some(&4));
        assert!(pages.windows(2).all(|w| w[0] <= w[1]), "pages in order");
        let text = d.text();
        assert!(!text.contains("Uncontrolled when printed"), "footer kept");
        assert!(!text.contains("Page 2 of 4"), "page number kept");
        assert!(
            !text.contains("Northwind Lending Ltd | ENG-030"),
            "running header kept"
        );
        assert!(
            d.blocks
                .iter()
                .any(|b| b.headings.last().is_some_and(|h| h == "2. Scope")),
            "{:#?}",
            d.blocks
                .iter()
                .map(|b| b.headings.join(" › "))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn encrypted_scanned_and_broken_pdfs_fail_with_their_reason() {
        let r = parse_pdf(&sample("governance/board-ai-update-restricted.pdf"), "x").unwrap_err();
        assert!(r.reason().starts_with("encrypted PDF: "), "{r}");

        let r = parse_pdf(&sample("general/fire-evacuation-notice-scan.pdf"), "x").unwrap_err();
        assert!(
            r.reason().contains("no text layer") && r.reason().contains("OCR is not supported"),
            "{r}"
        );

        let good = sample("customer/customer-terms-digital-services.pdf");
        for cut in [good.len() / 3, good.len() / 2, good.len() - 200] {
            // Truncated files fail or yield what survives; they never panic.
            match parse_pdf(&good[..cut], "x") {
                Ok(d) => assert!(!d.blocks.is_empty()),
                Err(r) => assert!(matches!(r, NotParsed::Failed(_)), "{r}"),
            }
        }
        let mut scrambled = good.clone();
        for i in (good.len() / 4..good.len() / 2).step_by(7) {
            scrambled[i] ^= 0x5A;
        }
        let _ = parse_pdf(&scrambled, "x");
        let r = parse_pdf(b"%PDF-1.4\ngarbage", "x").unwrap_err();
        assert!(r.reason().starts_with("corrupt PDF: "), "{r}");
    }

    #[test]
    fn hyphenated_words_join_by_the_document_s_own_spelling() {
        let mut vocab = HashMap::new();
        vocab.insert("development".to_string(), 1);
        vocab.insert("risk-based".to_string(), 1);
        let join = |a: &str, b: &str| {
            let mut t = a.to_string();
            join_line(&mut t, b, &vocab);
            t
        };
        assert_eq!(
            join("model devel-", "opment starts"),
            "model development starts"
        );
        assert_eq!(join("a risk-", "based approach"), "a risk-based approach");
        assert_eq!(join("such as NCS-", "3, and"), "such as NCS-3, and");
        assert_eq!(join("under ENG-", "031"), "under ENG-031");
        assert_eq!(
            join("unknown hyphen-", "ation here"),
            "unknown hyphenation here"
        );
        assert_eq!(join("plain", "next"), "plain next");
    }

    #[test]
    fn page_numbers_and_running_keys() {
        for p in [
            "7",
            "- 7 -",
            "Page 7",
            "Page 7 of 9",
            "7/9",
            "page 12 of 140",
        ] {
            assert!(is_page_number(p), "{p}");
        }
        for p in ["7 days", "Page seven", "2024 results", "Section 4"] {
            assert!(!is_page_number(p), "{p}");
        }
        assert_eq!(
            running_key("ENG-030 | Page 3 of 4"),
            running_key("ENG-030 | Page 4 of 4")
        );
        assert!(starts_clause("4.2 The owner reviews it."));
        assert!(starts_clause("12. Records"));
        assert!(!starts_clause("0.80 for each tested group"));
        assert!(!starts_clause("4.2 percent of cases"));
        assert!(is_numbered_heading("4.2 Scope"));
        assert!(is_numbered_heading("3. Roles and responsibilities"));
        assert!(!is_numbered_heading("4.1 The owner shall review it."));
        assert!(!is_numbered_heading("4.2 An assessment shall be updated:"));
        for m in ["•", "1.", "a)", "(iv)", "12."] {
            assert!(is_list_marker(m), "{m}");
        }
        for m in ["1.1", "word", "2024."] {
            assert!(!is_list_marker(m), "{m}");
        }
        assert!(!is_numbered_heading(
            "2024 Annual figures and a longer line of words that runs on"
        ));
    }
}
