//! Webhook deliveries (Stripe, Zendesk, Intercom, the tickets API), kept whole: a
//! redelivered event is recognised by its id, and one that can't be matched to a customer
//! yet is held, with its reason, until a replay finds its customer.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use serde_json::Value;

use super::entities::webhook_event;

/// What a delivery did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Disposition {
    /// It changed what we know.
    Applied,
    /// Seen before (same event id): acknowledged, nothing changed.
    Duplicate,
    /// Valid but not used, or older than what we already have; why.
    Ignored(String),
    /// Its customer can't be found yet; kept for replay, with why.
    Held(String),
}

impl Disposition {
    pub fn status(&self) -> &'static str {
        match self {
            Disposition::Applied => "applied",
            Disposition::Duplicate => "duplicate",
            Disposition::Ignored(_) => "ignored",
            Disposition::Held(_) => "held",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            Disposition::Ignored(d) | Disposition::Held(d) => Some(d.chars().take(500).collect()),
            _ => None,
        }
    }
}

/// Records a delivery; `None` when this provider's event id was recorded before.
///
/// # Errors
/// Returns the database error.
pub async fn record(
    db: &impl ConnectionTrait,
    provider: &str,
    event_id: &str,
    kind: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let inserted = webhook_event::Entity::insert(webhook_event::ActiveModel {
        provider: Set(provider.to_string()),
        event_id: Set(event_id.chars().take(200).collect()),
        kind: Set(kind.chars().take(100).collect()),
        payload: Set(payload.clone()),
        received_at: Set(now),
        processed_at: Set(None),
        status: Set("received".into()),
        detail: Set(None),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            webhook_event::Column::Provider,
            webhook_event::Column::EventId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted == 0 {
        return Ok(None);
    }
    let row = webhook_event::Entity::find()
        .filter(webhook_event::Column::Provider.eq(provider))
        .filter(webhook_event::Column::EventId.eq(event_id.chars().take(200).collect::<String>()))
        .one(db)
        .await?;
    Ok(row.map(|r| r.id))
}

/// Stores what a delivery did.
///
/// # Errors
/// Returns the database error.
pub async fn finish(
    db: &impl ConnectionTrait,
    id: i64,
    outcome: &Disposition,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    webhook_event::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id),
        processed_at: Set(Some(now)),
        status: Set(outcome.status().into()),
        detail: Set(outcome.detail()),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// A provider's held deliveries, oldest first.
///
/// # Errors
/// Returns the database error.
pub async fn held(
    db: &impl ConnectionTrait,
    provider: &str,
) -> Result<Vec<webhook_event::Model>, DbErr> {
    webhook_event::Entity::find()
        .filter(webhook_event::Column::Provider.eq(provider))
        .filter(webhook_event::Column::Status.eq("held"))
        .order_by_asc(webhook_event::Column::Id)
        .all(db)
        .await
}

/// How many deliveries of `provider` are held.
///
/// # Errors
/// Returns the database error.
pub async fn held_count(db: &impl ConnectionTrait, provider: &str) -> Result<u64, DbErr> {
    webhook_event::Entity::find()
        .filter(webhook_event::Column::Provider.eq(provider))
        .filter(webhook_event::Column::Status.eq("held"))
        .count(db)
        .await
}

/// How many deliveries are held, all providers together.
///
/// # Errors
/// Returns the database error.
pub async fn held_total(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    webhook_event::Entity::find()
        .filter(webhook_event::Column::Status.eq("held"))
        .count(db)
        .await
}
