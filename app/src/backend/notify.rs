//! Alert notifications: a durable outbox. When an alert of a rule that notifies opens,
//! rows for the team's Slack channel and the owner's e-mail are written in the same
//! transaction as the alert; a worker beside the HTTP server delivers them, retrying with
//! back-off, and records what happened. A row is never lost: it ends `sent`, `skipped`
//! (the channel is not configured: the reason is kept) or `failed` (after the last retry,
//! with the last error), all listed on the alert rules page.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
};
use vcsm::alerts::Severity;

use super::entities::{alert, notification, user};
use super::mail::Mailer;
use super::meter::Meter;
use super::slack;
use super::upstream::UpstreamError;
use super::{customers, users};
use crate::dto::NotificationRow;

pub const SLACK: &str = "slack";
pub const EMAIL: &str = "email";

pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const SKIPPED: &str = "skipped";
pub const FAILED: &str = "failed";

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 6;

/// The wait before attempt `attempts + 1`: 1, 5, 15, 60, 240 minutes.
pub fn backoff(attempts: i32) -> Duration {
    Duration::minutes(match attempts {
        ..=1 => 1,
        2 => 5,
        3 => 15,
        4 => 60,
        _ => 240,
    })
}

/// How long a claimed delivery is left to its worker before another may take it (a
/// worker that died mid-send: the message may go twice, never zero times).
const LEASE: Duration = Duration::minutes(5);

/// Deliveries per claim.
const CLAIM: i64 = 50;

/// Writes the deliveries for newly opened alerts: Slack when a webhook is configured, and
/// an e-mail to the alert's owner. Call it in the alert's transaction. A repeat writes
/// nothing (unique per alert, channel and recipient).
///
/// # Errors
/// Database errors.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    alerts: &[alert::Model],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if alerts.is_empty() {
        return Ok(0);
    }
    let slack_on = slack::webhook_url(db, now).await?.is_some();
    let owner_ids: Vec<i64> = alerts.iter().filter_map(|a| a.owner_id).collect();
    let emails: HashMap<i64, String> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .filter(user::Column::Id.is_in(owner_ids))
        .filter(user::Column::Active.eq(true))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let row = |alert_id, channel: &str, recipient: String| notification::ActiveModel {
        alert_id: Set(alert_id),
        channel: Set(channel.into()),
        recipient: Set(recipient),
        status: Set(PENDING.into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    };
    let mut rows = Vec::new();
    for a in alerts {
        if slack_on {
            rows.push(row(a.id, SLACK, String::new()));
        }
        if let Some(email) = a.owner_id.and_then(|o| emails.get(&o)) {
            rows.push(row(a.id, EMAIL, email.clone()));
        }
    }
    let written = rows.len() as u64;
    for chunk in rows.chunks(500) {
        notification::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
    }
    Ok(written)
}

/// What a delivery worker needs from the process.
pub struct Channels<'a> {
    pub http: &'a reqwest::Client,
    pub meter: &'a Meter,
    pub mailer: Option<&'a Mailer>,
    /// Where the product is reached, for links (`VCSM_PUBLIC_URL`).
    pub public_url: &'a str,
}

