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

pub use crate::segment::Problem;

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

// ---------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------

type HmacSha256 = Hmac<Sha256>;
type HmacSha1 = Hmac<Sha1>;

/// Why a webhook's signature was refused. The endpoint answers 401 for all of them; the
/// variant is for our logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No signing secret is configured. Refused rather than checked against an empty key,
    /// which anyone could sign with.
    NoSecret,
    /// The signature header is missing, empty or not in the expected encoding.
    MalformedSignature,
    /// The timestamp header is not an ISO-8601 date-time.
    MalformedTimestamp,
    /// The timestamp is further from our clock than the tolerance: a replay, or a clock
    /// that is badly off. `skew_secs` is now − timestamp.
    Stale { skew_secs: i64 },
    /// Well-formed, but not made with this secret over this body.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::NoSecret => write!(f, "no webhook signing secret is configured"),
            SignatureError::MalformedSignature => write!(f, "the signature header is malformed"),
            SignatureError::MalformedTimestamp => {
                write!(f, "the signature timestamp is not an ISO-8601 date-time")
            }
            SignatureError::Stale { skew_secs } => write!(
                f,
                "the signature timestamp is {}s from our clock (outside the tolerance)",
                skew_secs
            ),
            SignatureError::Mismatch => write!(f, "the signature does not match the body"),
        }
    }
}

impl std::error::Error for SignatureError {}

fn zendesk_mac(body: &[u8], secret: &str, timestamp: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac
}

fn intercom_mac(body: &[u8], secret: &str) -> HmacSha1 {
    let mut mac = HmacSha1::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac
}

/// The `X-Zendesk-Webhook-Signature` value for `body` sent at `timestamp` (the exact
/// `X-Zendesk-Webhook-Signature-Timestamp` value): base64 of HMAC-SHA256 over
/// `timestamp + body`, keyed with the webhook's signing secret.
pub fn sign_zendesk(body: &[u8], secret: &str, timestamp: &str) -> String {
    BASE64.encode(zendesk_mac(body, secret, timestamp).finalize().into_bytes())
}

/// Checks a Zendesk webhook: the signature must be ours over `timestamp + body`, and the
/// timestamp within `tolerance_secs` of `now` either way, so a captured request can't be
/// replayed later. The comparison is constant-time.
///
/// # Errors
/// Why the request is refused.
pub fn verify_zendesk(
    signature_b64: &str,
    timestamp: &str,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let signature = BASE64
        .decode(signature_b64.trim())
        .map_err(|_| SignatureError::MalformedSignature)?;
    if signature.len() != 32 {
        return Err(SignatureError::MalformedSignature);
    }
    let timestamp = timestamp.trim();
    let sent_at = parse_instant(timestamp).ok_or(SignatureError::MalformedTimestamp)?;
    let skew_secs = now.signed_duration_since(sent_at).num_seconds();
    if skew_secs.abs() > tolerance_secs.max(0) {
        return Err(SignatureError::Stale { skew_secs });
    }
    zendesk_mac(body, secret, timestamp)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature` value Intercom sends for `body`: `sha1=` and the hex HMAC-SHA1 of
/// the raw body, keyed with the app's client secret.
pub fn sign_intercom(body: &[u8], secret: &str) -> String {
    format!(
        "sha1={}",
        hex::encode(intercom_mac(body, secret).finalize().into_bytes())
    )
}

/// Checks an Intercom webhook's `X-Hub-Signature` header against the raw body. Intercom
/// sends no timestamp, so there is no replay window to check; ticket updates are
/// idempotent upserts, which makes a replay harmless. The comparison is constant-time.
///
/// # Errors
/// Why the request is refused.
pub fn verify_intercom(header: &str, body: &[u8], secret: &str) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let header = header.trim();
    let digest = match header.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha1=") => &header[5..],
        _ => return Err(SignatureError::MalformedSignature),
    };
    let signature = hex::decode(digest).map_err(|_| SignatureError::MalformedSignature)?;
    if signature.len() != 20 {
        return Err(SignatureError::MalformedSignature);
    }
    intercom_mac(body, secret)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Mismatch)
}

// ---------------------------------------------------------------------------------------
// The normalised ticket
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Shared parsing helpers
// ---------------------------------------------------------------------------------------

/// Lowercase, trimmed, with spaces and hyphens as underscores: `On-hold` → `on_hold`.
fn loose_key(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn at(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    }
}

/// The value at a path of object keys, if every step is an object holding the key.
fn dig<'a>(obj: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(obj.get(*first)?, |v, key| v.as_object()?.get(*key))
}

/// A non-blank string at `key`, trimmed.
fn text_at<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An id given as a non-blank string or an integer (Zendesk sends both, as numbers in some
/// places and strings in others).
fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A required id: problems for missing, wrong type or too long.
fn required_id(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => {
            problems.push(Problem::new(at(prefix, key), "is required"));
            None
        }
        Some(v) => optional_id(obj, key, prefix, problems).or_else(|| {
            if !problems.iter().any(|p| p.path == at(prefix, key)) {
                let reason = match v {
                    Value::String(_) => "must not be empty",
                    _ => "must be a string or an integer",
                };
                problems.push(Problem::new(at(prefix, key), reason));
            }
            None
        }),
    }
}

/// An optional id; empty strings count as absent (helpdesk placeholders render empty).
fn optional_id(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let v = obj.get(key)?;
    match id_of(v) {
        Some(id) if id.chars().count() > MAX_ID_LEN => {
            problems.push(Problem::new(
                at(prefix, key),
                format!("must be at most {MAX_ID_LEN} characters"),
            ));
            None
        }
        Some(id) => Some(id),
        None => {
            if !matches!(v, Value::Null | Value::String(_)) {
                problems.push(Problem::new(
                    at(prefix, key),
                    "must be a string or an integer",
                ));
            }
            None
        }
    }
}

/// ISO-8601 as helpdesks write it: RFC 3339 (`2021-11-02T19:36:38Z`, offsets, fractions),
/// and Zendesk's `{{ticket.created_at_with_timestamp}}` form without seconds
/// (`2013-12-12T05:35Z`).
fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = raw.strip_suffix('Z').or_else(|| raw.strip_suffix('z'))?;
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok())
        .map(|t| Utc.from_utc_datetime(&t))
}

fn unix_instant(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(v.as_i64()?, 0)
}

/// An optional ISO-8601 time at `key`; a problem if present but unreadable.
fn instant_at(
    obj: &Map<String, Value>,
    key: &str,
    prefix: &str,
    problems: &mut Vec<Problem>,
) -> Option<DateTime<Utc>> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => parse_instant(s).or_else(|| {
            problems.push(Problem::new(
                at(prefix, key),
                "must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z",
            ));
            None
        }),
        Some(_) => {
            problems.push(Problem::new(at(prefix, key), "must be a string"));
            None
        }
    }
}

impl TicketUpdate {
    /// A problem with the update's times, judged at `now`: helpdesks date tickets after
    /// 1990 and not more than a day ahead of us. A ticket dated year 9999 would make every
    /// later update of it look stale, one dated year 0 would sort before everything.
    pub fn implausible_time(&self, now: DateTime<Utc>) -> Option<Problem> {
        let earliest = Utc.with_ymd_and_hms(1990, 1, 1, 0, 0, 0).single()?;
        let latest = now + chrono::Duration::days(1);
        [
            ("created_at", Some(self.created_at)),
            ("updated_at", Some(self.updated_at)),
            ("solved_at", self.solved_at),
        ]
        .into_iter()
        .find_map(|(field, t)| {
            let t = t?;
            if t < earliest {
                Some(Problem::new(field, "is before 1990"))
            } else if t > latest {
                Some(Problem::new(field, "is more than a day in the future"))
            } else {
                None
            }
        })
    }
}

/// Cuts `s` to at most `max` characters.
fn clip_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
fn clip_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Tags from an array of strings or a space-separated string (`{{ticket.tags}}`), trimmed,
/// deduplicated and capped. Webhook tags are best-effort: odd entries are skipped.
fn loose_tags(v: Option<&Value>) -> Vec<String> {
    let raw: Vec<&str> = match v {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => s.split_whitespace().collect(),
        _ => Vec::new(),
    };
    let mut tags: Vec<String> = Vec::new();
    for t in raw {
        let t = clip_chars(t.trim(), MAX_TAG_LEN);
        if !t.is_empty() && !tags.contains(&t) && tags.len() < MAX_TAGS {
            tags.push(t);
        }
    }
    tags
}

/// A plausible email address: one `@`, something either side, a dot in the domain, no
/// spaces. Deliverability is the helpdesk's business; this only keeps junk out.
fn looks_like_email(s: &str) -> bool {
    let mut parts = s.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && s.len() <= 254
                && !s.chars().any(char::is_whitespace)
        }
        _ => false,
    }
}

/// A webhook's requester email: kept if plausible, otherwise dropped (a helpdesk user
/// without an email is normal, and a 4xx would make the helpdesk retry forever).
fn loose_email(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| looks_like_email(s))
        .map(str::to_lowercase)
}

/// Reads a webhook body as a JSON object.
fn json_object(payload: &[u8]) -> Result<Map<String, Value>, Vec<Problem>> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(vec![Problem::new(
            "body",
            format!("is larger than {} KB", MAX_PAYLOAD_BYTES / 1024),
        )]);
    }
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(vec![Problem::new("body", "must be a JSON object")]),
        Err(e) => Err(vec![Problem::new(
            "body",
            format!("is not valid JSON: {e}"),
        )]),
    }
}

// ---------------------------------------------------------------------------------------
// HTML to text (Intercom bodies)
// ---------------------------------------------------------------------------------------

/// Tags after which the text breaks a line.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "br",
    "div",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
];

/// Plain text of an HTML fragment such as Intercom's `<p>Hi&nbsp;there</p>`: tags removed
/// (block tags become line breaks, `<script>`/`<style>` contents dropped), entities
/// decoded, whitespace collapsed. Not a sanitiser: the result is for reading and scoring,
/// and is escaped again wherever it is shown. A `<` that doesn't open a tag is kept.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut skipping: Option<&'static str> = None;
    while let Some(lt) = rest.find('<') {
        if skipping.is_none() {
            push_decoded(&mut out, &rest[..lt]);
        }
        let after = &rest[lt + 1..];
        let opens_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        if !opens_tag {
            if skipping.is_none() {
                out.push('<');
            }
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else {
            // An unclosed tag at the end: not markup we can read, keep it as text.
            if skipping.is_none() {
                out.push('<');
                push_decoded(&mut out, after);
            }
            rest = "";
            break;
        };
        let tag = &after[..gt];
        let closing = tag.starts_with('/');
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match skipping {
            Some(end) if closing && name == end => skipping = None,
            Some(_) => {}
            None if !closing && name == "script" => skipping = Some("script"),
            None if !closing && name == "style" => skipping = Some("style"),
            None if BLOCK_TAGS.contains(&name.as_str()) && !out.ends_with('\n') => out.push('\n'),
            None => {}
        }
        rest = &after[gt + 1..];
    }
    if skipping.is_none() {
        push_decoded(&mut out, rest);
    }
    tidy_whitespace(&out)
}

/// Appends `s` with HTML entities decoded; an `&` that starts no known entity is kept.
fn push_decoded(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after
            .find(';')
            .filter(|&semi| semi > 0 && semi <= 10)
            .and_then(|semi| decode_entity(&after[..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "rsquo" => '\u{2019}',
        "lsquo" => '\u{2018}',
        "rdquo" => '\u{201D}',
        "ldquo" => '\u{201C}',
        "hellip" => '\u{2026}',
        "mdash" => '\u{2014}',
        "ndash" => '\u{2013}',
        "bull" => '\u{2022}',
        "middot" => '\u{00B7}',
        "copy" => '\u{00A9}',
        "reg" => '\u{00AE}',
        "trade" => '\u{2122}',
        "euro" => '\u{20AC}',
        "pound" => '\u{00A3}',
        "yen" => '\u{00A5}',
        "cent" => '\u{00A2}',
        "deg" => '\u{00B0}',
        "times" => '\u{00D7}',
        _ => return None,
    })
}

/// Each line's whitespace collapsed to single spaces and trimmed; at most one blank line
/// in a row; no blank lines at either end.
fn tidy_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_pending = false;
    for line in s.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank_pending = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_pending {
                out.push('\n');
            }
        }
        blank_pending = false;
        out.push_str(&line);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Zendesk
// ---------------------------------------------------------------------------------------

/// Parses a Zendesk webhook body, either of the two kinds Zendesk sends:
///
/// **Event subscription** (a webhook subscribed to `zen:event-type:ticket.*` events):
/// `{"type": "zen:event-type:ticket.created", "id": "<event id>", "time": "…",
/// "subject": "zen:ticket:35436", "detail": {"id": "35436", "subject", "description",
/// "status": "OPEN", "priority": "HIGH", "created_at", "updated_at", "requester_id",
/// "organization_id", "tags": [...]}, "event": {...}}`. Every ticket event type is read
/// from `detail` (which Zendesk documents as the same for all of them); for
/// `ticket.comment_added` the text is `event.comment.body` when the comment is public and
/// not by staff, otherwise the description, so an agent's reply or internal note is never
/// scored as the customer's words. These events carry the requester's Zendesk id but not
/// the email, so `organization` (the Zendesk organization id; `"0"` means none) is the
/// account key. Non-ticket events (`user.*`, `organization.*`, `messaging_ticket.*`, …)
/// give `Ok(None)`.
///
/// **Trigger body** (a trigger or automation notifying the webhook). Recommended body,
/// with Zendesk's placeholders:
///
/// ```json
/// {"ticket": {
///   "id": "{{ticket.id}}",
///   "subject": "{{ticket.title}}",
///   "description": "{{ticket.description}}",
///   "latest_comment": "{{ticket.latest_public_comment}}",
///   "status": "{{ticket.status}}",
///   "priority": "{{ticket.priority}}",
///   "requester_email": "{{ticket.requester.email}}",
///   "requester_external_id": "{{ticket.requester.external_id}}",
///   "organization_external_id": "{{ticket.organization.external_id}}",
///   "satisfaction": "{{satisfaction.current_rating}}",
///   "tags": "{{ticket.tags}}",
///   "created_at": "{{ticket.created_at_with_timestamp}}",
///   "updated_at": "{{ticket.updated_at_with_timestamp}}"
/// }}
/// ```
///
/// `id` and `created_at` are required. Status and priority are read in any case
/// (`On-hold`; a priority of `-` or empty means normal). `latest_comment` (or
/// `latest_public_comment`, `comment`) wins over `description` for the text. Satisfaction
/// is read from the start of the rendered text (`Good…`/`Bad…`); `Offered`, `Unoffered`
/// and anything else mean none. `tags` may be the rendered space-separated string or an
/// array. Also accepted: `title` for `subject`, `organization_id`/`organization` for the
/// organization, `solved_at`. The latest public comment may be an agent's: give the
/// trigger the condition "Current user is (end user)" so only customers' words are scored.
///
/// Webhook text is cut to [`MAX_TEXT_BYTES`] and subjects to [`MAX_SUBJECT_CHARS`]
/// rather than refused, because a refused webhook is retried and eventually disabled.
///
/// # Errors
/// Every problem found, by field path (`detail.status`, `ticket.created_at`).
pub fn parse_zendesk(payload: &[u8]) -> Result<Option<TicketUpdate>, Vec<Problem>> {
    let obj = json_object(payload)?;
    if let Some(kind) = obj.get("type").and_then(Value::as_str) {
        if kind.starts_with("zen:event-type:") {
            return parse_zendesk_event(&obj, kind);
        }
    }
    match obj.get("ticket") {
        Some(Value::Object(ticket)) => parse_zendesk_trigger(ticket).map(Some),
        Some(_) => Err(vec![Problem::new("ticket", "must be an object")]),
        None => Err(vec![Problem::new(
            "body",
            "is neither a Zendesk event (\"type\": \"zen:event-type:…\") nor a trigger body \
             ({\"ticket\": {…}})",
        )]),
    }
}

fn parse_zendesk_event(
    obj: &Map<String, Value>,
    kind: &str,
) -> Result<Option<TicketUpdate>, Vec<Problem>> {
    let Some(event_name) = kind.strip_prefix("zen:event-type:ticket.") else {
        return Ok(None);
    };
    let mut problems = Vec::new();
    let Some(detail) = obj.get("detail").and_then(Value::as_object) else {
        return Err(vec![Problem::new(
            "detail",
            "is required and must be an object",
        )]);
    };
    let from_subject = obj
        .get("subject")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix("zen:ticket:"))
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.chars().count() <= MAX_ID_LEN)
        .map(str::to_string);
    let external_id = match optional_id(detail, "id", "detail", &mut problems) {
        Some(id) => Some(id),
        None if from_subject.is_some() => from_subject,
        None => {
            if !problems.iter().any(|p| p.path == "detail.id") {
                problems.push(Problem::new("detail.id", "is required"));
            }
            None
        }
    };

    let subject = text_at(detail, "subject")
        .map(|s| clip_chars(s, MAX_SUBJECT_CHARS))
        .unwrap_or_default();
    let description = text_at(detail, "description").unwrap_or("");
    let customer_comment = if event_name == "comment_added" {
        dig(obj, &["event", "comment"])
            .and_then(Value::as_object)
            .filter(|c| c.get("is_public").and_then(Value::as_bool) != Some(false))
            .filter(|c| dig(c, &["author", "is_staff"]).and_then(Value::as_bool) != Some(true))
            .and_then(|c| text_at(c, "body"))
    } else {
        None
    };
    let text = clip_bytes(customer_comment.unwrap_or(description), MAX_TEXT_BYTES).to_string();

    let status_raw = text_at(detail, "status").or_else(|| {
        (event_name == "status_changed")
            .then(|| obj.get("event").and_then(|e| e.get("current")))
            .flatten()
            .and_then(Value::as_str)
    });
    let status = match status_raw {
        None => TicketStatus::Open,
        Some(s) => TicketStatus::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                "detail.status",
                format!(
                    "is {s:?}, not a Zendesk status (NEW, OPEN, PENDING, HOLD, SOLVED, CLOSED)"
                ),
            ));
            TicketStatus::Open
        }),
    };
    let priority = match text_at(detail, "priority") {
        None => Priority::Normal,
        Some(p) => Priority::parse_loose(p).unwrap_or_else(|| {
            problems.push(Problem::new(
                "detail.priority",
                format!("is {p:?}, not a Zendesk priority (LOW, NORMAL, HIGH, URGENT)"),
            ));
            Priority::Normal
        }),
    };

    let event_time = instant_at(obj, "time", "", &mut problems);
    let created_at = instant_at(detail, "created_at", "detail", &mut problems).or(event_time);
    if created_at.is_none() && !problems.iter().any(|p| p.path == "detail.created_at") {
        problems.push(Problem::new(
            "detail.created_at",
            "is required (or the event's time)",
        ));
    }
    let updated_at = instant_at(detail, "updated_at", "detail", &mut problems)
        .or(event_time)
        .or(created_at);

    let organization =
        optional_id(detail, "organization_id", "detail", &mut problems).filter(|id| id != "0");
    let tags = loose_tags(detail.get("tags"));

    match (external_id, created_at, updated_at, problems.is_empty()) {
        (Some(external_id), Some(created_at), Some(updated_at), true) => Ok(Some(TicketUpdate {
            source: TicketSource::Zendesk,
            external_id,
            requester_email: None,
            requester_external_id: None,
            organization,
            subject,
            text,
            status,
            priority,
            created_at,
            updated_at,
            solved_at: status.is_resolved().then_some(updated_at),
            satisfaction: None,
            tags,
        })),
        _ => Err(problems),
    }
}

