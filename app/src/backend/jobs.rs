//! Durable jobs (`jobs`): work that must happen once across every server, whichever
//! server does it. A job is queued as a row; a server claims it for a lease, renews the
//! lease while it works (a heartbeat), and records the result. If the server dies, the
//! lease runs out and another server takes the job up; a job that fails is tried again
//! later (longer each time) until its last try, after which it is dead and waits for an
//! admin to retry it. Recurring work is queued once per period: the period is part of a
//! unique key, so however many servers queue it, there is one job.
//!
//! A low module: it knows no kind of job. What each kind does is the worker's.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use serde_json::Value;

use super::entities::job;

/// How long a claim holds without a heartbeat: long enough that a busy server never
/// loses a job it is running, short enough that a dead server's job is taken up soon.
pub const LEASE: Duration = Duration::seconds(90);

/// The lease in force: [`LEASE`], or `VCSM_JOB_LEASE_SECS` (at least 2 s; tests of
/// servers being killed use a short one).
#[must_use]
pub fn lease() -> Duration {
    std::env::var("VCSM_JOB_LEASE_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map_or(LEASE, |secs| Duration::seconds(secs.max(2)))
}

/// How often a running job renews its lease: four times per lease, so a slow moment or
/// two never loses it.
#[must_use]
pub fn heartbeat_every() -> std::time::Duration {
    (lease() / 4)
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(1))
}

/// How long after its `attempts`-th failed try a job is tried again: 30 s, doubling,
/// at most an hour.
#[must_use]
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(7);
    (Duration::seconds(30) * 2_i32.pow(doublings)).min(Duration::hours(1))
}

/// The states a job goes through.
pub mod state {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const DEAD: &str = "dead";
}

/// What the runner records when it takes up a job whose server stopped holding it.
pub const ABANDONED: &str = "its server stopped while running it";

/// A job to queue.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
    pub created_by: Option<i64>,
}

impl NewJob {
    /// A job of `kind` to run now, tried up to three times.
    #[must_use]
    pub fn now(kind: &str, payload: Value, now: DateTime<Utc>) -> Self {
        Self {
            kind: kind.into(),
            payload,
            run_at: now,
            max_attempts: 3,
            created_by: None,
        }
    }

    fn row(self, period_key: Option<String>, now: DateTime<Utc>) -> job::ActiveModel {
        job::ActiveModel {
            kind: Set(self.kind),
            payload: Set(self.payload),
            period_key: Set(period_key),
            state: Set(state::QUEUED.into()),
            run_at: Set(self.run_at),
            attempts: Set(0),
            max_attempts: Set(self.max_attempts.max(1)),
            locked_by: Set(None),
            locked_until: Set(None),
            progress: Set(None),
            checkpoint: Set(None),
            result: Set(None),
            last_error: Set(None),
            created_by: Set(self.created_by),
            created_at: Set(now),
            started_at: Set(None),
            finished_at: Set(None),
            ..Default::default()
        }
    }
}

/// Queues `new`.
///
/// # Errors
/// Database errors.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    new: NewJob,
    now: DateTime<Utc>,
) -> Result<job::Model, DbErr> {
    new.row(None, now).insert(db).await
}

/// The jobs of `kind` queued or running, oldest first.
///
/// # Errors
/// Database errors.
pub async fn unfinished(db: &impl ConnectionTrait, kind: &str) -> Result<Vec<job::Model>, DbErr> {
    job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::State.is_in([state::QUEUED, state::RUNNING]))
        .order_by_asc(job::Column::Id)
        .all(db)
        .await
}

/// Queues `new` unless a job of its kind is in one of `states`; the job that will do
/// it, new or not, and whether it is new.
async fn enqueue_unless_in(
    db: &impl ConnectionTrait,
    new: NewJob,
    states: &[&str],
    now: DateTime<Utc>,
) -> Result<(job::Model, bool), DbErr> {
    let existing = job::Entity::find()
        .filter(job::Column::Kind.eq(new.kind.as_str()))
        .filter(job::Column::State.is_in(states.iter().copied()))
        .order_by_asc(job::Column::Id)
        .one(db)
        .await?;
    match existing {
        Some(job) => Ok((job, false)),
        None => Ok((enqueue(db, new, now).await?, true)),
    }
}

/// Queues `new` unless a job of its kind is already queued or running (a second "do it
/// now" while one runs adds nothing). Returns the job that will do it, new or not, and
/// whether it is new.
///
/// # Errors
/// Database errors.
pub async fn enqueue_once(
    db: &impl ConnectionTrait,
    new: NewJob,
    now: DateTime<Utc>,
) -> Result<(job::Model, bool), DbErr> {
    enqueue_unless_in(db, new, &[state::QUEUED, state::RUNNING], now).await
}

