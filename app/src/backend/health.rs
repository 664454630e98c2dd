//! Health scores: the scorecard in force (versioned), the facts of each customer gathered
//! from its data with a few aggregate queries for the whole portfolio, and scoring that
//! writes the day's history row and the customer's current score.
//!
//! The rules (measures, normalisation, weights, levels, explanations) are the domain's
//! `vcsm::health`; this module only reads data and writes results.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, Statement, TransactionSession, TransactionTrait,
};
use vcsm::health::{self, Health, Portfolio, Scorecard, HISTORY_DAYS};

use super::audit;
use super::entities::{customer, health_score, score_request, scorecard};
pub use super::facts::gather_facts;
use crate::dto::CurrentUser;
use crate::error::AppError;

/// Rows per multi-row statement, and ids per `IN` list.
const CHUNK: usize = 500;

/// The scorecard in force and its version.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveScorecard {
    pub version: i32,
    pub card: Scorecard,
}

/// The scorecard in force: the highest version saved, or the default one (saved as
/// version 1 the first time it is asked for, so every score names a stored version).
///
/// # Errors
/// Database errors, or a stored definition that no longer reads (logged, `Internal`).
pub async fn active_scorecard(db: &impl ConnectionTrait) -> Result<ActiveScorecard, AppError> {
    let latest = scorecard::Entity::find()
        .order_by_desc(scorecard::Column::Version)
        .one(db)
        .await?;
    match latest {
        Some(row) => {
            let card: Scorecard = serde_json::from_value(row.definition).map_err(|e| {
                tracing::error!(error = %e, version = row.version, "stored scorecard unreadable");
                AppError::Internal
            })?;
            Ok(ActiveScorecard {
                version: row.version,
                card,
            })
        }
        None => {
            let card = Scorecard::default();
            scorecard::Entity::insert(scorecard::ActiveModel {
                version: Set(1),
                definition: Set(serde_json::to_value(&card).unwrap_or_default()),
                created_at: Set(Utc::now()),
                created_by: Set(None),
                ..Default::default()
            })
            // Two first requests at once: one default is enough.
            .on_conflict(
                OnConflict::column(scorecard::Column::Version)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
            Ok(ActiveScorecard { version: 1, card })
        }
    }
}

/// Saves an edited scorecard as the next version and returns it.
///
/// # Errors
/// `Validation` with every problem by path; database errors.
pub async fn save_scorecard<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    card: &Scorecard,
    now: DateTime<Utc>,
) -> Result<i32, AppError> {
    card.validate().map_err(AppError::Validation)?;
    let current = active_scorecard(db).await?;
    let version = current.version + 1;
    let txn = super::db::begin_write(db).await?;
    scorecard::Entity::insert(scorecard::ActiveModel {
        version: Set(version),
        definition: Set(serde_json::to_value(card).unwrap_or_default()),
        created_at: Set(now),
        created_by: Set(Some(actor.id)),
        ..Default::default()
    })
    .exec_without_returning(&txn)
    .await
    .map_err(|e| {
        match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AppError::Conflict(
            "Someone saved the scorecard at the same moment: reload it and apply your change again."
                .into(),
        ),
        _ => e.into(),
    }
    })?;
    audit::record(
        &txn,
        Some(actor),
        "scorecard.save",
        "scorecard",
        None,
        serde_json::json!({ "version": version }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(version)
}

/// What a scoring run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scored {
    pub customers: u64,
    pub version: i32,
}

/// One customer's score and its MRR then (kept in the history for MRR change).
type CustomerScore = (i64, Health, i64);

/// Writes scores: the day's history row (replacing an earlier one of that day) and, when
/// `current`, the customer's current score. On Postgres two chunks are written at once
/// (one builds its statement while the other's is executed).
async fn write_scores(
    db: &impl ConnectionTrait,
    version: i32,
    day: NaiveDate,
    scores: &[CustomerScore],
    current: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let write = |chunk| write_chunk(db, version, day, chunk, current, now);
    if db.get_database_backend() != DatabaseBackend::Postgres {
        for chunk in scores.chunks(CHUNK) {
            write(chunk).await?;
        }
        return Ok(());
    }
    let mut chunks = scores.chunks(CHUNK);
    while let Some(first) = chunks.next() {
        match chunks.next() {
            Some(second) => {
                tokio::try_join!(write(first), write(second))?;
            }
            None => write(first).await?,
        }
    }
    Ok(())
}

