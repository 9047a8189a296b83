//! Whether a document is current: its facts ([`crate::ingest::parse::metadata`]) resolved into one
//! value per field, with a note wherever they disagree or a date cannot be, and its review
//! status on a given day.
//!
//! A document is **overdue** when its next review date has passed, or when its last review
//! (failing that, its effective date) is older than the review cycle (`--review-cycle`, 12
//! months by default). A date that names only a month counts until that month's last day.
//! Without any of those dates the status is **unknown**: nothing says when it was reviewed.

pub mod dates;

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use time::Date;

pub use dates::{DateOrder, PartialDate};

use crate::ingest::parse::metadata::{Fact, Field};

/// How documents are judged: on which day, against which cycle, reading dates how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub as_of: Date,
    pub cycle: Cycle,
    pub date_order: DateOrder,
}

/// The longest a document may go between reviews, in months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cycle(pub u32);

impl Default for Cycle {
    fn default() -> Self {
        Cycle(12)
    }
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => write!(f, "1 month"),
            n => write!(f, "{n} months"),
        }
    }
}

impl FromStr for Cycle {
    type Err = String;

    /// `12`, `12m`, `12 months`, `18mo`, `1y`, `2 years`.
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        let (n, unit) = t.split_at(digits);
        let n: u32 = n
            .parse()
            .map_err(|_| format!("\"{s}\" is not a review cycle: write 12m, 18 months or 1y"))?;
        let months = match unit.trim() {
            "" | "m" | "mo" | "month" | "months" => Some(n),
            "y" | "yr" | "year" | "years" => n.checked_mul(12),
            _ => None,
        }
        .filter(|&m| (1..=600).contains(&m))
        .ok_or_else(|| {
            format!("\"{s}\" is not a review cycle: write 12m, 18 months or 1y (at most 50 years)")
        })?;
        Ok(Cycle(months))
    }
}

/// `date` plus `months`, the day clamped to the month's length.
pub fn add_months(date: Date, months: u32) -> Date {
    let total = date.year() as i64 * 12 + (u8::from(date.month()) as i64 - 1) + months as i64;
    let year = (total / 12) as i32;
    let month = time::Month::try_from((total % 12) as u8 + 1).unwrap_or(time::Month::December);
    let day = date.day().min(time::util::days_in_month(month, year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}

/// A field's value: the one found first, as written, with where, and the date it reads as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    pub value: String,
    /// ISO 8601 (`2025-03-01`, or `2025-03` for a month), for a date that reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    pub source: String,
}

/// One value per field, and what a reviewer should check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub fields: BTreeMap<Field, FieldValue>,
    /// Dates in the fields, read.
    pub dates: BTreeMap<Field, PartialDate>,
    /// Impossible dates, values that disagree, dates out of order.
    pub notes: Vec<String>,
}

/// Resolves a document's facts: for each field the first fact that holds a value (a date
/// field, a date that reads), the rest compared with it.
pub fn resolve(facts: &[Fact], order: DateOrder) -> Resolved {
    let mut r = Resolved::default();
    for field in Field::ALL {
        let mut chosen: Option<(FieldValue, Option<PartialDate>)> = None;
        for fact in facts.iter().filter(|f| f.field == field) {
            let date = if field.is_date() {
                match dates::read(&fact.value, order) {
                    Ok((d, note)) => {
                        if let Some(note) = note {
                            r.notes.push(format!("{field}: {note} ({})", fact.source));
                        }
                        Some(d)
                    }
                    Err(why) => {
                        r.notes.push(format!("{field}: {why} ({})", fact.source));
                        continue;
                    }
                }
            } else {
                None
            };
            match &chosen {
                None => {
                    chosen = Some((
                        FieldValue {
                            value: fact.value.clone(),
                            date: date.map(|d| d.to_string()),
                            source: fact.source.clone(),
                        },
                        date,
                    ))
                }
                Some((first, first_date)) => {
                    let differs = match (first_date, date) {
                        (Some(a), Some(b)) => *a != b,
                        _ => !first.value.eq_ignore_ascii_case(&fact.value),
                    };
                    if differs && field != Field::Title {
                        r.notes.push(format!(
                            "{field}: \"{}\" ({}) disagrees with \"{}\" ({}); the first is used",
                            first.value, first.source, fact.value, fact.source
                        ));
                    }
                }
            }
        }
        if let Some((value, date)) = chosen {
            if let Some(d) = date {
                r.dates.insert(field, d);
            }
            r.fields.insert(field, value);
        }
    }
    if let (Some(last), Some(next)) = (
        r.dates.get(&Field::LastReview),
        r.dates.get(&Field::NextReview),
    ) && next.last_day() < last.last_day()
    {
        r.notes.push(format!(
            "the next review ({next}) comes before the last review ({last})"
        ));
    }
    r
}

/// A document's review status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Current,
    Overdue,
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Current => "current",
            Status::Overdue => "overdue",
            Status::Unknown => "unknown",
        })
    }
}

/// A status, why, and by when the next review is or was due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub reason: String,
    pub due: Option<Date>,
    /// Dates after the day the report is made for.
    pub notes: Vec<String>,
}

