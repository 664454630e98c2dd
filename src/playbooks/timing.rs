//! Durations ("3d", "1w 2d", "90m") and times of day in a customer's time zone, as waits,
//! schedules, goals and re-entry rules write them.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The longest wait a playbook may hold (a year and a day): longer is a typo.
pub const MAX_DURATION_DAYS: i64 = 366;

/// Parses "3d", "1w 2d", "2h30m", "45m" (units w, d, h, m; at least one; positive).
///
/// # Errors
/// What is wrong, in words.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Err("a duration is needed, e.g. 3d, 12h or 1w 2d".into());
    }
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut units = 0;
    for ch in text.chars() {
        match ch {
            '0'..='9' => number.push(ch),
            ' ' if number.is_empty() => {}
            'w' | 'd' | 'h' | 'm' => {
                let n: i64 = number
                    .parse()
                    .map_err(|_| format!("“{text}”: a number must come before “{ch}”"))?;
                number.clear();
                units += 1;
                let part = match ch {
                    'w' => Duration::try_weeks(n),
                    'd' => Duration::try_days(n),
                    'h' => Duration::try_hours(n),
                    _ => Duration::try_minutes(n),
                };
                total += part.ok_or_else(|| format!("“{text}” is too long"))?;
            }
            _ => {
                return Err(format!(
                    "“{text}” is not a duration: use numbers with w, d, h or m (e.g. 1w 2d)"
                ))
            }
        }
    }
    if !number.is_empty() {
        return Err(format!("“{text}”: {number} needs a unit (w, d, h or m)"));
    }
    if units == 0 || total <= Duration::zero() {
        return Err(format!("“{text}” must be longer than nothing"));
    }
    if total > Duration::days(MAX_DURATION_DAYS) {
        return Err(format!("“{text}” is longer than {MAX_DURATION_DAYS} days"));
    }
    Ok(total)
}

/// Parses "09:00" (24-hour).
///
/// # Errors
/// What is wrong, in words.
pub fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M").map_err(|_| {
        format!(
            "“{}” is not a time of day: use HH:MM, e.g. 09:00",
            raw.trim()
        )
    })
}

/// Parses weekday names ("mon", "Monday"…).
///
/// # Errors
/// The first name that isn't a weekday.
pub fn parse_days(raw: &[String]) -> Result<Vec<Weekday>, String> {
    raw.iter()
        .map(|d| {
            d.trim().parse::<Weekday>().map_err(|_| {
                format!("“{d}” is not a weekday: use mon, tue, wed, thu, fri, sat or sun")
            })
        })
        .collect()
}

/// A time zone by its IANA name; UTC when the name is empty or unknown (a customer's
/// stored zone was checked when it was set).
pub fn zone(name: Option<&str>) -> Tz {
    name.and_then(|n| n.trim().parse::<Tz>().ok())
        .unwrap_or(Tz::UTC)
}

/// The first moment after `now` that is `time` on one of `days` (any day when empty) in
/// `tz`. A time a clock change skips is taken an hour later; a repeated one, the first.
pub fn next_local(now: DateTime<Utc>, tz: Tz, time: NaiveTime, days: &[Weekday]) -> DateTime<Utc> {
    let local_today = now.with_timezone(&tz).date_naive();
    for offset in 0..=8 {
        let date = local_today + Duration::days(offset);
        if !days.is_empty() && !days.contains(&date.weekday()) {
            continue;
        }
        let naive = date.and_time(time);
        let at = tz.from_local_datetime(&naive).earliest().or_else(|| {
            tz.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        });
        if let Some(at) = at {
            let at = at.with_timezone(&Utc);
            if at > now {
                return at;
            }
        }
    }
    // Unreachable with at most seven weekdays; a day later keeps the caller going.
    now + Duration::days(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("3d"), Ok(Duration::days(3)));
        assert_eq!(parse_duration("1w 2d"), Ok(Duration::days(9)));
        assert_eq!(parse_duration("2h30m"), Ok(Duration::minutes(150)));
        assert!(parse_duration("").unwrap_err().contains("needed"));
        assert!(parse_duration("3").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("three days")
            .unwrap_err()
            .contains("not a duration"));
        assert!(parse_duration("0d")
            .unwrap_err()
            .contains("longer than nothing"));
        assert!(parse_duration("400d").unwrap_err().contains("366"));
        assert!(parse_duration("99999999999999w").is_err());
    }

    #[test]
    fn times_and_days_are_checked() {
        assert_eq!(
            parse_time("09:30"),
            Ok(NaiveTime::from_hms_opt(9, 30, 0).unwrap())
        );
        assert!(parse_time("9am").is_err());
        assert_eq!(
            parse_days(&["mon".into(), "Friday".into()]),
            Ok(vec![Weekday::Mon, Weekday::Fri])
        );
        assert!(parse_days(&["someday".into()]).is_err());
        assert_eq!(zone(Some("Europe/Paris")), Tz::Europe__Paris);
        assert_eq!(zone(Some("Mars/Olympus")), Tz::UTC);
    }

    #[test]
    fn the_next_local_time_follows_the_zone_and_the_weekdays() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let paris = Tz::Europe__Paris;
        // Thursday 2026-12-03 10:00 UTC is 11:00 in Paris: 09:00 has passed, so Friday.
        let now = utc("2026-12-03T10:00:00Z");
        assert_eq!(
            next_local(now, paris, nine, &[]),
            utc("2026-12-04T08:00:00Z")
        );
        // Every Monday 09:00.
        assert_eq!(
            next_local(now, paris, nine, &[Weekday::Mon]),
            utc("2026-12-07T08:00:00Z")
        );
        // Before 09:00 local: today.
        let early = utc("2026-12-03T06:00:00Z");
        assert_eq!(
            next_local(early, paris, nine, &[]),
            utc("2026-12-03T08:00:00Z")
        );
        // Summer time: 09:00 in Paris is 07:00 UTC.
        let summer = utc("2026-07-01T05:00:00Z");
        assert_eq!(
            next_local(summer, paris, nine, &[]),
            utc("2026-07-01T07:00:00Z")
        );
        // 02:30 doesn't exist in Paris on 2026-03-29: an hour later.
        let half_two = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        let before = utc("2026-03-28T23:00:00Z");
        assert_eq!(
            next_local(before, paris, half_two, &[]),
            utc("2026-03-29T01:30:00Z")
        );
    }
}
