//! A package's properties as metadata facts: `docProps/core.xml` (title, version) and
//! `docProps/custom.xml` (properties an organisation names itself: "Owner", "Next review
//! date", "Classification"…). Unreadable properties are passed over: they cost the
//! metadata, never the document.

use std::io::Cursor;

use quick_xml::{
    Reader,
    events::{BytesStart, Event},
};
use zip::ZipArchive;

use super::{push_ref, read_part};
use crate::ingest::parse::{
    metadata::{self, Fact},
    normalise_space,
};

pub(super) fn facts(zip: &mut ZipArchive<Cursor<&[u8]>>, max_part: u64) -> Vec<Fact> {
    let mut facts = Vec::new();
    if let Ok(Some(xml)) = read_part(zip, "docProps/core.xml", max_part) {
        // Every core property is an element holding its value.
        let named = |e: &BytesStart| Some(e.local_name().as_ref().to_string());
        for (name, value) in values(&xml, named) {
            // Of the core properties only these name our fields; `revision` counts saves and
            // `creator` is whoever made the file, not its owner.
            if matches!(name.as_str(), "title" | "version")
                && let Some(f) =
                    metadata::property(&name, &value, || format!("DOCX core property {name}"))
            {
                facts.push(f);
            }
        }
    }
    if let Ok(Some(xml)) = read_part(zip, "docProps/custom.xml", max_part) {
        // `<property name="Owner"><vt:lpwstr>Head of Risk</vt:lpwstr></property>`, any value
        // type inside.
        let named = |e: &BytesStart| {
            if e.local_name().as_ref() != "property" {
                return None;
            }
            let a = e.try_get_attribute("name").ok().flatten()?;
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()?;
            Some(v.into_owned())
        };
        for (name, value) in values(&xml, named) {
            if let Some(f) =
                metadata::property(&name, &value, || format!("DOCX custom property \"{name}\""))
            {
                facts.push(f);
            }
        }
    }
    facts
}

/// Each named value in `xml`: `named` gives the name an element opens (`None` for elements
/// inside a value), and the value is the text up to the next closing tag.
fn values(xml: &str, named: impl Fn(&BytesStart) -> Option<String>) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if let Some(name) = named(&e) {
                    current = Some((name, String::new()));
                }
            }
            Ok(Event::Text(t)) => {
                if let Some((_, v)) = current.as_mut() {
                    v.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some((_, v)) = current.as_mut() {
                    push_ref(v, &r);
                }
            }
            Ok(Event::End(_)) => {
                if let Some((name, value)) = current.take() {
                    let value = normalise_space(&value);
                    if !value.is_empty() {
                        out.push((name, value));
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}
