//! Churn prediction: building the point-in-time training set from the portfolio's own
//! history, training (nightly, on demand, from the CLI), storing each run with its
//! metrics, and predicting every customer whenever its health is scored.
//!
//! The model and its metrics are the domain's `vcsm::churn`; this module reads the
//! history and writes results.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Func, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use vcsm::churn::training::{self, TrainError, TrainOptions};
use vcsm::churn::{
    self, ChurnModel, FeatureSpec, ModelMetrics, Observation, Prediction, Risk, HORIZON_DAYS,
};
use vcsm::health::{Facts, Health, Portfolio, Scorecard};

use super::entities::{churn_model, churn_prediction, customer, usage_event};
use super::facts::gather_behaviour;
use super::health::{active_scorecard, gather_facts, ActiveScorecard};
use crate::dto::{ChurnDto, ChurnModelDto, TrainingRunDto};
use crate::error::AppError;

/// Rows per multi-row statement.
const CHUNK: usize = 500;

/// A training set: observations (each with the health score the customer had then, the
/// baseline the model must beat) over the features of `spec`.
pub struct TrainingSet {
    pub observations: Vec<Observation>,
    pub spec: FeatureSpec,
    /// Per observation, each scorecard measure's normalised value (`None`: no data), in
    /// the scorecard's order: what suggested weights are learned from.
    pub measures: Vec<Vec<Option<f64>>>,
}

/// Event names whose behaviour the model reads unless `VCSM_CHURN_EVENT_TYPES` says
/// otherwise (1 to [`MAX_EVENT_TYPES`]).
pub const DEFAULT_EVENT_TYPES: usize = 10;
/// Most event names a model reads.
pub const MAX_EVENT_TYPES: usize = 30;
/// Events among the most frequent whose pairs are candidate ratios.
const RATIO_EVENTS: usize = 6;
/// An attribute value gets its own indicator when at least this share of customers, and
/// [`MIN_ATTRIBUTE_CUSTOMERS`], have it.
const MIN_ATTRIBUTE_SHARE: f64 = 0.05;
const MIN_ATTRIBUTE_CUSTOMERS: usize = 10;
/// Most attributes, and values per attribute, a model reads.
const MAX_ATTRIBUTES: usize = 5;
const MAX_ATTRIBUTE_VALUES: usize = 6;

/// How many event names the model reads (`VCSM_CHURN_EVENT_TYPES`).
fn event_types() -> usize {
    std::env::var("VCSM_CHURN_EVENT_TYPES")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=MAX_EVENT_TYPES).contains(n))
        .unwrap_or(DEFAULT_EVENT_TYPES)
}

/// What a model could read in this portfolio, chosen from its own data: the most
/// frequent event names, every pair of the first few as candidate ratios (training keeps
/// the related ones), and the attribute values common enough to learn from.
///
/// # Errors
/// Database errors.
pub async fn candidate_spec(
    db: &impl ConnectionTrait,
    window_days: u32,
    event_types: usize,
) -> Result<FeatureSpec, DbErr> {
    use sea_orm::sea_query::Order;
    let count: Expr = Func::count(Expr::col(usage_event::Column::Id)).into();
    let q = Query::select()
        .column(usage_event::Column::Name)
        .expr_as(count.clone(), sea_orm::sea_query::Alias::new("n"))
        .from(usage_event::Entity)
        .group_by_col(usage_event::Column::Name)
        .order_by_expr(count, Order::Desc)
        .order_by(usage_event::Column::Name, Order::Asc)
        .limit(event_types as u64)
        .to_owned();
    let mut events = Vec::new();
    for row in db.query_all(&q).await? {
        events.push(row.try_get_by_index::<String>(0)?);
    }
    let mut ratios = Vec::new();
    let top = events.len().min(RATIO_EVENTS);
    for i in 0..top {
        for j in i + 1..top {
            // The rarer per the more frequent: "errors per report".
            ratios.push((events[j].clone(), events[i].clone()));
        }
    }
    let stored: Vec<serde_json::Value> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Attributes)
        .into_tuple()
        .all(db)
        .await?;
    let customers = stored.len();
    let mut counts: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>> =
        Default::default();
    for a in &stored {
        for (k, v) in a.as_object().into_iter().flatten() {
            if let Some(v) = v.as_str() {
                *counts
                    .entry(k.clone())
                    .or_default()
                    .entry(v.to_string())
                    .or_default() += 1;
            }
        }
    }
    let mut attributes: Vec<(usize, (String, Vec<String>))> = counts
        .into_iter()
        .filter_map(|(name, values)| {
            let with: usize = values.values().sum();
            let mut common: Vec<(usize, String)> = values
                .into_iter()
                .filter(|(_, n)| {
                    *n >= MIN_ATTRIBUTE_CUSTOMERS
                        && *n as f64 >= MIN_ATTRIBUTE_SHARE * customers as f64
                        // Everyone alike says nothing.
                        && (*n as f64) < 0.95 * customers as f64
                })
                .map(|(v, n)| (n, v))
                .collect();
            common.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            common.truncate(MAX_ATTRIBUTE_VALUES);
            (!common.is_empty())
                .then(|| (with, (name, common.into_iter().map(|(_, v)| v).collect())))
        })
        .collect();
    attributes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1 .0.cmp(&b.1 .0)));
    attributes.truncate(MAX_ATTRIBUTES);
    Ok(FeatureSpec {
        window_days,
        events,
        ratios,
        attributes: attributes.into_iter().map(|(_, a)| a).collect(),
    })
}

