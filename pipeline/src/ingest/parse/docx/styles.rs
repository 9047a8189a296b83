//! Paragraph styles: which make headings (from the style's name or outline level, so
//! localised style IDs work), list items or table-of-contents entries.

use std::collections::HashMap;

use quick_xml::{Reader, events::Event};

/// What a paragraph style means for us.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Style {
    /// 0 for Title, 1..=9 for headings.
    pub heading: Option<u32>,
    pub list: bool,
    /// Table-of-contents entries repeat the headings: dropped.
    pub toc: bool,
    based_on: Option<String>,
}

/// Reads `word/styles.xml` into style ID → meaning, with `basedOn` resolved.
pub(super) fn parse_styles(xml: &str) -> HashMap<String, Style> {
    let mut styles: HashMap<String, Style> = HashMap::new();
    let mut reader = Reader::from_str(xml);
    let mut current: Option<(String, Style)> = None;
    loop {
        let (e, is_end) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) if e.local_name().as_ref() == "style" => {
                if let Some((id, s)) = current.take() {
                    styles.insert(id, s);
                }
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => continue,
        };
        let val = || {
            e.try_get_attribute("w:val")
                .ok()
                .flatten()
                .map(|a| a.value.into_owned())
        };
        match e.local_name().as_ref() {
            "style" if !is_end => {
                let id = e
                    .try_get_attribute("w:styleId")
                    .ok()
                    .flatten()
                    .map(|a| a.value.into_owned())
                    .unwrap_or_default();
                current = Some((id.clone(), style_from_id(&id)));
            }
            "name" => {
                if let (Some((_, s)), Some(name)) = (&mut current, val()) {
                    let by_name = style_from_name(&name);
                    s.heading = s.heading.or(by_name.heading);
                    s.list |= by_name.list;
                    s.toc |= by_name.toc;
                }
            }
            "basedOn" => {
                if let Some((_, s)) = &mut current {
                    s.based_on = val();
                }
            }
            "outlineLvl" => {
                if let (Some((_, s)), Some(l)) =
                    (&mut current, val().and_then(|v| v.parse::<u32>().ok()))
                    && l < 9
                    && s.heading.is_none()
                {
                    s.heading = Some(l + 1);
                }
            }
            "numPr" => {
                if let Some((_, s)) = &mut current
                    && s.heading.is_none()
                {
                    s.list = true;
                }
            }
            _ => {}
        }
    }
    // Inherit from `basedOn` (a few levels; cycles end there).
    let snapshot = styles.clone();
    for s in styles.values_mut() {
        let mut base = s.based_on.clone();
        for _ in 0..8 {
            let Some(b) = base.as_ref().and_then(|b| snapshot.get(b)) else {
                break;
            };
            s.heading = s.heading.or(b.heading);
            s.list |= b.list && s.heading.is_none();
            s.toc |= b.toc;
            base = b.based_on.clone();
        }
    }
    styles
}

/// Built-in English style names (Word writes these whatever the UI language).
fn style_from_name(name: &str) -> Style {
    let n = name.trim().to_ascii_lowercase();
    let mut s = Style::default();
    if n == "title" {
        s.heading = Some(0);
    } else if let Some(l) = n
        .strip_prefix("heading ")
        .and_then(|l| l.parse::<u32>().ok())
    {
        s.heading = (1..=9).contains(&l).then_some(l);
    } else if n.starts_with("toc ") || n == "toc heading" {
        s.toc = true;
    } else if n.starts_with("list") {
        s.list = true;
    }
    s
}

/// Style IDs, for files without `styles.xml` (pandoc and Word use these English IDs).
pub(super) fn style_from_id(id: &str) -> Style {
    let lower = id.to_ascii_lowercase();
    let mut s = Style::default();
    if lower == "title" {
        s.heading = Some(0);
    } else if let Some(l) = lower
        .strip_prefix("heading")
        .and_then(|l| l.parse::<u32>().ok())
    {
        s.heading = (1..=9).contains(&l).then_some(l);
    } else if lower.starts_with("toc") {
        s.toc = true;
    } else if lower.starts_with("list") {
        s.list = true;
    }
    s
}
