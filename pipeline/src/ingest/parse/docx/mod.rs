//! DOCX (Office Open XML) through zip and quick-xml, streaming and tolerant: paragraphs
//! with their heading level (from the paragraph style's name or outline level, so
//! localised style IDs work), numbered and bulleted paragraphs as list items, and tables
//! as one block per row with its cells joined by ` | `. Only the main document part is
//! read: running headers, footers, comments and footnotes are left out, and so are
//! tracked deletions, field codes and table-of-contents entries.

use std::{
    collections::HashMap,
    io::{BufReader, Cursor, Read},
};

mod properties;
mod styles;

use quick_xml::{Reader, events::Event};
use styles::{Style, parse_styles, style_from_id};
use zip::ZipArchive;

use super::{
    Block, BlockKind, Document, Format, HeadingPath, NotParsed, metadata, normalise_space,
};

/// Most bytes read from one unpacked XML part: a zip bomb stops here, not at memory's end.
pub const MAX_PART_BYTES: u64 = 256 * 1024 * 1024;

/// Whether a zip's first local header names a Word part (`word/…`), so a DOCX is known
/// by content whatever its name.
pub(crate) fn names_word_part(head: &[u8]) -> bool {
    // Local file header: the name's length at offset 26, the name from offset 30.
    if head.len() < 30 {
        return false;
    }
    let len = usize::from(u16::from_le_bytes([head[26], head[27]]));
    head.get(30..30 + len)
        .is_some_and(|name| name.starts_with(b"word/"))
}

/// Looks inside a zip not named `.docx`: `Ok(Docx)` when it holds a Word document, else
/// what it is (`Some("an Excel workbook")`) or `None` for a plain archive.
pub(crate) fn sniff_zip(bytes: &[u8]) -> Result<Format, Option<&'static str>> {
    let Ok(zip) = ZipArchive::new(Cursor::new(bytes)) else {
        return Err(None);
    };
    kind_of_package(&part_names(&zip))
}

/// What a zip's part names say it is (see [`sniff_zip`]).
fn kind_of_package(names: &[String]) -> Result<Format, Option<&'static str>> {
    let has = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
    if has("word/") {
        Ok(Format::Docx)
    } else if has("xl/") {
        Err(Some("an Excel workbook"))
    } else if has("ppt/") {
        Err(Some("a PowerPoint presentation"))
    } else if names.iter().any(|n| n == "content.xml") {
        Err(Some("an OpenDocument file"))
    } else {
        Err(None)
    }
}

fn part_names(zip: &ZipArchive<Cursor<&[u8]>>) -> Vec<String> {
    zip.file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect()
}

fn corrupt(e: impl std::fmt::Display) -> NotParsed {
    NotParsed::Failed(format!("corrupt DOCX: {e}"))
}

/// Parses a DOCX package's bytes.
pub fn parse_docx(bytes: &[u8], fallback_title: &str) -> Result<Document, NotParsed> {
    parse_docx_limited(bytes, fallback_title, MAX_PART_BYTES)
}

fn parse_docx_limited(
    bytes: &[u8],
    fallback_title: &str,
    max_part: u64,
) -> Result<Document, NotParsed> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    if part_names(&zip)
        .iter()
        .any(|n| n == "EncryptionInfo" || n == "EncryptedPackage")
    {
        return Err(NotParsed::Failed(
            "encrypted DOCX: a password is needed".into(),
        ));
    }
    // A workbook or presentation named .docx is not a broken Word file; a zip with no
    // known parts is (its name promises a DOCX), and fails below.
    if let Err(Some(kind)) = kind_of_package(&part_names(&zip)) {
        return Err(NotParsed::Skipped(format!("{kind}, not a Word document")));
    }
    let main = main_part(&mut zip, max_part);
    let styles = match read_part(&mut zip, "word/styles.xml", max_part) {
        Ok(Some(xml)) => parse_styles(&xml),
        _ => HashMap::new(),
    };
    let mut body = Body::new(styles);
    {
        let Some(mut part) = zip_entry(&mut zip, &main)? else {
            return Err(corrupt(format!("no main document part ({main})")));
        };
        let limited = Limited {
            inner: &mut part,
            left: max_part,
        };
        body.read(BufReader::new(limited)).map_err(|e| {
            if e.contains(TOO_BIG) {
                corrupt(format!(
                    "{main} unpacks to more than {} MiB (a zip bomb?)",
                    max_part / (1024 * 1024)
                ))
            } else {
                corrupt(format!("{main}: {e}"))
            }
        })?;
    }
    let metadata = properties::facts(&mut zip, max_part);
    let title = body
        .title
        .take()
        .or_else(|| {
            metadata
                .iter()
                .find(|f| f.field == metadata::Field::Title)
                .map(|f| f.value.clone())
        })
        .unwrap_or_else(|| fallback_title.to_string());
    Ok(Document {
        title,
        format: Format::Docx,
        blocks: body.blocks,
        metadata,
    })
}

