//! PDF through pdf-extract (on lopdf): the positioned glyphs of each page become lines,
//! lines become paragraphs, and every block knows its page. Running headers, footers and
//! page numbers (lines at the top or bottom of most pages that match once digits are
//! ignored) are dropped; words hyphenated at a line end are joined; short lines set in a
//! larger size, or numbered like "4.2 Scope", become headings.
//!
//! Pages without a text layer (scans) are read by OCR ([`ocr`]) when Tesseract is
//! installed; encrypted PDFs that need a password, and scans that cannot be read, fail with a
//! reason that says so.

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

mod layout;
pub mod ocr;
mod properties;

use layout::*;
pub use ocr::Ocr;

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

/// A page with fewer letters than this that draws an image is a scan (a stamp or a page
/// number may be text on top of one).
const MIN_PAGE_CHARS: usize = 40;

/// Parses a PDF's bytes, reading scanned pages by OCR when Tesseract is installed.
pub fn parse_pdf(bytes: &[u8], fallback_title: &str) -> Result<Document, NotParsed> {
    parse_pdf_with(bytes, fallback_title, Ocr::Auto)
}

/// Parses a PDF's bytes; `ocr` says whether scanned pages are read.
pub fn parse_pdf_with(bytes: &[u8], fallback_title: &str, ocr: Ocr) -> Result<Document, NotParsed> {
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
    for (&number, &id) in &page_ids {
        // A page whose objects form a cycle would send pdf-extract round it until the stack
        // overflows: such a page is passed over, with what is wrong.
        let error = match page_problem(&doc, id) {
            Some(problem) => Some(problem),
            // pdf-extract panics on many malformed inputs; one bad page should cost that page.
            None => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pdf_extract::output_doc_page(&doc, &mut collector, number)
            })) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(panic) => Some(format!(
                    "the PDF reader crashed ({})",
                    super::panic_message(&*panic)
                )),
            },
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
    let (scanned, pages): (Vec<Page>, Vec<Page>) = collector.pages.into_iter().partition(|p| {
        let letters: usize = p
            .glyphs
            .iter()
            .map(|g| g.text.chars().filter(|c| !c.is_whitespace()).count())
            .sum();
        letters < MIN_PAGE_CHARS
            && page_ids
                .get(&p.number)
                .is_some_and(|&id| doc.get_page_images(id).is_ok_and(|i| !i.is_empty()))
    });
    let glyphs: usize = pages.iter().map(|p| p.glyphs.len()).sum();
    let mut ocr_blocks = Vec::new();
    let mut unreadable = Vec::new();
    if !scanned.is_empty() {
        let numbers: Vec<u32> = scanned.iter().map(|p| p.number).collect();
        let only_images = match numbers.len() {
            1 if page_ids.len() == 1 => "its one page is only an image (a scan?)".to_string(),
            n if n == page_ids.len() => format!("its {n} pages are only images (a scan?)"),
            1 => format!("page {} is only an image", numbers[0]),
            n => format!("{n} of its pages are only images"),
        };
        let cannot = match (ocr, ocr::unavailable()) {
            (Ocr::Off, _) => Some("OCR is off (--no-ocr)".to_string()),
            (Ocr::Auto, Some(why)) => Some(format!("reading it needs OCR: {why}")),
            (Ocr::Auto, None) => {
                let read = ocr::read_pages(bytes, &numbers).map_err(|e| {
                    NotParsed::Failed(format!("{only_images}, and OCR failed: {e}"))
                })?;
                ocr_blocks = read.blocks;
                unreadable = read.unreadable;
                None
            }
        };
        // A scan that cannot be read fails; a document with a few image pages among text
        // pages keeps its text.
        if let Some(why) = cannot
            && glyphs == 0
        {
            return Err(NotParsed::Failed(format!(
                "no text layer: {only_images}; {why}"
            )));
        }
        if glyphs == 0 && ocr_blocks.is_empty() {
            let worst = unreadable.iter().map(|&(_, c)| c).max();
            return Err(NotParsed::Failed(match worst {
                Some(c) => format!(
                    "no text found: {only_images}, and OCR could not read them reliably \
                     (confidence {c} of 100 at best, {} needed; a scan at 200 dpi or more \
                     reads better)",
                    ocr::MIN_PAGE_CONFIDENCE
                ),
                None => format!("no text found: {only_images}, and OCR read no words on them"),
            }));
        }
    }
    if glyphs == 0 && ocr_blocks.is_empty() {
        return Err(match first_error {
            Some((page, e)) => NotParsed::Failed(format!("corrupt PDF: page {page}: {e}")),
            None if !has_images(&doc, &page_ids) => NotParsed::Failed(format!(
                "no text found: {} neither text nor images (an empty or damaged PDF?)",
                match pages.len() {
                    1 => "its one page holds".to_string(),
                    n => format!("its {n} pages hold"),
                }
            )),
            None => NotParsed::Failed(
                "no text found: its pages hold images too small to be a scan".into(),
            ),
        });
    }
    let title = info_title(&doc);
    let mut document = build_document(pages, title, fallback_title);
    if !ocr_blocks.is_empty() {
        if document.blocks.is_empty()
            && document.title == fallback_title
            && let Some(h) = ocr_blocks.iter().find_map(|b| b.headings.first())
        {
            document.title = h.clone();
        }
        document.blocks.extend(ocr_blocks);
        // Stable: each page's blocks keep their order.
        document.blocks.sort_by_key(|b| b.page);
    }
    document.metadata = properties::facts(&doc);
    Ok(document)
}

