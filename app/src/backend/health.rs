//! Health scores: the scorecard in force (versioned), the facts of each customer gathered
//! from its data with a few aggregate queries for the whole portfolio, and scoring that
//! writes the day's history row and the customer's current score.
//!
//! The rules (measures, normalisation, weights, levels, explanations) are the domain's
//! `vcsm::health`; this module only reads data and writes results.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, Statement, TransactionSession, TransactionTrait,
};
use vcsm::health::{self, Health, Portfolio, Scorecard, HISTORY_DAYS};

use super::audit;
use super::entities::{customer, health_score, scorecard};
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
pub type CustomerScore = (i64, Health, i64);

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

/// The scorecard in force with who saved it, for the editor.
///
/// # Errors
/// Database errors.
pub async fn scorecard_for_editor(
    db: &impl ConnectionTrait,
    rescore: Option<crate::dto::RescoreStatus>,
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
        rescore,
        suggestion: None,
    })
}

/// Scores computed but not yet written: everything [`store`] needs, and what the
/// pipeline's later steps read (the facts, the scorecard).
pub struct Scoring {
    /// The customers asked for; `None`: the whole portfolio.
    pub ids: Option<Vec<i64>>,
    pub version: i32,
    pub card: Scorecard,
    pub day: NaiveDate,
    pub facts: std::collections::HashMap<i64, vcsm::health::Facts>,
    pub scores: Vec<CustomerScore>,
}

impl Scoring {
    /// Each scored customer's health.
    #[must_use]
    pub fn health(&self) -> std::collections::HashMap<i64, &Health> {
        self.scores.iter().map(|(id, h, _)| (*id, h)).collect()
    }
}

/// Scores every customer (`ids: None`) or some, as of `as_of`, without writing: facts,
/// portfolio and scores, so it can run outside the transaction that stores them (on
/// SQLite, without holding the write lock that ingestion needs). Percentile measures
/// rank against the whole portfolio as of that day (from `cache` when it has that
/// day's, else gathered and cached).
///
/// # Errors
/// Database errors.
pub async fn compute(
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

/// Writes what [`compute`] scored: that day's history row per customer and, for today,
/// each customer's current score; `progress` hears how many were written after each
/// step (two statements' worth).
///
/// # Errors
/// Database errors (each chunk of rows is one statement: never half a row).
pub async fn store(
    db: &impl ConnectionTrait,
    scoring: &Scoring,
    now: DateTime<Utc>,
    progress: impl Fn(u64),
) -> Result<Scored, AppError> {
    let Scoring {
        ids,
        version,
        day,
        scores,
        ..
    } = scoring;
    let current = *day == now.date_naive();
    let t = std::time::Instant::now();
    // Two statements' worth per step: write_scores writes them side by side.
    for chunk in scores.chunks(2 * CHUNK) {
        write_scores(db, *version, *day, chunk, current, now).await?;
        progress(chunk.len() as u64);
    }
    if ids.is_none() {
        tracing::info!(
            customers = scores.len(),
            %day,
            write_ms = t.elapsed().as_millis() as u64,
            "portfolio scores written"
        );
    }
    Ok(Scored {
        customers: scores.len() as u64,
        version: *version,
    })
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
    super::score_queue::request(&txn, &[customer_id], now).await?;
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
