//! HTML pages (intranet exports, saved web pages) through scraper's html5ever tree: the main
//! content (`<main>`, else the largest `<article>`, else `<body>`) with its headings,
//! paragraphs, list items and table rows. Scripts, styles, navigation, forms, asides and
//! the site's header and footer are dropped. [`decode_html`] finds the page's encoding (a
//! BOM, else a `<meta charset>` near the top) before any of that.

use ego_tree::{NodeId, NodeRef, iter::Edge};
use scraper::{ElementRef, Html, Node, Selector};

use super::{Block, BlockKind, Document, Format, HeadingPath, decode_text, normalise_space};
use crate::ingest::parse::metadata::{self, Fact};

/// Elements whose content is never document text.
const DROPPED: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "aside", "form", "button", "select",
    "textarea", "svg", "iframe", "object", "canvas", "head", "dialog", "menu",
];

/// Elements that end a run of text (everything else is inline).
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "blockquote",
    "dd",
    "dt",
    "dl",
    "figure",
    "figcaption",
    "address",
    "details",
    "summary",
    "hr",
    "ul",
    "ol",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "caption",
    "body",
    "center",
    "fieldset",
    "legend",
];

/// How far into a page [`decode_html`] looks for `<meta charset>`; the HTML standard's
/// prescan (<https://html.spec.whatwg.org/multipage/parsing.html#prescan-a-byte-stream-to-determine-its-encoding>)
/// stops at 1024 bytes too.
const PRESCAN_BYTES: usize = 1024;

/// Decodes a page's bytes: a BOM wins, then the encoding a `<meta charset=…>` or
/// `<meta http-equiv="Content-Type" content="…; charset=…">` in the first 1024 bytes
/// declares, then [`decode_text`]'s guess (UTF-8, else Windows-1252). A page declared as
/// UTF-16 without a BOM is read as UTF-8, as browsers do.
pub fn decode_html(bytes: &[u8]) -> String {
    if encoding_rs::Encoding::for_bom(bytes).is_some() {
        return decode_text(bytes);
    }
    match declared_charset(&bytes[..bytes.len().min(PRESCAN_BYTES)]) {
        Some(enc) => {
            let enc = if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
                encoding_rs::UTF_8
            } else {
                enc
            };
            enc.decode_without_bom_handling(bytes).0.into_owned()
        }
        None => decode_text(bytes),
    }
}

/// The encoding named by the first `<meta>` tag that names one; labels as the Encoding
/// standard reads them (`latin1` is Windows-1252, `iso-8859-2`, `shift_jis`, …).
fn declared_charset(head: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = find(&lower[at..], b"<meta") {
        let start = at + i + 5;
        let end = find(&lower[start..], b">").map_or(lower.len(), |j| start + j);
        let tag = &lower[start..end];
        if let Some(k) = find(tag, b"charset") {
            let value = tag[k + 7..]
                .iter()
                .skip_while(|b| b.is_ascii_whitespace())
                .skip_while(|&&b| b == b'=')
                .skip_while(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\''))
                .take_while(|b| {
                    !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\'' | b';' | b'/')
                })
                .copied()
                .collect::<Vec<u8>>();
            if let Some(enc) = encoding_rs::Encoding::for_label(&value) {
                return Some(enc);
            }
        }
        at = end;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses an HTML page; `fallback_title` is used when it has neither `<h1>` nor `<title>`.
pub fn parse_html(src: &str, fallback_title: &str) -> Document {
    let html = Html::parse_document(src);
    let root = main_content(&html);
    let in_content_root = root
        .map(|r| matches!(r.value().name(), "main" | "article"))
        .unwrap_or(false);
    let mut w = Walker {
        headings: HeadingPath::default(),
        blocks: Vec::new(),
        buf: String::new(),
        h1: None,
        // Inside <main>/<article>, a <header> holds the page's own title: keep it.
        drop_header_footer: !in_content_root,
    };
    match root {
        Some(r) => w.walk(*r),
        None => w.walk(html.tree.root()),
    }
    w.flush(BlockKind::Paragraph);
    let title =
        w.h1.clone()
            .or_else(|| page_title(&html))
            .unwrap_or_else(|| fallback_title.to_string());
    Document {
        title,
        format: Format::Html,
        blocks: w.blocks,
        metadata: meta_facts(&html),
    }
}

