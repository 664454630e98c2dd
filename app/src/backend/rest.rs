//! Reads behind the token-authenticated REST API (`/api/v1/…`): customers by id or
//! external id, and their events, tickets and billing history, newest first with an
//! id cursor. The shapes are the API's contract and are described in the OpenAPI document.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::entities::{
    billing_event, contact, customer, subscription, support_ticket, usage_event, user,
};

/// Most items one page may hold.
pub const MAX_LIMIT: u64 = 500;

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestSubscription {
    pub external_id: Option<String>,
    pub plan: Option<String>,
    /// Stripe's status: active, trialing, past_due, canceled…
    pub status: String,
    /// month, year, "3 months"…
    pub interval: String,
    pub quantity: i32,
    /// Monthly recurring revenue in minor units (cents).
    pub mrr_minor: i64,
    pub currency: String,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<DateTime<Utc>>,
    /// good, failing or delinquent.
    pub payment_status: String,
    pub failed_attempts: i32,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestContact {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub role: String,
    /// The user id in the customer's product (Segment's `userId`).
    pub external_user_id: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestCustomer {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    /// enterprise, mid_market or small_business.
    pub tier: String,
    /// onboarding, adopting, mature, at_risk or churned.
    pub stage: String,
    pub plan: Option<String>,
    /// Monthly recurring revenue in minor units (cents).
    pub mrr_minor: i64,
    pub currency: String,
    pub seats: i32,
    pub contract_start: Option<NaiveDate>,
    pub renewal_date: Option<NaiveDate>,
    pub owner_email: Option<String>,
    pub tags: Vec<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub contacts: Vec<RestContact>,
    pub subscriptions: Vec<RestSubscription>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestEvent {
    pub id: i64,
    pub name: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    pub contact_id: Option<i64>,
    /// When it happened (the sender's timestamp).
    pub occurred_at: DateTime<Utc>,
    /// When it reached Virtual CSM.
    pub received_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestTicket {
    pub id: i64,
    /// zendesk, intercom, api or demo.
    pub source: String,
    pub external_id: Option<String>,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub requester_email: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub solved_at: Option<DateTime<Utc>>,
    pub satisfaction: Option<String>,
    /// VADER compound score, −1 to 1.
    pub sentiment: Option<f64>,
    pub cancellation_intent: bool,
    /// What made it count as cancellation intent.
    pub intent_phrases: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestBillingEvent {
    pub id: i64,
    /// invoice_paid, payment_failed, refund, subscription_started, subscription_changed,
    /// subscription_canceled…
    pub kind: String,
    pub amount_minor: i64,
    pub currency: String,
    pub description: Option<String>,
    pub external_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// A page of a customer's history, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RestPage<T> {
    pub items: Vec<T>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

fn page<T>(mut items: Vec<T>, limit: u64, id: impl Fn(&T) -> i64) -> RestPage<T> {
    let more = items.len() as u64 > limit;
    items.truncate(limit as usize);
    let next_before = if more { items.last().map(id) } else { None };
    RestPage { items, next_before }
}

/// A customer with its contacts and subscriptions.
///
/// # Errors
/// Returns the database error.
pub async fn customer(
    db: &impl ConnectionTrait,
    by_id: Option<i64>,
    by_external_id: Option<&str>,
) -> Result<Option<RestCustomer>, DbErr> {
    let mut q = customer::Entity::find();
    if let Some(id) = by_id {
        q = q.filter(customer::Column::Id.eq(id));
    }
    if let Some(ext) = by_external_id {
        q = q.filter(customer::Column::ExternalId.eq(ext));
    }
    let Some(c) = q.one(db).await? else {
        return Ok(None);
    };
    let owner_email = match c.owner_id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.email),
        None => None,
    };
    let contacts = contact::Entity::find()
        .filter(contact::Column::CustomerId.eq(c.id))
        .order_by_asc(contact::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|k| RestContact {
            id: k.id,
            name: k.name,
            email: k.email,
            title: k.title,
            role: k.role,
            external_user_id: k.external_user_id,
        })
        .collect();
    let subscriptions = subscription::Entity::find()
        .filter(subscription::Column::CustomerId.eq(c.id))
        .order_by_desc(subscription::Column::StartedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|s| RestSubscription {
            external_id: s.external_id,
            plan: s.plan,
            status: s.status,
            interval: s.billing_interval,
            quantity: s.quantity,
            mrr_minor: s.mrr_minor,
            currency: s.currency,
            current_period_end: s.current_period_end,
            cancel_at_period_end: s.cancel_at_period_end,
            canceled_at: s.canceled_at,
            payment_status: s.payment_status,
            failed_attempts: s.failed_attempts,
        })
        .collect();
    let tags = serde_json::from_value::<Vec<String>>(c.tags.clone()).unwrap_or_default();
    Ok(Some(RestCustomer {
        id: c.id,
        external_id: c.external_id,
        name: c.name,
        domain: c.domain,
        tier: c.tier,
        stage: c.stage,
        plan: c.plan,
        mrr_minor: c.mrr_minor,
        currency: c.currency,
        seats: c.seats,
        contract_start: c.contract_start,
        renewal_date: c.renewal_date,
        owner_email,
        tags,
        last_seen_at: c.last_seen_at,
        archived: c.archived_at.is_some(),
        created_at: c.created_at,
        contacts,
        subscriptions,
    }))
}

/// A customer's usage events, the most recently received first (by id, which is also
/// the cursor; `occurred_at` says when each happened).
///
/// # Errors
/// Returns the database error.
pub async fn events(
    db: &impl ConnectionTrait,
    customer_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<RestPage<RestEvent>, DbErr> {
    let mut q = usage_event::Entity::find().filter(usage_event::Column::CustomerId.eq(customer_id));
    if let Some(b) = before {
        q = q.filter(usage_event::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(usage_event::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(|e| RestEvent {
            id: e.id,
            name: e.name,
            properties: e.properties,
            contact_id: e.contact_id,
            occurred_at: e.occurred_at,
            received_at: e.received_at,
        })
        .collect();
    Ok(page(rows, limit, |e| e.id))
}

/// A customer's tickets, newest first.
///
/// # Errors
/// Returns the database error.
pub async fn tickets(
    db: &impl ConnectionTrait,
    customer_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<RestPage<RestTicket>, DbErr> {
    let mut q =
        support_ticket::Entity::find().filter(support_ticket::Column::CustomerId.eq(customer_id));
    if let Some(b) = before {
        q = q.filter(support_ticket::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(support_ticket::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(|t| RestTicket {
            id: t.id,
            source: t.source,
            external_id: t.external_id,
            subject: t.subject,
            status: t.status,
            priority: t.priority,
            requester_email: t.requester_email,
            opened_at: t.opened_at,
            solved_at: t.solved_at,
            satisfaction: t.satisfaction,
            sentiment: t.sentiment,
            cancellation_intent: t.cancellation_intent,
            intent_phrases: t.intent_phrases,
            updated_at: t.updated_at,
        })
        .collect();
    Ok(page(rows, limit, |t| t.id))
}

/// A customer's billing history, newest first.
///
/// # Errors
/// Returns the database error.
pub async fn billing(
    db: &impl ConnectionTrait,
    customer_id: i64,
    before: Option<i64>,
    limit: u64,
) -> Result<RestPage<RestBillingEvent>, DbErr> {
    let mut q =
        billing_event::Entity::find().filter(billing_event::Column::CustomerId.eq(customer_id));
    if let Some(b) = before {
        q = q.filter(billing_event::Column::Id.lt(b));
    }
    let rows = q
        .order_by_desc(billing_event::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?
        .into_iter()
        .map(|b| RestBillingEvent {
            id: b.id,
            kind: b.kind,
            amount_minor: b.amount_minor,
            currency: b.currency,
            description: b.description,
            external_id: b.external_id,
            occurred_at: b.occurred_at,
        })
        .collect();
    Ok(page(rows, limit, |b| b.id))
}

/// Whether a customer with this id exists.
///
/// # Errors
/// Returns the database error.
pub async fn exists(db: &impl ConnectionTrait, id: i64) -> Result<bool, DbErr> {
    Ok(customer::Entity::find_by_id(id)
        .select_only()
        .column(customer::Column::Id)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .is_some())
}
