//! Segment-compatible event ingestion: sources and their write keys, resolving each
//! message to a customer, idempotent storage, and a quarantine for what can't be resolved.
//!
//! A request's messages are written in one transaction: when the caller answers 200 the
//! events are committed, and a message id seen before is acknowledged without a second row.

use base64::Engine;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, Set, TransactionSession, TransactionTrait,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use vcsm::customer::{CustomerDraft, Stage, Tier};
use vcsm::segment::{Kind, Message};

use super::auth::{new_session_token, token_hash};
use super::customers::active_model;
use super::entities::{contact, customer, quarantined_event, source, usage_event};
use crate::error::{unique_as, AppError};

/// A source just created: the write key is shown this once, only its hash is kept.
pub struct CreatedSource {
    pub id: i64,
    pub name: String,
    pub write_key: String,
}

/// Creates a source with a new write key.
///
/// # Errors
/// `Validation` for an empty, long or taken name; database errors.
pub async fn create_source(
    db: &impl ConnectionTrait,
    name: &str,
    can_create_customers: bool,
    now: DateTime<Utc>,
) -> Result<CreatedSource, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::validation("name", "must be 1 to 100 characters"));
    }
    let write_key = format!("wk_{}", &new_session_token()[..40]);
    let m = source::ActiveModel {
        name: Set(name.to_string()),
        write_key_hash: Set(token_hash(&write_key)),
        key_prefix: Set(write_key[..10].to_string()),
        can_create_customers: Set(can_create_customers),
        created_at: Set(now),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(unique_as("name", "is already used by another source"))?;
    Ok(CreatedSource {
        id: m.id,
        name: m.name,
        write_key,
    })
}

/// The live source whose write key is the user name of an HTTP Basic `Authorization`
/// header (Segment's scheme: `base64(writeKey:)`).
///
/// # Errors
/// Returns the database error.
pub async fn source_for_authorization(
    db: &impl ConnectionTrait,
    header: Option<&str>,
) -> Result<Option<source::Model>, DbErr> {
    let Some(encoded) = header.and_then(|h| {
        h.strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
    }) else {
        return Ok(None);
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return Ok(None);
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return Ok(None);
    };
    let key = text.split(':').next().unwrap_or("");
    if key.is_empty() || key.len() > 200 {
        return Ok(None);
    }
    source::Entity::find()
        .filter(source::Column::WriteKeyHash.eq(token_hash(key)))
        .filter(source::Column::RevokedAt.is_null())
        .one(db)
        .await
}

/// What a request did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Usage events stored.
    pub stored: u64,
    /// Users tied to accounts or updated (`group`, `identify`).
    pub linked: u64,
    /// Messages seen before (same message id), acknowledged and not stored again.
    pub duplicates: u64,
    /// Messages whose customer could not be resolved, kept in the quarantine.
    pub quarantined: u64,
}

/// The id a message is stored under: the sender's `messageId` (namespaced by source), or —
/// when it sent none — a hash of the message, so a retry is still recognised.
fn storage_id(source_id: i64, m: &Message, raw: &Value) -> String {
    let id = match &m.message_id {
        Some(id) => format!("s{source_id}:{id}"),
        None => format!(
            "s{source_id}:h{}",
            hex::encode(Sha256::digest(raw.to_string().as_bytes()))
        ),
    };
    if id.len() > 200 {
        format!(
            "s{source_id}:h{}",
            hex::encode(Sha256::digest(id.as_bytes()))
        )
    } else {
        id
    }
}

async fn seen_before(db: &impl ConnectionTrait, id: &str) -> Result<bool, DbErr> {
    Ok(usage_event::Entity::find()
        .filter(usage_event::Column::MessageId.eq(id))
        .count(db)
        .await?
        > 0
        || quarantined_event::Entity::find()
            .filter(quarantined_event::Column::MessageId.eq(id))
            .count(db)
            .await?
            > 0)
}

async fn customer_by_external_id(
    db: &impl ConnectionTrait,
    external_id: &str,
) -> Result<Option<customer::Model>, DbErr> {
    customer::Entity::find()
        .filter(customer::Column::ExternalId.eq(external_id))
        .one(db)
        .await
}

