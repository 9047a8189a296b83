//! A page's glyphs laid out as text: lines in reading order, running headers and footers
//! dropped, lines joined into paragraphs (hyphenation undone), table rows found, and the
//! tests that tell headings, clauses and list items apart.

use std::collections::HashMap;

use super::{Glyph, Line, Para, Unit, expand_ligatures};
use crate::ingest::parse::normalise_space;
use crate::ingest::parse::text::text_heading_level;

/// Glyphs in content-stream order into lines: a glyph continues the line when it sits on
/// the same baseline, to the right of (or just overlapping) the previous one.
pub(super) fn lines_of(glyphs: &[Glyph]) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for g in glyphs {
        if g.text.is_empty() {
            continue;
        }
        let text = expand_ligatures(&g.text);
        if let Some(l) = lines.last_mut() {
            let same_baseline = (g.y - l.y).abs() <= 0.4 * l.size.max(g.size);
            // Wider gaps separate table cells or columns that share a baseline; a list
            // marker is followed by an indent.
            let reach = if is_list_marker(&l.text) { 6.0 } else { 1.2 };
            let onward = g.x >= l.end - 0.5 * g.size && g.x <= l.end + reach * g.size;
            if same_baseline && onward {
                let gap = g.x - l.end;
                if gap > 0.15 * g.size && !l.text.ends_with(' ') && !text.starts_with(' ') {
                    l.text.push(' ');
                }
                l.text.push_str(&text);
                l.end = l.end.max(g.end);
                l.size = l.size.max(g.size);
                continue;
            }
        }
        if text.trim().is_empty() {
            continue;
        }
        lines.push(Line {
            x: g.x,
            end: g.end,
            y: g.y,
            size: g.size,
            text,
        });
    }
    for l in &mut lines {
        l.text = normalise_space(&l.text);
    }
    lines.retain(|l| !l.text.is_empty());
    lines
}

/// Text streams written out of order (bottom first, scattered) are put top to bottom;
/// streams already in reading order, including table cells written cell by cell, are kept.
pub(super) fn reading_order(mut lines: Vec<Line>) -> Vec<Line> {
    let upward = lines
        .windows(2)
        .filter(|w| {
            let overlap = w[1].x < w[0].end && w[0].x < w[1].end;
            overlap && w[1].y < w[0].y - 2.0 * w[0].size
        })
        .count();
    if lines.len() > 4 && upward * 3 > lines.len() {
        lines.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    }
    lines
}

/// The key under which running headers and footers repeat: digits do not count, so
/// "Page 3 of 4" and "Page 4 of 4" match.
pub(super) fn running_key(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// A line that is only a page number: "7", "- 7 -", "Page 7", "Page 7 of 9", "7/9".
pub(super) fn is_page_number(text: &str) -> bool {
    let t = text
        .trim()
        .trim_matches(|c: char| c == '-' || c == '–' || c.is_whitespace());
    let t = t
        .strip_prefix("Page ")
        .or_else(|| t.strip_prefix("page "))
        .unwrap_or(t);
    let mut parts = t.split(" of ").flat_map(|p| p.split('/'));
    parts.all(|p| {
        let p = p.trim();
        !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit())
    })
}

/// How many lines at each end of a page may be running headers or footers.
pub(super) const MARGIN_LINES: usize = 3;

