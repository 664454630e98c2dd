//! Tasks: the CSM's work, and the order the cockpit shows it in.
//!
//! A task is due within its customer's tier SLA (Enterprise 2 h, Mid-Market 4 h, Small
//! Business 24 h, Trial 48 h unless an admin changed them); an alert nobody has handled
//! is due the same way from when it opened. The cockpit shows one row per customer
//! with its open tasks and alerts together: overdue customers first, then by
//! ARR × churn risk × SLA urgency, so a $200k account at 60 % risk whose call is due
//! in an hour comes before a trial whose welcome task is due tomorrow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customers::{string_enum, Tier};
use crate::validation::ValidationErrors;

string_enum!(
    /// How urgent a task is, as its creator said.
    Priority {
        Low => "low", "Low";
        Normal => "normal", "Normal";
        High => "high", "High";
        Urgent => "urgent", "Urgent";
    }
);

string_enum!(
    /// What came of a task: kept per playbook step, so a playbook's page shows which
    /// actions work.
    Outcome {
        ReachedEngaged => "reached_engaged", "Reached and engaged";
        NoAnswer => "no_answer", "No answer";
        RiskAverted => "risk_averted", "Risk averted";
        MeetingBooked => "meeting_booked", "Meeting booked";
        Escalated => "escalated", "Escalated";
        Lost => "lost", "Lost";
        Done => "done", "Done";
    }
);

impl Outcome {
    /// Whether the outcome counts as the action having worked (for a step's success
    /// rate): the customer was reached, a meeting booked or the risk averted.
    pub fn worked(self) -> bool {
        matches!(
            self,
            Outcome::ReachedEngaged | Outcome::RiskAverted | Outcome::MeetingBooked
        )
    }
}

/// Longest task title.
pub const MAX_TITLE: usize = 300;
/// Longest description or outcome note.
pub const MAX_TEXT: usize = 4_000;
/// The longest SLA an admin may set, in hours (a month).
pub const MAX_SLA_HOURS: u32 = 720;
/// The longest snooze, in days.
pub const MAX_SNOOZE_DAYS: u32 = 90;

/// Hours a task or an unhandled alert is due in, per tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierSlas {
    pub enterprise: u32,
    pub mid_market: u32,
    pub small_business: u32,
    pub trial: u32,
}

impl Default for TierSlas {
    /// The product documents' response times.
    fn default() -> Self {
        TierSlas {
            enterprise: 2,
            mid_market: 4,
            small_business: 24,
            trial: 48,
        }
    }
}

impl TierSlas {
    /// The SLA of a tier (as stored: `mid_market`); an unknown tier gets Small
    /// Business's.
    pub fn hours(&self, tier: &str) -> u32 {
        match Tier::parse(tier) {
            Some(Tier::Enterprise) => self.enterprise,
            Some(Tier::MidMarket) => self.mid_market,
            Some(Tier::Trial) => self.trial,
            Some(Tier::SmallBusiness) | None => self.small_business,
        }
    }

    /// Sets one tier's hours.
    pub fn set(&mut self, tier: Tier, hours: u32) {
        match tier {
            Tier::Enterprise => self.enterprise = hours,
            Tier::MidMarket => self.mid_market = hours,
            Tier::SmallBusiness => self.small_business = hours,
            Tier::Trial => self.trial = hours,
        }
    }

    /// Checks edited SLAs: each 1–720 hours.
    ///
    /// # Errors
    /// Each tier out of bounds, on a field named by the tier (`enterprise`).
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::default();
        for t in Tier::ALL {
            let h = self.hours(t.as_str());
            if !(1..=MAX_SLA_HOURS).contains(&h) {
                errors.push(
                    t.as_str(),
                    format!("{}: must be from 1 to {MAX_SLA_HOURS} hours", t.label()),
                );
            }
        }
        errors.into_result(())
    }
}

/// A task typed by a person.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    pub customer_id: i64,
    pub title: String,
    pub description: String,
    /// None: the customer's owner.
    pub assignee_id: Option<i64>,
    /// `low`, `normal`, `high` or `urgent`; empty: normal.
    pub priority: String,
    /// Hours from now; none: the tier's SLA.
    pub due_in_hours: Option<u32>,
}

