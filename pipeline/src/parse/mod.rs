//! Reading policy files into structured text: blocks of text, each with the headings above
//! it. This walking skeleton reads Markdown and plain text; PDF, DOCX and HTML are
//! recognised and skipped with a reason until their readers land.

use std::{fmt, path::Path};

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

/// The formats controlmap recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// What a block of text is, so the chunker knows what to keep whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Paragraph,
    ListItem,
    TableRow,
    Code,
}

/// A run of text under one heading path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Headings from the top of the document down to this block.
    pub headings: Vec<String>,
    pub kind: BlockKind,
    pub text: String,
    pub page: Option<u32>,
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub format: Format,
    pub blocks: Vec<Block>,
}

/// Why a file yields no document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotParsed {
    /// Nothing is wrong with the file; we do not read this kind (or it is empty).
    Skipped(String),
    /// The file should be readable but is not.
    Failed(String),
}

/// Largest file read by default; larger ones are skipped with a reason.
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;

/// Decides a file's format from its first bytes, then its extension.
pub fn detect(path: &Path, head: &[u8]) -> Result<Format, NotParsed> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if head.starts_with(b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") {
        return if ext == "docx" {
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
        "txt" | "text" | "" => Ok(Format::Text),
        "html" | "htm" | "xhtml" => Ok(Format::Html),
        "pdf" => Err(NotParsed::Failed(
            "named .pdf but is not a PDF (no %PDF header)".into(),
        )),
        "docx" => Err(NotParsed::Failed(
            "named .docx but is not a zip package".into(),
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

/// Names common binary formats by magic number; `None` for what may be text.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x7FELF", "an executable"),
        (b"MZ", "an executable"),
        (b"\xD0\xCF\x11\xE0", "a legacy Office file"),
        (b"\x1F\x8B", "a gzip archive"),
    ];
    if let Some((_, name)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(name);
    }
    let utf16 = head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF");
    (!utf16 && head.contains(&0)).then_some("binary data")
}

/// Decodes text: a BOM wins (UTF-8, UTF-16 LE/BE), then UTF-8, then Windows-1252, which
/// decodes any byte sequence, so old files never crash the run.
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return text.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
    }
}

/// Reads and parses one file, with the size limit applied before reading.
pub fn parse_file(path: &Path, max_bytes: u64) -> Result<Document, NotParsed> {
    let meta =
        fs_err::metadata(path).map_err(|e| NotParsed::Failed(format!("cannot read: {e}")))?;
    if meta.len() > max_bytes {
        return Err(NotParsed::Skipped(format!(
            "too large ({} bytes; the limit is {max_bytes}, see --max-file-size)",
            meta.len()
        )));
    }
    let bytes = fs_err::read(path).map_err(|e| NotParsed::Failed(format!("cannot read: {e}")))?;
    parse_bytes(path, &bytes)
}

/// Parses one file's bytes. Panics inside a parser are caught and reported as failures.
pub fn parse_bytes(path: &Path, bytes: &[u8]) -> Result<Document, NotParsed> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(NotParsed::Skipped("empty file".into()));
    }
    let format = detect(path, &bytes[..bytes.len().min(512)])?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result = std::panic::catch_unwind(|| match format {
        Format::Markdown => Ok(parse_markdown(&decode_text(bytes), &stem)),
        Format::Text => Ok(parse_text(&decode_text(bytes), &stem)),
        Format::Html | Format::Docx | Format::Pdf => Err(NotParsed::Skipped(format!(
            "{format} is not read yet (planned)"
        ))),
    });
    let doc = result
        .unwrap_or_else(|_| Err(NotParsed::Failed("the parser crashed on this file".into())))?;
    if doc.blocks.is_empty() {
        return Err(NotParsed::Skipped("no text found".into()));
    }
    Ok(doc)
}

