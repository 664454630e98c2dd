//! What the playbook pages read, and what people do there: the list with each
//! playbook's figures, one playbook's funnel (counted by the database, grouped — never
//! every enrollment read), split tests, newest enrollments and versions; a customer's
//! playbook history with every step's outcome in words; the outbox; template previews;
//! and turning playbooks on and off, enrolling and cancelling by hand (audited).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, ExprTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionSession,
};
use serde_json::Value;
use vcsm::playbooks::machine::Outcome;
use vcsm::playbooks::report::{self, ArmRow, CountRow, Funnel};

use super::{delivery, engine, enrollment_status, status, Enrolled};
use crate::backend::db::begin_write;
use crate::backend::entities::{
    customer, email_template, enrollment, outbox, playbook, playbook_version, step_run,
};
use crate::backend::{audit, customers, users};
use crate::dto::playbooks::{
    CustomerPlaybooksDto, EnrollmentChange, EnrollmentHistory, EnrollmentRow, ListEnrollResult,
    OutboxPage, OutboxRow, PlaybookDetail, PlaybookList, PlaybookRow, RefusedCustomer, StepRunRow,
    TemplatePreview, TemplateRow, VersionRow,
};
use crate::dto::CurrentUser;
use crate::error::AppError;

/// Enrollments listed on a playbook's page.
pub const NEWEST: u64 = 50;

/// A customer's enrollments shown on its page.
pub const HISTORY: u64 = 50;

/// Outbox rows per page.
pub const OUTBOX_PAGE: u64 = 50;

fn n(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

#[derive(FromQueryResult)]
struct PlaybookCount {
    playbook_id: i64,
    status: String,
    goal: String,
    n: i64,
}

#[derive(FromQueryResult)]
struct Entered {
    playbook_id: i64,
    n: i64,
}

/// Every playbook with its figures, and the e-mail templates.
///
/// # Errors
/// Database errors.
pub async fn list(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<PlaybookList, DbErr> {
    let pbs = playbook::Entity::find()
        .order_by_asc(playbook::Column::Name)
        .all(db)
        .await?;
    let counts = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::PlaybookId)
        .column(enrollment::Column::Status)
        .column(enrollment::Column::Goal)
        .column_as(enrollment::Column::Id.count(), "n")
        .group_by(enrollment::Column::PlaybookId)
        .group_by(enrollment::Column::Status)
        .group_by(enrollment::Column::Goal)
        .into_model::<PlaybookCount>()
        .all(db)
        .await?;
    let entered: HashMap<i64, u64> = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::PlaybookId)
        .column_as(enrollment::Column::Id.count(), "n")
        .filter(enrollment::Column::EnteredAt.gte(now - Duration::days(30)))
        .group_by(enrollment::Column::PlaybookId)
        .into_model::<Entered>()
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.playbook_id, n(e.n)))
        .collect();
    let versions: HashMap<i64, i32> = playbook_version::Entity::find()
        .filter(
            playbook_version::Column::Id.is_in(
                pbs.iter()
                    .filter_map(|p| p.current_version_id)
                    .collect::<Vec<_>>(),
            ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.version))
        .collect();
    let playbooks = pbs
        .into_iter()
        .map(|pb| {
            let mine = counts.iter().filter(|c| c.playbook_id == pb.id);
            let (mut live, mut met, mut tracked) = (0, 0, 0);
            for c in mine {
                if enrollment_status::LIVE.contains(&c.status.as_str()) {
                    live += n(c.n);
                }
                if c.goal != "none" {
                    tracked += n(c.n);
                }
                if c.goal == "met" {
                    met += n(c.n);
                }
            }
            PlaybookRow {
                trigger: report::trigger_type_text(&pb.trigger_type),
                version: pb
                    .current_version_id
                    .and_then(|v| versions.get(&v).copied()),
                live,
                entered_30d: entered.get(&pb.id).copied().unwrap_or(0),
                goal_met: met,
                goal_tracked: tracked,
                key: pb.key,
                name: pb.name,
                status: pb.status,
            }
        })
        .collect();
    Ok(PlaybookList {
        playbooks,
        templates: templates(db).await?,
    })
}

