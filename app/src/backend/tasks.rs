//! Tasks and the cockpit: a CSM's work — tasks made by hand, by playbooks and by alerts
//! nobody else handles — and the alerts waiting for someone, one row per customer,
//! ordered by `vcsm::tasks::rank` (overdue first, then ARR × churn risk × SLA urgency).
//! Completing a task keeps its outcome (per playbook step, so a playbook's page shows
//! which actions work); completing an alert's task resolves the alert with it.
//!
//! A feature module: it reads customers, predictions, alerts and playbook names; the
//! playbook engine calls it to open a task for an alert no playbook handles.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession,
    TransactionTrait,
};
use serde_json::json;
use vcsm::alerts::RuleConfig;
use vcsm::customers::Tier;
use vcsm::tasks::{self as rules, NewTask, Outcome, Priority, TierSlas, Urgency};

use super::entities::{
    alert, churn_prediction, customer, enrollment, playbook, task, tier_sla, user,
};
use super::{alerts, audit, customers, users};
use crate::dto::{CockpitPage, CockpitRow, CurrentUser, DoneTasksPage, TaskRow};
use crate::error::AppError;

/// A task's states.
pub const OPEN: &str = "open";
pub const DONE: &str = "done";

/// Customers per page of the cockpit.
pub const PAGE: u64 = 25;
/// Completed tasks per page.
pub const DONE_PAGE: u64 = 50;
/// Completed tasks a customer's page shows under its open ones.
const CUSTOMER_DONE: u64 = 20;
/// Tasks one bulk action may complete.
pub const MAX_BULK: usize = 500;

/// Whose work a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Tasks assigned to the user and alerts of the customers they own.
    Mine(i64),
    /// The whole team's.
    Everyone,
}

/// The SLAs in effect: the stored ones over the defaults.
///
/// # Errors
/// Database errors.
pub async fn slas(db: &impl ConnectionTrait) -> Result<TierSlas, DbErr> {
    let mut out = TierSlas::default();
    for row in tier_sla::Entity::find().all(db).await? {
        if let (Some(t), Ok(h)) = (Tier::parse(&row.tier), u32::try_from(row.hours)) {
            out.set(t, h);
        }
    }
    Ok(out)
}

