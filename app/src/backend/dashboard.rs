//! The dashboard's queries. The figures themselves are computed by the domain core.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::NullOrdering;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};
use vcsm::alerts::Severity;
use vcsm::churn::Risk;
use vcsm::customers::{Stage, Tier};
use vcsm::health::Level;
use vcsm::portfolio::{silent_before, summarize, CustomerFacts};

use super::entities::{alert, customer};
use crate::dto::{ActivityRow, AtRiskRow, DashboardDto};
use crate::error::AppError;

/// Rows in each of the dashboard's short lists.
const LIST_LEN: u64 = 8;

fn activity(m: customer::Model) -> ActivityRow {
    ActivityRow {
        id: m.id,
        tier: Tier::parse(&m.tier).unwrap_or(Tier::SmallBusiness),
        stage: Stage::parse(&m.stage).unwrap_or(Stage::Active),
        name: m.name,
        mrr_minor: m.mrr_minor,
        currency: m.currency,
        last_seen_at: m.last_seen_at,
    }
}

/// Portfolio size, revenue, customers by stage and tier, recently active and silent.
///
/// # Errors
/// Returns the database error.
pub async fn dashboard(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<DashboardDto, AppError> {
    let live = customer::Column::ArchivedAt.is_null();
    let facts: Vec<(String, String, i64, String)> = customer::Entity::find()
        .select_only()
        .columns([
            customer::Column::Stage,
            customer::Column::Tier,
            customer::Column::MrrMinor,
            customer::Column::Currency,
        ])
        .filter(live.clone())
        .into_tuple()
        .all(db)
        .await?;
    let facts: Vec<CustomerFacts> = facts
        .into_iter()
        .map(|(stage, tier, mrr_minor, currency)| CustomerFacts {
            stage: Stage::parse(&stage).unwrap_or(Stage::Active),
            tier: Tier::parse(&tier).unwrap_or(Tier::SmallBusiness),
            mrr_minor,
            currency,
        })
        .collect();
    let summary = summarize(&facts);

    let not_churned = Condition::all()
        .add(live)
        .add(customer::Column::Stage.ne(Stage::Churned.as_str()));
    let recently_active = customer::Entity::find()
        .filter(not_churned.clone())
        .filter(customer::Column::LastSeenAt.is_not_null())
        .order_by(customer::Column::LastSeenAt, Order::Desc)
        .limit(LIST_LEN)
        .all(db)
        .await?;
    // Silent: no usage for SILENT_AFTER_DAYS, or never; biggest accounts first.
    let silent = not_churned.add(
        Condition::any()
            .add(customer::Column::LastSeenAt.is_null())
            .add(customer::Column::LastSeenAt.lt(silent_before(now))),
    );
    let silent_count = customer::Entity::find()
        .filter(silent.clone())
        .count(db)
        .await?;
    let recently_silent = customer::Entity::find()
        .filter(silent)
        .order_by(customer::Column::MrrMinor, Order::Desc)
        .order_by_with_nulls(
            customer::Column::LastSeenAt,
            Order::Asc,
            NullOrdering::First,
        )
        .limit(LIST_LEN)
        .all(db)
        .await?;
    let scored = Condition::all()
        .add(customer::Column::ArchivedAt.is_null())
        .add(customer::Column::Stage.ne(Stage::Churned.as_str()));
    let levels: Vec<(Option<String>, i64)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::HealthLevel)
        .column_as(customer::Column::Id.count(), "n")
        .filter(scored.clone())
        .group_by(customer::Column::HealthLevel)
        .into_tuple()
        .all(db)
        .await?;
    let mut unscored = 0;
    let mut health_levels: Vec<(Level, u64)> = Level::ALL.iter().map(|l| (*l, 0)).collect();
    for (level, n) in levels {
        let n = u64::try_from(n).unwrap_or(0);
        match level.as_deref().and_then(Level::parse) {
            Some(l) => {
                if let Some(slot) = health_levels.iter_mut().find(|(x, _)| *x == l) {
                    slot.1 += n;
                }
            }
            None => unscored += n,
        }
    }
    let (at_risk, arr_at_risk) = at_risk(db).await?;
    let open_alerts = alert_counts(db, now).await?;
    let pipeline = super::expansion::totals(db).await?;
    Ok(DashboardDto {
        summary,
        recently_active: recently_active.into_iter().map(activity).collect(),
        recently_silent: recently_silent.into_iter().map(activity).collect(),
        silent_count,
        health_levels,
        unscored,
        at_risk,
        arr_at_risk,
        open_alerts,
        pipeline,
        as_of: now,
    })
}

