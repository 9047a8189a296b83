//! Reading policy files into structured text: blocks of text, each with the headings above
//! it (and its page, for PDF).
//!
//! One module per format ([`markdown`], [`text`], [`html`], [`docx`], [`pdf`]); this module
//! decides a file's format from its content (its extension only breaks ties between text
//! formats) and contains the parsers: a panic becomes a failure, and [`contain`] bounds the
//! time a parse may take, running risky formats (PDF, DOCX) in a worker process when the
//! `controlmap` binary is running. Chunking into passages is [`crate::ingest::chunk`]'s job.

pub mod contain;
pub mod docx;
pub mod html;
pub mod markdown;
pub mod metadata;
pub mod pdf;
pub mod text;

use std::{fmt, path::Path};

use serde::{Deserialize, Serialize};

use metadata::Fact;

pub use contain::{ParseOptions, parse_file_with};
pub use docx::parse_docx;
pub use html::{decode_html, parse_html};
pub use markdown::parse_markdown;
pub use pdf::{Ocr, parse_pdf};
pub use text::{decode_text, parse_text};

/// The formats controlmap recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Markdown,
    Text,
    Html,
    Docx,
    Pdf,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Pdf => "pdf",
        })
    }
}

impl Format {
    /// Formats whose parsers build a tree or face hostile binary input (all but plain text):
    /// in the binary they run in a worker process, killed at the time limit, so a crash, an
    /// endless loop or a parse that takes minutes costs one file, not the run.
    pub fn is_risky(self) -> bool {
        !matches!(self, Format::Text)
    }
}

/// What a block of text is, so the chunker knows what to keep whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockKind {
    Paragraph,
    ListItem,
    TableRow,
    Code,
}

/// A run of text under one heading path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// Headings from the top of the document down to this block.
    pub headings: Vec<String>,
    pub kind: BlockKind,
    pub text: String,
    /// The 1-based page the block is on (PDF only).
    pub page: Option<u32>,
    /// For text read from a page image by OCR, Tesseract's mean word confidence (0–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<u8>,
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub title: String,
    pub format: Format,
    pub blocks: Vec<Block>,
    /// What the document says about itself (owner, version, review dates…), each value
    /// with where it was found: the format's properties first, then its text.
    #[serde(default)]
    pub metadata: Vec<Fact>,
}

impl Document {
    /// The blocks' text, one block a line: what a reader of the document would extract.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for b in &self.blocks {
            out.push_str(&b.text);
            out.push('\n');
        }
        out
    }
}

/// Why a file yields no document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotParsed {
    /// Nothing is wrong with the file; we do not read this kind (or it is empty).
    Skipped(String),
    /// The file should be readable but is not.
    Failed(String),
}

impl NotParsed {
    pub fn reason(&self) -> &str {
        match self {
            NotParsed::Skipped(r) | NotParsed::Failed(r) => r,
        }
    }
}

impl fmt::Display for NotParsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotParsed::Skipped(r) => write!(f, "skipped: {r}"),
            NotParsed::Failed(r) => write!(f, "failed: {r}"),
        }
    }
}

/// Largest file read by default; larger ones are skipped with a reason.
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;

/// How many leading bytes [`detect`] looks at.
pub const HEAD_BYTES: usize = 1024;

/// Decides a file's format from its first bytes (see [`HEAD_BYTES`]), then its extension:
/// a PDF named `.txt` is read as a PDF, a PNG named `.md` is skipped. A zip package is a
/// DOCX when named so; [`parse_bytes`] looks inside any other zip.
pub fn detect(path: &Path, head: &[u8]) -> Result<Format, NotParsed> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // The PDF header may follow a little junk; readers (and lopdf) search the first 1 KiB.
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") {
        return if ext == "docx" || docx::names_word_part(head) {
            Ok(Format::Docx)
        } else {
            Err(NotParsed::Skipped(format!(
                "a zip archive{}, not a document",
                named_as(&ext)
            )))
        };
    }
    if let Some(kind) = binary_kind(head) {
        return Err(NotParsed::Skipped(format!(
            "{kind}{}, not a document",
            named_as(&ext)
        )));
    }
    match ext.as_str() {
        "md" | "markdown" => Ok(Format::Markdown),
        "html" | "htm" | "xhtml" => Ok(Format::Html),
        "txt" | "text" | "" if looks_like_html(head) => Ok(Format::Html),
        "txt" | "text" | "" => Ok(Format::Text),
        "pdf" => Err(NotParsed::Failed(
            "corrupt PDF: named .pdf but has no %PDF header".into(),
        )),
        "docx" => Err(NotParsed::Failed(
            "corrupt DOCX: named .docx but is not a zip package".into(),
        )),
        other => Err(NotParsed::Skipped(format!(
            "unsupported file type .{other}"
        ))),
    }
}

