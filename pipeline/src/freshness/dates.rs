//! Dates as policies write them: ISO (`2024-03-12`, `2024-03`), "12 March 2024",
//! "March 12, 2024", "March 2024", "03/2024", "12/03/2024", "12.03.24", and the dates of file
//! properties (`2024-03-12T09:00:00Z`, PDF's `D:20240312…`).
//!
//! A date may name a day or only a month ([`PartialDate`]); a month counts until its last
//! day, so "next review due March 2025" is overdue from 1 April 2025.
//!
//! A numeric date with the day and month both 12 or less ("03/04/2024") is ambiguous: it is
//! read day first (3 April 2024), as in most of the world, unless the run says
//! `--date-order month-first`. When one of the two numbers is above 12 it can only be the
//! day, whatever the order, and the date is read so.

use std::{fmt, sync::LazyLock};

use regex::Regex;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// A date to the day, or to the month when the document names only a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartialDate {
    pub year: i32,
    pub month: u8,
    pub day: Option<u8>,
}

impl PartialDate {
    /// The last day of the period the date names.
    pub fn last_day(self) -> Date {
        let month = Month::try_from(self.month).unwrap_or(Month::December);
        let day = self
            .day
            .unwrap_or_else(|| time::util::days_in_month(month, self.year));
        Date::from_calendar_date(self.year, month, day).unwrap_or(Date::MAX)
    }

    /// The date as a day.
    pub fn of_day(d: Date) -> Self {
        PartialDate {
            year: d.year(),
            month: u8::from(d.month()),
            day: Some(d.day()),
        }
    }
}

impl fmt::Display for PartialDate {
    /// ISO 8601: `2024-03-12`, or `2024-03` for a month.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.day {
            Some(d) => write!(f, "{:04}-{:02}-{d:02}", self.year, self.month),
            None => write!(f, "{:04}-{:02}", self.year, self.month),
        }
    }
}

/// How a numeric date whose day and month could be either is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DateOrder {
    /// 03/04/2024 is 3 April 2024.
    #[default]
    DayFirst,
    /// 03/04/2024 is 4 March 2024.
    MonthFirst,
}

impl fmt::Display for DateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateOrder::DayFirst => "day-first",
            DateOrder::MonthFirst => "month-first",
        })
    }
}

/// The first thing in a text that looks like a date, in the forms this module reads.
static FIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:D:\d{8}|\d{4}-\d{1,2}(?:-\d{1,2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)?\b|(?:\d{1,2}(?:st|nd|rd|th)?\s+[a-z]{3,9}\.?,?\s+\d{4}|[a-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|[a-z]{3,9}\.?\s+\d{4}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2}/\d{4})\b)",
    )
    .expect("a valid pattern")
});

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The month a word names: its full name or its first three or more letters ("Sept").
fn month_of(word: &str) -> Option<u8> {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w))
        .map(|i| i as u8 + 1)
}

/// Where in `text` a date is, if anywhere (a word-and-year pair counts only when the word
/// is a month).
fn find(text: &str) -> Option<&str> {
    FIND.find_iter(text).map(|m| m.as_str()).find(|s| {
        let word = s
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| w.len() >= 3);
        word.is_none_or(|w| month_of(w).is_some())
    })
}

/// Whether `text` holds something that reads as a date, possible or not.
pub fn looks_like_date(text: &str) -> bool {
    find(text).is_some()
}

