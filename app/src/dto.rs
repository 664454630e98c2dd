//! Wire types: what leaves the server. Built from rows by explicit conversions in the
//! backend, so a new column never leaks to the browser by accident.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use vcsm::auth::Role;
use vcsm::csv_import::RowError;
use vcsm::customer::{ContactRole, Stage, Tier};
use vcsm::listing::CustomerQuery;
use vcsm::portfolio::PortfolioSummary;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: i64,
    pub name: String,
    pub external_id: Option<String>,
    pub domain: Option<String>,
    pub tier: Tier,
    pub stage: Stage,
    pub plan: Option<String>,
    pub mrr_minor: i64,
    pub currency: String,
    pub seats: i32,
    pub renewal_date: Option<NaiveDate>,
    pub owner_name: Option<String>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub archived: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerPage {
    pub rows: Vec<CustomerRow>,
    pub total: u64,
    pub query: CustomerQuery,
    /// The server's clock when the page was read, for relative times.
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContactDto {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub role: ContactRole,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionDto {
    pub plan: Option<String>,
    pub status: String,
    pub interval: String,
    pub quantity: i32,
    pub mrr_minor: i64,
    pub currency: String,
    pub current_period_end: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimelineKind {
    Usage,
    Note,
    Ticket,
    Billing,
}

/// One line of a customer's timeline: usage, notes, tickets and billing merged by time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineItem {
    pub at: DateTime<Utc>,
    pub kind: TimelineKind,
    pub title: String,
    pub detail: Option<String>,
    /// Who: a contact, a note's author.
    pub actor: Option<String>,
    /// Marks bad news (failed payment, urgent ticket).
    pub alert: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerDetail {
    pub row: CustomerRow,
    pub churned_on: Option<NaiveDate>,
    pub contract_start: Option<NaiveDate>,
    pub owner_email: Option<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub contacts: Vec<ContactDto>,
    pub subscription: Option<SubscriptionDto>,
    pub open_tickets: u64,
    pub events_30d: u64,
    pub timeline: Vec<TimelineItem>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityRow {
    pub id: i64,
    pub name: String,
    pub tier: Tier,
    pub stage: Stage,
    pub mrr_minor: i64,
    pub currency: String,
    pub last_seen_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardDto {
    pub summary: PortfolioSummary,
    pub recently_active: Vec<ActivityRow>,
    pub recently_silent: Vec<ActivityRow>,
    pub silent_count: u64,
    pub as_of: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDto {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A user who can own customers, for selects and filters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OwnerOption {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Rows stored; 0 whenever `errors` is not empty (all or nothing).
    pub imported: u64,
    pub rows_read: u64,
    pub errors: Vec<RowError>,
}
