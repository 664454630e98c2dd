//! Whether a playbook's e-mail may go to a contact now: marketing and success mail
//! respects an unsubscribe, quiet hours in the contact's time zone (else the account's),
//! and a cap per contact per 7 days; operational mail (a failed payment, a security
//! notice) is exempt from all three — the customer needs it whatever they chose.
//! A held message isn't dropped: it waits until the first moment it may go.

use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::timing;

/// The sending rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Quiet hours start at this local hour (0–23)…
    pub quiet_from: u32,
    /// …and end at this one: 20 → 8 holds mail from 20:00 to 08:00.
    pub quiet_until: u32,
    /// Non-operational e-mails one contact gets in any 7 days.
    pub weekly_cap: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            quiet_from: 20,
            quiet_until: 8,
            weekly_cap: 3,
        }
    }
}

/// What to do with a message now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Not yet: try again at `until`, for this reason.
    Wait {
        until: DateTime<Utc>,
        reason: String,
    },
    /// Never: the contact unsubscribed.
    Skip(String),
}

/// The message and its contact, as the rules read them.
#[derive(Clone, Debug, Default)]
pub struct Context<'a> {
    pub operational: bool,
    /// When the contact unsubscribed, if they did.
    pub unsubscribed: bool,
    /// The contact's time zone, else the account's (IANA names).
    pub contact_zone: Option<&'a str>,
    pub account_zone: Option<&'a str>,
    /// When this contact was last sent non-operational mail, within the last 7 days.
    pub recent_sends: &'a [DateTime<Utc>],
}

/// Applies the rules to a message due `now`.
pub fn decide(policy: &Policy, cx: &Context<'_>, now: DateTime<Utc>) -> Verdict {
    if cx.operational {
        return Verdict::Send;
    }
    if cx.unsubscribed {
        return Verdict::Skip("the contact unsubscribed from success e-mails".into());
    }
    let zone_name = cx.contact_zone.or(cx.account_zone);
    let tz = timing::zone(zone_name);
    if let Some(until) = quiet_until(policy, tz, now) {
        return Verdict::Wait {
            until,
            reason: format!(
                "quiet hours ({:02}:00–{:02}:00 {}): goes out at {}",
                policy.quiet_from,
                policy.quiet_until,
                tz.name(),
                until.with_timezone(&tz).format("%-d %b %H:%M")
            ),
        };
    }
    let week_ago = now - Duration::days(7);
    let mut in_week: Vec<DateTime<Utc>> = cx
        .recent_sends
        .iter()
        .copied()
        .filter(|t| *t > week_ago && *t <= now)
        .collect();
    in_week.sort();
    let cap = policy.weekly_cap as usize;
    if in_week.len() >= cap {
        // Room opens when the oldest send that keeps the count at the cap is a week old.
        let free_at = in_week[in_week.len() - cap] + Duration::days(7);
        // …and then not in quiet hours.
        let until = quiet_until(policy, tz, free_at).unwrap_or(free_at);
        return Verdict::Wait {
            until,
            reason: format!(
                "this contact already had {} e-mails in 7 days (the cap is {cap}): goes out at {}",
                in_week.len(),
                until.with_timezone(&tz).format("%-d %b %H:%M")
            ),
        };
    }
    Verdict::Send
}