/// Saves the SLAs (admins), audited; open tasks keep their due times.
///
/// # Errors
/// `Validation` per tier out of bounds; database errors.
pub async fn save_slas<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    edited: TierSlas,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    edited.validate().map_err(AppError::Validation)?;
    let txn = super::db::begin_write(db).await?;
    let before = slas(&txn).await?;
    let rows = Tier::ALL.iter().map(|t| tier_sla::ActiveModel {
        tier: Set(t.as_str().into()),
        hours: Set(i32::try_from(edited.hours(t.as_str())).unwrap_or(i32::MAX)),
        updated_at: Set(now),
        updated_by: Set(Some(actor.id)),
    });
    tier_sla::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(tier_sla::Column::Tier)
                .update_columns([
                    tier_sla::Column::Hours,
                    tier_sla::Column::UpdatedAt,
                    tier_sla::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    audit::record(
        &txn,
        Some(actor),
        "tasks.slas_saved",
        "settings",
        None,
        json!({ "before": before, "after": edited }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Open tasks awake now (not snoozed, or snoozed past their time).
fn awake(now: DateTime<Utc>) -> Condition {
    Condition::all().add(task::Column::Status.eq(OPEN)).add(
        Condition::any()
            .add(task::Column::SnoozedUntil.is_null())
            .add(task::Column::SnoozedUntil.lte(now)),
    )
}

fn in_scope<Q: QueryFilter>(q: Q, scope: Scope, column: impl ColumnTrait) -> Q {
    match scope {
        Scope::Mine(uid) => q.filter(column.eq(uid)),
        Scope::Everyone => q,
    }
}

/// The cockpit: customers with open tasks or alerts nobody has taken, ranked; a page of
/// `PAGE` customers.
///
/// # Errors
/// `BadRequest` for an absurd page; database errors.
pub async fn cockpit(
    db: &impl ConnectionTrait,
    scope: Scope,
    page: u64,
    now: DateTime<Utc>,
) -> Result<CockpitPage, AppError> {
    let offset = vcsm::listing::page_offset(page, PAGE).map_err(AppError::BadRequest)?;
    let open_tasks = in_scope(
        task::Entity::find().filter(awake(now)),
        scope,
        task::Column::AssigneeId,
    )
    .order_by_asc(task::Column::DueAt)
    .order_by_asc(task::Column::Id)
    .all(db)
    .await?;
    let snoozed = in_scope(
        task::Entity::find()
            .filter(task::Column::Status.eq(OPEN))
            .filter(task::Column::SnoozedUntil.gt(now)),
        scope,
        task::Column::AssigneeId,
    )
    .count(db)
    .await?;
    // An alert with an open task shows as that task.
    let tasked: std::collections::HashSet<i64> = task::Entity::find()
        .filter(task::Column::Status.eq(OPEN))
        .filter(task::Column::AlertId.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|t| t.alert_id)
        .collect();
    let open_alerts: Vec<alert::Model> = in_scope(
        alert::Entity::find().filter(alerts::Filter::Open.condition(now)),
        scope,
        alert::Column::OwnerId,
    )
    .order_by_asc(alert::Column::OpenedAt)
    .all(db)
    .await?
    .into_iter()
    .filter(|a| !tasked.contains(&a.id))
    .collect();
    let mut by_customer: BTreeMap<i64, (Vec<task::Model>, Vec<alert::Model>)> = BTreeMap::new();
    for t in open_tasks.iter().cloned() {
        by_customer.entry(t.customer_id).or_default().0.push(t);
    }
    for a in open_alerts.iter().cloned() {
        by_customer.entry(a.customer_id).or_default().1.push(a);
    }
    let ids: Vec<i64> = by_customer.keys().copied().collect();
    let custs = customers_by_id(db, &ids).await?;
    let risks = risks_of(db, &ids).await?;
    let sla = slas(db).await?;
    let mut ranked: Vec<(i64, Urgency)> = by_customer
        .iter()
        .filter_map(|(id, (ts, als))| {
            let c = custs.get(id)?;
            let hours = sla.hours(&c.tier);
            let alert_due = als
                .iter()
                .map(|a| a.opened_at + Duration::hours(i64::from(hours)))
                .min();
            let due_at = ts.iter().map(|t| t.due_at).chain(alert_due).min()?;
            Some((
                *id,
                Urgency {
                    arr_cents: c.mrr_minor.saturating_mul(12),
                    risk: risks
                        .get(id)
                        .copied()
                        .or_else(|| c.health_score.map(|s| rules::risk_from_score(score_u8(s)))),
                    due_at,
                    sla_hours: hours,
                },
            ))
        })
        .collect();
    rules::rank(&mut ranked, now, |(id, u)| (*u, *id));
    let total = ranked.len() as u64;
    let page_rows: Vec<(i64, Urgency)> = ranked
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(PAGE as usize)
        .collect();
    let mut page_tasks = Vec::new();
    let mut page_alerts = Vec::new();
    for (id, _) in &page_rows {
        if let Some((ts, als)) = by_customer.remove(id) {
            page_tasks.extend(ts);
            page_alerts.extend(als);
        }
    }
    let mut task_rows = group(task_rows(db, page_tasks).await?, |t| t.customer_id);
    let mut alert_rows = group(alerts::rows_of(db, page_alerts, now).await?, |a| {
        a.customer_id
    });
    let owners = users::names_of(
        db,
        page_rows
            .iter()
            .filter_map(|(id, _)| custs.get(id).and_then(|c| c.owner_id))
            .collect(),
    )
    .await?;
    let rows = page_rows
        .into_iter()
        .filter_map(|(id, u)| {
            let c = custs.get(&id)?;
            Some(CockpitRow {
                customer_id: id,
                customer_name: c.name.clone(),
                tier: Tier::parse(&c.tier).unwrap_or(Tier::SmallBusiness),
                arr_minor: u.arr_cents,
                currency: c.currency.clone(),
                risk: u.risk,
                health: c.health_score,
                owner: c.owner_id.and_then(|o| owners.get(&o).cloned()),
                due_at: u.due_at,
                overdue: u.overdue(now),
                tasks: task_rows.remove(&id).unwrap_or_default(),
                alerts: alert_rows.remove(&id).unwrap_or_default(),
            })
        })
        .collect();
    Ok(CockpitPage {
        rows,
        total,
        open_tasks: open_tasks.len() as u64,
        open_alerts: open_alerts.len() as u64,
        snoozed,
        page,
        page_size: PAGE,
        now,
        assignees: assignees(db).await?,
    })
}

fn score_u8(s: i16) -> u8 {
    u8::try_from(s.clamp(0, 100)).unwrap_or(0)
}

fn group<T>(items: Vec<T>, key: impl Fn(&T) -> i64) -> HashMap<i64, Vec<T>> {
    let mut out: HashMap<i64, Vec<T>> = HashMap::new();
    for i in items {
        out.entry(key(&i)).or_default().push(i);
    }
    out
}

async fn customers_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> Result<HashMap<i64, customer::Model>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for c in customer::Entity::find()
            .filter(customer::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            out.insert(c.id, c);
        }
    }
    Ok(out)
}

async fn risks_of(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, f64>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for p in churn_prediction::Entity::find()
            .filter(churn_prediction::Column::CustomerId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            if let Some(prob) = p.probability {
                out.insert(p.customer_id, prob);
            }
        }
    }
    Ok(out)
}

/// The people tasks may go to: active users who work on customers.
async fn assignees(db: &impl ConnectionTrait) -> Result<Vec<(i64, String)>, DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .filter(|u| {
            vcsm::auth::Role::parse(&u.role).is_some_and(vcsm::auth::Role::can_edit_customers)
        })
        .map(|u| (u.id, u.name))
        .collect())
}