/// The e-mail templates, by name.
///
/// # Errors
/// Database errors.
pub async fn templates(db: &impl ConnectionTrait) -> Result<Vec<TemplateRow>, DbErr> {
    Ok(email_template::Entity::find()
        .order_by_asc(email_template::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|t| TemplateRow {
            key: t.key,
            name: t.name,
            operational: t.operational,
        })
        .collect())
}

#[derive(FromQueryResult)]
struct CountQ {
    status: String,
    step: Option<String>,
    wait_event: Option<String>,
    goal: String,
    n: i64,
}

#[derive(FromQueryResult)]
struct ReasonQ {
    reason: Option<String>,
    n: i64,
}

/// A JSON text field by path, as SQL for the backend (`finish`, `reading.test`).
fn json_text(backend: DatabaseBackend, column: &str, path: &[&str]) -> String {
    match backend {
        DatabaseBackend::Postgres => {
            let (last, rest) = path.split_last().expect("a path");
            let mut sql = column.to_string();
            for p in rest {
                sql.push_str(&format!("->'{p}'"));
            }
            format!("{sql}->>'{last}'")
        }
        _ => format!("json_extract({column}, '$.{}')", path.join(".")),
    }
}

/// A playbook's funnel: every version's (`version_id` none) or one version's.
///
/// # Errors
/// Database errors.
pub async fn funnel(
    db: &impl ConnectionTrait,
    playbook_id: i64,
    version_id: Option<i64>,
    def: Option<&vcsm::playbooks::Playbook>,
) -> Result<Funnel, DbErr> {
    let scope = |q: sea_orm::Select<enrollment::Entity>| {
        let q = q.filter(enrollment::Column::PlaybookId.eq(playbook_id));
        match version_id {
            Some(v) => q.filter(enrollment::Column::VersionId.eq(v)),
            None => q,
        }
    };
    let rows: Vec<CountRow> = scope(enrollment::Entity::find())
        .select_only()
        .column(enrollment::Column::Status)
        .column(enrollment::Column::Step)
        .column(enrollment::Column::WaitEvent)
        .column(enrollment::Column::Goal)
        .column_as(enrollment::Column::Id.count(), "n")
        .group_by(enrollment::Column::Status)
        .group_by(enrollment::Column::Step)
        .group_by(enrollment::Column::WaitEvent)
        .group_by(enrollment::Column::Goal)
        .into_model::<CountQ>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| CountRow {
            status: r.status,
            step: r.step,
            wait_event: r.wait_event,
            goal: r.goal,
            count: n(r.n),
        })
        .collect();
    let reason = json_text(db.get_database_backend(), "finish", &["reading", "test"]);
    let exits: Vec<(Option<String>, u64)> = scope(enrollment::Entity::find())
        .select_only()
        .column_as(Expr::cust(reason.clone()), "reason")
        .column_as(enrollment::Column::Id.count(), "n")
        .filter(enrollment::Column::Status.eq(enrollment_status::EXITED))
        .group_by(Expr::cust(reason))
        .into_model::<ReasonQ>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.reason, n(r.n)))
        .collect();
    Ok(report::funnel(&rows, &exits, def))
}

#[derive(FromQueryResult)]
struct ArmQ {
    split_step: String,
    arm: Option<String>,
    goal: String,
    n: i64,
}