fn parse_zendesk_trigger(ticket: &Map<String, Value>) -> Result<TicketUpdate, Vec<Problem>> {
    let p = "ticket";
    let mut problems = Vec::new();
    let external_id = required_id(ticket, "id", p, &mut problems);
    let subject = text_at(ticket, "subject")
        .or_else(|| text_at(ticket, "title"))
        .map(|s| clip_chars(s, MAX_SUBJECT_CHARS))
        .unwrap_or_default();
    let text = [
        "latest_comment",
        "latest_public_comment",
        "comment",
        "description",
    ]
    .iter()
    .find_map(|k| text_at(ticket, k))
    .map(|t| clip_bytes(t, MAX_TEXT_BYTES).to_string())
    .unwrap_or_default();

    let status = match text_at(ticket, "status") {
        None => TicketStatus::Open,
        Some(s) => TicketStatus::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                at(p, "status"),
                format!(
                    "is {s:?}, not a Zendesk status (New, Open, Pending, On-hold, Solved, Closed)"
                ),
            ));
            TicketStatus::Open
        }),
    };
    let priority = match text_at(ticket, "priority") {
        None | Some("-") => Priority::Normal,
        Some(s) => Priority::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                at(p, "priority"),
                format!("is {s:?}, not a Zendesk priority (Low, Normal, High, Urgent)"),
            ));
            Priority::Normal
        }),
    };
    let satisfaction = text_at(ticket, "satisfaction").and_then(|s| {
        let s = s.to_lowercase();
        if s.starts_with("good") {
            Some(Satisfaction::Good)
        } else if s.starts_with("bad") {
            Some(Satisfaction::Bad)
        } else {
            None
        }
    });

    let created_at = instant_at(ticket, "created_at", p, &mut problems);
    if created_at.is_none() && !problems.iter().any(|x| x.path == "ticket.created_at") {
        problems.push(Problem::new(
            "ticket.created_at",
            "is required: use {{ticket.created_at_with_timestamp}}",
        ));
    }
    let updated_at = instant_at(ticket, "updated_at", p, &mut problems).or(created_at);
    let solved_at = instant_at(ticket, "solved_at", p, &mut problems)
        .or_else(|| updated_at.filter(|_| status.is_resolved()));

    let requester_email = loose_email(text_at(ticket, "requester_email"));
    let requester_external_id = optional_id(ticket, "requester_external_id", p, &mut problems);
    let organization = [
        "organization_external_id",
        "organization_id",
        "organization",
    ]
    .iter()
    .find_map(|k| optional_id(ticket, k, p, &mut problems));
    let tags = loose_tags(ticket.get("tags"));

    match (external_id, created_at, updated_at, problems.is_empty()) {
        (Some(external_id), Some(created_at), Some(updated_at), true) => Ok(TicketUpdate {
            source: TicketSource::Zendesk,
            external_id,
            requester_email,
            requester_external_id,
            organization,
            subject,
            text,
            status,
            priority,
            created_at,
            updated_at,
            solved_at,
            satisfaction,
            tags,
        }),
        _ => Err(problems),
    }
}

// ---------------------------------------------------------------------------------------
// Intercom
// ---------------------------------------------------------------------------------------

/// Contact roles whose words are the customer's (not an admin's, bot's or team's).
fn is_customer_author(author: Option<&Value>) -> bool {
    matches!(
        author.and_then(|a| a.get("type")).and_then(Value::as_str),
        Some("user" | "lead" | "contact")
    )
}

