//! Outgoing Slack notifications through an incoming-webhook URL (alerts and playbooks
//! use it). The URL is a secret: whoever has it can post to the channel, so it is kept
//! with the integration secrets and never shown again in full.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::json;

use super::meter::{Counts, Meter};
use super::refusals;
use crate::error::AppError;

/// The `integration_settings` row and the channel name on the Integrations page.
pub const SLACK: &str = "slack";

/// Checks a webhook URL: https to a public host (see `outbound`). Slack's own start with
/// `https://hooks.slack.com/services/`; others (a proxy) are allowed.
///
/// # Errors
/// `Validation` naming what is wrong.
pub fn check_url(raw: &str, allow_private: bool) -> Result<String, AppError> {
    super::outbound::check_url(raw, "secret", allow_private)
}

/// The configured webhook URL, if any (set on the page, or `SLACK_WEBHOOK_URL`).
///
/// # Errors
/// Returns the database error.
pub async fn webhook_url(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    // The current one comes first; a replaced URL is of no use.
    Ok(super::settings::secrets(db, SLACK, now)
        .await?
        .into_iter()
        .next())
}

/// Posts `text` (Slack mrkdwn) to the configured channel. Every attempt is counted on the
/// Integrations page, and a failure is recorded there with Slack's answer.
///
/// # Errors
/// A message for the user: not configured, unreachable, or Slack's refusal
/// (`invalid_payload`, `no_service`, `channel_is_archived`…).
pub async fn notify(
    db: &impl ConnectionTrait,
    meter: &Meter,
    client: &reqwest::Client,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let Some(url) = webhook_url(db, now).await.map_err(|e| e.to_string())? else {
        return Err(
            "Slack is not configured: add an incoming-webhook URL on the Integrations page".into(),
        );
    };
    let body = json!({ "text": text });
    let sent = client
        .post(&url)
        .timeout(std::time::Duration::from_secs(10))
        .json(&body)
        .send()
        .await;
    let failure = match sent {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => {
            let status = r.status().as_u16();
            let answer = r.text().await.unwrap_or_default();
            Some((
                status,
                format!(
                    "Slack answered {status}: {}",
                    answer.chars().take(200).collect::<String>()
                ),
            ))
        }
        Err(e) => Some((0, format!("Slack could not be reached: {e}"))),
    };
    let mut counts = Counts {
        received: 1,
        ..Counts::default()
    };
    match &failure {
        None => counts.stored = 1,
        Some(_) => counts.rejected = 1,
    }
    meter.add(SLACK, now, counts);
    match failure {
        None => Ok(()),
        Some((status, problem)) => {
            let excerpt = body.to_string();
            if let Err(e) =
                refusals::record(db, SLACK, status, &problem, excerpt.as_bytes(), now).await
            {
                tracing::warn!(error = %e, "recording a Slack failure failed");
            }
            Err(problem)
        }
    }
}
