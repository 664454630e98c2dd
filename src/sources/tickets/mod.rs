//! Support tickets from helpdesks: webhook signature checks (Zendesk, Intercom), parsing
//! of their payloads and of our own JSON into one normalised [`TicketUpdate`], and the text
//! signals a CSM cares about ([`analyze`]: sentiment and cancellation intent). Pure: the
//! HTTP layer passes the raw body, the header values and the time of receipt.
//!
//! A webhook parser answers `Ok(None)` for a valid event that is not about a ticket (an
//! Intercom `ping`, a Zendesk user event), so the endpoint can answer 200 and move on;
//! `Err` is for a body that claims to be from the helpdesk but can't be read.
//!
//! Webhook events can be partial (a Zendesk `ticket.status_changed` event need not carry
//! the description): in a [`TicketUpdate`] parsed from a webhook an empty `subject` or
//! `text` means "not in this event", and the store should keep what it had.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha1::Sha1;
use sha2::Sha256;

pub use crate::sources::segment::Problem;

/// Largest webhook body we parse; helpdesk events are a few KB, this is a guard.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Longest subject kept (our API refuses longer; webhook subjects are cut).
pub const MAX_SUBJECT_CHARS: usize = 500;
/// Longest ticket text kept, in bytes (our API refuses longer; webhook text is cut).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Longest id (ticket, customer, requester) accepted.
pub const MAX_ID_LEN: usize = 200;
/// Longest tag, and most tags, kept per ticket.
pub const MAX_TAG_LEN: usize = 100;
pub const MAX_TAGS: usize = 100;
/// How far a Zendesk signature timestamp may be from our clock before it's refused as a
/// replay. Five minutes, as Stripe does: room for clock skew and slow delivery.
pub const ZENDESK_TOLERANCE_SECS: i64 = 300;
/// How far in the future a ticket time may be (clock skew) in our API.
pub const MAX_FUTURE_SKEW_HOURS: i64 = 24;

mod fields;
mod generic;
mod html;
mod intent;
mod intercom;
mod sentiment;
mod signatures;
mod words;
mod zendesk;

use fields::*;
pub use generic::*;
pub use html::*;
use intent::*;
pub use intercom::*;
pub use sentiment::*;
pub use signatures::*;
use words::*;
pub use zendesk::*;

/// Where a ticket came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSource {
    Zendesk,
    Intercom,
    /// Our own JSON API, for any other helpdesk.
    Api,
}

impl TicketSource {
    pub const ALL: [TicketSource; 3] = [
        TicketSource::Zendesk,
        TicketSource::Intercom,
        TicketSource::Api,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketSource::Zendesk => "zendesk",
            TicketSource::Intercom => "intercom",
            TicketSource::Api => "api",
        }
    }

    pub fn parse(raw: &str) -> Option<TicketSource> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// Zendesk's status set, which the other helpdesks map onto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    Open,
    Pending,
    OnHold,
    Solved,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 6] = [
        TicketStatus::New,
        TicketStatus::Open,
        TicketStatus::Pending,
        TicketStatus::OnHold,
        TicketStatus::Solved,
        TicketStatus::Closed,
    ];

    /// The form stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::OnHold => "on_hold",
            TicketStatus::Solved => "solved",
            TicketStatus::Closed => "closed",
        }
    }

    /// Parses the stored form exactly (see [`TicketStatus::as_str`]).
    pub fn parse(raw: &str) -> Option<TicketStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Solved or closed: no longer waiting on anyone.
    pub fn is_resolved(self) -> bool {
        matches!(self, TicketStatus::Solved | TicketStatus::Closed)
    }

    /// What helpdesks and people write: any case, Zendesk's `hold`, `On-hold`, `on hold`,
    /// and `resolved` for solved.
    fn parse_loose(raw: &str) -> Option<TicketStatus> {
        match loose_key(raw).as_str() {
            "new" => Some(TicketStatus::New),
            "open" => Some(TicketStatus::Open),
            "pending" => Some(TicketStatus::Pending),
            "hold" | "on_hold" | "onhold" => Some(TicketStatus::OnHold),
            "solved" | "resolved" => Some(TicketStatus::Solved),
            "closed" => Some(TicketStatus::Closed),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    /// The form stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Parses the stored form exactly (see [`Priority::as_str`]).
    pub fn parse(raw: &str) -> Option<Priority> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// Any case, and `medium` (Freshdesk, Help Scout) for normal.
    fn parse_loose(raw: &str) -> Option<Priority> {
        match loose_key(raw).as_str() {
            "low" => Some(Priority::Low),
            "normal" | "medium" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            "urgent" => Some(Priority::Urgent),
            _ => None,
        }
    }
}

/// The customer's rating of the support they got. Zendesk asks good/bad; Intercom asks
/// for 1–5. Both are kept as given rather than forced onto one scale, so the UI can show
/// what the customer actually said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Satisfaction {
    Good,
    Bad,
    /// 1 (worst) to 5 (best). [`Satisfaction::parse`] and the parsers only build 1–5.
    Rating(u8),
}

