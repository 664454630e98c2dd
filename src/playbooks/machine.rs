//! The playbook engine's rules as a pure state machine: which domain event starts which
//! playbook, who may enter, and — for an enrollment whose step is due — what that step
//! does (the side effect to write to the outbox), why it went the way it did, and where
//! the enrollment goes next and when. The backend stores the result and the outbox row
//! in one transaction, keyed by (enrollment, step), so a retry never acts twice.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::conditions::{self, Op, Reading, Subject};
use super::definition::{Playbook, Reentry, Step, StepKind, Trigger};
use super::timing::{next_local, parse_days, parse_duration, parse_time};
use crate::events::EventKind;

/// Does a domain event of `kind` carrying `data` start a playbook with `trigger`?
/// (Schedules, days after start and manual enrollment are started by the engine's clock
/// or by people, never by an event.)
pub fn starts(trigger: &Trigger, kind: EventKind, data: &Value) -> bool {
    let text = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or_default();
    let optional = |want: &Option<String>, got: &str| {
        want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(got))
    };
    match (trigger, kind) {
        (Trigger::Event { name, filters }, EventKind::EventReceived) => {
            text("name") == name
                && filters.iter().all(|f| {
                    let read = data
                        .get("properties")
                        .and_then(|p| p.get(&f.property))
                        .cloned()
                        .unwrap_or(Value::Null);
                    Op::parse(&f.op).is_some_and(|op| conditions::holds(&read, op, &f.value))
                })
        }
        (Trigger::HealthLevelChanged { to, from }, EventKind::HealthLevelChanged) => {
            optional(to, text("to")) && optional(from, text("from"))
        }
        (
            Trigger::HealthThreshold {
                threshold,
                direction,
            },
            EventKind::HealthThresholdCrossed,
        ) => {
            data.get("threshold").and_then(Value::as_i64) == Some(*threshold)
                && text("direction") == direction
        }
        (Trigger::ChurnRiskChanged { to }, EventKind::ChurnRiskChanged) => optional(to, text("to")),
        (Trigger::AlertOpened { rule }, EventKind::AlertOpened) => optional(rule, text("rule")),
        (Trigger::ExpansionOpened { kind }, EventKind::ExpansionOpened) => {
            optional(kind, text("kind"))
        }
        (Trigger::TrialStarted, EventKind::TrialStarted)
        | (Trigger::PaymentFailed, EventKind::PaymentFailed)
        | (Trigger::SubscriptionCancelled, EventKind::SubscriptionCancelled) => true,
        (Trigger::RenewalIn { days }, EventKind::RenewalDue) => {
            data.get("days").and_then(Value::as_i64) == Some(*days)
        }
        _ => false,
    }
}

/// Whether a clock trigger (a schedule, or days after the start) fires for a customer in
/// `zone` whose contract started on `started`, between two sweeps: in `(after, until]`.
pub fn clock_fires(
    trigger: &Trigger,
    zone: Tz,
    started: Option<chrono::NaiveDate>,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> bool {
    match trigger {
        Trigger::Schedule { time, days } => match (parse_time(time), parse_days(days)) {
            (Ok(t), Ok(d)) => next_local(after, zone, t, &d) <= until,
            _ => false,
        },
        Trigger::DaysAfterStart { days } => started.is_some_and(|s| {
            let day = s + Duration::days(*days);
            let (from, to) = (
                after.with_timezone(&zone).date_naive(),
                until.with_timezone(&zone).date_naive(),
            );
            day > from && day <= to
        }),
        _ => false,
    }
}

/// What is known of a customer's past enrollments in one playbook.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EntryHistory {
    pub enrolled_now: bool,
    pub last_entered: Option<DateTime<Utc>>,
}

/// Why a customer doesn't enter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Refusal {
    AlreadyEnrolled,
    /// Once ever, and it has been.
    AlreadyEntered,
    /// Not before this moment.
    TooSoon(DateTime<Utc>),
    /// An entry condition doesn't hold: what was read.
    Condition(Reading),
}