fn zip_entry<'a, 'b>(
    zip: &'a mut ZipArchive<Cursor<&'b [u8]>>,
    name: &str,
) -> Result<Option<zip::read::ZipFile<'a, Cursor<&'b [u8]>>>, NotParsed> {
    match zip.by_name(name) {
        Ok(f) => Ok(Some(f)),
        Err(zip::result::ZipError::FileNotFound) => Ok(None),
        Err(e) => Err(corrupt(format!("{name}: {e}"))),
    }
}

/// A small part, whole, as text (`None` when absent).
fn read_part(
    zip: &mut ZipArchive<Cursor<&[u8]>>,
    name: &str,
    max_part: u64,
) -> Result<Option<String>, NotParsed> {
    let Some(f) = zip_entry(zip, name)? else {
        return Ok(None);
    };
    let mut s = String::new();
    f.take(max_part.min(16 * 1024 * 1024))
        .read_to_string(&mut s)
        .map_err(|e| corrupt(format!("{name}: {e}")))?;
    Ok(Some(s))
}

/// The main document part named by the package relationships, usually `word/document.xml`.
fn main_part(zip: &mut ZipArchive<Cursor<&[u8]>>, max_part: u64) -> String {
    const DEFAULT: &str = "word/document.xml";
    let Ok(Some(rels)) = read_part(zip, "_rels/.rels", max_part) else {
        return DEFAULT.into();
    };
    let mut reader = Reader::from_str(&rels);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                let attr = |k: &str| {
                    e.try_get_attribute(k)
                        .ok()
                        .flatten()
                        .map(|a| a.value.into_owned())
                };
                if attr("Type").is_some_and(|t| t.ends_with("/officeDocument"))
                    && let Some(target) = attr("Target")
                {
                    return target.trim_start_matches('/').to_string();
                }
            }
            Ok(Event::Eof) | Err(_) => return DEFAULT.into(),
            _ => {}
        }
    }
}

fn push_ref(out: &mut String, r: &quick_xml::events::BytesRef<'_>) {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        out.push(c);
    } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
        out.push_str(s);
    }
}

const TOO_BIG: &str = "unpacked size limit reached";

/// A reader that errors once `left` bytes have been read.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One more byte means the part really is larger than the limit.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(TOO_BIG)),
            };
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// A paragraph being read.
#[derive(Debug, Default)]
struct Para {
    style: Option<String>,
    numbered: bool,
    outline: Option<u32>,
    text: String,
}

/// The streaming reader of the main document part.
struct Body {
    styles: HashMap<String, Style>,
    headings: HeadingPath,
    blocks: Vec<Block>,
    title: Option<String>,
    /// Open paragraphs: a text box inside a paragraph opens another.
    paras: Vec<Para>,
    /// Depth of open tables; rows of nested tables flatten into the outer cell.
    tables: usize,
    cells: Vec<String>,
    cell: Option<String>,
    /// Inside `w:pPr` (paragraph properties), where `w:numPr` means a list item.
    in_ppr: bool,
    /// Inside `w:t`: only these runs' text counts (not `w:delText` or `w:instrText`).
    in_text: bool,
    /// Depth inside content skipped whole (`mc:Fallback` duplicates `mc:Choice`).
    skip: usize,
}

impl Body {
    fn new(styles: HashMap<String, Style>) -> Self {
        Self {
            styles,
            headings: HeadingPath::default(),
            blocks: Vec::new(),
            title: None,
            paras: Vec::new(),
            tables: 0,
            cells: Vec::new(),
            cell: None,
            in_ppr: false,
            in_text: false,
            skip: 0,
        }
    }

