//! The Stripe objects we read, normalised: events, customers, subscriptions, invoices, charges.

use super::*;

/// The event types the backend acts on. Events of other types still parse (usually as
/// [`StripeObject::Other`]) so they can be acknowledged and ignored.
pub const HANDLED_EVENT_TYPES: [&str; 9] = [
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "charge.refunded",
];

/// A parsed Stripe event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `evt_...`: Stripe may deliver an event more than once; use it for idempotency.
    pub id: String,
    /// Stripe's `type`, e.g. `customer.subscription.updated`.
    pub kind: String,
    pub created: DateTime<Utc>,
    /// False for test-mode events, which must never touch live data.
    pub livemode: bool,
    /// The API version the payload was rendered with, when Stripe says.
    pub api_version: Option<String>,
    /// `data.object`.
    pub object: StripeObject,
}

impl Event {
    /// Whether this is one of [`HANDLED_EVENT_TYPES`].
    pub fn is_handled(&self) -> bool {
        HANDLED_EVENT_TYPES.contains(&self.kind.as_str())
    }
}

/// `data.object` of an event, chosen by its `object` field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StripeObject {
    Customer(Customer),
    Subscription(Subscription),
    Invoice(Invoice),
    Charge(Charge),
    /// Any other object (`payment_intent`, `card`, ...), or an object of a known kind in
    /// an event we do not handle that did not parse.
    Other {
        object: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// True for `customer.deleted` events and for Stripe's deleted-customer stubs.
    pub deleted: bool,
}

/// A subscription's `status`. Unknown strings are kept, not refused, so a status Stripe
/// adds later does not make whole events fail.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubscriptionStatus {
    Trialing,
    Active,
    Incomplete,
    IncompleteExpired,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
    Other(String),
}

impl SubscriptionStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "past_due" => Self::PastDue,
            "canceled" => Self::Canceled,
            "unpaid" => Self::Unpaid,
            "paused" => Self::Paused,
            other => Self::Other(other.to_string()),
        }
    }

    /// Stripe's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Paused => "paused",
            Self::Other(s) => s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            "year" => Some(Self::Year),
            _ => None,
        }
    }

    /// Months per interval as a fraction (numerator, denominator) of the amount per
    /// period: a year is 1/12 of it per month, a week 52/12, a day 365/12.
    pub(super) fn per_month(self) -> (i128, i128) {
        match self {
            Self::Day => (365, 12),
            Self::Week => (52, 12),
            Self::Month => (1, 1),
            Self::Year => (1, 12),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UsageType {
    /// Billed for `quantity` up front each period.
    Licensed,
    /// Billed in arrears for reported usage.
    Metered,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionItem {
    pub id: String,
    /// The price's id (or, in the legacy shape, the plan's).
    pub price_id: String,
    pub product: Option<String>,
    pub nickname: Option<String>,
    /// Per unit per billing period, in minor units; `None` for tiered prices, whose amount
    /// depends on the quantity in ways this module does not model.
    pub unit_amount_minor: Option<i64>,
    /// Uppercase ISO code (`USD`).
    pub currency: String,
    pub interval: Interval,
    /// Billing every `interval_count` intervals; at least 1.
    pub interval_count: u32,
    pub quantity: u64,
    pub usage_type: UsageType,
    /// Only in API versions 2025-03-31 and later.
    pub current_period_start: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
}

/// A discount on a subscription with its coupon's terms when Stripe sent them expanded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discount {
    /// `di_...`; absent on discounts from old API versions.
    pub id: Option<String>,
    pub coupon_id: Option<String>,
    /// 0 < percent_off ≤ 100 (Stripe allows fractions such as 12.5).
    pub percent_off: Option<f64>,
    /// Taken off each invoice, i.e. once per billing period, in minor units.
    pub amount_off_minor: Option<i64>,
    /// Uppercase currency of `amount_off_minor`.
    pub currency: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    /// `cus_...` (an expanded customer is reduced to its id).
    pub customer: String,
    pub status: SubscriptionStatus,
    pub items: Vec<SubscriptionItem>,
    /// Uppercase ISO code; from the subscription, else its first item.
    pub currency: String,
    /// The subscription's own field, else (API 2025-03-31+) the earliest over its items.
    pub current_period_start: Option<DateTime<Utc>>,
    /// The subscription's own field, else (API 2025-03-31+) the latest over its items.
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub start_date: Option<DateTime<Utc>>,
    pub trial_start: Option<DateTime<Utc>>,
    pub trial_end: Option<DateTime<Utc>>,
    /// From `discount` (older API versions) and the expanded entries of `discounts`,
    /// without duplicates. Entries of `discounts` that are bare ids are skipped: their
    /// terms are unknown without another API call.
    pub discounts: Vec<Discount>,
    pub metadata: BTreeMap<String, String>,
}

/// An invoice's `status`; unknown strings are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InvoiceStatus {
    Draft,
    Open,
    Paid,
    Uncollectible,
    Void,
    Other(String),
}

impl InvoiceStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "draft" => Self::Draft,
            "open" => Self::Open,
            "paid" => Self::Paid,
            "uncollectible" => Self::Uncollectible,
            "void" => Self::Void,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Uncollectible => "uncollectible",
            Self::Void => "void",
            Self::Other(s) => s,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub customer: String,
    /// `subscription` (before 2025-03-31), else `parent.subscription_details.subscription`,
    /// else the first line's subscription.
    pub subscription: Option<String>,
    /// Nullable in Stripe's schema.
    pub status: Option<InvoiceStatus>,
    pub currency: String,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub amount_remaining: i64,
    /// Payment attempts so far (0 when never attempted).
    pub attempt_count: u32,
    /// When Stripe will retry; `None` once it has given up (or never will).
    pub next_payment_attempt: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
    pub billing_reason: Option<String>,
    pub number: Option<String>,
    pub hosted_invoice_url: Option<String>,
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub id: String,
    pub customer: Option<String>,
    pub amount: i64,
    pub amount_refunded: i64,
    pub currency: String,
    /// True only when fully refunded; see `amount_refunded` for partial refunds.
    pub refunded: bool,
    /// Removed from charges in API 2025-03-31; `None` there.
    pub invoice: Option<String>,
    pub created: DateTime<Utc>,
}