fn named_as(ext: &str) -> String {
    if ext.is_empty() {
        String::new()
    } else {
        format!(" named .{ext}")
    }
}

/// An HTML page saved without an `.html` name starts with a doctype or `<html>`.
fn looks_like_html(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let lower = t[..t.len().min(64)].to_ascii_lowercase();
    lower.starts_with("<!doctype html") || lower.starts_with("<html")
}

/// Names common binary formats by magic number; `None` for what may be text.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"II*\0", "a TIFF image"),
        (b"MM\0*", "a TIFF image"),
        (b"\x7FELF", "an executable"),
        (b"MZ", "an executable"),
        (b"\xD0\xCF\x11\xE0", "a legacy Office file"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"Rar!", "a RAR archive"),
        (b"7z\xBC\xAF", "a 7-Zip archive"),
        (b"{\\rtf", "an RTF document (not read yet)"),
        (b"%!PS", "a PostScript file"),
        (b"SQLite format 3\0", "an SQLite database"),
    ];
    if let Some((_, name)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(name);
    }
    let utf16 = head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF");
    if utf16 {
        return None;
    }
    // Text has no NULs and few control characters (tab, line ends, form feed and escape
    // are common in text files; anything else in bulk means binary).
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    (head.contains(&0) || controls * 10 > head.len()).then_some("binary data")
}

/// Reads and parses one file in this process, with the size limit applied before reading
/// and the default time limit; `run` uses [`parse_file_with`] to send PDF and DOCX to a
/// worker process (see [`contain`]).
pub fn parse_file(path: &Path, max_bytes: u64) -> Result<Document, NotParsed> {
    let opts = ParseOptions {
        max_bytes,
        ..ParseOptions::default()
    };
    parse_file_with(path, &opts)
}

/// Parses one file's bytes in this process, scanned pages read by OCR when Tesseract is
/// installed. Panics inside a parser are caught and reported as failures; time is not bounded
/// here (see [`parse_file_with`]).
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Document, NotParsed> {
    parse_bytes_with(path, bytes, Ocr::Auto)
}

/// [`parse_bytes`], with `ocr` saying whether scanned pages are read.
pub fn parse_bytes_with(path: &Path, bytes: &[u8], ocr: Ocr) -> Result<Document, NotParsed> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(NotParsed::Skipped("empty file".into()));
    }
    let format = detect(path, &bytes[..bytes.len().min(HEAD_BYTES)]);
    let format = match format {
        Ok(f) => f,
        // A zip not named .docx may still be one: look at its parts.
        Err(NotParsed::Skipped(r)) if bytes.starts_with(b"PK\x03\x04") => docx::sniff_zip(bytes)
            .map_err(|kind| NotParsed::Skipped(kind.map_or(r, |k| format!("{k}, not read"))))?,
        Err(e) => return Err(e),
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result = std::panic::catch_unwind(|| match format {
        Format::Markdown => Ok(parse_markdown(&decode_text(bytes), &stem)),
        Format::Text => Ok(parse_text(&decode_text(bytes), &stem)),
        Format::Html => Ok(parse_html(&decode_html(bytes), &stem)),
        Format::Docx => parse_docx(bytes, &stem),
        Format::Pdf => pdf::parse_pdf_with(bytes, &stem, ocr),
    });
    let doc = result.unwrap_or_else(|payload| {
        Err(NotParsed::Failed(format!(
            "the {format} parser crashed on this file ({})",
            panic_message(&*payload)
        )))
    })?;
    if doc.blocks.is_empty() {
        return Err(NotParsed::Skipped("no text found".into()));
    }
    let mut doc = split_long_blocks(doc);
    // Markdown and plain text join a paragraph's lines: their labels are read from the source.
    let source = matches!(format, Format::Markdown | Format::Text).then(|| decode_text(bytes));
    let stated = metadata::text::facts(&doc.blocks, source.as_deref());
    doc.metadata.extend(stated);
    Ok(doc)
}

/// Longest block text in bytes; longer blocks (a 50 MB one-line file) are cut at
/// whitespace, so later stages never tokenise one enormous string.
pub const MAX_BLOCK_BYTES: usize = 16 * 1024;