/// Reads the date in `value`. `Ok` carries a note when the reading departs from `order`
/// ("13/03/2024" read month first is still 13 March). `Err` says why there is no date:
/// none written, or one that cannot be ("31/02/2024").
pub fn read(value: &str, order: DateOrder) -> Result<(PartialDate, Option<String>), String> {
    let Some(s) = find(value) else {
        return Err(format!("\"{value}\" holds no date"));
    };
    let impossible = |why: String| format!("\"{s}\" is not a date: {why}");
    let num = |t: &str| t.parse::<i64>().ok();
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (year, month, day, note) = if let Some(pdf) = s.strip_prefix("D:") {
        let year = num(&pdf[..4]);
        let month = num(&pdf[4..6]);
        let day = num(&pdf[6..8]);
        (year, month, day, None)
    } else if s.contains('-') {
        let day_part = s.split(['T', 't']).next().unwrap_or(s);
        let p: Vec<&str> = day_part.split('-').collect();
        (num(p[0]), num(p[1]), p.get(2).and_then(|d| num(d)), None)
    } else if s.contains(['/', '.']) && !s.contains(char::is_alphabetic) {
        let p: Vec<&str> = s.split(['/', '.']).collect();
        if p.len() == 2 {
            (num(p[1]), num(p[0]), None, None)
        } else {
            let (a, b) = (num(p[0]).unwrap_or(0), num(p[1]).unwrap_or(0));
            let mut year = num(p[2]);
            if p[2].len() == 2 {
                year = year.map(|y| 2000 + y);
            }
            let (day, month, note) = match order {
                DateOrder::DayFirst if b > 12 && a <= 12 => (
                    b,
                    a,
                    Some(format!("\"{s}\" read month first: there is no month {b}")),
                ),
                DateOrder::DayFirst => (a, b, None),
                DateOrder::MonthFirst if a > 12 && b <= 12 => (
                    a,
                    b,
                    Some(format!("\"{s}\" read day first: there is no month {a}")),
                ),
                DateOrder::MonthFirst => (b, a, None),
            };
            (year, Some(month), Some(day), note)
        }
    } else {
        // Words: "12 March 2024", "March 12, 2024", "March 2024".
        let ordinal = |w: &str| {
            num(w.trim_end_matches(|c: char| c.is_ascii_alphabetic()))
                .filter(|_| w.starts_with(|c: char| c.is_ascii_digit()))
        };
        let year = words.last().and_then(|w| num(w));
        let month = words.iter().find_map(|w| month_of(w)).map(i64::from);
        let day = words[..words.len().saturating_sub(1)]
            .iter()
            .find_map(|w| ordinal(w));
        (year, month, day, None)
    };
    let (Some(year), Some(month)) = (year, month) else {
        return Err(format!("\"{value}\" holds no date"));
    };
    if !(1900..=2200).contains(&year) {
        return Err(impossible(format!("the year {year} is out of range")));
    }
    let m = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| impossible(format!("there is no month {month}")))?;
    let year = year as i32;
    if let Some(day) = day {
        let days = time::util::days_in_month(m, year);
        if !(1..=i64::from(days)).contains(&day) {
            return Err(impossible(format!("{m} {year} has {days} days")));
        }
    }
    Ok((
        PartialDate {
            year,
            month: u8::from(m),
            day: day.map(|d| d as u8),
        },
        note,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(v: &str, order: DateOrder) -> String {
        read(v, order)
            .map(|(d, _)| d.to_string())
            .unwrap_or_else(|e| e)
    }

    #[test]
    fn the_common_forms() {
        let d = DateOrder::DayFirst;
        for (v, want) in [
            ("2024-03-12", "2024-03-12"),
            ("2024-3", "2024-03"),
            ("2024-03-12T09:30:00Z", "2024-03-12"),
            ("D:20240312093000Z", "2024-03-12"),
            ("12 March 2024", "2024-03-12"),
            ("12th Mar. 2024", "2024-03-12"),
            ("March 12, 2024", "2024-03-12"),
            ("Sept 2025", "2025-09"),
            ("March 2024", "2024-03"),
            ("03/2024", "2024-03"),
            ("12/03/2024", "2024-03-12"),
            ("12.03.24", "2024-03-12"),
            ("Next review due 1 March 2025 (or sooner)", "2025-03-01"),
        ] {
            assert_eq!(iso(v, d), want, "{v}");
        }
    }

    #[test]
    fn ambiguous_numeric_dates_follow_the_order_unless_they_cannot() {
        assert_eq!(iso("03/04/2024", DateOrder::DayFirst), "2024-04-03");
        assert_eq!(iso("03/04/2024", DateOrder::MonthFirst), "2024-03-04");
        let (d, note) = read("03/25/2024", DateOrder::DayFirst).unwrap();
        assert_eq!(d.to_string(), "2024-03-25");
        assert!(note.unwrap().contains("no month 25"));
        assert_eq!(iso("25/03/2024", DateOrder::MonthFirst), "2024-03-25");
    }

    #[test]
    fn impossible_and_missing_dates_say_why() {
        let e = read("31/02/2024", DateOrder::DayFirst).unwrap_err();
        assert_eq!(e, "\"31/02/2024\" is not a date: February 2024 has 29 days");
        let e = read("2024-13-01", DateOrder::DayFirst).unwrap_err();
        assert!(e.contains("no month 13"), "{e}");
        assert!(
            read("annually", DateOrder::DayFirst)
                .unwrap_err()
                .contains("holds no date")
        );
        // A word before a year is a date only when it is a month.
        assert!(!looks_like_date("Version 2024"));
        assert!(!looks_like_date("since 2024"));
        assert!(looks_like_date("June 2025"));
    }

    #[test]
    fn a_month_lasts_to_its_end() {
        let (d, _) = read("February 2024", DateOrder::DayFirst).unwrap();
        assert_eq!(d.last_day(), time::macros::date!(2024 - 02 - 29));
        let (d, _) = read("2024-02-10", DateOrder::DayFirst).unwrap();
        assert_eq!(d.last_day(), time::macros::date!(2024 - 02 - 10));
    }
}