/// Claims the due deliveries (skipping those another server holds on Postgres) and sends
/// them. Returns how many were attempted.
///
/// # Errors
/// Database errors (a delivery's own failure is recorded on its row instead).
pub async fn deliver_due(
    db: &impl ConnectionTrait,
    channels: &Channels<'_>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    // Most seconds nothing is due: look before taking SQLite's write lock.
    let due = notification::Entity::find()
        .filter(notification::Column::Status.eq(PENDING))
        .filter(notification::Column::NextAttemptAt.lte(now))
        .count(db)
        .await?;
    if due == 0 {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = $1 WHERE id IN \
             (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id"
        }
        _ => {
            "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = ? WHERE id IN \
             (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? \
             ORDER BY next_attempt_at, id LIMIT ?) RETURNING id"
        }
    };
    let claimed: Vec<i64> = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [(now + LEASE).into(), now.into(), CLAIM.into()],
        ))
        .await?
        .into_iter()
        .map(|row| row.try_get_by_index::<i64>(0))
        .collect::<Result<_, _>>()?;
    let rows = notification::Entity::find()
        .filter(notification::Column::Id.is_in(claimed))
        .order_by_asc(notification::Column::Id)
        .all(db)
        .await?;
    let alert_ids: Vec<i64> = rows.iter().map(|r| r.alert_id).collect();
    let alerts: HashMap<i64, alert::Model> = alert::Entity::find()
        .filter(alert::Column::Id.is_in(alert_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let names = customers::names_of(db, alerts.values().map(|a| a.customer_id).collect()).await?;
    let owners = users::names_of(db, alerts.values().filter_map(|a| a.owner_id).collect()).await?;

    let attempted = rows.len() as u64;
    for row in rows {
        let Some(a) = alerts.get(&row.alert_id) else {
            continue; // the alert was deleted with its customer: the row went too
        };
        let message = vcsm::alerts::message(
            Severity::parse(&a.severity).unwrap_or(Severity::Medium),
            names.get(&a.customer_id).map_or("", String::as_str),
            &a.title,
            a.owner_id.and_then(|o| owners.get(&o)).map(String::as_str),
            &format!(
                "{}/customers/{}",
                channels.public_url.trim_end_matches('/'),
                a.customer_id
            ),
        );
        let outcome = match row.channel.as_str() {
            SLACK => match slack::webhook_url(db, now).await? {
                None => Outcome::Skipped("Slack is no longer configured".into()),
                Some(url) => {
                    let sent =
                        slack::post(db, channels.meter, channels.http, &url, &message.slack, now)
                            .await;
                    match sent {
                        Ok(()) => Outcome::Sent,
                        Err(e) => Outcome::Failed(e),
                    }
                }
            },
            EMAIL => match channels.mailer {
                None => Outcome::Skipped(
                    "e-mail is not configured (set VCSM_SMTP_URL to send alert e-mails)".into(),
                ),
                Some(mailer) => match mailer
                    .send(&row.recipient, &message.subject, &message.text)
                    .await
                {
                    Ok(()) => Outcome::Sent,
                    Err(e) => Outcome::Failed(e),
                },
            },
            other => Outcome::Skipped(format!("unknown channel {other}")),
        };
        record(db, &row, outcome, now).await?;
    }
    Ok(attempted)
}

enum Outcome {
    Sent,
    Skipped(String),
    Failed(UpstreamError),
}

async fn record(
    db: &impl ConnectionTrait,
    row: &notification::Model,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut am: notification::ActiveModel = row.clone().into();
    match outcome {
        Outcome::Sent => {
            am.status = Set(SENT.into());
            am.sent_at = Set(Some(now));
            am.last_error = Set(None);
        }
        Outcome::Skipped(why) => {
            am.status = Set(SKIPPED.into());
            am.last_error = Set(Some(why));
        }
        Outcome::Failed(why) => {
            tracing::warn!(channel = %row.channel, attempt = row.attempts, error = %why, "alert notification failed");
            if row.attempts >= MAX_ATTEMPTS {
                am.status = Set(FAILED.into());
            } else {
                am.next_attempt_at = Set(now + backoff(row.attempts));
            }
            am.last_error = Set(Some(why.to_string().chars().take(1000).collect()));
        }
    }
    sea_orm::ActiveModelTrait::update(am, db).await?;
    Ok(())
}

/// How many notifications are in `status`.
///
/// # Errors
/// Database errors.
pub async fn count_in(db: &impl ConnectionTrait, status: &str) -> Result<u64, DbErr> {
    notification::Entity::find()
        .filter(notification::Column::Status.eq(status))
        .count(db)
        .await
}

/// Gives every notification that failed its last try a new round of tries, from `now`,
/// when its alert is still open: nobody wants to hear of one resolved meanwhile. Returns
/// how many.
///
/// # Errors
/// Database errors.
pub async fn retry_failed(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(notification::Entity::update_many()
        .col_expr(notification::Column::Status, PENDING.into())
        .col_expr(notification::Column::Attempts, 0.into())
        .col_expr(notification::Column::NextAttemptAt, now.into())
        .filter(notification::Column::Status.eq(FAILED))
        .filter(
            notification::Column::AlertId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(alert::Column::Id)
                    .from(alert::Entity)
                    .and_where(alert::Column::ResolvedAt.is_null())
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?
        .rows_affected)
}

/// The latest deliveries, newest first, with their alert's customer and title.
///
/// # Errors
/// Database errors.
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<NotificationRow>, DbErr> {
    let rows = notification::Entity::find()
        .order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let alert_ids: Vec<i64> = rows.iter().map(|r| r.alert_id).collect();
    let alerts: HashMap<i64, (i64, String)> = alert::Entity::find()
        .select_only()
        .column(alert::Column::Id)
        .column(alert::Column::CustomerId)
        .column(alert::Column::Title)
        .filter(alert::Column::Id.is_in(alert_ids))
        .into_tuple::<(i64, i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, c, t)| (id, (c, t)))
        .collect();
    let names = customers::names_of(db, alerts.values().map(|(c, _)| *c).collect()).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (customer_id, title) = alerts.get(&r.alert_id).cloned().unwrap_or_default();
            NotificationRow {
                id: r.id,
                customer_id,
                customer_name: names.get(&customer_id).cloned().unwrap_or_default(),
                alert_title: title,
                channel: r.channel,
                recipient: r.recipient,
                status: r.status,
                attempts: r.attempts,
                last_error: r.last_error,
                created_at: r.created_at,
                sent_at: r.sent_at,
            }
        })
        .collect())
}