/// The first day with any product event, if there is one.
async fn first_event_day(db: &impl ConnectionTrait) -> Result<Option<NaiveDate>, DbErr> {
    let q = Query::select()
        .expr(Func::min(Expr::col(usage_event::Column::OccurredAt)))
        .from(usage_event::Entity)
        .to_owned();
    match db.query_one(&q).await? {
        Some(row) => super::facts::aggregate_day(&row, 0, db.get_database_backend()),
        None => Ok(None),
    }
}

/// Whether the customer existed at the moment: it had started, or used the product in
/// the two windows before it.
fn existed(f: &Facts) -> bool {
    f.tenure_days.is_some() || f.current.events > 0 || f.previous.events > 0
}

/// The point-in-time training set: every [`churn::OBSERVATION_STEP_DAYS`] back from
/// `today − horizon`, each customer live then, with features from data before that day
/// only, labelled by whether it churned within the horizon after it.
///
/// # Errors
/// Database errors.
pub async fn training_set(
    db: &impl ConnectionTrait,
    card: &Scorecard,
    spec: &FeatureSpec,
    now: DateTime<Utc>,
) -> Result<TrainingSet, DbErr> {
    let window_days = card.window_days;
    let Some(first) = first_event_day(db).await? else {
        return Ok(TrainingSet {
            observations: Vec::new(),
            spec: spec.clone(),
            measures: Vec::new(),
        });
    };
    let defs = spec.features();
    let churned_on: HashMap<i64, Option<NaiveDate>> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::ChurnedOn)
        .into_tuple::<(i64, Option<NaiveDate>)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let warmup = 2 * i64::from(window_days);
    let mut observations = Vec::new();
    let mut measures = Vec::new();
    for at in churn::observation_dates(first, now.date_naive(), HORIZON_DAYS, warmup) {
        let as_of = at.and_time(chrono::NaiveTime::MIN).and_utc();
        let mut facts = gather_facts(db, card, None, as_of, now).await?;
        let portfolio = Portfolio::from_facts(card, facts.values());
        gather_behaviour(db, None, &spec.events, as_of, window_days, &mut facts).await?;
        let mut ids: Vec<&i64> = facts.keys().collect();
        ids.sort_unstable();
        for id in ids {
            let f = &facts[id];
            if !existed(f) {
                continue;
            }
            let health = vcsm::health::score(card, f, &portfolio);
            measures.push(health.measures.iter().map(|m| m.normalised).collect());
            observations.push(Observation {
                customer_id: *id,
                at,
                x: spec.values_for(&defs, f),
                churned: churn::churned_within(
                    churned_on.get(id).copied().flatten(),
                    at,
                    HORIZON_DAYS,
                ),
                health: Some(f64::from(health.score.value())),
            });
        }
    }
    Ok(TrainingSet {
        observations,
        spec: spec.clone(),
        measures,
    })
}

/// What a training run ended with.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingOutcome {
    pub id: i64,
    pub status: String,
    pub detail: Option<String>,
    pub observations: u64,
    pub customers: u64,
    pub churned: u64,
    pub metrics: Option<ModelMetrics>,
    pub duration: std::time::Duration,
}

