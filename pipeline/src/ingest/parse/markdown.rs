//! Markdown through pulldown-cmark's parse tree (never regexes): headings set the path;
//! paragraphs, list items, table rows and code blocks become blocks.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{Block, BlockKind, Document, Format, normalise_space};
use crate::ingest::parse::metadata::{self, Fact};

/// Markdown through pulldown-cmark's parse tree: headings set the path, paragraphs, list
/// items, table rows and code blocks become blocks.
pub fn parse_markdown(src: &str, fallback_title: &str) -> Document {
    let mut headings: Vec<(HeadingLevel, String)> = Vec::new();
    let mut blocks = Vec::new();
    let mut title: Option<String> = None;
    let mut buf = String::new();
    let mut kind_stack: Vec<BlockKind> = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut metadata = Vec::new();

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
                ocr_confidence: None,
            });
        }
    };

    let mut front: Option<String> = None;
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    for event in Parser::new_ext(src, opts) {
        if let Some(f) = front.as_mut().filter(|_| !matches!(event, Event::End(_))) {
            if let Event::Text(t) = &event {
                f.push_str(t);
            }
            continue;
        }
        match event {
            Event::Start(Tag::MetadataBlock(_)) => front = Some(String::new()),
            Event::End(TagEnd::MetadataBlock(_)) => {
                metadata = front_matter(front.take().as_deref().unwrap_or_default());
            }
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
        metadata,
    }
}

/// Facts from YAML front matter (`---` … `---` at the top): keys that name a field, with
/// text or number values. Front matter that is not a YAML mapping yields nothing; the body
/// is read all the same.
fn front_matter(yaml: &str) -> Vec<Fact> {
    let Ok(map) = serde_yaml_ng::from_str::<serde_yaml_ng::Mapping>(yaml) else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| {
            let key = k.as_str()?;
            let value = match v {
                serde_yaml_ng::Value::String(s) => s.clone(),
                serde_yaml_ng::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            metadata::property(key, &value, || format!("Markdown front matter \"{key}\""))
        })
        .collect()
}

fn current(stack: &[BlockKind]) -> BlockKind {
    stack.last().copied().unwrap_or(BlockKind::Paragraph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_nested_100k_deep_is_read_without_overflowing_the_stack() {
        for depth in [10_000, 100_000] {
            // Block quotes inside block quotes, brackets and emphasis inside each other.
            let quotes = format!("# Deep\n\n{} quoted text\n\nafter\n", ">".repeat(depth));
            let d = parse_markdown(&quotes, "q");
            let texts: Vec<&str> = d.blocks.iter().map(|b| b.text.as_str()).collect();
            assert!(texts.iter().any(|t| t.contains("quoted text")), "{depth}");
            assert!(texts.contains(&"after"), "{depth}");
            let inline = format!("{}x{}\n\nafter\n", "[*".repeat(depth), "*]".repeat(depth));
            let d = parse_markdown(&inline, "i");
            assert!(d.blocks.iter().any(|b| b.text == "after"), "{depth}");
            let lists = format!("{}item\n\nafter\n", "- ".repeat(depth));
            let d = parse_markdown(&lists, "l");
            assert!(d.blocks.iter().any(|b| b.text == "after"), "{depth}");
        }
    }

    #[test]
    fn front_matter_is_metadata_not_text() {
        let md = "---\ntitle: AI Policy\nversion: 2.1\nowner: Chief Risk Officer\nnext_review: 2025-03-01\ntags: [a, b]\n---\n\n# AI Policy\n\nBody.\n";
        let d = parse_markdown(md, "x");
        assert_eq!(d.title, "AI Policy");
        assert_eq!(d.blocks.len(), 1, "{:?}", d.blocks);
        assert_eq!(d.blocks[0].text, "Body.");
        let got: Vec<(metadata::Field, &str, &str)> = d
            .metadata
            .iter()
            .map(|f| (f.field, f.value.as_str(), f.source.as_str()))
            .collect();
        use metadata::Field::*;
        assert_eq!(
            got,
            vec![
                (Title, "AI Policy", "Markdown front matter \"title\""),
                (Version, "2.1", "Markdown front matter \"version\""),
                (
                    Owner,
                    "Chief Risk Officer",
                    "Markdown front matter \"owner\""
                ),
                (
                    NextReview,
                    "2025-03-01",
                    "Markdown front matter \"next_review\""
                ),
            ]
        );
        // Broken front matter costs the metadata, not the document.
        let d = parse_markdown("---\n: [unclosed\n---\n\nBody.\n", "x");
        assert!(d.metadata.is_empty());
        assert_eq!(d.blocks.last().unwrap().text, "Body.");
    }

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
}
