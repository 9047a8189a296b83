//! Pages without a text layer (scans, or pages whose content is one image) read by OCR:
//! Poppler's `pdftoppm` renders the page at 300 dpi in grey, Tesseract reads it
//! (`tesseract … tsv`: every word with its box, line, paragraph and confidence), and the
//! words become paragraphs, list items and headings like a text page's. Both are the
//! maintained tools for the job; Debian packages them (`tesseract-ocr`, `tesseract-ocr-eng`,
//! `poppler-utils`), and `scripts/test` and `scripts/quickstart` install them.
//!
//! This runs in the parse worker, so `--parse-timeout` bounds it: the worker leads a process
//! group, and the whole group (Tesseract included) is killed at the limit.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use super::{Block, BlockKind, HeadingPath, is_bullet, is_numbered_heading, normalise_space};

/// Whether scanned pages are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ocr {
    /// With Tesseract when it is installed; a scan fails, saying how to install it, when not.
    #[default]
    Auto,
    /// Never (`--no-ocr`): a scan fails, saying OCR is off.
    Off,
}

/// Resolution pages are rendered at: Tesseract reads best at about 300 dpi.
const DPI: &str = "300";

/// How to install what OCR needs, for messages.
pub const INSTALL_HINT: &str = "install Tesseract and Poppler (Debian and Ubuntu: apt-get install tesseract-ocr tesseract-ocr-eng poppler-utils)";

/// Why OCR cannot run here, or `None` when it can (looked up once per process).
pub fn unavailable() -> Option<&'static str> {
    static CHECK: OnceLock<Option<String>> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            let runs = |program: &str, arg: &str| {
                Command::new(program)
                    .arg(arg)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok()
            };
            if !runs("tesseract", "--version") {
                return Some(format!("Tesseract is not installed: {INSTALL_HINT}"));
            }
            if !runs("pdftoppm", "-v") {
                return Some(format!("pdftoppm is not installed: {INSTALL_HINT}"));
            }
            let langs = Command::new("tesseract")
                .arg("--list-langs")
                .stdin(Stdio::null())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            if !langs.lines().any(|l| l.trim() == "eng") {
                return Some(format!(
                    "Tesseract has no English language data: {INSTALL_HINT}"
                ));
            }
            None
        })
        .as_deref()
}

/// A folder removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Self> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "controlmap-ocr-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a tool, its output on success, what it said on failure.
fn run(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let out = cmd
        .stdin(Stdio::null())
        // One thread each: the run already parses one file per core.
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let first = said
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(format!("{what} failed: {}", normalise_space(first)))
}

/// Below this mean word confidence (of 100) a page's OCR text is mostly wrong words (a
/// low-resolution or blurred scan): indexing it would put noise in search and mapping, so
/// the page is left unread. A file with no page read fails saying why; one with other
/// pages keeps those, and the unread page is not reported yet (parsing has no channel for
/// notes on a parsed file).
pub const MIN_PAGE_CONFIDENCE: u8 = 50;

/// What OCR made of a document's scanned pages.
#[derive(Debug, Default)]
pub struct Read {
    /// The blocks of the pages read, in page order.
    pub blocks: Vec<Block>,
    /// Pages whose text was too unsure to keep, with their mean confidence.
    pub unreadable: Vec<(u32, u8)>,
}

/// The blocks OCR reads on `pages` of the PDF in `bytes`, in page order.
pub fn read_pages(bytes: &[u8], pages: &[u32]) -> Result<Read, String> {
    let scratch = Scratch::new().map_err(|e| format!("cannot make a folder for OCR: {e}"))?;
    let pdf = scratch.0.join("in.pdf");
    std::fs::write(&pdf, bytes).map_err(|e| format!("cannot write a copy for OCR: {e}"))?;
    let mut read = Read::default();
    for &page in pages {
        let blocks = read_page(&pdf, &scratch.0, page)?;
        match page_confidence(&blocks) {
            Some(c) if c < MIN_PAGE_CONFIDENCE => read.unreadable.push((page, c)),
            _ => read.blocks.extend(blocks),
        }
    }
    Ok(read)
}

