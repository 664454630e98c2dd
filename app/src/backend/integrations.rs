//! What the Integrations page shows and changes: sources and their keys, today's counts,
//! recent refusals with a payload excerpt, and the quarantine.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;

use super::audit;
use super::auth::token_hash;
use super::entities::{
    integration_error, integration_stat, quarantined_event, source, webhook_event,
};
use super::ingest::new_write_key;
use super::meter::source_channel;
use super::refusals::excerpt;
use crate::dto::{
    ChannelCounts, CurrentUser, HeldMessage, IntegrationDto, IntegrationErrorDto, IntegrationsDto,
    SourceDto, SourceKey,
};
use crate::error::AppError;

/// Messages listed on the page (the total is shown beside them).
const HELD_LISTED: u64 = 100;

fn counts(row: &integration_stat::Model) -> ChannelCounts {
    ChannelCounts {
        received: row.received,
        stored: row.stored,
        duplicates: row.duplicates,
        quarantined: row.quarantined,
        rejected: row.rejected,
    }
}

/// Everything the Integrations page shows, as of `now` (counts are for its UTC day).
///
/// # Errors
/// Returns the database error.
pub async fn overview(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<IntegrationsDto, DbErr> {
    let today: HashMap<String, ChannelCounts> = integration_stat::Entity::find()
        .filter(integration_stat::Column::Day.eq(now.date_naive()))
        .all(db)
        .await?
        .iter()
        .map(|r| (r.channel.clone(), counts(r)))
        .collect();
    let held_by_source: HashMap<i64, i64> = quarantined_event::Entity::find()
        .select_only()
        .column(quarantined_event::Column::SourceId)
        .column_as(quarantined_event::Column::Id.count(), "n")
        .filter(quarantined_event::Column::ReplayedAt.is_null())
        .group_by(quarantined_event::Column::SourceId)
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let all_sources = source::Entity::find()
        .order_by_asc(source::Column::Name)
        .all(db)
        .await?;
    let names: HashMap<i64, String> = all_sources.iter().map(|s| (s.id, s.name.clone())).collect();
    let sources = all_sources
        .into_iter()
        .map(|s| SourceDto {
            today: today
                .get(&source_channel(s.id))
                .copied()
                .unwrap_or_default(),
            held: u64::try_from(held_by_source.get(&s.id).copied().unwrap_or(0)).unwrap_or(0),
            id: s.id,
            name: s.name,
            key_prefix: s.key_prefix,
            can_create_customers: s.can_create_customers,
            created_at: s.created_at,
            revoked_at: s.revoked_at,
            last_event_at: s.last_event_at,
        })
        .collect();
    let pending =
        quarantined_event::Entity::find().filter(quarantined_event::Column::ReplayedAt.is_null());
    let held_total = pending.clone().count(db).await?;
    let held = pending
        .order_by_desc(quarantined_event::Column::ReceivedAt)
        .order_by_desc(quarantined_event::Column::Id)
        .limit(HELD_LISTED)
        .all(db)
        .await?
        .into_iter()
        .map(|q| HeldMessage {
            id: q.id,
            source_name: names.get(&q.source_id).cloned().unwrap_or_default(),
            kind: q.kind,
            reason: q.reason,
            excerpt: excerpt(q.payload.to_string().as_bytes()),
            received_at: q.received_at,
        })
        .collect();
    let errors = integration_error::Entity::find()
        .order_by_desc(integration_error::Column::OccurredAt)
        .order_by_desc(integration_error::Column::Id)
        .limit(50)
        .all(db)
        .await?
        .into_iter()
        .map(|e| IntegrationErrorDto {
            id: e.id,
            channel: channel_label(&e.channel, &names),
            status: e.status,
            problem: e.problem,
            excerpt: e.excerpt,
            occurred_at: e.occurred_at,
        })
        .collect();
    let mut integrations = Vec::new();
    for spec in &INTEGRATIONS {
        integrations.push(integration(db, spec, &today).await?);
    }
    Ok(IntegrationsDto {
        integrations,
        sources,
        held,
        held_total,
        errors,
        as_of: now,
    })
}

/// "Source “Web app”" for `source:3`, the integration's own name otherwise.
fn channel_label(channel: &str, sources: &HashMap<i64, String>) -> String {
    channel
        .strip_prefix("source:")
        .and_then(|id| id.parse::<i64>().ok())
        .and_then(|id| sources.get(&id))
        .map_or_else(|| channel.to_string(), |name| format!("Source “{name}”"))
}

/// Gives a live source a new write key; the old key stops working at once.
///
/// # Errors
/// `NotFound` for an unknown or revoked source; database errors.
pub async fn rotate_key<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    source_id: i64,
    now: DateTime<Utc>,
) -> Result<SourceKey, AppError> {
    let txn = super::db::begin_write(db).await?;
    let src = source::Entity::find_by_id(source_id)
        .filter(source::Column::RevokedAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("No such source.".into()))?;
    let write_key = new_write_key();
    let mut am: source::ActiveModel = src.clone().into();
    am.write_key_hash = Set(token_hash(&write_key));
    am.key_prefix = Set(write_key[..10].to_string());
    am.update(&txn).await?;
    audit::record(
        &txn,
        Some(actor),
        "source.rotate_key",
        "source",
        Some(src.id),
        json!({ "name": src.name }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(SourceKey {
        id: src.id,
        name: src.name,
        write_key,
    })
}

/// Revokes a source's key: its requests get 401 from now on. Its events stay.
///
/// # Errors
/// `NotFound` for an unknown source; database errors.
pub async fn revoke<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &CurrentUser,
    source_id: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = super::db::begin_write(db).await?;
    let src = source::Entity::find_by_id(source_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("No such source.".into()))?;
    if src.revoked_at.is_none() {
        let mut am: source::ActiveModel = src.clone().into();
        am.revoked_at = Set(Some(now));
        am.update(&txn).await?;
        audit::record(
            &txn,
            Some(actor),
            "source.revoke",
            "source",
            Some(src.id),
            json!({ "name": src.name }),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// An integration the page lists: channel name, label, what it is for, its endpoint.
struct Spec {
    name: &'static str,
    label: &'static str,
    purpose: &'static str,
    endpoint: Option<&'static str>,
}

const INTEGRATIONS: [Spec; 6] = [
    Spec {
        name: "stripe",
        label: "Stripe",
        purpose: "Billing: subscriptions, MRR, invoices, failed payments and refunds, from Stripe's webhooks (signed with the endpoint's signing secret).",
        endpoint: Some("/webhooks/stripe"),
    },
    Spec {
        name: "zendesk",
        label: "Zendesk",
        purpose: "Support tickets from a Zendesk webhook (event subscription or trigger), signed with the webhook's signing secret.",
        endpoint: Some("/webhooks/zendesk"),
    },
    Spec {
        name: "intercom",
        label: "Intercom",
        purpose: "Conversations from Intercom's webhooks, signed (X-Hub-Signature) with the app's client secret.",
        endpoint: Some("/webhooks/intercom"),
    },
    Spec {
        name: "tickets",
        label: "Tickets API",
        purpose: "Tickets from any helpdesk as JSON, authenticated with a source's write key.",
        endpoint: Some("/v1/tickets"),
    },
    Spec {
        name: "slack",
        label: "Slack",
        purpose: "Alerts and playbook messages to a channel, through an incoming-webhook URL.",
        endpoint: None,
    },
    Spec {
        name: "hubspot",
        label: "HubSpot",
        purpose: "Companies and contacts imported from HubSpot's CRM with a private-app token, on demand and every 6 hours.",
        endpoint: None,
    },
];

async fn integration(
    db: &impl ConnectionTrait,
    spec: &Spec,
    today: &HashMap<String, ChannelCounts>,
) -> Result<IntegrationDto, DbErr> {
    let env_var = super::settings::SECRETS
        .iter()
        .find(|(n, _)| *n == spec.name)
        .map(|(_, v)| (*v).to_string());
    let (configured, secret_set_at) = if env_var.is_some() {
        super::settings::configured(db, spec.name).await?
    } else {
        // The tickets API needs no secret of its own: a source's write key opens it.
        (true, None)
    };
    let provider = if spec.name == "tickets" {
        "api"
    } else {
        spec.name
    };
    let last_event_at = if spec.name == super::hubspot::HUBSPOT {
        super::hubspot::last_sync(db).await?
    } else {
        webhook_event::Entity::find()
            .select_only()
            .column_as(webhook_event::Column::ReceivedAt.max(), "last")
            .filter(webhook_event::Column::Provider.eq(provider))
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(db)
            .await?
            .flatten()
    };
    Ok(IntegrationDto {
        name: spec.name.into(),
        label: spec.label.into(),
        purpose: spec.purpose.into(),
        configured,
        can_rotate: secret_set_at.is_some(),
        secret_set_at,
        endpoint: spec.endpoint.map(str::to_string),
        env_var,
        last_event_at,
        today: today.get(spec.name).copied().unwrap_or_default(),
        held: super::webhooks::held_count(db, provider).await?,
    })
}
