//! Stripe webhooks applied to customers: which Stripe customer is which account,
//! subscriptions with MRR normalised to a month, payment health, and billing history.
//!
//! Every delivery is recorded first (its event id makes redelivery harmless), then applied
//! in the same transaction. Stripe does not promise order: each subscription keeps the
//! time of the event that last set it, and an older event never overwrites it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};
use serde_json::Value;
use vcsm::customers::BillingPeriod;
use vcsm::money::format_money;
use vcsm::sources::stripe::{
    account_hint, payment_health, Charge, Customer as StripeCustomer, Event, Invoice,
    PaymentHealth, StripeObject, Subscription, SubscriptionStatus,
};

use super::entities::{billing_event, customer, customer_identity, subscription};
use super::webhooks::{self, Disposition};
use crate::error::AppError;

/// The `customer_identities.source` of Stripe customer ids.
pub const STRIPE: &str = "stripe";

/// Records and applies one verified Stripe event.
///
/// # Errors
/// Database errors: nothing of the event is kept then, and Stripe will redeliver it.
pub async fn receive<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    event: &Event,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Disposition, AppError> {
    let txn = super::db::begin_write(db).await?;
    let Some(delivery) =
        webhooks::record(&txn, STRIPE, &event.id, &event.kind, payload, now).await?
    else {
        return Ok(Disposition::Duplicate);
    };
    let outcome = apply(&txn, event, now).await?;
    webhooks::finish(&txn, delivery, &outcome, now).await?;
    if outcome == Disposition::Applied {
        if let StripeObject::Customer(c) = &event.object {
            // Events that waited for this customer to be matched can go through now.
            replay_for(&txn, Some(&c.id), now).await?;
        }
    }
    txn.commit().await?;
    Ok(outcome)
}

/// Applies the held Stripe events again (all, or those about one Stripe customer).
/// Returns how many were applied.
///
/// # Errors
/// Returns the database error.
pub async fn replay_held<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let txn = super::db::begin_write(db).await?;
    let applied = replay_for(&txn, None, now).await?;
    txn.commit().await?;
    Ok(applied)
}

async fn replay_for(
    db: &impl ConnectionTrait,
    stripe_customer: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let mut applied = 0;
    for row in webhooks::held(db, STRIPE).await? {
        let Ok(event) = vcsm::sources::stripe::parse_event_value(&row.payload) else {
            continue;
        };
        if stripe_customer.is_some_and(|id| stripe_customer_of(&event.object) != Some(id)) {
            continue;
        }
        let outcome = Box::pin(apply(db, &event, now)).await?;
        if outcome == Disposition::Applied {
            applied += 1;
        }
        webhooks::finish(db, row.id, &outcome, now).await?;
    }
    Ok(applied)
}

fn stripe_customer_of(object: &StripeObject) -> Option<&str> {
    match object {
        StripeObject::Customer(c) => Some(&c.id),
        StripeObject::Subscription(s) => Some(&s.customer),
        StripeObject::Invoice(i) => Some(&i.customer),
        StripeObject::Charge(c) => c.customer.as_deref(),
        StripeObject::Other { .. } => None,
    }
}