/// Tasks as lists show them: with customers', people's and playbooks' names.
async fn task_rows(
    db: &impl ConnectionTrait,
    rows: Vec<task::Model>,
) -> Result<Vec<TaskRow>, DbErr> {
    let names = customers::names_of(db, rows.iter().map(|t| t.customer_id).collect()).await?;
    let people = users::names_of(
        db,
        rows.iter()
            .flat_map(|t| [t.assignee_id, t.completed_by])
            .flatten()
            .collect(),
    )
    .await?;
    let enrollment_ids: Vec<i64> = rows.iter().filter_map(|t| t.enrollment_id).collect();
    let mut playbook_of: HashMap<i64, i64> = HashMap::new();
    for chunk in enrollment_ids.chunks(500) {
        for e in enrollment::Entity::find()
            .filter(enrollment::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            playbook_of.insert(e.id, e.playbook_id);
        }
    }
    let playbooks: HashMap<i64, (String, String)> = if playbook_of.is_empty() {
        HashMap::new()
    } else {
        playbook::Entity::find()
            .filter(playbook::Column::Id.is_in(playbook_of.values().copied().collect::<Vec<_>>()))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, (p.key, p.name)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|t| TaskRow {
            id: t.id,
            customer_id: t.customer_id,
            customer_name: names.get(&t.customer_id).cloned().unwrap_or_default(),
            title: t.title,
            description: t.description,
            assignee_id: t.assignee_id,
            assignee: t.assignee_id.and_then(|a| people.get(&a).cloned()),
            priority: Priority::parse(&t.priority).unwrap_or(Priority::Normal),
            due_at: t.due_at,
            status: t.status,
            snoozed_until: t.snoozed_until,
            outcome: t.outcome.as_deref().and_then(Outcome::parse),
            outcome_note: t.outcome_note,
            source: t.source,
            playbook: t
                .enrollment_id
                .and_then(|e| playbook_of.get(&e))
                .and_then(|p| playbooks.get(p).cloned()),
            step: t.step,
            alert_id: t.alert_id,
            created_at: t.created_at,
            completed_at: t.completed_at,
            completed_by: t.completed_by.and_then(|u| people.get(&u).cloned()),
        })
        .collect())
}