/// When the quiet hours around `at` end, if `at` falls in them.
fn quiet_until(policy: &Policy, tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (from, until) = (policy.quiet_from % 24, policy.quiet_until % 24);
    if from == until {
        return None;
    }
    let hour = at.with_timezone(&tz).hour();
    let quiet = if from < until {
        (from..until).contains(&hour)
    } else {
        hour >= from || hour < until
    };
    quiet.then(|| {
        timing::next_local(
            at,
            tz,
            NaiveTime::from_hms_opt(until, 0, 0).unwrap_or(NaiveTime::MIN),
            &[],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn operational_mail_goes_whatever_the_rules() {
        let sends = [utc("2026-12-07T10:00:00Z"); 10];
        let cx = Context {
            operational: true,
            unsubscribed: true,
            recent_sends: &sends,
            ..Context::default()
        };
        assert_eq!(
            decide(&Policy::default(), &cx, utc("2026-12-07T23:30:00Z")),
            Verdict::Send
        );
    }

    #[test]
    fn an_unsubscribed_contact_gets_no_success_mail() {
        let cx = Context {
            unsubscribed: true,
            ..Context::default()
        };
        assert!(matches!(
            decide(&Policy::default(), &cx, utc("2026-12-07T10:00:00Z")),
            Verdict::Skip(_)
        ));
    }

    #[test]
    fn quiet_hours_follow_the_contacts_zone_then_the_accounts() {
        // 21:30 in Paris (20:30 UTC): held until 08:00 Paris = 07:00 UTC.
        let now = utc("2026-12-07T20:30:00Z");
        let cx = Context {
            contact_zone: Some("Europe/Paris"),
            account_zone: Some("America/New_York"),
            ..Context::default()
        };
        match decide(&Policy::default(), &cx, now) {
            Verdict::Wait { until, reason } => {
                assert_eq!(until, utc("2026-12-08T07:00:00Z"));
                assert!(reason.contains("Europe/Paris"), "{reason}");
            }
            v => panic!("{v:?}"),
        }
        // Without a contact zone, New York's 15:30: it goes.
        let cx = Context {
            account_zone: Some("America/New_York"),
            ..Context::default()
        };
        assert_eq!(decide(&Policy::default(), &cx, now), Verdict::Send);
        // Early morning, before 08:00: held until 08:00 the same day.
        let early = utc("2026-12-07T05:00:00Z");
        assert_eq!(
            decide(&Policy::default(), &Context::default(), early),
            Verdict::Wait {
                until: utc("2026-12-07T08:00:00Z"),
                reason: "quiet hours (20:00–08:00 UTC): goes out at 7 Dec 08:00".into()
            }
        );
    }

    #[test]
    fn the_weekly_cap_holds_mail_until_the_oldest_send_is_a_week_old() {
        let now = utc("2026-12-07T10:00:00Z");
        let sends = [
            utc("2026-11-29T09:00:00Z"), // more than 7 days ago: doesn't count
            utc("2026-12-01T12:00:00Z"),
            utc("2026-12-03T09:00:00Z"),
            utc("2026-12-06T09:00:00Z"),
        ];
        let cx = Context {
            recent_sends: &sends,
            ..Context::default()
        };
        match decide(&Policy::default(), &cx, now) {
            Verdict::Wait { until, reason } => {
                assert_eq!(until, utc("2026-12-08T12:00:00Z"));
                assert!(reason.contains("the cap is 3"), "{reason}");
            }
            v => panic!("{v:?}"),
        }
        // Two in the week: room for one more.
        let cx = Context {
            recent_sends: &sends[..3],
            ..Context::default()
        };
        assert_eq!(decide(&Policy::default(), &cx, now), Verdict::Send);
        // A cap that frees up at night waits for the morning too.
        let late = [utc("2026-12-01T22:00:00Z"); 3];
        let cx = Context {
            recent_sends: &late,
            ..Context::default()
        };
        match decide(&Policy::default(), &cx, now) {
            Verdict::Wait { until, .. } => assert_eq!(until, utc("2026-12-09T08:00:00Z")),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn quiet_hours_within_a_day_and_none() {
        let p = Policy {
            quiet_from: 12,
            quiet_until: 14,
            weekly_cap: 3,
        };
        let noon = utc("2026-12-07T12:30:00Z");
        assert_eq!(
            quiet_until(&p, Tz::UTC, noon),
            Some(utc("2026-12-07T14:00:00Z"))
        );
        let none = Policy {
            quiet_from: 0,
            quiet_until: 0,
            weekly_cap: 3,
        };
        assert_eq!(quiet_until(&none, Tz::UTC, noon), None);
    }
}