/// Parses an Intercom webhook notification: `{"type": "notification_event", "topic":
/// "conversation.user.created", "id": "notif_…", "created_at": <unix>, "data": {"item":
/// {"type": "conversation", …}}}`.
///
/// `Ok(None)` for the `ping` sent when the webhook is saved, for `conversation.deleted`,
/// and for any topic whose item is not a conversation (contacts, companies, Intercom
/// Tickets). For a conversation: `state` open/snoozed/closed → Open/Pending/Closed (else
/// the `open` flag); `priority` → High, anything else Normal; the text is the opening
/// message (`source.body`, or v1's `conversation_message.body`) and every customer
/// comment in `conversation_parts`, HTML stripped, admin and bot parts left out; the
/// subject is the `title`, else `source.subject`, else the text's first line (cut to 120
/// characters); `conversation_rating.rating` (1–5) is the satisfaction; tags from
/// `tags.tags[].name`. The requester email is the customer author's, else the first
/// contact's; `requester_external_id` is the first contact's `external_id`. Intercom
/// conversations name no company, so `organization` is only set when the item has a
/// `company` object (`company_id`, else `id`).
///
/// # Errors
/// Every problem found, by field path (`data.item.id`, `topic`).
pub fn parse_intercom(payload: &[u8]) -> Result<Option<TicketUpdate>, Vec<Problem>> {
    let obj = json_object(payload)?;
    let mut problems = Vec::new();
    if obj.get("type").and_then(Value::as_str) != Some("notification_event") {
        problems.push(Problem::new("type", "must be \"notification_event\""));
    }
    let topic = text_at(&obj, "topic");
    if topic.is_none() {
        problems.push(Problem::new("topic", "is required"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if matches!(topic, Some("ping" | "conversation.deleted")) {
        return Ok(None);
    }
    let Some(item) = dig(&obj, &["data", "item"]).and_then(Value::as_object) else {
        return Err(vec![Problem::new(
            "data.item",
            "is required and must be an object",
        )]);
    };
    if item.get("type").and_then(Value::as_str) != Some("conversation") {
        return Ok(None);
    }
    let p = "data.item";
    let external_id = required_id(item, "id", p, &mut problems);

    let notified_at = obj.get("created_at").and_then(unix_instant);
    let created_at = item
        .get("created_at")
        .and_then(unix_instant)
        .or(notified_at);
    if created_at.is_none() {
        problems.push(Problem::new(
            at(p, "created_at"),
            "is required (a Unix time in seconds)",
        ));
    }
    let updated_at = item
        .get("updated_at")
        .and_then(unix_instant)
        .or(notified_at)
        .or(created_at);

    let status = match text_at(item, "state") {
        Some("open") => TicketStatus::Open,
        Some("snoozed") => TicketStatus::Pending,
        Some("closed") => TicketStatus::Closed,
        Some(other) => {
            problems.push(Problem::new(
                at(p, "state"),
                format!("is {other:?}, not open, snoozed or closed"),
            ));
            TicketStatus::Open
        }
        None => match item.get("open").and_then(Value::as_bool) {
            Some(false) => TicketStatus::Closed,
            _ => TicketStatus::Open,
        },
    };
    let priority = match text_at(item, "priority") {
        Some("priority") => Priority::High,
        _ => Priority::Normal,
    };

    let source = item
        .get("source")
        .or_else(|| item.get("conversation_message"))
        .and_then(Value::as_object);
    let source_author = source.and_then(|s| s.get("author"));
    let mut pieces: Vec<String> = Vec::new();
    if let Some(body) = source
        .filter(|_| is_customer_author(source_author))
        .and_then(|s| text_at(s, "body"))
    {
        pieces.push(html_to_text(body));
    }
    let parts = dig(item, &["conversation_parts", "conversation_parts"])
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for part in parts {
        let Some(part) = part.as_object() else {
            continue;
        };
        let is_note = part.get("part_type").and_then(Value::as_str) == Some("note");
        if !is_note && is_customer_author(part.get("author")) {
            if let Some(body) = text_at(part, "body") {
                pieces.push(html_to_text(body));
            }
        }
    }
    pieces.retain(|s| !s.is_empty());
    let text = clip_bytes(&pieces.join("\n\n"), MAX_TEXT_BYTES).to_string();

    let subject = text_at(item, "title")
        .map(html_to_text)
        .or_else(|| source.and_then(|s| text_at(s, "subject")).map(html_to_text))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| clip_chars(text.lines().next().unwrap_or(""), 120));
    let subject = clip_chars(&subject, MAX_SUBJECT_CHARS);

    let contacts = dig(item, &["contacts", "contacts"])
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let requester_email = loose_email(
        source_author
            .filter(|a| is_customer_author(Some(a)))
            .and_then(|a| a.get("email"))
            .and_then(Value::as_str),
    )
    .or_else(|| {
        contacts
            .iter()
            .find_map(|c| loose_email(c.get("email").and_then(Value::as_str)))
    })
    .or_else(|| loose_email(dig(item, &["user", "email"]).and_then(Value::as_str)));
    let requester_external_id = contacts
        .iter()
        .find_map(|c| c.get("external_id").and_then(id_of))
        .filter(|id| id.chars().count() <= MAX_ID_LEN);
    let organization = item
        .get("company")
        .and_then(Value::as_object)
        .and_then(|c| {
            c.get("company_id")
                .and_then(id_of)
                .or_else(|| c.get("id").and_then(id_of))
        })
        .filter(|id| id.chars().count() <= MAX_ID_LEN);

    let satisfaction = match dig(item, &["conversation_rating", "rating"]) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().and_then(Satisfaction::rating) {
            Some(s) => Some(s),
            None => {
                problems.push(Problem::new(
                    "data.item.conversation_rating.rating",
                    "must be an integer from 1 to 5",
                ));
                None
            }
        },
    };
    let tag_names: Vec<Value> = dig(item, &["tags", "tags"])
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(|t| t.get("name").cloned()).collect())
        .unwrap_or_default();
    let tags = loose_tags(Some(&Value::Array(tag_names)));

    let solved_at = status.is_resolved().then(|| {
        dig(item, &["statistics", "last_close_at"])
            .and_then(unix_instant)
            .or(updated_at)
    });

    match (external_id, created_at, updated_at, problems.is_empty()) {
        (Some(external_id), Some(created_at), Some(updated_at), true) => Ok(Some(TicketUpdate {
            source: TicketSource::Intercom,
            external_id,
            requester_email,
            requester_external_id,
            organization,
            subject,
            text,
            status,
            priority,
            created_at,
            updated_at,
            solved_at: solved_at.flatten(),
            satisfaction,
            tags,
        })),
        _ => Err(problems),
    }
}

// ---------------------------------------------------------------------------------------
// Our own JSON, for any helpdesk
// ---------------------------------------------------------------------------------------

/// Earliest accepted ticket time: anything older is a mistake, not history.
fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .expect("valid date")
}

/// A time in our API: optional, ISO-8601, not before 2000, at most a day ahead of `now`.
fn api_instant(
    obj: &Map<String, Value>,
    key: &str,
    now: DateTime<Utc>,
    problems: &mut Vec<Problem>,
) -> Option<DateTime<Utc>> {
    let t = instant_at(obj, key, "", problems)?;
    if t > now + Duration::hours(MAX_FUTURE_SKEW_HOURS) {
        problems.push(Problem::new(key, "is more than 24 hours in the future"));
        None
    } else if t < earliest() {
        problems.push(Problem::new(key, "is before the year 2000"));
        None
    } else {
        Some(t)
    }
}

/// Parses a ticket sent to our API by any helpdesk (or a script). `now` is the time of
/// receipt, the default for `created_at`.
///
/// ```json
/// {"id": "T-1042",                          // required: string or integer
///  "customer_external_id": "acct_42",       // the account's id in the customer's product,
///  "requester_email": "ana@acme.com",       //   and/or the requester's email,
///  "requester_external_id": "user_7",       //   and/or the requester's user id: one needed
///  "subject": "Export fails",               // required, at most 500 characters
///  "body": "Since Monday the export…",      // plain text, at most 64 KB
///  "status": "open",                        // new|open|pending|on_hold|solved|closed (default open)
///  "priority": "normal",                    // low|normal|high|urgent (default normal)
///  "created_at": "2026-05-01T09:00:00Z",    // ISO-8601, default now
///  "updated_at": "…", "solved_at": "…",     // ISO-8601; updated_at defaults to created_at
///  "satisfaction": "good",                  // "good", "bad" or 1–5
///  "tags": ["billing", "export"]}           // at most 100, each at most 100 characters
/// ```
///
/// Status and priority are read in any case, also `hold`/`on-hold`, `resolved` and
/// `medium`; other values are problems. Times may not be before 2000 nor more than a
/// day ahead, `updated_at` and `solved_at` not before `created_at`. An unset `solved_at`
/// on a solved or closed ticket is `updated_at`. Unknown fields are ignored.
///
/// # Errors
/// Every problem found, by field path (`subject`, `tags[2]`).
pub fn parse_generic(value: &Value, now: DateTime<Utc>) -> Result<TicketUpdate, Vec<Problem>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![Problem::new("body", "must be a JSON object")]);
    };
    let mut problems = Vec::new();
    let external_id = required_id(obj, "id", "", &mut problems);

    let organization = optional_id(obj, "customer_external_id", "", &mut problems);
    let requester_external_id = optional_id(obj, "requester_external_id", "", &mut problems);
    let requester_email = match obj.get("requester_email") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if looks_like_email(s.trim()) => Some(s.trim().to_lowercase()),
        Some(Value::String(_)) => {
            problems.push(Problem::new("requester_email", "must be an email address"));
            None
        }
        Some(_) => {
            problems.push(Problem::new("requester_email", "must be a string"));
            None
        }
    };
    let key_paths = [
        "customer_external_id",
        "requester_email",
        "requester_external_id",
    ];
    if organization.is_none()
        && requester_email.is_none()
        && requester_external_id.is_none()
        && !problems
            .iter()
            .any(|p| key_paths.contains(&p.path.as_str()))
    {
        problems.push(Problem::new(
            "customer_external_id",
            "customer_external_id, requester_email or requester_external_id is required",
        ));
    }

    let subject = match obj.get("subject") {
        None | Some(Value::Null) => {
            problems.push(Problem::new("subject", "is required"));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            problems.push(Problem::new("subject", "is required"));
            None
        }
        Some(Value::String(s)) if s.trim().chars().count() > MAX_SUBJECT_CHARS => {
            problems.push(Problem::new(
                "subject",
                format!("must be at most {MAX_SUBJECT_CHARS} characters"),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(_) => {
            problems.push(Problem::new("subject", "must be a string"));
            None
        }
    };
    let text = match obj.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.len() > MAX_TEXT_BYTES => {
            problems.push(Problem::new(
                "body",
                format!("must be at most {} KB", MAX_TEXT_BYTES / 1024),
            ));
            String::new()
        }
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => {
            problems.push(Problem::new("body", "must be a string"));
            String::new()
        }
    };

    let status = match obj.get("status") {
        None | Some(Value::Null) => TicketStatus::Open,
        Some(Value::String(s)) => TicketStatus::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                "status",
                "must be new, open, pending, on_hold, solved or closed",
            ));
            TicketStatus::Open
        }),
        Some(_) => {
            problems.push(Problem::new("status", "must be a string"));
            TicketStatus::Open
        }
    };
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => Priority::Normal,
        Some(Value::String(s)) => Priority::parse_loose(s).unwrap_or_else(|| {
            problems.push(Problem::new(
                "priority",
                "must be low, normal, high or urgent",
            ));
            Priority::Normal
        }),
        Some(_) => {
            problems.push(Problem::new("priority", "must be a string"));
            Priority::Normal
        }
    };

    let created_given = obj.get("created_at").is_some_and(|v| !v.is_null());
    let created_at = api_instant(obj, "created_at", now, &mut problems);
    let created_ok = created_at.is_some() || !created_given;
    let created_at = created_at.unwrap_or(now);
    let updated_at = api_instant(obj, "updated_at", now, &mut problems);
    let solved_at = api_instant(obj, "solved_at", now, &mut problems);
    for (key, t) in [("updated_at", updated_at), ("solved_at", solved_at)] {
        if created_ok && t.is_some_and(|t| t < created_at) {
            problems.push(Problem::new(key, "must not be before created_at"));
        }
    }
    let updated_at = updated_at.unwrap_or(created_at);
    let solved_at = solved_at.or_else(|| status.is_resolved().then_some(updated_at));

    let satisfaction = match obj.get("satisfaction") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let s = s.trim().to_ascii_lowercase();
            let parsed = match s.as_str() {
                "good" => Some(Satisfaction::Good),
                "bad" => Some(Satisfaction::Bad),
                other => Satisfaction::parse(other),
            };
            if parsed.is_none() {
                problems.push(Problem::new(
                    "satisfaction",
                    "must be \"good\", \"bad\" or a rating from 1 to 5",
                ));
            }
            parsed
        }
        Some(Value::Number(n)) => n.as_i64().and_then(Satisfaction::rating).or_else(|| {
            problems.push(Problem::new(
                "satisfaction",
                "must be \"good\", \"bad\" or a rating from 1 to 5",
            ));
            None
        }),
        Some(_) => {
            problems.push(Problem::new(
                "satisfaction",
                "must be \"good\", \"bad\" or a rating from 1 to 5",
            ));
            None
        }
    };

    let mut tags: Vec<String> = Vec::new();
    match obj.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            if items.len() > MAX_TAGS {
                problems.push(Problem::new(
                    "tags",
                    format!("must have at most {MAX_TAGS} tags"),
                ));
            }
            for (i, item) in items.iter().enumerate().take(MAX_TAGS) {
                match item {
                    Value::String(t) if t.trim().is_empty() => {
                        problems.push(Problem::new(format!("tags[{i}]"), "must not be empty"))
                    }
                    Value::String(t) if t.trim().chars().count() > MAX_TAG_LEN => {
                        problems.push(Problem::new(
                            format!("tags[{i}]"),
                            format!("must be at most {MAX_TAG_LEN} characters"),
                        ))
                    }
                    Value::String(t) => {
                        let t = t.trim().to_string();
                        if !tags.contains(&t) {
                            tags.push(t);
                        }
                    }
                    _ => problems.push(Problem::new(format!("tags[{i}]"), "must be a string")),
                }
            }
        }
        Some(_) => problems.push(Problem::new("tags", "must be an array of strings")),
    }

    match (external_id, subject, problems.is_empty()) {
        (Some(external_id), Some(subject), true) => Ok(TicketUpdate {
            source: TicketSource::Api,
            external_id,
            requester_email,
            requester_external_id,
            organization,
            subject,
            text,
            status,
            priority,
            created_at,
            updated_at,
            solved_at,
            satisfaction,
            tags,
        }),
        _ => Err(problems),
    }
}

// ---------------------------------------------------------------------------------------
// Text signals
// ---------------------------------------------------------------------------------------

/// VADER's documented reading of the compound score: ≤ −0.05 negative, ≥ 0.05 positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    Negative,
    Neutral,
    Positive,
}