impl Refusal {
    pub fn text(&self) -> String {
        match self {
            Refusal::AlreadyEnrolled => "already enrolled".into(),
            Refusal::AlreadyEntered => "entered before, and this playbook runs once".into(),
            Refusal::TooSoon(at) => {
                format!("may enter again from {}", at.format("%Y-%m-%d %H:%M UTC"))
            }
            Refusal::Condition(r) => format!("{} (is {})", r.test, r.value),
        }
    }
}

/// Whether `subject` may enter `p` now.
///
/// # Errors
/// The first reason it may not.
pub fn may_enter(
    p: &Playbook,
    subject: &Subject,
    history: EntryHistory,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if history.enrolled_now {
        return Err(Refusal::AlreadyEnrolled);
    }
    match (&p.reentry, history.last_entered) {
        (Reentry::Once, Some(_)) => return Err(Refusal::AlreadyEntered),
        (Reentry::Every(d), Some(last)) => {
            let gap = parse_duration(d).unwrap_or(Duration::zero());
            if now < last + gap {
                return Err(Refusal::TooSoon(last + gap));
            }
        }
        _ => {}
    }
    let (ok, readings) = conditions::all(&p.entry, subject);
    if ok {
        Ok(())
    } else {
        Err(Refusal::Condition(
            readings.into_iter().find(|r| !r.holds).expect("one failed"),
        ))
    }
}

/// Whether the goal was met, is still open, or its time ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalStatus {
    Met,
    Open,
    Missed,
    /// The playbook has no goal.
    None,
}

/// The goal's status for an enrollment that entered at `entered_at`.
pub fn goal_status(
    p: &Playbook,
    subject: &Subject,
    entered_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> GoalStatus {
    let Some(goal) = &p.goal else {
        return GoalStatus::None;
    };
    if conditions::all(&goal.when, subject).0 {
        return GoalStatus::Met;
    }
    let within = parse_duration(&goal.within).unwrap_or(Duration::zero());
    if now >= entered_at + within {
        GoalStatus::Missed
    } else {
        GoalStatus::Open
    }
}

/// The first step an enrollment runs, at once.
pub fn first_step(p: &Playbook, now: DateTime<Utc>) -> Next {
    match p.steps.first() {
        Some(s) => Next::Step {
            id: s.id.clone(),
            at: now,
        },
        None => Next::Done(Finish::Completed),
    }
}

/// What one due enrollment needs to run its step.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    pub playbook: &'a Playbook,
    pub subject: &'a Subject,
    pub now: DateTime<Utc>,
    /// The customer's time zone (else the account's).
    pub zone: Tz,
    /// 0–99, fixed per enrollment: which arm of a split it falls in.
    pub bucket: u32,
}

/// A side effect of a step, written to the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Effect {
    SendEmail {
        template: String,
        to: String,
    },
    CreateTask {
        title: String,
        description: String,
        assignee: String,
        priority: String,
        /// None: from the tier's SLA.
        due_in_minutes: Option<i64>,
    },
    Slack {
        text: String,
    },
    UpdateField {
        field: String,
        op: Option<String>,
        value: String,
    },
    Webhook {
        url: String,
        body: Value,
    },
}

/// How an enrollment ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Finish {
    /// Its path ran out or reached an end.
    Completed,
    /// An exit condition held: which, and what it read.
    Exited { reading: Reading },
    /// A split dealt it to the holdout.
    Holdout,
    /// The step it was on no longer exists (a definition that changed under it).
    Lost { step: String },
}

/// Where an enrollment goes after a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "next", rename_all = "snake_case")]
pub enum Next {
    /// Run this step at this time.
    Step {
        id: String,
        at: DateTime<Utc>,
    },
    /// Wait for an event named `event` until `until`: on it, go to `on_event`; at
    /// `until`, to `on_timeout` (None: the path ends).
    Event {
        event: String,
        on_event: Option<String>,
        on_timeout: Option<String>,
        until: DateTime<Utc>,
    },
    Done(Finish),
}

/// Why a branch or split went the way it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The branch or arm taken ("Otherwise", "Holdout").
    pub taken: String,
    /// Every condition read, in order, until one branch held.
    pub readings: Vec<Reading>,
}

