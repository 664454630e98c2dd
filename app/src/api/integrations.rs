//! The Integrations page (admins): sources and keys, counts, refusals, the quarantine.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ctx;
use crate::dto::{IntegrationsDto, ReplayReport, SourceKey};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use vcsm::auth::Role;

#[server(endpoint = "integrations_overview")]
pub async fn integrations_overview() -> Result<IntegrationsDto, AppError> {
    let (state, _) = (ctx::require(Role::can_admin).await)?;
    ctx::freshen(&state).await;
    ctx::respond(
        crate::backend::integrations::overview(&state.db, chrono::Utc::now())
            .await
            .map_err(Into::into),
    )
}

#[server(endpoint = "create_source")]
pub async fn create_source(
    name: String,
    can_create_customers: Option<String>,
) -> Result<SourceKey, AppError> {
    let (state, admin) = (ctx::require(Role::can_admin).await)?;
    // A checkbox: present ("on") when ticked, absent otherwise.
    let can_create = can_create_customers.is_some_and(|v| v != "false");
    let created = crate::backend::ingest::create_source(
        &state.db,
        Some(&admin),
        &name,
        can_create,
        chrono::Utc::now(),
    )
    .await
    .map(|s| SourceKey {
        id: s.id,
        name: s.name,
        write_key: s.write_key,
    });
    ctx::respond(created)
}

#[server(endpoint = "rotate_source_key")]
pub async fn rotate_source_key(id: i64) -> Result<SourceKey, AppError> {
    let (state, admin) = (ctx::require(Role::can_admin).await)?;
    let rotated =
        crate::backend::integrations::rotate_key(&state.db, &admin, id, chrono::Utc::now()).await;
    state.sources.forget_all();
    ctx::respond(rotated)
}

#[server(endpoint = "revoke_source")]
pub async fn revoke_source(id: i64) -> Result<(), AppError> {
    let (state, admin) = (ctx::require(Role::can_admin).await)?;
    let revoked =
        crate::backend::integrations::revoke(&state.db, &admin, id, chrono::Utc::now()).await;
    state.sources.forget_all();
    ctx::respond(revoked)
}

/// Replays one held message (`id`), or all of them.
#[server(endpoint = "replay_quarantine")]
pub async fn replay_quarantine(id: Option<i64>) -> Result<ReplayReport, AppError> {
    let (state, _) = (ctx::require(Role::can_admin).await)?;
    let ids = id.map(|i| vec![i]);
    let replayed =
        crate::backend::ingest::replay_quarantine(&state.db, ids.as_deref(), chrono::Utc::now())
            .await
            .map(|r| {
                state.meter.customers_seen(&r.newest);
                ReplayReport {
                    applied: r.applied,
                    still_held: r.still_held,
                }
            });
    ctx::respond(replayed)
}

/// Sets or replaces an integration's secret (a webhook signing secret, the Slack webhook
/// URL, the HubSpot token). A replaced signing secret keeps verifying for a day.
#[server(endpoint = "set_integration_secret")]
pub async fn set_integration_secret(name: String, secret: String) -> Result<(), AppError> {
    let (state, admin) = (ctx::require(Role::can_admin).await)?;
    let secret = if name == crate::backend::slack::SLACK {
        match crate::backend::slack::check_url(&secret, state.config.allow_private_urls) {
            Ok(url) => url,
            Err(e) => return ctx::respond(Err(e)),
        }
    } else {
        secret
    };
    ctx::respond(
        crate::backend::settings::set_secret(&state.db, &admin, &name, &secret, chrono::Utc::now())
            .await,
    )
}

/// Applies held webhook deliveries (billing and tickets) whose customer can now be found.
#[server(endpoint = "replay_webhooks")]
pub async fn replay_webhooks() -> Result<ReplayReport, AppError> {
    let (state, _) = (ctx::require(Role::can_admin).await)?;
    let now = chrono::Utc::now();
    let result = async {
        let billing = crate::backend::billing::replay_held(&state.db, now).await?;
        let tickets = crate::backend::support::replay_held(&state.db, now).await?;
        let still_held = crate::backend::webhooks::held_total(&state.db).await?;
        Ok(ReplayReport {
            applied: billing + tickets,
            still_held,
        })
    }
    .await;
    ctx::respond(result)
}

/// Sends a test message to the configured Slack channel.
#[server(endpoint = "test_slack")]
pub async fn test_slack() -> Result<(), AppError> {
    let (state, admin) = (ctx::require(Role::can_admin).await)?;
    ctx::respond(
        crate::backend::slack::send_test(
            &state.db,
            &state.meter,
            &state.http,
            &admin,
            chrono::Utc::now(),
        )
        .await,
    )
}

/// Imports companies and contacts from HubSpot now.
#[server(endpoint = "sync_hubspot")]
pub async fn sync_hubspot() -> Result<crate::dto::HubspotReport, AppError> {
    use crate::backend::hubspot;
    let (state, _) = (ctx::require(Role::can_admin).await)?;
    let now = chrono::Utc::now();
    let result = async {
        let token = hubspot::token(&state.db, now).await?.ok_or_else(|| {
            AppError::Upstream("HubSpot is not configured: add a private-app token first".into())
        })?;
        let r = hubspot::sync(
            &state.db,
            &state.http,
            &state.meter,
            &hubspot::api_base(state.config.hubspot_api_base.as_deref()),
            &token,
            now,
        )
        .await?;
        Ok(crate::dto::HubspotReport {
            companies_created: r.companies_created,
            companies_linked: r.companies_linked,
            contacts_created: r.contacts_created,
            contacts_updated: r.contacts_updated,
            skipped: r.skipped,
            skipped_total: r.skipped_total,
        })
    }
    .await;
    ctx::respond(result)
}