/// Markdown through pulldown-cmark's parse tree: headings set the path, paragraphs, list
/// items, table rows and code blocks become blocks.
pub fn parse_markdown(src: &str, fallback_title: &str) -> Document {
    let mut headings: Vec<(HeadingLevel, String)> = Vec::new();
    let mut blocks = Vec::new();
    let mut title: Option<String> = None;
    let mut buf = String::new();
    let mut kind_stack: Vec<BlockKind> = Vec::new();
    let mut cells: Vec<String> = Vec::new();

    let path = |h: &[(HeadingLevel, String)]| h.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
    let mut flush = |buf: &mut String, kind: BlockKind, headings: &[(HeadingLevel, String)]| {
        let text = normalise_space(buf);
        buf.clear();
        if !text.is_empty() {
            blocks.push(Block {
                headings: path(headings),
                kind,
                text,
                page: None,
            });
        }
    };

    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for event in Parser::new_ext(src, opts) {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                flush(&mut buf, BlockKind::Paragraph, &headings);
            }
            Event::End(TagEnd::Heading(level)) => {
                let text = normalise_space(&buf);
                buf.clear();
                if level == HeadingLevel::H1 && title.is_none() {
                    title = Some(text.clone());
                }
                headings.retain(|(l, _)| *l < level);
                if !text.is_empty() {
                    headings.push((level, text));
                }
            }
            Event::Start(Tag::Item) => {
                // Text of an item that contains a nested list ends where the nested list starts.
                flush(&mut buf, BlockKind::ListItem, &headings);
                kind_stack.push(BlockKind::ListItem);
            }
            Event::Start(Tag::List(_)) => flush(&mut buf, current(&kind_stack), &headings),
            Event::End(TagEnd::Item) => {
                kind_stack.pop();
                flush(&mut buf, BlockKind::ListItem, &headings);
            }
            Event::Start(Tag::CodeBlock(_)) => kind_stack.push(BlockKind::Code),
            Event::End(TagEnd::CodeBlock) => {
                kind_stack.pop();
                flush(&mut buf, BlockKind::Code, &headings);
            }
            Event::End(TagEnd::Paragraph) => {
                if !kind_stack.contains(&BlockKind::ListItem) {
                    flush(&mut buf, BlockKind::Paragraph, &headings);
                } else {
                    buf.push(' ');
                }
            }
            Event::End(TagEnd::TableCell) => {
                cells.push(normalise_space(&buf));
                buf.clear();
            }
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                let mut row = cells.join(" | ");
                cells.clear();
                flush(&mut row, BlockKind::TableRow, &headings);
            }
            Event::Text(t) | Event::Code(t) => buf.push_str(&t),
            Event::SoftBreak | Event::HardBreak => buf.push(' '),
            Event::Html(_) | Event::InlineHtml(_) => {}
            _ => {}
        }
    }
    flush(&mut buf, BlockKind::Paragraph, &headings);
    Document {
        title: title.unwrap_or_else(|| fallback_title.to_string()),
        format: Format::Markdown,
        blocks,
    }
}

fn current(stack: &[BlockKind]) -> BlockKind {
    stack.last().copied().unwrap_or(BlockKind::Paragraph)
}

/// Plain text: paragraphs are separated by blank lines; a short line alone in its paragraph
/// that is numbered ("2.3 Scope") or in capitals is a heading, its depth from the numbering.
pub fn parse_text(src: &str, fallback_title: &str) -> Document {
    let src = src.replace("\r\n", "\n").replace('\r', "\n");
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut blocks = Vec::new();
    let mut title = None;
    for para in src.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let lines: Vec<&str> = para
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if let [line] = lines[..]
            && let Some(mut level) = text_heading_level(line)
        {
            if title.is_none() && blocks.is_empty() && headings.is_empty() {
                // The document's first heading is its title, above every numbered section.
                title = Some(line.to_string());
                level = 0;
            }
            headings.retain(|(l, _)| *l < level);
            headings.push((level, line.to_string()));
            continue;
        }
        let path: Vec<String> = headings.iter().map(|(_, h)| h.clone()).collect();
        let is_list = lines.iter().all(|l| is_list_line(l));
        if is_list && lines.len() > 1 {
            for l in lines {
                blocks.push(Block {
                    headings: path.clone(),
                    kind: BlockKind::ListItem,
                    text: normalise_space(l),
                    page: None,
                });
            }
        } else {
            let kind = if is_list {
                BlockKind::ListItem
            } else {
                BlockKind::Paragraph
            };
            blocks.push(Block {
                headings: path,
                kind,
                text: normalise_space(para),
                page: None,
            });
        }
    }
    Document {
        title: title.unwrap_or_else(|| fallback_title.to_string()),
        format: Format::Text,
        blocks,
    }
}