/// The probability standing in for a customer's risk when no model is trained (the risk
/// then follows health): the middle of each band.
const FALLBACK_PROBABILITY: &str =
    "COALESCE(p.probability, CASE p.risk WHEN 'high' THEN 0.5 WHEN 'medium' THEN 0.2 ELSE 0.05 END)";

/// High and medium churn-risk customers, largest ARR at risk (ARR × churn probability)
/// first, and the ARR at risk summed per currency over every live customer.
async fn at_risk(db: &impl ConnectionTrait) -> Result<(Vec<AtRiskRow>, Vec<(String, i64)>), DbErr> {
    let backend = db.get_database_backend();
    let live = "c.archived_at IS NULL AND c.stage <> 'churned'";
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT c.id, c.name, c.health_score, c.health_level, c.mrr_minor, c.currency, \
                 p.risk, {FALLBACK_PROBABILITY} AS probability \
                 FROM customers c JOIN churn_predictions p ON p.customer_id = c.id \
                 WHERE {live} AND p.risk IN ('high', 'medium') \
                 ORDER BY CAST(c.mrr_minor AS DOUBLE PRECISION) * {FALLBACK_PROBABILITY} DESC, c.id LIMIT {LIST_LEN}"
            ),
        ))
        .await?;
    let mut list = Vec::with_capacity(rows.len());
    for r in rows {
        let mrr: i64 = r.try_get_by_index(4)?;
        let probability: f64 = r.try_get_by_index(7)?;
        let level: Option<String> = r.try_get_by_index(3)?;
        let score: Option<i16> = r.try_get_by_index(2)?;
        let risk: String = r.try_get_by_index(6)?;
        list.push(AtRiskRow {
            id: r.try_get_by_index(0)?,
            name: r.try_get_by_index(1)?,
            score: score.and_then(|s| u8::try_from(s).ok()),
            level: level.as_deref().and_then(Level::parse),
            risk: Risk::parse(&risk).unwrap_or(Risk::Medium),
            probability,
            arr_minor: mrr.saturating_mul(12),
            // `as` saturates a float that is out of range.
            arr_at_risk_minor: (mrr as f64 * 12.0 * probability).round() as i64,
            currency: r.try_get_by_index(5)?,
        });
    }
    let sums = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT c.currency, SUM(CAST(c.mrr_minor AS DOUBLE PRECISION) * 12 * {FALLBACK_PROBABILITY}) \
                 FROM customers c JOIN churn_predictions p ON p.customer_id = c.id \
                 WHERE {live} GROUP BY c.currency ORDER BY 2 DESC"
            ),
        ))
        .await?;
    let mut totals = Vec::with_capacity(sums.len());
    for r in sums {
        let sum: Option<f64> = r.try_get_by_index(1)?;
        totals.push((
            r.try_get_by_index::<String>(0)?,
            sum.unwrap_or(0.0).round() as i64,
        ));
    }
    Ok((list, totals))
}

/// Alerts needing someone, per severity (most severe first).
async fn alert_counts(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<(Severity, u64)>, DbErr> {
    let rows: Vec<(String, i64)> = alert::Entity::find()
        .select_only()
        .column(alert::Column::Severity)
        .column_as(alert::Column::Id.count(), "n")
        .filter(super::alerts::Filter::Active.condition(now))
        .group_by(alert::Column::Severity)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: Vec<(Severity, u64)> = rows
        .into_iter()
        .filter_map(|(s, n)| Some((Severity::parse(&s)?, u64::try_from(n).ok()?)))
        .collect();
    out.sort_by_key(|(s, _)| std::cmp::Reverse(*s));
    Ok(out)
}