/// A version's split tests: enrollments by the arm their split's step run recorded,
/// and their goal.
///
/// # Errors
/// Database errors.
pub async fn splits(
    db: &impl ConnectionTrait,
    version_id: i64,
) -> Result<Vec<vcsm::playbooks::report::SplitReport>, DbErr> {
    let backend = db.get_database_backend();
    let taken = json_text(backend, "sr.outcome", &["decision", "taken"]);
    let param = match backend {
        DatabaseBackend::Postgres => "$1",
        _ => "?",
    };
    let sql = format!(
        "SELECT sr.step AS split_step, {taken} AS arm, e.goal AS goal, COUNT(*) AS n \
         FROM step_runs sr JOIN enrollments e ON e.id = sr.enrollment_id \
         WHERE e.version_id = {param} AND sr.step_type = 'split' \
         GROUP BY sr.step, {taken}, e.goal"
    );
    let rows: Vec<ArmRow> = ArmQ::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [version_id.into()],
    ))
    .all(db)
    .await?
    .into_iter()
    .map(|r| ArmRow {
        split_step: r.split_step,
        arm: r.arm.unwrap_or_default(),
        goal: r.goal,
        count: n(r.n),
    })
    .collect();
    Ok(report::splits(&rows))
}

/// One playbook's page; none for an unknown key.
///
/// # Errors
/// Database errors.
pub async fn detail(
    db: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<PlaybookDetail>, DbErr> {
    let Some(pb) = super::by_key(db, key).await? else {
        return Ok(None);
    };
    let current = super::current(db, &pb).await?;
    let def = current.as_ref().map(|(_, d)| d);
    let versions = playbook_version::Entity::find()
        .filter(playbook_version::Column::PlaybookId.eq(pb.id))
        .order_by_desc(playbook_version::Column::Version)
        .limit(200)
        .all(db)
        .await?;
    let people =
        users::names_of(db, versions.iter().filter_map(|v| v.created_by).collect()).await?;
    let numbers: HashMap<i64, i32> = versions.iter().map(|v| (v.id, v.version)).collect();
    let newest = super::enrollments_in(db, pb.id, NEWEST).await?;
    let names = customers::names_of(db, newest.iter().map(|e| e.customer_id).collect()).await?;
    let funnel_now = match &current {
        Some((v, d)) => funnel(db, pb.id, Some(v.id), Some(d)).await?,
        None => Funnel::default(),
    };
    let splits = match &current {
        Some((v, _)) => splits(db, v.id).await?,
        None => Vec::new(),
    };
    let order: Vec<String> = def
        .map(|d| d.walk().into_iter().map(|(_, s)| s.id.clone()).collect())
        .unwrap_or_default();
    let task_outcomes = vcsm::tasks::step_outcomes(
        &crate::backend::tasks::outcomes_by_step(db, pb.id).await?,
        &order,
    );
    Ok(Some(PlaybookDetail {
        task_outcomes,
        funnel_all: funnel(db, pb.id, None, def).await?,
        funnel: funnel_now,
        splits,
        trigger: def.map_or_else(
            || report::trigger_type_text(&pb.trigger_type),
            |d| report::trigger_text(&d.trigger),
        ),
        description: def.map(|d| d.description.clone()).unwrap_or_default(),
        goal: def
            .and_then(|d| d.goal.as_ref())
            .map(|g| format!("{}, within {}", g.name, g.within)),
        current_version: current.as_ref().map(|(v, _)| v.version),
        definition: current
            .as_ref()
            .and_then(|(v, _)| serde_json::to_string_pretty(&v.definition).ok())
            .unwrap_or_default(),
        enrollments: newest
            .into_iter()
            .map(|e| EnrollmentRow {
                id: e.id,
                customer_name: names.get(&e.customer_id).cloned().unwrap_or_default(),
                customer_id: e.customer_id,
                version: numbers.get(&e.version_id).copied(),
                step: e
                    .step
                    .or(e.wait_event.map(|w| format!("waiting for “{w}”"))),
                due_at: e.due_at,
                entered_at: e.entered_at,
                finish: e.finish.as_ref().map(report::finish_value_text),
                goal: e.goal,
                status: e.status,
            })
            .collect(),
        versions: versions
            .iter()
            .map(|v| VersionRow {
                version: v.version,
                created_at: v.created_at,
                created_by: v.created_by.and_then(|u| people.get(&u).cloned()),
                current: Some(v.id) == pb.current_version_id,
            })
            .collect(),
        key: pb.key,
        name: pb.name,
        status: pb.status,
        now,
    }))
}

/// A step run's outcome in words.
fn step_run_row(r: step_run::Model) -> StepRunRow {
    let outcome: Option<Outcome> = serde_json::from_value(r.outcome.clone()).ok();
    StepRunRow {
        effect: outcome
            .as_ref()
            .and_then(|o| o.effect.as_ref())
            .map(report::effect_text),
        taken: outcome
            .as_ref()
            .and_then(|o| o.decision.as_ref())
            .map(|d| d.taken.clone()),
        readings: outcome
            .as_ref()
            .and_then(|o| o.decision.as_ref())
            .map(|d| d.readings.iter().map(report::reading_text).collect())
            .unwrap_or_default(),
        next: outcome.as_ref().map_or_else(
            || "unreadable outcome".into(),
            |o| report::next_text(&o.next),
        ),
        goal_reached: outcome.is_some_and(|o| o.goal_reached),
        step: r.step,
        step_type: r.step_type,
        ran_at: r.ran_at,
    }
}

/// A customer's newest enrollments (at most [`HISTORY`]) with their step runs in order.
///
/// # Errors
/// Database errors.
pub async fn customer_history(
    db: &impl ConnectionTrait,
    customer_id: i64,
    now: DateTime<Utc>,
) -> Result<CustomerPlaybooksDto, DbErr> {
    let rows = enrollment::Entity::find()
        .filter(enrollment::Column::CustomerId.eq(customer_id))
        .order_by_desc(enrollment::Column::EnteredAt)
        .order_by_desc(enrollment::Column::Id)
        .limit(HISTORY)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|e| e.id).collect();
    let pbs: HashMap<i64, playbook::Model> = playbook::Entity::find()
        .filter(playbook::Column::Id.is_in(rows.iter().map(|e| e.playbook_id).collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let versions: HashMap<i64, i32> = playbook_version::Entity::find()
        .filter(
            playbook_version::Column::Id
                .is_in(rows.iter().map(|e| e.version_id).collect::<Vec<_>>()),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.version))
        .collect();
    let mut runs: BTreeMap<i64, Vec<StepRunRow>> = BTreeMap::new();
    for r in step_run::Entity::find()
        .filter(step_run::Column::EnrollmentId.is_in(ids))
        .order_by_asc(step_run::Column::RanAt)
        .order_by_asc(step_run::Column::Id)
        .limit(5_000)
        .all(db)
        .await?
    {
        runs.entry(r.enrollment_id)
            .or_default()
            .push(step_run_row(r));
    }
    let enrollments = rows
        .into_iter()
        .map(|e| {
            let pb = pbs.get(&e.playbook_id);
            EnrollmentHistory {
                id: e.id,
                playbook_key: pb.map(|p| p.key.clone()).unwrap_or_default(),
                playbook_name: pb.map(|p| p.name.clone()).unwrap_or_default(),
                version: versions.get(&e.version_id).copied(),
                live: enrollment_status::LIVE.contains(&e.status.as_str()),
                entered_at: e.entered_at,
                finished_at: e.finished_at,
                finish: e.finish.as_ref().map(report::finish_value_text),
                goal: e.goal,
                next_step: e.step,
                waiting_for: e.wait_event,
                due_at: e.due_at,
                last_error: e.last_error,
                runs: runs.remove(&e.id).unwrap_or_default(),
                status: e.status,
            }
        })
        .collect();
    Ok(CustomerPlaybooksDto { enrollments, now })
}

/// The outbox's statuses, as its tabs list them.
pub const OUTBOX_STATUSES: [&str; 4] = [
    delivery::status::PENDING,
    delivery::status::UNSENT,
    delivery::status::SENT,
    delivery::status::DEAD,
];

/// The outbox's kinds.
pub const OUTBOX_KINDS: [&str; 3] = ["email", "slack", "webhook"];

#[derive(FromQueryResult)]
struct StatusCount {
    status: String,
    n: i64,
}

fn text_at<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v.and_then(|v| v.get(key)).and_then(Value::as_str)
}