/// The document's status on `policy.as_of`.
pub fn assess(r: &Resolved, policy: &Policy) -> Verdict {
    let as_of = policy.as_of;
    let next = r.dates.get(&Field::NextReview).copied();
    let base = r
        .dates
        .get(&Field::LastReview)
        .map(|d| (*d, "last review"))
        .or_else(|| {
            r.dates
                .get(&Field::EffectiveDate)
                .map(|d| (*d, "effective date, no review recorded"))
        });
    let mut notes = Vec::new();
    if let Some(last) = r.dates.get(&Field::LastReview)
        && PartialDate::of_day(as_of) < *last
        && last.last_day() > as_of
    {
        notes.push(format!("the last review ({last}) is after {as_of}"));
    }
    let by_next = next.map(|d| (d.last_day(), format!("next review due by {}", d.last_day())));
    let by_cycle = base.map(|(d, what)| {
        (
            add_months(d.last_day(), policy.cycle.0),
            format!("{what} {d}, a {} cycle", policy.cycle),
        )
    });
    let due = [by_next.as_ref(), by_cycle.as_ref()]
        .into_iter()
        .flatten()
        .min_by_key(|(d, _)| *d);
    match due {
        None => Verdict {
            status: Status::Unknown,
            reason: "no review or effective date found".into(),
            due: None,
            notes,
        },
        Some((due, why)) if *due < as_of => Verdict {
            status: Status::Overdue,
            reason: format!("{why}: review was due by {due}"),
            due: Some(*due),
            notes,
        },
        Some((due, why)) => Verdict {
            status: Status::Current,
            reason: format!("{why}: review due by {due}"),
            due: Some(*due),
            notes,
        },
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn fact(field: Field, value: &str, source: &str) -> Fact {
        Fact {
            field,
            value: value.into(),
            source: source.into(),
        }
    }

    fn policy(as_of: Date) -> Policy {
        Policy {
            as_of,
            cycle: Cycle::default(),
            date_order: DateOrder::DayFirst,
        }
    }

    #[test]
    fn cycles_read_in_their_common_forms() {
        for (s, m) in [
            ("12", 12),
            ("18m", 18),
            ("6 months", 6),
            ("1y", 12),
            ("2 years", 24),
        ] {
            assert_eq!(s.parse::<Cycle>(), Ok(Cycle(m)), "{s}");
        }
        for s in ["", "0", "twelve", "12 weeks", "100y"] {
            assert!(s.parse::<Cycle>().is_err(), "{s}");
        }
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2024 - 03 - 31), 12), date!(2025 - 03 - 31));
    }

    #[test]
    fn overdue_by_next_review_by_cycle_or_current_or_unknown() {
        let next = resolve(
            &[fact(Field::NextReview, "March 2025", "a")],
            DateOrder::DayFirst,
        );
        let v = assess(&next, &policy(date!(2025 - 03 - 31)));
        assert_eq!(v.status, Status::Current, "a month lasts to its end");
        let v = assess(&next, &policy(date!(2025 - 04 - 01)));
        assert_eq!(v.status, Status::Overdue);
        assert_eq!(
            v.reason,
            "next review due by 2025-03-31: review was due by 2025-03-31"
        );

        let last = resolve(
            &[fact(Field::LastReview, "12/03/2024", "a")],
            DateOrder::DayFirst,
        );
        assert_eq!(
            assess(&last, &policy(date!(2025 - 03 - 12))).status,
            Status::Current
        );
        let v = assess(&last, &policy(date!(2025 - 03 - 13)));
        assert_eq!(v.status, Status::Overdue);
        assert!(
            v.reason
                .starts_with("last review 2024-03-12, a 12 months cycle"),
            "{}",
            v.reason
        );
        let longer = Policy {
            cycle: Cycle(24),
            ..policy(date!(2025 - 03 - 13))
        };
        assert_eq!(assess(&last, &longer).status, Status::Current);

        // Without a review, the effective date starts the cycle.
        let eff = resolve(
            &[fact(Field::EffectiveDate, "2023-01-15", "a")],
            DateOrder::DayFirst,
        );
        let v = assess(&eff, &policy(date!(2025 - 06 - 30)));
        assert_eq!(v.status, Status::Overdue);
        assert!(v.reason.contains("no review recorded"), "{}", v.reason);

        let none = resolve(
            &[fact(Field::Owner, "Head of Risk", "a")],
            DateOrder::DayFirst,
        );
        assert_eq!(
            assess(&none, &policy(date!(2025 - 06 - 30))).status,
            Status::Unknown
        );
    }

    #[test]
    fn impossible_and_contradicting_dates_are_notes_not_failures() {
        let r = resolve(
            &[
                fact(Field::LastReview, "31/02/2024", "text p.1"),
                fact(Field::LastReview, "March 2024", "front matter"),
                fact(Field::NextReview, "2025-03-01", "front matter"),
                fact(Field::NextReview, "1 June 2025", "text p.2"),
                fact(Field::Version, "2.1", "a"),
                fact(Field::Version, "2.1", "b"),
            ],
            DateOrder::DayFirst,
        );
        assert_eq!(r.fields[&Field::LastReview].value, "March 2024");
        assert_eq!(
            r.fields[&Field::LastReview].date.as_deref(),
            Some("2024-03")
        );
        assert_eq!(
            r.fields[&Field::NextReview].date.as_deref(),
            Some("2025-03-01")
        );
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        assert!(
            r.notes[0].contains("February 2024 has 29 days") && r.notes[0].contains("text p.1")
        );
        assert!(
            r.notes[1].contains("disagrees with \"1 June 2025\" (text p.2)"),
            "{}",
            r.notes[1]
        );

        let backwards = resolve(
            &[
                fact(Field::LastReview, "2025-01-01", "a"),
                fact(Field::NextReview, "2024-01-01", "b"),
            ],
            DateOrder::DayFirst,
        );
        assert!(backwards.notes[0].contains("comes before the last review"));
    }
}
