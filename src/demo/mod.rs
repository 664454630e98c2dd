//! A deterministic demo portfolio: the same seed and `as_of` always give the same
//! customers, contacts, subscriptions, invoices, tickets, notes and usage events.
//!
//! Each customer follows a behaviour (growing, steady, declining, churning, new trial,
//! onboarding) that shapes its usage over time, so dashboards and — later — health scores
//! and churn models have realistic signal to find. Events are generated per customer on
//! demand so a large portfolio never sits in memory at once.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::auth::{Email, Role};
use crate::customers::{ContactRole, CustomerDraft, Stage, Tier};

pub mod churn_lab;
mod generate;
mod vocabulary;

pub use generate::*;
pub use vocabulary::*;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    pub customers: usize,
    pub days: u32,
    pub seed: u64,
    /// The last day of generated history ("today" for the demo).
    pub as_of: NaiveDate,
}

/// How a customer's usage evolves over the generated window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Behaviour {
    Growing,
    Steady,
    Declining,
    Churning,
    NewTrial,
    Onboarding,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoContact {
    pub name: String,
    pub email: String,
    pub title: String,
    pub role: ContactRole,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoSubscription {
    pub external_id: String,
    pub plan: String,
    pub status: String,
    pub interval: String,
    pub unit_amount_minor: i64,
    pub quantity: i32,
    pub mrr_minor: i64,
    pub started_at: DateTime<Utc>,
    pub current_period_end: DateTime<Utc>,
    pub canceled_at: Option<DateTime<Utc>>,
    /// What billing would have told us over time: `subscription_started`, `_changed` and
    /// `_canceled`, each with the MRR after it.
    pub mrr_history: Vec<DemoMrrChange>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoMrrChange {
    pub kind: &'static str,
    pub mrr_minor: i64,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoInvoice {
    pub external_id: String,
    pub amount_minor: i64,
    /// `paid`, `payment_failed` or `refunded`.
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoTicket {
    pub external_id: String,
    pub subject: String,
    pub body: String,
    /// `open`, `pending` or `solved`.
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    pub opened_at: DateTime<Utc>,
    pub solved_at: Option<DateTime<Utc>>,
    /// `good`, `bad` or none.
    pub satisfaction: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoNote {
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Index into [`DemoPortfolio::users`].
    pub author: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoEvent {
    /// Index into the customer's contacts.
    pub contact: Option<usize>,
    pub name: &'static str,
    pub properties: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub message_id: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DemoCustomer {
    pub draft: CustomerDraft,
    pub behaviour: Behaviour,
    pub created_at: DateTime<Utc>,
    pub contacts: Vec<DemoContact>,
    pub subscription: Option<DemoSubscription>,
    pub invoices: Vec<DemoInvoice>,
    pub tickets: Vec<DemoTicket>,
    pub notes: Vec<DemoNote>,
    index: usize,
    seed: u64,
    seats_start: i32,
    /// Daily events at full engagement.
    base_rate: f64,
    /// Product areas this customer uses (breadth of adoption).
    breadth: usize,
    active_from: NaiveDate,
    active_until: Option<NaiveDate>,
    /// A declining customer that stopped using the product altogether from this day.
    dark_from: Option<NaiveDate>,
    window_start: NaiveDate,
    as_of: NaiveDate,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DemoPortfolio {
    pub users: Vec<DemoUser>,
    pub customers: Vec<DemoCustomer>,
}

#[cfg(test)]
mod tests;