impl SentimentLabel {
    pub const ALL: [SentimentLabel; 3] = [
        SentimentLabel::Negative,
        SentimentLabel::Neutral,
        SentimentLabel::Positive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SentimentLabel::Negative => "negative",
            SentimentLabel::Neutral => "neutral",
            SentimentLabel::Positive => "positive",
        }
    }

    pub fn parse(raw: &str) -> Option<SentimentLabel> {
        Self::ALL.into_iter().find(|l| l.as_str() == raw)
    }

    /// The label for a VADER compound score (thresholds from VADER's README).
    pub fn from_compound(compound: f64) -> SentimentLabel {
        if compound >= 0.05 {
            SentimentLabel::Positive
        } else if compound <= -0.05 {
            SentimentLabel::Negative
        } else {
            SentimentLabel::Neutral
        }
    }
}

/// What a ticket's words say about the account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextSignals {
    /// VADER compound score, −1 (most negative) to 1 (most positive).
    pub sentiment: f64,
    pub label: SentimentLabel,
    /// The customer talks about leaving: cancelling, not renewing, a refund, a competitor,
    /// the price being too high, downgrading.
    pub cancellation_intent: bool,
    /// The words that matched, as written (e.g. "cancel our subscription", "won't be
    /// renewing"), so the UI can say why a ticket was flagged.
    pub intent_phrases: Vec<String>,
}

impl TextSignals {
    /// The matched phrases as one line for storage and display ("cancel, too expensive"),
    /// at most 500 characters; `None` when nothing matched.
    pub fn intent_summary(&self) -> Option<String> {
        (!self.intent_phrases.is_empty())
            .then(|| self.intent_phrases.join(", ").chars().take(500).collect())
    }
}

/// The sentiment model, built once per process: loading VADER's lexicon (about 7,500
/// words and 3,500 emoji) is the costly part, scoring a ticket is one linear pass.
///
/// Crate: `vader-parity`. Of the crates.io VADER ports, `vader_sentiment` (0.1.1, 2019)
/// is unmaintained and `vader-sentimental` (0.1.3, 2026) is a faster fork of it; both
/// carry its scoring defects, which flip the sign of the compound score on ordinary
/// sentences ("he is at least smart" scores −0.31 instead of +0.40; "shittiest" matches
/// "the shit" and scores positive) and drift from the reference on many others.
/// `vader-parity` (0.1, 2026) reimplements Python vaderSentiment 3.3.2 over its own
/// lexicon files and tests output parity against it. On 28 sentences (ticket texts and
/// VADER's README examples) scored by Python vaderSentiment 3.3.2, it matched every
/// compound score; the other two differed beyond rounding on 12, two with the opposite
/// sign, and scored "How do I export a CSV of all users?" as negative. It has no
/// dependencies (its data is `include_str!`'d, nothing is read at run time), so it
/// builds for `wasm32-unknown-unknown`, and its scoring is total: any `&str` scores. Its
/// risk is youth (a single release); the API used here is one call.
fn sentiment_model() -> &'static vader_parity::SentimentIntensityAnalyzer {
    static MODEL: OnceLock<vader_parity::SentimentIntensityAnalyzer> = OnceLock::new();
    MODEL.get_or_init(vader_parity::SentimentIntensityAnalyzer::new)
}

/// Sentiment and cancellation intent of a ticket's subject and text together. Each is
/// cut to [`MAX_TEXT_BYTES`] first, so the work is bounded whatever the input.
///
/// Cancellation intent is phrase patterns over the words (case-folded, typographic
/// apostrophes straightened, split into clauses at punctuation), each match reported in
/// `intent_phrases`:
/// - cancel / terminate / discontinue / downgrade, with its object: an account noun
///   ("cancel our subscription", "terminate the contract") or none ("we want to cancel")
///   is intent; an everyday object is not ("cancel the meeting/invite/order/export/job",
///   "how do I cancel a scheduled report", "downgrade the browser version"), nor "the
///   call was cancelled", "meeting cancellation", "clicked cancel" or "the cancel button".
///   Terminate and discontinue need an account noun or no object at all.
/// - "cancellation" ("cancellation request", "cancellation of our plan"), "refund",
///   "chargeback", "money back".
/// - not renewing: a negation before renew/renewal ("won't be renewing", "do not plan to
///   renew", "non-renewal", "decided against renewing"); "can't renew" (a payment
///   problem) is not intent.
/// - a competitor: "switching/moving/migrating to" or "going with" a capitalised name
///   ("switching to Gainsight"; not months, days, plan names such as Enterprise, or
///   regions) or "a competitor", "another/a different/a cheaper tool|vendor|platform…";
///   "moving away from"; "looking at/evaluating/considering alternatives|competitors|
///   other vendors".
/// - price: "too expensive/pricey/costly", "overpriced", "can't afford", "not worth the
///   money/price/cost".
/// - "close/end/stop/drop our account|contract|subscription…" ("at the end of our
///   contract" is not), "stop using your product", "stop paying", "let the contract
///   lapse/expire".
///
/// A negation within four words before the match, in the same clause and not cut off
/// by "but", cancels it: "we do NOT want to cancel", "we don't want to cancel, just
/// pause", "no refund needed". "Can't"/"cannot" is not a negation ("I can't cancel my
/// subscription" is intent), nor "don't know/see/find" ("I don't know how to cancel").
/// Not caught: intent without these words ("we're done with you"), lowercase competitor
/// names; and "moving to Chicago" is a false positive.
pub fn analyze(subject: &str, text: &str) -> TextSignals {
    let subject = clip_bytes(subject, MAX_TEXT_BYTES).trim();
    let text = clip_bytes(text, MAX_TEXT_BYTES).trim();
    let joined = match (subject.is_empty(), text.is_empty()) {
        (true, _) => text.to_string(),
        (false, true) => subject.to_string(),
        (false, false) => format!("{subject}\n{text}"),
    };
    let compound = sentiment_model().polarity_scores(&joined).compound;
    let sentiment = if compound.is_finite() {
        compound.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let mut intent_phrases: Vec<String> = Vec::new();
    for part in [subject, text] {
        for clause in clauses(part) {
            for phrase in intent_in_clause(&clause) {
                if !intent_phrases
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&phrase))
                {
                    intent_phrases.push(phrase);
                }
            }
        }
    }
    TextSignals {
        sentiment,
        label: SentimentLabel::from_compound(sentiment),
        cancellation_intent: !intent_phrases.is_empty(),
        intent_phrases,
    }
}

/// One word: as written (for the UI) and case-folded (for matching).
#[derive(Debug)]
struct Word {
    orig: String,
    norm: String,
}

fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '\n'
            | '\r'
            | '('
            | ')'
            | '['
            | ']'
            | '"'
            | '\u{201C}'
            | '\u{201D}'
            | '\u{2026}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2022}'
    )
}

/// Words in clauses: letters, digits and apostrophes make words; punctuation ends a
/// clause; anything else (spaces, hyphens, slashes) only separates words.
fn clauses(text: &str) -> Vec<Vec<Word>> {
    fn flush(word: &mut String, clause: &mut Vec<Word>) {
        let w = word.trim_matches('\'');
        if !w.is_empty() {
            clause.push(Word {
                orig: w.to_string(),
                norm: w.to_lowercase(),
            });
        }
        word.clear();
    }
    let mut out = Vec::new();
    let mut clause = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let c = match c {
            '\u{2019}' | '\u{2018}' | '`' => '\'',
            c => c,
        };
        if c.is_alphanumeric() || c == '\'' {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut clause);
        if is_clause_break(c) && !clause.is_empty() {
            out.push(std::mem::take(&mut clause));
        }
    }
    flush(&mut word, &mut clause);
    if !clause.is_empty() {
        out.push(clause);
    }
    out
}

const CANCEL_VERBS: &[&str] = &[
    "cancel",
    "cancels",
    "cancelling",
    "canceling",
    "cancelled",
    "canceled",
    "downgrade",
    "downgrades",
    "downgrading",
    "downgraded",
];
/// Need an account noun or no object: "terminate the instance" is ops, not churn.
const TERMINATE_VERBS: &[&str] = &[
    "terminate",
    "terminates",
    "terminating",
    "terminated",
    "discontinue",
    "discontinues",
    "discontinuing",
    "discontinued",
];
const PARTICIPLES: &[&str] = &[
    "cancelled",
    "canceled",
    "downgraded",
    "terminated",
    "discontinued",
];
const CANCEL_NOUNS: &[&str] = &[
    "cancellation",
    "cancellations",
    "cancelation",
    "cancelations",
    "termination",
];
/// Everyday verbs that only mean leaving with an account noun: "close our account".
const WEAK_VERBS: &[&str] = &[
    "end", "ending", "close", "closing", "stop", "stopping", "drop", "dropping",
];
const ACCOUNT_NOUNS: &[&str] = &[
    "subscription",
    "subscriptions",
    "account",
    "accounts",
    "plan",
    "plans",
    "contract",
    "contracts",
    "renewal",
    "service",
    "services",
    "membership",
    "memberships",
    "license",
    "licenses",
    "licence",
    "licences",
    "seat",
    "seats",
    "workspace",
    "agreement",
    "trial",
    "tier",
    "partnership",
    "relationship",
    "product",
    "platform",
    "software",
];
/// Objects that make "cancel" an everyday action.
const EVERYDAY_OBJECTS: &[&str] = &[
    "meeting",
    "meetings",
    "call",
    "calls",
    "invite",
    "invites",
    "invitation",
    "invitations",
    "appointment",
    "appointments",
    "demo",
    "webinar",
    "webinars",
    "event",
    "events",
    "session",
    "sessions",
    "training",
    "onboarding",
    "qbr",
    "order",
    "orders",
    "export",
    "exports",
    "import",
    "imports",
    "job",
    "jobs",
    "report",
    "reports",
    "scheduled",
    "schedule",
    "recurring",
    "upload",
    "uploads",
    "download",
    "downloads",
    "sync",
    "run",
    "runs",
    "task",
    "tasks",
    "workflow",
    "workflows",
    "automation",
    "automations",
    "campaign",
    "campaigns",
    "email",
    "emails",
    "message",
    "messages",
    "notification",
    "notifications",
    "reminder",
    "reminders",
    "request",
    "requests",
    "ticket",
    "tickets",
    "query",
    "queries",
    "build",
    "builds",
    "deployment",
    "deploy",
    "migration",
    "transfer",
    "booking",
    "reservation",
    "payment",
    "payments",
    "invoice",
    "invoices",
    "charge",
    "edit",
    "edits",
    "change",
    "changes",
    "operation",
    "process",
    "action",
    "button",
    "link",
    "icon",
    "dialog",
    "upgrade",
    "backup",
    "batch",
    "version",
    "release",
    "instance",
    "server",
    "connection",
    "container",
    "script",
    "refresh",
    "update",
    "updates",
    "installation",
    "shipment",
    "delivery",
    "browser",
];
/// Skipped when looking for a verb's object.
const FILLER: &[&str] = &[
    "our",
    "my",
    "the",
    "this",
    "that",
    "these",
    "those",
    "your",
    "a",
    "an",
    "their",
    "its",
    "his",
    "her",
    "all",
    "of",
    "entire",
    "whole",
    "current",
    "existing",
    "it",
    "them",
    "immediately",
    "asap",
    "now",
    "today",
    "please",
    "effective",
    "for",
    "us",
    "me",
    "to",
    "from",
];
/// Skipped when looking back from a participle: "the meeting was cancelled".
const AUXILIARIES: &[&str] = &[
    "was", "were", "is", "are", "be", "been", "being", "got", "get", "gets", "has", "have", "had",
    "just", "already",
];
const CLICKS: &[&str] = &[
    "click",
    "clicked",
    "clicking",
    "clicks",
    "press",
    "pressed",
    "pressing",
    "hit",
    "hitting",
    "tap",
    "tapped",
    "tapping",
    "select",
    "selected",
    "selecting",
    "choose",
    "chose",
];
const NEGATORS: &[&str] = &[
    "not",
    "no",
    "never",
    "nor",
    "neither",
    "non",
    "without",
    "don't",
    "doesn't",
    "didn't",
    "won't",
    "wouldn't",
    "shouldn't",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "haven't",
    "hasn't",
    "hadn't",
    "mustn't",
    "needn't",
    "dont",
    "doesnt",
    "didnt",
    "wont",
    "wouldnt",
    "shouldnt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "havent",
    "hasnt",
    "hadnt",
];
/// A negation followed by these is about knowing, not wanting: "I don't know how to cancel".
const NOT_NEGATING_NEXT: &[&str] = &["know", "see", "find", "understand", "sure", "get"];
/// These end a negation's reach: "no choice but to cancel".
const NEGATION_RESETS: &[&str] = &["but", "however", "although", "though", "otherwise"];
const RENEW_WORDS: &[&str] = &[
    "renew",
    "renewing",
    "renewal",
    "renewals",
    "extend",
    "extending",
];
const REFUND_WORDS: &[&str] = &[
    "refund",
    "refunds",
    "refunded",
    "refunding",
    "chargeback",
    "chargebacks",
];
const SWITCH_VERBS: &[&str] = &[
    "switch",
    "switching",
    "switched",
    "move",
    "moving",
    "moved",
    "migrate",
    "migrating",
    "migrated",
];
const COMPETITOR_WORDS: &[&str] = &[
    "competitor",
    "competitors",
    "competition",
    "alternative",
    "alternatives",
];
const VENDOR_NOUNS: &[&str] = &[
    "vendor",
    "vendors",
    "provider",
    "providers",
    "tool",
    "tools",
    "platform",
    "platforms",
    "solution",
    "solutions",
    "product",
    "products",
    "system",
    "systems",
    "software",
    "service",
    "services",
    "company",
    "options",
];
const VENDOR_ADJECTIVES: &[&str] = &[
    "other",
    "different",
    "new",
    "cheaper",
    "competing",
    "another",
];
const EVALUATING: &[&str] = &[
    "looking",
    "look",
    "evaluating",
    "evaluate",
    "exploring",
    "explore",
    "considering",
    "consider",
    "researching",
    "comparing",
    "compare",
    "reviewing",
    "shopping",
    "trialing",
    "trialling",
    "testing",
    "assessing",
    "weighing",
];
/// Capitalised words after "switching to" that are not a vendor.
const NOT_VENDORS: &[&str] = &[
    "i",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "next",
    "new",
    "the",
    "our",
    "your",
    "a",
    "an",
    "enterprise",
    "pro",
    "premium",
    "business",
    "team",
    "starter",
    "basic",
    "plus",
    "standard",
    "growth",
    "scale",
    "free",
    "professional",
    "essentials",
    "ultimate",
    "annual",
    "monthly",
    "yearly",
    "quarterly",
    "version",
    "english",
    "spanish",
    "french",
    "german",
    "chrome",
    "firefox",
    "safari",
    "edge",
    "windows",
    "mac",
    "macos",
    "linux",
    "android",
    "google",
    "apple",
    "microsoft",
    "europe",
    "asia",
    "america",
    "dark",
    "light",
    "sso",
    "saml",
];