/// A page of the outbox, newest first: `status` one of [`OUTBOX_STATUSES`] or all
/// (none), `kind` one of [`OUTBOX_KINDS`] or all.
///
/// # Errors
/// A page number beyond the limit; database errors.
pub async fn outbox_page(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    kind: Option<&str>,
    page: u64,
    now: DateTime<Utc>,
) -> Result<OutboxPage, AppError> {
    let mut q = outbox::Entity::find();
    if let Some(s) = status {
        q = q.filter(outbox::Column::Status.eq(s));
    }
    if let Some(k) = kind {
        q = q.filter(outbox::Column::Kind.eq(k));
    }
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(outbox::Column::Id)
        .offset(vcsm::listing::page_offset(page, OUTBOX_PAGE).map_err(AppError::BadRequest)?)
        .limit(OUTBOX_PAGE)
        .all(db)
        .await?;
    let counts = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Status)
        .column_as(outbox::Column::Id.count(), "n")
        .group_by(outbox::Column::Status)
        .into_model::<StatusCount>()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.status, n(c.n)))
        .collect();
    let names = customers::names_of(db, rows.iter().map(|r| r.customer_id).collect()).await?;
    let enrollments: HashMap<i64, i64> = enrollment::Entity::find()
        .select_only()
        .column(enrollment::Column::Id)
        .column(enrollment::Column::PlaybookId)
        .filter(
            enrollment::Column::Id.is_in(
                rows.iter()
                    .filter_map(|r| r.enrollment_id)
                    .collect::<Vec<_>>(),
            ),
        )
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let pbs: HashMap<i64, playbook::Model> = playbook::Entity::find()
        .filter(playbook::Column::Id.is_in(enrollments.values().copied().collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| {
            let pb = r
                .enrollment_id
                .and_then(|e| enrollments.get(&e))
                .and_then(|p| pbs.get(p));
            let (payload, result) = (Some(&r.payload), r.result.as_ref());
            let (recipient, summary) = match r.kind.as_str() {
                "email" => (
                    text_at(result, "to")
                        .map(str::to_owned)
                        .or_else(|| text_at(payload, "to").map(|t| t.replace('_', " "))),
                    text_at(result, "subject").map(str::to_owned).or_else(|| {
                        text_at(payload, "template").map(|t| format!("template “{t}”"))
                    }),
                ),
                "slack" => (
                    None,
                    text_at(result, "text")
                        .or_else(|| text_at(payload, "text"))
                        .map(str::to_owned),
                ),
                _ => (None, text_at(payload, "url").map(str::to_owned)),
            };
            OutboxRow {
                id: r.id,
                customer_name: names.get(&r.customer_id).cloned().unwrap_or_default(),
                customer_id: r.customer_id,
                playbook_key: pb.map(|p| p.key.clone()),
                playbook_name: pb.map(|p| p.name.clone()),
                step: r.step,
                status: r.status,
                last_error: r.last_error,
                attempts: r.attempts,
                next_attempt_at: r.next_attempt_at,
                created_at: r.created_at,
                sent_at: r.sent_at,
                recipient,
                summary,
                kind: r.kind,
            }
        })
        .collect();
    Ok(OutboxPage {
        rows,
        total,
        page,
        page_size: OUTBOX_PAGE,
        counts,
        now,
    })
}