/// A page's mean confidence, each block weighted by its length.
fn page_confidence(blocks: &[Block]) -> Option<u8> {
    let (mut sum, mut weight) = (0u64, 0u64);
    for b in blocks {
        let n = b.text.len() as u64;
        sum += u64::from(b.ocr_confidence.unwrap_or(0)) * n;
        weight += n;
    }
    (weight > 0).then(|| (sum / weight) as u8)
}

fn read_page(pdf: &Path, dir: &Path, page: u32) -> Result<Vec<Block>, String> {
    let stem = dir.join(format!("p{page}"));
    let n = page.to_string();
    run(
        Command::new("pdftoppm")
            .args(["-r", DPI, "-gray", "-singlefile", "-f", &n, "-l", &n])
            .arg(pdf)
            .arg(&stem),
        "pdftoppm",
    )?;
    // PGM, not PNG: compressing a 300 dpi page costs pdftoppm 2 s, writing it raw 0.1 s.
    let image = stem.with_extension("pgm");
    let tsv = run(
        Command::new("tesseract")
            .arg(&image)
            .args(["stdout", "-l", "eng", "--psm", "3", "tsv"]),
        "tesseract",
    )?;
    let _ = std::fs::remove_file(&image);
    Ok(blocks_of(&String::from_utf8_lossy(&tsv), page))
}

/// One word of Tesseract's TSV.
#[derive(Debug, Clone)]
struct Word {
    height: u32,
    conf: f32,
    text: String,
}

/// "AI" read as "Al": in the sans-serif faces most policies are set in, a capital I and a
/// small l are the same stroke, and Tesseract's English model prefers the letters of a
/// word it knows. A word that is exactly "Al" (or "Al-based", "(Al)") in a policy is
/// almost always the abbreviation, and a search for "AI" must find it.
fn sans_serif_ai(word: &str) -> String {
    let start = word.find(|c: char| c.is_alphanumeric()).unwrap_or(0);
    let core = &word[start..];
    let letters = core
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    if letters == "Al" {
        format!("{}AI{}", &word[..start], &core[2..])
    } else {
        word.to_string()
    }
}