/// Facts from `<meta name="…" content="…">` tags (or `property=`): names such as `owner`,
/// `version`, `last-reviewed`, `next-review`, `dcterms.issued`, `classification`.
fn meta_facts(html: &Html) -> Vec<Fact> {
    select(html, "meta[content]")
        .into_iter()
        .filter_map(|m| {
            let e = m.value();
            let name = e.attr("name").or_else(|| e.attr("property"))?;
            let content = e.attr("content")?;
            metadata::property(name, content, || {
                format!("HTML <meta name=\"{}\">", name.trim())
            })
        })
        .collect()
}

fn select<'a>(html: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    let sel = Selector::parse(css).expect("a valid built-in selector");
    html.select(&sel).collect()
}

/// `<main>` (or `role="main"`), else the `<article>` with the most text, else `<body>`.
fn main_content(html: &Html) -> Option<ElementRef<'_>> {
    if let Some(m) = select(html, "main, [role=main]").into_iter().next() {
        return Some(m);
    }
    let articles = select(html, "article");
    if let Some(a) = articles
        .into_iter()
        .max_by_key(|a| a.text().map(str::len).sum::<usize>())
    {
        return Some(a);
    }
    select(html, "body").into_iter().next()
}

fn page_title(html: &Html) -> Option<String> {
    let t = normalise_space(&select(html, "title").first()?.text().collect::<String>());
    // "Page | Site" or "Page – Site": the page's own name comes first.
    let cut = [" | ", " – ", " — ", " - "]
        .iter()
        .filter_map(|sep| t.find(sep))
        .min()
        .unwrap_or(t.len());
    let own = t[..cut].trim();
    (!own.is_empty()).then(|| own.to_string())
}

struct Walker {
    headings: HeadingPath,
    blocks: Vec<Block>,
    buf: String,
    h1: Option<String>,
    drop_header_footer: bool,
}

impl Walker {
    fn flush(&mut self, kind: BlockKind) {
        let text = normalise_space(&self.buf);
        self.buf.clear();
        if !text.is_empty() {
            self.blocks.push(Block {
                headings: self.headings.path(),
                kind,
                text,
                page: None,
                ocr_confidence: None,
            });
        }
    }

    /// Reads `root`'s subtree in document order. Iterative, over the tree's open and close
    /// edges, so that a page nested 100,000 elements deep costs time, not the stack; a subtree
    /// read whole (a heading, a table row) or dropped is skipped to its close.
    fn walk(&mut self, root: NodeRef<'_, Node>) {
        let mut skip: Option<NodeId> = None;
        // Open list items: their text is flushed as list items.
        let mut items = 0usize;
        for edge in root.traverse() {
            match edge {
                Edge::Open(node) if skip.is_none() => {
                    if !self.open(node, items > 0) {
                        skip = Some(node.id());
                    } else if is_element(node, &["li"]) {
                        items += 1;
                    }
                }
                Edge::Open(_) => {}
                Edge::Close(node) => {
                    if skip.is_some() {
                        if skip == Some(node.id()) {
                            skip = None;
                        }
                        continue;
                    }
                    let Node::Element(el) = node.value() else {
                        continue;
                    };
                    let name = el.name();
                    if name == "li" {
                        items -= 1;
                        self.flush(BlockKind::ListItem);
                    } else if BLOCKS.contains(&name) {
                        self.flush(item_or_paragraph(items > 0));
                    }
                }
            }
        }
    }

    /// Handles `node` as the walk enters it (`in_item`: inside a list item); whether to go
    /// on into its children.
    fn open(&mut self, node: NodeRef<'_, Node>, in_item: bool) -> bool {
        let el = match node.value() {
            Node::Text(t) => {
                self.buf.push_str(t);
                return false;
            }
            Node::Element(el) => el,
            Node::Document | Node::Fragment => return true,
            _ => return false,
        };
        let name = el.name();
        let hidden = el.attr("hidden").is_some()
            || el.attr("aria-hidden") == Some("true")
            || matches!(
                el.attr("role"),
                Some("navigation" | "banner" | "contentinfo" | "search" | "complementary")
            );
        if DROPPED.contains(&name)
            || hidden
            || (self.drop_header_footer && matches!(name, "header" | "footer"))
        {
            return false;
        }
        let here = item_or_paragraph(in_item);
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush(here);
                let text = normalise_space(&text_of(node));
                let level = u32::from(name.as_bytes()[1] - b'0');
                if level == 1 && self.h1.is_none() && !text.is_empty() {
                    self.h1 = Some(text.clone());
                }
                self.headings.push(level, text);
                false
            }
            "tr" => {
                self.flush(here);
                let cells: Vec<String> = node
                    .children()
                    .filter(|&c| is_element(c, &["td", "th"]))
                    .map(|c| normalise_space(&text_of(c)))
                    .collect();
                if cells.iter().any(|c| !c.is_empty()) {
                    self.buf = cells.join(" | ");
                    self.flush(BlockKind::TableRow);
                }
                false
            }
            "pre" => {
                self.flush(here);
                let code = text_of(node);
                let code = code.trim_matches('\n').trim_end();
                if !code.trim().is_empty() {
                    self.blocks.push(Block {
                        headings: self.headings.path(),
                        kind: BlockKind::Code,
                        text: code.to_string(),
                        page: None,
                        ocr_confidence: None,
                    });
                }
                false
            }
            "br" => {
                self.buf.push(' ');
                false
            }
            "img" => false,
            "li" => {
                self.flush(here);
                true
            }
            _ if BLOCKS.contains(&name) => {
                self.flush(here);
                true
            }
            _ => true,
        }
    }
}

