//! Outgoing Slack notifications through an incoming-webhook URL (alerts and playbooks
//! use it). The URL is a secret: whoever has it can post to the channel, so it is kept
//! with the integration secrets and never shown again in full.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::json;

use super::meter::{Counts, Meter};
use super::refusals;
use super::upstream::UpstreamError;
use crate::dto::CurrentUser;
use crate::error::AppError;

/// The `integration_settings` row and the channel name on the Integrations page.
pub const SLACK: &str = "slack";

/// Slack as its failures name it.
const SYSTEM: &str = "Slack";

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

/// Posts `text` (Slack mrkdwn) to the channel of the webhook `url`. Every attempt is
/// counted on the Integrations page, and a failure is recorded there with Slack's answer.
///
/// # Errors
/// Slack unreachable, or its refusal (`invalid_payload`, `no_service`,
/// `channel_is_archived`…).
pub async fn post(
    db: &impl ConnectionTrait,
    meter: &Meter,
    client: &reqwest::Client,
    url: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(), UpstreamError> {
    let body = json!({ "text": text });
    let sent = client
        .post(url)
        .timeout(std::time::Duration::from_secs(10))
        .json(&body)
        .send()
        .await;
    let failure = match sent {
        Ok(r) if r.status().is_success() => None,
        Ok(r) => {
            let status = r.status().as_u16();
            let answer = r.bytes().await.unwrap_or_default();
            Some(UpstreamError::answered(SYSTEM, status, &answer))
        }
        Err(e) => Some(UpstreamError::unreachable(SYSTEM, e)),
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
        Some(e) => {
            let sent = body.to_string();
            let problem = e.to_string();
            if let Err(db) = refusals::record(
                db,
                SLACK,
                e.status_or_zero(),
                &problem,
                sent.as_bytes(),
                now,
            )
            .await
            {
                tracing::warn!(error = %db, "recording a Slack failure failed");
            }
            Err(e)
        }
    }
}

/// Sends a test message (from the Integrations page) to the configured channel.
///
/// # Errors
/// `Upstream` when Slack isn't configured or refuses; database errors.
pub async fn send_test(
    db: &impl ConnectionTrait,
    meter: &Meter,
    client: &reqwest::Client,
    admin: &CurrentUser,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let Some(url) = webhook_url(db, now).await? else {
        return Err(AppError::Upstream(
            "Slack is not configured: add an incoming-webhook URL on the Integrations page".into(),
        ));
    };
    let text = format!(
        ":white_check_mark: Virtual CSM is connected to this channel (test sent by {}).",
        admin.email
    );
    Ok(post(db, meter, client, &url, &text, now).await?)
}