/// Drops running headers and footers: lines near the top or bottom of a page whose key
/// occurs in the same band on at least half the pages (and on two at least), and lone
/// page numbers there.
pub(super) fn drop_running_lines(pages: &mut [(u32, f64, Vec<Line>)]) {
    let in_band = |lines: &[Line], i: usize, height: f64| {
        let l = &lines[i];
        let top = i < MARGIN_LINES && l.y < height * 0.15;
        let bottom = i + MARGIN_LINES >= lines.len() && l.y > height * 0.85;
        top || bottom
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (_, height, lines) in pages.iter() {
        let mut seen: Vec<String> = Vec::new();
        for i in 0..lines.len() {
            if in_band(lines, i, *height) {
                let k = running_key(&lines[i].text);
                if !seen.contains(&k) {
                    seen.push(k);
                }
            }
        }
        for k in seen {
            *counts.entry(k).or_default() += 1;
        }
    }
    let needed = (pages.len() / 2).max(2);
    for (_, height, lines) in pages.iter_mut() {
        let keep: Vec<bool> = (0..lines.len())
            .map(|i| {
                if !in_band(lines, i, *height) {
                    return true;
                }
                let repeated = counts
                    .get(&running_key(&lines[i].text))
                    .copied()
                    .unwrap_or(0)
                    >= needed;
                !(repeated || is_page_number(&lines[i].text))
            })
            .collect();
        let mut k = keep.iter();
        lines.retain(|_| *k.next().unwrap_or(&true));
    }
}

/// Words in the document, to decide how to join a word split at a line end.
pub(super) fn vocabulary(pages: &[(u32, f64, Vec<Line>)]) -> HashMap<String, usize> {
    let mut words = HashMap::new();
    for (_, _, lines) in pages {
        for l in lines {
            for w in l.text.split_whitespace() {
                let w = w
                    .trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
                    .to_lowercase();
                if !w.is_empty() {
                    *words.entry(w).or_default() += 1;
                }
            }
        }
    }
    words
}

/// Appends `next` to a paragraph's text, joining a word hyphenated at the line end: the
/// hyphen goes when the document spells the word without it elsewhere, or when it splits
/// a lower-case word the document never spells with a hyphen; otherwise it stays
/// ("NCS-3", "risk-based") and only the line break goes.
pub(super) fn join_line(text: &mut String, next: &str, vocab: &HashMap<String, usize>) {
    if let Some(stem) = text.strip_suffix('\u{AD}') {
        let stem_len = stem.len();
        text.truncate(stem_len);
        text.push_str(next);
        return;
    }
    let ends_hyphen = text.ends_with('-') || text.ends_with('\u{2010}');
    let before = text.trim_end_matches(['-', '\u{2010}']).chars().last();
    if ends_hyphen && before.is_some_and(char::is_alphanumeric) {
        let head: String = text
            .trim_end_matches(['-', '\u{2010}'])
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .trim_start_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let tail: String = next
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        let joined = vocab.contains_key(&format!("{head}{tail}"));
        let hyphenated = vocab.contains_key(&format!("{head}-{tail}"));
        let lower_split = before.is_some_and(char::is_lowercase)
            && next.chars().next().is_some_and(char::is_lowercase);
        if joined || (lower_split && !hyphenated) {
            let cut = text.trim_end_matches(['-', '\u{2010}']).len();
            text.truncate(cut);
        }
        text.push_str(next);
        return;
    }
    text.push(' ');
    text.push_str(next);
}

/// Lines into paragraphs: a line continues the paragraph when it is the next line down
/// (at most about one and a half line heights below), overlaps it horizontally and is set
/// in the same size.
pub(super) fn paragraphs(
    pages: &[(u32, f64, Vec<Line>)],
    vocab: &HashMap<String, usize>,
) -> Vec<Para> {
    let mut out: Vec<Para> = Vec::new();
    for (number, _, lines) in pages {
        let mut current: Option<Para> = None;
        for l in lines {
            if let Some(p) = &mut current {
                let dy = l.y - p.last.y;
                let close = dy > 0.3 * l.size && dy <= 1.6 * p.last.size.max(l.size);
                let overlap = l.x < p.last.end && p.last.x < l.end;
                let same_size = (l.size - p.size).abs() <= 0.12 * p.size;
                // A numbered clause ("4.2 The owner …") starts a paragraph of its own.
                let new_clause = starts_clause(&l.text) || is_bullet(&l.text);
                if close && overlap && same_size && !new_clause {
                    join_line(&mut p.text, &l.text, vocab);
                    p.lines += 1;
                    p.x0 = p.x0.min(l.x);
                    p.x1 = p.x1.max(l.end);
                    p.last = l.clone();
                    continue;
                }
            }
            out.extend(current.take());
            current = Some(Para {
                page: *number,
                lines: 1,
                size: l.size,
                top: l.y,
                x0: l.x,
                x1: l.end,
                last: l.clone(),
                text: l.text.clone(),
            });
        }
        out.extend(current);
    }
    out
}

/// Table rows from paragraphs: consecutive paragraphs on one page that start on the same
/// baseline, each to the right of the one before, are the cells of a row (writers emit a
/// table row by row, cell by cell).
pub(super) fn table_rows(paras: Vec<Para>) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let mut row: Vec<Para> = Vec::new();
    let flush = |row: &mut Vec<Para>, out: &mut Vec<Unit>| match row.len() {
        0 => {}
        1 => out.push(Unit::Para(row.pop().expect("one cell"))),
        _ => out.push(Unit::Row(std::mem::take(row))),
    };
    for p in paras {
        let continues = row.last().is_some_and(|prev| {
            prev.page == p.page
                && (p.top - row[0].top).abs() <= 0.4 * p.size.max(prev.size)
                && p.x0 >= prev.x1 - 0.5 * p.size
        });
        if !continues {
            flush(&mut row, &mut out);
        }
        row.push(p);
    }
    flush(&mut row, &mut out);
    out
}