/// The customer someone typed: its id, or its name (exactly, else the one name that
/// contains the text), archived ones aside.
///
/// # Errors
/// `NotFound` when none matches, `Conflict` when several do; database errors.
pub async fn find_customer(
    db: &impl ConnectionTrait,
    text: &str,
) -> Result<customer::Model, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::validation("customer", "name a customer"));
    }
    let live = || customer::Entity::find().filter(customer::Column::ArchivedAt.is_null());
    if let Ok(id) = text.trim_start_matches('#').parse::<i64>() {
        if let Some(c) = live().filter(customer::Column::Id.eq(id)).one(db).await? {
            return Ok(c);
        }
    }
    let lower = text.to_lowercase();
    let name = || Expr::expr(Func::lower(Expr::col(customer::Column::Name)));
    if let Some(c) = live()
        .filter(name().eq(lower.clone()))
        .order_by_asc(customer::Column::Id)
        .one(db)
        .await?
    {
        return Ok(c);
    }
    let escaped: String = lower
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let found = live()
        .filter(name().like(LikeExpr::new(format!("%{escaped}%")).escape('\\')))
        .order_by_asc(customer::Column::Name)
        .limit(2)
        .all(db)
        .await?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(AppError::NotFound(format!(
            "No customer is named “{text}”."
        ))),
        _ => Err(AppError::Conflict(format!(
            "Several customers match “{text}”: type more of the name, or the id."
        ))),
    }
}