/// One statement's worth of [`write_scores`].
async fn write_chunk(
    db: &impl ConnectionTrait,
    version: i32,
    day: NaiveDate,
    chunk: &[CustomerScore],
    current: bool,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use health_score::Column as H;
    let rows = chunk.iter().map(|(id, h, mrr)| health_score::ActiveModel {
        customer_id: Set(*id),
        mrr_minor: Set(Some(*mrr)),
        day: Set(day),
        score: Set(i16::from(h.score.value())),
        level: Set(h.level.as_str().into()),
        scorecard_version: Set(version),
        groups: Set(serde_json::to_value(&h.groups).unwrap_or_default()),
        measures: Set(serde_json::to_value(&h.measures).unwrap_or_default()),
        computed_at: Set(now),
        ..Default::default()
    });
    health_score::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([H::CustomerId, H::Day])
                .update_columns([
                    H::Score,
                    H::Level,
                    H::ScorecardVersion,
                    H::Groups,
                    H::Measures,
                    H::ComputedAt,
                    H::MrrMinor,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if current {
        set_current(db, chunk, now).await?;
    }
    Ok(())
}

/// Churn predictions, then alerts and expansion signals, for the customers just scored.
async fn predict(
    db: &(impl ConnectionTrait + TransactionTrait),
    scope: Option<&[i64]>,
    card: &Scorecard,
    facts: &std::collections::HashMap<i64, vcsm::health::Facts>,
    scores: &[CustomerScore],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let health = scores.iter().map(|(id, h, _)| (*id, h)).collect();
    let t = std::time::Instant::now();
    let churn = super::churn::predict_and_store(db, scope, card, facts, &health, now).await?;
    let churn_ms = t.elapsed().as_millis() as u64;
    let t = std::time::Instant::now();
    super::alerts::evaluate(db, scope, facts, &health, &churn, now).await?;
    let alerts_ms = t.elapsed().as_millis() as u64;
    let t = std::time::Instant::now();
    super::expansion::evaluate(db, scope, facts, &health, card.window_days, now).await?;
    if scope.is_none() {
        tracing::info!(
            customers = scores.len(),
            churn_ms,
            alerts_ms,
            expansion_ms = t.elapsed().as_millis() as u64,
            "portfolio predictions, alerts and expansion signals"
        );
    }
    Ok(())
}

/// The customers' current score and level, in one `UPDATE … FROM (VALUES …)`.
async fn set_current(
    db: &impl ConnectionTrait,
    scores: &[CustomerScore],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut rows = Vec::with_capacity(scores.len());
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(scores.len() * 3 + 1);
    values.push(now.into());
    for (i, (id, h, _)) in scores.iter().enumerate() {
        rows.push(match backend {
            DatabaseBackend::Postgres => format!(
                "(${}::bigint, ${}::smallint, ${}::text)",
                3 * i + 2,
                3 * i + 3,
                3 * i + 4
            ),
            _ => "(?, ?, ?)".to_string(),
        });
        values.push((*id).into());
        values.push(i16::from(h.score.value()).into());
        values.push(h.level.as_str().into());
    }
    if rows.is_empty() {
        return Ok(());
    }
    let at = match backend {
        DatabaseBackend::Postgres => "$1::timestamptz",
        _ => "?",
    };
    // A VALUES list: Postgres plans it in milliseconds, where 500 `SELECT … UNION ALL`s took
    // 200 ms each to plan (most of a full recompute's writing time). SQLite names VALUES'
    // columns column1…; Postgres takes the names in the alias.
    let values_list = rows.join(", ");
    let source = match backend {
        DatabaseBackend::Postgres => format!("(VALUES {values_list}) AS v(id, score, level)"),
        _ => format!(
            "(SELECT column1 AS id, column2 AS score, column3 AS level FROM (VALUES {values_list})) AS v"
        ),
    };
    let sql = format!(
        "UPDATE customers SET health_score = v.score, health_level = v.level, health_computed_at = {at} \
         FROM {source} WHERE customers.id = v.id"
    );
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

/// The portfolio's distribution of percentile measures from the last full scoring, so
/// re-scoring one customer doesn't gather every customer's facts again. Per scorecard
/// version and day; a full run replaces it.
#[derive(Default)]
pub struct PortfolioCache {
    latest: std::sync::RwLock<Option<(i32, NaiveDate, std::sync::Arc<Portfolio>)>>,
}

impl PortfolioCache {
    fn get(&self, version: i32, day: NaiveDate) -> Option<std::sync::Arc<Portfolio>> {
        let latest = self
            .latest
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        latest
            .as_ref()
            .filter(|(v, d, _)| *v == version && *d == day)
            .map(|(_, _, p)| p.clone())
    }

    fn put(&self, version: i32, day: NaiveDate, portfolio: Portfolio) {
        *self
            .latest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((version, day, std::sync::Arc::new(portfolio)));
    }
}

/// Where re-scoring the portfolio after a scorecard change is: one at a time per server.
#[derive(Default)]
pub struct Rescoring {
    status: std::sync::Mutex<Option<crate::dto::RescoreStatus>>,
    runner: std::sync::Mutex<Runner>,
}

/// Whether a background re-score runs, and whether settings changed since it read them
/// (then it runs once more).
#[derive(Default)]
struct Runner {
    running: bool,
    again: bool,
}

impl Rescoring {
    pub fn status(&self) -> Option<crate::dto::RescoreStatus> {
        *self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, f: impl FnOnce(&mut crate::dto::RescoreStatus)) {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = status.as_mut() {
            f(s);
        }
    }

    fn runner(&self) -> std::sync::MutexGuard<'_, Runner> {
        self.runner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A re-score is wanted: `true` when the caller is to run it, `false` when the one
    /// running will run once more.
    fn request(&self) -> bool {
        let mut r = self.runner();
        if r.running {
            r.again = true;
            false
        } else {
            r.running = true;
            true
        }
    }

    /// The running re-score ended: `true` when it is to run once more.
    fn run_again(&self) -> bool {
        let mut r = self.runner();
        r.running = r.again;
        std::mem::take(&mut r.again)
    }

    fn start(&self, version: i32) {
        *self
            .status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(crate::dto::RescoreStatus {
            version,
            done: 0,
            total: 0,
            finished: false,
            failed: false,
        });
    }
}

/// Re-scores the whole portfolio now with the scorecard in force, reporting progress
/// chunk by chunk to `progress`.
///
/// # Errors
/// Database errors.
pub async fn rescore_portfolio(
    db: &(impl ConnectionTrait + TransactionTrait),
    cache: &PortfolioCache,
    progress: &Rescoring,
    now: DateTime<Utc>,
) -> Result<Scored, AppError> {
    let ActiveScorecard { version, card } = active_scorecard(db).await?;
    progress.start(version);
    let outcome = async {
        let facts = gather_facts(db, &card, None, now, now).await?;
        let portfolio = Portfolio::from_facts(&card, facts.values());
        let mut scores: Vec<CustomerScore> = facts
            .iter()
            .map(|(id, f)| (*id, health::score(&card, f, &portfolio), f.mrr_minor))
            .collect();
        scores.sort_unstable_by_key(|(id, _, _)| *id);
        progress.set(|s| s.total = scores.len() as u64);
        // Two statements' worth per step: write_scores writes them side by side.
        for chunk in scores.chunks(2 * CHUNK) {
            write_scores(db, version, now.date_naive(), chunk, true, now).await?;
            progress.set(|s| s.done += chunk.len() as u64);
        }
        predict(db, None, &card, &facts, &scores, now).await?;
        cache.put(version, now.date_naive(), portfolio);
        Ok::<_, AppError>(Scored {
            customers: scores.len() as u64,
            version,
        })
    }
    .await;
    progress.set(|s| {
        s.finished = true;
        s.failed = outcome.is_err();
    });
    outcome
}

/// Re-scores the portfolio in the background (after a settings change: scorecard, alert
/// rules, plans); the scorecard editor polls `state.rescoring`.
///
/// One runs at a time: a change saved while one runs makes it run once more when it
/// ends (it may have read the settings before the change), however many were saved.
pub fn rescore_in_background(state: &super::AppState) {
    if !state.rescoring.request() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            let done =
                rescore_portfolio(&state.db, &state.portfolio, &state.rescoring, Utc::now()).await;
            if let Err(e) = done {
                tracing::warn!(error = %e, "re-scoring after a settings change failed");
            }
            if !state.rescoring.run_again() {
                break;
            }
        }
    });
}