async fn apply(
    db: &impl ConnectionTrait,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<Disposition, AppError> {
    if !event.is_handled() {
        return Ok(Disposition::Ignored(format!(
            "{} is not an event Virtual CSM uses",
            event.kind
        )));
    }
    let stripe_id = match stripe_customer_of(&event.object) {
        Some(id) => id.to_string(),
        None => {
            return Ok(Disposition::Ignored(
                "the event names no Stripe customer".into(),
            ))
        }
    };
    if let StripeObject::Customer(c) = &event.object {
        return link_customer(db, c, now).await;
    }
    let Some(customer_id) = linked_customer(db, &stripe_id).await? else {
        return Ok(Disposition::Held(format!(
            "Stripe customer {stripe_id} is not matched to a customer yet: give it metadata \
             vcsm_external_id, or an e-mail at the customer's domain"
        )));
    };
    let done = match &event.object {
        StripeObject::Subscription(s) => apply_subscription(db, customer_id, event, s, now).await,
        StripeObject::Invoice(i) => apply_invoice(db, customer_id, event, i, now).await,
        StripeObject::Charge(c) => apply_refund(db, customer_id, event, c, now).await,
        StripeObject::Customer(_) | StripeObject::Other { .. } => {
            Ok(Disposition::Ignored("nothing to apply".into()))
        }
    }?;
    if done == Disposition::Applied {
        // Payment and MRR are measures of health: re-score, in the same transaction.
        super::score_queue::request(db, &[customer_id], now).await?;
    }
    Ok(done)
}

async fn linked_customer(db: &impl ConnectionTrait, stripe_id: &str) -> Result<Option<i64>, DbErr> {
    Ok(customer_identity::Entity::find()
        .filter(customer_identity::Column::Source.eq(STRIPE))
        .filter(customer_identity::Column::ExternalId.eq(stripe_id))
        .one(db)
        .await?
        .map(|i| i.customer_id))
}

/// Matches a Stripe customer to an account: by our id or the account's external id in its
/// metadata, else by its e-mail's domain when exactly one customer has that domain.
async fn link_customer(
    db: &impl ConnectionTrait,
    c: &StripeCustomer,
    now: DateTime<Utc>,
) -> Result<Disposition, AppError> {
    if c.deleted {
        return Ok(Disposition::Ignored(format!(
            "Stripe customer {} was deleted; its history stays",
            c.id
        )));
    }
    if linked_customer(db, &c.id).await?.is_some() {
        return Ok(Disposition::Applied);
    }
    let hint = account_hint(c);
    let mut found = None;
    if let (Some(value), Some(key)) = (&hint.customer_id_metadata, &hint.metadata_key) {
        let q = customer::Entity::find();
        let q = match (key.as_str(), value.parse::<i64>()) {
            ("vcsm_customer_id", Ok(id)) => q.filter(customer::Column::Id.eq(id)),
            _ => q.filter(customer::Column::ExternalId.eq(value.as_str())),
        };
        found = q.one(db).await?.map(|m| m.id);
    }
    if found.is_none() {
        if let Some(domain) = &hint.email_domain {
            let same_domain = customer::Entity::find()
                .filter(customer::Column::Domain.eq(domain.as_str()))
                .filter(customer::Column::ArchivedAt.is_null())
                .all(db)
                .await?;
            if same_domain.len() > 1 {
                return Ok(Disposition::Held(format!(
                    "{} customers have the domain {domain}: set metadata vcsm_external_id on Stripe customer {}",
                    same_domain.len(),
                    c.id
                )));
            }
            found = same_domain.first().map(|m| m.id);
        }
    }
    let Some(customer_id) = found else {
        return Ok(Disposition::Held(format!(
            "no customer matches Stripe customer {} (metadata: {}, e-mail domain: {})",
            c.id,
            hint.customer_id_metadata.as_deref().unwrap_or("none"),
            hint.email_domain.as_deref().unwrap_or("none or free mail")
        )));
    };
    customer_identity::ActiveModel {
        customer_id: Set(customer_id),
        source: Set(STRIPE.into()),
        external_id: Set(c.id.clone()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Disposition::Applied)
}

/// "12 × Growth · $300.00 a month".
fn describe(s: &Subscription, mrr: i64) -> String {
    let seats: u64 = s.items.iter().fold(0, |a, i| a.saturating_add(i.quantity));
    format!(
        "{} × {} · {} a month",
        seats,
        s.plan_name().unwrap_or_else(|| "subscription".into()),
        format_money(mrr, &s.currency)
    )
}

/// The item that bills the most per period: its price and interval describe the row.
fn main_item(s: &Subscription) -> Option<&vcsm::sources::stripe::SubscriptionItem> {
    s.items.iter().max_by_key(|i| {
        i.unit_amount_minor
            .unwrap_or(0)
            .saturating_mul(i64::try_from(i.quantity).unwrap_or(i64::MAX))
    })
}

/// The interval label kept on the row: "month", "year", "3 months".
fn interval_label(s: &Subscription) -> String {
    let main = main_item(s);
    match main {
        None => "month".into(),
        Some(i) => {
            let unit = match i.interval {
                vcsm::sources::stripe::Interval::Day => "day",
                vcsm::sources::stripe::Interval::Week => "week",
                vcsm::sources::stripe::Interval::Month => "month",
                vcsm::sources::stripe::Interval::Year => "year",
            };
            if i.interval_count <= 1 {
                unit.into()
            } else {
                format!("{} {unit}s", i.interval_count.min(99))
            }
        }
    }
}

/// The billing period an interval label ([`interval_label`]) stands for: "month",
/// "3 months", "year"; `None` for days, weeks and other spans.
fn billing_period_of(label: &str) -> Option<BillingPeriod> {
    let (count, unit) = match label.split_once(' ') {
        Some((n, unit)) => (n.parse::<u32>().ok()?, unit.trim_end_matches('s')),
        None => (1, label),
    };
    let months = match unit {
        "month" => count,
        "year" => count.checked_mul(12)?,
        _ => return None,
    };
    BillingPeriod::from_interval(months)
}

async fn apply_subscription(
    db: &impl ConnectionTrait,
    customer_id: i64,
    event: &Event,
    s: &Subscription,
    now: DateTime<Utc>,
) -> Result<Disposition, AppError> {
    let existing = subscription::Entity::find()
        .filter(subscription::Column::ExternalId.eq(s.id.as_str()))
        .one(db)
        .await?;
    if let Some(row) = &existing {
        if row.source_updated_at.is_some_and(|at| at > event.created) {
            return Ok(Disposition::Ignored(format!(
                "older than the subscription state we have ({})",
                row.source_updated_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            )));
        }
    }
    let deleted = event.kind == "customer.subscription.deleted";
    let status = if deleted {
        SubscriptionStatus::Canceled
    } else {
        s.status.clone()
    };
    let counts = !deleted && s.counts_toward_mrr();
    // Stored capped at the largest amount the product accepts anywhere, so sums over a
    // customer's subscriptions and the portfolio stay far from overflowing.
    let mrr = if counts {
        s.mrr_minor().min(vcsm::money::MAX_MINOR)
    } else {
        0
    };
    let main = main_item(s);
    let quantity: u64 = s
        .items
        .iter()
        .filter(|i| i.usage_type == vcsm::sources::stripe::UsageType::Licensed)
        .fold(0, |a, i| a.saturating_add(i.quantity));
    let before = existing.as_ref().map(|r| (r.status.clone(), r.mrr_minor));
    let mut am: subscription::ActiveModel = match existing {
        Some(row) => row.into(),
        None => subscription::ActiveModel {
            customer_id: Set(customer_id),
            external_id: Set(Some(s.id.clone())),
            started_at: Set(s.start_date.unwrap_or(event.created)),
            payment_status: Set("good".into()),
            failed_attempts: Set(0),
            ..Default::default()
        },
    };
    am.customer_id = Set(customer_id);
    am.plan = Set(s.plan_name().map(|p| p.chars().take(100).collect()));
    am.status = Set(status.as_str().chars().take(30).collect());
    am.billing_interval = Set(interval_label(s));
    am.unit_amount_minor = Set(main.and_then(|i| i.unit_amount_minor).unwrap_or(0));
    am.quantity = Set(i32::try_from(quantity).unwrap_or(i32::MAX));
    am.mrr_minor = Set(mrr);
    am.currency = Set(s.currency.chars().take(3).collect());
    am.current_period_end = Set(s.current_period_end);
    am.canceled_at = Set(s.canceled_at.or(if deleted {
        s.ended_at.or(Some(event.created))
    } else {
        None
    }));
    am.cancel_at_period_end = Set(s.cancel_at_period_end);
    am.source_updated_at = Set(Some(event.created));
    am.updated_at = Set(now);
    am.save(db).await?;

    let kind = match (&before, deleted) {
        (_, true) => Some("subscription_canceled"),
        (None, false) => Some("subscription_started"),
        (Some((old_status, old_mrr)), false)
            if *old_mrr != mrr || *old_status != status.as_str() =>
        {
            Some("subscription_changed")
        }
        _ => None,
    };
    if let Some(kind) = kind {
        history(
            db,
            customer_id,
            &event.id,
            kind,
            mrr,
            &s.currency,
            Some(describe(s, mrr)),
            Some(&s.id),
            event.created,
            now,
        )
        .await?;
    }
    refresh_customer_mrr(db, customer_id, now).await?;
    Ok(Disposition::Applied)
}

/// The customer's MRR and plan become the sum over its Stripe subscriptions (in the
/// currency most of its MRR is in), so the portfolio's figures follow billing.
async fn refresh_customer_mrr(
    db: &impl ConnectionTrait,
    customer_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let subs = subscription::Entity::find()
        .filter(subscription::Column::CustomerId.eq(customer_id))
        .filter(subscription::Column::ExternalId.is_not_null())
        .all(db)
        .await?;
    let mut by_currency: BTreeMap<String, i64> = BTreeMap::new();
    for s in &subs {
        let sum = by_currency.entry(s.currency.to_uppercase()).or_default();
        *sum = sum.saturating_add(s.mrr_minor).min(vcsm::money::MAX_MINOR);
    }
    let Some((currency, mrr)) = by_currency.into_iter().max_by_key(|(_, v)| *v) else {
        return Ok(());
    };
    let main = subs
        .iter()
        .filter(|s| s.mrr_minor > 0)
        .max_by_key(|s| s.mrr_minor);
    let plan = main.and_then(|s| s.plan.clone());
    // Renewals follow how the largest subscription bills.
    let period = main.and_then(|s| billing_period_of(&s.billing_interval));
    let Some(c) = customer::Entity::find_by_id(customer_id).one(db).await? else {
        return Ok(());
    };
    let mut am: customer::ActiveModel = c.into();
    am.mrr_minor = Set(mrr);
    am.currency = Set(currency);
    if plan.is_some() {
        am.plan = Set(plan);
    }
    if let Some(p) = period {
        am.billing_period = Set(Some(p.as_str().into()));
    }
    am.updated_at = Set(now);
    am.update(db).await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn history(
    db: &impl ConnectionTrait,
    customer_id: i64,
    event_id: &str,
    kind: &str,
    amount_minor: i64,
    currency: &str,
    description: Option<String>,
    subscription_ref: Option<&str>,
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    billing_event::ActiveModel {
        customer_id: Set(customer_id),
        subscription_ref: Set(subscription_ref.map(|r| r.chars().take(200).collect())),
        external_id: Set(Some(event_id.to_string())),
        kind: Set(kind.into()),
        amount_minor: Set(amount_minor),
        currency: Set(currency.chars().take(3).collect::<String>().to_uppercase()),
        description: Set(description),
        occurred_at: Set(occurred_at),
        received_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

fn health_fields(h: PaymentHealth) -> (&'static str, i32, Option<DateTime<Utc>>) {
    match h {
        PaymentHealth::Good => ("good", 0, None),
        PaymentHealth::Failing {
            attempts,
            next_attempt,
        } => (
            "failing",
            i32::try_from(attempts).unwrap_or(i32::MAX),
            next_attempt,
        ),
        PaymentHealth::Delinquent => ("delinquent", 0, None),
    }
}

async fn apply_invoice(
    db: &impl ConnectionTrait,
    customer_id: i64,
    event: &Event,
    i: &Invoice,
    now: DateTime<Utc>,
) -> Result<Disposition, AppError> {
    let paid = event.kind == "invoice.paid";
    let (kind, amount) = if paid {
        ("invoice_paid", i.amount_paid)
    } else {
        ("payment_failed", i.amount_due)
    };
    let label = i.number.clone().unwrap_or_else(|| i.id.clone());
    let description = if paid {
        format!("Invoice {label} paid")
    } else {
        format!(
            "Payment of invoice {label} failed (attempt {}{})",
            i.attempt_count,
            i.next_payment_attempt
                .map(|t| format!(", next try {}", t.format("%Y-%m-%d")))
                .unwrap_or_else(|| ", no retry scheduled".into())
        )
    };
    history(
        db,
        customer_id,
        &event.id,
        kind,
        amount,
        &i.currency,
        Some(description),
        i.subscription.as_deref(),
        event.created,
        now,
    )
    .await?;
    // Payment health lives on the subscription; only a newer invoice event changes it.
    if let Some(sub_id) = &i.subscription {
        if let Some(row) = subscription::Entity::find()
            .filter(subscription::Column::ExternalId.eq(sub_id.as_str()))
            .one(db)
            .await?
        {
            if row.payment_updated_at.is_none_or(|at| at <= event.created) {
                let status = SubscriptionStatus::parse(&row.status);
                let (health, attempts, next) = health_fields(payment_health(&status, Some(i)));
                let mut am: subscription::ActiveModel = row.into();
                am.payment_status = Set(health.into());
                am.failed_attempts = Set(if paid {
                    0
                } else {
                    attempts.max(i32::try_from(i.attempt_count).unwrap_or(0))
                });
                am.next_payment_attempt = Set(next);
                am.payment_updated_at = Set(Some(event.created));
                am.updated_at = Set(now);
                am.update(db).await?;
            }
        }
    }
    Ok(Disposition::Applied)
}

async fn apply_refund(
    db: &impl ConnectionTrait,
    customer_id: i64,
    event: &Event,
    c: &Charge,
    now: DateTime<Utc>,
) -> Result<Disposition, AppError> {
    let description = format!(
        "{} refunded of a {} charge{}",
        format_money(c.amount_refunded, &c.currency),
        format_money(c.amount, &c.currency),
        if c.refunded { " (in full)" } else { "" }
    );
    history(
        db,
        customer_id,
        &event.id,
        "refund",
        c.amount_refunded,
        &c.currency,
        Some(description),
        None,
        event.created,
        now,
    )
    .await?;
    Ok(Disposition::Applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_labels_become_billing_periods() {
        assert_eq!(billing_period_of("month"), Some(BillingPeriod::Monthly));
        assert_eq!(
            billing_period_of("3 months"),
            Some(BillingPeriod::Quarterly)
        );
        assert_eq!(billing_period_of("year"), Some(BillingPeriod::Annual));
        assert_eq!(billing_period_of("12 months"), Some(BillingPeriod::Annual));
        assert_eq!(billing_period_of("2 years"), None);
        assert_eq!(billing_period_of("week"), None);
    }
}