/// Completed tasks, newest first.
///
/// # Errors
/// `BadRequest` for an absurd page; database errors.
pub async fn done(
    db: &impl ConnectionTrait,
    scope: Scope,
    page: u64,
    now: DateTime<Utc>,
) -> Result<DoneTasksPage, AppError> {
    let q = in_scope(
        task::Entity::find().filter(task::Column::Status.eq(DONE)),
        scope,
        task::Column::AssigneeId,
    );
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(task::Column::CompletedAt)
        .order_by_desc(task::Column::Id)
        .offset(vcsm::listing::page_offset(page, DONE_PAGE).map_err(AppError::BadRequest)?)
        .limit(DONE_PAGE)
        .all(db)
        .await?;
    Ok(DoneTasksPage {
        tasks: task_rows(db, rows).await?,
        total,
        page,
        page_size: DONE_PAGE,
        now,
    })
}

/// A customer's tasks: the open ones by due time (snoozed included), then the latest
/// completed.
///
/// # Errors
/// Database errors.
pub async fn of_customer(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Vec<TaskRow>, DbErr> {
    let mut rows = task::Entity::find()
        .filter(task::Column::CustomerId.eq(customer_id))
        .filter(task::Column::Status.eq(OPEN))
        .order_by_asc(task::Column::DueAt)
        .order_by_asc(task::Column::Id)
        .all(db)
        .await?;
    rows.extend(
        task::Entity::find()
            .filter(task::Column::CustomerId.eq(customer_id))
            .filter(task::Column::Status.eq(DONE))
            .order_by_desc(task::Column::CompletedAt)
            .order_by_desc(task::Column::Id)
            .limit(CUSTOMER_DONE)
            .all(db)
            .await?,
    );
    task_rows(db, rows).await
}

/// Tasks the user has open and awake, and how many of them are overdue (for the
/// navigation).
///
/// # Errors
/// Database errors.
pub async fn open_counts(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    let mine = task::Entity::find()
        .filter(awake(now))
        .filter(task::Column::AssigneeId.eq(user_id));
    let open = mine.clone().count(db).await?;
    let overdue = mine.filter(task::Column::DueAt.lt(now)).count(db).await?;
    Ok((open, overdue))
}

/// Creates a task by hand: for the owner unless someone else is named, due within the
/// tier's SLA unless a time is given. Returns its id.
///
/// # Errors
/// `Validation` naming each bad field; `NotFound` for a customer or assignee that
/// doesn't exist; database errors.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    input: &NewTask,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let checked = input.check().map_err(AppError::Validation)?;
    let txn = super::db::begin_write(db).await?;
    let c = customer::Entity::find_by_id(input.customer_id)
        .one(&txn)
        .await?
        .filter(|c| c.archived_at.is_none())
        .ok_or_else(|| AppError::NotFound(format!("No customer with id {}.", input.customer_id)))?;
    let assignee = match input.assignee_id {
        Some(id) => Some(active_assignee(&txn, id).await?),
        None => c.owner_id,
    };
    let hours = match input.due_in_hours {
        Some(h) => h,
        None => slas(&txn).await?.hours(&c.tier),
    };
    let t = task::ActiveModel {
        customer_id: Set(c.id),
        title: Set(checked.title.clone()),
        description: Set(checked.description),
        assignee_id: Set(assignee),
        priority: Set(checked.priority.as_str().into()),
        due_at: Set(now + Duration::hours(i64::from(hours))),
        status: Set(OPEN.into()),
        source: Set("manual".into()),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        Some(actor),
        "task.created",
        "customer",
        Some(c.id),
        json!({ "task": t.id, "title": checked.title, "assignee": assignee }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(t.id)
}

async fn active_assignee(db: &impl ConnectionTrait, id: i64) -> Result<i64, AppError> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|u| u.active)
        .map(|u| u.id)
        .ok_or_else(|| AppError::validation("assignee_id", "no active user with this id"))
}