    fn read<R: std::io::BufRead>(&mut self, src: R) -> Result<(), String> {
        let mut reader = Reader::from_reader(src);
        let mut buf = Vec::new();
        loop {
            let event = reader
                .read_event_into(&mut buf)
                .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
            match event {
                Event::Start(e) => {
                    let name = e.local_name();
                    let name = name.as_ref();
                    if self.skip > 0 || name == "Fallback" {
                        self.skip += 1;
                    } else {
                        self.start(name, &e, false);
                    }
                }
                Event::Empty(e) if self.skip == 0 => {
                    self.start(e.local_name().as_ref(), &e, true);
                }
                Event::End(e) => {
                    if self.skip > 0 {
                        self.skip -= 1;
                    } else {
                        self.end(e.local_name().as_ref());
                    }
                }
                Event::Text(t) if self.in_text && self.skip == 0 => {
                    if let Some(p) = self.paras.last_mut() {
                        p.text.push_str(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) if self.in_text && self.skip == 0 => {
                    if let Some(p) = self.paras.last_mut() {
                        push_ref(&mut p.text, &r);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        // A truncated part still yields what was read.
        while !self.paras.is_empty() {
            self.end("p");
        }
        Ok(())
    }

    fn start(&mut self, name: &str, e: &quick_xml::events::BytesStart<'_>, empty: bool) {
        let val = || {
            e.try_get_attribute("w:val")
                .ok()
                .flatten()
                .map(|a| a.value.into_owned())
        };
        let para = self.paras.last_mut();
        match (name, para) {
            ("p", _) if !empty => self.paras.push(Para::default()),
            ("pPr", _) if !empty => self.in_ppr = true,
            ("pStyle", Some(p)) if self.in_ppr => p.style = val(),
            ("numPr", Some(p)) if self.in_ppr => p.numbered = true,
            ("outlineLvl", Some(p)) if self.in_ppr => {
                p.outline = val().and_then(|v| v.parse().ok());
            }
            ("t", _) if !empty => self.in_text = true,
            ("tab" | "br" | "cr", Some(p)) if !self.in_ppr => p.text.push(' '),
            ("noBreakHyphen", Some(p)) => p.text.push('-'),
            ("tbl", _) if !empty => self.tables += 1,
            ("tc", _) if !empty && self.tables == 1 => self.cell = Some(String::new()),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "pPr" => self.in_ppr = false,
            "t" => self.in_text = false,
            "p" => {
                if let Some(p) = self.paras.pop() {
                    self.finish_paragraph(p);
                }
            }
            "tc" if self.tables == 1 => {
                if let Some(c) = self.cell.take() {
                    self.cells.push(normalise_space(&c));
                }
            }
            "tr" if self.tables == 1 => {
                let cells: Vec<String> = std::mem::take(&mut self.cells)
                    .into_iter()
                    .filter(|c| !c.is_empty())
                    .collect();
                if !cells.is_empty() {
                    self.blocks.push(Block {
                        headings: self.headings.path(),
                        kind: BlockKind::TableRow,
                        text: cells.join(" | "),
                        page: None,
                        ocr_confidence: None,
                    });
                }
            }
            "tbl" => self.tables = self.tables.saturating_sub(1),
            _ => {}
        }
    }

    fn finish_paragraph(&mut self, p: Para) {
        let text = normalise_space(&p.text);
        if text.is_empty() {
            return;
        }
        // A text box's paragraph ends inside its anchor paragraph: its text joins it.
        if let Some(outer) = self.paras.last_mut() {
            outer.text.push(' ');
            outer.text.push_str(&text);
            outer.text.push(' ');
            return;
        }
        if let Some(cell) = &mut self.cell {
            cell.push(' ');
            cell.push_str(&text);
            return;
        }
        let style = p
            .style
            .as_deref()
            .map(|id| {
                self.styles
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| style_from_id(id))
            })
            .unwrap_or_default();
        if style.toc {
            return;
        }
        let heading = style
            .heading
            .or(p.outline.filter(|&l| l < 9).map(|l| l + 1));
        if let Some(level) = heading {
            if self.title.is_none() && (level <= 1) && self.blocks.is_empty() {
                self.title = Some(text.clone());
            }
            self.headings.push(level, text);
            return;
        }
        let kind = if p.numbered || style.list {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        };
        self.blocks.push(Block {
            headings: self.headings.path(),
            kind,
            text,
            page: None,
            ocr_confidence: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const W: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006""#;

    fn docx(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in parts {
            z.start_file(*name, opts).unwrap();
            z.write_all(body.as_bytes()).unwrap();
        }
        z.finish().unwrap();
        out.into_inner()
    }

    fn para(style: &str, text: &str) -> String {
        format!(
            r#"<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#
        )
    }

    fn document(body: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><w:document {W}><w:body>{body}<w:sectPr/></w:body></w:document>"#
        )
    }

    #[test]
    fn core_and_custom_properties_give_metadata() {
        let core = r#"<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>Data Governance Standard</dc:title><dc:creator>jsmith</dc:creator><cp:revision>41</cp:revision><cp:version>3.0</cp:version></cp:coreProperties>"#;
        let custom = r#"<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">
<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="Owner"><vt:lpwstr>Head of Data &amp; Analytics</vt:lpwstr></property>
<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="3" name="Next review date"><vt:filetime>2025-01-15T00:00:00Z</vt:filetime></property>
<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="4" name="Department"><vt:lpwstr>Data</vt:lpwstr></property>
</Properties>"#;
        let bytes = docx(&[
            ("[Content_Types].xml", "<Types/>"),
            ("word/document.xml", &document(&para("Normal", "Body."))),
            ("docProps/core.xml", core),
            ("docProps/custom.xml", custom),
        ]);
        let d = parse_docx(&bytes, "x").unwrap();
        assert_eq!(d.title, "Data Governance Standard");
        let got: Vec<(metadata::Field, &str, &str)> = d
            .metadata
            .iter()
            .map(|f| (f.field, f.value.as_str(), f.source.as_str()))
            .collect();
        use metadata::Field::*;
        assert_eq!(
            got,
            vec![
                (
                    Title,
                    "Data Governance Standard",
                    "DOCX core property title"
                ),
                (Version, "3.0", "DOCX core property version"),
                (
                    Owner,
                    "Head of Data & Analytics",
                    "DOCX custom property \"Owner\""
                ),
                (
                    NextReview,
                    "2025-01-15T00:00:00Z",
                    "DOCX custom property \"Next review date\""
                ),
            ]
        );
    }

    #[test]
    fn headings_lists_tables_and_no_headers() {
        let styles = format!(
            r#"<w:styles {W}>
<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>
<w:style w:type="paragraph" w:styleId="Custom2"><w:name w:val="My Section"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Bullets"><w:name w:val="List Bullet"/></w:style>
<w:style w:type="paragraph" w:styleId="MoreBullets"><w:name w:val="Fancy"/><w:basedOn w:val="Bullets"/></w:style>
<w:style w:type="paragraph" w:styleId="TOC1"><w:name w:val="toc 1"/></w:style>
</w:styles>"#
        );
        let body = [
            para("Title", "AI Policy"),
            para("TOC1", "1 Scope ..... 2"),
            para("berschrift1", "1 Scope"),
            r#"<w:p><w:r><w:t>This policy </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>applies</w:t></w:r><w:r><w:t xml:space="preserve"> to staff &amp; contractors.</w:t><w:del><w:r><w:delText>old</w:delText></w:r></w:del><w:r><w:instrText>PAGE</w:instrText></w:r></w:r></w:p>"#.to_string(),
            r#"<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Numbered item</w:t></w:r></w:p>"#.to_string(),
            para("MoreBullets", "Styled item"),
            para("Custom2", "1.1 Detail"),
            r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Role</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Duty</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>Owner</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Approves</w:t></w:r></w:p><w:p><w:r><w:t>Reviews</w:t></w:r></w:p></w:tc><w:tc><w:p/></w:tc></w:tr></w:tbl>"#.to_string(),
            r#"<w:p><w:r><mc:AlternateContent><mc:Choice><w:txbxContent><w:p><w:r><w:t>Box text</w:t></w:r></w:p></w:txbxContent></mc:Choice><mc:Fallback><w:p><w:r><w:t>Box text</w:t></w:r></w:p></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t>After box.</w:t></w:r></w:p>"#.to_string(),
        ]
        .concat();
        let bytes = docx(&[
            ("[Content_Types].xml", "<Types/>"),
            ("word/document.xml", &document(&body)),
            ("word/styles.xml", &styles),
            (
                "word/header1.xml",
                &document(&para("Header", "DAT-020 | Internal")),
            ),
            (
                "word/footer1.xml",
                &document(&para("Footer", "Page 1 of 3")),
            ),
        ]);
        let d = parse_docx(&bytes, "x").unwrap();
        assert_eq!(d.title, "AI Policy");
        use BlockKind::*;
        let got: Vec<(String, BlockKind, &str)> = d
            .blocks
            .iter()
            .map(|b| (b.headings.join(" › "), b.kind, b.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "AI Policy › 1 Scope".into(),
                    Paragraph,
                    "This policy applies to staff & contractors."
                ),
                ("AI Policy › 1 Scope".into(), ListItem, "Numbered item"),
                ("AI Policy › 1 Scope".into(), ListItem, "Styled item"),
                (
                    "AI Policy › 1 Scope › 1.1 Detail".into(),
                    TableRow,
                    "Role | Duty"
                ),
                (
                    "AI Policy › 1 Scope › 1.1 Detail".into(),
                    TableRow,
                    "Owner | Approves Reviews"
                ),
                (
                    "AI Policy › 1 Scope › 1.1 Detail".into(),
                    Paragraph,
                    "Box text After box."
                ),
            ]
        );
        // Named anything, a zip with a Word part is a DOCX.
        assert_eq!(sniff_zip(&bytes), Ok(Format::Docx));
    }

    #[test]
    fn docx_xml_nested_100k_deep_is_read_without_overflowing_the_stack() {
        for depth in [10_000, 100_000] {
            // Paragraphs in text boxes in paragraphs, and unknown elements inside each other.
            let boxes = format!(
                "{}<w:r><w:t>boxed</w:t></w:r>{}",
                "<w:p><w:r><w:txbxContent>".repeat(depth),
                "</w:txbxContent></w:r></w:p>".repeat(depth)
            );
            let wrapped = format!(
                "{}{}{}{}",
                "<w:sdt>".repeat(depth),
                para("Normal", "inside"),
                "</w:sdt>".repeat(depth),
                para("Normal", "after")
            );
            for (body, phrases) in [(boxes, &["boxed"][..]), (wrapped, &["inside", "after"])] {
                let bytes = docx(&[("word/document.xml", &document(&body))]);
                let d = parse_docx(&bytes, "deep").unwrap();
                for phrase in phrases {
                    assert!(
                        d.blocks.iter().any(|b| b.text.contains(phrase)),
                        "{depth}: {phrase} in {} blocks",
                        d.blocks.len()
                    );
                }
            }
        }
    }

    #[test]
    fn corrupt_truncated_and_bomb_packages_fail_with_a_reason() {
        let r = parse_docx(b"PK\x03\x04 not really a zip", "x").unwrap_err();
        assert!(r.reason().starts_with("corrupt DOCX: "), "{r}");

        let bytes = docx(&[("word/document.xml", &document(&para("Normal", "Hello")))]);
        let r = parse_docx(&bytes[..bytes.len() / 2], "x").unwrap_err();
        assert!(r.reason().starts_with("corrupt DOCX: "), "{r}");

        let r = parse_docx(&docx(&[("other.txt", "x")]), "x").unwrap_err();
        assert!(r.reason().contains("no main document part"), "{r}");

        // 2 MB of text compresses to a few KB; a 1 MB limit stands in for the real one.
        let big = document(&para("Normal", &"a".repeat(2 << 20)));
        let r =
            parse_docx_limited(&docx(&[("word/document.xml", &big)]), "x", 1 << 20).unwrap_err();
        assert!(r.reason().contains("zip bomb"), "{r}");

        // Broken XML mid-way: what came before is kept.
        let broken = format!(
            "<w:document {W}><w:body>{}<w:p><w:r><w:t>cut",
            para("Normal", "Kept.")
        );
        let d = parse_docx(&docx(&[("word/document.xml", &broken)]), "x").unwrap();
        assert_eq!(d.blocks[0].text, "Kept.");
    }

    #[test]
    fn zip_sniffing_names_other_office_files() {
        assert_eq!(
            sniff_zip(&docx(&[("xl/workbook.xml", "<w/>")])),
            Err(Some("an Excel workbook"))
        );
        assert_eq!(sniff_zip(&docx(&[("a.txt", "a")])), Err(None));
        // Named .docx, a workbook is skipped as what it is, not failed as a broken DOCX.
        let xlsx = docx(&[
            (
                "_rels/.rels",
                r#"<Relationships><Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
            ),
            ("xl/workbook.xml", "<workbook/>"),
        ]);
        assert_eq!(
            parse_docx(&xlsx, "x"),
            Err(NotParsed::Skipped(
                "an Excel workbook, not a Word document".into()
            ))
        );
        assert!(names_word_part(&docx(&[("word/document.xml", "<x/>")])));
    }
}
