//! What people read about playbooks: a version's funnel (from counts the database grouped,
//! never from every enrollment), each split test's arms against the holdout, and the
//! machine's outcomes in words — what a step did, why a branch went the way it did (the
//! readings: "health.score < 40 (is 35): yes"), where the enrollment went next, and how
//! it ended.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::Reading;
use super::definition::{Playbook, StepKind, Trigger};
use super::machine::{Effect, Finish, Next};
use super::stats::{compare, Comparison, Tally};

/// Enrollments of one (status, step, awaited event, goal), counted by the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRow {
    pub status: String,
    pub step: Option<String>,
    pub wait_event: Option<String>,
    pub goal: String,
    pub count: u64,
}

/// Live enrollments at one step (or waiting for one event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepCount {
    /// The step's id, or the event waited for.
    pub step: String,
    /// "send_email · trial-welcome"; empty when the step isn't in the definition read.
    pub label: String,
    pub count: u64,
}

/// Enrollments that left early for one reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: u64,
}

/// Where a playbook's enrollments are and how they ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub entered: u64,
    /// Active, waiting or paused now.
    pub live: u64,
    /// Live ones by the step they run next, in the definition's order.
    pub at_steps: Vec<StepCount>,
    /// Live ones waiting for an event, by event.
    pub waiting: Vec<StepCount>,
    pub paused: u64,
    pub completed: u64,
    pub exited: u64,
    /// Exits by the condition that held, most first.
    pub exit_reasons: Vec<ReasonCount>,
    pub holdout: u64,
    pub cancelled: u64,
    pub failed: u64,
    pub goal_met: u64,
    pub goal_missed: u64,
    pub goal_open: u64,
}

impl Funnel {
    /// Enrollments measured against a goal (its playbook has one).
    pub fn with_goal(&self) -> u64 {
        self.goal_met + self.goal_missed + self.goal_open
    }

    /// The share of enrollments with a goal that met it; none without any.
    pub fn goal_rate(&self) -> Option<f64> {
        Tally {
            entered: self.with_goal(),
            met: self.goal_met,
        }
        .rate()
    }
}

/// A step's type and what it names, in a few words: "send_email · trial-welcome".
pub fn step_label(kind: &StepKind) -> String {
    let detail = match kind {
        StepKind::Wait { duration } => duration.clone(),
        StepKind::WaitUntil { time, .. } => time.clone(),
        StepKind::WaitForEvent { event, .. } => event.clone(),
        StepKind::SendEmail { template, .. } => template.clone(),
        StepKind::CreateTask { title, .. } => title.clone(),
        StepKind::UpdateField { field, value, .. } => format!("{field} {value}"),
        StepKind::Webhook { url, .. } => url.clone(),
        StepKind::Branch { branches, .. } => format!("{} ways", branches.len() + 1),
        StepKind::Split { arms, holdout } => format!("{} arms, {holdout} % holdout", arms.len()),
        StepKind::Slack { .. } | StepKind::GoalReached | StepKind::End => String::new(),
    };
    if detail.is_empty() {
        kind.type_name().to_string()
    } else {
        format!("{} · {detail}", kind.type_name())
    }
}

