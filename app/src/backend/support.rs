//! Support tickets from helpdesks (Zendesk, Intercom) and the tickets API: matched to
//! a customer, scored for sentiment and cancellation intent, upserted by the helpdesk's
//! ticket id. A ticket update older than what we have never overwrites it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::Value;
use vcsm::sources::tickets::{TicketSource, TicketUpdate};

use super::entities::{contact, customer, customer_identity, support_ticket};
use super::webhooks::{self, Disposition};
use crate::error::AppError;

/// Records and applies one ticket update delivered as `event_id` by `source`.
///
/// # Errors
/// Database errors: nothing is kept then, and the sender should retry.
pub async fn receive<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event_id: &str,
    update: &TicketUpdate,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Disposition, AppError> {
    let provider = update.source.as_str();
    let txn = super::db::begin_write(db).await?;
    let Some(delivery) = webhooks::record(&txn, provider, event_id, "ticket", payload, now).await?
    else {
        return Ok(Disposition::Duplicate);
    };
    let outcome = apply(&txn, update).await?;
    webhooks::finish(&txn, delivery, &outcome, now).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Parses a stored delivery again, as its helpdesk sent it.
fn reparse(provider: &str, payload: &Value, received_at: DateTime<Utc>) -> Option<TicketUpdate> {
    let bytes = payload.to_string().into_bytes();
    match TicketSource::parse(provider)? {
        TicketSource::Zendesk => vcsm::sources::tickets::parse_zendesk(&bytes).ok().flatten(),
        TicketSource::Intercom => vcsm::sources::tickets::parse_intercom(&bytes)
            .ok()
            .flatten(),
        TicketSource::Api => vcsm::sources::tickets::parse_generic(payload, received_at).ok(),
    }
}

/// Applies held ticket deliveries again; returns how many now went through.
///
/// # Errors
/// Returns the database error.
pub async fn replay_held<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let txn = super::db::begin_write(db).await?;
    let mut applied = 0;
    for source in [
        TicketSource::Zendesk,
        TicketSource::Intercom,
        TicketSource::Api,
    ] {
        for row in webhooks::held(&txn, source.as_str()).await? {
            let Some(update) = reparse(&row.provider, &row.payload, row.received_at) else {
                continue;
            };
            let outcome = apply(&txn, &update).await?;
            if outcome == Disposition::Applied {
                applied += 1;
            }
            webhooks::finish(&txn, row.id, &outcome, now).await?;
        }
    }
    txn.commit().await?;
    Ok(applied)
}

/// Whom a ticket is about: a customer, or why none matched.
enum Match {
    Customer(i64),
    Unmatched(String),
}

/// The customer a ticket is about: the account the helpdesk names (our external id, or
/// the helpdesk's organization id once linked), else the requester as a known contact
/// (by user id, then e-mail), else the requester's company e-mail domain when exactly one
/// customer has it; else why none was found.
async fn resolve(db: &impl ConnectionTrait, u: &TicketUpdate) -> Result<Match, DbErr> {
    if let Some(org) = &u.organization {
        if let Some(c) = customer::Entity::find()
            .filter(customer::Column::ExternalId.eq(org.as_str()))
            .one(db)
            .await?
        {
            return Ok(Match::Customer(c.id));
        }
        if let Some(i) = customer_identity::Entity::find()
            .filter(customer_identity::Column::Source.eq(u.source.as_str()))
            .filter(customer_identity::Column::ExternalId.eq(org.as_str()))
            .one(db)
            .await?
        {
            return Ok(Match::Customer(i.customer_id));
        }
    }
    if let Some(user) = &u.requester_external_id {
        if let Some(k) = contact::Entity::find()
            .filter(contact::Column::ExternalUserId.eq(user.as_str()))
            .one(db)
            .await?
        {
            return Ok(Match::Customer(k.customer_id));
        }
    }
    if let Some(email) = &u.requester_email {
        let email = email.trim().to_lowercase();
        if let Some(k) = contact::Entity::find()
            .filter(contact::Column::Email.eq(email.as_str()))
            .one(db)
            .await?
        {
            return Ok(Match::Customer(k.customer_id));
        }
        if let Some(domain) = vcsm::customers::company_email_domain(&email) {
            let same = customer::Entity::find()
                .filter(customer::Column::Domain.eq(domain.as_str()))
                .filter(customer::Column::ArchivedAt.is_null())
                .all(db)
                .await?;
            if same.len() == 1 {
                return Ok(Match::Customer(same[0].id));
            }
            if same.len() > 1 {
                return Ok(Match::Unmatched(format!(
                    "{} customers have the domain {domain}; add {email} as a contact of the right one",
                    same.len()
                )));
            }
        }
    }
    Ok(Match::Unmatched(format!(
        "no customer matches (organization: {}, requester: {})",
        u.organization.as_deref().unwrap_or("none"),
        u.requester_email
            .as_deref()
            .or(u.requester_external_id.as_deref())
            .unwrap_or("none")
    )))
}

