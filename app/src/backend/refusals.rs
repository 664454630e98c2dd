//! Requests refused at the edge (webhooks, ingestion) and calls other systems refused
//! (Slack, HubSpot), recorded per channel for the Integrations page: every one counted,
//! only the newest kept, so no unauthenticated client can grow the database. A low
//! module: whatever talks to the outside records here without reaching the page's code.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::entities::integration_error;

/// Longest excerpt of a payload kept or shown.
pub const EXCERPT_CHARS: usize = 600;
/// Refusals older than this are deleted when a new one is recorded.
const ERRORS_KEPT_DAYS: i64 = 14;

/// The first `EXCERPT_CHARS` characters of a payload, as text.
pub fn excerpt(body: &[u8]) -> String {
    let text = storable(&String::from_utf8_lossy(body));
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// `text` with its NUL characters shown as `␀`: what a refused request sent is kept for
/// people to read, and Postgres can't store U+0000.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{2400}")
}

/// Refused requests kept per channel: each channel's newest. Anyone can send refused
/// requests, so what they cost the database must not grow with their number (they are
/// all counted).
pub const ERRORS_KEPT: u64 = 100;

/// Records a refused request: the channel, the answer's status, what was wrong and the
/// start of what was sent.
///
/// # Errors
/// Returns the database error.
pub async fn record(
    db: &impl ConnectionTrait,
    channel: &str,
    status: u16,
    problem: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    integration_error::ActiveModel {
        channel: Set(channel.to_string()),
        occurred_at: Set(now),
        status: Set(i32::from(status)),
        problem: Set(storable(&problem.chars().take(2000).collect::<String>())),
        excerpt: Set(excerpt(body)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // Only the newest ERRORS_KEPT of the channel stay (and none older than the page shows).
    let oldest_kept = integration_error::Entity::find()
        .select_only()
        .column(integration_error::Column::Id)
        .filter(integration_error::Column::Channel.eq(channel))
        .order_by_desc(integration_error::Column::Id)
        .offset(ERRORS_KEPT - 1)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    let mut stale = integration_error::Entity::delete_many()
        .filter(integration_error::Column::Channel.eq(channel));
    stale = match oldest_kept {
        Some(id) => stale.filter(
            sea_orm::Condition::any()
                .add(integration_error::Column::Id.lt(id))
                .add(
                    integration_error::Column::OccurredAt
                        .lt(now - Duration::days(ERRORS_KEPT_DAYS)),
                ),
        ),
        None => stale.filter(
            integration_error::Column::OccurredAt.lt(now - Duration::days(ERRORS_KEPT_DAYS)),
        ),
    };
    stale.exec(db).await?;
    Ok(())
}