/// Queues `new` unless a job of its kind is waiting to start: one that runs now read its
/// inputs already, so a change since needs a run after it, but one waiting will read them
/// when it starts. Returns the job that will do it, new or not, and whether it is new.
///
/// # Errors
/// Database errors.
pub async fn enqueue_unless_waiting(
    db: &impl ConnectionTrait,
    new: NewJob,
    now: DateTime<Utc>,
) -> Result<(job::Model, bool), DbErr> {
    enqueue_unless_in(db, new, &[state::QUEUED], now).await
}

/// The newest job of `kind`.
///
/// # Errors
/// Database errors.
pub async fn latest(db: &impl ConnectionTrait, kind: &str) -> Result<Option<job::Model>, DbErr> {
    job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .order_by_desc(job::Column::Id)
        .one(db)
        .await
}

/// Whether a job of `kind` is queued or running.
///
/// # Errors
/// Database errors.
pub async fn pending(db: &impl ConnectionTrait, kind: &str) -> Result<bool, DbErr> {
    Ok(job::Entity::find()
        .filter(job::Column::Kind.eq(kind))
        .filter(job::Column::State.is_in([state::QUEUED, state::RUNNING]))
        .count(db)
        .await?
        > 0)
}

/// Queues `new` for the period `period` (a day, an hour…) unless that period's job
/// exists, here or from another server: `true` when this call queued it.
///
/// # Errors
/// Database errors.
pub async fn enqueue_period(
    db: &impl ConnectionTrait,
    new: NewJob,
    period: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let key = format!("{}/{period}", new.kind);
    let inserted = job::Entity::insert(new.row(Some(key), now))
        .on_conflict(
            OnConflict::column(job::Column::PeriodKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted > 0)
}

/// Jobs a server may claim at `now`: queued and due, or running on a lease that ran out.
fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(job::Column::State.eq(state::QUEUED))
                .add(job::Column::RunAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(job::Column::State.eq(state::RUNNING))
                .add(job::Column::LockedUntil.lt(now)),
        )
}

/// Claims the job due longest for `worker`, for a lease: its tries go up by one. A job
/// whose server stopped holding it is taken up again (noted in its last error), unless
/// that was its last try: then it is dead. `None` when nothing is due.
///
/// # Errors
/// Database errors.
pub async fn claim(
    db: &impl ConnectionTrait,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<Option<job::Model>, DbErr> {
    // Most moments nothing is due: look first, taking no lock.
    if job::Entity::find().filter(claimable(now)).count(db).await? == 0 {
        return Ok(None);
    }
    // Abandoned on their last try: dead, not tried again.
    job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(state::DEAD))
        .col_expr(job::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(
            job::Column::LastError,
            Expr::value(format!("{ABANDONED}, on its last try")),
        )
        .filter(job::Column::State.eq(state::RUNNING))
        .filter(job::Column::LockedUntil.lt(now))
        .filter(sea_orm::ExprTrait::gte(
            Expr::col(job::Column::Attempts),
            Expr::col(job::Column::MaxAttempts),
        ))
        .exec(db)
        .await?;
    // One statement picks and takes the job. The condition is repeated outside the
    // sub-select so that on Postgres a server that waited on the row sees it taken; rows
    // another server is claiming are skipped rather than waited on.
    let backend = db.get_database_backend();
    let (lock, p) = match backend {
        DatabaseBackend::Postgres => (" FOR UPDATE SKIP LOCKED", ["$1", "$2", "$3", "$4"]),
        _ => ("", ["?1", "?2", "?3", "?4"]),
    };
    let due = |t: &str| {
        format!(
            "(({t}state = 'queued' AND {t}run_at <= {now}) \
             OR ({t}state = 'running' AND {t}locked_until < {now}))",
            now = p[2]
        )
    };
    // One job of a kind at a time across the servers: a second portfolio re-score waits
    // for the first rather than racing it.
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = {worker}, \
         locked_until = {until}, started_at = COALESCE(started_at, {now}), \
         last_error = CASE WHEN state = 'running' THEN {abandoned} ELSE last_error END \
         WHERE id = (SELECT j.id FROM jobs j WHERE {due_j} AND NOT EXISTS (SELECT 1 FROM \
         jobs r WHERE r.kind = j.kind AND r.id <> j.id AND r.state = 'running' \
         AND r.locked_until >= {now}) ORDER BY j.run_at, j.id LIMIT 1{lock}) \
         AND {due} RETURNING *",
        due_j = due("j."),
        due = due(""),
        worker = p[0],
        until = p[1],
        now = p[2],
        abandoned = p[3],
    );
    job::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            sql,
            [
                worker.into(),
                (now + lease()).into(),
                now.into(),
                ABANDONED.into(),
            ],
        ))
        .one(db)
        .await
}