/// The funnel from grouped counts and exit reasons (`(condition, count)`, none when the
/// reason couldn't be read); `def` orders the steps and labels them.
pub fn funnel(
    rows: &[CountRow],
    exits: &[(Option<String>, u64)],
    def: Option<&Playbook>,
) -> Funnel {
    let mut f = Funnel::default();
    let mut at: BTreeMap<String, u64> = BTreeMap::new();
    let mut waiting: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows {
        f.entered += r.count;
        match r.goal.as_str() {
            "met" => f.goal_met += r.count,
            "missed" => f.goal_missed += r.count,
            "open" => f.goal_open += r.count,
            _ => {}
        }
        match r.status.as_str() {
            "active" | "paused" => {
                f.live += r.count;
                if r.status == "paused" {
                    f.paused += r.count;
                }
                *at.entry(r.step.clone().unwrap_or_default()).or_default() += r.count;
            }
            "waiting" => {
                f.live += r.count;
                *waiting
                    .entry(r.wait_event.clone().unwrap_or_default())
                    .or_default() += r.count;
            }
            "completed" => f.completed += r.count,
            "exited" => f.exited += r.count,
            "holdout" => f.holdout += r.count,
            "cancelled" => f.cancelled += r.count,
            _ => f.failed += r.count,
        }
    }
    let order: Vec<(String, String)> = def
        .map(|d| {
            d.walk()
                .into_iter()
                .map(|(_, s)| (s.id.clone(), step_label(&s.kind)))
                .collect()
        })
        .unwrap_or_default();
    for (id, label) in &order {
        if let Some(count) = at.remove(id) {
            f.at_steps.push(StepCount {
                step: id.clone(),
                label: label.clone(),
                count,
            });
        }
    }
    // Steps the definition read doesn't have (an older version's).
    f.at_steps
        .extend(at.into_iter().map(|(step, count)| StepCount {
            step,
            label: String::new(),
            count,
        }));
    f.waiting = waiting
        .into_iter()
        .map(|(step, count)| StepCount {
            step,
            label: "wait_for_event".into(),
            count,
        })
        .collect();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for (reason, count) in exits {
        *reasons
            .entry(
                reason
                    .clone()
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "unknown".into()),
            )
            .or_default() += count;
    }
    f.exit_reasons = reasons
        .into_iter()
        .map(|(reason, count)| ReasonCount { reason, count })
        .collect();
    f.exit_reasons
        .sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    f
}

/// Enrollments dealt by one split step to one arm, with one goal status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmRow {
    pub split_step: String,
    /// The arm's name, or "Holdout".
    pub arm: String,
    pub goal: String,
    pub count: u64,
}

/// The name a split's decision gives its holdout.
pub const HOLDOUT: &str = "Holdout";

/// One arm of a split test against the holdout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArmReport {
    pub name: String,
    pub tally: Tally,
    /// None while the arm or the holdout is empty.
    pub comparison: Option<Comparison>,
}

/// A split step's arms and holdout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitReport {
    pub step: String,
    pub arms: Vec<ArmReport>,
    pub holdout: Tally,
}

/// Each split step's arms against its holdout, goal met counting as success.
pub fn splits(rows: &[ArmRow]) -> Vec<SplitReport> {
    let mut by_step: BTreeMap<&str, BTreeMap<&str, Tally>> = BTreeMap::new();
    for r in rows {
        let t = by_step
            .entry(r.split_step.as_str())
            .or_default()
            .entry(r.arm.as_str())
            .or_insert(Tally { entered: 0, met: 0 });
        t.entered += r.count;
        if r.goal == "met" {
            t.met += r.count;
        }
    }
    by_step
        .into_iter()
        .map(|(step, mut arms)| {
            let holdout = arms.remove(HOLDOUT).unwrap_or(Tally { entered: 0, met: 0 });
            SplitReport {
                step: step.to_string(),
                arms: arms
                    .into_iter()
                    .map(|(name, tally)| ArmReport {
                        name: name.to_string(),
                        tally,
                        comparison: compare(tally, holdout),
                    })
                    .collect(),
                holdout,
            }
        })
        .collect()
}

/// A percentage for people: "42 %"; "—" for none.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".into(), |r| format!("{:.0} %", r * 100.0))
}