/// Open tasks among `ids`, all of them or `NotFound`/`Conflict` naming the first that
/// isn't: a bulk action applies to every task or to none.
async fn open_tasks(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<task::Model>, AppError> {
    if ids.is_empty() {
        return Err(AppError::validation("ids", "choose at least one task"));
    }
    if ids.len() > MAX_BULK {
        return Err(AppError::validation(
            "ids",
            format!("at most {MAX_BULK} tasks at a time"),
        ));
    }
    let found: HashMap<i64, task::Model> = task::Entity::find()
        .filter(task::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match found.get(id) {
            None => return Err(AppError::NotFound(format!("No task with id {id}."))),
            Some(t) if t.status != OPEN => {
                return Err(AppError::Conflict(format!(
                    "Task {id} (\"{}\") is already done.",
                    t.title
                )))
            }
            Some(t) if !out.iter().any(|o: &task::Model| o.id == t.id) => out.push(t.clone()),
            Some(_) => {}
        }
    }
    Ok(out)
}

/// Completes tasks with an outcome (and a note), all or none, audited. An alert's task
/// resolves its alert, noted with the outcome. Returns how many were completed.
///
/// # Errors
/// `Validation` for an unknown outcome or a long note; `NotFound`/`Conflict` for a task
/// that doesn't exist or is done already (nothing is then written); database errors.
pub async fn complete<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    ids: &[i64],
    outcome: &str,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let outcome =
        rules::check_completion(outcome, note.as_deref()).map_err(AppError::Validation)?;
    let txn = super::db::begin_write(db).await?;
    let tasks = open_tasks(&txn, ids).await?;
    for t in &tasks {
        let (id, customer_id, alert_id) = (t.id, t.customer_id, t.alert_id);
        let mut a = t.clone().into_active_model();
        a.status = Set(DONE.into());
        a.outcome = Set(Some(outcome.as_str().into()));
        a.outcome_note = Set(note.clone());
        a.completed_at = Set(Some(now));
        a.completed_by = Set(Some(actor.id));
        a.snoozed_until = Set(None);
        a.update(&txn).await?;
        if let Some(alert_id) = alert_id {
            resolve_alert(&txn, actor, alert_id, outcome, note.as_deref(), now).await?;
        }
        audit::record(
            &txn,
            Some(actor),
            "task.completed",
            "customer",
            Some(customer_id),
            json!({ "task": id, "outcome": outcome.as_str(), "note": note }),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(tasks.len() as u64)
}

/// Resolves the alert a completed task was opened for, unless someone already did.
async fn resolve_alert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    alert_id: i64,
    outcome: Outcome,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let still_open = alert::Entity::find_by_id(alert_id)
        .one(db)
        .await?
        .is_some_and(|a| a.status != alerts::RESOLVED);
    if !still_open {
        return Ok(());
    }
    let text = match note {
        Some(n) => format!("Task done: {} — {n}", outcome.label()),
        None => format!("Task done: {}", outcome.label()),
    };
    alerts::act(
        db,
        actor,
        alert_id,
        crate::dto::AlertAction::Resolve,
        Some(text.chars().take(2000).collect()),
        now,
    )
    .await
}

/// Snoozes an open task for 1–90 days.
///
/// # Errors
/// `Validation` for a snooze out of bounds; `NotFound`/`Conflict`; database errors.
pub async fn snooze<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    id: i64,
    days: u32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if days == 0 || days > rules::MAX_SNOOZE_DAYS {
        return Err(AppError::validation(
            "days",
            format!("must be from 1 to {}", rules::MAX_SNOOZE_DAYS),
        ));
    }
    let until = now + Duration::days(i64::from(days));
    let txn = super::db::begin_write(db).await?;
    let t = open_tasks(&txn, &[id]).await?.remove(0);
    let customer_id = t.customer_id;
    let mut a = t.into_active_model();
    a.snoozed_until = Set(Some(until));
    a.update(&txn).await?;
    audit::record(
        &txn,
        Some(actor),
        "task.snoozed",
        "customer",
        Some(customer_id),
        json!({ "task": id, "until": until }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives open tasks to someone else (an active user), all or none.
///
/// # Errors
/// `Validation` for an unknown or inactive assignee; `NotFound`/`Conflict`; database
/// errors.
pub async fn reassign<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    ids: &[i64],
    assignee_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let txn = super::db::begin_write(db).await?;
    let assignee = active_assignee(&txn, assignee_id).await?;
    let tasks = open_tasks(&txn, ids).await?;
    for t in &tasks {
        let (id, customer_id, from) = (t.id, t.customer_id, t.assignee_id);
        let mut a = t.clone().into_active_model();
        a.assignee_id = Set(Some(assignee));
        a.update(&txn).await?;
        audit::record(
            &txn,
            Some(actor),
            "task.reassigned",
            "customer",
            Some(customer_id),
            json!({ "task": id, "from": from, "to": assignee }),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(tasks.len() as u64)
}

/// Acknowledges alerts in bulk, all or none.
///
/// # Errors
/// As `alerts::act` for the first alert that can't be acknowledged (nothing is then
/// written); `Validation` for an empty or oversized list.
pub async fn acknowledge_alerts<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::validation(
            "ids",
            format!("choose from 1 to {MAX_BULK} alerts"),
        ));
    }
    let txn = super::db::begin_write(db).await?;
    for id in ids {
        alerts::act(
            &txn,
            actor,
            *id,
            crate::dto::AlertAction::Acknowledge,
            None,
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(ids.len() as u64)
}

/// Opens a task for the owner of an alert's customer (the playbook engine calls this for
/// an alert no running playbook handles), when the alert's rule says so: due within the
/// tier's SLA from the alert's opening, priority from its severity. Once per alert.
///
/// # Errors
/// Database errors.
pub async fn open_for_alert(
    db: &impl ConnectionTrait,
    alert_id: i64,
    rules_in_effect: &[RuleConfig],
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(a) = alert::Entity::find_by_id(alert_id).one(db).await? else {
        return Ok(false);
    };
    let opens = rules_in_effect
        .iter()
        .find(|r| r.rule.as_str() == a.rule)
        .is_some_and(|r| r.opens_task);
    if !opens || a.status == alerts::RESOLVED {
        return Ok(false);
    }
    let exists = task::Entity::find()
        .filter(task::Column::AlertId.eq(alert_id))
        .count(db)
        .await?
        > 0;
    let Some(c) = customer::Entity::find_by_id(a.customer_id).one(db).await? else {
        return Ok(false);
    };
    if exists || c.archived_at.is_some() {
        return Ok(false);
    }
    let hours = slas(db).await?.hours(&c.tier);
    let priority = match vcsm::alerts::Severity::parse(&a.severity) {
        Some(vcsm::alerts::Severity::Critical) => Priority::Urgent,
        Some(vcsm::alerts::Severity::High) => Priority::High,
        _ => Priority::Normal,
    };
    task::ActiveModel {
        customer_id: Set(c.id),
        title: Set(format!("Handle alert: {}", a.title)
            .chars()
            .take(rules::MAX_TITLE)
            .collect()),
        // The source line says why it exists ("from an alert no playbook handles");
        // a paragraph repeated on every such task would bury the titles.
        description: Set(String::new()),
        assignee_id: Set(a.owner_id.or(c.owner_id)),
        priority: Set(priority.as_str().into()),
        due_at: Set(a.opened_at + Duration::hours(i64::from(hours))),
        status: Set(OPEN.into()),
        source: Set("alert".into()),
        alert_id: Set(Some(alert_id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(true)
}

/// What came of a playbook's tasks, per step: (step, outcome, count), completed ones.
///
/// # Errors
/// Database errors.
pub async fn outcomes_by_step(
    db: &impl ConnectionTrait,
    playbook_id: i64,
) -> Result<Vec<(String, String, u64)>, DbErr> {
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        step: Option<String>,
        outcome: Option<String>,
        n: i64,
    }
    let enrollments = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::Id)
        .filter(enrollment::Column::PlaybookId.eq(playbook_id));
    let rows = task::Entity::find()
        .select_only()
        .column(task::Column::Step)
        .column(task::Column::Outcome)
        .column_as(task::Column::Id.count(), "n")
        .filter(task::Column::Status.eq(DONE))
        .filter(
            task::Column::EnrollmentId.in_subquery(sea_orm::QueryTrait::into_query(enrollments)),
        )
        .group_by(task::Column::Step)
        .group_by(task::Column::Outcome)
        .into_model::<Row>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.step?, r.outcome?, u64::try_from(r.n).unwrap_or(0))))
        .collect())
}
