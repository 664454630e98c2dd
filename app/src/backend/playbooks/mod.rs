//! Playbooks in the database: definitions and their immutable versions, turning them on
//! and off, and enrolling customers. The engine that moves enrollments along is
//! [`engine`]; what conditions read about a customer is [`subject`]; the outbox's e-mails
//! and Slack messages go out through [`delivery`]; what the pages read and do is
//! [`views`].
//!
//! A feature module: it uses the domain events (to start playbooks) and the customers'
//! tables; the worker starts its loop.

pub mod delivery;
pub mod engine;
pub mod history;
pub mod subject;
pub mod views;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use vcsm::playbooks::machine::{self, EntryHistory, Next, Refusal};
use vcsm::playbooks::Playbook;

use super::entities::{customer, email_template, enrollment, playbook, playbook_version};

/// A playbook's states.
pub mod status {
    pub const ON: &str = "on";
    pub const OFF: &str = "off";
    pub const PAUSED: &str = "paused";
}

/// An enrollment's states. Live ones hold the customer in the playbook.
pub mod enrollment_status {
    pub const ACTIVE: &str = "active";
    pub const WAITING: &str = "waiting";
    pub const PAUSED: &str = "paused";
    pub const COMPLETED: &str = "completed";
    pub const EXITED: &str = "exited";
    pub const HOLDOUT: &str = "holdout";
    pub const CANCELLED: &str = "cancelled";
    pub const FAILED: &str = "failed";
    pub const LIVE: [&str; 3] = [ACTIVE, WAITING, PAUSED];
}

