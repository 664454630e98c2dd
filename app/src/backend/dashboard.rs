//! The dashboard's queries. The figures themselves are computed by the domain core.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::NullOrdering;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use vcsm::customer::{Stage, Tier};
use vcsm::health::Level;
use vcsm::portfolio::{silent_before, summarize, CustomerFacts};

use super::entities::customer;
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
    let at_risk = customer::Entity::find()
        .filter(scored)
        .filter(customer::Column::HealthLevel.is_in([Level::Poor.as_str(), Level::Fair.as_str()]))
        .order_by(customer::Column::MrrMinor, Order::Desc)
        .order_by(customer::Column::HealthScore, Order::Asc)
        .limit(LIST_LEN)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|m| {
            Some(AtRiskRow {
                id: m.id,
                score: u8::try_from(m.health_score?).ok()?,
                level: Level::parse(m.health_level.as_deref()?)?,
                arr_minor: m.mrr_minor * 12,
                currency: m.currency,
                name: m.name,
            })
        })
        .collect();
    Ok(DashboardDto {
        summary,
        recently_active: recently_active.into_iter().map(activity).collect(),
        recently_silent: recently_silent.into_iter().map(activity).collect(),
        silent_count,
        health_levels,
        unscored,
        at_risk,
        as_of: now,
    })
}
