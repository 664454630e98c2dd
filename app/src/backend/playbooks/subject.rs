//! What playbook conditions read about a customer now ([`Subject`]), from its row, its
//! churn prediction, its open alerts and its product events of the last 28 days. The
//! usage segment ranks the customer's events per seat against the portfolio's, read once
//! per batch ([`UsageRanks`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use vcsm::churn::Risk;
use vcsm::health::Level;
use vcsm::playbooks::conditions::{Subject, UsageSegment};

use crate::backend::entities::{alert, churn_prediction, customer, usage_event, user};

/// Days of product events a subject counts.
pub const USAGE_DAYS: i64 = 28;

/// Every live customer's events per seat over the last [`USAGE_DAYS`], sorted: where a
/// customer sits among them is its usage segment.
#[derive(Clone, Debug, Default)]
pub struct UsageRanks {
    per_seat: Vec<f64>,
}

#[derive(FromQueryResult)]
struct CountRow {
    customer_id: i64,
    n: i64,
}

impl UsageRanks {
    /// Reads the portfolio's counts.
    ///
    /// # Errors
    /// Database errors.
    pub async fn load(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Self, DbErr> {
        let counts: BTreeMap<i64, i64> = usage_event::Entity::find()
            .select_only()
            .column(usage_event::Column::CustomerId)
            .column_as(usage_event::Column::Id.count(), "n")
            .filter(usage_event::Column::OccurredAt.gt(now - Duration::days(USAGE_DAYS)))
            .group_by(usage_event::Column::CustomerId)
            .into_model::<CountRow>()
            .all(db)
            .await?
            .into_iter()
            .map(|r| (r.customer_id, r.n))
            .collect();
        let seats: Vec<(i64, i32)> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .column(customer::Column::Seats)
            .filter(customer::Column::ArchivedAt.is_null())
            .filter(customer::Column::ChurnedOn.is_null())
            .into_tuple()
            .all(db)
            .await?;
        let mut per_seat: Vec<f64> = seats
            .into_iter()
            .map(|(id, seats)| per_seat(counts.get(&id).copied().unwrap_or(0), seats))
            .collect();
        per_seat.sort_by(f64::total_cmp);
        Ok(UsageRanks { per_seat })
    }

    /// The segment of a customer with `value` events per seat (none in an empty
    /// portfolio).
    pub fn segment(&self, value: f64) -> Option<UsageSegment> {
        if self.per_seat.is_empty() {
            return None;
        }
        let below = self.per_seat.partition_point(|v| *v < value);
        let equal = self.per_seat[below..].partition_point(|v| *v <= value);
        // Mid-rank percentile: ties share the middle of their run.
        let pct = (below as f64 + equal as f64 / 2.0) / self.per_seat.len() as f64 * 100.0;
        Some(UsageSegment::of_percentile(pct))
    }
}

fn per_seat(events: i64, seats: i32) -> f64 {
    events as f64 / f64::from(seats.max(1))
}

/// The subject for `c` now, ranked against `ranks`.
///
/// # Errors
/// Database errors.
pub async fn load(
    db: &impl ConnectionTrait,
    c: &customer::Model,
    ranks: &UsageRanks,
    now: DateTime<Utc>,
) -> Result<Subject, DbErr> {
    let since = now - Duration::days(USAGE_DAYS);
    let events: Vec<(String, i64)> = usage_event::Entity::find()
        .select_only()
        .column(usage_event::Column::Name)
        .column_as(usage_event::Column::Id.count(), "n")
        .filter(usage_event::Column::CustomerId.eq(c.id))
        .filter(usage_event::Column::OccurredAt.gt(since))
        .group_by(usage_event::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    let total: i64 = events.iter().map(|(_, n)| n).sum();
    let active_users: i64 = usage_event::Entity::find()
        .select_only()
        .column(usage_event::Column::ContactId)
        .filter(usage_event::Column::CustomerId.eq(c.id))
        .filter(usage_event::Column::OccurredAt.gt(since))
        .filter(usage_event::Column::ContactId.is_not_null())
        .distinct()
        .count(db)
        .await? as i64;
    let prediction = churn_prediction::Entity::find_by_id(c.id).one(db).await?;
    let owner = match c.owner_id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.email),
        None => None,
    };
    let open_alerts = alert::Entity::find()
        .filter(alert::Column::CustomerId.eq(c.id))
        .filter(alert::Column::Status.eq("open"))
        .count(db)
        .await? as i64;
    let today = now.date_naive();
    let started = c
        .contract_start
        .unwrap_or_else(|| c.created_at.date_naive());
    let period = c
        .billing_period
        .as_deref()
        .and_then(vcsm::customers::BillingPeriod::parse);
    let renewal = vcsm::customers::next_renewal(
        today,
        c.renewal_date,
        c.contract_start,
        Some(c.created_at.date_naive()),
        period,
    );
    Ok(Subject {
        name: c.name.clone(),
        tier: c.tier.clone(),
        stage: c.stage.clone(),
        plan: c.plan.clone(),
        owner,
        tags: serde_json::from_value(c.tags.clone()).unwrap_or_default(),
        attributes: serde_json::from_value(c.attributes.clone()).unwrap_or_default(),
        health_score: c.health_score.map(i64::from),
        health_level: c.health_level.as_deref().and_then(Level::parse),
        churn_risk: prediction.as_ref().and_then(|p| Risk::parse(&p.risk)),
        churn_probability: prediction.and_then(|p| p.probability),
        usage_segment: ranks.segment(per_seat(total, c.seats)),
        mrr_cents: c.mrr_minor,
        seats: Some(i64::from(c.seats)),
        seat_utilisation: (c.seats > 0).then(|| active_users as f64 / f64::from(c.seats)),
        plan_usage: None,
        days_since_start: Some((today - started).num_days()),
        days_to_renewal: renewal.map(|r| (r - today).num_days()),
        open_alerts,
        events_28d: events.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_rank_against_the_portfolio_with_ties_in_the_middle() {
        let ranks = UsageRanks {
            per_seat: vec![0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        };
        assert_eq!(ranks.segment(8.0), Some(UsageSegment::High));
        assert_eq!(ranks.segment(4.0), Some(UsageSegment::Medium));
        assert_eq!(ranks.segment(0.0), Some(UsageSegment::Low));
        assert_eq!(UsageRanks::default().segment(3.0), None);
    }
}