fn has(list: &[&str], w: &str) -> bool {
    list.contains(&w)
}

/// The index of a negation within `window` words before `idx`, if one reaches it.
fn negation_before(c: &[Word], idx: usize, window: usize) -> Option<usize> {
    for j in (idx.saturating_sub(window)..idx).rev() {
        let w = c[j].norm.as_str();
        if has(NEGATION_RESETS, w) {
            return None;
        }
        if !has(NEGATORS, w) {
            continue;
        }
        let after_can = w == "not" && j > 0 && matches!(c[j - 1].norm.as_str(), "can" | "could");
        let knowing = c
            .get(j + 1)
            .is_some_and(|n| has(NOT_NEGATING_NEXT, &n.norm));
        if !after_can && !knowing {
            return Some(j);
        }
    }
    None
}

enum Object {
    /// An account noun, at this index.
    Account(usize),
    Everyday,
    Unknown,
    None,
}

/// The object of the verb at `idx`: the first account or everyday noun among the next
/// three content words.
fn object_after(c: &[Word], idx: usize) -> Object {
    let mut content = 0;
    for (j, w) in c.iter().enumerate().skip(idx + 1) {
        let w = w.norm.as_str();
        if has(FILLER, w) {
            continue;
        }
        if has(ACCOUNT_NOUNS, w) {
            return Object::Account(j);
        }
        if has(EVERYDAY_OBJECTS, w) {
            return Object::Everyday;
        }
        content += 1;
        if content == 3 {
            break;
        }
    }
    if content == 0 {
        Object::None
    } else {
        Object::Unknown
    }
}

/// Whether an everyday noun comes just before `idx`: "the call was cancelled", "meeting
/// cancellation".
fn everyday_before(c: &[Word], idx: usize) -> bool {
    let mut content = 0;
    for w in c[..idx].iter().rev() {
        let w = w.norm.as_str();
        if has(FILLER, w) || has(AUXILIARIES, w) {
            continue;
        }
        if has(EVERYDAY_OBJECTS, w) {
            return true;
        }
        if has(ACCOUNT_NOUNS, w) {
            return false;
        }
        content += 1;
        if content == 2 {
            return false;
        }
    }
    false
}

/// A vendor's name: capitalised with lowercase after (Gainsight, HubSpot), not a month,
/// day, plan name or the like. All-caps words (SSO, EU, CSV) are not names here.
fn is_vendor_name(w: &Word) -> bool {
    let mut chars = w.orig.chars();
    chars.next().is_some_and(char::is_uppercase)
        && chars.any(char::is_lowercase)
        && !has(NOT_VENDORS, &w.norm)
}

/// Whether most words are capitalised, as in a Title Case Subject, where capitals say
/// nothing about names.
fn title_case(c: &[Word]) -> bool {
    let capitalised = c
        .iter()
        .filter(|w| w.orig.chars().next().is_some_and(char::is_uppercase))
        .count();
    c.len() >= 3 && capitalised * 5 >= c.len() * 4
}

/// Where a competitor is named from `k` on ("Gainsight", "a competitor", "another tool"),
/// the index of its last word.
fn competitor_at(c: &[Word], k: usize) -> Option<usize> {
    let first = c.get(k)?;
    if has(COMPETITOR_WORDS, &first.norm) {
        return Some(k);
    }
    if is_vendor_name(first) && !title_case(c) {
        return Some(k);
    }
    let mut qualified = first.norm == "another" || has(VENDOR_ADJECTIVES, &first.norm);
    if !matches!(first.norm.as_str(), "a" | "an" | "another" | "some" | "one") && !qualified {
        return None;
    }
    for (j, w) in c.iter().enumerate().skip(k + 1).take(2) {
        let w = w.norm.as_str();
        if has(COMPETITOR_WORDS, w) {
            return Some(j);
        }
        if has(VENDOR_NOUNS, w) && w != "options" {
            return qualified.then_some(j);
        }
        qualified |= has(VENDOR_ADJECTIVES, w);
    }
    None
}

