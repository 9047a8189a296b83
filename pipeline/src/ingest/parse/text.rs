//! Plain text: decoding any byte sequence, and paragraphs with headings guessed from
//! numbering and capitals.

use super::{Block, BlockKind, Document, Format, normalise_space};

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
                    ocr_confidence: None,
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
                ocr_confidence: None,
            });
        }
    }
    Document {
        title: title.unwrap_or_else(|| fallback_title.to_string()),
        format: Format::Text,
        blocks,
        metadata: Vec::new(),
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

pub(crate) fn text_heading_level(line: &str) -> Option<usize> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