/// The scorecard in force with who saved it, for the editor.
///
/// # Errors
/// Database errors.
pub async fn scorecard_for_editor(
    db: &impl ConnectionTrait,
    progress: &Rescoring,
) -> Result<crate::dto::ScorecardDto, AppError> {
    let active = active_scorecard(db).await?;
    let row = scorecard::Entity::find()
        .filter(scorecard::Column::Version.eq(active.version))
        .one(db)
        .await?;
    let saved_by = match row.as_ref().and_then(|r| r.created_by) {
        Some(uid) => super::entities::user::Entity::find_by_id(uid)
            .one(db)
            .await?
            .map(|u| u.name),
        None => None,
    };
    Ok(crate::dto::ScorecardDto {
        version: active.version,
        card: active.card,
        saved_at: row.map(|r| r.created_at),
        saved_by,
        rescore: progress.status(),
    })
}

/// Scores every customer (`ids: None`) or some, as of `as_of`, and writes that day's
/// history row; `as_of` today also sets each customer's current score. Percentile
/// measures rank against the whole portfolio as of that day (from `cache` when it has
/// that day's, else gathered and cached).
///
/// # Errors
/// Database errors (each chunk of rows is one statement: never half a row).
pub async fn score_customers(
    db: &(impl ConnectionTrait + TransactionTrait),
    cache: &PortfolioCache,
    ids: Option<&[i64]>,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Scored, AppError> {
    let scoring = compute_scores(db, cache, ids, as_of, now).await?;
    store_scores(db, &scoring, now).await
}

/// Scores computed but not yet written: everything [`store_scores`] needs.
struct Scoring {
    ids: Option<Vec<i64>>,
    version: i32,
    card: Scorecard,
    day: NaiveDate,
    facts: std::collections::HashMap<i64, vcsm::health::Facts>,
    scores: Vec<CustomerScore>,
}

/// The reading half of [`score_customers`]: facts, portfolio and scores, with no write,
/// so it can run outside the transaction that stores them (on SQLite, without holding
/// the write lock that ingestion needs).
async fn compute_scores(
    db: &impl ConnectionTrait,
    cache: &PortfolioCache,
    ids: Option<&[i64]>,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Scoring, AppError> {
    let ActiveScorecard { version, card } = active_scorecard(db).await?;
    let day = as_of.date_naive();
    let facts = gather_facts(db, &card, ids, as_of, now).await?;
    let portfolio = match (ids, cache.get(version, day)) {
        (None, _) => {
            let p = Portfolio::from_facts(&card, facts.values());
            cache.put(version, day, p.clone());
            std::sync::Arc::new(p)
        }
        (Some(_), Some(p)) => p,
        (Some(_), None) => {
            let needs_portfolio = card
                .measures()
                .any(|(_, m)| matches!(m.normalisation, health::Normalisation::Percentile { .. }));
            let p = if needs_portfolio {
                let all = gather_facts(db, &card, None, as_of, now).await?;
                Portfolio::from_facts(&card, all.values())
            } else {
                Portfolio::default()
            };
            cache.put(version, day, p.clone());
            std::sync::Arc::new(p)
        }
    };
    let mut scores: Vec<CustomerScore> = facts
        .iter()
        .map(|(id, f)| (*id, health::score(&card, f, &portfolio), f.mrr_minor))
        .collect();
    scores.sort_unstable_by_key(|(id, _, _)| *id);
    Ok(Scoring {
        ids: ids.map(<[i64]>::to_vec),
        version,
        card,
        day,
        facts,
        scores,
    })
}

/// The writing half of [`score_customers`]: the day's rows, and for today the current
/// scores, churn predictions, alerts and expansion signals.
async fn store_scores(
    db: &(impl ConnectionTrait + TransactionTrait),
    scoring: &Scoring,
    now: DateTime<Utc>,
) -> Result<Scored, AppError> {
    let Scoring {
        ids,
        version,
        card,
        day,
        facts,
        scores,
    } = scoring;
    let current = *day == now.date_naive();
    let t = std::time::Instant::now();
    write_scores(db, *version, *day, scores, current, now).await?;
    if ids.is_none() {
        tracing::info!(
            customers = scores.len(),
            %day,
            write_ms = t.elapsed().as_millis() as u64,
            "portfolio scores written"
        );
    }
    if current {
        predict(db, ids.as_deref(), card, facts, scores, now).await?;
    }
    Ok(Scored {
        customers: scores.len() as u64,
        version: *version,
    })
}

/// How long after new data a customer is re-scored: more data meanwhile joins the same
/// run instead of starting another.
pub const DEBOUNCE: Duration = Duration::seconds(2);

/// How long a claimed re-score is held by the server that claimed it: if that server
/// dies, another takes the customers up once it passes. Far longer than a run takes.
pub const LEASE: Duration = Duration::minutes(5);

/// Queues customers for re-scoring [`DEBOUNCE`] from `now`. A customer already queued
/// keeps its time; one being re-scored (claimed, see [`score_due`]) is queued again, as
/// that run may have read its data before this.
///
/// # Errors
/// Database errors.
pub async fn request_scores(
    db: &impl ConnectionTrait,
    customer_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // In one order everywhere: two servers queuing overlapping customers take the rows'
    // locks (Postgres) in the same order, so they can't deadlock.
    let mut ids = customer_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let due = now + DEBOUNCE;
    for chunk in ids.chunks(CHUNK) {
        let rows = chunk.iter().map(|id| score_request::ActiveModel {
            customer_id: Set(*id),
            due_at: Set(due),
            requested_at: Set(now),
        });
        // A claimed row's due time is its lease's end, later than any debounce: only
        // those are brought forward.
        score_request::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(score_request::Column::CustomerId)
                    .update_columns([
                        score_request::Column::DueAt,
                        score_request::Column::RequestedAt,
                    ])
                    .action_and_where(sea_orm::ExprTrait::gt(
                        sea_orm::sea_query::Expr::col((
                            score_request::Entity,
                            score_request::Column::DueAt,
                        )),
                        due,
                    ))
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Customers re-scored per claim.
const CLAIM: u64 = 500;

/// Re-scores the customers whose requests are due, in three steps so that no write lock
/// is held while data is read: a short transaction claims them (their requests' due
/// time moves to a lease's end; on Postgres rows another server is claiming are
/// skipped), their scores are computed in a read-only transaction (one snapshot, one
/// query at a time: a run under a flood of data uses one core), and one transaction stores the
/// scores with everything that follows from them and removes the requests — except
/// those re-queued meanwhile (new data arrived during the run), which come due again.
/// If the run fails or the server dies, the requests come back when the lease ends.
///
/// # Errors
/// Database errors.
pub async fn score_due<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    cache: &PortfolioCache,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    // Most seconds nothing is due: look first, without a transaction, so an idle server
    // doesn't take SQLite's write lock every second.
    let due = score_request::Entity::find()
        .filter(score_request::Column::DueAt.lte(now))
        .count(db)
        .await?;
    if due == 0 {
        return Ok(0);
    }
    let claimed = claim_due(db, now).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    // Saves the default scorecard the first time, which the read-only transaction can't.
    active_scorecard(db).await?;
    let read = super::db::begin_read(db).await?;
    let t = std::time::Instant::now();
    let scoring = compute_scores(&read, cache, Some(&claimed), now, now).await?;
    read.commit().await?;
    let read_ms = t.elapsed().as_millis() as u64;
    let t = std::time::Instant::now();
    let txn = super::db::begin_write(db).await?;
    let scored = store_scores(&txn, &scoring, now).await?;
    // Still on this run's lease (due at its end): nothing new came in during the run. A
    // request meanwhile made it due a debounce after it, well before.
    for chunk in claimed.chunks(CHUNK) {
        score_request::Entity::delete_many()
            .filter(score_request::Column::CustomerId.is_in(chunk.iter().copied()))
            .filter(score_request::Column::DueAt.gt(now + LEASE - DEBOUNCE))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    tracing::debug!(
        customers = scored.customers,
        read_ms,
        write_ms = t.elapsed().as_millis() as u64,
        "customers with new data re-scored"
    );
    Ok(scored.customers)
}

/// How long the re-scoring runner rests after a run that took `worked`: at least a
/// second between looks, and nine times the run's length after a long one, so that
/// under a flood of data re-scoring takes at most a tenth of the time and pages and
/// ingestion keep the rest (scores then lag by ten runs' length, not more: each run
/// takes everyone who became due meanwhile). Never more than a minute.
#[must_use]
pub fn rest_after_run(worked: std::time::Duration) -> std::time::Duration {
    const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
    const MOST: std::time::Duration = std::time::Duration::from_secs(60);
    worked.saturating_mul(9).clamp(LOOK_EVERY, MOST)
}

/// Claims up to [`CLAIM`] due requests for a [`LEASE`], oldest first: the first step of
/// [`score_due`], public for tests of a server that dies after it.
///
/// # Errors
/// Database errors.
pub async fn claim_due<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, AppError> {
    let txn = super::db::begin_write(db).await?;
    let backend = txn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE score_requests SET due_at = $1 WHERE customer_id IN (SELECT customer_id \
             FROM score_requests WHERE due_at <= $2 ORDER BY due_at LIMIT $3 \
             FOR UPDATE SKIP LOCKED) RETURNING customer_id"
        }
        _ => {
            "UPDATE score_requests SET due_at = ? WHERE customer_id IN (SELECT customer_id \
             FROM score_requests WHERE due_at <= ? ORDER BY due_at LIMIT ?) \
             RETURNING customer_id"
        }
    };
    let mut claimed: Vec<i64> = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [(now + LEASE).into(), now.into(), (CLAIM as i64).into()],
        ))
        .await?
        .into_iter()
        .map(|row| row.try_get_by_index::<i64>(0))
        .collect::<Result<_, _>>()?;
    txn.commit().await?;
    claimed.sort_unstable();
    Ok(claimed)
}

