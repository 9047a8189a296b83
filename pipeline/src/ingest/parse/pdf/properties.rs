//! What a PDF says about itself outside its pages: the document information dictionary
//! (`/Title`, and keys an organisation adds: `/Owner`, `/Version`, `/NextReview`) and the
//! XMP packet the catalog's `/Metadata` names (`dc:title`, and properties in any namespace
//! whose names are ours).

use pdf_extract::{Dictionary, Document, Object};
use quick_xml::{Reader, events::Event};

use super::normalise_space;
use crate::ingest::parse::metadata::{self, Fact};

/// Largest XMP packet read; real ones are a few kilobytes.
const MAX_XMP_BYTES: usize = 1 << 20;

/// The information dictionary, when the trailer has one.
pub(super) fn info(doc: &Document) -> Option<&Dictionary> {
    match doc.trailer.get(b"Info").ok()? {
        Object::Reference(id) => doc.get_dictionary(*id).ok(),
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// A PDF text string: UTF-16BE with a BOM, else PDFDocEncoding (Latin-1 for our purposes).
pub(super) fn pdf_string(raw: &[u8]) -> String {
    if let Some(rest) = raw.strip_prefix(b"\xFE\xFF") {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    raw.iter().map(|&b| char::from(b)).collect()
}

/// Facts from the information dictionary, then from the XMP packet.
pub(super) fn facts(doc: &Document) -> Vec<Fact> {
    let mut out = Vec::new();
    if let Some(info) = info(doc) {
        for (key, value) in info.iter() {
            let name = String::from_utf8_lossy(key).into_owned();
            let Ok(raw) = doc
                .dereference(value)
                .map(|(_, o)| o)
                .and_then(Object::as_str)
            else {
                continue;
            };
            let value = pdf_string(raw);
            if let Some(f) = metadata::property(&name, &value, || format!("PDF info /{name}")) {
                out.push(f);
            }
        }
    }
    if let Some(xml) = xmp_packet(doc) {
        for (name, value) in xmp_properties(&xml) {
            if let Some(f) = metadata::property(&name, &value, || format!("PDF XMP {name}")) {
                out.push(f);
            }
        }
    }
    out
}

fn xmp_packet(doc: &Document) -> Option<String> {
    let meta = doc.catalog().ok()?.get(b"Metadata").ok()?;
    let Object::Stream(stream) = doc.dereference(meta).ok()?.1 else {
        return None;
    };
    let bytes = if stream.dict.get(b"Filter").is_ok() {
        stream.decompressed_content().ok()?
    } else {
        stream.content.clone()
    };
    (bytes.len() <= MAX_XMP_BYTES).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// Elements and attributes of RDF that hold structure, not a property.
const STRUCTURE: &[&str] = &[
    "xmpmeta",
    "RDF",
    "Description",
    "Alt",
    "Seq",
    "Bag",
    "li",
    "about",
];

/// Properties of an XMP packet as (prefixed name, value): the text of an element (or of the
/// `rdf:li` inside it) under the nearest element that is not RDF structure, and the
/// attributes of `rdf:Description` (XMP's short form).
fn xmp_properties(xml: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out: Vec<(String, String)> = Vec::new();
    let structural = |qname: &str| {
        let local = qname.rsplit(':').next().unwrap_or(qname);
        STRUCTURE.contains(&local)
    };
    loop {
        match reader.read_event() {
            Ok(ev @ (Event::Start(_) | Event::Empty(_))) if matches!(&ev, Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Description") =>
            {
                let (Event::Start(e) | Event::Empty(e)) = &ev else {
                    continue;
                };
                for a in e.attributes().flatten() {
                    let key = a.key.as_ref().to_string();
                    if key.starts_with("xmlns") || structural(&key) {
                        continue;
                    }
                    if let Ok(v) = a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                        out.push((key, v.into_owned()));
                    }
                }
                if matches!(ev, Event::Start(_)) {
                    stack.push("rdf:Description".into());
                }
            }
            Ok(Event::Start(e)) => {
                stack.push(e.name().as_ref().to_string());
            }
            Ok(Event::End(_)) => {
                stack.pop();
            }
            Ok(Event::Text(t)) => {
                let text = normalise_space(&t.xml10_content());
                if text.is_empty() {
                    continue;
                }
                if let Some(name) = stack.iter().rev().find(|n| !structural(n)) {
                    match out.last_mut() {
                        // Text split by an entity continues one value.
                        Some((n, v)) if n == name && stack.last() == Some(n) => {
                            v.push(' ');
                            v.push_str(&text);
                        }
                        _ => out.push((name.clone(), text)),
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmp_elements_lists_and_short_form_attributes() {
        let xmp = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:nw="https://example.invalid/nw/" nw:Owner="Head of Model Risk">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Model Development SOP</rdf:li></rdf:Alt></dc:title>
<nw:NextReview>2025-02-28</nw:NextReview>
<dc:creator><rdf:Seq><rdf:li>A. Writer</rdf:li></rdf:Seq></dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
        let got = xmp_properties(xmp);
        assert_eq!(
            got,
            vec![
                ("nw:Owner".to_string(), "Head of Model Risk".to_string()),
                ("dc:title".to_string(), "Model Development SOP".to_string()),
                ("nw:NextReview".to_string(), "2025-02-28".to_string()),
                ("dc:creator".to_string(), "A. Writer".to_string()),
            ]
        );
        // Garbage is no properties, not a panic.
        assert!(xmp_properties("<x:xmpmeta><unclosed").is_empty());
    }
}