fn phrase(c: &[Word], start: usize, end: usize) -> String {
    c[start..=end]
        .iter()
        .map(|w| w.orig.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every cancellation-intent phrase in one clause (see [`analyze`]).
fn intent_in_clause(c: &[Word]) -> Vec<String> {
    let mut found = Vec::new();
    for i in 0..c.len() {
        if let Some((start, end)) = intent_at(c, i) {
            found.push(phrase(c, start, end));
        }
    }
    found
}

/// A match starting from the word at `i`: its first and last word.
fn intent_at(c: &[Word], i: usize) -> Option<(usize, usize)> {
    let w = c[i].norm.as_str();
    let next = |n: usize| c.get(i + n).map(|w| w.norm.as_str());
    let prev = |n: usize| i.checked_sub(n).map(|j| c[j].norm.as_str());
    let not_negated =
        |span: (usize, usize)| negation_before(c, span.0, 4).is_none().then_some(span);

    if has(CANCEL_VERBS, w) || has(TERMINATE_VERBS, w) {
        let clicked = [prev(1), prev(2)]
            .into_iter()
            .flatten()
            .any(|p| has(CLICKS, p));
        if clicked || (has(PARTICIPLES, w) && everyday_before(c, i)) {
            return None;
        }
        let end = match object_after(c, i) {
            Object::Account(j) => j,
            Object::Everyday => return None,
            Object::None => i,
            Object::Unknown if has(TERMINATE_VERBS, w) => return None,
            Object::Unknown => i,
        };
        return not_negated((i, end));
    }
    if has(CANCEL_NOUNS, w) {
        if everyday_before(c, i) {
            return None;
        }
        let end = match (next(1), object_after(c, i)) {
            (Some("of"), Object::Account(j)) => j,
            (Some("of"), Object::Everyday) => return None,
            _ => i,
        };
        return not_negated((i, end));
    }
    if has(REFUND_WORDS, w) {
        return not_negated((i, i));
    }
    if w == "money" && next(1) == Some("back") {
        return not_negated((i, i + 1));
    }
    if has(RENEW_WORDS, w) {
        // Intent only when negated: "won't be renewing", "decided against renewing".
        if prev(1) == Some("against") {
            return Some((i - 1, i));
        }
        let unsure = (i.saturating_sub(5)..i).rev().find(|&j| {
            c[j].norm == "unsure"
                || (c[j].norm == "not" && c.get(j + 1).is_some_and(|n| n.norm == "sure"))
        });
        return negation_before(c, i, 5).or(unsure).map(|j| (j, i));
    }
    if w == "too" && matches!(next(1), Some("expensive" | "pricey" | "costly")) {
        return not_negated((i, i + 1));
    }
    if w == "overpriced" {
        return not_negated((i, i));
    }
    if w == "afford" {
        return match (prev(2), prev(1)) {
            (_, Some("can't" | "cannot" | "cant" | "couldn't" | "couldnt")) => Some((i - 1, i)),
            (Some("can" | "could"), Some("not")) => Some((i - 2, i)),
            _ => None,
        };
    }
    if w == "worth"
        && matches!(
            prev(1),
            Some("not" | "isn't" | "isnt" | "wasn't" | "aren't")
        )
    {
        let object = c
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(_, w)| !has(FILLER, &w.norm));
        if let Some((j, o)) = object {
            if has(
                &[
                    "money",
                    "price",
                    "cost",
                    "investment",
                    "spend",
                    "fee",
                    "fees",
                ],
                &o.norm,
            ) {
                return Some((i - 1, j));
            }
        }
        return None;
    }
    if has(SWITCH_VERBS, w) {
        let mut k = i + 1;
        if matches!(next(1), Some("over" | "back")) {
            k += 1;
        }
        let at_k = |n: usize| c.get(k + n).map(|w| w.norm.as_str());
        if at_k(0) == Some("away") && at_k(1) == Some("from") {
            return not_negated((i, k + 1));
        }
        if at_k(0) == Some("to") {
            return competitor_at(c, k + 1).and_then(|end| not_negated((i, end)));
        }
        return None;
    }
    if matches!(w, "go" | "going" | "went" | "gone") && next(1) == Some("with") {
        return competitor_at(c, i + 2).and_then(|end| not_negated((i, end)));
    }
    let evaluated = |from: usize| {
        (from.saturating_sub(3)..from)
            .rev()
            .find(|&j| has(EVALUATING, &c[j].norm))
    };
    if has(COMPETITOR_WORDS, w) {
        return evaluated(i).and_then(|v| not_negated((v, i)));
    }
    if has(VENDOR_NOUNS, w) && matches!(prev(1), Some("other" | "different" | "cheaper")) {
        return evaluated(i - 1).and_then(|v| not_negated((v, i)));
    }
    if has(WEAK_VERBS, w) {
        if next(1) == Some("of") || matches!(prev(1), Some("the" | "a" | "an" | "this" | "that")) {
            return None; // "at the end of our contract"
        }
        if matches!(w, "stop" | "stopping") {
            match next(1) {
                Some("paying") => return not_negated((i, i + 1)),
                Some("using") => {
                    let object = c
                        .iter()
                        .enumerate()
                        .skip(i + 2)
                        .find(|(_, w)| !has(FILLER, &w.norm));
                    return match object {
                        Some((j, o))
                            if has(ACCOUNT_NOUNS, &o.norm)
                                || has(&["you", "app", "tool", "system"], &o.norm) =>
                        {
                            not_negated((i, j))
                        }
                        _ => None,
                    };
                }
                _ => {}
            }
        }
        return match object_after(c, i) {
            Object::Account(j) => not_negated((i, j)),
            _ => None,
        };
    }
    if matches!(w, "lapse" | "expire") {
        let start = i.saturating_sub(5);
        let let_at = (start..i).rev().find(|&j| c[j].norm == "let")?;
        let names_account = c[let_at..i].iter().any(|w| has(ACCOUNT_NOUNS, &w.norm));
        return names_account.then_some((let_at, i)).and_then(not_negated);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    fn now() -> DateTime<Utc> {
        t("2026-06-01T12:00:00Z")
    }

    fn paths(problems: Vec<Problem>) -> Vec<String> {
        problems.into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn implausible_ticket_times_are_found() {
        let mut u = parse_generic(
            &json!({"id": "T1", "customer_external_id": "a", "subject": "S"}),
            now(),
        )
        .unwrap();
        assert!(u.implausible_time(now()).is_none());
        u.updated_at = t("9999-12-31T00:00:00Z");
        assert_eq!(u.implausible_time(now()).unwrap().path, "updated_at");
        u.updated_at = now();
        u.created_at = t("0000-01-01T00:00:00Z");
        assert_eq!(u.implausible_time(now()).unwrap().path, "created_at");
    }

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    // --- signatures -------------------------------------------------------------------

    const ZD_SECRET: &str = "dGhpc19zZWNyZXQ";
    const ZD_TS: &str = "2021-11-02T19:36:38Z";
    const ZD_BODY: &[u8] = br#"{"type":"zen:event-type:ticket.created"}"#;

    fn zd_now() -> DateTime<Utc> {
        t(ZD_TS) + Duration::seconds(30)
    }

    #[test]
    fn zendesk_signature_matches_an_independent_hmac() {
        // Computed with Python's hmac/hashlib/base64 over timestamp + body.
        let expected = "0aIvY4vdG8MrxpfMdYY7HdV9REfDGRfXLdaMXj8jHgo=";
        assert_eq!(sign_zendesk(ZD_BODY, ZD_SECRET, ZD_TS), expected);
        assert_eq!(
            verify_zendesk(expected, ZD_TS, ZD_BODY, ZD_SECRET, zd_now(), 300),
            Ok(())
        );
    }

    #[test]
    fn zendesk_refusals() {
        let sig = sign_zendesk(ZD_BODY, ZD_SECRET, ZD_TS);
        let check = |sig: &str, ts: &str, body: &[u8], secret: &str, now| {
            verify_zendesk(sig, ts, body, secret, now, ZENDESK_TOLERANCE_SECS)
        };
        let tampered = br#"{"type":"zen:event-type:ticket.deleted"}"#;
        assert_eq!(
            check(&sig, ZD_TS, tampered, ZD_SECRET, zd_now()),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&sig, ZD_TS, ZD_BODY, "another-secret", zd_now()),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed too: moving it breaks the signature.
        assert_eq!(
            check(&sig, "2021-11-02T19:36:39Z", ZD_BODY, ZD_SECRET, zd_now()),
            Err(SignatureError::Mismatch)
        );
        let late = t(ZD_TS) + Duration::minutes(6);
        assert_eq!(
            check(&sig, ZD_TS, ZD_BODY, ZD_SECRET, late),
            Err(SignatureError::Stale { skew_secs: 360 })
        );
        let early = t(ZD_TS) - Duration::minutes(10);
        assert_eq!(
            check(&sig, ZD_TS, ZD_BODY, ZD_SECRET, early),
            Err(SignatureError::Stale { skew_secs: -600 })
        );
        for bad in ["", "not base64!", "c2hvcnQ=", "sha256=abc"] {
            assert_eq!(
                check(bad, ZD_TS, ZD_BODY, ZD_SECRET, zd_now()),
                Err(SignatureError::MalformedSignature),
                "{bad:?}"
            );
        }
        assert_eq!(
            check(&sig, "1635881798", ZD_BODY, ZD_SECRET, zd_now()),
            Err(SignatureError::MalformedTimestamp)
        );
        assert_eq!(
            check(&sig, ZD_TS, ZD_BODY, "", zd_now()),
            Err(SignatureError::NoSecret)
        );
        assert!(SignatureError::Stale { skew_secs: 360 }
            .to_string()
            .contains("360s"));
    }

    #[test]
    fn intercom_signature() {
        let body = br#"{"type":"notification_event","topic":"ping"}"#;
        // Computed with Python's hmac/hashlib over the raw body.
        let expected = "sha1=892b7769941a3e2be74c75f056cfee7b10f5834d";
        assert_eq!(sign_intercom(body, "client_secret_123"), expected);
        assert_eq!(verify_intercom(expected, body, "client_secret_123"), Ok(()));
        assert_eq!(
            verify_intercom(
                &expected.to_uppercase().replace("SHA1=", "sha1="),
                body,
                "client_secret_123"
            ),
            Ok(()),
            "hex in either case"
        );
        assert_eq!(
            verify_intercom(
                expected,
                br#"{"type":"notification_event","topic":"pong"}"#,
                "client_secret_123"
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_intercom(expected, body, "other"),
            Err(SignatureError::Mismatch)
        );
        for bad in [
            "",
            "892b7769941a3e2be74c75f056cfee7b10f5834d",
            "sha256=892b7769941a3e2be74c75f056cfee7b10f5834d",
            "sha1=xyz",
            "sha1=892b77",
            "sha1=é",
        ] {
            assert_eq!(
                verify_intercom(bad, body, "client_secret_123"),
                Err(SignatureError::MalformedSignature),
                "{bad:?}"
            );
        }
        assert_eq!(
            verify_intercom(expected, body, ""),
            Err(SignatureError::NoSecret)
        );
    }

    // --- enums ------------------------------------------------------------------------

    #[test]
    fn stored_forms_round_trip() {
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        for s in TicketSource::ALL {
            assert_eq!(TicketSource::parse(s.as_str()), Some(s));
        }
        for l in SentimentLabel::ALL {
            assert_eq!(SentimentLabel::parse(l.as_str()), Some(l));
        }
        assert_eq!(TicketStatus::OnHold.as_str(), "on_hold");
        assert_eq!(TicketStatus::parse("On-hold"), None, "stored form is exact");
        assert_eq!(
            TicketStatus::parse_loose("On-hold"),
            Some(TicketStatus::OnHold)
        );
        assert_eq!(
            TicketStatus::parse_loose("HOLD"),
            Some(TicketStatus::OnHold)
        );
        let mut all = vec![Satisfaction::Good, Satisfaction::Bad];
        all.extend((1..=5).map(Satisfaction::Rating));
        for s in all {
            assert_eq!(Satisfaction::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(
                serde_json::from_value::<Satisfaction>(json!(s.as_str())).unwrap(),
                s
            );
        }
        assert_eq!(Satisfaction::Rating(4).as_str(), "rating:4");
        for bad in ["rating:0", "rating:6", "rating:44", "Good", "rating:"] {
            assert_eq!(Satisfaction::parse(bad), None, "{bad}");
        }
        assert!(serde_json::from_value::<Satisfaction>(json!("great")).is_err());
        assert!(Satisfaction::Rating(2).is_negative() && !Satisfaction::Rating(3).is_negative());
        assert!(Satisfaction::Good.is_positive() && Satisfaction::Rating(4).is_positive());
        assert_eq!(
            serde_json::to_value(TicketStatus::OnHold).unwrap(),
            json!("on_hold")
        );
    }

    #[test]
    fn instants_as_helpdesks_write_them() {
        assert_eq!(
            parse_instant("2013-12-12T05:35Z"),
            Some(t("2013-12-12T05:35:00Z")),
            "Zendesk's created_at_with_timestamp has no seconds"
        );
        assert_eq!(
            parse_instant("2024-04-17T19:18:10+02:00"),
            Some(t("2024-04-17T17:18:10Z"))
        );
        assert_eq!(
            parse_instant("2025-02-11T14:32:05.254571515Z").map(|d| d.timestamp()),
            Some(t("2025-02-11T14:32:05Z").timestamp())
        );
        for bad in ["", "yesterday", "2024-13-01T00:00:00Z", "1635881798"] {
            assert_eq!(parse_instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn html_becomes_plain_text() {
        assert_eq!(
            html_to_text("<p>Hi&nbsp;team,</p><p>We&#39;re seeing <b>errors</b> &amp; timeouts&hellip;<br>Since Monday.</p>"),
            "Hi team,\nWe're seeing errors & timeouts\u{2026}\nSince Monday."
        );
        assert_eq!(
            html_to_text("<style>p{color:red}</style><script>alert(1)</script>ok"),
            "ok"
        );
        assert_eq!(
            html_to_text("a < b && c &bogus; &#x1F600; &#0;"),
            "a < b && c &bogus; \u{1F600} &#0;"
        );
        assert_eq!(html_to_text("broken <a href=\"x\""), "broken <a href=\"x\"");
        assert_eq!(
            html_to_text("<ul><li>one</li><li>two</li></ul>"),
            "one\ntwo"
        );
        assert_eq!(html_to_text(""), "");
    }

    // --- Zendesk ----------------------------------------------------------------------

    fn zendesk_event(kind: &str, detail: Value, event: Value) -> Vec<u8> {
        bytes(json!({
            "type": format!("zen:event-type:{kind}"),
            "account_id": 22129848,
            "id": "cbe4028c-7239-495d-b020-f22348516046",
            "time": "2026-05-20T10:12:07.672717030Z",
            "zendesk_event_version": "2022-11-06",
            "subject": "zen:ticket:5158",
            "detail": detail,
            "event": event
        }))
    }

    fn zendesk_detail() -> Value {
        json!({
            "actor_id": "8447388090494",
            "assignee_id": "8447388090494",
            "brand_id": "8447346621310",
            "created_at": "2026-05-20T10:12:07Z",
            "custom_status": "8447320465790",
            "description": "Our nightly export has failed three nights in a row.",
            "external_id": null,
            "form_id": "8646151517822",
            "group_id": "8447320466430",
            "id": "5158",
            "is_public": true,
            "organization_id": "8447346622462",
            "priority": "HIGH",
            "requester_id": "8447388090494",
            "status": "OPEN",
            "subject": "Nightly export failing",
            "submitter_id": "8447388090494",
            "tags": ["export", "enterprise", "export"],
            "type": "INCIDENT",
            "updated_at": "2026-05-20T10:12:07Z",
            "via": {"channel": "web_service"}
        })
    }

    #[test]
    fn zendesk_ticket_created_event() {
        let body = zendesk_event(
            "ticket.created",
            zendesk_detail(),
            json!({"meta": {"sequence": {"id": "x", "position": 1}}}),
        );
        let u = parse_zendesk(&body).unwrap().unwrap();
        assert_eq!(u.source, TicketSource::Zendesk);
        assert_eq!(u.external_id, "5158");
        assert_eq!(u.organization.as_deref(), Some("8447346622462"));
        assert_eq!(
            u.requester_email, None,
            "event webhooks carry only requester_id"
        );
        assert_eq!(u.subject, "Nightly export failing");
        assert_eq!(
            u.text,
            "Our nightly export has failed three nights in a row."
        );
        assert_eq!(u.status, TicketStatus::Open);
        assert_eq!(u.priority, Priority::High);
        assert_eq!(u.created_at, t("2026-05-20T10:12:07Z"));
        assert_eq!(u.solved_at, None);
        assert_eq!(u.tags, vec!["export", "enterprise"]);
        assert!(u.has_customer_key());
    }

    #[test]
    fn zendesk_comment_added_uses_public_customer_comments_only() {
        let comment = |public: bool, staff: bool| {
            json!({"comment": {
                "author": {"id": "1", "is_staff": staff, "name": "Ana"},
                "body": "Still broken, we are evaluating alternatives.",
                "id": "99", "is_public": public
            }})
        };
        let parse = |event| {
            parse_zendesk(&zendesk_event(
                "ticket.comment_added",
                zendesk_detail(),
                event,
            ))
            .unwrap()
            .unwrap()
        };
        assert_eq!(
            parse(comment(true, false)).text,
            "Still broken, we are evaluating alternatives."
        );
        let description = "Our nightly export has failed three nights in a row.";
        assert_eq!(
            parse(comment(false, false)).text,
            description,
            "internal note"
        );
        assert_eq!(parse(comment(true, true)).text, description, "agent reply");
    }

    #[test]
    fn zendesk_minimal_status_change_and_other_events() {
        // The shape Zendesk's own examples use for a sparse event.
        let body = zendesk_event(
            "ticket.status_changed",
            json!({"id": "35436", "status": "Solved", "via": {"channel": "web"},
                   "created_at": "2024-04-17T17:18:10Z", "updated_at": "2024-04-18T09:00:00Z",
                   "organization_id": "0"}),
            json!({"current": "SOLVED", "previous": "OPEN"}),
        );
        let u = parse_zendesk(&body).unwrap().unwrap();
        assert_eq!(u.status, TicketStatus::Solved);
        assert_eq!(u.solved_at, Some(t("2024-04-18T09:00:00Z")));
        assert_eq!(u.subject, "", "not in this event: keep the stored one");
        assert_eq!(u.organization, None, "\"0\" is Zendesk for no organization");
        assert_eq!(u.priority, Priority::Normal);
        assert!(!u.has_customer_key());

        let user_event = bytes(json!({
            "type": "zen:event-type:user.active_changed", "account_id": 12514403,
            "id": "2b24ef10", "time": "2099-07-04T05:33:18Z", "subject": "zen:user:6596848315901",
            "detail": {"id": "6596848315901", "email": "ana@acme.com"}, "event": {"current": false}
        }));
        assert_eq!(parse_zendesk(&user_event), Ok(None));
        let messaging = bytes(json!({
            "type": "zen:event-type:messaging_ticket.message_added", "detail": {"id": "141"}
        }));
        assert_eq!(parse_zendesk(&messaging), Ok(None));

        // Id from the subject when detail has none; the event time stands in for dates.
        let sparse = zendesk_event("ticket.tags_changed", json!({"tags": ["vip"]}), json!({}));
        let u = parse_zendesk(&sparse).unwrap().unwrap();
        assert_eq!(u.external_id, "5158");
        assert_eq!(u.created_at, t("2026-05-20T10:12:07.672717030Z"));
    }

    #[test]
    fn zendesk_event_problems() {
        let mut detail = zendesk_detail();
        detail["status"] = json!("ARCHIVED");
        detail["priority"] = json!("BLOCKER");
        detail["created_at"] = json!("last tuesday");
        detail["id"] = json!({"n": 1});
        let body = bytes(json!({"type": "zen:event-type:ticket.created", "detail": detail}));
        assert_eq!(
            paths(parse_zendesk(&body).unwrap_err()),
            vec![
                "detail.id",
                "detail.status",
                "detail.priority",
                "detail.created_at"
            ]
        );
        let no_detail = bytes(json!({"type": "zen:event-type:ticket.created"}));
        assert_eq!(
            paths(parse_zendesk(&no_detail).unwrap_err()),
            vec!["detail"]
        );
        assert_eq!(
            paths(parse_zendesk(b"{\"hello\": 1}").unwrap_err()),
            vec!["body"]
        );
        assert_eq!(paths(parse_zendesk(b"[]").unwrap_err()), vec!["body"]);
        assert_eq!(paths(parse_zendesk(b"not json").unwrap_err()), vec!["body"]);
        assert_eq!(
            paths(parse_zendesk(b"{\"ticket\": 3}").unwrap_err()),
            vec!["ticket"]
        );
    }

    #[test]
    fn zendesk_trigger_body_as_rendered() {
        let body = bytes(json!({"ticket": {
            "id": "35436",
            "subject": "Renewal question",
            "description": "What happens at renewal?",
            "latest_comment": "We won\u{2019}t be renewing, the price went up again.",
            "status": "On-hold",
            "priority": "-",
            "requester_email": "Ana@Acme.com ",
            "requester_external_id": "user_7",
            "organization_external_id": "acct_42",
            "satisfaction": "Bad, I'm unsatisfied",
            "tags": "renewal  vip renewal",
            "created_at": "2013-12-12T05:35Z",
            "updated_at": "2013-12-13T08:00Z"
        }}));
        let u = parse_zendesk(&body).unwrap().unwrap();
        assert_eq!(u.external_id, "35436");
        assert_eq!(
            u.text,
            "We won\u{2019}t be renewing, the price went up again."
        );
        assert_eq!(u.status, TicketStatus::OnHold);
        assert_eq!(
            u.priority,
            Priority::Normal,
            "\"-\" is Zendesk's no priority"
        );
        assert_eq!(u.requester_email.as_deref(), Some("ana@acme.com"));
        assert_eq!(u.requester_external_id.as_deref(), Some("user_7"));
        assert_eq!(u.organization.as_deref(), Some("acct_42"));
        assert_eq!(u.satisfaction, Some(Satisfaction::Bad));
        assert_eq!(u.tags, vec!["renewal", "vip"]);
        assert_eq!(u.created_at, t("2013-12-12T05:35:00Z"));
        assert_eq!(u.updated_at, t("2013-12-13T08:00:00Z"));
        assert!(u.signals().cancellation_intent);

        // Placeholders that render empty are absent, not errors.
        let sparse = bytes(json!({"ticket": {
            "id": 7, "title": "Hello", "status": "Solved", "priority": "Urgent",
            "requester_email": "", "organization_external_id": "", "satisfaction": "Offered",
            "tags": ["a"], "created_at": "2026-01-01T00:00:00Z"
        }}));
        let u = parse_zendesk(&sparse).unwrap().unwrap();
        assert_eq!((u.external_id.as_str(), u.subject.as_str()), ("7", "Hello"));
        assert_eq!(
            (u.requester_email, u.organization, u.satisfaction),
            (None, None, None)
        );
        assert_eq!(u.priority, Priority::Urgent);
        assert_eq!(u.solved_at, Some(t("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn zendesk_trigger_problems() {
        let body = bytes(
            json!({"ticket": {"id": "", "status": "Waiting", "priority": "P1",
                                           "created_at": "12/12/2013"}}),
        );
        assert_eq!(
            paths(parse_zendesk(&body).unwrap_err()),
            vec![
                "ticket.id",
                "ticket.status",
                "ticket.priority",
                "ticket.created_at"
            ]
        );
        let body = bytes(json!({"ticket": {"subject": "x"}}));
        assert_eq!(
            paths(parse_zendesk(&body).unwrap_err()),
            vec!["ticket.id", "ticket.created_at"]
        );
    }

    // --- Intercom ---------------------------------------------------------------------

    fn intercom(topic: &str, item: Value) -> Vec<u8> {
        bytes(json!({
            "type": "notification_event",
            "app_id": "ecahpwf5",
            "data": {"type": "notification_event_data", "item": item},
            "links": {},
            "id": "notif_ccd8a4d2-c3b4-4b5e-9b8d-b3f5d1c8f0a1",
            "topic": topic,
            "delivery_status": "pending",
            "delivery_attempts": 1,
            "delivered_at": 0,
            "first_sent_at": 1780000000,
            "created_at": 1780000000,
            "self": null
        }))
    }

    fn conversation() -> Value {
        json!({
            "type": "conversation",
            "id": "147",
            "created_at": 1779990000,
            "updated_at": 1779999000,
            "waiting_since": 1779990000,
            "snoozed_until": null,
            "title": null,
            "state": "open",
            "open": true,
            "read": false,
            "priority": "priority",
            "source": {
                "type": "conversation",
                "id": "403918330",
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": "<p>Hi,</p><p>We&#39;re thinking about cancelling our subscription &ndash; the sync keeps failing.</p>",
                "author": {"type": "user", "id": "5f1e", "name": "Ana", "email": "ana@acme.com"},
                "attachments": [],
                "url": null
            },
            "contacts": {"type": "contact.list", "contacts": [
                {"type": "contact", "id": "5f1e", "external_id": "user_7"}
            ]},
            "teammates": {"type": "admin.list", "admins": []},
            "admin_assignee_id": null,
            "conversation_rating": null,
            "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "1", "name": "sync"}]},
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0}
        })
    }

    #[test]
    fn intercom_user_created_with_html_body() {
        let u = parse_intercom(&intercom("conversation.user.created", conversation()))
            .unwrap()
            .unwrap();
        assert_eq!(u.source, TicketSource::Intercom);
        assert_eq!(u.external_id, "147");
        assert_eq!(
            u.text,
            "Hi,\nWe're thinking about cancelling our subscription \u{2013} the sync keeps failing."
        );
        assert_eq!(u.subject, "Hi,", "no title: the first line");
        assert_eq!(u.requester_email.as_deref(), Some("ana@acme.com"));
        assert_eq!(u.requester_external_id.as_deref(), Some("user_7"));
        assert_eq!(u.organization, None);
        assert_eq!(u.status, TicketStatus::Open);
        assert_eq!(u.priority, Priority::High);
        assert_eq!(u.created_at.timestamp(), 1779990000);
        assert_eq!(u.updated_at.timestamp(), 1779999000);
        assert_eq!(u.tags, vec!["sync"]);
        assert_eq!(u.satisfaction, None);
        let s = u.signals();
        assert_eq!(s.intent_phrases, vec!["cancelling our subscription"]);
    }

    #[test]
    fn intercom_replies_keep_customer_words_only() {
        let mut item = conversation();
        item["title"] = json!("Sync <b>failing</b>");
        item["state"] = json!("snoozed");
        item["priority"] = json!("not_priority");
        item["conversation_parts"]["conversation_parts"] = json!([
            {"type": "conversation_part", "id": "1", "part_type": "comment",
             "body": "<p>Sorry! Have you tried a refund of the sync?</p>", "author": {"type": "admin", "id": "9"}},
            {"type": "conversation_part", "id": "2", "part_type": "note",
             "body": "<p>internal: they might churn</p>", "author": {"type": "admin", "id": "9"}},
            {"type": "conversation_part", "id": "3", "part_type": "comment",
             "body": "<p>Yes, still failing.</p>", "author": {"type": "user", "id": "5f1e"}},
            {"type": "conversation_part", "id": "4", "part_type": "comment",
             "body": "<p>Fin here</p>", "author": {"type": "bot", "id": "0"}},
            "junk"
        ]);
        let u = parse_intercom(&intercom("conversation.admin.replied", item))
            .unwrap()
            .unwrap();
        assert_eq!(u.subject, "Sync failing");
        assert_eq!(u.status, TicketStatus::Pending);
        assert_eq!(u.priority, Priority::Normal);
        assert!(
            u.text
                .ends_with("the sync keeps failing.\n\nYes, still failing."),
            "{}",
            u.text
        );
        assert!(
            !u.text.contains("Sorry") && !u.text.contains("internal") && !u.text.contains("Fin")
        );
    }

    #[test]
    fn intercom_rating_added_and_closed() {
        let mut item = conversation();
        item["state"] = json!("closed");
        item["open"] = json!(false);
        item["conversation_rating"] = json!({"rating": 4, "remark": "Quick fix, thanks",
                                              "created_at": 1779999500, "contact": {"type": "contact", "id": "5f1e"}});
        item["statistics"] = json!({"last_close_at": 1779998000});
        let u = parse_intercom(&intercom("conversation.rating.added", item.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(u.satisfaction, Some(Satisfaction::Rating(4)));
        assert_eq!(u.status, TicketStatus::Closed);
        assert_eq!(u.solved_at.map(|d| d.timestamp()), Some(1779998000));

        item["conversation_rating"]["rating"] = json!(9);
        assert_eq!(
            paths(parse_intercom(&intercom("conversation.rating.added", item)).unwrap_err()),
            vec!["data.item.conversation_rating.rating"]
        );
    }

    #[test]
    fn intercom_ping_and_other_topics_are_not_tickets() {
        let ping = bytes(json!({
            "type": "notification_event", "app_id": "ecahpwf5",
            "data": {"type": "notification_event_data",
                     "item": {"type": "ping", "message": "something something interzen"}},
            "links": {}, "id": null, "topic": "ping", "delivery_status": null,
            "delivery_attempts": 1, "delivered_at": 0, "first_sent_at": 1780000000,
            "created_at": 1780000000, "self": null
        }));
        assert_eq!(parse_intercom(&ping), Ok(None));
        let contact = intercom(
            "contact.user.created",
            json!({"type": "contact", "id": "5f1e"}),
        );
        assert_eq!(parse_intercom(&contact), Ok(None));
        let deleted = intercom(
            "conversation.deleted",
            json!({"type": "conversation", "id": "147"}),
        );
        assert_eq!(parse_intercom(&deleted), Ok(None));
    }

    #[test]
    fn intercom_problems() {
        assert_eq!(
            paths(parse_intercom(br#"{"type": "event"}"#).unwrap_err()),
            vec!["type", "topic"]
        );
        let no_item =
            bytes(json!({"type": "notification_event", "topic": "conversation.user.created"}));
        assert_eq!(
            paths(parse_intercom(&no_item).unwrap_err()),
            vec!["data.item"]
        );
        let mut item = conversation();
        item["id"] = json!(null);
        item["state"] = json!("archived");
        assert_eq!(
            paths(parse_intercom(&intercom("conversation.user.created", item)).unwrap_err()),
            vec!["data.item.id", "data.item.state"]
        );
    }

    // --- our API ----------------------------------------------------------------------

    #[test]
    fn generic_with_everything() {
        let u = parse_generic(
            &json!({
                "id": "T-1042", "customer_external_id": "acct_42", "requester_email": "Bo@Acme.com",
                "subject": "  Export fails ", "body": "Since Monday the export times out.",
                "status": "SOLVED", "priority": "urgent",
                "created_at": "2026-05-01T09:00:00Z", "updated_at": "2026-05-02T09:00:00Z",
                "satisfaction": 2, "tags": ["export", " export ", "p1"], "extra": "ignored"
            }),
            now(),
        )
        .unwrap();
        assert_eq!(u.source, TicketSource::Api);
        assert_eq!(u.external_id, "T-1042");
        assert_eq!(u.organization.as_deref(), Some("acct_42"));
        assert_eq!(u.requester_email.as_deref(), Some("bo@acme.com"));
        assert_eq!(u.subject, "Export fails");
        assert_eq!(u.status, TicketStatus::Solved);
        assert_eq!(u.priority, Priority::Urgent);
        assert_eq!(
            u.solved_at,
            Some(t("2026-05-02T09:00:00Z")),
            "defaults to updated_at"
        );
        assert_eq!(u.satisfaction, Some(Satisfaction::Rating(2)));
        assert_eq!(u.tags, vec!["export", "p1"]);
    }

    #[test]
    fn generic_defaults() {
        let u = parse_generic(
            &json!({"id": 77, "requester_email": "ana@acme.com", "subject": "Hi", "satisfaction": "Good"}),
            now(),
        )
        .unwrap();
        assert_eq!(u.external_id, "77");
        assert_eq!(
            (u.status, u.priority),
            (TicketStatus::Open, Priority::Normal)
        );
        assert_eq!(
            (u.created_at, u.updated_at, u.solved_at),
            (now(), now(), None)
        );
        assert_eq!(u.text, "");
        assert_eq!(u.satisfaction, Some(Satisfaction::Good));
        let on_hold = parse_generic(
            &json!({"id": "1", "requester_external_id": "user_7", "subject": "x",
                    "status": "on-hold", "priority": "Medium", "satisfaction": "rating:5"}),
            now(),
        )
        .unwrap();
        assert_eq!(
            (on_hold.status, on_hold.priority),
            (TicketStatus::OnHold, Priority::Normal)
        );
        assert_eq!(on_hold.satisfaction, Some(Satisfaction::Rating(5)));
    }

    #[test]
    fn generic_reports_every_problem() {
        let problems = parse_generic(
            &json!({
                "id": "", "requester_email": "not-an-email", "subject": "x".repeat(501),
                "body": "y".repeat(MAX_TEXT_BYTES + 1), "status": "waiting", "priority": "p1",
                "created_at": "2026-06-03T12:00:00Z", "updated_at": "soon", "solved_at": 5,
                "satisfaction": 7, "tags": ["ok", "", 3, "z".repeat(101)]
            }),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            paths(problems.clone()),
            vec![
                "id",
                "requester_email",
                "subject",
                "body",
                "status",
                "priority",
                "created_at",
                "updated_at",
                "solved_at",
                "satisfaction",
                "tags[1]",
                "tags[2]",
                "tags[3]"
            ]
        );
        assert_eq!(problems[6].reason, "is more than 24 hours in the future");
        assert_eq!(
            paths(parse_generic(&json!({}), now()).unwrap_err()),
            vec!["id", "customer_external_id", "subject"]
        );
        assert_eq!(
            paths(
                parse_generic(
                    &json!({"id": "1", "customer_external_id": "a", "subject": "s",
                            "created_at": "2026-05-02T00:00:00Z", "updated_at": "2026-05-01T00:00:00Z",
                            "tags": "a b"}),
                    now()
                )
                .unwrap_err()
            ),
            vec!["updated_at", "tags"]
        );
        assert_eq!(
            paths(parse_generic(&json!("ticket"), now()).unwrap_err()),
            vec!["body"]
        );
        assert_eq!(
            paths(
                parse_generic(
                    &json!({"id": 1.5, "customer_external_id": true, "subject": 3}),
                    now()
                )
                .unwrap_err()
            ),
            vec!["id", "customer_external_id", "subject"]
        );
    }

    // --- text signals -----------------------------------------------------------------

    fn check(subject: &str, text: &str, label: SentimentLabel, phrases: &[&str]) {
        let s = analyze(subject, text);
        assert_eq!(s.label, label, "{subject:?} {text:?}: {}", s.sentiment);
        assert_eq!(s.intent_phrases, phrases, "{subject:?} {text:?}");
        assert_eq!(s.cancellation_intent, !phrases.is_empty());
    }

    use SentimentLabel::{Negative, Neutral, Positive};

    #[test]
    fn realistic_tickets() {
        check(
            "Dashboard down AGAIN",
            "The dashboard has been down for three hours and nobody on your side answers. \
             This is unacceptable, our whole team is blocked!",
            Negative,
            &[],
        );
        check(
            "Thank you!",
            "Thank you so much, the new health report is fantastic and the team loves it.",
            Positive,
            &[],
        );
        check(
            "Export question",
            "How do I export a CSV of all users with their last login date?",
            Neutral,
            &[],
        );
        check(
            "Pricing",
            "Your pricing is too expensive for a team our size. The renewal quote was a nasty surprise.",
            Negative,
            &["too expensive"],
        );
        check(
            "Heads up",
            "We are switching to Gainsight next quarter.",
            Neutral,
            &["switching to Gainsight"],
        );
        // VADER reads "please" as positive; the intent is what flags it.
        check(
            "Refund",
            "Please process a refund for the last invoice.",
            Positive,
            &["Refund"],
        );
        check(
            "Scheduled export",
            "Can you cancel the scheduled export? It runs every night at 2am and we don't need it anymore.",
            Negative,
            &[],
        );
        check(
            "Pause instead",
            "We don't want to cancel, just pause for a month while we restructure.",
            Positive,
            &[],
        );
        // VADER weighs the clause after "but" more: the complaint wins.
        check(
            "",
            "Love the product but the invoice is wrong.",
            Negative,
            &[],
        );
        check(
            "Cancel subscription",
            "Please cancel our subscription at the end of the month.",
            Negative,
            &["Cancel subscription", "cancel our subscription"],
        );
        check(
            "Renewal",
            "We won\u{2019}t be renewing when the contract ends in June.",
            Neutral,
            &["won't be renewing"],
        );
        check(
            "Report",
            "How do I cancel a scheduled report?",
            Negative,
            &[],
        );
        check(
            "",
            "Can we cancel the meeting on Tuesday? Something came up. Also please cancel the invite for Bo.",
            Neutral,
            &[],
        );
        check(
            "",
            "We do NOT want to cancel our account, the charge was a mistake.",
            Negative,
            &[],
        );
        check(
            "",
            "I can't cancel my subscription, the button does nothing!",
            Positive,
            &["cancel my subscription"],
        );
        check(
            "Budget",
            "We have been looking at alternatives since the price increase, and honestly we can't afford it.",
            Positive,
            &["looking at alternatives", "can't afford"],
        );
        check(
            "Close account",
            "Close our account and delete our data. We're moving away from your platform.",
            Neutral,
            &["Close account", "Close our account", "moving away from"],
        );
    }

    #[test]
    fn intent_false_positives_avoided() {
        for text in [
            "We are moving to the new dashboard next week",
            "At the end of our contract term we will review usage",
            "I clicked cancel by accident and lost my changes",
            "The call was cancelled, can we reschedule?",
            "Meeting cancellation: the QBR moves to Friday",
            "Can I switch to SSO login?",
            "We're switching to annual billing",
            "Is there an alternative way to export?",
            "Please terminate the stuck instance",
            "How do I downgrade the browser extension version?",
            "Our card was declined so we can't renew yet, please resend the link",
            "No refund needed, it was our mistake",
            "Migrating to v2 of your API this sprint",
        ] {
            let s = analyze("", text);
            assert!(!s.cancellation_intent, "{text:?}: {:?}", s.intent_phrases);
        }
        let title_case = analyze("Switching To Annual Billing", "");
        assert!(!title_case.cancellation_intent);
    }

    #[test]
    fn intent_phrasings_caught() {
        for (text, phrase) in [
            ("Cancellation request", "Cancellation"),
            ("We'd like to cancel.", "cancel"),
            ("We have no choice but to cancel", "cancel"),
            (
                "Not sure we will renew this year.",
                "Not sure we will renew",
            ),
            ("Please send a non-renewal notice", "non renewal"),
            ("We decided against renewing", "against renewing"),
            ("We are going with a competitor", "going with a competitor"),
            (
                "Moving to another tool next month",
                "Moving to another tool",
            ),
            (
                "We need to downgrade to the starter plan",
                "downgrade to the starter plan",
            ),
            ("Please terminate our contract", "terminate our contract"),
            (
                "We'll let the subscription lapse",
                "let the subscription lapse",
            ),
            ("Honestly it's not worth the money", "not worth the money"),
            ("We will stop using your product", "stop using your product"),
            ("I want my money back", "money back"),
            ("We're evaluating other vendors", "evaluating other vendors"),
            ("I don't know how to cancel my plan", "cancel my plan"),
            ("WE WANT TO CANCEL OUR ACCOUNT", "CANCEL OUR ACCOUNT"),
        ] {
            let s = analyze("", text);
            assert_eq!(s.intent_phrases, vec![phrase], "{text:?}");
        }
    }

    #[test]
    fn analyze_edges() {
        let empty = analyze("", "");
        assert_eq!(
            (empty.sentiment, empty.label, empty.cancellation_intent),
            (0.0, Neutral, false)
        );
        let long = "terrible ".repeat(20_000);
        let s = analyze(&long, &long);
        assert!(s.sentiment < -0.99 && s.sentiment >= -1.0);
        assert_eq!(SentimentLabel::from_compound(0.05), Positive);
        assert_eq!(SentimentLabel::from_compound(-0.05), Negative);
        assert_eq!(SentimentLabel::from_compound(0.0499), Neutral);
    }

    // --- properties -------------------------------------------------------------------

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(|f| json!(f)),
                "[a-zA-Z0-9 :TZ+.<>&;#-]{0,40}".prop_map(Value::String),
                prop_oneof![
                    Just("zen:event-type:ticket.created"),
                    Just("zen:event-type:ticket.comment_added"),
                    Just("zen:ticket:12"),
                    Just("notification_event"),
                    Just("conversation"),
                    Just("conversation.user.created"),
                    Just("ping"),
                    Just("2026-01-01T00:00:00Z"),
                    Just("OPEN"),
                    Just("closed"),
                    Just("user"),
                    Just("<p>cancel&nbsp;our plan</p>"),
                ]
                .prop_map(|s| Value::String(s.into())),
            ];
            leaf.prop_recursive(5, 96, 8, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec(
                        (
                            prop_oneof![
                                Just("type".to_string()),
                                Just("topic".to_string()),
                                Just("data".to_string()),
                                Just("item".to_string()),
                                Just("detail".to_string()),
                                Just("event".to_string()),
                                Just("comment".to_string()),
                                Just("ticket".to_string()),
                                Just("id".to_string()),
                                Just("subject".to_string()),
                                Just("body".to_string()),
                                Just("source".to_string()),
                                Just("author".to_string()),
                                Just("status".to_string()),
                                Just("state".to_string()),
                                Just("priority".to_string()),
                                Just("created_at".to_string()),
                                Just("updated_at".to_string()),
                                Just("tags".to_string()),
                                Just("conversation_parts".to_string()),
                                Just("conversation_rating".to_string()),
                                Just("rating".to_string()),
                                Just("contacts".to_string()),
                                Just("satisfaction".to_string()),
                                Just("customer_external_id".to_string()),
                                Just("requester_email".to_string()),
                                "[a-z_]{1,10}"
                            ],
                            inner
                        ),
                        0..8
                    )
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        fn parse_all(payload: &[u8]) -> Result<(), TestCaseError> {
            for r in [parse_zendesk(payload), parse_intercom(payload)] {
                if let Err(problems) = r {
                    prop_assert!(!problems.is_empty());
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1500))]

            #[test]
            fn any_bytes_give_an_answer(payload in prop::collection::vec(any::<u8>(), 0..300)) {
                parse_all(&payload)?;
            }

            #[test]
            fn any_json_gives_an_answer(v in any_json()) {
                parse_all(&bytes(v.clone()))?;
                for wrapped in [
                    json!({"type": "zen:event-type:ticket.created", "detail": v.clone()}),
                    json!({"ticket": v.clone()}),
                    json!({"type": "notification_event", "topic": "conversation.user.created",
                           "data": {"item": v.clone()}}),
                ] {
                    parse_all(&bytes(wrapped))?;
                }
                if let Err(problems) = parse_generic(&v, now()) {
                    prop_assert!(!problems.is_empty());
                }
            }

            #[test]
            fn any_text_scores_in_range(subject in any::<String>(), text in any::<String>()) {
                let s = analyze(&subject, &text);
                prop_assert!((-1.0..=1.0).contains(&s.sentiment));
                prop_assert_eq!(s.label, SentimentLabel::from_compound(s.sentiment));
                prop_assert_eq!(s.cancellation_intent, !s.intent_phrases.is_empty());
                let _ = html_to_text(&text);
            }

            #[test]
            fn any_words_score(words in prop::collection::vec(prop_oneof![
                Just("cancel"), Just("not"), Just("our"), Just("subscription"), Just("the"),
                Just("meeting"), Just("renew"), Just("won't"), Just("to"), Just("Gainsight"),
                Just("switching"), Just("but"), Just(","), Just("too"), Just("expensive"),
                Just("can't"), Just("afford"), Just("let"), Just("lapse"), Just("of"),
            ], 0..30)) {
                let s = analyze("", &words.join(" "));
                prop_assert_eq!(s.cancellation_intent, !s.intent_phrases.is_empty());
            }

            #[test]
            fn signatures_round_trip_and_catch_any_byte_change(
                body in prop::collection::vec(any::<u8>(), 1..400),
                secret in "[ -~]{1,40}",
                at in any::<prop::sample::Index>(),
                flip in 1u8..=255,
                skew in -300i64..=300,
            ) {
                let sent = t("2026-05-01T10:00:00Z");
                let ts = sent.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let received = sent + Duration::seconds(skew);
                let zd = sign_zendesk(&body, &secret, &ts);
                let ic = sign_intercom(&body, &secret);
                prop_assert_eq!(verify_zendesk(&zd, &ts, &body, &secret, received, 300), Ok(()));
                prop_assert_eq!(verify_intercom(&ic, &body, &secret), Ok(()));

                let mut changed = body.clone();
                let i = at.index(changed.len());
                changed[i] ^= flip;
                prop_assert_eq!(
                    verify_zendesk(&zd, &ts, &changed, &secret, received, 300),
                    Err(SignatureError::Mismatch)
                );
                prop_assert_eq!(verify_intercom(&ic, &changed, &secret), Err(SignatureError::Mismatch));
            }
        }
    }
}
