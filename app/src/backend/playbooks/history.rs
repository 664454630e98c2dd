//! The demo portfolio's playbook history: months of enrollments, step runs, e-mails sent
//! and tasks done with outcomes, so every page is alive on first open.
//!
//! Nothing here is made up step by step: the weekly health scores the demo already has
//! say when each customer fell under 70 or under 40, and from that day the ready
//! library's playbooks are walked through the engine's own state machine
//! (`vcsm::playbooks::machine::run_step`) with the customer as it was that week — its
//! score and level then, its usage in the 28 days before. Each step's effect is written
//! as the engine writes it; e-mails are rendered from their templates for their
//! recipients and stored as sent; tasks are stored done, with an outcome drawn from the
//! customer's id (deterministic, so two demo runs agree). A walk that reaches today stops
//! there, live: the running engine takes it on from its next step.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use vcsm::health::Level;
use vcsm::playbooks::machine::{self, Effect, Finish, GoalStatus, Next, Run};
use vcsm::playbooks::{timing, Playbook};
use vcsm::tasks::Outcome;

use super::delivery::{self, Prepared};
use super::subject::{self, UsageRanks};
use super::{by_key, current, enrollment_status as st};
use crate::backend::db::begin_write;
use crate::backend::entities::{
    customer, email_template, enrollment, health_score, outbox, step_run, task,
};

/// The library's playbooks the demo turns on, and the health threshold whose crossing
/// (downwards) started each in the past.
const HISTORY: [(&str, i16); 2] = [("high-risk-intervention", 40), ("medium-risk-outreach", 70)];

/// Steps one walk takes at most (the library's longest path is far shorter).
const MAX_STEPS: usize = 40;

/// What seeding wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryStats {
    pub enrollments: usize,
    pub steps: usize,
    pub emails: usize,
    pub tasks: usize,
}

/// Writes the history. Run once, right after the demo portfolio is scored (it reads the
/// weekly scores). The playbooks stay off, as on a fresh install: an admin turns them on
/// (walks that reached today go on meanwhile, as a turned-off playbook's enrollments do).
///
/// # Errors
/// Database errors.
pub async fn seed_demo_history<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<HistoryStats, DbErr> {
    let txn = begin_write(db).await?;
    let stats = write_history(&txn, now).await?;
    txn.commit().await?;
    Ok(stats)
}

