//! The pipeline from a customer's data to what follows from it, in one place:
//! facts → health → churn → alerts → expansion. Each step is its module's and returns
//! what it produced; only this module calls one step after another, so no step knows
//! the next (and a playbook trigger has one place to attach: after the steps, from what
//! they returned).
//!
//! Everything that re-scores comes through here: customers with new data (queued in
//! `score_queue`, claimed with a lease), the portfolio after a settings change, the
//! nightly recompute (a job, see `worker`), a history for bulk-loaded data, and retraining the churn model.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use super::churn::{self, TrainingOutcome};
use super::health::{self, PortfolioCache, Scored, Scoring};
use super::{alerts, expansion, score_queue};
use crate::error::AppError;

/// What the steps after health produced for the customers just scored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Consequences {
    /// Each customer's churn probability now.
    pub churn: HashMap<i64, f64>,
    /// Alerts opened.
    pub alerts_opened: u64,
    /// Expansion signals opened.
    pub signals_opened: u64,
}

/// The steps after health: churn predictions, then alerts (which read them), then
/// expansion signals, for the customers `scoring` scored today.
async fn follow_scores<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    scoring: &Scoring,
    now: DateTime<Utc>,
) -> Result<Consequences, DbErr> {
    let scope = scoring.ids.as_deref();
    let health = scoring.health();
    let facts = &scoring.facts;
    let t = std::time::Instant::now();
    let churn = churn::predict_and_store(db, scope, &scoring.card, facts, &health, now).await?;
    let churn_ms = t.elapsed().as_millis() as u64;
    let t = std::time::Instant::now();
    let alerts_opened = alerts::evaluate(db, scope, facts, &health, &churn, now).await?;
    let alerts_ms = t.elapsed().as_millis() as u64;
    let t = std::time::Instant::now();
    let signals_opened =
        expansion::evaluate(db, scope, facts, &health, scoring.card.window_days, now).await?;
    if scope.is_none() {
        tracing::info!(
            customers = scoring.scores.len(),
            churn_ms,
            alerts_ms,
            expansion_ms = t.elapsed().as_millis() as u64,
            "portfolio predictions, alerts and expansion signals"
        );
    }
    Ok(Consequences {
        churn,
        alerts_opened,
        signals_opened,
    })
}

/// Stores what `scoring` computed and, when it scored today, runs the steps after
/// health on it. `progress` hears how many scores were written as they are.
async fn store_and_follow<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    scoring: &Scoring,
    now: DateTime<Utc>,
    progress: impl Fn(u64),
) -> Result<(Scored, Consequences), AppError> {
    let scored = health::store(db, scoring, now, progress).await?;
    let consequences = if scoring.day == now.date_naive() {
        follow_scores(db, scoring, now).await?
    } else {
        Consequences::default()
    };
    Ok((scored, consequences))
}

/// Scores every customer (`ids: None`) or some, as of `as_of`, and writes that day's
/// history row; as of today also each customer's current score, churn prediction,
/// alerts and expansion signals.
///
/// # Errors
/// Database errors (each chunk of rows is one statement: never half a row).
pub async fn score_customers<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    cache: &PortfolioCache,
    ids: Option<&[i64]>,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Scored, AppError> {
    let scoring = health::compute(db, cache, ids, as_of, now).await?;
    Ok(store_and_follow(db, &scoring, now, |_| {}).await?.0)
}

/// Re-scores the customers whose requests are due, in three steps so that no write lock
/// is held while data is read: a short transaction claims them (see
/// [`score_queue::claim`]), their scores are computed in a read-only transaction (one
/// snapshot, one query at a time: a run under a flood of data uses one core), and one
/// transaction stores the scores with everything that follows from them and finishes
/// the requests — except those queued again meanwhile (new data arrived during the
/// run), which come due again. If the run fails or the server dies, the requests come
/// back when the lease ends.
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
    if !score_queue::any_due(db, now).await? {
        return Ok(0);
    }
    let claimed = score_queue::claim(db, now).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    // Saves the default scorecard the first time, which the read-only transaction can't.
    health::active_scorecard(db).await?;
    let read = super::db::begin_read(db).await?;
    let t = std::time::Instant::now();
    let scoring = health::compute(&read, cache, Some(&claimed), now, now).await?;
    read.commit().await?;
    let read_ms = t.elapsed().as_millis() as u64;
    let t = std::time::Instant::now();
    let txn = super::db::begin_write(db).await?;
    let (scored, _) = store_and_follow(&txn, &scoring, now, |_| {}).await?;
    score_queue::finish(&txn, &claimed, now).await?;
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

/// Customers per step of a portfolio re-score.
pub const RESCORE_STEP: u64 = 500;

/// One step of re-scoring the whole portfolio now, with the scorecard in force: the next
/// `limit` customers after id `after`, scored and stored with everything that follows
/// from their scores. Returns the last id of the step, how many customers it looked at,
/// and how many of them it scored (archived and churned ones aren't), or `None` when no
/// customer is left. A
/// re-score run step by step resumes from the last step stored if its server dies.
///
/// # Errors
/// Database errors.
pub async fn rescore_step<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    cache: &PortfolioCache,
    after: i64,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<Option<(i64, u64, u64)>, AppError> {
    let ids = super::customers::ids_after(db, after, limit).await?;
    let Some(&last) = ids.last() else {
        return Ok(None);
    };
    let scored = score_customers(db, cache, Some(&ids), now, now).await?;
    Ok(Some((last, ids.len() as u64, scored.customers)))
}

/// Scores the whole portfolio once a week back over `weeks`, then now: a history to
/// start from for data loaded in bulk (the demo, an import of past usage). Each past
/// score sees only the data before its day.
///
/// # Errors
/// Database errors.
pub async fn score_history<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    cache: &PortfolioCache,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<Scored, AppError> {
    for k in (1..=weeks).rev() {
        score_customers(db, cache, None, now - Duration::weeks(i64::from(k)), now).await?;
    }
    score_customers(db, cache, None, now, now).await
}

/// Trains the churn model on the history as of `now` (see [`churn::train`]), then
/// re-predicts every customer with what is now in use (and what follows from it).
///
/// # Errors
/// Database errors (a solver failure is stored as a `failed` run, not an error).
pub async fn retrain<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    cache: &PortfolioCache,
    trigger: &str,
    now: DateTime<Utc>,
) -> Result<TrainingOutcome, AppError> {
    let outcome = churn::train(db, trigger, now).await?;
    score_customers(db, cache, None, now, now).await?;
    Ok(outcome)
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