/// The trigger's type as its JSON names it (`health_level_changed`).
pub fn trigger_type(p: &Playbook) -> String {
    serde_json::to_value(&p.trigger)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// Stores a new playbook with `definition` as its version 1 (checked by the caller).
///
/// # Errors
/// Database errors (a key already taken among them).
pub async fn create(
    db: &impl ConnectionTrait,
    key: &str,
    definition: &Playbook,
    on: bool,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<playbook::Model, DbErr> {
    let pb = playbook::ActiveModel {
        key: Set(key.to_owned()),
        name: Set(definition.name.trim().to_owned()),
        status: Set(if on { status::ON } else { status::OFF }.into()),
        current_version_id: Set(None),
        trigger_type: Set(trigger_type(definition)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    publish(db, &pb, definition, by, now).await?;
    playbook::Entity::find_by_id(pb.id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("playbook {}", pb.id)))
}

/// Publishes `definition` as `pb`'s next version: new enrollments start on it; running
/// ones stay on theirs.
///
/// # Errors
/// Database errors.
pub async fn publish(
    db: &impl ConnectionTrait,
    pb: &playbook::Model,
    definition: &Playbook,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<playbook_version::Model, DbErr> {
    let last = playbook_version::Entity::find()
        .filter(playbook_version::Column::PlaybookId.eq(pb.id))
        .order_by_desc(playbook_version::Column::Version)
        .one(db)
        .await?
        .map_or(0, |v| v.version);
    let version =
        playbook_version::ActiveModel {
            playbook_id: Set(pb.id),
            version: Set(last + 1),
            definition: Set(
                serde_json::to_value(definition).map_err(|e| DbErr::Custom(e.to_string()))?
            ),
            created_by: Set(by),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    playbook::Entity::update_many()
        .col_expr(playbook::Column::CurrentVersionId, Expr::value(version.id))
        .col_expr(playbook::Column::Name, Expr::value(definition.name.trim()))
        .col_expr(
            playbook::Column::TriggerType,
            Expr::value(trigger_type(definition)),
        )
        .col_expr(playbook::Column::UpdatedAt, Expr::value(now))
        .filter(playbook::Column::Id.eq(pb.id))
        .exec(db)
        .await?;
    Ok(version)
}

/// Turns a playbook on, off, or pauses it (a paused playbook's enrollments wait; an off
/// one starts nobody new, and its running enrollments go on).
///
/// # Errors
/// Database errors.
pub async fn set_status(
    db: &impl ConnectionTrait,
    id: i64,
    new_status: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    playbook::Entity::update_many()
        .col_expr(playbook::Column::Status, Expr::value(new_status))
        .col_expr(playbook::Column::UpdatedAt, Expr::value(now))
        .filter(playbook::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Loads the ready library (`vcsm::playbooks::library`): each template and playbook whose
/// key isn't stored yet, playbooks turned off until an admin turns them on. Run at every
/// start: only missing keys are added, so what an admin changed stays as they left it.
/// Returns how many playbooks were added.
///
/// # Errors
/// Database errors.
pub async fn load_library(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let lib = vcsm::playbooks::library::library();
    for t in &lib.templates {
        email_template::Entity::insert(email_template::ActiveModel {
            key: Set(t.key.clone()),
            name: Set(t.name.clone()),
            subject: Set(t.subject.clone()),
            body_text: Set(t.body.clone()),
            body_html: Set(None),
            operational: Set(t.operational),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(email_template::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    let mut added = 0;
    for p in &lib.playbooks {
        let exists = playbook::Entity::find()
            .filter(playbook::Column::Key.eq(p.key.as_str()))
            .one(db)
            .await?
            .is_some();
        if !exists {
            create(db, &p.key, &p.definition, false, None, now).await?;
            added += 1;
        }
    }
    Ok(added)
}

/// What playbooks may name: the stored templates.
///
/// # Errors
/// Database errors.
pub async fn catalog(
    db: &impl ConnectionTrait,
) -> Result<vcsm::playbooks::validate::Catalog, DbErr> {
    let keys: Vec<String> = email_template::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.key)
        .collect();
    Ok(vcsm::playbooks::validate::Catalog {
        templates: Some(keys.into_iter().collect()),
    })
}

/// A playbook by its key.
///
/// # Errors
/// Database errors.
pub async fn by_key(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<playbook::Model>, DbErr> {
    playbook::Entity::find()
        .filter(playbook::Column::Key.eq(key))
        .one(db)
        .await
}

/// A playbook's current version and its definition.
///
/// # Errors
/// Database errors.
pub async fn current(
    db: &impl ConnectionTrait,
    pb: &playbook::Model,
) -> Result<Option<(playbook_version::Model, Playbook)>, DbErr> {
    let Some(id) = pb.current_version_id else {
        return Ok(None);
    };
    match playbook_version::Entity::find_by_id(id).one(db).await? {
        Some(v) => {
            let def = definition(&v)?;
            Ok(Some((v, def)))
        }
        None => Ok(None),
    }
}

/// The longest playbook key.
pub const MAX_KEY: usize = 80;

/// Whether `key` may name a playbook: 1–80 lowercase letters, digits, `-` or `_`.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Stores a checked definition under `key`: a new playbook (turned off), or the next
/// version of an existing one. Returns the playbook, the version, and whether the
/// playbook is new.
///
/// # Errors
/// Database errors.
pub async fn import(
    db: &impl ConnectionTrait,
    key: &str,
    def: &Playbook,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(playbook::Model, playbook_version::Model, bool), DbErr> {
    let (pb, created) = match by_key(db, key).await? {
        Some(pb) => {
            publish(db, &pb, def, by, now).await?;
            (pb, false)
        }
        None => (create(db, key, def, false, by, now).await?, true),
    };
    let pb = playbook::Entity::find_by_id(pb.id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("playbook {key}")))?;
    let (v, _) = current(db, &pb)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("playbook {key}'s version")))?;
    Ok((pb, v, created))
}

/// Enrolls a customer by hand (a person, or the API for one): the playbook's current
/// version, its re-entry rule and entry conditions apply as for any trigger.
///
/// # Errors
/// Database errors; `RecordNotFound` for a customer that doesn't exist.
pub async fn enroll_by_hand(
    db: &impl ConnectionTrait,
    pb: &playbook::Model,
    customer_id: i64,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Enrolled, DbErr> {
    let c = customer::Entity::find_by_id(customer_id)
        .one(db)
        .await?
        .filter(|c| c.archived_at.is_none())
        .ok_or_else(|| DbErr::RecordNotFound(format!("customer {customer_id}")))?;
    let (v, def) = current(db, pb)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("playbook {}'s version", pb.key)))?;
    let ranks = subject::UsageRanks::load(db, now).await?;
    enroll(db, pb, &v, &def, &c, &ranks, None, by, now).await
}

/// The most customers one request enrolls.
pub const MAX_LIST: usize = 5_000;

/// What enrolling a list came to: the enrollments made, and each customer that may not
/// enter now with the reason.
#[derive(Debug, Default)]
pub struct ListEnrolled {
    pub enrolled: Vec<enrollment::Model>,
    pub refused: Vec<(i64, Refusal)>,
}

/// Enrolls the customers `ids` (repeats count once) by hand, each by the re-entry rule
/// and the entry conditions; the playbook's version and the portfolio's usage ranks are
/// read once. Every id must be a live customer: otherwise nothing is enrolled and the
/// error names the ids that are not (`RecordNotFound`). The caller holds the write
/// transaction, so the list goes in whole or not at all.
///
/// # Errors
/// Database errors; `RecordNotFound` naming unknown or archived ids, or a playbook
/// without a version.
pub async fn enroll_list(
    db: &impl ConnectionTrait,
    pb: &playbook::Model,
    ids: &[i64],
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<ListEnrolled, DbErr> {
    let mut wanted: Vec<i64> = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut customers = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(500) {
        customers.extend(
            customer::Entity::find()
                .filter(customer::Column::Id.is_in(chunk.iter().copied()))
                .filter(customer::Column::ArchivedAt.is_null())
                .order_by_asc(customer::Column::Id)
                .all(db)
                .await?,
        );
    }
    if customers.len() < wanted.len() {
        let found: std::collections::BTreeSet<i64> = customers.iter().map(|c| c.id).collect();
        let missing: Vec<String> = wanted
            .iter()
            .filter(|id| !found.contains(id))
            .take(20)
            .map(ToString::to_string)
            .collect();
        let more = wanted.len() - customers.len();
        return Err(DbErr::RecordNotFound(format!(
            "customer{} {}{}",
            if more == 1 { "" } else { "s" },
            missing.join(", "),
            if more > missing.len() {
                format!(" and {} more", more - missing.len())
            } else {
                String::new()
            }
        )));
    }
    let (v, def) = current(db, pb)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("playbook {}'s version", pb.key)))?;
    let ranks = subject::UsageRanks::load(db, now).await?;
    let mut out = ListEnrolled::default();
    for c in &customers {
        match enroll(db, pb, &v, &def, c, &ranks, None, by, now).await? {
            Enrolled::Yes(e) => out.enrolled.push(*e),
            Enrolled::No(refusal) => out.refused.push((c.id, refusal)),
        }
    }
    Ok(out)
}

/// A playbook's newest enrollments, at most `limit`.
///
/// # Errors
/// Database errors.
pub async fn enrollments_in(
    db: &impl ConnectionTrait,
    playbook_id: i64,
    limit: u64,
) -> Result<Vec<enrollment::Model>, DbErr> {
    use sea_orm::QuerySelect;
    enrollment::Entity::find()
        .filter(enrollment::Column::PlaybookId.eq(playbook_id))
        .order_by_desc(enrollment::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// A customer's enrollments, newest first, with their playbooks.
///
/// # Errors
/// Database errors.
pub async fn enrollments_of(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Vec<(enrollment::Model, playbook::Model)>, DbErr> {
    let rows = enrollment::Entity::find()
        .filter(enrollment::Column::CustomerId.eq(customer_id))
        .order_by_desc(enrollment::Column::EnteredAt)
        .order_by_desc(enrollment::Column::Id)
        .all(db)
        .await?;
    // The playbooks in one read, not one per enrollment.
    let ids: Vec<i64> = rows.iter().map(|e| e.playbook_id).collect();
    let pbs: std::collections::BTreeMap<i64, playbook::Model> = playbook::Entity::find()
        .filter(playbook::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|e| pbs.get(&e.playbook_id).cloned().map(|pb| (e, pb)))
        .collect())
}

/// A stored definition, read back.
///
/// # Errors
/// A definition this build can't read (a database error, so the step is retried and the
/// problem is visible).
pub fn definition(v: &playbook_version::Model) -> Result<Playbook, DbErr> {
    serde_json::from_value(v.definition.clone())
        .map_err(|e| DbErr::Custom(format!("playbook version {}: {e}", v.id)))
}

/// The playbooks that are on, with their current versions.
///
/// # Errors
/// Database errors.
pub async fn live(
    db: &impl ConnectionTrait,
) -> Result<Vec<(playbook::Model, playbook_version::Model, Playbook)>, DbErr> {
    let pbs = playbook::Entity::find()
        .filter(playbook::Column::Status.eq(status::ON))
        .order_by_asc(playbook::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(pbs.len());
    for pb in pbs {
        let Some(vid) = pb.current_version_id else {
            continue;
        };
        if let Some(v) = playbook_version::Entity::find_by_id(vid).one(db).await? {
            let def = definition(&v)?;
            out.push((pb, v, def));
        }
    }
    Ok(out)
}

/// What enrolling came to.
#[derive(Debug)]
pub enum Enrolled {
    Yes(Box<enrollment::Model>),
    No(Refusal),
}

/// Enrolls `c` in `pb` at version `v` (definition `def`) when it may enter: by the
/// re-entry rule and the entry conditions, read now. `trigger_event_id` is the domain
/// event that started it; `by` the person who enrolled it by hand.
///
/// # Errors
/// Database errors.
#[allow(clippy::too_many_arguments)]
pub async fn enroll(
    db: &impl ConnectionTrait,
    pb: &playbook::Model,
    v: &playbook_version::Model,
    def: &Playbook,
    c: &customer::Model,
    ranks: &subject::UsageRanks,
    trigger_event_id: Option<i64>,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Enrolled, DbErr> {
    let history = entry_history(db, pb.id, c.id).await?;
    let subject = subject::load(db, c, ranks, now).await?;
    if let Err(refusal) = machine::may_enter(def, &subject, history, now) {
        return Ok(Enrolled::No(refusal));
    }
    let (step, due_at) = match machine::first_step(def, now) {
        Next::Step { id, at } => (Some(id), Some(at)),
        _ => (None, None),
    };
    let e = enrollment::ActiveModel {
        playbook_id: Set(pb.id),
        version_id: Set(v.id),
        customer_id: Set(c.id),
        status: Set(enrollment_status::ACTIVE.into()),
        live_customer_id: Set(Some(c.id)),
        step: Set(step),
        due_at: Set(due_at),
        attempts: Set(0),
        bucket: Set(i32::try_from(machine::bucket(c.id ^ (pb.id << 32))).unwrap_or(0)),
        trigger_event_id: Set(trigger_event_id),
        enrolled_by: Set(by),
        entered_at: Set(now),
        goal: Set(if def.goal.is_some() { "open" } else { "none" }.into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Enrolled::Yes(Box::new(e)))
}

/// Whether the customer is in the playbook now, and when it last entered.
async fn entry_history(
    db: &impl ConnectionTrait,
    playbook_id: i64,
    customer_id: i64,
) -> Result<EntryHistory, DbErr> {
    let last = enrollment::Entity::find()
        .filter(enrollment::Column::PlaybookId.eq(playbook_id))
        .filter(enrollment::Column::CustomerId.eq(customer_id))
        .order_by_desc(enrollment::Column::EnteredAt)
        .one(db)
        .await?;
    Ok(EntryHistory {
        enrolled_now: last
            .as_ref()
            .is_some_and(|e| enrollment_status::LIVE.contains(&e.status.as_str())),
        last_entered: last.map(|e| e.entered_at),
    })
}