async fn contact_by_user(
    db: &impl ConnectionTrait,
    user_id: &str,
    customer_id: Option<i64>,
) -> Result<Option<contact::Model>, DbErr> {
    let mut q = contact::Entity::find().filter(contact::Column::ExternalUserId.eq(user_id));
    if let Some(c) = customer_id {
        q = q.filter(contact::Column::CustomerId.eq(c));
    }
    q.one(db).await
}

fn trait_str(m: &Message, key: &str) -> Option<String> {
    m.attributes
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(200).collect())
}

/// Why a message can't be tied to a customer yet, or the customer (and contact) it belongs to.
enum Resolution {
    Customer {
        customer_id: i64,
        contact_id: Option<i64>,
    },
    Unresolved(String),
}

async fn resolve_event(db: &impl ConnectionTrait, m: &Message) -> Result<Resolution, DbErr> {
    if let Some(group) = &m.group_id {
        return Ok(match customer_by_external_id(db, group).await? {
            Some(c) => {
                let contact = match &m.user_id {
                    Some(u) => contact_by_user(db, u, Some(c.id)).await?.map(|k| k.id),
                    None => None,
                };
                Resolution::Customer {
                    customer_id: c.id,
                    contact_id: contact,
                }
            }
            None => Resolution::Unresolved(format!("no customer has external id {group:?}")),
        });
    }
    if let Some(user) = &m.user_id {
        if let Some(k) = contact_by_user(db, user, None).await? {
            return Ok(Resolution::Customer {
                customer_id: k.customer_id,
                contact_id: Some(k.id),
            });
        }
        return Ok(Resolution::Unresolved(format!(
            "user {user:?} belongs to no customer yet: send group() or set context.groupId"
        )));
    }
    Ok(Resolution::Unresolved(
        "anonymous message without context.groupId".into(),
    ))
}

/// A customer created by a `group` call from a source allowed to: named by its traits.
async fn create_customer_for_group(
    db: &impl ConnectionTrait,
    m: &Message,
    group: &str,
    now: DateTime<Utc>,
) -> Result<customer::Model, DbErr> {
    let draft = CustomerDraft {
        name: trait_str(m, "name").unwrap_or_else(|| group.to_string()),
        external_id: Some(group.to_string()),
        domain: trait_str(m, "website").and_then(|w| vcsm::customer::parse_domain(&w).ok()),
        tier: Tier::SmallBusiness,
        stage: Stage::Onboarding,
        churned_on: None,
        plan: None,
        mrr_minor: 0,
        currency: "USD".into(),
        seats: 0,
        contract_start: None,
        renewal_date: None,
        owner_email: None,
        tags: Vec::new(),
    };
    let mut am = active_model(&draft, None, now);
    am.created_at = Set(now);
    am.insert(db).await
}