async fn write_history(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<HistoryStats, DbErr> {
    super::load_library(db, now).await?;
    let mut stats = HistoryStats::default();
    let customers = customer::Entity::find()
        .filter(customer::Column::ArchivedAt.is_null())
        .order_by_asc(customer::Column::Id)
        .all(db)
        .await?;
    let mut ranks_by_day: BTreeMap<chrono::NaiveDate, UsageRanks> = BTreeMap::new();
    for (key, threshold) in HISTORY {
        let Some(pb) = by_key(db, key).await? else {
            continue;
        };
        let Some((v, def)) = current(db, &pb).await? else {
            continue;
        };
        for c in &customers {
            let scores = health_score::Entity::find()
                .filter(health_score::Column::CustomerId.eq(c.id))
                .order_by_asc(health_score::Column::Day)
                .all(db)
                .await?;
            let Some(start) = crossing(&scores, threshold, now) else {
                continue;
            };
            let day = start.date_naive();
            if let std::collections::btree_map::Entry::Vacant(slot) = ranks_by_day.entry(day) {
                slot.insert(UsageRanks::load(db, start).await?);
            }
            let ranks = &ranks_by_day[&day];
            let walked = walk(db, &pb, &v, &def, c, &scores, ranks, start, now).await?;
            stats.enrollments += 1;
            stats.steps += walked.steps;
            stats.emails += walked.emails;
            stats.tasks += walked.tasks;
        }
    }
    Ok(stats)
}

/// The first week whose score fell under `threshold` from at or above it, at least a
/// week before `now` (09:00 that day, plus a few hours drawn from the customer): when
/// the playbook would have started.
fn crossing(
    scores: &[health_score::Model],
    threshold: i16,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    scores.windows(2).find_map(|w| {
        let (before, after) = (&w[0], &w[1]);
        let at = after
            .day
            .and_time(NaiveTime::from_hms_opt(9, 0, 0)?)
            .and_utc()
            + Duration::minutes(i64::from(u16::try_from(after.customer_id % 480).ok()?));
        (before.score >= threshold && after.score < threshold && at < now - Duration::days(7))
            .then_some(at)
    })
}

/// The customer as the playbook read it at `at`: its usage then, its latest score by then.
async fn subject_at(
    db: &impl ConnectionTrait,
    c: &customer::Model,
    scores: &[health_score::Model],
    ranks: &UsageRanks,
    at: DateTime<Utc>,
) -> Result<vcsm::playbooks::conditions::Subject, DbErr> {
    let mut s = subject::load(db, c, ranks, at).await?;
    if let Some(row) = scores.iter().rev().find(|r| r.day <= at.date_naive()) {
        s.health_score = Some(i64::from(row.score));
        s.health_level = Level::parse(&row.level);
    }
    Ok(s)
}

#[derive(Default)]
struct Walked {
    steps: usize,
    emails: usize,
    tasks: usize,
}

/// A task's outcome, drawn from the customer and step (most reach someone).
fn outcome_for(customer_id: i64, step: &str) -> Outcome {
    let h = step
        .bytes()
        .fold(u64::try_from(customer_id).unwrap_or(0), |h, b| {
            h.wrapping_mul(31).wrapping_add(u64::from(b))
        })
        % 20;
    match h {
        0..=7 => Outcome::ReachedEngaged,
        8..=11 => Outcome::NoAnswer,
        12..=14 => Outcome::RiskAverted,
        15..=16 => Outcome::MeetingBooked,
        17 => Outcome::Escalated,
        _ => Outcome::Lost,
    }
}

#[allow(clippy::too_many_arguments)]
async fn walk(
    db: &impl ConnectionTrait,
    pb: &crate::backend::entities::playbook::Model,
    v: &crate::backend::entities::playbook_version::Model,
    def: &Playbook,
    c: &customer::Model,
    scores: &[health_score::Model],
    ranks: &UsageRanks,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Walked, DbErr> {
    let bucket = machine::bucket(c.id ^ (pb.id << 32));
    let e = enrollment::ActiveModel {
        playbook_id: Set(pb.id),
        version_id: Set(v.id),
        customer_id: Set(c.id),
        status: Set(st::ACTIVE.into()),
        live_customer_id: Set(Some(c.id)),
        attempts: Set(0),
        bucket: Set(i32::try_from(bucket).unwrap_or(0)),
        entered_at: Set(start),
        goal: Set(if def.goal.is_some() { "open" } else { "none" }.into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let zone = timing::zone(c.time_zone.as_deref());
    let mut walked = Walked::default();
    let mut next = machine::first_step(def, start);
    let mut goal_reached_at = None;
    for _ in 0..MAX_STEPS {
        let (id, at) = match &next {
            Next::Step { id, at } => (id.clone(), *at),
            // A wait for an event in the past: it timed out (the demo's events are usage).
            Next::Event {
                on_timeout, until, ..
            } if *until <= now => match on_timeout {
                Some(id) => (id.clone(), *until),
                None => {
                    next = Next::Done(Finish::Completed);
                    break;
                }
            },
            _ => break,
        };
        if at > now {
            break;
        }
        let subject = subject_at(db, c, scores, ranks, at).await?;
        let run = Run {
            playbook: def,
            subject: &subject,
            now: at,
            zone,
            bucket,
        };
        let outcome = machine::run_step(&run, &id);
        let step_type = def.find(&id).map_or("missing", |l| l.step.kind.type_name());
        step_run::ActiveModel {
            enrollment_id: Set(e.id),
            step: Set(id.clone()),
            step_type: Set(step_type.into()),
            ran_at: Set(at),
            outcome: Set(serde_json::to_value(&outcome).unwrap_or_default()),
            ..Default::default()
        }
        .insert(db)
        .await?;
        walked.steps += 1;
        if let Some(effect) = &outcome.effect {
            match effect_of(db, e.id, &id, c, effect, at).await? {
                Some(Written::Email) => walked.emails += 1,
                Some(Written::Task) => walked.tasks += 1,
                None => {}
            }
        }
        if outcome.goal_reached && goal_reached_at.is_none() {
            goal_reached_at = Some(at);
        }
        next = outcome.next;
    }
    finish(db, e, def, c, scores, ranks, next, goal_reached_at, now).await?;
    Ok(walked)
}

enum Written {
    Email,
    Task,
}

/// A step's side effect as it went out then: an e-mail sent, a task done, a Slack
/// message posted. Field updates and webhooks of the past are recorded by their step
/// runs only (the customer as it is today already reflects what happened).
async fn effect_of(
    db: &impl ConnectionTrait,
    enrollment_id: i64,
    step: &str,
    c: &customer::Model,
    effect: &Effect,
    at: DateTime<Utc>,
) -> Result<Option<Written>, DbErr> {
    let sent = |kind: &str, result: serde_json::Value| outbox::ActiveModel {
        kind: Set(kind.into()),
        customer_id: Set(c.id),
        enrollment_id: Set(Some(enrollment_id)),
        step: Set(Some(step.into())),
        payload: Set(serde_json::to_value(effect).unwrap_or_default()),
        status: Set(delivery::status::SENT.into()),
        attempts: Set(1),
        next_attempt_at: Set(at),
        result: Set(Some(result)),
        created_at: Set(at),
        sent_at: Set(Some(at + Duration::seconds(20))),
        ..Default::default()
    };
    match effect {
        Effect::SendEmail { template, to } => {
            let Some(t) = email_template::Entity::find()
                .filter(email_template::Column::Key.eq(template.as_str()))
                .one(db)
                .await?
            else {
                return Ok(None);
            };
            let Prepared {
                recipient,
                contact,
                message,
            } = delivery::prepare_email(db, c, &t, to, at).await?;
            let (Ok(recipient), Ok(m)) = (recipient, message) else {
                return Ok(None);
            };
            sent(
                "email",
                json!({
                    "to": recipient,
                    "subject": m.subject,
                    "text": m.text,
                    "contact": contact.map(|k| k.id),
                    "operational": t.operational,
                }),
            )
            .insert(db)
            .await?;
            Ok(Some(Written::Email))
        }
        Effect::Slack { text } => {
            sent(
                "slack",
                json!({ "text": text.replace("{{ customer.name }}", &c.name) }),
            )
            .insert(db)
            .await?;
            Ok(None)
        }
        Effect::CreateTask {
            title,
            description,
            priority,
            due_in_minutes,
            ..
        } => {
            let due = at + due_in_minutes.map_or(Duration::hours(24), Duration::minutes);
            let done_at = at + Duration::hours(3 + (c.id % 20));
            let outcome = outcome_for(c.id, step);
            task::ActiveModel {
                customer_id: Set(c.id),
                title: Set(title.clone()),
                description: Set(description.clone()),
                assignee_id: Set(c.owner_id),
                priority: Set(priority.clone()),
                due_at: Set(due),
                status: Set(crate::backend::tasks::DONE.into()),
                outcome: Set(Some(outcome.as_str().into())),
                outcome_note: Set(None),
                source: Set("playbook".into()),
                enrollment_id: Set(Some(enrollment_id)),
                step: Set(Some(step.into())),
                created_at: Set(at),
                completed_at: Set(Some(done_at)),
                completed_by: Set(c.owner_id),
                ..Default::default()
            }
            .insert(db)
            .await?;
            Ok(Some(Written::Task))
        }
        Effect::UpdateField { .. } | Effect::Webhook { .. } => Ok(None),
    }
}

/// Ends a walk: finished as the machine said, or live at its next step; its goal read
/// from the weekly scores after it started.
#[allow(clippy::too_many_arguments)]
async fn finish(
    db: &impl ConnectionTrait,
    e: enrollment::Model,
    def: &Playbook,
    c: &customer::Model,
    scores: &[health_score::Model],
    ranks: &UsageRanks,
    next: Next,
    goal_reached_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let entered = e.entered_at;
    let mut a: enrollment::ActiveModel = e.into();
    // A finished walk ends the week after its last step's, as the scores saw it.
    let end = scores
        .iter()
        .map(|s| s.day.and_time(NaiveTime::MIN).and_utc())
        .find(|d| *d > entered)
        .unwrap_or(entered)
        .min(now);
    super::engine::apply_next(&mut a, &next, end);
    if def.goal.is_some() {
        let mut goal = goal_reached_at.map(|at| (GoalStatus::Met, at));
        if goal.is_none() {
            // The goal read week by week: the customer as at entry, with each week's score.
            let mut s = subject_at(db, c, scores, ranks, entered).await?;
            for row in scores.iter().filter(|r| r.day > entered.date_naive()) {
                let at = row
                    .day
                    .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN))
                    .and_utc();
                if at > now {
                    break;
                }
                s.health_score = Some(i64::from(row.score));
                s.health_level = Level::parse(&row.level);
                match machine::goal_status(def, &s, entered, at) {
                    GoalStatus::Open => continue,
                    status => {
                        goal = Some((status, at));
                        break;
                    }
                }
            }
        }
        if let Some((status, at)) = goal {
            a.goal = Set(match status {
                GoalStatus::Met => "met",
                GoalStatus::Missed => "missed",
                _ => "open",
            }
            .into());
            a.goal_at = Set(Some(at));
        }
    }
    a.update(db).await?;
    Ok(())
}
