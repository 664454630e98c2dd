//! The audit log: who did what, when, to what.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};

use super::entities::audit_entry;
use crate::dto::CurrentUser;

/// Records one action. Call it inside the transaction that makes the change, so the
/// change and its record commit together.
///
/// # Errors
/// Returns the database error.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: Option<&CurrentUser>,
    action: &str,
    entity_type: &str,
    entity_id: Option<i64>,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    audit_entry::ActiveModel {
        actor_id: Set(actor.map(|a| a.id)),
        actor_label: Set(actor.map_or_else(|| "system".to_string(), |a| a.email.clone())),
        action: Set(action.to_string()),
        entity_type: Set(entity_type.to_string()),
        entity_id: Set(entity_id),
        detail: Set(detail),
        at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