/// Applies `group`: ties the user to the customer with that external id, creating the
/// customer when the source may.
async fn apply_group(
    db: &impl ConnectionTrait,
    src: &source::Model,
    m: &Message,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let group = m.group_id.clone().unwrap_or_default();
    let customer = match customer_by_external_id(db, &group).await? {
        Some(c) => c,
        None if src.can_create_customers => create_customer_for_group(db, m, &group, now).await?,
        None => {
            let reason = format!(
                "no customer has external id {group:?} and source {:?} may not create customers",
                src.name
            );
            return Ok(Some(reason));
        }
    };
    if let Some(user) = &m.user_id {
        if contact_by_user(db, user, Some(customer.id))
            .await?
            .is_none()
        {
            contact::ActiveModel {
                customer_id: Set(customer.id),
                name: Set(user.chars().take(200).collect()),
                role: Set(vcsm::customer::ContactRole::User.as_str().into()),
                external_user_id: Set(Some(user.clone())),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
    }
    Ok(None)
}

/// Applies `identify`: updates the user's contact from its traits.
async fn apply_identify(
    db: &impl ConnectionTrait,
    m: &Message,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let Some(user) = &m.user_id else {
        return Ok(Some(
            "identify without userId can't be tied to a contact".into(),
        ));
    };
    let contacts = contact::Entity::find()
        .filter(contact::Column::ExternalUserId.eq(user.as_str()))
        .all(db)
        .await?;
    if contacts.is_empty() {
        return Ok(Some(format!(
            "user {user:?} belongs to no customer yet: send group() first"
        )));
    }
    let email = trait_str(m, "email")
        .and_then(|e| vcsm::auth::Email::parse(&e).ok())
        .map(|e| e.to_string());
    for k in contacts {
        let mut am: contact::ActiveModel = k.into();
        if let Some(name) = trait_str(m, "name") {
            am.name = Set(name);
        }
        if let Some(e) = &email {
            am.email = Set(Some(e.clone()));
        }
        if let Some(t) = trait_str(m, "title") {
            am.title = Set(Some(t));
        }
        am.updated_at = Set(now);
        am.update(db).await?;
    }
    Ok(None)
}

async fn quarantine(
    db: &impl ConnectionTrait,
    src: &source::Model,
    id: &str,
    m: &Message,
    raw: &Value,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    quarantined_event::ActiveModel {
        source_id: Set(src.id),
        message_id: Set(id.to_string()),
        kind: Set(m.kind.as_str().into()),
        payload: Set(raw.clone()),
        reason: Set(reason.chars().take(500).collect()),
        received_at: Set(now),
        replayed_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Stores valid messages (with their raw JSON) in one transaction.
///
/// # Errors
/// Database errors: nothing of the request is stored then.
pub async fn ingest<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    src: &source::Model,
    messages: &[(Message, Value)],
    received_at: DateTime<Utc>,
) -> Result<Outcome, AppError> {
    let txn = db.begin().await?;
    let mut out = Outcome::default();
    for (m, raw) in messages {
        let id = storage_id(src.id, m, raw);
        if seen_before(&txn, &id).await? {
            out.duplicates += 1;
            continue;
        }
        let problem = match m.kind {
            Kind::Group => apply_group(&txn, src, m, received_at).await?,
            Kind::Identify => apply_identify(&txn, m, received_at).await?,
            Kind::Track | Kind::Page => match resolve_event(&txn, m).await? {
                Resolution::Unresolved(reason) => Some(reason),
                Resolution::Customer {
                    customer_id,
                    contact_id,
                } => {
                    let (name, properties) = match m.kind {
                        Kind::Page => {
                            let mut p = m.attributes.clone();
                            if let Some(n) = &m.event {
                                p.insert("name".into(), Value::String(n.clone()));
                            }
                            ("Page Viewed".to_string(), p)
                        }
                        _ => (m.event.clone().unwrap_or_default(), m.attributes.clone()),
                    };
                    usage_event::ActiveModel {
                        customer_id: Set(customer_id),
                        contact_id: Set(contact_id),
                        name: Set(name),
                        properties: Set(Value::Object(properties)),
                        occurred_at: Set(m.occurred_at),
                        received_at: Set(received_at),
                        message_id: Set(id.clone()),
                        ..Default::default()
                    }
                    .insert(&txn)
                    .await?;
                    // Last activity only moves forward: a backfill of old events leaves it.
                    customer::Entity::update_many()
                        .col_expr(customer::Column::LastSeenAt, Expr::value(m.occurred_at))
                        .filter(customer::Column::Id.eq(customer_id))
                        .filter(
                            sea_orm::Condition::any()
                                .add(customer::Column::LastSeenAt.is_null())
                                .add(customer::Column::LastSeenAt.lt(m.occurred_at)),
                        )
                        .exec(&txn)
                        .await?;
                    out.stored += 1;
                    continue;
                }
            },
        };
        match problem {
            Some(reason) => {
                quarantine(&txn, src, &id, m, raw, &reason, received_at).await?;
                out.quarantined += 1;
            }
            None => out.linked += 1,
        }
    }
    txn.commit().await?;
    Ok(out)
}