fn is_list_line(l: &str) -> bool {
    l.starts_with("- ") || l.starts_with("* ") || l.starts_with("• ") || {
        let digits = l
            .chars()
            .take_while(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
            .count();
        digits > 0 && digits <= 3 && matches!(l[digits..].chars().next(), Some(')'))
    }
}

fn text_heading_level(line: &str) -> Option<usize> {
    if line.len() > 90 || line.ends_with('.') || line.ends_with(',') || line.ends_with(';') {
        return None;
    }
    let numbering: String = line
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let rest = line[numbering.len()..].trim_start();
    if !numbering.is_empty()
        && numbering.starts_with(|c: char| c.is_ascii_digit())
        && line.len() > numbering.len()
    {
        if rest.starts_with(|c: char| c.is_uppercase()) && line[numbering.len()..].starts_with(' ')
        {
            return Some(numbering.trim_end_matches('.').split('.').count());
        }
        return None;
    }
    let letters: Vec<char> = line.chars().filter(|c| c.is_alphabetic()).collect();
    (letters.len() >= 3 && letters.iter().all(|c| c.is_uppercase())).then_some(1)
}

/// Collapses runs of whitespace to one space and trims.
pub fn normalise_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_headings_lists_and_tables() {
        let md = "# AI Policy\n\nIntro text.\n\n## 1 Scope\n\nThis policy **applies** to all staff\nand contractors.\n\n- First item\n- Second item with `code`\n\n### 1.1 Detail\n\n| Role | Duty |\n|---|---|\n| Owner | Approves |\n\n## 2 Review\n\nReviewed yearly.\n";
        let d = parse_markdown(md, "x");
        assert_eq!(d.title, "AI Policy");
        let got: Vec<(Vec<&str>, BlockKind, &str)> = d
            .blocks
            .iter()
            .map(|b| {
                (
                    b.headings.iter().map(String::as_str).collect(),
                    b.kind,
                    b.text.as_str(),
                )
            })
            .collect();
        use BlockKind::*;
        assert_eq!(
            got,
            vec![
                (vec!["AI Policy"], Paragraph, "Intro text."),
                (
                    vec!["AI Policy", "1 Scope"],
                    Paragraph,
                    "This policy applies to all staff and contractors."
                ),
                (vec!["AI Policy", "1 Scope"], ListItem, "First item"),
                (
                    vec!["AI Policy", "1 Scope"],
                    ListItem,
                    "Second item with code"
                ),
                (
                    vec!["AI Policy", "1 Scope", "1.1 Detail"],
                    TableRow,
                    "Role | Duty"
                ),
                (
                    vec!["AI Policy", "1 Scope", "1.1 Detail"],
                    TableRow,
                    "Owner | Approves"
                ),
                (vec!["AI Policy", "2 Review"], Paragraph, "Reviewed yearly."),
            ]
        );
    }

    #[test]
    fn text_numbered_headings_set_the_path() {
        let t = "DATA GOVERNANCE STANDARD\n\n1. Purpose\n\nThis standard sets rules\nfor data.\n\n2.1 Quality checks\n\nChecks run monthly.\n\n- one\n- two\n";
        let d = parse_text(t, "x");
        assert_eq!(d.title, "DATA GOVERNANCE STANDARD");
        assert_eq!(
            d.blocks[0].headings,
            vec!["DATA GOVERNANCE STANDARD", "1. Purpose"]
        );
        assert_eq!(d.blocks[0].text, "This standard sets rules for data.");
        assert_eq!(d.blocks[1].headings.last().unwrap(), "2.1 Quality checks");
        assert_eq!(d.blocks[2].kind, BlockKind::ListItem);
        assert_eq!(d.blocks.len(), 4);
    }

    #[test]
    fn decodes_utf16_and_legacy_bytes() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "Caf\u{e9} policy".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&utf16), "Caf\u{e9} policy");
        assert_eq!(
            decode_text(b"Fee \xA3 5 \x96 caf\xE9"),
            "Fee \u{a3} 5 \u{2013} caf\u{e9}"
        );
        assert_eq!(decode_text("naïve".as_bytes()), "naïve");
    }

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
}