/// A person's task, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedTask {
    pub title: String,
    pub description: String,
    pub priority: Priority,
}

impl NewTask {
    /// Checks what was typed.
    ///
    /// # Errors
    /// Every problem, by field.
    pub fn check(&self) -> Result<CheckedTask, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let title = self.title.trim();
        if title.is_empty() {
            errors.push("title", "say what is to be done");
        } else if title.chars().count() > MAX_TITLE {
            errors.push("title", format!("at most {MAX_TITLE} characters"));
        }
        if self.description.chars().count() > MAX_TEXT {
            errors.push("description", format!("at most {MAX_TEXT} characters"));
        }
        let priority = if self.priority.trim().is_empty() {
            Some(Priority::Normal)
        } else {
            Priority::parse(&self.priority)
        };
        if priority.is_none() {
            errors.push(
                "priority",
                format!("must be one of {}", Priority::choices()),
            );
        }
        if self
            .due_in_hours
            .is_some_and(|h| h == 0 || h > MAX_SLA_HOURS)
        {
            errors.push(
                "due_in_hours",
                format!("must be from 1 to {MAX_SLA_HOURS} hours"),
            );
        }
        errors.into_result(())?;
        Ok(CheckedTask {
            title: title.to_owned(),
            description: self.description.trim().to_owned(),
            priority: priority.unwrap_or(Priority::Normal),
        })
    }
}

/// Checks a completion: an outcome, and a note of bounded length.
///
/// # Errors
/// An unknown outcome or a note too long.
pub fn check_completion(outcome: &str, note: Option<&str>) -> Result<Outcome, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let parsed = Outcome::parse(outcome);
    if parsed.is_none() {
        errors.push("outcome", format!("must be one of {}", Outcome::choices()));
    }
    if note.is_some_and(|n| n.chars().count() > MAX_TEXT) {
        errors.push("note", format!("at most {MAX_TEXT} characters"));
    }
    errors.into_result(())?;
    Ok(parsed.unwrap_or(Outcome::Done))
}

/// What the cockpit orders a customer's row by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Urgency {
    /// Annual revenue, in minor units.
    pub arr_cents: i64,
    /// The churn model's probability, else the health score's shortfall from 100
    /// (a score of 30 reads as 0.7), else none.
    pub risk: Option<f64>,
    /// The earliest moment something on the row is due.
    pub due_at: DateTime<Utc>,
    /// The customer's tier SLA in hours (how long "due" spans).
    pub sla_hours: u32,
}

/// Risk assumed when a customer has neither a prediction nor a score yet.
const UNKNOWN_RISK: f64 = 0.5;
/// The least risk counted: a healthy customer's task still has an order.
const MIN_RISK: f64 = 0.05;
/// Revenue counted for customers paying nothing yet (trials): without it every trial
/// would tie at zero and order by nothing but time.
const MIN_ARR_DOLLARS: f64 = 1_000.0;
/// The urgency of something due now; more when overdue, less the further off.
const DUE_NOW: f64 = 10.0;

impl Urgency {
    /// Whether the row's earliest item is past due.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.due_at < now
    }

    /// ARR × churn risk × SLA urgency. SLA urgency is the SLA over the time left
    /// (capped at `DUE_NOW` for what is due now), and grows with the time overdue
    /// measured in SLAs: a task a whole SLA late counts twice one just due.
    pub fn score(&self, now: DateTime<Utc>) -> f64 {
        let arr = (self.arr_cents.max(0) as f64 / 100.0).max(MIN_ARR_DOLLARS);
        let risk = self.risk.unwrap_or(UNKNOWN_RISK).clamp(MIN_RISK, 1.0);
        let sla = f64::from(self.sla_hours.max(1));
        let hours_left = (self.due_at - now).num_seconds() as f64 / 3600.0;
        let urgency = if hours_left <= 0.0 {
            DUE_NOW * (1.0 + -hours_left / sla)
        } else {
            (sla / hours_left).min(DUE_NOW)
        };
        arr * risk * urgency
    }
}

