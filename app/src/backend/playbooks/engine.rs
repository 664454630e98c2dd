//! The playbook engine: domain events start enrollments (and wake those waiting for an
//! event), and due enrollments run their step. Each step runs in one transaction that
//! records the step run (unique per enrollment and step), writes its side effect — a task,
//! a field update, or an outbox row for an e-mail, a Slack message or a webhook, each
//! unique per enrollment and step too — and moves the enrollment on. A crash before the
//! commit leaves nothing behind and the step runs again; after it, the step is done. So
//! nothing is sent twice and nothing is skipped.
//!
//! Due enrollments are claimed with a lease (`FOR UPDATE SKIP LOCKED` on Postgres), so
//! several servers share the work and a dead server's claims run out.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    FromQueryResult, IntoActiveModel, QueryFilter, QueryOrder, Set, Statement, TransactionSession,
    TransactionTrait,
};
use serde_json::json;
use vcsm::events::EventKind;
use vcsm::playbooks::machine::{self, Effect, Finish, Next, Run};
use vcsm::playbooks::{timing, Playbook};

use super::subject::{self, UsageRanks};
use super::{definition, enroll, enrollment_status as st, live, Enrolled};
use crate::backend::db::begin_write;
use crate::backend::entities::{
    customer, enrollment, event_cursor, outbox, playbook, playbook_version, segment_member,
    step_run, task, user,
};
use crate::backend::{alerts, audit, events, jobs, tasks};

/// The engine's cursor over the domain events.
pub const CONSUMER: &str = "playbooks";

/// How long a claim on a due enrollment holds.
pub const LEASE: Duration = Duration::seconds(60);

/// The claim in force: [`LEASE`], or the job lease when that is shorter (tests of a
/// killed server set `VCSM_JOB_LEASE_SECS` so its claims come back within seconds).
pub(super) fn lease() -> Duration {
    LEASE.min(jobs::lease())
}

/// Domain events read per batch.
const EVENT_BATCH: u64 = 500;

/// Batches one pass reads at most before running due steps.
const EVENT_BATCHES_PER_PASS: usize = 20;

/// An event older than this starts nothing: a server catching up on a backlog (a first
/// start over imported history, a long outage) must not act on what is no longer true.
pub const STALE_AFTER: Duration = Duration::hours(24);

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub events: usize,
    pub enrolled: usize,
    pub steps: usize,
}

/// Reads the domain events after the engine's cursor and starts the playbooks they
/// trigger; product events also wake enrollments waiting for them. One transaction per
/// batch, the cursor moved in it: a batch is handled wholly or not at all, and one server
/// at a time (the cursor row is locked on Postgres).
///
/// # Errors
/// Database errors (the batch is then read again).
pub async fn consume_events<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<Pass, DbErr> {
    event_cursor::Entity::insert(event_cursor::ActiveModel {
        consumer: Set(CONSUMER.into()),
        tx_id: Set(0),
        last_id: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(event_cursor::Column::Consumer)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let txn = begin_write(db).await?;
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT consumer FROM event_cursors WHERE consumer = $1 FOR UPDATE",
            [CONSUMER.into()],
        ))
        .await?;
    }
    let batch = events::read(&txn, CONSUMER, EVENT_BATCH).await?;
    let Some(last) = batch.last() else {
        txn.commit().await?;
        return Ok(Pass::default());
    };
    let playbooks = live(&txn).await?;
    let ranks = if playbooks.is_empty() {
        UsageRanks::default()
    } else {
        UsageRanks::load(&txn, now).await?
    };
    // Alerts opened in the batch, with the playbooks their event starts: those no
    // playbook ends up handling open a task once the batch's enrollments are made.
    let mut opened_alerts: Vec<(i64, serde_json::Value, Vec<i64>)> = Vec::new();
    let mut pass = Pass {
        events: batch.len(),
        ..Pass::default()
    };
    for e in &batch {
        let Some(kind) = EventKind::parse(&e.kind) else {
            continue;
        };
        if kind == EventKind::EventReceived {
            if let Some(name) = e.data.get("name").and_then(|n| n.as_str()) {
                wake_waiting(&txn, e.customer_id, name, now).await?;
            }
        }
        if e.occurred_at < now - STALE_AFTER {
            continue;
        }
        let starting: Vec<_> = playbooks
            .iter()
            .filter(|(_, _, def)| machine::starts(&def.trigger, kind, &e.data))
            .collect();
        if kind == EventKind::AlertOpened {
            let handlers = starting.iter().map(|(pb, _, _)| pb.id).collect();
            opened_alerts.push((e.customer_id, e.data.clone(), handlers));
        }
        if starting.is_empty() {
            continue;
        }
        let Some(c) = customer::Entity::find_by_id(e.customer_id)
            .one(&txn)
            .await?
        else {
            continue;
        };
        if c.archived_at.is_some() {
            continue;
        }
        for (pb, v, def) in starting {
            if let Enrolled::Yes(_) =
                enroll(&txn, pb, v, def, &c, &ranks, Some(e.id), None, now).await?
            {
                pass.enrolled += 1;
            }
        }
    }
    if !opened_alerts.is_empty() {
        let rules = alerts::rules(&txn).await?;
        for (customer_id, data, handlers) in opened_alerts {
            let Some(alert_id) = data.get("alert_id").and_then(serde_json::Value::as_i64) else {
                continue;
            };
            if !handled(&txn, customer_id, &handlers).await? {
                tasks::open_for_alert(&txn, alert_id, &rules, now).await?;
            }
        }
    }
    events::advance(&txn, CONSUMER, last, now).await?;
    txn.commit().await?;
    Ok(pass)
}