fn item_or_paragraph(in_item: bool) -> BlockKind {
    if in_item {
        BlockKind::ListItem
    } else {
        BlockKind::Paragraph
    }
}

fn is_element(node: NodeRef<'_, Node>, names: &[&str]) -> bool {
    matches!(node.value(), Node::Element(e) if names.contains(&e.name()))
}

/// The text under `node`, with block elements and `<br>` separated by spaces and dropped
/// elements left out (iterative, as [`Walker::walk`]).
fn text_of(node: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    let mut skip: Option<NodeId> = None;
    let is_block =
        |e: &scraper::node::Element| BLOCKS.contains(&e.name()) || matches!(e.name(), "br" | "li");
    for edge in node.traverse() {
        match edge {
            Edge::Open(n) if skip.is_none() => match n.value() {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) if DROPPED.contains(&e.name()) || e.attr("hidden").is_some() => {
                    skip = Some(n.id());
                }
                Node::Element(e) if is_block(e) => out.push(' '),
                _ => {}
            },
            Edge::Open(_) => {}
            Edge::Close(n) => {
                if skip.is_some() {
                    if skip == Some(n.id()) {
                        skip = None;
                    }
                } else if matches!(n.value(), Node::Element(e) if is_block(e)) {
                    out.push(' ');
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(d: &Document) -> Vec<(String, BlockKind, &str)> {
        d.blocks
            .iter()
            .map(|b| (b.headings.join(" › "), b.kind, b.text.as_str()))
            .collect()
    }

    #[test]
    fn main_content_with_headings_lists_and_tables() {
        let page = r#"<!DOCTYPE html><html><head><title>AI Policy | The Hub</title>
<style>p { color: red }</style><script>var x = "<p>not text</p>";</script></head>
<body><header class="site"><a href="/">The Hub</a><nav><a href="/a">News</a></nav></header>
<div class="cookie">We use cookies.</div>
<main><article><header><h1>AI  Policy</h1><p>Version 2</p></header>
<section><h2>1. Scope</h2><p>This policy <b>applies</b> to
all staff.<br>And contractors.</p>
<ul><li>First rule</li><li>Second <em>rule</em><ul><li>Nested</li></ul></li></ul>
<table><thead><tr><th>Role</th><th>Duty</th></tr></thead>
<tbody><tr><td>Owner</td><td><p>Approves</p><p>Reviews</p></td></tr></tbody></table>
<noscript>Enable JavaScript</noscript><aside>Related pages</aside>
<form><input name="q"> Search</form><p hidden>Secret draft</p>
</section><h3>1.1 Detail</h3><pre>  code here
  more</pre></article></main>
<footer class="site-footer">Regulated by the FCA.</footer></body></html>"#;
        let d = parse_html(page, "x");
        assert_eq!(d.title, "AI Policy");
        use BlockKind::*;
        assert_eq!(
            got(&d),
            vec![
                ("AI Policy".into(), Paragraph, "Version 2"),
                (
                    "AI Policy › 1. Scope".into(),
                    Paragraph,
                    "This policy applies to all staff. And contractors."
                ),
                ("AI Policy › 1. Scope".into(), ListItem, "First rule"),
                ("AI Policy › 1. Scope".into(), ListItem, "Second rule"),
                ("AI Policy › 1. Scope".into(), ListItem, "Nested"),
                ("AI Policy › 1. Scope".into(), TableRow, "Role | Duty"),
                (
                    "AI Policy › 1. Scope".into(),
                    TableRow,
                    "Owner | Approves Reviews"
                ),
                (
                    "AI Policy › 1. Scope › 1.1 Detail".into(),
                    Code,
                    "  code here\n  more"
                ),
            ]
        );
    }

    #[test]
    fn meta_tags_give_metadata() {
        let page = r#"<html><head><title>T</title>
            <meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <meta name="owner" content="Head of People"><meta name="dcterms.issued" content="2024-02-01">
            <meta name="next-review" content="February 2025"><meta property="classification" content="Public">
            </head><body><main><h1>T</h1><p>Body.</p></main></body></html>"#;
        let d = parse_html(page, "x");
        let got: Vec<(&str, &str)> = d
            .metadata
            .iter()
            .map(|f| (f.value.as_str(), f.source.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Head of People", "HTML <meta name=\"owner\">"),
                ("2024-02-01", "HTML <meta name=\"dcterms.issued\">"),
                ("February 2025", "HTML <meta name=\"next-review\">"),
                ("Public", "HTML <meta name=\"classification\">"),
            ]
        );
        assert_eq!(d.metadata[2].field, metadata::Field::NextReview);
    }

    #[test]
    fn without_main_the_body_minus_boilerplate_is_read() {
        let page = "<html><head><title>Visitors – Intranet</title></head><body>\
            <header>Site name</header><nav>Home</nav><h2>Badges</h2>\
            <p>Visitors wear a badge.</p><footer>Copyright</footer></body></html>";
        let d = parse_html(page, "x");
        assert_eq!(d.title, "Visitors");
        assert_eq!(
            got(&d),
            vec![(
                "Badges".into(),
                BlockKind::Paragraph,
                "Visitors wear a badge."
            )]
        );
    }

    #[test]
    fn meta_charset_decides_the_encoding() {
        // "Właściciel" in ISO-8859-2: read as Windows-1252 it would be "W³a¶ciciel".
        let page = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-2\">\
            </head><body><p>W\xb3a\xb6ciciel</p></body></html>";
        assert!(decode_html(page).contains("W\u{142}a\u{15b}ciciel"));
        let page = b"<meta charset='windows-1251'><p>\xcf\xee\xeb\xe8\xf2\xe8\xea\xe0</p>";
        assert!(
            decode_html(page).contains("\u{41f}\u{43e}\u{43b}\u{438}\u{442}\u{438}\u{43a}\u{430}")
        );
        // No declaration: UTF-8 when it is valid, else Windows-1252.
        assert_eq!(
            decode_html("<p>caf\u{e9}</p>".as_bytes()),
            "<p>caf\u{e9}</p>"
        );
        assert_eq!(decode_html(b"<p>\x80 5</p>"), "<p>\u{20ac} 5</p>");
        // A BOM beats the declaration; an unknown label is ignored; UTF-16 means UTF-8.
        assert_eq!(
            decode_html(b"\xef\xbb\xbf<meta charset=iso-8859-2><p>\xc5\x82</p>"),
            "<meta charset=iso-8859-2><p>\u{142}</p>"
        );
        assert_eq!(
            decode_html(b"<meta charset=bogus><p>\xe9</p>"),
            "<meta charset=bogus><p>\u{e9}</p>"
        );
        assert_eq!(
            decode_html(b"<meta charset=utf-16><p>ok</p>"),
            "<meta charset=utf-16><p>ok</p>"
        );
    }

    #[test]
    fn a_page_nested_100k_deep_is_read_without_overflowing_the_stack() {
        for depth in [10_000, 100_000] {
            let page = format!(
                "<html><body>{}<p>deep text</p>{}<p>after</p></body></html>",
                "<div>".repeat(depth),
                "</div>".repeat(depth)
            );
            let d = parse_html(&page, "deep");
            let texts: Vec<&str> = d.blocks.iter().map(|b| b.text.as_str()).collect();
            assert!(texts.contains(&"deep text"), "{depth}: {texts:?}");
            assert!(texts.contains(&"after"), "{depth}: {texts:?}");
            // Deep inline elements, and deep lists, too.
            let page = format!(
                "<p>{}inline{}</p>",
                "<b>".repeat(depth),
                "</b>".repeat(depth)
            );
            assert_eq!(parse_html(&page, "b").blocks[0].text, "inline");
            let page = format!(
                "<h2>{}title{}</h2><p>x</p>",
                "<i>".repeat(depth),
                "</i>".repeat(depth)
            );
            assert_eq!(parse_html(&page, "h").blocks[0].headings, ["title"]);
        }
    }

    #[test]
    fn fragments_and_garbage_do_not_panic() {
        assert!(parse_html("", "empty").blocks.is_empty());
        let d = parse_html("<p>Loose <b>text</p></div></table>", "frag");
        assert_eq!(d.title, "frag");
        assert_eq!(d.blocks[0].text, "Loose text");
        let _ = parse_html("<<<>>><table><tr><td>a<td>b<tr><td>c", "x");
    }
}