/// Template `key` rendered for a customer as its e-mail to the primary contact would be.
///
/// # Errors
/// `NotFound` for an unknown template or customer; database errors.
pub async fn preview(
    db: &impl ConnectionTrait,
    key: &str,
    customer: &str,
    now: DateTime<Utc>,
) -> Result<TemplatePreview, AppError> {
    let t = email_template::Entity::find()
        .filter(email_template::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No template “{key}”.")))?;
    let c = find_customer(db, customer).await?;
    let prepared = delivery::prepare_email(db, &c, &t, "primary_contact", now).await?;
    Ok(TemplatePreview {
        template: t.key,
        customer_id: c.id,
        customer_name: c.name,
        recipient: prepared.recipient,
        message: prepared.message.map_err(|e| e.to_string()),
    })
}

async fn playbook_named(db: &impl ConnectionTrait, key: &str) -> Result<playbook::Model, AppError> {
    super::by_key(db, key)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No playbook “{key}”.")))
}

/// Turns a playbook on, pauses it or turns it off (audited).
///
/// # Errors
/// An unknown status or playbook; database errors.
pub async fn set_status<C: ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    by: &CurrentUser,
    key: &str,
    new_status: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if ![status::ON, status::OFF, status::PAUSED].contains(&new_status) {
        return Err(AppError::validation("status", "must be on, off or paused"));
    }
    let txn = begin_write(db).await?;
    let pb = playbook_named(&txn, key).await?;
    super::set_status(&txn, pb.id, new_status, now).await?;
    audit::record(
        &txn,
        Some(by),
        "playbook.status",
        "playbook",
        Some(pb.id),
        serde_json::json!({ "key": pb.key, "from": pb.status, "to": new_status }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Enrolls the customer someone typed (an id or a name) by hand (audited). Returns the
/// enrollment's id.
///
/// # Errors
/// `Conflict` with the refusal's reason when the customer may not enter; unknown
/// playbooks and customers; database errors.
pub async fn enroll<C: ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    by: &CurrentUser,
    key: &str,
    customer: &str,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let txn = begin_write(db).await?;
    let pb = playbook_named(&txn, key).await?;
    let c = find_customer(&txn, customer).await?;
    match super::enroll_by_hand(&txn, &pb, c.id, Some(by.id), now).await {
        Ok(Enrolled::Yes(e)) => {
            audit::record(
                &txn,
                Some(by),
                "playbook.enrolled",
                "customer",
                Some(c.id),
                serde_json::json!({ "playbook": pb.key, "enrollment": e.id }),
                now,
            )
            .await?;
            txn.commit().await?;
            Ok(e.id)
        }
        Ok(Enrolled::No(refusal)) => Err(AppError::Conflict(format!(
            "{} may not enter “{}”: {}.",
            c.name,
            pb.name,
            refusal.text()
        ))),
        Err(DbErr::RecordNotFound(what)) => Err(AppError::NotFound(format!("No {what}."))),
        Err(e) => Err(e.into()),
    }
}

/// Enrolls every live customer the customer list's `query` matches (admins and
/// managers), each by the playbook's re-entry rule and entry conditions, in one
/// transaction with one audit entry. More than [`super::MAX_LIST`] matching is refused:
/// narrow the filters.
///
/// # Errors
/// No such playbook; nobody or too many matching; database errors.
pub async fn enroll_matching<C: ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    by: &CurrentUser,
    key: &str,
    query: &vcsm::listing::CustomerQuery,
    now: DateTime<Utc>,
) -> Result<ListEnrollResult, AppError> {
    let cap = super::MAX_LIST as u64;
    let txn = begin_write(db).await?;
    let pb = playbook_named(&txn, key).await?;
    let ids = customers::ids_matching(&txn, query, cap + 1).await?;
    if ids.is_empty() {
        return Err(AppError::validation(
            "query",
            "No customer matches these filters.",
        ));
    }
    if ids.len() as u64 > cap {
        return Err(AppError::validation(
            "query",
            format!("More than {cap} customers match: narrow the filters."),
        ));
    }
    let out = match super::enroll_list(&txn, &pb, &ids, Some(by.id), now).await {
        Ok(out) => out,
        Err(DbErr::RecordNotFound(what)) => return Err(AppError::NotFound(format!("No {what}."))),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &txn,
        Some(by),
        "playbook.enrolled_list",
        "playbook",
        Some(pb.id),
        serde_json::json!({
            "playbook": pb.key,
            "matched": ids.len(),
            "enrolled": out.enrolled.len(),
            "refused": out.refused.len(),
        }),
        now,
    )
    .await?;
    txn.commit().await?;
    let shown: Vec<_> = out.refused.iter().take(100).collect();
    let names = customers::names_of(db, shown.iter().map(|(id, _)| *id).collect()).await?;
    Ok(ListEnrollResult {
        playbook_name: pb.name,
        matched: ids.len() as u64,
        enrolled: out.enrolled.len() as u64,
        refused_count: out.refused.len() as u64,
        refused: shown
            .into_iter()
            .map(|(id, r)| RefusedCustomer {
                customer_id: *id,
                customer_name: names.get(id).cloned().unwrap_or_default(),
                reason: r.text(),
            })
            .collect(),
    })
}

/// Pauses, resumes or cancels one enrollment (admins and managers), with an audit entry.
///
/// # Errors
/// No such enrollment; a conflict when it can't change so (ended, not paused, or its
/// step running this moment); database errors.
pub async fn change<C: ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    by: &CurrentUser,
    enrollment_id: i64,
    change: EnrollmentChange,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = begin_write(db).await?;
    let e = enrollment::Entity::find_by_id(enrollment_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No enrollment {enrollment_id}.")))?;
    let (changed, action, refusal) = match change {
        EnrollmentChange::Pause => (
            engine::pause(&txn, enrollment_id, now).await?,
            "playbook.enrollment_paused",
            "Only a running enrollment can be paused, and not while its step runs: try again.",
        ),
        EnrollmentChange::Resume => (
            engine::resume(&txn, enrollment_id).await?,
            "playbook.enrollment_resumed",
            "Only a paused enrollment can be resumed.",
        ),
        EnrollmentChange::Cancel => (
            engine::cancel(&txn, enrollment_id, now).await?,
            "playbook.enrollment_cancelled",
            "This enrollment has already ended.",
        ),
    };
    if !changed {
        return Err(AppError::Conflict(refusal.into()));
    }
    audit::record(
        &txn,
        Some(by),
        action,
        "customer",
        Some(e.customer_id),
        serde_json::json!({ "enrollment": e.id, "playbook_id": e.playbook_id }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