async fn apply(db: &impl ConnectionTrait, u: &TicketUpdate) -> Result<Disposition, AppError> {
    let customer_id = match resolve(db, u).await? {
        Match::Customer(id) => id,
        Match::Unmatched(reason) => return Ok(Disposition::Held(reason)),
    };
    let existing = support_ticket::Entity::find()
        .filter(support_ticket::Column::Source.eq(u.source.as_str()))
        .filter(support_ticket::Column::ExternalId.eq(u.external_id.as_str()))
        .one(db)
        .await?;
    if let Some(row) = &existing {
        if row.source_updated_at.is_some_and(|at| at > u.updated_at) {
            return Ok(Disposition::Ignored(
                "older than the ticket state we have".into(),
            ));
        }
    }
    let mut am: support_ticket::ActiveModel = match existing {
        Some(row) => row.into(),
        None => support_ticket::ActiveModel {
            source: Set(u.source.as_str().into()),
            external_id: Set(Some(u.external_id.clone())),
            subject: Set(String::new()),
            body: Set(String::new()),
            opened_at: Set(u.created_at),
            cancellation_intent: Set(false),
            tags: Set(String::new()),
            ..Default::default()
        },
    };
    am.customer_id = Set(customer_id);
    // An update that doesn't carry the subject or text (a status change) keeps what we
    // have; the words are scored again whenever either changes.
    let old_subject = existing_value(&am.subject);
    let old_body = existing_value(&am.body);
    let subject = if u.subject.is_empty() {
        old_subject.clone()
    } else {
        u.subject.clone()
    };
    let body = if u.text.is_empty() {
        old_body.clone()
    } else {
        u.text.clone()
    };
    let never_scored = matches!(
        am.sentiment,
        sea_orm::ActiveValue::NotSet | sea_orm::ActiveValue::Unchanged(None)
    );
    if subject != old_subject || body != old_body || never_scored {
        let signals = vcsm::sources::tickets::analyze(&subject, &body);
        am.sentiment = Set(Some(signals.sentiment));
        am.cancellation_intent = Set(signals.cancellation_intent);
        am.intent_phrases = Set(signals.intent_summary());
    }
    am.subject = Set(subject);
    am.body = Set(body);
    am.status = Set(u.status.as_str().into());
    am.priority = Set(u.priority.as_str().into());
    am.solved_at = Set(u.solved_at);
    if let Some(s) = u.satisfaction {
        am.satisfaction = Set(Some(s.as_str().into()));
    }
    if let Some(e) = &u.requester_email {
        am.requester_email = Set(Some(e.chars().take(254).collect()));
    }
    if !u.tags.is_empty() {
        am.tags = Set(u.tags.join(",").chars().take(1000).collect());
    }
    am.source_updated_at = Set(Some(u.updated_at));
    am.updated_at = Set(u.updated_at);
    am.save(db).await?;
    // Tickets are measures of health: re-score, in the same transaction.
    super::score_queue::request(db, &[customer_id], chrono::Utc::now()).await?;
    Ok(Disposition::Applied)
}

/// The value an active model holds for a string column (empty when not set).
fn existing_value(v: &sea_orm::ActiveValue<String>) -> String {
    match v {
        sea_orm::ActiveValue::Set(s) | sea_orm::ActiveValue::Unchanged(s) => s.clone(),
        sea_orm::ActiveValue::NotSet => String::new(),
    }
}