fn split_long_blocks(mut doc: Document) -> Document {
    if doc.blocks.iter().all(|b| b.text.len() <= MAX_BLOCK_BYTES) {
        return doc;
    }
    let mut blocks = Vec::with_capacity(doc.blocks.len());
    for b in doc.blocks {
        if b.text.len() <= MAX_BLOCK_BYTES {
            blocks.push(b);
            continue;
        }
        let mut rest = b.text.as_str();
        while !rest.is_empty() {
            let mut cut = rest.len().min(MAX_BLOCK_BYTES);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            if cut < rest.len()
                && let Some(space) = rest[..cut].rfind(char::is_whitespace)
                && space > MAX_BLOCK_BYTES / 2
            {
                cut = space;
            }
            let piece = rest[..cut].trim();
            if !piece.is_empty() {
                blocks.push(Block {
                    text: piece.to_string(),
                    ..b.clone()
                });
            }
            rest = &rest[cut..];
        }
    }
    doc.blocks = blocks;
    doc
}

/// The message a panic carried, for the failure reason.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    let msg = normalise_space(&msg);
    match msg.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &msg[..i]),
        None => msg,
    }
}

/// Collapses runs of whitespace to one space and trims.
pub fn normalise_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Headings with their level, turned into the path of a block below them.
#[derive(Debug, Default)]
pub(crate) struct HeadingPath {
    stack: Vec<(u32, String)>,
}

impl HeadingPath {
    /// A heading at `level` (1 is the top) replaces those at its level and below.
    pub fn push(&mut self, level: u32, text: String) {
        self.stack.retain(|(l, _)| *l < level);
        if !text.is_empty() {
            self.stack.push((level, text));
        }
    }

    pub fn path(&self) -> Vec<String> {
        self.stack.iter().map(|(_, t)| t.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_misnamed_files_are_skipped_or_failed() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0";
        assert!(
            matches!(parse_bytes(Path::new("notes.md"), png), Err(NotParsed::Skipped(r)) if r.contains("PNG image named .md"))
        );
        assert!(matches!(
            parse_bytes(Path::new("a.pdf"), b"hello"),
            Err(NotParsed::Failed(_))
        ));
        assert!(
            matches!(parse_bytes(Path::new("a.md"), b"  \n\n "), Err(NotParsed::Skipped(r)) if r == "empty file")
        );
        assert!(matches!(
            parse_bytes(Path::new("a.xlsx"), b"PK\x03\x04rest"),
            Err(NotParsed::Skipped(_))
        ));
        assert!(
            matches!(parse_bytes(Path::new("a.bin"), b"abc\0def"), Err(NotParsed::Skipped(r)) if r.contains("binary"))
        );
        assert_eq!(
            parse_bytes(Path::new("a.md"), b"# T\n\nBody.")
                .unwrap()
                .blocks
                .len(),
            1
        );
    }

    #[test]
    fn content_decides_over_the_extension() {
        let head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj";
        assert_eq!(detect(Path::new("notes.txt"), head), Ok(Format::Pdf));
        assert_eq!(
            detect(Path::new("page.txt"), b"<!DOCTYPE html><html><body>x"),
            Ok(Format::Html)
        );
        assert_eq!(
            detect(Path::new("README"), b"Plain words here."),
            Ok(Format::Text)
        );
        // Control characters in bulk without a NUL are still binary.
        let noisy: Vec<u8> = (0..200u8)
            .map(|i| if i % 3 == 0 { 0x01 } else { b'a' })
            .collect();
        assert!(
            matches!(detect(Path::new("a.md"), &noisy), Err(NotParsed::Skipped(r)) if r.contains("binary data named .md"))
        );
        assert!(matches!(
            detect(Path::new("a.md"), b"{\\rtf1\\ansi hello}"),
            Err(NotParsed::Skipped(r)) if r.contains("RTF")
        ));
    }

    #[test]
    fn enormous_lines_become_bounded_blocks() {
        let words = "policy ".repeat(20_000);
        let d = parse_bytes(Path::new("one-line.txt"), words.as_bytes()).unwrap();
        assert!(d.blocks.len() >= 8);
        assert!(d.blocks.iter().all(|b| b.text.len() <= MAX_BLOCK_BYTES));
        let back: usize = d.blocks.iter().map(|b| b.text.split(' ').count()).sum();
        assert_eq!(back, 20_000, "no word lost or split");
        // No whitespace at all: cut anywhere, on a character boundary.
        let solid = "é".repeat(30_000);
        let d = parse_bytes(Path::new("solid.txt"), solid.as_bytes()).unwrap();
        assert_eq!(
            d.blocks.iter().map(|b| b.text.len()).sum::<usize>(),
            solid.len()
        );
    }

    #[test]
    fn a_parser_panic_is_a_failure_with_its_message() {
        let r =
            std::panic::catch_unwind(|| -> () { panic!("index out of bounds: 3") }).unwrap_err();
        assert_eq!(panic_message(&*r), "index out of bounds: 3");
    }
}