/// Whether the customer is in one of `playbooks` now (a running playbook handles it).
async fn handled(
    db: &impl ConnectionTrait,
    customer_id: i64,
    playbooks: &[i64],
) -> Result<bool, DbErr> {
    if playbooks.is_empty() {
        return Ok(false);
    }
    Ok(sea_orm::PaginatorTrait::count(
        enrollment::Entity::find()
            .filter(enrollment::Column::CustomerId.eq(customer_id))
            .filter(enrollment::Column::PlaybookId.is_in(playbooks.to_vec()))
            .filter(enrollment::Column::Status.is_in(st::LIVE)),
        db,
    )
    .await?
        > 0)
}

/// Enrollments of the customer waiting for `name` go on to their next step now.
async fn wake_waiting(
    db: &impl ConnectionTrait,
    customer_id: i64,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let waiting = enrollment::Entity::find()
        .filter(enrollment::Column::CustomerId.eq(customer_id))
        .filter(enrollment::Column::Status.eq(st::WAITING))
        .filter(enrollment::Column::WaitEvent.eq(name))
        .all(db)
        .await?;
    for e in waiting {
        let next = match e.on_event.clone() {
            Some(id) => Next::Step { id, at: now },
            None => Next::Done(Finish::Completed),
        };
        let mut a = e.into_active_model();
        apply_next(&mut a, &next, now);
        a.update(db).await?;
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct Claimed {
    id: i64,
}

/// Claims up to `limit` due enrollments for `worker` (active with a step due, or
/// waiting past their timeout), oldest due first.
///
/// # Errors
/// Database errors.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    worker: &str,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<i64>, DbErr> {
    let backend = db.get_database_backend();
    let until = now + lease();
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE enrollments SET locked_by = $1, locked_until = $2 WHERE id IN (\
             SELECT id FROM enrollments WHERE status IN ('active', 'waiting') \
             AND due_at <= $3 AND (locked_until IS NULL OR locked_until < $3) \
             ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING id"
        }
        _ => {
            "UPDATE enrollments SET locked_by = ?, locked_until = ? WHERE id IN (\
             SELECT id FROM enrollments WHERE status IN ('active', 'waiting') \
             AND due_at <= ? AND (locked_until IS NULL OR locked_until < ?) \
             ORDER BY due_at LIMIT ?) RETURNING id"
        }
    };
    let values: Vec<sea_orm::Value> = match backend {
        DatabaseBackend::Postgres => vec![worker.into(), until.into(), now.into(), limit.into()],
        _ => vec![
            worker.into(),
            until.into(),
            now.into(),
            now.into(),
            limit.into(),
        ],
    };
    let rows = Claimed::find_by_statement(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Runs what is due: claims a batch and runs each enrollment's step. Returns the steps
/// run.
///
/// # Errors
/// Database errors while claiming (a step that fails is recorded on its enrollment and
/// tried again later).
pub async fn run_due<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    worker: &str,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<usize, DbErr> {
    let ids = claim_due(db, worker, now, limit).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let ranks = UsageRanks::load(db, now).await?;
    let mut versions: BTreeMap<i64, Playbook> = BTreeMap::new();
    let mut ran = 0;
    for id in ids {
        match run_one(db, id, worker, &ranks, &mut versions, now).await {
            Ok(true) => ran += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(enrollment = id, error = %e, "a playbook step failed");
                record_failure(db, id, worker, &e.to_string(), now).await?;
            }
        }
    }
    Ok(ran)
}

/// A failed step is tried again after the job runner's back-off, its error kept.
async fn record_failure(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(e) = enrollment::Entity::find_by_id(id).one(db).await? else {
        return Ok(());
    };
    if e.locked_by.as_deref() != Some(worker) {
        return Ok(());
    }
    let attempts = e.attempts + 1;
    let mut a = e.into_active_model();
    a.attempts = Set(attempts);
    a.last_error = Set(Some(error.chars().take(2_000).collect()));
    a.due_at = Set(Some(now + jobs::backoff(attempts)));
    a.locked_by = Set(None);
    a.locked_until = Set(None);
    a.update(db).await?;
    Ok(())
}

/// Runs enrollment `id`'s due step in one transaction. False when there was nothing to
/// do (claimed by another server since, or no longer due).
async fn run_one<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    id: i64,
    worker: &str,
    ranks: &UsageRanks,
    versions: &mut BTreeMap<i64, Playbook>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let txn = begin_write(db).await?;
    let Some(e) = enrollment::Entity::find_by_id(id).one(&txn).await? else {
        return Ok(false);
    };
    if e.locked_by.as_deref() != Some(worker) {
        return Ok(false);
    }
    let paused = playbook::Entity::find_by_id(e.playbook_id)
        .one(&txn)
        .await?
        .is_some_and(|p| p.status == super::status::PAUSED);
    if paused {
        // A paused playbook's enrollments wait; they run when it is turned on again.
        let mut a = e.into_active_model();
        a.due_at = Set(Some(now + Duration::minutes(5)));
        a.locked_by = Set(None);
        a.locked_until = Set(None);
        a.update(&txn).await?;
        txn.commit().await?;
        return Ok(false);
    }
    if e.status == st::WAITING {
        // The wait for an event timed out.
        let next = match e.on_timeout.clone() {
            Some(step) => Next::Step { id: step, at: now },
            None => Next::Done(Finish::Completed),
        };
        let mut a = e.into_active_model();
        apply_next(&mut a, &next, now);
        a.update(&txn).await?;
        txn.commit().await?;
        return Ok(true);
    }
    let Some(step) = e.step.clone() else {
        return Ok(false);
    };
    if let std::collections::btree_map::Entry::Vacant(slot) = versions.entry(e.version_id) {
        let v = playbook_version::Entity::find_by_id(e.version_id)
            .one(&txn)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("playbook version {}", e.version_id)))?;
        slot.insert(definition(&v)?);
    }
    let def = &versions[&e.version_id];
    let c = customer::Entity::find_by_id(e.customer_id)
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("customer {}", e.customer_id)))?;
    let subject = subject::load(&txn, &c, ranks, now).await?;
    let run = Run {
        playbook: def,
        subject: &subject,
        now,
        zone: timing::zone(c.time_zone.as_deref()),
        bucket: u32::try_from(e.bucket).unwrap_or(0),
    };
    let outcome = machine::run_step(&run, &step);
    let step_type = def
        .find(&step)
        .map_or("missing", |l| l.step.kind.type_name());
    let inserted = step_run::Entity::insert(step_run::ActiveModel {
        enrollment_id: Set(e.id),
        step: Set(step.clone()),
        step_type: Set(step_type.into()),
        ran_at: Set(now),
        outcome: Set(serde_json::to_value(&outcome).unwrap_or_default()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([step_run::Column::EnrollmentId, step_run::Column::Step])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        // Ran before, yet the enrollment still points at it: never act twice — stop it
        // and say why, for a person to look at.
        let mut a = e.into_active_model();
        apply_next(
            &mut a,
            &Next::Done(Finish::Lost { step: step.clone() }),
            now,
        );
        a.last_error = Set(Some(format!("step {step} had already run")));
        a.update(&txn).await?;
        txn.commit().await?;
        return Ok(false);
    }
    if let Some(effect) = &outcome.effect {
        apply_effect(&txn, &e, &step, &c, effect, now).await?;
    }
    let goal = if outcome.goal_reached {
        machine::GoalStatus::Met
    } else {
        machine::goal_status(def, &subject, e.entered_at, now)
    };
    let was_open = e.goal == "open";
    let mut a = e.into_active_model();
    if was_open && goal != machine::GoalStatus::Open {
        a.goal = Set(match goal {
            machine::GoalStatus::Met => "met",
            machine::GoalStatus::Missed => "missed",
            _ => "none",
        }
        .into());
        a.goal_at = Set(Some(now));
    }
    apply_next(&mut a, &outcome.next, now);
    a.update(&txn).await?;
    txn.commit().await?;
    Ok(true)
}

/// Moves an enrollment to `next`, releasing its claim.
pub(super) fn apply_next(a: &mut enrollment::ActiveModel, next: &Next, now: DateTime<Utc>) {
    a.locked_by = Set(None);
    a.locked_until = Set(None);
    a.attempts = Set(0);
    a.last_error = Set(None);
    match next {
        Next::Step { id, at } => {
            a.status = Set(st::ACTIVE.into());
            a.step = Set(Some(id.clone()));
            a.due_at = Set(Some(*at));
            a.wait_event = Set(None);
        }
        Next::Event {
            event,
            on_event,
            on_timeout,
            until,
        } => {
            a.status = Set(st::WAITING.into());
            a.step = Set(None);
            a.wait_event = Set(Some(event.clone()));
            a.on_event = Set(on_event.clone());
            a.on_timeout = Set(on_timeout.clone());
            a.due_at = Set(Some(*until));
        }
        Next::Done(finish) => {
            a.status = Set(match finish {
                Finish::Completed => st::COMPLETED,
                Finish::Exited { .. } => st::EXITED,
                Finish::Holdout => st::HOLDOUT,
                Finish::Lost { .. } => st::FAILED,
            }
            .into());
            a.step = Set(None);
            a.due_at = Set(None);
            a.wait_event = Set(None);
            a.live_customer_id = Set(None);
            a.finished_at = Set(Some(now));
            a.finish = Set(serde_json::to_value(finish).ok());
        }
    }
}

/// Writes a step's side effect, keyed by (enrollment, step): a task or a field update
/// at once, the rest to the outbox for delivery.
async fn apply_effect(
    db: &impl ConnectionTrait,
    e: &enrollment::Model,
    step: &str,
    c: &customer::Model,
    effect: &Effect,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    match effect {
        Effect::CreateTask {
            title,
            description,
            assignee,
            priority,
            due_in_minutes,
        } => {
            let due = match due_in_minutes {
                Some(m) => Duration::minutes(*m),
                None => Duration::hours(i64::from(tasks::slas(db).await?.hours(&c.tier))),
            };
            task::Entity::insert(task::ActiveModel {
                customer_id: Set(c.id),
                title: Set(title.clone()),
                description: Set(description.clone()),
                assignee_id: Set(assignee_for(db, assignee, c).await?),
                priority: Set(priority.clone()),
                due_at: Set(now + due),
                status: Set("open".into()),
                source: Set("playbook".into()),
                enrollment_id: Set(Some(e.id)),
                step: Set(Some(step.into())),
                created_at: Set(now),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::columns([task::Column::EnrollmentId, task::Column::Step])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        }
        Effect::UpdateField { field, op, value } => {
            update_field(db, c, field, op.as_deref(), value, now).await?;
            audit::record(
                db,
                None,
                "customer.updated_by_playbook",
                "customer",
                Some(c.id),
                json!({ "enrollment": e.id, "step": step, "field": field, "op": op, "value": value }),
                now,
            )
            .await?;
        }
        Effect::SendEmail { .. } | Effect::Slack { .. } | Effect::Webhook { .. } => {
            let kind = match effect {
                Effect::SendEmail { .. } => "email",
                Effect::Slack { .. } => "slack",
                _ => "webhook",
            };
            outbox::Entity::insert(outbox::ActiveModel {
                kind: Set(kind.into()),
                customer_id: Set(c.id),
                enrollment_id: Set(Some(e.id)),
                step: Set(Some(step.into())),
                payload: Set(serde_json::to_value(effect).unwrap_or_default()),
                status: Set("pending".into()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                created_at: Set(now),
                ..Default::default()
            })
            .on_conflict(
                OnConflict::columns([outbox::Column::EnrollmentId, outbox::Column::Step])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        }
    }
    Ok(())
}

/// Who a playbook's task goes to: the owner; a role's member with the fewest open tasks
/// (round robin in effect); for a team (not modelled yet), the owner.
async fn assignee_for(
    db: &impl ConnectionTrait,
    assignee: &str,
    c: &customer::Model,
) -> Result<Option<i64>, DbErr> {
    let Some(role) = assignee.strip_prefix("role:") else {
        return Ok(c.owner_id);
    };
    let members = user::Entity::find()
        .filter(user::Column::Role.eq(role.trim()))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?;
    let mut best: Option<(u64, i64)> = None;
    for u in members {
        let open = sea_orm::PaginatorTrait::count(
            task::Entity::find()
                .filter(task::Column::AssigneeId.eq(u.id))
                .filter(task::Column::Status.eq("open")),
            db,
        )
        .await?;
        if best.is_none_or(|(n, _)| open < n) {
            best = Some((open, u.id));
        }
    }
    Ok(best.map(|(_, id)| id).or(c.owner_id))
}

/// A playbook's field update on the customer (the domain events follow from the row).
async fn update_field(
    db: &impl ConnectionTrait,
    c: &customer::Model,
    field: &str,
    op: Option<&str>,
    value: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use vcsm::customers::{Stage, Tier};
    let mut a = c.clone().into_active_model();
    match field {
        "stage" => {
            if let Some(s) = Stage::parse(value) {
                a.stage = Set(s.as_str().into());
            }
        }
        "tier" => {
            if let Some(t) = Tier::parse(value) {
                a.tier = Set(t.as_str().into());
            }
        }
        "tag" => {
            let mut tags: Vec<String> = serde_json::from_value(c.tags.clone()).unwrap_or_default();
            let value = value.trim().to_owned();
            if op == Some("remove") {
                tags.retain(|t| !t.eq_ignore_ascii_case(&value));
            } else if !tags.iter().any(|t| t.eq_ignore_ascii_case(&value)) {
                tags.push(value);
            }
            a.tags = Set(json!(tags));
        }
        other => {
            if let Some(name) = other.strip_prefix("attr.") {
                let mut attrs: BTreeMap<String, String> =
                    serde_json::from_value(c.attributes.clone()).unwrap_or_default();
                attrs.insert(name.trim().into(), value.trim().into());
                a.attributes = Set(json!(attrs));
            }
        }
    }
    a.updated_at = Set(now);
    a.update(db).await?;
    Ok(())
}

/// Cancels a live enrollment (a person's decision): it stops where it is.
///
/// # Errors
/// Database errors.
pub async fn cancel(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let res = enrollment::Entity::update_many()
        .col_expr(enrollment::Column::Status, Expr::value(st::CANCELLED))
        .col_expr(
            enrollment::Column::LiveCustomerId,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            enrollment::Column::DueAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(enrollment::Column::FinishedAt, Expr::value(now))
        .col_expr(
            enrollment::Column::Finish,
            Expr::value(json!({ "reason": "cancelled" })),
        )
        .filter(enrollment::Column::Id.eq(id))
        .filter(enrollment::Column::Status.is_in(st::LIVE))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Pauses a running enrollment (a person's decision): it keeps its place and its due
/// time, runs no step, and an event it waited for passes it by. False when it is not
/// running, or a server is running its step this moment (try again).
///
/// # Errors
/// Database errors.
pub async fn pause(db: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let res = enrollment::Entity::update_many()
        .col_expr(enrollment::Column::Status, Expr::value(st::PAUSED))
        .filter(enrollment::Column::Id.eq(id))
        .filter(enrollment::Column::Status.is_in([st::ACTIVE, st::WAITING]))
        .filter(
            sea_orm::Condition::any()
                .add(enrollment::Column::LockedUntil.is_null())
                .add(enrollment::Column::LockedUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Resumes a paused enrollment where it stopped: waiting again when it waited for an
/// event, else running its step when due (at once, if that time passed while paused;
/// exit conditions are read first, as before every step). False when it is not paused.
///
/// # Errors
/// Database errors.
pub async fn resume(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    let mut resumed = 0;
    for (waits, status) in [(false, st::ACTIVE), (true, st::WAITING)] {
        let waiting = if waits {
            enrollment::Column::WaitEvent.is_not_null()
        } else {
            enrollment::Column::WaitEvent.is_null()
        };
        resumed += enrollment::Entity::update_many()
            .col_expr(enrollment::Column::Status, Expr::value(status))
            .filter(enrollment::Column::Id.eq(id))
            .filter(enrollment::Column::Status.eq(st::PAUSED))
            .filter(waiting)
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(resumed > 0)
}

/// How often a playbook that no event starts (a schedule, days after start, segment
/// entry) is swept.
pub const SWEEP_EVERY: Duration = Duration::minutes(5);

/// Trigger types the sweep starts.
const SWEPT: [&str; 3] = ["schedule", "days_after_start", "segment_entry"];

/// Sweeps the playbooks that are on and started by the clock or by segment entry, each at
/// most every [`SWEEP_EVERY`], by one server (the sweep is claimed on the playbook's row,
/// in the transaction that enrolls: a crash undoes both, and the next sweep does it).
/// A schedule fires for a customer when its time, in the customer's zone, fell since the
/// last sweep; days after start, when that day began since; segment entry, when the
/// customer matches now and didn't at the last sweep. The first sweep after a playbook is
/// turned on only takes stock: it starts nobody, so turning a playbook on never sends
/// to everyone who already matched. Returns how many were enrolled.
///
/// # Errors
/// Database errors.
pub async fn sweep<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let due: Vec<_> = live(db)
        .await?
        .into_iter()
        .filter(|(pb, _, _)| SWEPT.contains(&pb.trigger_type.as_str()))
        .filter(|(pb, _, _)| pb.swept_at.is_none_or(|at| at <= now - SWEEP_EVERY))
        .collect();
    if due.is_empty() {
        return Ok(0);
    }
    let ranks = UsageRanks::load(db, now).await?;
    let mut enrolled = 0;
    for (pb, v, def) in due {
        let txn = begin_write(db).await?;
        let claimed = playbook::Entity::update_many()
            .col_expr(playbook::Column::SweptAt, Expr::value(now))
            .filter(playbook::Column::Id.eq(pb.id))
            .filter(
                sea_orm::Condition::any()
                    .add(playbook::Column::SweptAt.is_null())
                    .add(playbook::Column::SweptAt.lte(now - SWEEP_EVERY)),
            )
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            continue;
        }
        let previous = pb.swept_at;
        let customers = customer::Entity::find()
            .filter(customer::Column::ArchivedAt.is_null())
            .order_by_asc(customer::Column::Id)
            .all(&txn)
            .await?;
        let members: std::collections::BTreeSet<i64> = match &def.trigger {
            vcsm::playbooks::Trigger::SegmentEntry { .. } => segment_member::Entity::find()
                .filter(segment_member::Column::PlaybookId.eq(pb.id))
                .all(&txn)
                .await?
                .into_iter()
                .map(|m| m.customer_id)
                .collect(),
            _ => Default::default(),
        };
        for c in &customers {
            let starts = match &def.trigger {
                vcsm::playbooks::Trigger::SegmentEntry { condition } => {
                    let s = subject::load(&txn, c, &ranks, now).await?;
                    let holds = condition.evaluate(&s).holds;
                    let member = members.contains(&c.id);
                    if holds && !member {
                        segment_member::ActiveModel {
                            playbook_id: Set(pb.id),
                            customer_id: Set(c.id),
                            since: Set(now),
                        }
                        .insert(&txn)
                        .await?;
                    } else if !holds && member {
                        segment_member::Entity::delete_by_id((pb.id, c.id))
                            .exec(&txn)
                            .await?;
                    }
                    holds && !member && previous.is_some()
                }
                trigger => previous.is_some_and(|after| {
                    let started = c
                        .contract_start
                        .unwrap_or_else(|| c.created_at.date_naive());
                    machine::clock_fires(
                        trigger,
                        timing::zone(c.time_zone.as_deref()),
                        Some(started),
                        after,
                        now,
                    )
                }),
            };
            if starts {
                if let Enrolled::Yes(_) =
                    enroll(&txn, &pb, &v, &def, c, &ranks, None, None, now).await?
                {
                    enrolled += 1;
                }
            }
        }
        txn.commit().await?;
    }
    Ok(enrolled)
}

/// One pass of the engine: new events, the sweep, then due steps until none is left (at
/// most `max_steps`).
///
/// # Errors
/// Database errors.
pub async fn tick<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    worker: &str,
    now: DateTime<Utc>,
    max_steps: usize,
) -> Result<Pass, DbErr> {
    let mut pass = Pass::default();
    for _ in 0..EVENT_BATCHES_PER_PASS {
        let batch = consume_events(db, now).await?;
        pass.events += batch.events;
        pass.enrolled += batch.enrolled;
        if batch.events < EVENT_BATCH as usize {
            break;
        }
    }
    pass.enrolled += sweep(db, now).await?;
    while pass.steps < max_steps {
        let ran = run_due(db, worker, now, 200).await?;
        if ran == 0 {
            break;
        }
        pass.steps += ran;
    }
    Ok(pass)
}