/// What running one step came to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub step: String,
    pub effect: Option<Effect>,
    pub decision: Option<Decision>,
    /// The step marked the goal reached.
    pub goal_reached: bool,
    pub next: Next,
}

/// The step after `step` in its list, due at `at`; or the end of the path.
fn after(p: &Playbook, step: &str, at: DateTime<Utc>) -> Next {
    match p.next_after(step) {
        Some(s) => Next::Step {
            id: s.id.clone(),
            at,
        },
        None => Next::Done(Finish::Completed),
    }
}

/// The first step of `list`, now; or the end of the path.
fn enter(list: &[Step], now: DateTime<Utc>) -> Next {
    list.first()
        .map_or(Next::Done(Finish::Completed), |s| Next::Step {
            id: s.id.clone(),
            at: now,
        })
}

/// Runs step `id` for a due enrollment: exit conditions first (an exit ends it before the
/// step acts), then the step.
pub fn run_step(run: &Run<'_>, id: &str) -> Outcome {
    let outcome = |effect, decision, goal_reached, next| Outcome {
        step: id.to_string(),
        effect,
        decision,
        goal_reached,
        next,
    };
    let p = run.playbook;
    if let Some(reading) = conditions::first_holding(&p.exit, run.subject) {
        return outcome(None, None, false, Next::Done(Finish::Exited { reading }));
    }
    let Some(at) = p.find(id) else {
        return outcome(
            None,
            None,
            false,
            Next::Done(Finish::Lost { step: id.into() }),
        );
    };
    let now = run.now;
    let effect_then_next = |effect: Effect| outcome(Some(effect), None, false, after(p, id, now));
    match &at.step.kind {
        StepKind::Wait { duration } => {
            let d = parse_duration(duration).unwrap_or(Duration::zero());
            outcome(None, None, false, after(p, id, now + d))
        }
        StepKind::WaitUntil { time, days } => {
            let at = match (parse_time(time), parse_days(days)) {
                (Ok(t), Ok(d)) => next_local(now, run.zone, t, &d),
                _ => now,
            };
            outcome(None, None, false, after(p, id, at))
        }
        StepKind::WaitForEvent {
            event,
            timeout,
            on_timeout,
        } => {
            let d = parse_duration(timeout).unwrap_or(Duration::zero());
            outcome(
                None,
                None,
                false,
                Next::Event {
                    event: event.clone(),
                    on_event: p.next_after(id).map(|s| s.id.clone()),
                    on_timeout: on_timeout.first().map(|s| s.id.clone()),
                    until: now + d,
                },
            )
        }
        StepKind::Branch {
            branches,
            otherwise,
        } => {
            let mut readings = Vec::new();
            for b in branches {
                let (ok, read) = conditions::all(&b.when, run.subject);
                readings.extend(read);
                if ok {
                    let decision = Decision {
                        taken: b.name.clone(),
                        readings,
                    };
                    return outcome(None, Some(decision), false, enter(&b.steps, now));
                }
            }
            let decision = Decision {
                taken: "Otherwise".into(),
                readings,
            };
            outcome(None, Some(decision), false, enter(otherwise, now))
        }
        StepKind::Split { arms, .. } => {
            let mut upper = 0;
            for a in arms {
                upper += a.percent;
                if run.bucket < upper {
                    let decision = Decision {
                        taken: a.name.clone(),
                        readings: Vec::new(),
                    };
                    return outcome(None, Some(decision), false, enter(&a.steps, now));
                }
            }
            let decision = Decision {
                taken: "Holdout".into(),
                readings: Vec::new(),
            };
            outcome(None, Some(decision), false, Next::Done(Finish::Holdout))
        }
        StepKind::SendEmail { template, to } => effect_then_next(Effect::SendEmail {
            template: template.clone(),
            to: to.clone(),
        }),
        StepKind::CreateTask {
            title,
            description,
            assignee,
            priority,
            due,
        } => effect_then_next(Effect::CreateTask {
            title: title.clone(),
            description: description.clone(),
            assignee: assignee.clone(),
            priority: priority.clone(),
            due_in_minutes: (due != "sla")
                .then(|| parse_duration(due).map(|d| d.num_minutes()).ok())
                .flatten(),
        }),
        StepKind::Slack { text } => effect_then_next(Effect::Slack { text: text.clone() }),
        StepKind::UpdateField { field, op, value } => effect_then_next(Effect::UpdateField {
            field: field.clone(),
            op: op.clone(),
            value: value.clone(),
        }),
        StepKind::Webhook { url, body } => effect_then_next(Effect::Webhook {
            url: url.clone(),
            body: body.clone(),
        }),
        StepKind::GoalReached => outcome(None, None, true, after(p, id, now)),
        StepKind::End => outcome(None, None, false, Next::Done(Finish::Completed)),
    }
}

