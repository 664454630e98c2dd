//! Which of our accounts a Stripe customer is (metadata, e-mail domain), and payment health.

use super::*;

/// Metadata keys that may hold our customer's id, most specific first: our own keys,
/// then the generic names teams commonly use. Matched case-insensitively.
pub const ACCOUNT_ID_METADATA_KEYS: [&str; 5] = [
    "vcsm_customer_id",
    "vcsm_external_id",
    "customer_id",
    "external_id",
    "account_id",
];

/// Clues for matching a Stripe customer to one of our customers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountHint {
    /// The first non-blank value (trimmed) under [`ACCOUNT_ID_METADATA_KEYS`], in order.
    pub customer_id_metadata: Option<String>,
    /// Which of [`ACCOUNT_ID_METADATA_KEYS`] it came from: `vcsm_customer_id` is our id,
    /// the others are the customer's own id (`external_id`).
    pub metadata_key: Option<String>,
    /// The email's lowercase domain, unless it is a free-mail provider (gmail.com,
    /// outlook.com, ...), which many unrelated customers share.
    pub email_domain: Option<String>,
}

pub fn account_hint(customer: &Customer) -> AccountHint {
    let found = ACCOUNT_ID_METADATA_KEYS.iter().find_map(|want| {
        customer.metadata.iter().find_map(|(k, v)| {
            let v = v.trim();
            (k.trim().eq_ignore_ascii_case(want) && !v.is_empty()).then(|| (*want, v.to_string()))
        })
    });
    AccountHint {
        customer_id_metadata: found.as_ref().map(|(_, v)| v.clone()),
        metadata_key: found.map(|(k, _)| k.to_string()),
        email_domain: customer
            .email
            .as_deref()
            .and_then(crate::customers::company_email_domain),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentHealth {
    /// Nothing owed that Stripe failed to collect.
    Good,
    /// A payment failed and Stripe will retry (`next_attempt`): worth a nudge.
    Failing {
        attempts: u32,
        next_attempt: Option<DateTime<Utc>>,
    },
    /// Stripe has stopped retrying, or the subscription is past due/unpaid: money is owed
    /// and the account is at risk.
    Delinquent,
}

/// Payment health from a subscription's status and its latest invoice, first rule wins:
///
/// 1. Latest invoice `paid` → Good (the newest fact: a lagging `past_due` status from an
///    earlier event does not outweigh it; Stripe delivers events out of order).
/// 2. Latest invoice `open`, attempted and with an amount remaining → Failing while Stripe
///    has a `next_payment_attempt`, Delinquent once it has none (retries exhausted).
/// 3. Status `past_due` or `unpaid` → Delinquent.
/// 4. Latest invoice `uncollectible` → Delinquent.
/// 5. Otherwise Good.
///
/// Rule 2 comes before rule 3 because Stripe sets `past_due` as soon as a renewal payment
/// fails, while its retries are still scheduled; that is Failing, not yet Delinquent.
pub fn payment_health(
    status: &SubscriptionStatus,
    latest_invoice: Option<&Invoice>,
) -> PaymentHealth {
    if let Some(inv) = latest_invoice {
        match inv.status {
            Some(InvoiceStatus::Paid) => return PaymentHealth::Good,
            Some(InvoiceStatus::Open) if inv.attempt_count > 0 && inv.amount_remaining > 0 => {
                return match inv.next_payment_attempt {
                    Some(next) => PaymentHealth::Failing {
                        attempts: inv.attempt_count,
                        next_attempt: Some(next),
                    },
                    None => PaymentHealth::Delinquent,
                };
            }
            _ => {}
        }
    }
    if matches!(
        status,
        SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid
    ) {
        return PaymentHealth::Delinquent;
    }
    if latest_invoice.is_some_and(|i| i.status == Some(InvoiceStatus::Uncollectible)) {
        return PaymentHealth::Delinquent;
    }
    PaymentHealth::Good
}