/// Updates job `id` if `worker` still holds it; `false` when it doesn't (its lease ran
/// out and another server took it up).
async fn update_held(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    set: Vec<(job::Column, Expr)>,
) -> Result<bool, DbErr> {
    let mut update = job::Entity::update_many()
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::State.eq(state::RUNNING))
        .filter(job::Column::LockedBy.eq(worker));
    for (column, value) in set {
        update = update.col_expr(column, value);
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Renews `worker`'s lease on job `id`; `false` when it no longer holds it.
///
/// # Errors
/// Database errors.
pub async fn heartbeat(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let until = Expr::value(now + lease());
    update_held(db, id, worker, vec![(job::Column::LockedUntil, until)]).await
}

/// Records where job `id` has got to: `checkpoint` for the server that takes it up if
/// this one dies, `progress` in words for the jobs page.
///
/// # Errors
/// Database errors.
pub async fn checkpoint(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    checkpoint: Value,
    progress: &str,
) -> Result<bool, DbErr> {
    let text: String = progress.chars().take(200).collect();
    let set = vec![
        (job::Column::Checkpoint, Expr::value(checkpoint)),
        (job::Column::Progress, Expr::value(text)),
    ];
    update_held(db, id, worker, set).await
}

fn released(finished: Option<DateTime<Utc>>) -> Vec<(job::Column, Expr)> {
    vec![
        (job::Column::LockedBy, Expr::value(Option::<String>::None)),
        (
            job::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        ),
        (job::Column::FinishedAt, Expr::value(finished)),
    ]
}

/// Job `id` succeeded with `result`; `false` when `worker` no longer held it (another
/// server took it up meanwhile and its outcome stands).
///
/// # Errors
/// Database errors.
pub async fn complete(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    result: Value,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut set = released(Some(now));
    set.push((job::Column::State, Expr::value(state::DONE)));
    set.push((job::Column::Result, Expr::value(result)));
    update_held(db, id, worker, set).await
}

/// Job `id` failed with `error`: queued again after [`backoff`], or dead after its last
/// try. `false` when `worker` no longer held it.
///
/// # Errors
/// Database errors.
pub async fn fail(
    db: &impl ConnectionTrait,
    job: &job::Model,
    worker: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let error: String = error.chars().take(2000).collect();
    let last = job.attempts >= job.max_attempts;
    let mut set = released(last.then_some(now));
    set.push((job::Column::LastError, Expr::value(error)));
    if last {
        set.push((job::Column::State, Expr::value(state::DEAD)));
    } else {
        set.push((job::Column::State, Expr::value(state::QUEUED)));
        set.push((job::Column::RunAt, Expr::value(now + backoff(job.attempts))));
    }
    update_held(db, job.id, worker, set).await
}

/// Queues a dead job again now, with its tries counted afresh. `None` when there is no
/// job `id`; `Some(false)` when it isn't dead (nothing changed).
///
/// # Errors
/// Database errors.
pub async fn retry(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<bool>, DbErr> {
    if find(db, id).await?.is_none() {
        return Ok(None);
    }
    let changed = job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(state::QUEUED))
        .col_expr(job::Column::RunAt, Expr::value(now))
        .col_expr(job::Column::Attempts, Expr::value(0))
        .col_expr(
            job::Column::FinishedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(job::Column::Id.eq(id))
        .filter(job::Column::State.eq(state::DEAD))
        .exec(db)
        .await?;
    Ok(Some(changed.rows_affected == 1))
}

/// Job `id`.
///
/// # Errors
/// Database errors.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<job::Model>, DbErr> {
    job::Entity::find_by_id(id).one(db).await
}

/// The `limit` most recent jobs, newest first; dead and running ones first of all.
///
/// # Errors
/// Database errors.
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<job::Model>, DbErr> {
    let mut urgent = job::Entity::find()
        .filter(job::Column::State.is_in([state::DEAD, state::RUNNING]))
        .order_by_desc(job::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let rest = job::Entity::find()
        .filter(job::Column::State.is_in([state::QUEUED, state::DONE]))
        .order_by_desc(job::Column::Id)
        .limit(limit.saturating_sub(urgent.len() as u64))
        .all(db)
        .await?;
    urgent.extend(rest);
    Ok(urgent)
}

/// How many jobs are in each state (states without jobs are left out), in one query.
///
/// # Errors
/// Database errors.
pub async fn counts(
    db: &impl ConnectionTrait,
) -> Result<std::collections::HashMap<String, u64>, DbErr> {
    let rows: Vec<(String, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::State)
        .column_as(job::Column::Id.count(), "n")
        .group_by(job::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(state, n)| (state, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Deletes the jobs, done or dead, that finished before `before`.
///
/// # Errors
/// Database errors.
pub async fn purge_finished(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(job::Entity::delete_many()
        .filter(job::Column::State.is_in([state::DONE, state::DEAD]))
        .filter(job::Column::FinishedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use chrono::Duration;

    #[test]
    fn a_failed_job_waits_longer_after_each_try_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::minutes(2));
        assert_eq!(backoff(7), Duration::minutes(32));
        assert_eq!(backoff(8), Duration::hours(1));
        assert_eq!(backoff(i32::MAX), Duration::hours(1));
    }
}