/// Scores the whole portfolio once a week back over `weeks`, then now: a history to
/// start from for data loaded in bulk (the demo, an import of past usage). Each past
/// score sees only the data before its day.
///
/// # Errors
/// Database errors.
pub async fn score_history(
    db: &(impl ConnectionTrait + TransactionTrait),
    cache: &PortfolioCache,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<Scored, AppError> {
    for k in (1..=weeks).rev() {
        score_customers(db, cache, None, now - Duration::weeks(i64::from(k)), now).await?;
    }
    score_customers(db, cache, None, now, now).await
}

/// Name of the nightly full recompute in `scheduled_runs`.
const NIGHTLY: &str = "health.nightly";

/// The nightly full recompute, once per UTC day across all servers: whoever first
/// claims the day runs it. Returns what it did, or `None` when the day was already
/// claimed.
///
/// # Errors
/// Database errors (the claim is released so another try can run it).
pub async fn nightly(
    db: &(impl ConnectionTrait + TransactionTrait),
    cache: &PortfolioCache,
    now: DateTime<Utc>,
) -> Result<Option<Scored>, AppError> {
    let day = now.date_naive();
    if !super::schedule::claim(db, NIGHTLY, day, now).await? {
        return Ok(None);
    }
    match score_customers(db, cache, None, now, now).await {
        Ok(scored) => {
            super::schedule::finish(db, NIGHTLY, day).await?;
            Ok(Some(scored))
        }
        Err(e) => {
            super::schedule::release(db, NIGHTLY, day).await?;
            Err(e)
        }
    }
}

/// How far from the wanted day (either way) an older score may be to stand in for it.
const MOVE_SLACK_DAYS: i64 = 3;

fn health_of(row: &health_score::Model) -> Option<Health> {
    let score = vcsm::health::HealthScore::try_from(u8::try_from(row.score).ok()?).ok()?;
    Some(Health {
        score,
        level: vcsm::health::Level::parse(&row.level)?,
        groups: serde_json::from_value(row.groups.clone()).ok()?,
        measures: serde_json::from_value(row.measures.clone()).ok()?,
    })
}

/// A customer's current health, its last 90 days, and what moved it over 7 and 30 days;
/// `None` when it has never been scored.
///
/// # Errors
/// `NotFound` for an unknown customer; database errors.
pub async fn customer_health(
    db: &impl ConnectionTrait,
    customer_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<crate::dto::CustomerHealthDto>, AppError> {
    use crate::dto::{CustomerHealthDto, HealthMove, HealthPoint};
    let Some(who) = customer::Entity::find_by_id(customer_id).one(db).await? else {
        return Err(AppError::NotFound(format!(
            "No customer with id {customer_id}."
        )));
    };
    let today = now.date_naive();
    let rows = health_score::Entity::find()
        .filter(health_score::Column::CustomerId.eq(customer_id))
        .filter(health_score::Column::Day.gte(today - Duration::days(HISTORY_DAYS)))
        .filter(health_score::Column::Day.lte(today))
        .order_by_asc(health_score::Column::Day)
        .all(db)
        .await?;
    let Some(latest) = rows.last() else {
        return Ok(None);
    };
    let Some(current) = health_of(latest) else {
        tracing::error!(customer_id, day = %latest.day, "stored health unreadable");
        return Err(AppError::Internal);
    };
    let version = latest.scorecard_version;
    let levels = match scorecard::Entity::find()
        .filter(scorecard::Column::Version.eq(version))
        .one(db)
        .await?
        .and_then(|r| serde_json::from_value::<Scorecard>(r.definition).ok())
    {
        Some(card) => card.levels,
        None => vcsm::health::Levels::default(),
    };
    let moves = [7_u32, 30]
        .into_iter()
        .map(|days| {
            let wanted = latest.day - Duration::days(i64::from(days));
            // The score nearest the wanted day, a few days either way (history may be
            // weekly, or have gaps); the page says which day it is.
            let then_row = rows
                .iter()
                .filter(|r| r.day < latest.day)
                .filter(|r| (r.day - wanted).num_days().abs() <= MOVE_SLACK_DAYS)
                .min_by_key(|r| ((r.day - wanted).num_days().abs(), r.day));
            let then = then_row.and_then(health_of);
            HealthMove {
                days,
                from_day: then_row.map(|r| r.day),
                from: then.as_ref().map(|h| h.score.value()),
                trend: vcsm::health::trend(then.as_ref().map(|h| h.score), current.score),
                groups: then
                    .as_ref()
                    .map(|h| vcsm::health::explain_change(h, &current))
                    .unwrap_or_default(),
            }
        })
        .collect();
    Ok(Some(CustomerHealthDto {
        history: rows
            .iter()
            .map(|r| HealthPoint {
                day: r.day,
                score: u8::try_from(r.score).unwrap_or(0),
            })
            .collect(),
        computed_at: latest.computed_at,
        scorecard_version: version,
        levels,
        moves,
        health: current,
        csm_sentiment: who.csm_sentiment.and_then(|s| u8::try_from(s).ok()),
        now,
    }))
}

/// Sets (1–5) or clears the CSM's own view of a customer, a manual measure, and queues
/// the customer for re-scoring, in one transaction with its audit entry.
///
/// # Errors
/// `Validation` outside 1–5, `NotFound`; database errors.
pub async fn set_csm_sentiment<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    customer_id: i64,
    sentiment: Option<u8>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if sentiment.is_some_and(|s| !(1..=5).contains(&s)) {
        return Err(AppError::validation(
            "sentiment",
            "must be from 1 (very worried) to 5 (very happy)",
        ));
    }
    let Some(m) = customer::Entity::find_by_id(customer_id).one(db).await? else {
        return Err(AppError::NotFound(format!(
            "No customer with id {customer_id}."
        )));
    };
    let txn = super::db::begin_write(db).await?;
    let mut am: customer::ActiveModel = m.into();
    am.csm_sentiment = Set(sentiment.map(i16::from));
    am.updated_at = Set(now);
    sea_orm::ActiveModelTrait::update(am, &txn).await?;
    request_scores(&txn, &[customer_id], now).await?;
    audit::record(
        &txn,
        Some(actor),
        "customer.csm_sentiment",
        "customer",
        Some(customer_id),
        serde_json::json!({ "sentiment": sentiment }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rest_after_run;
    use std::time::Duration;

    #[test]
    fn the_runner_rests_nine_times_a_long_run_between_one_second_and_a_minute() {
        assert_eq!(rest_after_run(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            rest_after_run(Duration::from_millis(100)),
            Duration::from_secs(1)
        );
        assert_eq!(
            rest_after_run(Duration::from_millis(500)),
            Duration::from_millis(4500)
        );
        assert_eq!(
            rest_after_run(Duration::from_secs(3)),
            Duration::from_secs(27)
        );
        assert_eq!(
            rest_after_run(Duration::from_secs(30)),
            Duration::from_secs(60)
        );
        assert_eq!(rest_after_run(Duration::MAX), Duration::from_secs(60));
    }
}
