//! A customer's product usage as people read it: one line per day ("46 events by 4
//! users: Dashboard Viewed ×20, Report Created ×12 …") instead of hundreds of raw rows,
//! and weekly events and active users for a chart. Built from per-day counts by event
//! name and person (the database groups; this only adds up).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// Events of one name by one person (or nobody known) on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageCount {
    pub day: NaiveDate,
    pub name: String,
    pub contact_id: Option<i64>,
    pub count: u64,
}

/// One day's usage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayUsage {
    pub day: NaiveDate,
    pub events: u64,
    /// Distinct known people.
    pub users: u64,
    /// Events by name, most first (ties by name).
    pub by_name: Vec<(String, u64)>,
}

impl DayUsage {
    /// "46 events by 4 users".
    pub fn headline(&self) -> String {
        let events = plural(self.events, "event");
        match self.users {
            0 => events,
            n => format!("{events} by {}", plural(n, "user")),
        }
    }

    /// "Dashboard Viewed ×20, Report Created ×12 …": the `shown` most frequent names, an
    /// ellipsis when there are more.
    pub fn top(&self, shown: usize) -> String {
        let mut parts: Vec<String> = self
            .by_name
            .iter()
            .take(shown)
            .map(|(n, c)| format!("{n} ×{c}"))
            .collect();
        if self.by_name.len() > shown {
            parts.push("…".into());
        }
        parts.join(", ").replace(", …", " …")
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Days with usage, newest first.
pub fn by_day(rows: &[UsageCount]) -> Vec<DayUsage> {
    let mut days: BTreeMap<NaiveDate, (BTreeMap<&str, u64>, BTreeSet<i64>)> = BTreeMap::new();
    for r in rows {
        let (names, people) = days.entry(r.day).or_default();
        *names.entry(r.name.as_str()).or_default() += r.count;
        people.extend(r.contact_id);
    }
    days.into_iter()
        .rev()
        .map(|(day, (names, people))| {
            let mut by_name: Vec<(String, u64)> =
                names.into_iter().map(|(n, c)| (n.to_owned(), c)).collect();
            by_name.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            DayUsage {
                day,
                events: by_name.iter().map(|(_, c)| c).sum(),
                users: people.len() as u64,
                by_name,
            }
        })
        .collect()
}

/// One week's usage (weeks start on Monday).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekUsage {
    pub week: NaiveDate,
    pub events: u64,
    /// Distinct known people active in the week.
    pub users: u64,
}

/// The Monday of `day`'s week.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The `weeks` weeks up to and including `today`'s, oldest first, quiet weeks as zeros.
pub fn by_week(rows: &[UsageCount], today: NaiveDate, weeks: u32) -> Vec<WeekUsage> {
    let last = week_of(today);
    let first = last - Duration::weeks(i64::from(weeks.saturating_sub(1)));
    let mut out: BTreeMap<NaiveDate, (u64, BTreeSet<i64>)> = (0..weeks)
        .map(|i| (first + Duration::weeks(i64::from(i)), (0, BTreeSet::new())))
        .collect();
    for r in rows {
        if let Some((events, people)) = out.get_mut(&week_of(r.day)) {
            *events += r.count;
            people.extend(r.contact_id);
        }
    }
    out.into_iter()
        .map(|(week, (events, people))| WeekUsage {
            week,
            events,
            users: people.len() as u64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn c(day: &str, name: &str, who: Option<i64>, count: u64) -> UsageCount {
        UsageCount {
            day: d(day),
            name: name.into(),
            contact_id: who,
            count,
        }
    }

    #[test]
    fn a_day_reads_as_one_line_with_its_most_frequent_events() {
        let rows = vec![
            c("2026-12-04", "Dashboard Viewed", Some(1), 12),
            c("2026-12-04", "Dashboard Viewed", Some(2), 8),
            c("2026-12-04", "Report Created", Some(1), 12),
            c("2026-12-04", "Logged In", Some(3), 6),
            c("2026-12-04", "Export", None, 4),
            c("2026-12-04", "Logged In", Some(4), 4),
            c("2026-12-02", "Logged In", Some(1), 1),
        ];
        let days = by_day(&rows);
        assert_eq!(days.len(), 2);
        let day = &days[0];
        assert_eq!(day.day, d("2026-12-04"), "newest first");
        assert_eq!(day.headline(), "46 events by 4 users");
        assert_eq!(
            day.top(3),
            "Dashboard Viewed ×20, Report Created ×12, Logged In ×10 …"
        );
        assert_eq!(
            day.top(10),
            "Dashboard Viewed ×20, Report Created ×12, Logged In ×10, Export ×4"
        );
        assert_eq!(days[1].headline(), "1 event by 1 user");
        let anonymous = by_day(&[c("2026-12-01", "Ping", None, 3)]);
        assert_eq!(anonymous[0].headline(), "3 events");
    }

    #[test]
    fn weeks_start_on_monday_count_people_once_and_keep_quiet_weeks() {
        let rows = vec![
            c("2026-11-30", "A", Some(1), 5), // Monday
            c("2026-12-03", "B", Some(1), 2),
            c("2026-12-06", "B", Some(2), 1), // Sunday, same week
            c("2026-11-16", "A", Some(3), 4),
            c("2026-01-01", "A", Some(3), 4), // before the range
        ];
        let weeks = by_week(&rows, d("2026-12-06"), 4);
        assert_eq!(
            weeks,
            vec![
                WeekUsage {
                    week: d("2026-11-09"),
                    events: 0,
                    users: 0
                },
                WeekUsage {
                    week: d("2026-11-16"),
                    events: 4,
                    users: 1
                },
                WeekUsage {
                    week: d("2026-11-23"),
                    events: 0,
                    users: 0
                },
                WeekUsage {
                    week: d("2026-11-30"),
                    events: 8,
                    users: 2
                },
            ]
        );
        assert_eq!(week_of(d("2026-12-07")), d("2026-12-07"));
    }
}