/// Trains on the history as of `now` and stores the run (trained, fallback or failed).
/// Predictions follow the new model when customers are next scored: the pipeline's
/// `retrain` re-scores everyone at once.
///
/// # Errors
/// Database errors (a solver failure is stored as a `failed` run, not an error).
pub async fn train(
    db: &impl ConnectionTrait,
    trigger: &str,
    now: DateTime<Utc>,
) -> Result<TrainingOutcome, AppError> {
    let started = std::time::Instant::now();
    let ActiveScorecard { card, version } = active_scorecard(db).await?;
    let spec = candidate_spec(db, card.window_days, event_types()).await?;
    let set = training_set(db, &card, &spec, now).await?;
    let labels: Vec<bool> = set.observations.iter().map(|o| o.churned).collect();
    let customers = set
        .observations
        .iter()
        .map(|o| o.customer_id)
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;
    let churned = training::churned_customers(&set.observations) as u64;
    let gathered = started.elapsed();

    // Fitting is CPU work: keep it off the async workers.
    let fitted = tokio::task::spawn_blocking(move || {
        let mut trained = training::train(&set.observations, &set.spec, &TrainOptions::default());
        if let Ok(t) = &mut trained {
            let rows: Vec<(Vec<Option<f64>>, bool)> = set
                .measures
                .into_iter()
                .zip(&set.observations)
                .map(|(m, o)| (m, o.churned))
                .collect();
            t.metrics.suggested_weights =
                Some(vcsm::churn::suggest::suggest_weights(&card, version, &rows));
        }
        trained
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "churn training task failed");
        AppError::Internal
    })?;

    let (status, detail, model, metrics) = match fitted {
        Ok(t) => ("trained", None, Some(t.model), Some(t.metrics)),
        Err(e @ TrainError::TooFewChurned { .. }) => (
            "fallback",
            Some(format!("{e}: risk follows the health score until then")),
            None,
            None,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "churn training failed");
            ("failed", Some(e.to_string()), None, None)
        }
    };
    let duration = started.elapsed();
    tracing::info!(
        status,
        observations = labels.len(),
        gather_ms = gathered.as_millis() as u64,
        fit_ms = (duration - gathered).as_millis() as u64,
        "churn model trained"
    );
    let row = churn_model::ActiveModel {
        trained_at: Set(now),
        status: Set(status.into()),
        detail: Set(detail.clone()),
        trigger: Set(trigger.chars().take(20).collect()),
        horizon_days: Set(HORIZON_DAYS as i32),
        observations: Set(labels.len() as i64),
        customers: Set(customers as i64),
        churned: Set(churned as i64),
        model: Set(model.map(|m| serde_json::to_value(m).unwrap_or_default())),
        metrics: Set(metrics
            .as_ref()
            .map(|m| serde_json::to_value(m).unwrap_or_default())),
        duration_ms: Set(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)),
        ..Default::default()
    };
    let id = churn_model::Entity::insert(row)
        .exec(db)
        .await?
        .last_insert_id;
    Ok(TrainingOutcome {
        id,
        status: status.into(),
        detail,
        observations: labels.len() as u64,
        customers,
        churned,
        metrics,
        duration,
    })
}

/// The model in use: the newest run that trained one, unless a newer run fell back
/// (the history no longer supports a model). `None`: predict from health.
///
/// # Errors
/// Database errors.
pub async fn model_in_use(
    db: &impl ConnectionTrait,
) -> Result<Option<(churn_model::Model, ChurnModel)>, DbErr> {
    let latest = churn_model::Entity::find()
        .filter(churn_model::Column::Status.is_in(["trained", "fallback"]))
        .order_by_desc(churn_model::Column::Id)
        .one(db)
        .await?;
    Ok(latest.and_then(|row| {
        let model: ChurnModel = serde_json::from_value(row.model.clone()?).ok()?;
        model.is_compatible().then_some((row, model))
    }))
}