/// A trigger type (`health_level_changed`) in words.
pub fn trigger_type_text(type_name: &str) -> String {
    match type_name {
        "event" => "A product event",
        "health_level_changed" => "Health level changed",
        "health_threshold" => "Health crossed a threshold",
        "churn_risk_changed" => "Churn risk changed",
        "alert_opened" => "An alert opened",
        "expansion_opened" => "An expansion signal opened",
        "trial_started" => "Trial started",
        "payment_failed" => "Payment failed",
        "subscription_cancelled" => "Subscription cancelled",
        "renewal_in" => "Renewal coming up",
        "days_after_start" => "Days after the start",
        "segment_entry" => "Entering a segment",
        "schedule" => "On a schedule",
        "manual" => "Enrolled by hand",
        other => return other.replace('_', " "),
    }
    .into()
}

/// A trigger with its settings in words: "Health crossed 40 going down".
pub fn trigger_text(t: &Trigger) -> String {
    let or_any = |v: &Option<String>| v.clone().unwrap_or_else(|| "any".into());
    match t {
        Trigger::Event { name, filters } if filters.is_empty() => format!("Product event “{name}”"),
        Trigger::Event { name, filters } => {
            format!("Product event “{name}” ({} filters)", filters.len())
        }
        Trigger::HealthLevelChanged { to, from } => match (from, to) {
            (Some(f), Some(t)) => format!("Health level changed from {f} to {t}"),
            (None, Some(t)) => format!("Health level changed to {t}"),
            _ => format!("Health level changed (from {})", or_any(from)),
        },
        Trigger::HealthThreshold {
            threshold,
            direction,
        } => format!("Health crossed {threshold} going {direction}"),
        Trigger::ChurnRiskChanged { to } => format!("Churn risk changed to {}", or_any(to)),
        Trigger::AlertOpened { rule } => format!("Alert opened ({} rule)", or_any(rule)),
        Trigger::ExpansionOpened { kind } => format!("Expansion signal opened ({})", or_any(kind)),
        Trigger::RenewalIn { days } => format!("Renewal in {days} days"),
        Trigger::DaysAfterStart { days } => format!("{days} days after the start"),
        Trigger::SegmentEntry { condition } => format!(
            "Entering the segment {} {} {}",
            condition.field,
            condition.op,
            value_text(&condition.value)
        ),
        Trigger::Schedule { time, days } if days.is_empty() => format!("Every day at {time}"),
        Trigger::Schedule { time, days } => format!("At {time} on {}", days.join(", ")),
        Trigger::TrialStarted
        | Trigger::PaymentFailed
        | Trigger::SubscriptionCancelled
        | Trigger::Manual => {
            let v = serde_json::to_value(t).unwrap_or_default();
            trigger_type_text(v.get("type").and_then(Value::as_str).unwrap_or_default())
        }
    }
}

/// A JSON value as people read it: text without quotes, null as "unknown".
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "unknown".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() != 0.0 => format!("{:.2}", f)
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
            _ => n.to_string(),
        },
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// One condition as read: "health.score < 40 (is 35): yes".
pub fn reading_text(r: &Reading) -> String {
    format!(
        "{} (is {}): {}",
        r.test,
        value_text(&r.value),
        if r.holds { "yes" } else { "no" }
    )
}

/// What a side effect did, in words.
pub fn effect_text(e: &Effect) -> String {
    let who = |to: &str| match to {
        "primary_contact" => "the primary contact".to_string(),
        "owner" => "the owner".to_string(),
        other => other
            .strip_prefix("role:")
            .map_or_else(|| other.to_string(), |r| format!("the {r}")),
    };
    match e {
        Effect::SendEmail { template, to } => format!("E-mail “{template}” to {}", who(to)),
        Effect::CreateTask {
            title,
            assignee,
            priority,
            ..
        } => format!("Task “{title}” for {} ({priority})", who(assignee)),
        Effect::Slack { text } => format!("Slack: {text}"),
        Effect::UpdateField { field, op, value } => match op.as_deref() {
            Some("remove") => format!("Removed {field} “{value}”"),
            _ if field == "tag" => format!("Tagged “{value}”"),
            _ => format!("Set {field} to “{value}”"),
        },
        Effect::Webhook { url, .. } => format!("Webhook to {url}"),
    }
}

