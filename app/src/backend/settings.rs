//! Integration secrets and settings: set on the Integrations page (or from the
//! environment), rotated with an overlap so senders can switch over.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, Set, TransactionSession,
    TransactionTrait,
};
use serde_json::json;

use super::audit;
use super::entities::integration_setting;
use crate::dto::CurrentUser;
use crate::error::AppError;

/// How long the previous secret keeps verifying after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

/// The integrations with a secret (a webhook signing secret, the Slack webhook URL, the
/// HubSpot private-app token), and the environment variable that can provide it instead
/// of the Integrations page.
pub const SECRETS: [(&str, &str); 5] = [
    ("stripe", "STRIPE_WEBHOOK_SECRET"),
    ("zendesk", "ZENDESK_WEBHOOK_SECRET"),
    ("intercom", "INTERCOM_CLIENT_SECRET"),
    ("slack", "SLACK_WEBHOOK_URL"),
    ("hubspot", "HUBSPOT_TOKEN"),
];

fn env_var(name: &str) -> Option<&'static str> {
    SECRETS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// Every secret that verifies `name`'s signatures now: the current one, the previous one
/// within the overlap after a rotation, and the environment's.
///
/// # Errors
/// Returns the database error.
pub async fn secrets(
    db: &impl ConnectionTrait,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let mut out = Vec::new();
    if let Some(row) = integration_setting::Entity::find_by_id(name.to_string())
        .one(db)
        .await?
    {
        out.extend(row.secret);
        let in_overlap = row
            .rotated_at
            .is_some_and(|at| now - at < Duration::hours(ROTATION_OVERLAP_HOURS));
        if in_overlap {
            out.extend(row.previous_secret);
        }
    }
    if let Some(v) = env_var(name).and_then(|v| std::env::var(v).ok()) {
        if !v.trim().is_empty() {
            out.push(v.trim().to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out.dedup();
    Ok(out)
}

/// Sets (or replaces) an integration's signing secret. The one it replaces keeps working
/// for `ROTATION_OVERLAP_HOURS`.
///
/// # Errors
/// `Validation` for an unknown integration or an implausible secret; database errors.
pub async fn set_secret<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    name: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if env_var(name).is_none() {
        return Err(AppError::validation(
            "name",
            "is not an integration with a secret",
        ));
    }
    let secret = secret.trim();
    if secret.len() < 8 || secret.len() > 500 || secret.chars().any(char::is_whitespace) {
        return Err(AppError::validation(
            "secret",
            "must be 8 to 500 characters without spaces, as the provider shows it",
        ));
    }
    let txn = super::db::begin_write(db).await?;
    let existing = integration_setting::Entity::find_by_id(name.to_string())
        .one(&txn)
        .await?;
    match existing {
        Some(row) => {
            let previous = row.secret.clone();
            let mut am: integration_setting::ActiveModel = row.into();
            am.rotated_at = Set(previous.as_ref().map(|_| now));
            am.previous_secret = Set(previous);
            am.secret = Set(Some(secret.to_string()));
            am.updated_at = Set(now);
            am.update(&txn).await?;
        }
        None => {
            integration_setting::ActiveModel {
                name: Set(name.to_string()),
                secret: Set(Some(secret.to_string())),
                previous_secret: Set(None),
                rotated_at: Set(None),
                config: Set(None),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
    }
    // The secret itself never goes into the audit log.
    audit::record(
        &txn,
        Some(actor),
        "integration.set_secret",
        "integration",
        None,
        json!({ "integration": name }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Whether `name` has a secret (from the page or the environment), and when it was set.
///
/// # Errors
/// Returns the database error.
pub async fn configured(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<(bool, Option<DateTime<Utc>>), DbErr> {
    let row = integration_setting::Entity::find_by_id(name.to_string())
        .one(db)
        .await?;
    let from_env = env_var(name)
        .and_then(|v| std::env::var(v).ok())
        .is_some_and(|v| !v.trim().is_empty());
    let set_at = row
        .as_ref()
        .filter(|r| r.secret.is_some())
        .map(|r| r.updated_at);
    Ok((from_env || set_at.is_some(), set_at))
}