/// What is wrong with a page whose resources or content cannot be read (a reference cycle,
/// a missing object, content that is not a content stream), which pdf-extract would pass over
/// as an empty page or follow round a cycle.
fn page_problem(doc: &pdf_extract::Document, id: pdf_extract::ObjectId) -> Option<String> {
    use pdf_extract::Object;
    if let Err(e) = doc.get_page_resources(id) {
        return Some(e.to_string());
    }
    let page = match doc.get_dictionary(id) {
        Ok(p) => p,
        Err(e) => return Some(e.to_string()),
    };
    // A page without content is blank, not damaged.
    let contents = page.get(b"Contents").ok()?;
    let parts: Vec<&Object> = match doc.dereference(contents) {
        Err(e) => return Some(format!("its content: {e}")),
        Ok((_, Object::Array(a))) => a.iter().collect(),
        Ok((_, o)) => vec![o],
    };
    parts
        .into_iter()
        .find_map(|part| match doc.dereference(part) {
            Err(e) => Some(format!("its content: {e}")),
            Ok((_, Object::Stream(_))) => None,
            Ok(_) => Some("its content is not a content stream".into()),
        })
}

/// Whether any page draws an image (a scan) rather than nothing at all.
fn has_images(
    doc: &pdf_extract::Document,
    pages: &std::collections::BTreeMap<u32, pdf_extract::ObjectId>,
) -> bool {
    pages
        .values()
        .any(|&id| doc.get_page_images(id).is_ok_and(|i| !i.is_empty()))
}

/// A trailer `/Encrypt` entry, for files lopdf refuses to load.
fn has_encrypt_dictionary(bytes: &[u8]) -> bool {
    bytes.windows(8).any(|w| w == b"/Encrypt")
}

/// The `/Title` of the document information dictionary, when it is a real title.
fn info_title(doc: &pdf_extract::Document) -> Option<String> {
    let raw = properties::info(doc)?.get(b"Title").ok()?.as_str().ok()?;
    let title = normalise_space(&properties::pdf_string(raw));
    let generic = ["untitled", "microsoft word", "document"];
    (!title.is_empty()
        && !title.ends_with(".docx")
        && !generic.iter().any(|g| title.to_lowercase().starts_with(g)))
    .then_some(title)
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

/// A paragraph, or the cells of one table row.
enum Unit {
    Para(Para),
    Row(Vec<Para>),
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
                    ocr_confidence: None,
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
            ocr_confidence: None,
        });
    }
    Document {
        title: info_title
            .or(first_heading)
            .unwrap_or_else(|| fallback.to_string()),
        format: Format::Pdf,
        blocks,
        metadata: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

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

        let scan = sample("general/fire-evacuation-notice-scan.pdf");
        let r = parse_pdf_with(&scan, "x", Ocr::Off).unwrap_err();
        assert_eq!(
            r.reason(),
            "no text layer: its one page is only an image (a scan?); OCR is off (--no-ocr)"
        );
        // With Tesseract installed (scripts/test installs it) the scan is read.
        match ocr::unavailable() {
            None => {
                let d = parse_pdf(&scan, "x").unwrap();
                let text = d.text().to_lowercase();
                assert!(text.contains("raise the alarm"), "{text}");
                assert!(d.blocks.iter().all(|b| b.page == Some(1)));
                assert!(
                    d.blocks
                        .iter()
                        .all(|b| b.ocr_confidence.is_some_and(|c| c > 50))
                );
            }
            Some(why) => {
                let r = parse_pdf(&scan, "x").unwrap_err();
                assert!(r.reason().contains(why), "{r}");
            }
        }

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

    /// A PDF of these objects (numbered from 1; object 1 the catalog), with its cross-reference
    /// table.
    fn pdf_of(objects: &[&str]) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    #[test]
    fn a_pdf_with_a_reference_cycle_says_so_not_that_it_is_a_scan() {
        // The page's content is object 4, which is a reference to itself.
        let cycle = pdf_of(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>",
            "4 0 R",
        ]);
        let r = parse_pdf(&cycle, "x").unwrap_err();
        assert!(r.reason().starts_with("corrupt PDF: page 1: "), "{r}");
        assert!(r.reason().contains("reference cycle"), "{r}");
        assert!(!r.reason().contains("a scan"), "{r}");

        // The page tree's node is its own parent.
        let parents = pdf_of(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 2 0 R >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        ]);
        let r = parse_pdf(&parents, "x").unwrap_err();
        assert!(r.reason().starts_with("corrupt PDF: page 1: "), "{r}");
        assert!(r.reason().contains("reference cycle"), "{r}");

        // A page that draws nothing at all is not called a scan either.
        let empty = pdf_of(&[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> >>",
        ]);
        let r = parse_pdf(&empty, "x").unwrap_err();
        assert!(r.reason().starts_with("no text found: "), "{r}");
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