/// Orders rows as the cockpit shows them: overdue first, then by score, highest
/// first; ties by the earliest due, then by `key` so the order is stable.
pub fn rank<T>(rows: &mut [T], now: DateTime<Utc>, urgency: impl Fn(&T) -> (Urgency, i64)) {
    rows.sort_by(|a, b| {
        let (ua, ka) = urgency(a);
        let (ub, kb) = urgency(b);
        ub.overdue(now)
            .cmp(&ua.overdue(now))
            .then(ub.score(now).total_cmp(&ua.score(now)))
            .then(ua.due_at.cmp(&ub.due_at))
            .then(ka.cmp(&kb))
    });
}

/// A health score read as a risk (0 healthy … 1 lost), for customers without a
/// prediction.
pub fn risk_from_score(score: u8) -> f64 {
    f64::from(100 - score.min(100)) / 100.0
}

/// What came of one playbook step's tasks: how many were done, how many worked (see
/// [`Outcome::worked`]), and each outcome's count, most frequent first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepOutcomes {
    pub step: String,
    pub done: u64,
    pub worked: u64,
    pub outcomes: Vec<(Outcome, u64)>,
}

impl StepOutcomes {
    /// The share of done tasks that worked; `None` before any is done.
    pub fn worked_rate(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        (self.done > 0).then(|| self.worked as f64 / self.done as f64)
    }
}