/// A line that starts a numbered clause or section: "4.2 The owner …", "3. Roles".
pub(super) fn starts_clause(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let (Some(first), Some(second)) = (words.next(), words.next()) else {
        return false;
    };
    is_clause_number(first) && second.starts_with(|c: char| c.is_uppercase())
}

/// "4.2", "4.2.1", "12." — a clause number (a dot, parts of at most three digits, not a
/// decimal such as "0.80").
pub(super) fn is_clause_number(word: &str) -> bool {
    let parts: Vec<&str> = word.strip_suffix('.').unwrap_or(word).split('.').collect();
    word.contains('.')
        && !word.starts_with("0")
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()))
}

/// The size most of the text is set in.
pub(super) fn body_size(paras: &[Para]) -> f64 {
    let mut by_size: HashMap<i64, usize> = HashMap::new();
    for p in paras {
        *by_size.entry((p.size * 2.0).round() as i64).or_default() += p.text.len();
    }
    by_size
        .into_iter()
        .max_by_key(|&(s, n)| (n, -s))
        .map(|(s, _)| s as f64 / 2.0)
        .unwrap_or(10.0)
}

/// A body-size line numbered like a section heading: "4.2 Scope", "3. Roles". Numbered
/// clauses ("4.1 The owner shall …") run on and end with a full stop, and table cells
/// ("1 Initiation") have no dot, so they do not match.
pub(super) fn is_numbered_heading(text: &str) -> bool {
    let Some(first) = text.split_whitespace().next() else {
        return false;
    };
    let words = text.split_whitespace().count();
    first.chars().next().is_some_and(|c| c.is_ascii_digit())
        && first.contains('.')
        && words <= 8
        && !text.ends_with(':')
        && text_heading_level(text).is_some()
}

pub(super) const BULLETS: &[char] = &[
    '•', '▪', '◦', '‣', '●', '○', '■', '□', '–', '-', '*', '·', '\u{F0B7}',
];

pub(super) fn is_bullet(text: &str) -> bool {
    text.starts_with(BULLETS) && text.chars().nth(1) == Some(' ')
}

/// A bullet or a list number standing alone: "•", "1.", "a)", "(iv)".
pub(super) fn is_list_marker(text: &str) -> bool {
    let t = text.trim();
    if t.chars().count() == 1 && t.starts_with(BULLETS) {
        return true;
    }
    let inner = t.strip_prefix('(').unwrap_or(t);
    let Some(inner) = inner.strip_suffix(['.', ')']) else {
        return false;
    };
    !inner.is_empty()
        && inner.len() <= 4
        && ((inner.len() <= 3 && inner.chars().all(|c| c.is_ascii_digit()))
            || inner.chars().all(|c| c.is_ascii_lowercase())
            || inner
                .chars()
                .all(|c| matches!(c, 'i' | 'v' | 'x' | 'I' | 'V' | 'X')))
}