/// Tesseract's TSV (level, page, block, paragraph, line, word, left, top, width, height,
/// confidence, text) into blocks: one per paragraph, a short line set larger than the page's
/// usual line, or numbered like "4.2 Scope", is a heading.
fn blocks_of(tsv: &str, page: u32) -> Vec<Block> {
    // (block, paragraph) → lines → words, in Tesseract's reading order.
    let mut paras: BTreeMap<(u32, u32), BTreeMap<u32, Vec<Word>>> = BTreeMap::new();
    for row in tsv.lines().skip(1) {
        let c: Vec<&str> = row.split('\t').collect();
        if c.len() < 12 || c[0] != "5" {
            continue;
        }
        let num = |i: usize| c[i].parse::<u32>().unwrap_or(0);
        let text = c[11].trim();
        let conf = c[10].parse::<f32>().unwrap_or(-1.0);
        if text.is_empty() || conf < 0.0 {
            continue;
        }
        paras
            .entry((num(2), num(3)))
            .or_default()
            .entry(num(4))
            .or_default()
            .push(Word {
                height: num(9),
                conf,
                text: sans_serif_ai(text),
            });
    }
    let line_height = |words: &[Word]| {
        let mut h: Vec<u32> = words.iter().map(|w| w.height).collect();
        h.sort_unstable();
        h[h.len() / 2]
    };
    let mut all: Vec<u32> = paras
        .values()
        .flat_map(|lines| lines.values().map(|w| line_height(w)))
        .collect();
    all.sort_unstable();
    let usual = all.get(all.len() / 2).copied().unwrap_or(0) as f32;

    let mut headings = HeadingPath::default();
    let mut blocks = Vec::new();
    for lines in paras.values() {
        let mut text = String::new();
        for words in lines.values() {
            let line = words
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            // A word broken at the line's end joins its other half.
            if text.ends_with('-') && line.starts_with(|c: char| c.is_lowercase()) {
                text.pop();
            } else if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&line);
        }
        let words: Vec<&Word> = lines.values().flatten().collect();
        let conf = words.iter().map(|w| w.conf).sum::<f32>() / words.len().max(1) as f32;
        let tall = lines
            .values()
            .next()
            .is_some_and(|w| line_height(w) as f32 >= usual * 1.25);
        let heading_shape =
            lines.len() == 1 && text.chars().count() <= 80 && !text.ends_with(['.', ',', ';', ':']);
        if heading_shape && (tall || is_numbered_heading(&text)) {
            // A larger line is the page's title; numbered headings sit below it by depth.
            let level = if tall {
                1
            } else {
                text.split_whitespace()
                    .next()
                    .map_or(2, |n| n.trim_end_matches('.').split('.').count() as u32 + 1)
            };
            headings.push(level, text);
            continue;
        }
        let (kind, text) = if is_bullet(&text) {
            (
                BlockKind::ListItem,
                text[text.find(' ').unwrap_or(0)..].trim().to_string(),
            )
        } else {
            (BlockKind::Paragraph, text)
        };
        blocks.push(Block {
            headings: headings.path(),
            kind,
            text,
            page: Some(page),
            ocr_confidence: Some(conf.round().clamp(0.0, 100.0) as u8),
        });
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(block: u32, par: u32, line: u32, height: u32, conf: f32, text: &str) -> String {
        format!("5\t1\t{block}\t{par}\t{line}\t1\t0\t0\t10\t{height}\t{conf}\t{text}")
    }

    #[test]
    fn al_is_read_as_ai() {
        for (read, meant) in [
            ("Al", "AI"),
            ("(Al)", "(AI)"),
            ("Al-based", "AI-based"),
            ("Al,", "AI,"),
            ("Alistair", "Alistair"),
            ("Also", "Also"),
            ("al", "al"),
            ("Al2O3", "Al2O3"),
        ] {
            assert_eq!(sans_serif_ai(read), meant);
        }
    }

    #[test]
    fn tesseract_words_become_headings_and_paragraphs() {
        let mut tsv = vec!["level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext".to_string()];
        for w in ["AI", "Bulletin"] {
            tsv.push(row(1, 1, 1, 60, 95.0, w));
        }
        for (line, words) in [
            (1, "Staff must not paste cus-"),
            (2, "tomer data into public tools."),
        ] {
            for w in words.split(' ') {
                tsv.push(row(2, 1, line, 30, 90.0, w));
            }
        }
        tsv.push("4\t1\t2\t1\t3\t0\t0\t0\t0\t0\t-1\t".to_string());
        for w in ["2.", "Approved", "tools"] {
            tsv.push(row(3, 1, 1, 30, 80.0, w));
        }
        for w in ["•", "Use", "the", "approved", "assistant."] {
            tsv.push(row(4, 1, 1, 30, 70.0, w));
        }
        let blocks = blocks_of(&tsv.join("\n"), 2);
        let got: Vec<(Vec<String>, BlockKind, &str, Option<u8>)> = blocks
            .iter()
            .map(|b| {
                (
                    b.headings.clone(),
                    b.kind,
                    b.text.as_str(),
                    b.ocr_confidence,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    vec!["AI Bulletin".to_string()],
                    BlockKind::Paragraph,
                    "Staff must not paste customer data into public tools.",
                    Some(90)
                ),
                (
                    vec!["AI Bulletin".to_string(), "2. Approved tools".to_string()],
                    BlockKind::ListItem,
                    "Use the approved assistant.",
                    Some(70)
                ),
            ]
        );
        assert!(blocks.iter().all(|b| b.page == Some(2)));
    }
}
