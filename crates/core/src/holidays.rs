//! Japanese public holidays (国民の祝日), computed from the rules of the Public Holiday Act as
//! in force since 2020: fixed days, "Happy Monday" days, the equinoxes (astronomical formula,
//! valid 1980–2099), substitute holidays (振替休日) and sandwiched citizens' holidays (国民の休日).

use chrono::{Datelike, NaiveDate, Weekday};

/// The holiday's name when `date` is a Japanese public holiday (2020–2099).
pub fn japanese_holiday(date: NaiveDate) -> Option<&'static str> {
    if let Some(name) = named_holiday(date) {
        return Some(name);
    }
    // 振替休日: a holiday on Sunday moves to the next day that is not itself a holiday.
    let mut day = date.pred_opt()?;
    while named_holiday(day).is_some() {
        if day.weekday() == Weekday::Sun {
            return Some("振替休日");
        }
        day = day.pred_opt()?;
    }
    // 国民の休日: a weekday between two holidays.
    let (before, after) = (date.pred_opt()?, date.succ_opt()?);
    if date.weekday() != Weekday::Sun
        && named_holiday(before).is_some()
        && named_holiday(after).is_some()
    {
        return Some("国民の休日");
    }
    None
}

fn nth_monday(year: i32, month: u32, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n)
}

/// Day of March (vernal) or September (autumnal) of the equinox, 1980–2099.
fn equinox_day(year: i32, base: f64) -> u32 {
    let y = f64::from(year - 1980);
    (base + 0.242194 * y - (y / 4.0).floor()).floor() as u32
}

fn named_holiday(date: NaiveDate) -> Option<&'static str> {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let is = |other: Option<NaiveDate>| other == Some(date);
    let name = match (m, d) {
        (1, 1) => "元日",
        (2, 11) => "建国記念の日",
        (2, 23) => "天皇誕生日",
        (4, 29) => "昭和の日",
        (5, 3) => "憲法記念日",
        (5, 4) => "みどりの日",
        (5, 5) => "こどもの日",
        (8, 11) => "山の日",
        (11, 3) => "文化の日",
        (11, 23) => "勤労感謝の日",
        (3, _) if d == equinox_day(y, 20.8431) => "春分の日",
        (9, _) if d == equinox_day(y, 23.2488) => "秋分の日",
        (1, _) if is(nth_monday(y, 1, 2)) => "成人の日",
        (7, _) if is(nth_monday(y, 7, 3)) => "海の日",
        (9, _) if is(nth_monday(y, 9, 3)) => "敬老の日",
        (10, _) if is(nth_monday(y, 10, 2)) => "スポーツの日",
        _ => return None,
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_2026_calendar() {
        let expected = [
            (1, 1),
            (1, 12),
            (2, 11),
            (2, 23),
            (3, 20),
            (4, 29),
            (5, 3),
            (5, 4),
            (5, 5),
            (5, 6),
            (7, 20),
            (8, 11),
            (9, 21),
            (9, 22),
            (9, 23),
            (10, 12),
            (11, 3),
            (11, 23),
        ];
        let mut found = Vec::new();
        let mut day = d(2026, 1, 1);
        while day.year() == 2026 {
            if japanese_holiday(day).is_some() {
                found.push((day.month(), day.day()));
            }
            day = day.succ_opt().unwrap();
        }
        assert_eq!(found, expected);
        assert_eq!(japanese_holiday(d(2026, 5, 6)), Some("振替休日"));
        assert_eq!(japanese_holiday(d(2026, 9, 22)), Some("国民の休日"));
    }

    #[test]
    fn equinoxes_and_substitutes_of_other_years() {
        assert_eq!(japanese_holiday(d(2025, 3, 20)), Some("春分の日"));
        assert_eq!(japanese_holiday(d(2025, 9, 23)), Some("秋分の日"));
        assert_eq!(japanese_holiday(d(2027, 3, 21)), Some("春分の日"));
        assert_eq!(japanese_holiday(d(2027, 3, 22)), Some("振替休日"));
        assert_eq!(japanese_holiday(d(2025, 2, 24)), Some("振替休日"));
        assert_eq!(japanese_holiday(d(2026, 12, 31)), None);
        assert_eq!(japanese_holiday(d(2026, 5, 7)), None);
    }
}
