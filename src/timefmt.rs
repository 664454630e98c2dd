//! Human-readable times. Relative times take `now` from the caller (the server's clock,
//! sent along with the data) so the server's HTML and the hydrated page agree.

use chrono::{DateTime, NaiveDate, Utc};

/// "just now", "5 minutes ago", "3 days ago", "in 2 days"...
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds();
    let (future, s) = if secs < 0 {
        (true, -secs)
    } else {
        (false, secs)
    };
    let text = match s {
        0..=59 => return "just now".into(),
        60..=3_599 => plural(s / 60, "minute"),
        3_600..=86_399 => plural(s / 3_600, "hour"),
        86_400..=2_591_999 => plural(s / 86_400, "day"),
        2_592_000..=31_535_999 => plural(s / 2_592_000, "month"),
        _ => plural(s / 31_536_000, "year"),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `2026-03-01` → `1 Mar 2026`.
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// `1 Mar 2026, 14:05 UTC`.
pub fn date_time(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// Percent-encodes a URL query component (RFC 3986 unreserved characters kept).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&…` from pairs (just `path` when there are none).
pub fn with_query(path: &str, params: &[(&str, String)]) -> String {
    if params.is_empty() {
        return path.to_string();
    }
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn relative_times() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        assert_eq!(ago(now - Duration::seconds(5), now), "just now");
        assert_eq!(ago(now - Duration::minutes(1), now), "1 minute ago");
        assert_eq!(ago(now - Duration::hours(5), now), "5 hours ago");
        assert_eq!(ago(now - Duration::days(3), now), "3 days ago");
        assert_eq!(ago(now - Duration::days(65), now), "2 months ago");
        assert_eq!(ago(now - Duration::days(800), now), "2 years ago");
        assert_eq!(ago(now + Duration::days(2), now), "in 2 days");
    }

    #[test]
    fn formats_dates() {
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
            "1 Mar 2026"
        );
        assert_eq!(
            date_time(Utc.with_ymd_and_hms(2026, 3, 1, 14, 5, 0).unwrap()),
            "1 Mar 2026, 14:05 UTC"
        );
    }

    #[test]
    fn query_strings() {
        assert_eq!(with_query("/c", &[]), "/c");
        assert_eq!(
            with_query("/c", &[("q", "a b&c/é".into()), ("page", "2".into())]),
            "/c?q=a%20b%26c%2F%C3%A9&page=2"
        );
    }
}