/// How an enrollment ended, in words.
pub fn finish_text(f: &Finish) -> String {
    match f {
        Finish::Completed => "Completed".into(),
        Finish::Exited { reading } => format!("Exited: {}", reading_text(reading)),
        Finish::Holdout => "Held out by the split test".into(),
        Finish::Lost { step } => format!("Failed: step {step} no longer exists"),
    }
}

/// A stored `finish` column in words ("cancelled" is written by people, not the machine).
pub fn finish_value_text(v: &Value) -> String {
    match serde_json::from_value::<Finish>(v.clone()) {
        Ok(f) => finish_text(&f),
        Err(_) => match v.get("reason").and_then(Value::as_str) {
            Some("cancelled") => "Cancelled by a person".into(),
            Some(other) => other.replace('_', " "),
            None => v.to_string(),
        },
    }
}

/// Where a step sent the enrollment, in words (times as RFC 3339 UTC, for the page to
/// format).
pub fn next_text(n: &Next) -> String {
    match n {
        Next::Step { id, at } => format!("next: {id} at {}", at.format("%Y-%m-%d %H:%M UTC")),
        Next::Event {
            event,
            on_timeout,
            until,
            ..
        } => format!(
            "wait for “{event}” until {}{}",
            until.format("%Y-%m-%d %H:%M UTC"),
            on_timeout
                .as_ref()
                .map(|s| format!(", then {s}"))
                .unwrap_or_default()
        ),
        Next::Done(f) => finish_text(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbooks::validate::{parse, Catalog};
    use serde_json::json;

    fn row(status: &str, step: Option<&str>, goal: &str, count: u64) -> CountRow {
        CountRow {
            status: status.into(),
            step: step.map(Into::into),
            wait_event: (status == "waiting").then(|| "Report Created".into()),
            goal: goal.into(),
            count,
        }
    }

    fn def() -> Playbook {
        parse(
            r#"{"name": "T", "trigger": {"type": "manual"},
                "goal": {"name": "G", "within": "7d", "when": [{"field": "stage", "op": "eq", "value": "active"}]},
                "steps": [
                  {"id": "mail", "type": "send_email", "template": "hi", "to": "owner"},
                  {"id": "wait", "type": "wait", "for": "2d"},
                  {"id": "split", "type": "split", "holdout": 50,
                   "arms": [{"name": "A", "percent": 50, "steps": [{"id": "call", "type": "create_task", "title": "Call", "assignee": "owner"}]}]}
                ]}"#,
            &Catalog::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_funnel_adds_grouped_counts_up_in_the_definitions_order() {
        let rows = [
            row("active", Some("wait"), "open", 3),
            row("active", Some("mail"), "open", 2),
            row("active", Some("gone"), "open", 1),
            row("waiting", None, "open", 4),
            row("paused", Some("wait"), "open", 1),
            row("completed", None, "met", 5),
            row("completed", None, "missed", 2),
            row("exited", None, "missed", 3),
            row("holdout", None, "open", 2),
            row("cancelled", None, "open", 1),
            row("failed", None, "open", 1),
        ];
        let exits = [(Some("stage = active".to_string()), 2), (None, 1)];
        let f = funnel(&rows, &exits, Some(&def()));
        assert_eq!(f.entered, 25);
        assert_eq!(f.live, 11);
        assert_eq!(f.paused, 1);
        let steps: Vec<_> = f
            .at_steps
            .iter()
            .map(|s| (s.step.as_str(), s.count))
            .collect();
        assert_eq!(steps, [("mail", 2), ("wait", 4), ("gone", 1)]);
        assert_eq!(f.at_steps[0].label, "send_email · hi");
        assert_eq!(f.at_steps[2].label, "", "an older version's step");
        assert_eq!(f.waiting[0].step, "Report Created");
        assert_eq!(f.waiting[0].count, 4);
        assert_eq!(
            (f.completed, f.exited, f.holdout, f.cancelled, f.failed),
            (7, 3, 2, 1, 1)
        );
        assert_eq!((f.goal_met, f.goal_missed, f.goal_open), (5, 5, 15));
        assert_eq!(f.goal_rate(), Some(0.2));
        assert_eq!(
            f.exit_reasons,
            [
                ReasonCount {
                    reason: "stage = active".into(),
                    count: 2
                },
                ReasonCount {
                    reason: "unknown".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(funnel(&[], &[], None), Funnel::default());
        assert_eq!(Funnel::default().goal_rate(), None);
    }

    #[test]
    fn splits_compare_each_arm_with_the_holdout() {
        let arm = |a: &str, goal: &str, count| ArmRow {
            split_step: "split".into(),
            arm: a.into(),
            goal: goal.into(),
            count,
        };
        let r = splits(&[
            arm("A", "met", 56),
            arm("A", "missed", 14),
            arm("Holdout", "met", 48),
            arm("Holdout", "open", 32),
        ]);
        assert_eq!(r.len(), 1);
        assert_eq!(
            r[0].holdout,
            Tally {
                entered: 80,
                met: 48
            }
        );
        assert_eq!(r[0].arms[0].name, "A");
        assert_eq!(
            r[0].arms[0].tally,
            Tally {
                entered: 70,
                met: 56
            }
        );
        let c = r[0].arms[0].comparison.as_ref().unwrap();
        assert_eq!(c.text(), "+20.0 points (95 % CI +5.2 to +33.4)");
        // No holdout yet: no comparison.
        let r = splits(&[arm("A", "met", 1)]);
        assert_eq!(r[0].arms[0].comparison, None);
    }

    #[test]
    fn outcomes_read_as_words() {
        let r = Reading {
            test: "health.score < 40".into(),
            value: json!(35),
            holds: true,
        };
        assert_eq!(reading_text(&r), "health.score < 40 (is 35): yes");
        let unknown = Reading {
            test: "usage.segment = high".into(),
            value: Value::Null,
            holds: false,
        };
        assert_eq!(
            reading_text(&unknown),
            "usage.segment = high (is unknown): no"
        );
        assert_eq!(value_text(&json!(0.126)), "0.13");
        assert_eq!(value_text(&json!(0.5)), "0.5");
        assert_eq!(value_text(&json!(["a", "b"])), "a, b");
        assert_eq!(
            effect_text(&Effect::SendEmail {
                template: "welcome".into(),
                to: "primary_contact".into()
            }),
            "E-mail “welcome” to the primary contact"
        );
        assert_eq!(
            effect_text(&Effect::UpdateField {
                field: "tag".into(),
                op: None,
                value: "recovering".into()
            }),
            "Tagged “recovering”"
        );
        let at: chrono::DateTime<chrono::Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
        assert_eq!(
            next_text(&Next::Step {
                id: "call".into(),
                at
            }),
            "next: call at 2026-12-03 10:00 UTC"
        );
        assert_eq!(
            finish_value_text(
                &json!({"reason": "exited", "reading": {"test": "stage = active", "value": "active", "holds": true}})
            ),
            "Exited: stage = active (is active): yes"
        );
        assert_eq!(
            finish_value_text(&json!({"reason": "cancelled"})),
            "Cancelled by a person"
        );
        assert_eq!(
            finish_value_text(&json!({"reason": "holdout"})),
            "Held out by the split test"
        );
        assert_eq!(
            trigger_text(&Trigger::HealthThreshold {
                threshold: 40,
                direction: "down".into()
            }),
            "Health crossed 40 going down"
        );
        assert_eq!(trigger_text(&Trigger::TrialStarted), "Trial started");
        assert_eq!(trigger_type_text("payment_failed"), "Payment failed");
        assert_eq!(percent(Some(0.4249)), "42 %");
    }
}