/// A split's bucket for an enrollment: 0–99, the same on every server and every retry.
pub fn bucket(enrollment_id: i64) -> u32 {
    // SplitMix64: well spread for consecutive ids.
    let mut z = (enrollment_id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % 100) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Level;
    use crate::playbooks::validate::{parse, Catalog};
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-12-03T10:00:00Z".parse().unwrap()
    }

    fn trial() -> Playbook {
        parse(
            r#"{
            "name": "Trial day 1",
            "trigger": {"type": "trial_started"},
            "reentry": "once",
            "entry": [{"field": "stage", "op": "eq", "value": "trial"}],
            "exit": [{"field": "stage", "op": "eq", "value": "active"}],
            "goal": {"name": "Converted", "when": [{"field": "stage", "op": "eq", "value": "active"}], "within": "14d"},
            "steps": [
                {"id": "welcome", "type": "send_email", "template": "welcome", "to": "primary_contact"},
                {"id": "day1", "type": "wait", "for": "1d"},
                {"id": "engaged", "type": "branch",
                 "branches": [
                    {"name": "High engagement", "when": [{"field": "usage.segment", "op": "eq", "value": "high"}],
                     "steps": [{"id": "tips", "type": "send_email", "template": "power", "to": "primary_contact"}]},
                    {"name": "Low engagement", "when": [{"field": "usage.segment", "op": "eq", "value": "low"}],
                     "steps": [{"id": "call", "type": "create_task", "title": "Call the trial", "assignee": "owner", "priority": "high", "due": "1d"},
                               {"id": "reply", "type": "wait_for_event", "event": "Report Created", "timeout": "3d",
                                "on_timeout": [{"id": "nudge", "type": "slack", "text": "Trial still idle"}]},
                               {"id": "won", "type": "goal_reached"}]}],
                 "otherwise": [{"id": "split", "type": "split", "holdout": 20,
                                "arms": [{"name": "Video", "percent": 80, "steps": [{"id": "video", "type": "send_email", "template": "video", "to": "owner"}]}]}]}
            ]}"#,
            &Catalog::default(),
        )
        .unwrap()
    }

    fn subject(stage: &str, segment: Option<conditions::UsageSegment>) -> Subject {
        Subject {
            stage: stage.into(),
            usage_segment: segment,
            ..Subject::default()
        }
    }

    fn run<'a>(p: &'a Playbook, s: &'a Subject, bucket: u32) -> Run<'a> {
        Run {
            playbook: p,
            subject: s,
            now: now(),
            zone: Tz::UTC,
            bucket,
        }
    }

    #[test]
    fn steps_act_wait_and_go_on() {
        let p = trial();
        let s = subject("trial", Some(conditions::UsageSegment::Low));
        let r = run(&p, &s, 0);
        assert_eq!(
            first_step(&p, now()),
            Next::Step {
                id: "welcome".into(),
                at: now()
            }
        );
        let o = run_step(&r, "welcome");
        assert_eq!(
            o.effect,
            Some(Effect::SendEmail {
                template: "welcome".into(),
                to: "primary_contact".into()
            })
        );
        assert_eq!(
            o.next,
            Next::Step {
                id: "day1".into(),
                at: now()
            }
        );
        let o = run_step(&r, "day1");
        assert_eq!(o.effect, None);
        assert_eq!(
            o.next,
            Next::Step {
                id: "engaged".into(),
                at: now() + Duration::days(1)
            }
        );
        let o = run_step(&r, "engaged");
        let d = o.decision.unwrap();
        assert_eq!(d.taken, "Low engagement");
        assert_eq!(d.readings.len(), 2, "both branches were read");
        assert!(!d.readings[0].holds && d.readings[1].holds);
        assert_eq!(
            o.next,
            Next::Step {
                id: "call".into(),
                at: now()
            }
        );
        let o = run_step(&r, "call");
        assert!(matches!(
            o.effect,
            Some(Effect::CreateTask {
                due_in_minutes: Some(1440),
                ..
            })
        ));
        let o = run_step(&r, "reply");
        assert_eq!(
            o.next,
            Next::Event {
                event: "Report Created".into(),
                on_event: Some("won".into()),
                on_timeout: Some("nudge".into()),
                until: now() + Duration::days(3)
            }
        );
        let o = run_step(&r, "won");
        assert!(o.goal_reached);
        assert_eq!(o.next, Next::Done(Finish::Completed));
        let o = run_step(&r, "nudge");
        assert_eq!(o.next, Next::Done(Finish::Completed), "a timeout path ends");
    }

    #[test]
    fn exits_come_before_the_step_and_say_why() {
        let p = trial();
        let s = subject("active", None);
        let o = run_step(&run(&p, &s, 0), "welcome");
        assert_eq!(o.effect, None, "no e-mail to a converted customer");
        match o.next {
            Next::Done(Finish::Exited { reading }) => assert_eq!(reading.test, "stage = active"),
            other => panic!("{other:?}"),
        }
        let o = run_step(&run(&p, &subject("trial", None), 0), "gone");
        assert_eq!(
            o.next,
            Next::Done(Finish::Lost {
                step: "gone".into()
            })
        );
    }

    #[test]
    fn a_split_deals_by_bucket_and_the_holdout_gets_nothing() {
        let p = trial();
        let s = subject("trial", Some(conditions::UsageSegment::Medium));
        let o = run_step(&run(&p, &s, 0), "engaged");
        assert_eq!(o.decision.unwrap().taken, "Otherwise");
        assert_eq!(
            o.next,
            Next::Step {
                id: "split".into(),
                at: now()
            }
        );
        let arm = run_step(&run(&p, &s, 79), "split");
        assert_eq!(arm.decision.unwrap().taken, "Video");
        let held = run_step(&run(&p, &s, 80), "split");
        assert_eq!(held.next, Next::Done(Finish::Holdout));
        assert_eq!(held.effect, None);
        // Buckets spread evenly over consecutive enrollments.
        let in_holdout = (1..=10_000).filter(|id| bucket(*id) >= 80).count();
        assert!((1_800..2_200).contains(&in_holdout), "{in_holdout}");
    }

    #[test]
    fn entry_follows_the_reentry_rule_and_the_conditions() {
        let mut p = trial();
        let s = subject("trial", None);
        let fresh = EntryHistory::default();
        assert_eq!(may_enter(&p, &s, fresh, now()), Ok(()));
        let enrolled = EntryHistory {
            enrolled_now: true,
            last_entered: Some(now()),
        };
        assert_eq!(
            may_enter(&p, &s, enrolled, now()),
            Err(Refusal::AlreadyEnrolled)
        );
        let before = EntryHistory {
            enrolled_now: false,
            last_entered: Some(now() - Duration::days(40)),
        };
        assert_eq!(
            may_enter(&p, &s, before, now()),
            Err(Refusal::AlreadyEntered)
        );
        p.reentry = Reentry::Every("30d".into());
        assert_eq!(may_enter(&p, &s, before, now()), Ok(()));
        p.reentry = Reentry::Every("60d".into());
        assert!(matches!(
            may_enter(&p, &s, before, now()),
            Err(Refusal::TooSoon(_))
        ));
        match may_enter(&p, &subject("active", None), fresh, now()) {
            Err(r @ Refusal::Condition(_)) => assert_eq!(r.text(), "stage = trial (is \"active\")"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn goals_are_met_open_or_missed() {
        let p = trial();
        let entered = now() - Duration::days(3);
        assert_eq!(
            goal_status(&p, &subject("active", None), entered, now()),
            GoalStatus::Met
        );
        assert_eq!(
            goal_status(&p, &subject("trial", None), entered, now()),
            GoalStatus::Open
        );
        let long_ago = now() - Duration::days(20);
        assert_eq!(
            goal_status(&p, &subject("trial", None), long_ago, now()),
            GoalStatus::Missed
        );
    }

    #[test]
    fn clock_triggers_fire_once_between_sweeps_in_the_customers_zone() {
        let monday_nine = Trigger::Schedule {
            time: "09:00".into(),
            days: vec!["mon".into()],
        };
        let paris = Tz::Europe__Paris;
        let t = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
        // Monday 2026-12-07 09:00 in Paris is 08:00 UTC.
        assert!(clock_fires(
            &monday_nine,
            paris,
            None,
            t("2026-12-07T07:50:00Z"),
            t("2026-12-07T08:00:00Z")
        ));
        assert!(
            !clock_fires(
                &monday_nine,
                paris,
                None,
                t("2026-12-07T08:00:00Z"),
                t("2026-12-07T08:10:00Z")
            ),
            "already fired"
        );
        assert!(
            !clock_fires(
                &monday_nine,
                Tz::America__New_York,
                None,
                t("2026-12-07T07:50:00Z"),
                t("2026-12-07T08:00:00Z")
            ),
            "03:00 in New York"
        );
        let day_30 = Trigger::DaysAfterStart { days: 30 };
        let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 7);
        assert!(clock_fires(
            &day_30,
            Tz::UTC,
            start,
            t("2026-12-06T23:50:00Z"),
            t("2026-12-07T00:00:00Z")
        ));
        assert!(!clock_fires(
            &day_30,
            Tz::UTC,
            start,
            t("2026-12-07T00:00:00Z"),
            t("2026-12-07T00:10:00Z")
        ));
        assert!(!clock_fires(
            &day_30,
            Tz::UTC,
            None,
            t("2026-12-06T00:00:00Z"),
            t("2026-12-08T00:00:00Z")
        ));
        assert!(!clock_fires(
            &Trigger::Manual,
            Tz::UTC,
            start,
            t("2026-12-06T00:00:00Z"),
            t("2026-12-08T00:00:00Z")
        ));
    }

    #[test]
    fn triggers_match_their_events() {
        let t = Trigger::HealthLevelChanged {
            to: Some(Level::Poor.as_str().into()),
            from: None,
        };
        assert!(starts(
            &t,
            EventKind::HealthLevelChanged,
            &json!({"from": "fair", "to": "poor"})
        ));
        assert!(!starts(
            &t,
            EventKind::HealthLevelChanged,
            &json!({"from": "poor", "to": "fair"})
        ));
        assert!(!starts(
            &t,
            EventKind::ChurnRiskChanged,
            &json!({"to": "poor"})
        ));
        let e = Trigger::Event {
            name: "Plan Limit Reached".into(),
            filters: vec![super::super::definition::PropertyFilter {
                property: "percent".into(),
                op: "gte".into(),
                value: json!(80),
            }],
        };
        let event =
            |pct: i64| json!({"name": "Plan Limit Reached", "properties": {"percent": pct}});
        assert!(starts(&e, EventKind::EventReceived, &event(85)));
        assert!(!starts(&e, EventKind::EventReceived, &event(50)));
        let threshold = Trigger::HealthThreshold {
            threshold: 40,
            direction: "down".into(),
        };
        assert!(starts(
            &threshold,
            EventKind::HealthThresholdCrossed,
            &json!({"threshold": 40, "direction": "down"})
        ));
        assert!(starts(
            &Trigger::RenewalIn { days: 30 },
            EventKind::RenewalDue,
            &json!({"days": 30})
        ));
        assert!(!starts(
            &Trigger::Manual,
            EventKind::CustomerCreated,
            &json!({})
        ));
        assert!(starts(
            &Trigger::AlertOpened { rule: None },
            EventKind::AlertOpened,
            &json!({"rule": "red_zone"})
        ));
    }
}
