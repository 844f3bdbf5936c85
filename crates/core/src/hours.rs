//! Business hours: a weekly schedule in a time zone, closed on Japanese public holidays (unless
//! told otherwise) and on custom closed days. Answers "open now?" and "when do we open next?".

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::holidays::japanese_holiday;
use crate::InvalidValue;

/// One opening span on a weekday, local time, `HH:MM`–`HH:MM` (`24:00` ends at midnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// mon, tue, wed, thu, fri, sat or sun
    pub day: String,
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessHours {
    pub weekly: Vec<Span>,
    pub closed_on_holidays: bool,
    /// Extra closed days, `YYYY-MM-DD` (year-end, inventory days…).
    pub closed_days: Vec<String>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        let weekday = |day: &str| Span {
            day: day.into(),
            start: "09:00".into(),
            end: "18:00".into(),
        };
        Self {
            weekly: ["mon", "tue", "wed", "thu", "fri"]
                .into_iter()
                .map(weekday)
                .collect(),
            closed_on_holidays: true,
            closed_days: Vec::new(),
        }
    }
}

fn parse_day(day: &str) -> Option<Weekday> {
    Some(match day {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// Seconds after midnight for `HH:MM` (00:00–24:00).
fn parse_clock(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some((h * 60 + m) * 60)
}

/// Parses an IANA time zone name such as `Asia/Tokyo`.
pub fn parse_time_zone(name: &str) -> Result<Tz, InvalidValue> {
    Tz::from_str(name)
        .map_err(|_| InvalidValue::new("time_zone", format!("unknown time zone {name:?}")))
}

impl BusinessHours {
    pub fn validate(&self) -> Result<(), InvalidValue> {
        for span in &self.weekly {
            let day = parse_day(&span.day);
            let (start, end) = (parse_clock(&span.start), parse_clock(&span.end));
            match (day, start, end) {
                (Some(_), Some(s), Some(e)) if s < e => {}
                _ => {
                    return Err(InvalidValue::new(
                        "weekly",
                        format!(
                            "{} {}-{}: use mon..sun and HH:MM with start before end",
                            span.day, span.start, span.end
                        ),
                    ))
                }
            }
        }
        for day in &self.closed_days {
            NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                InvalidValue::new("closed_days", format!("{day:?} is not YYYY-MM-DD"))
            })?;
        }
        Ok(())
    }

    fn closed_on(&self, date: NaiveDate) -> bool {
        (self.closed_on_holidays && japanese_holiday(date).is_some())
            || self
                .closed_days
                .iter()
                .any(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d") == Ok(date))
    }

    /// Opening spans of a date as seconds after local midnight, sorted.
    fn spans_on(&self, date: NaiveDate) -> Vec<(u32, u32)> {
        if self.closed_on(date) {
            return Vec::new();
        }
        let mut spans: Vec<(u32, u32)> = self
            .weekly
            .iter()
            .filter(|s| parse_day(&s.day) == Some(date.weekday()))
            .filter_map(|s| Some((parse_clock(&s.start)?, parse_clock(&s.end)?)))
            .collect();
        spans.sort_unstable();
        spans
    }

    pub fn is_open(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&tz);
        let second = local
            .time()
            .signed_duration_since(NaiveTime::MIN)
            .num_seconds() as u32;
        self.spans_on(local.date_naive())
            .iter()
            .any(|(start, end)| (*start..*end).contains(&second))
    }

    /// The open periods of `days` days from `from`'s date on (at most 400), as instants in
    /// order, each cut to start no earlier than `from`.
    fn open_periods(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        days: usize,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = from.with_timezone(&tz).date_naive();
        std::iter::successors(Some(first), |d| d.succ_opt())
            .take(days.min(400))
            .flat_map(move |date| {
                self.spans_on(date)
                    .into_iter()
                    .filter_map(move |(start, end)| {
                        let at = |second: u32| {
                            let naive = date.and_time(NaiveTime::MIN)
                                + Duration::seconds(i64::from(second));
                            tz.from_local_datetime(&naive)
                                .earliest()
                                .map(|t| t.with_timezone(&Utc))
                        };
                        let (s, e) = (at(start)?.max(from), at(end)?);
                        (e > s).then_some((s, e))
                    })
            })
    }

    /// Seconds the desk was open between two instants (for first response in business hours);
    /// 0 when `to` is not after `from`. Spans more than 400 days are cut there.
    pub fn open_seconds_between(&self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let days = (to.with_timezone(&tz).date_naive() - from.with_timezone(&tz).date_naive())
            .num_days()
            + 1;
        self.open_periods(tz, from, usize::try_from(days).unwrap_or(0))
            .take_while(|(s, _)| *s < to)
            .map(|(s, e)| (e.min(to) - s).num_seconds().max(0))
            .sum()
    }

    /// The instant `seconds` of open time after `from` (an SLA deadline in business hours);
    /// `None` when the desk does not open that long within 400 days.
    pub fn add_open_seconds(
        &self,
        tz: Tz,
        from: DateTime<Utc>,
        seconds: i64,
    ) -> Option<DateTime<Utc>> {
        let mut left = seconds.max(0);
        for (s, e) in self.open_periods(tz, from, 400) {
            let span = (e - s).num_seconds();
            if left <= span {
                return Some(s + Duration::seconds(left));
            }
            left -= span;
        }
        None
    }

    /// `at` itself when open, else the next opening within a year.
    pub fn next_open(&self, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(tz, at) {
            return Some(at);
        }
        let local = at.with_timezone(&tz);
        let now_second = local
            .time()
            .signed_duration_since(NaiveTime::MIN)
            .num_seconds() as u32;
        let mut date = local.date_naive();
        for offset in 0..=366 {
            for (start, _) in self.spans_on(date) {
                if offset > 0 || start > now_second {
                    let naive = date.and_time(NaiveTime::MIN) + Duration::seconds(i64::from(start));
                    if let Some(opening) = tz.from_local_datetime(&naive).earliest() {
                        return Some(opening.with_timezone(&Utc));
                    }
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}

/// A local time for customers: `11月27日(金) 9:00` in Japanese, `Fri 27 Nov 09:00` in English.
pub fn format_local(tz: Tz, at: DateTime<Utc>, locale: &str) -> String {
    let local = at.with_timezone(&tz);
    if locale == "en" {
        return local.format("%a %-d %b %H:%M").to_string();
    }
    let weekday =
        ["月", "火", "水", "木", "金", "土", "日"][local.weekday().num_days_from_monday() as usize];
    format!(
        "{}月{}日({}) {}",
        local.month(),
        local.day(),
        weekday,
        local.format("%-H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokyo(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Tz::Asia__Tokyo
            .with_ymd_and_hms(y, mo, d, h, mi, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn open_within_the_weekly_schedule_to_the_second() {
        let hours = BusinessHours::default();
        let tz = Tz::Asia__Tokyo;
        assert!(
            hours.is_open(tz, tokyo(2026, 11, 26, 9, 0, 0)),
            "Thursday 9:00 opens"
        );
        assert!(
            hours.is_open(tz, tokyo(2026, 11, 26, 17, 59, 59)),
            "17:59:59 is still open"
        );
        assert!(
            !hours.is_open(tz, tokyo(2026, 11, 26, 18, 0, 0)),
            "18:00 is closed"
        );
        assert!(!hours.is_open(tz, tokyo(2026, 11, 26, 8, 59, 59)));
        assert!(
            !hours.is_open(tz, tokyo(2026, 11, 28, 10, 0, 0)),
            "Saturday"
        );
        assert!(
            !hours.is_open(tz, tokyo(2026, 11, 23, 10, 0, 0)),
            "勤労感謝の日 (Monday)"
        );
        assert!(
            !hours.is_open(tz, tokyo(2026, 9, 22, 10, 0, 0)),
            "国民の休日"
        );
    }

    #[test]
    fn next_opening_skips_nights_weekends_holidays_and_closed_days() {
        let mut hours = BusinessHours::default();
        let tz = Tz::Asia__Tokyo;
        assert_eq!(
            hours.next_open(tz, tokyo(2026, 11, 26, 18, 0, 0)),
            Some(tokyo(2026, 11, 27, 9, 0, 0))
        );
        assert_eq!(
            hours.next_open(tz, tokyo(2026, 11, 26, 23, 59, 59)),
            Some(tokyo(2026, 11, 27, 9, 0, 0))
        );
        assert_eq!(
            hours.next_open(tz, tokyo(2026, 11, 27, 0, 0, 0)),
            Some(tokyo(2026, 11, 27, 9, 0, 0))
        );
        assert_eq!(
            hours.next_open(tz, tokyo(2026, 11, 27, 18, 30, 0)),
            Some(tokyo(2026, 11, 30, 9, 0, 0)),
            "Friday night → Monday"
        );
        assert_eq!(
            hours.next_open(tz, tokyo(2026, 11, 20, 19, 0, 0)),
            Some(tokyo(2026, 11, 24, 9, 0, 0)),
            "Monday 23rd is a holiday"
        );
        let open = tokyo(2026, 11, 26, 10, 0, 0);
        assert_eq!(hours.next_open(tz, open), Some(open));
        hours.closed_days = vec!["2026-11-27".into()];
        assert_eq!(
            hours.next_open(tz, tokyo(2026, 11, 26, 18, 0, 0)),
            Some(tokyo(2026, 11, 30, 9, 0, 0))
        );
        hours.weekly.clear();
        assert_eq!(hours.next_open(tz, open), None, "never open");
    }

    #[test]
    fn split_days_and_other_time_zones() {
        let hours = BusinessHours {
            weekly: vec![
                Span {
                    day: "sat".into(),
                    start: "10:00".into(),
                    end: "12:00".into(),
                },
                Span {
                    day: "sat".into(),
                    start: "13:00".into(),
                    end: "24:00".into(),
                },
            ],
            closed_on_holidays: false,
            closed_days: vec![],
        };
        let tz = Tz::Asia__Tokyo;
        assert!(
            !hours.is_open(tz, tokyo(2026, 11, 28, 12, 30, 0)),
            "lunch break"
        );
        assert_eq!(
            hours.next_open(tz, tokyo(2026, 11, 28, 12, 30, 0)),
            Some(tokyo(2026, 11, 28, 13, 0, 0))
        );
        assert!(hours.is_open(tz, tokyo(2026, 11, 28, 23, 59, 59)));
        let london = parse_time_zone("Europe/London").unwrap();
        let at = london
            .with_ymd_and_hms(2026, 11, 28, 10, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert!(hours.is_open(london, at));
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn validation_and_formatting() {
        assert!(BusinessHours::default().validate().is_ok());
        let bad = |day: &str, start: &str, end: &str| BusinessHours {
            weekly: vec![Span {
                day: day.into(),
                start: start.into(),
                end: end.into(),
            }],
            ..Default::default()
        };
        assert!(bad("mon", "18:00", "09:00").validate().is_err());
        assert!(bad("monday", "09:00", "18:00").validate().is_err());
        assert!(bad("mon", "09:00", "24:30").validate().is_err());
        let closed = BusinessHours {
            closed_days: vec!["12/31".into()],
            ..Default::default()
        };
        assert!(closed.validate().is_err());
        let at = tokyo(2026, 11, 27, 9, 0, 0);
        assert_eq!(format_local(Tz::Asia__Tokyo, at, "ja"), "11月27日(金) 9:00");
        assert_eq!(format_local(Tz::Asia__Tokyo, at, "en"), "Fri 27 Nov 09:00");
    }

    #[test]
    fn open_seconds_count_only_business_hours() {
        let hours = BusinessHours::default();
        let tz = Tz::Asia__Tokyo;
        // Fri 2026-11-27 17:59 → Mon 2026-11-30 09:01: one minute on Friday, one on Monday.
        let from = tokyo(2026, 11, 27, 17, 59, 0);
        let to = tokyo(2026, 11, 30, 9, 1, 0);
        assert_eq!(hours.open_seconds_between(tz, from, to), 120);
        // Within one morning: wall time.
        let (a, b) = (
            tokyo(2026, 11, 30, 10, 0, 0),
            tokyo(2026, 11, 30, 10, 0, 45),
        );
        assert_eq!(hours.open_seconds_between(tz, a, b), 45);
        // Out of hours only, and backwards: nothing.
        let night = tokyo(2026, 11, 30, 20, 0, 0);
        assert_eq!(
            hours.open_seconds_between(tz, night, night + Duration::hours(2)),
            0
        );
        assert_eq!(hours.open_seconds_between(tz, b, a), 0);
    }

    #[test]
    fn a_deadline_in_business_hours_skips_nights_weekends_and_holidays() {
        let hours = BusinessHours::default();
        let tz = Tz::Asia__Tokyo;
        // Friday 2026-11-27 17:50 + 30 open minutes: 10 on Friday, 20 on Monday.
        assert_eq!(
            hours.add_open_seconds(tz, tokyo(2026, 11, 27, 17, 50, 0), 30 * 60),
            Some(tokyo(2026, 11, 30, 9, 20, 0))
        );
        // Friday 2027-01-08 17:50: Monday the 11th is 成人の日, so Tuesday.
        assert_eq!(
            hours.add_open_seconds(tz, tokyo(2027, 1, 8, 17, 50, 0), 30 * 60),
            Some(tokyo(2027, 1, 12, 9, 20, 0))
        );
        // Within the day, and from before opening.
        assert_eq!(
            hours.add_open_seconds(tz, tokyo(2026, 11, 26, 10, 0, 0), 60 * 60),
            Some(tokyo(2026, 11, 26, 11, 0, 0))
        );
        assert_eq!(
            hours.add_open_seconds(tz, tokyo(2026, 11, 26, 7, 0, 0), 0),
            Some(tokyo(2026, 11, 26, 9, 0, 0))
        );
        let never = BusinessHours {
            weekly: vec![],
            ..BusinessHours::default()
        };
        assert_eq!(
            never.add_open_seconds(tz, tokyo(2026, 11, 26, 7, 0, 0), 60),
            None
        );
    }
}