/// Folds (step, outcome, count) rows into one [`StepOutcomes`] per step, in the order of
/// `steps` (the playbook's own; a step no longer in it comes after, by name). Unknown
/// outcomes are left out.
pub fn step_outcomes(rows: &[(String, String, u64)], steps: &[String]) -> Vec<StepOutcomes> {
    let mut by_step: std::collections::BTreeMap<&str, StepOutcomes> = Default::default();
    for (step, outcome, n) in rows {
        let Some(outcome) = Outcome::parse(outcome) else {
            continue;
        };
        let s = by_step.entry(step).or_insert_with(|| StepOutcomes {
            step: step.clone(),
            done: 0,
            worked: 0,
            outcomes: Vec::new(),
        });
        s.done += n;
        if outcome.worked() {
            s.worked += n;
        }
        match s.outcomes.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, count)) => *count += n,
            None => s.outcomes.push((outcome, *n)),
        }
    }
    let position = |step: &str| steps.iter().position(|s| s == step).unwrap_or(usize::MAX);
    let mut out: Vec<StepOutcomes> = by_step.into_values().collect();
    for s in &mut out {
        s.outcomes
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.as_str().cmp(b.0.as_str())));
    }
    out.sort_by(|a, b| {
        position(&a.step)
            .cmp(&position(&b.step))
            .then_with(|| a.step.cmp(&b.step))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
    }

    fn u(arr_dollars: i64, risk: Option<f64>, due_in_hours: i64, sla: u32) -> Urgency {
        Urgency {
            arr_cents: arr_dollars * 100,
            risk,
            due_at: now() + Duration::hours(due_in_hours),
            sla_hours: sla,
        }
    }

    #[test]
    fn overdue_rows_come_first_whatever_their_revenue() {
        let mut rows = vec![
            (1, u(500_000, Some(0.9), 1, 2)),
            (2, u(2_000, Some(0.1), -1, 24)),
            (3, u(50_000, Some(0.5), 3, 4)),
        ];
        rank(&mut rows, now(), |(id, u)| (*u, *id));
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 1, 3]);
    }

    #[test]
    fn revenue_risk_and_time_left_each_move_a_row_up() {
        let base = u(50_000, Some(0.3), 12, 24);
        let richer = u(100_000, Some(0.3), 12, 24);
        let riskier = u(50_000, Some(0.6), 12, 24);
        let sooner = u(50_000, Some(0.3), 2, 24);
        for better in [richer, riskier, sooner] {
            assert!(better.score(now()) > base.score(now()));
        }
        // Twice the revenue at half the risk ranks the same.
        let half_risk = u(100_000, Some(0.15), 12, 24);
        assert!((half_risk.score(now()) - base.score(now())).abs() < 1e-6);
    }

    #[test]
    fn the_longer_overdue_the_more_urgent_and_trials_still_order() {
        let late = u(10_000, Some(0.5), -48, 24);
        let just_late = u(10_000, Some(0.5), -1, 24);
        assert!(late.score(now()) > just_late.score(now()));
        let trial_soon = u(0, Some(0.5), 1, 48);
        let trial_later = u(0, Some(0.5), 40, 48);
        assert!(trial_soon.score(now()) > trial_later.score(now()));
        assert!(trial_later.score(now()) > 0.0);
        // Unknown risk counts as even odds; no risk still orders by time.
        assert_eq!(
            u(10_000, None, 5, 24).score(now()),
            u(10_000, Some(0.5), 5, 24).score(now())
        );
        assert!(
            u(10_000, Some(0.0), 1, 24).score(now()) > u(10_000, Some(0.0), 9, 24).score(now())
        );
    }

    #[test]
    fn ties_break_by_due_then_key() {
        let mut rows = vec![(7, u(1_000, None, 5, 24)), (3, u(1_000, None, 5, 24))];
        rank(&mut rows, now(), |(id, u)| (*u, *id));
        assert_eq!(rows[0].0, 3);
    }

    #[test]
    fn slas_default_to_the_documents_and_validate() {
        let s = TierSlas::default();
        assert_eq!(
            (
                s.hours("enterprise"),
                s.hours("mid_market"),
                s.hours("small_business"),
                s.hours("trial")
            ),
            (2, 4, 24, 48)
        );
        assert_eq!(s.hours("unknown"), 24);
        let mut bad = s;
        bad.set(Tier::Enterprise, 0);
        bad.set(Tier::Trial, MAX_SLA_HOURS + 1);
        let e = bad.validate().unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["enterprise", "trial"]);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn a_typed_task_is_checked_field_by_field() {
        let ok = NewTask {
            customer_id: 1,
            title: "  Call the sponsor ".into(),
            priority: "".into(),
            ..NewTask::default()
        }
        .check()
        .unwrap();
        assert_eq!(ok.title, "Call the sponsor");
        assert_eq!(ok.priority, Priority::Normal);
        let e = NewTask {
            customer_id: 1,
            title: " ".into(),
            priority: "asap".into(),
            due_in_hours: Some(0),
            ..NewTask::default()
        }
        .check()
        .unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["title", "priority", "due_in_hours"]);
    }

    #[test]
    fn completions_need_a_known_outcome() {
        assert_eq!(
            check_completion("risk averted", None).unwrap(),
            Outcome::RiskAverted
        );
        assert!(check_completion("maybe", None).is_err());
        assert!(check_completion("done", Some(&"x".repeat(MAX_TEXT + 1))).is_err());
        assert!(Outcome::RiskAverted.worked() && !Outcome::NoAnswer.worked());
        assert!((risk_from_score(30) - 0.7).abs() < 1e-9);
    }

    #[test]
    fn step_outcomes_count_what_worked_in_the_playbooks_order() {
        let rows = vec![
            ("call".to_string(), "no_answer".to_string(), 3),
            ("call".to_string(), "reached_engaged".to_string(), 5),
            ("review".to_string(), "risk_averted".to_string(), 2),
            ("call".to_string(), "meeting_booked".to_string(), 2),
            ("gone".to_string(), "lost".to_string(), 1),
            ("call".to_string(), "teleported".to_string(), 9),
        ];
        let steps = vec!["review".to_string(), "call".to_string()];
        let out = step_outcomes(&rows, &steps);
        let order: Vec<&str> = out.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(order, vec!["review", "call", "gone"]);
        let call = &out[1];
        assert_eq!((call.done, call.worked), (10, 7));
        assert_eq!(
            call.outcomes,
            vec![
                (Outcome::ReachedEngaged, 5),
                (Outcome::NoAnswer, 3),
                (Outcome::MeetingBooked, 2)
            ]
        );
        assert_eq!(call.worked_rate(), Some(0.7));
        assert_eq!(out[2].worked_rate(), Some(0.0));
        assert!(step_outcomes(&[], &steps).is_empty());
    }
}