impl Satisfaction {
    /// A 1–5 rating, or `None` outside that range.
    pub fn rating(score: i64) -> Option<Satisfaction> {
        u8::try_from(score)
            .ok()
            .filter(|s| (1..=5).contains(s))
            .map(Satisfaction::Rating)
    }

    /// The stored form: `good`, `bad`, `rating:1` … `rating:5` (out-of-range ratings,
    /// which nothing here builds, are clamped).
    pub fn as_str(self) -> &'static str {
        const RATINGS: [&str; 5] = ["rating:1", "rating:2", "rating:3", "rating:4", "rating:5"];
        match self {
            Satisfaction::Good => "good",
            Satisfaction::Bad => "bad",
            Satisfaction::Rating(n) => RATINGS[usize::from(n.clamp(1, 5) - 1)],
        }
    }

    /// Parses the stored form exactly (see [`Satisfaction::as_str`]).
    pub fn parse(raw: &str) -> Option<Satisfaction> {
        match raw {
            "good" => Some(Satisfaction::Good),
            "bad" => Some(Satisfaction::Bad),
            _ => raw
                .strip_prefix("rating:")
                .filter(|n| n.len() == 1)
                .and_then(|n| n.parse::<i64>().ok())
                .and_then(Satisfaction::rating),
        }
    }

    /// Good, or a rating of 4–5.
    pub fn is_positive(self) -> bool {
        matches!(self, Satisfaction::Good | Satisfaction::Rating(4..))
    }

    /// Bad, or a rating of 1–2 (3 is neither).
    pub fn is_negative(self) -> bool {
        matches!(self, Satisfaction::Bad | Satisfaction::Rating(..=2))
    }
}

impl From<Satisfaction> for String {
    fn from(s: Satisfaction) -> String {
        s.as_str().to_string()
    }
}

impl TryFrom<String> for Satisfaction {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Satisfaction::parse(&raw).ok_or_else(|| format!("unknown satisfaction {raw:?}"))
    }
}

/// One ticket as the helpdesk last told us about it, whatever the helpdesk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketUpdate {
    pub source: TicketSource,
    /// The helpdesk's ticket (or Intercom conversation) id; with `source`, the upsert key.
    pub external_id: String,
    pub requester_email: Option<String>,
    /// The requester's id in the customer's own product (Intercom contact `external_id`,
    /// Zendesk `{{ticket.requester.external_id}}`), which resolves to an account the way
    /// a tracked `userId` does. Not in the original brief; added because Intercom
    /// conversations name contacts, never companies.
    pub requester_external_id: Option<String>,
    /// The account as the helpdesk names it: Zendesk organization id (event webhooks) or
    /// organization external id (trigger body), our `customer_external_id`.
    pub organization: Option<String>,
    /// Empty when the event didn't carry it (see the module docs).
    pub subject: String,
    /// Plain text of what the customer wrote: the description or latest public customer
    /// comment (Zendesk), the opening message and customer replies (Intercom, HTML
    /// stripped), or `body` (our API). Empty when the event didn't carry it.
    pub text: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was solved: given by our API or Intercom's statistics, else the time of the
    /// update that reported it solved or closed.
    pub solved_at: Option<DateTime<Utc>>,
    pub satisfaction: Option<Satisfaction>,
    /// Trimmed, without empties or duplicates, in the order given.
    pub tags: Vec<String>,
}

impl TicketUpdate {
    /// Sentiment and cancellation intent of the subject and text.
    pub fn signals(&self) -> TextSignals {
        analyze(&self.subject, &self.text)
    }

    /// Whether anything identifies the customer's account (directly or via the requester).
    pub fn has_customer_key(&self) -> bool {
        self.organization.is_some()
            || self.requester_email.is_some()
            || self.requester_external_id.is_some()
    }
}

#[cfg(test)]
mod tests;