/// Risk without a model: from the health level, with the weakest measures as factors.
fn from_health(health: &Health) -> Prediction {
    let mut weakest: Vec<&vcsm::health::MeasureScore> = health
        .measures
        .iter()
        .filter(|m| m.normalised.is_some_and(|n| n < 50.0) && m.share > 0.0)
        .collect();
    weakest.sort_by(|a, b| {
        let lost = |m: &vcsm::health::MeasureScore| m.share * 100.0 - m.points;
        lost(b).total_cmp(&lost(a))
    });
    Prediction {
        probability: f64::NAN,
        risk: Risk::from_health(health.level),
        factors: weakest
            .into_iter()
            .take(churn::TOP_FACTORS)
            .map(|m| churn::Factor {
                feature: m.id.clone(),
                text: format!(
                    "{}: {} (scores {:.0} of 100)",
                    m.label,
                    m.raw
                        .map(|v| vcsm::health::format_value(v, &m.unit))
                        .unwrap_or_default(),
                    m.normalised.unwrap_or(0.0)
                ),
                impact: (m.share * 100.0 - m.points) / 100.0,
            })
            .collect(),
    }
}

/// Predicts `facts`' customers (already scored: `health`) and stores the predictions;
/// `scope` is the customers asked for (`None`: everyone), whose departed ones lose theirs.
/// Facts gathered over another window than the model's are gathered again over its.
///
/// # Errors
/// Database errors.
pub async fn predict_and_store(
    db: &impl ConnectionTrait,
    scope: Option<&[i64]>,
    card: &Scorecard,
    facts: &HashMap<i64, Facts>,
    health: &HashMap<i64, &Health>,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, f64>, DbErr> {
    let in_use = model_in_use(db).await?;
    let regathered;
    let facts = match &in_use {
        Some((_, m)) => {
            // The model's window, and what it reads about each of its events.
            let mut ids: Vec<i64> = facts.keys().copied().collect();
            ids.sort_unstable();
            let window_days = m.window_days();
            let mut gathered = if window_days == card.window_days {
                facts.clone()
            } else {
                let card = Scorecard {
                    window_days,
                    ..card.clone()
                };
                gather_facts(db, &card, Some(&ids), now, now).await?
            };
            let scope = (gathered.len() < 5_000).then_some(ids.as_slice());
            gather_behaviour(db, scope, &m.spec.events, now, window_days, &mut gathered).await?;
            regathered = gathered;
            &regathered
        }
        None => facts,
    };
    let mut rows = Vec::with_capacity(facts.len());
    let mut probabilities = HashMap::with_capacity(facts.len());
    for (id, f) in facts {
        let (model_id, p) = match &in_use {
            Some((row, model)) => (Some(row.id), model.predict(f)),
            None => match health.get(id) {
                Some(h) => (None, from_health(h)),
                None => continue,
            },
        };
        if p.probability.is_finite() {
            probabilities.insert(*id, p.probability);
        }
        rows.push(churn_prediction::ActiveModel {
            customer_id: Set(*id),
            model_id: Set(model_id),
            probability: Set(p.probability.is_finite().then_some(p.probability)),
            risk: Set(p.risk.as_str().into()),
            factors: Set(serde_json::to_value(&p.factors).unwrap_or_default()),
            computed_at: Set(now),
        });
    }
    rows.sort_unstable_by_key(|r| *r.customer_id.as_ref());
    use churn_prediction::Column as P;
    for chunk in rows.chunks(CHUNK) {
        churn_prediction::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(P::CustomerId)
                    .update_columns([
                        P::ModelId,
                        P::Probability,
                        P::Risk,
                        P::Factors,
                        P::ComputedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    forget_departed(db, scope, now).await?;
    Ok(probabilities)
}

/// Drops the predictions of customers that churned or were archived (among `scope`, or
/// all): they are no longer at risk, and a stale figure would mislead.
async fn forget_departed(
    db: &impl ConnectionTrait,
    scope: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::ExprTrait;
    let mut departed = Query::select()
        .column(customer::Column::Id)
        .from(customer::Entity)
        .cond_where(
            sea_orm::Condition::any()
                .add(Expr::col(customer::Column::ChurnedOn).lte(now.date_naive()))
                .add(Expr::col(customer::Column::ArchivedAt).lte(now)),
        )
        .to_owned();
    if let Some(ids) = scope {
        departed.and_where(Expr::col(customer::Column::Id).is_in(ids.iter().copied()));
    }
    churn_prediction::Entity::delete_many()
        .filter(churn_prediction::Column::CustomerId.in_subquery(departed))
        .exec(db)
        .await?;
    Ok(())
}

/// A customer's churn risk now; `None` before its first prediction.
///
/// # Errors
/// Database errors.
pub async fn customer_churn(
    db: &impl ConnectionTrait,
    customer_id: i64,
) -> Result<Option<ChurnDto>, AppError> {
    let Some(p) = churn_prediction::Entity::find_by_id(customer_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let model = match p.model_id {
        Some(id) => churn_model::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    Ok(Some(ChurnDto {
        probability: p.probability,
        risk: Risk::parse(&p.risk).unwrap_or(Risk::Low),
        factors: serde_json::from_value(p.factors).unwrap_or_default(),
        computed_at: p.computed_at,
        model_trained_at: model.map(|m| m.trained_at),
        horizon_days: HORIZON_DAYS,
    }))
}

fn run_dto(row: &churn_model::Model) -> TrainingRunDto {
    let metrics: Option<ModelMetrics> = row
        .metrics
        .clone()
        .and_then(|m| serde_json::from_value(m).ok());
    TrainingRunDto {
        id: row.id,
        trained_at: row.trained_at,
        status: row.status.clone(),
        detail: row.detail.clone(),
        trigger: row.trigger.clone(),
        horizon_days: row.horizon_days,
        observations: row.observations,
        customers: row.customers,
        churned: row.churned,
        duration_ms: row.duration_ms,
        cv_auc: metrics.and_then(|m| m.cv_auc),
    }
}

/// Everything the model page shows.
///
/// # Errors
/// Database errors.
pub async fn model_overview(
    db: &impl ConnectionTrait,
    training: bool,
) -> Result<ChurnModelDto, AppError> {
    let runs = churn_model::Entity::find()
        .order_by_desc(churn_model::Column::Id)
        .limit(10)
        .all(db)
        .await?;
    let in_use = model_in_use(db).await?;
    // High, medium, low: one grouped count.
    let mut risk_counts = [0_u64; 3];
    let counts: Vec<(String, i64)> = churn_prediction::Entity::find()
        .select_only()
        .column(churn_prediction::Column::Risk)
        .column_as(churn_prediction::Column::CustomerId.count(), "n")
        .group_by(churn_prediction::Column::Risk)
        .into_tuple()
        .all(db)
        .await?;
    for (risk, n) in counts {
        let slot = match Risk::parse(&risk) {
            Some(Risk::High) => 0,
            Some(Risk::Medium) => 1,
            Some(Risk::Low) => 2,
            None => continue,
        };
        risk_counts[slot] = u64::try_from(n).unwrap_or(0);
    }
    Ok(ChurnModelDto {
        latest: runs.first().map(run_dto),
        metrics: in_use
            .as_ref()
            .and_then(|(row, _)| row.metrics.clone())
            .and_then(|m| serde_json::from_value(m).ok()),
        in_use: in_use.as_ref().map(|(row, _)| run_dto(row)),
        runs: runs.iter().map(run_dto).collect(),
        risk_counts,
        training,
        min_churned: churn::MIN_CHURNED as u64,
    })
}

/// The scorecard weights the model in use learned, when it was trained with `version` of
/// the scorecard (suggestions for another version would mislead).
///
/// # Errors
/// Database errors.
pub async fn suggested_weights(
    db: &impl ConnectionTrait,
    version: i32,
) -> Result<Option<vcsm::churn::suggest::WeightSuggestion>, DbErr> {
    let Some((row, _)) = model_in_use(db).await? else {
        return Ok(None);
    };
    let metrics: Option<ModelMetrics> = row.metrics.and_then(|m| serde_json::from_value(m).ok());
    Ok(metrics
        .and_then(|m| m.suggested_weights)
        .filter(|s| s.version == version))
}

/// A model younger than this makes the nightly retraining unnecessary.
const FRESH_ENOUGH: Duration = Duration::hours(12);

/// Whether a model was trained (not failed) in the last hours: the nightly retraining
/// is then unnecessary.
///
/// # Errors
/// Database errors.
pub async fn trained_recently(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(churn_model::Entity::find()
        .filter(churn_model::Column::TrainedAt.gt(now - FRESH_ENOUGH))
        .filter(churn_model::Column::Status.ne("failed"))
        .count(db)
        .await?
        > 0)
}
